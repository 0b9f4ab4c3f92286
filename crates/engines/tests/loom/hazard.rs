//! H (patch 16): going lazy (WRITE_ONCE, no barrier) and un-lazying (store_release) vs the
//! scan in `mm_unlazy_mm_count`.

use crate::common::*;
use lazymm_model::schemes::hazard::Hazard;
use lazymm_model::sync::atomic::Ordering;
use lazymm_model::Knobs;

fn hazard_going_lazy(h: Hazard, knobs: Knobs) {
    lazy_on_a_exit_on_b(Box::new(h), knobs);
}

#[test]
fn hazard_going_lazy_store_vs_mm_unlazy_mm_count_scan() {
    explore(|| hazard_going_lazy(Hazard::default(), Knobs::fixed())).unwrap();
}

#[test]
fn hazard_going_lazy_without_the_on_cpu_acquire_is_caught() {
    // The going-lazy WRITE_ONCE has no barrier of its own: it is ordered before the scan by
    // the on_cpu release/acquire hand-off of the task whose exit runs the scan. Relaxing the
    // acquire side lets B's exit run before A's switch away from T is visible: A's walk of
    // M's page tables races with the free.
    let knobs = || Knobs {
        ttwu_on_cpu_relaxed: true,
        ..Knobs::fixed()
    };
    assert_caught(
        move || hazard_going_lazy(Hazard::default(), knobs()),
        &[Caught::Causality],
    );
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
        ..Hazard::default()
    };
    explore(move || hazard_going_lazy(h(), Knobs::fixed())).unwrap();
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
        ..Hazard::default()
    };
    assert_caught(
        move || hazard_going_lazy(h(), Knobs::fixed()),
        &[Caught::Causality],
    );
}
