//! Loom models of every handshake of the thread, each with a mutant that loom must catch.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p lazymm-engines --test loom`
//! (`.ci/run` does, with its own target directory). Each model boots a 2–3 CPU kernel inside
//! `loom::model`, runs the kernel model's own entry points on loom threads, and checks both
//! loom's causality verdict on the page-table cell and the oracle. Mutant tests assert that
//! some explored execution fails.
//!
//! | model | handshake | mutant |
//! |---|---|---|
//! | `hazard_going_lazy_store_vs_mm_unlazy_mm_count_scan` | H: lazy_mm store/release vs the scan's acquire | scan load Relaxed (a relaxed where an acquire is needed) |
//! | `hazard_drop_mm_steal_race_scenario_18` | H: drop_mm hand-off and steal | Dec-2020 mockup, no lazy_mm re-load (mutant a) |
//! | `shootdown_vs_cpu_going_lazy` | S: going lazy after kthread_use_mm vs the final mmdrop's shootdown | mmdrop's decrement unordered |
//! | `hazard_md_slot_publish_vs_hp_scan` | MD: slot clear (smp_mb + release) vs hp_scan | slot cleared with no barrier |
//! | `membarrier_litmus_scenario_12` | membarrier vs T(M)→kthread→T'(M) | S without the smp_mb in mmdrop_lazy_tlb |
#![cfg(loom)]

use lazymm_engines::loom::{LoomCpu, LoomMachine};
use lazymm_model::kernel::BootCpu;
use lazymm_model::schemes::hazard::Hazard;
use lazymm_model::schemes::hazard_md::HazardMd;
use lazymm_model::schemes::shootdown::Shootdown;
use lazymm_model::sync::atomic::Ordering;
use lazymm_model::{Arch, ArchId, Config, Kernel, Knobs, Scheme, SysOp, TaskRef};
use loom::sync::atomic::AtomicUsize;
use loom::sync::Arc;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Loom's budget for these models: preemption bound 2 (crossbeam/haphazard's choice), and a
/// branch budget large enough for the model's long kernel paths.
fn builder() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(2);
    }
    b.max_branches = 1_000_000;
    b
}

fn boot(scheme: Box<dyn Scheme>, arch: ArchId, ncpus: usize, knobs: Knobs) -> Kernel {
    Kernel::boot(
        Config {
            ncpus,
            arch: Arch::profile(arch),
            knobs,
            max_mms: 8,
            max_tasks: 6,
            label: "loom".into(),
        },
        scheme,
    )
}

fn op(k: &Kernel, c: &LoomCpu<'_>, o: SysOp) -> bool {
    k.do_op(c, &o)
}

/// After every CPU thread finished: quiesce each CPU, run the final check, and return the
/// oracle's violations.
fn settle(k: &Kernel, m: &LoomMachine) -> Vec<String> {
    for cpu in 0..k.ncpus() {
        k.quiesce_cpu(&LoomCpu::new(cpu, m));
    }
    k.final_check(&BootCpu::new(0));
    k.oracle
        .violations()
        .iter()
        .map(|v| v.to_string())
        .collect()
}

/// Runs `model` under loom; Ok(()) if every execution passed, Err(message) if some
/// execution failed (an oracle violation, a loom causality violation, a deadlock).
fn explore(model: impl Fn() + Sync + Send + 'static) -> Result<(), String> {
    // std (not loom) counter: observation only.
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r2 = runs.clone();
    let r = catch_unwind(AssertUnwindSafe(|| {
        builder().check(move || {
            r2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            model()
        })
    }));
    let n = runs.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("loom: {n} executions explored");
    r.map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "loom execution failed".into())
    })
}

fn assert_clean(v: Vec<String>) {
    assert!(v.is_empty(), "oracle violations: {v:#?}");
}

// ---------------------------------------------------------------------------------------
// H: going lazy (WRITE_ONCE, no barrier) and un-lazying (store_release) vs the scan.

/// The shared shape of the H and MD models: A runs T (sole thread of M), goes lazy on M,
/// then runs U of another mm (un-lazy); meanwhile B takes T over (on_cpu hand-off), exits
/// it (the last mmput: H scans, MD's final mmdrop runs hp_scan) and runs U2, which releases
/// B's own deferred reference. If the free side misses A, M is freed while A may still be
/// lazy on it, and A's page-table walk at its switch away races with the free.
fn lazy_on_a_exit_on_b(scheme: Box<dyn Scheme>, knobs: Knobs) {
    let k = Arc::new(boot(scheme, ArchId::Arm64, 2, knobs));
    let m = Arc::new(LoomMachine::new(2));
    let (_mm, t) = k.create_process(1).unwrap();
    let (_mu, u) = k.create_process(1).unwrap();
    let (_mu2, u2) = k.create_process(1).unwrap();
    let (t, u, u2) = (t[0], u[0], u2[0]);
    // Setup on A (sequential): T runs on A.
    assert!(op(
        &k,
        &LoomCpu::new(0, &m),
        SysOp::Switch(TaskRef::Task(t))
    ));
    let (k2, m2) = (k.clone(), m.clone());
    let b = loom::thread::spawn(move || {
        let c = LoomCpu::new(1, &m2);
        while !op(&k2, &c, SysOp::Switch(TaskRef::Task(t))) {
            loom::thread::yield_now();
        }
        op(
            &k2,
            &c,
            SysOp::Exit {
                then: TaskRef::Idle,
            },
        );
        op(&k2, &c, SysOp::Switch(TaskRef::Task(u2)));
        c.finish(&k2);
    });
    let a = LoomCpu::new(0, &m);
    op(&k, &a, SysOp::Switch(TaskRef::Idle));
    op(&k, &a, SysOp::Switch(TaskRef::Task(u)));
    a.finish(&k);
    b.join().unwrap();
    assert_clean(settle(&k, &m));
}

