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
