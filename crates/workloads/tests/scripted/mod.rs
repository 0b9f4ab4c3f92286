//! Shared by the tests that play hand-written per-CPU scripts on the step engine: boot a
//! small kernel, run the scripts to completion and return the workload's counters (the
//! engine freezes them when its quiesce begins), after checking that every op applied and
//! the oracle saw nothing.

use lazymm_engines::step::{self, Step, StepConfig};
use lazymm_model::counters::CounterSnapshot;
use lazymm_model::{Arch, ArchId, Config, Kernel, Knobs, SchemeId};
use std::sync::Arc;

/// A kernel of `ncpus` CPUs of `arch` with `knobs`, running `scheme`.
pub fn boot(arch: ArchId, knobs: Knobs, scheme: SchemeId, ncpus: usize) -> Arc<Kernel> {
    Arc::new(Kernel::boot(
        Config {
            ncpus,
            arch: Arch::profile(arch),
            knobs,
            max_mms: 16,
            max_tasks: 16,
            label: "scripted".into(),
            topo: Default::default(),
        },
        scheme.build(),
    ))
}

/// Runs `scripts` on `k` with `cfg`; asserts completion, every op applied and no violation.
pub fn run(k: &Arc<Kernel>, scripts: Vec<Vec<Step>>, cfg: &StepConfig) -> CounterSnapshot {
    let before = k.counters.snapshot();
    let r = step::run(k.clone(), scripts, cfg);
    assert_eq!(r.stop, step::Stop::Completed);
    assert!(r.applied.iter().flatten().all(|&a| a), "{:?}", r.applied);
    assert!(
        k.oracle.violations().is_empty(),
        "{:?}",
        k.oracle.violations()
    );
    k.counters.snapshot() - before
}