fn hazard_going_lazy(lazy_load: Ordering, knobs: Knobs) {
    let h = Hazard {
        lazy_load,
        ..Hazard::default()
    };
    lazy_on_a_exit_on_b(Box::new(h), knobs);
}

#[test]
fn hazard_going_lazy_store_vs_mm_unlazy_mm_count_scan() {
    explore(|| hazard_going_lazy(Ordering::Acquire, Knobs::fixed())).unwrap();
}

#[test]
fn hazard_going_lazy_without_the_on_cpu_acquire_is_caught() {
    // The going-lazy WRITE_ONCE has no barrier of its own: it is ordered before the scan by
    // the on_cpu release/acquire hand-off of the task whose exit runs the scan. Relaxing the
    // acquire side must let the scan miss the hazard pointer.
    let e = explore(|| {
        hazard_going_lazy(
            Ordering::Acquire,
            Knobs {
                ttwu_on_cpu_relaxed: true,
                ..Knobs::fixed()
            },
        )
    })
    .unwrap_err();
    eprintln!("loom caught the relaxed on_cpu hand-off: {e}");
}

#[test]
fn hazard_scan_acquire_is_covered_by_mmdrops_full_barrier() {
    // Finding: with the scan's lazy_mm load Relaxed, this model still passes. A scan that
    // reads NULL is followed by mmdrop (atomic_dec_and_test, a full barrier) before anything
    // is freed, and that fence pairs with the owner's store_release. The patch's
    // smp_load_acquire is belt and braces here (2 CPUs, preemption bound 2).
    explore(|| hazard_going_lazy(Ordering::Relaxed, Knobs::fixed())).unwrap();
}

// ---------------------------------------------------------------------------------------
// H: the drop_mm hand-off and steal race (scenario 18).

fn steal_race(reload_lazy_mm: bool) {
    let h = Hazard {
        reload_lazy_mm,
        ..Hazard::default()
    };
    let k = Arc::new(boot(Box::new(h), ArchId::Arm64, 2, Knobs::fixed()));
    let m = Arc::new(LoomMachine::new(2));
    let (_m1, t1) = k.create_process(1).unwrap();
    let (_m2, t2) = k.create_process(1).unwrap();
    let (t1, t2) = (t1[0], t2[0]);
    // Setup: A ran T1 and is lazy on M1.
    let a = LoomCpu::new(0, &m);
    op(&k, &a, SysOp::Switch(TaskRef::Task(t1)));
    op(&k, &a, SysOp::Switch(TaskRef::Idle));
    let (k1, m1) = (k.clone(), m.clone());
    let f1 = loom::thread::spawn(move || {
        // F1 exits M1's last thread: its scan may load rq_A->lazy_mm == M1 ...
        let c = LoomCpu::new(1, &m1);
        op(&k1, &c, SysOp::Switch(TaskRef::Task(t1)));
        op(
            &k1,
            &c,
            SysOp::Exit {
                then: TaskRef::Idle,
            },
        );
        c.finish(&k1);
    });
    // ... while A runs T2 (user M2) and T2 exits on A: A goes lazy on M2 and M2's scan hands
    // A's rq the drop_mm reference for M2 (the role of F2 in §7 #18, played by A itself).
    op(&k, &a, SysOp::Switch(TaskRef::Task(t2)));
    op(
        &k,
        &a,
        SysOp::Exit {
            then: TaskRef::Idle,
        },
    );
    a.finish(&k);
    f1.join().unwrap();
    assert_clean(settle(&k, &m));
}

#[test]
fn hazard_drop_mm_steal_race_scenario_18() {
    explore(|| steal_race(true)).unwrap();
}

#[test]
fn hazard_dec2020_mockup_steal_without_reload_is_caught() {
    let e = explore(|| steal_race(false)).unwrap_err();
    eprintln!("loom caught mutant (a): {e}");
}

// ---------------------------------------------------------------------------------------
// S: a CPU going lazy (kthread_unuse_mm after kthread_use_mm) vs the final mmdrop's shootdown.

