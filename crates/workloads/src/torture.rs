//! Threads-engine torture: the random workload of [`crate::explore`] on real OS threads,
//! one per model CPU, for a wall-clock duration.

use crate::explore::random_sysop;
use lazymm_engines::threads::{self, ThreadsConfig, ThreadsStop};
use lazymm_model::counters::CounterSnapshot;
use lazymm_model::{Arch, ArchId, Config, Kernel, Knobs, Scheme};
use serde::Serialize;
use std::time::Duration;

/// Torture parameters.
#[derive(Clone, Debug)]
pub struct TortureConfig {
    /// Model CPUs (OS threads).
    pub ncpus: usize,
    /// Wall-clock duration.
    pub duration: Duration,
    /// Seed.
    pub seed: u64,
    /// NMIs per second over all CPUs.
    pub nmi_per_sec: f64,
    /// Host-yield probability per point.
    pub jitter: f64,
    /// Stop each CPU after this many ops (None: run for `duration`).
    pub max_ops_per_cpu: Option<u64>,
    /// Per-point probability of a 200 µs vCPU preemption (see `ThreadsConfig`).
    pub vcpu_preempt: f64,
}

/// What one torture run measured.
#[derive(Clone, Debug, Serialize)]
pub struct TortureReport {
    /// Scheme (or mutant) name.
    pub scheme: String,
    /// Arch.
    pub arch: String,
    /// Model CPUs.
    pub cpus: usize,
    /// Seed.
    pub seed: u64,
    /// Ops attempted.
    pub ops: u64,
    /// Ops applied.
    pub applied: u64,
    /// Seconds of workload.
    pub seconds: f64,
    /// Attempted ops per second.
    pub ops_per_sec: f64,
    /// NMIs delivered.
    pub nmis: u64,
    /// Counters over the run.
    pub counters: CounterSnapshot,
    /// Violations (the first [`lazymm_model::oracle::Oracle::KEEP`] distinct ones).
    pub violations: Vec<String>,
    /// Further violation reports, counted but not kept.
    pub violations_dropped: u64,
    /// Whether the run deadlocked.
    pub deadlock: bool,
}

/// Runs the random workload on `scheme` × `arch` on OS threads.
pub fn torture(
    scheme: Box<dyn Scheme>,
    arch: ArchId,
    knobs: Knobs,
    cfg: &TortureConfig,
) -> TortureReport {
    let name = scheme.name();
    let k = Kernel::boot(
        Config {
            ncpus: cfg.ncpus,
            arch: Arch::profile(arch),
            knobs,
            // Under Miri a small table keeps boot and the oracle's scans affordable.
            max_mms: if cfg!(miri) { 64 } else { 4096 },
            max_tasks: 4 * cfg.ncpus + 4,
            label: format!("torture(seed={})", cfg.seed),
            topo: Default::default(),
        },
        scheme,
    );
    for t in 0..3 {
        k.create_process(1 + t).expect("capacity");
    }
    for _ in 0..cfg.ncpus {
        k.create_kthread().expect("capacity");
    }
    let before = k.counters.snapshot();
    let n = cfg.ncpus;
    let r = threads::run(
        &k,
        &ThreadsConfig {
            duration: cfg.duration,
            seed: cfg.seed,
            nmi_per_sec: cfg.nmi_per_sec,
            jitter: cfg.jitter,
            max_ops_per_cpu: cfg.max_ops_per_cpu,
            vcpu_preempt: cfg.vcpu_preempt,
            ..ThreadsConfig::default()
        },
        |cpu, rng| random_sysop(rng, cpu, n),
    );
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    TortureReport {
        scheme: name,
        arch: arch.name().into(),
        cpus: cfg.ncpus,
        seed: cfg.seed,
        ops: r.ops,
        applied: r.applied,
        seconds: secs,
        ops_per_sec: r.ops as f64 / secs,
        nmis: r.nmis,
        counters: k.counters.snapshot() - before,
        violations: k
            .oracle
            .violations()
            .iter()
            .map(|v| v.to_string())
            .collect(),
        violations_dropped: k.oracle.dropped(),
        deadlock: r.stop == ThreadsStop::Deadlock,
    }
}
