//! Threads-engine runs of the random workload: every correct scheme stays clean, and the
//! mutants the threads engine must catch (kernel-model issue (a) and (f)) are caught.
//!
//! Bounded by op counts, not time. Under Miri (`cargo +nightly miri test -p lazymm-workloads
//! --test torture`) the runs shrink to a few dozen ops on 2 CPUs: Miri checks the threads
//! engine and the model for undefined behaviour and data races, not for protocol bugs.

use lazymm_model::{Arch, ArchId, SchemeId};
use lazymm_workloads::mutants;
use lazymm_workloads::torture::{torture, TortureConfig};
use std::time::Duration;

fn cfg(ncpus: usize, ops: u64, seed: u64) -> TortureConfig {
    TortureConfig {
        ncpus,
        duration: Duration::from_secs(3600),
        seed,
        nmi_per_sec: if cfg!(miri) { 0.0 } else { 2000.0 },
        jitter: 0.01,
        max_ops_per_cpu: Some(ops),
        vcpu_preempt: if cfg!(miri) { 0.0 } else { 1e-4 },
    }
}

#[test]
fn threads_engine_keeps_every_correct_scheme_safe() {
    let (ncpus, ops) = if cfg!(miri) { (2, 200) } else { (4, 20_000) };
    let schemes: Vec<SchemeId> = match std::env::var("LAZYMM_MIRI_SCHEMES") {
        Ok(v) => v.split(',').filter_map(SchemeId::parse).collect(),
        Err(_) => SchemeId::ALL.to_vec(),
    };
    for s in schemes {
        let arch = ArchId::ALL
            .into_iter()
            .find(|a| {
                s.build().infeasible(&Arch::profile(*a)).is_none()
                    && lazymm_model::era::clean_variant(s).clean_on(*a)
            })
            .unwrap();
        let v = lazymm_model::era::clean_variant(s);
        let r = torture(v.build(), arch, v.knobs(arch), &cfg(ncpus, ops, 7));
        assert!(!r.deadlock, "{}: deadlock", r.scheme);
        assert!(
            r.violations.is_empty(),
            "{} on {}: {:?}",
            r.scheme,
            r.arch,
            r.violations
        );
        assert_eq!(r.ops, ops * ncpus as u64);
    }
}

#[test]
#[cfg_attr(miri, ignore = "needs a long run; Miri checks the clean runs above")]
fn threads_engine_catches_mutant_f_kthread_count_only() {
    let m = &mutants::all()[5];
    assert!(m.name.starts_with("f-"));
    // Up to 4 × 200k ops; the mutant is typically caught within the first few thousand.
    let r = torture(m.build(), m.arch, m.knob_set(), &cfg(4, 200_000, 1));
    assert!(!r.violations.is_empty(), "mutant f survived {} ops", r.ops);
}