fn shootdown_vs_lazy(knobs: Knobs) {
    let k = Arc::new(boot(
        Box::new(Shootdown::default()),
        ArchId::PpcRadix,
        2,
        knobs,
    ));
    let m = Arc::new(LoomMachine::new(2));
    let (mm, t) = k.create_process(1).unwrap();
    let kt = k.create_kthread().unwrap();
    let (a, b) = (LoomCpu::new(0, &m), LoomCpu::new(1, &m));
    // Setup: two driver pins (A's and B's); the process exits on B; B unlazies; K runs on A.
    op(&k, &a, SysOp::MmGrab(mm));
    op(&k, &b, SysOp::MmGrab(mm));
    op(&k, &b, SysOp::Switch(TaskRef::Task(t[0])));
    op(
        &k,
        &b,
        SysOp::Exit {
            then: TaskRef::Idle,
        },
    );
    k.quiesce_cpu(&b);
    op(&k, &a, SysOp::Switch(TaskRef::Task(kt)));
    let (k2, m2) = (k.clone(), m.clone());
    let bt = loom::thread::spawn(move || {
        let c = LoomCpu::new(1, &m2);
        op(&k2, &c, SysOp::MmDrop(mm));
        c.finish(&k2);
    });
    // A: use M, go lazy on it (unuse), drop A's pin.
    op(&k, &a, SysOp::KthreadUseMm(mm));
    op(&k, &a, SysOp::KthreadUnuseMm);
    op(&k, &a, SysOp::MmDrop(mm));
    a.finish(&k);
    bt.join().unwrap();
    assert_clean(settle(&k, &m));
}

#[test]
fn shootdown_vs_cpu_going_lazy() {
    explore(|| shootdown_vs_lazy(Knobs::fixed())).unwrap();
}

#[test]
fn shootdown_with_unordered_mmdrop_is_caught() {
    let e = explore(|| {
        shootdown_vs_lazy(Knobs {
            mmdrop_unordered: true,
            ..Knobs::fixed()
        })
    })
    .unwrap_err();
    eprintln!("loom caught the unordered mmdrop: {e}");
}

// ---------------------------------------------------------------------------------------
// MD: the lazy CPU's slot (smp_mb; slot = mm / smp_mb; release NULL) vs hp_scan.

fn md_slot(ordered_slot_clear: bool) {
    lazy_on_a_exit_on_b(Box::new(HazardMd { ordered_slot_clear }), Knobs::fixed());
}

#[test]
fn hazard_md_slot_publish_vs_hp_scan() {
    explore(|| md_slot(true)).unwrap();
}

#[test]
fn hazard_md_slot_clear_without_barrier_is_caught() {
    let e = explore(|| md_slot(false)).unwrap_err();
    eprintln!("loom caught the unordered slot clear: {e}");
}

// ---------------------------------------------------------------------------------------
// membarrier litmus (scenario 12): store buffering across membarrier() and a
// user → kthread → user switch that changes no page tables.

fn membarrier_litmus(scheme: Box<dyn Scheme>) {
    let k = Arc::new(boot(scheme, ArchId::PpcRadix, 2, Knobs::fixed()));
    let m = Arc::new(LoomMachine::new(2));
    let (mm, ts) = k.create_process(3).unwrap();
    k.membarrier_register(mm);
    let kt = k.create_kthread().unwrap();
    let (a, b) = (LoomCpu::new(0, &m), LoomCpu::new(1, &m));
    op(&k, &a, SysOp::Switch(TaskRef::Task(ts[0])));
    op(&k, &a, SysOp::Switch(TaskRef::Task(kt)));
    op(&k, &b, SysOp::Switch(TaskRef::Task(ts[2])));
    // User-space words of the litmus.
    let x = Arc::new(AtomicUsize::new(0));
    let y = Arc::new(AtomicUsize::new(0));
    let (k2, m2, x2, y2) = (k.clone(), m.clone(), x.clone(), y.clone());
    let bt = loom::thread::spawn(move || {
        let c = LoomCpu::new(1, &m2);
        x2.store(1, Ordering::Relaxed);
        assert!(op(&k2, &c, SysOp::Membarrier));
        let r1 = y2.load(Ordering::Relaxed);
        c.finish(&k2);
        r1
    });
    // A: kthread → T'(M): kernel → user with no page-table change, then user code.
    op(&k, &a, SysOp::Switch(TaskRef::Task(ts[1])));
    y.store(1, Ordering::Relaxed);
    let r2 = x.load(Ordering::Relaxed);
    a.finish(&k);
    let r1 = bt.join().unwrap();
    assert!(
        !(r1 == 0 && r2 == 0),
        "membarrier: both sides missed each other's store"
    );
}

#[test]
fn membarrier_litmus_scenario_12() {
    explore(|| membarrier_litmus(Box::new(Shootdown::default()))).unwrap();
    explore(|| membarrier_litmus(lazymm_model::SchemeId::Refcount.build())).unwrap();
    explore(|| membarrier_litmus(lazymm_model::SchemeId::Hazard.build())).unwrap();
}

#[test]
fn membarrier_litmus_without_the_barrier_is_caught() {
    let e = explore(|| {
        membarrier_litmus(Box::new(Shootdown {
            mutant: Some("shootdown-without-membarrier-mb"),
            membarrier_mb: false,
        }))
    })
    .unwrap_err();
    eprintln!("loom caught the missing membarrier barrier: {e}");
}
