//! H (patch 16): going lazy (WRITE_ONCE, no barrier) and un-lazying (store_release) vs the
//! scan in `mm_unlazy_mm_count`; `kthread_unuse_mm` publishing before its `mmput`.

use crate::common::*;
use lazymm_engines::loom::{LoomCpu, LoomMachine};
use lazymm_model::schemes::hazard::Hazard;
use lazymm_model::sync::atomic::Ordering;
use lazymm_model::{ArchId, Knobs, SysOp, TaskRef};
use loom::sync::Arc;

fn hazard_going_lazy(h: Hazard, knobs: Knobs) {
    lazy_on_a_exit_on_b(Box::new(h), knobs);
}

#[test]
fn hazard_going_lazy_store_vs_mm_unlazy_mm_count_scan() {
    explore(|| hazard_going_lazy(h(), h_knobs(ArchId::Arm64))).unwrap();
}

#[test]
fn hazard_going_lazy_with_a_relaxed_on_cpu_is_covered_by_mmputs_full_barrier() {
    // Finding (changed by the LKMM-ordered atomics of the fidelity pass): the going-lazy
    // WRITE_ONCE has no barrier of its own, and it was thought to reach the scan only
    // through the on_cpu release/acquire hand-off of the task whose exit runs the scan. With
    // that acquire relaxed this model still passes: B's spin reads A's release store of
    // on_cpu, and the smp_mb that leads mmput's fully ordered atomic_dec_and_test is an
    // acquire fence after that read (fence synchronisation), so A's lazy_mm store and its
    // last walk of M happen-before the scan all the same. Before mmput was modelled as fully
    // ordered (AcqRel only after the load), loom caught this relaxation.
    let knobs = || Knobs {
        ttwu_on_cpu_relaxed: true,
        ..h_knobs(ArchId::Arm64)
    };
    explore(move || hazard_going_lazy(h(), knobs())).unwrap();
}

#[test]
fn hazard_scan_acquire_is_covered_by_mmdrops_full_barrier() {
    // Finding: with the scan's lazy_mm load Relaxed, this model still passes. A scan that
    // reads NULL is followed by mmdrop (atomic_dec_and_test, a full barrier) before anything
    // is freed; that fence is an acquire fence after a load that read the owner's
    // store_release, so the owner's last walk still happens-before the free. The patch's
    // smp_load_acquire is belt and braces here (2 CPUs, preemption bound 2).
    let h = || Hazard {
        lazy_load: Ordering::Relaxed,
        ..h()
    };
    explore(move || hazard_going_lazy(h(), h_knobs(ArchId::Arm64))).unwrap();
}

#[test]
fn hazard_unlazy_store_release_vs_scan_acquire_relaxed_store_is_caught() {
    // H's own pair: the un-lazy smp_store_release(&rq->lazy_mm, NULL) vs the scan's load.
    // With the store Relaxed (the scan's acquire kept), B's scan can read A's NULL while A's
    // last walk of M's page tables (switch_mm_irqs_off away from M, just before the store) is
    // not ordered before B's free: nothing else A does after that walk reaches B before the
    // free, and mmdrop's full barrier on B cannot help (a fence after a load that read a
    // relaxed store synchronises with nothing). The pair is load-bearing on the store side;
    // the acquire side is covered by mmdrop (test above).
    let h = || Hazard {
        unlazy_store: Ordering::Relaxed,
        mutant: Some("hazard-unlazy-store-relaxed"),
        ..h()
    };
    assert_caught(
        move || hazard_going_lazy(h(), h_knobs(ArchId::Arm64)),
        &[Caught::Causality],
    );
}

#[test]
fn hazard_unlazy_store_relaxed_is_caught_with_mm_cids_barrier_right_after_it() {
    // The same mutant with mm_cid on (v6.1+; H's as-posted v5.16 base has none, so this is
    // the fidelity pass's H-on-mainline question): switch_mm_cid's smp_mb() (sched.h) follows
    // the un-lazy store directly, and a barrier after a store orders nothing before it. Loom
    // missed it while a fence could run welded to the store before it (no preemption point
    // between them, fence order never explored): B's later fence then made the relaxed store
    // a release. `lazymm_model::sync::mb`'s token fixes that; without it this test fails.
    let h = || Hazard {
        unlazy_store: Ordering::Relaxed,
        mutant: Some("hazard-unlazy-store-relaxed"),
        ..h()
    };
    let knobs = || Knobs {
        mm_cid: true,
        ..h_knobs(ArchId::Arm64)
    };
    assert_caught(
        move || hazard_going_lazy(h(), knobs()),
        &[Caught::Causality],
    );
}

// ---------------------------------------------------------------------------------------
// kthread_unuse_mm under H's mm_users rule: publish rq->lazy_mm, then mmput.

/// A kthread K on A uses M (holding mm_users: `mmget_not_zero` inside the API), unuses it
/// (lazy on M) and switches to U; meanwhile B takes over T, M's last user thread, exits it
/// (the last mmput may be B's or K's) and runs U2. The hazard pointer must be published
/// before K's mmput, or the scan of a concurrent last mmput misses A.
fn kthread_unuse_vs_exit(knobs: Knobs) {
    let k = Arc::new(boot(Box::new(h()), ArchId::Arm64, 2, knobs));
    let m = Arc::new(LoomMachine::new(2));
    let (mm, t) = k.create_process(1).unwrap();
    let (_mu, u) = k.create_process(1).unwrap();
    let (_mu2, u2) = k.create_process(1).unwrap();
    let kt = k.create_kthread().unwrap();
    let (t, u, u2) = (t[0], u[0], u2[0]);
    let a = LoomCpu::new(0, &m);
    // Setup: K runs on A.
    assert!(op(&k, &a, SysOp::Switch(TaskRef::Task(kt))));
    let b = spawn_b_exits(&k, &m, t, u2);
    // Refused (and nothing to unuse) if B's exit already dropped the last mm_users.
    if op(&k, &a, SysOp::KthreadUseMm(mm)) {
        assert!(op(&k, &a, SysOp::KthreadUnuseMm));
    }
    op(&k, &a, SysOp::Switch(TaskRef::Task(u)));
    a.finish(&k);
    b.join().unwrap();
    assert_clean(settle(&k, &m));
}

#[test]
fn hazard_kthread_unuse_mm_publishes_lazy_mm_before_mmput() {
    explore(|| kthread_unuse_vs_exit(h_knobs(ArchId::Arm64))).unwrap();
}

#[test]
fn hazard_kthread_unuse_mm_with_mmput_first_is_caught() {
    // K's mmput is not the last one, and it releases before K publishes lazy_mm: B's last
    // mmput acquires K's mm_users drop but not the publication, so B's scan may read the old
    // NULL (or run before the store) and free M while K is lazy on it. Loom's first failing
    // execution is the weak-memory one: K's later walk of M (its switch to U) is unordered
    // with the free (causality); the interleaving forms are the oracle's freed-while-loaded
    // / use-after-free.
    let knobs = || Knobs {
        kthread_unuse_put_first: true,
        ..h_knobs(ArchId::Arm64)
    };
    assert_caught(
        move || kthread_unuse_vs_exit(knobs()),
        &[FREED_WHILE_LOADED, USE_AFTER_FREE, Caught::Causality],
    );
}
