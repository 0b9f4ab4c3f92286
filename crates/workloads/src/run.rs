//! Running one workload on one (scheme, arch) and summarising it as a table row.

use lazymm_engines::step::{self, Gate, Preempt, Step, StepConfig, StepResult};
use lazymm_model::counters::CounterSnapshot;
use lazymm_model::{Arch, ArchId, Config, Kernel, Knobs, MmRef, Scheme};
use serde::Serialize;
use std::sync::Arc;

/// A built workload: scripts plus the interleaving directives and the mm under study.
#[derive(Default)]
pub struct Built {
    /// One script per CPU.
    pub scripts: Vec<Vec<Step>>,
    /// Gates.
    pub gates: Vec<Gate>,
    /// Directed preemptions.
    pub preempts: Vec<Preempt>,
    /// The mm the scenario is about (reported as freed / freed_at).
    pub subject: MmRef,
}

/// One row of the scenario table (the JSON shape is fixed by issue 2).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Scenario name.
    pub scenario: String,
    /// Scheme id (or mutant name).
    pub scheme: String,
    /// Arch id.
    pub arch: String,
    /// Violations, one string each.
    pub violations: Vec<String>,
    /// Lazy-handling IPIs.
    pub lazy_ipis: u64,
    /// Flush IPIs.
    pub flush_ipis: u64,
    /// RMWs on mm_count.
    pub mm_count_rmw: u64,
    /// RMWs on rq->drop_mm.
    pub drop_mm_rmw: u64,
    /// Explicit full barriers.
    pub barriers: u64,
    /// Hazard scan loads.
    pub scan_loads: u64,
    /// Whether the subject mm was freed.
    pub freed: bool,
    /// Where: "cpuN <function> (step K)", or "not freed".
    pub freed_at: String,
    /// Why this scheme cannot run on this arch (spec reason), or null.
    pub infeasible: Option<String>,
}

/// Everything a run produced, for tests that look deeper than a row.
pub struct Outcome {
    /// The table row.
    pub row: Row,
    /// The kernel after the run.
    pub kernel: Arc<Kernel>,
    /// Engine result.
    pub result: StepResult,
    /// Counters over the run (boot excluded).
    pub counters: CounterSnapshot,
}

/// Runs `build` on a fresh kernel.
#[allow(clippy::too_many_arguments)]
pub fn run_one(
    label: &str,
    scheme: Box<dyn Scheme>,
    arch: ArchId,
    ncpus: usize,
    knobs: Knobs,
    build: &dyn Fn(&Kernel) -> Built,
    seed: u64,
    nmi_prob: f64,
    preempt_prob: f64,
) -> Outcome {
    let name = scheme.name();
    let arch_p = Arch::profile(arch);
    if let Some(why) = scheme.infeasible(&arch_p) {
        let k = Arc::new(Kernel::boot(cfg(label, arch_p, knobs, ncpus), scheme));
        return Outcome {
            row: Row {
                scenario: label.into(),
                scheme: name,
                arch: arch.name().into(),
                violations: vec![],
                lazy_ipis: 0,
                flush_ipis: 0,
                mm_count_rmw: 0,
                drop_mm_rmw: 0,
                barriers: 0,
                scan_loads: 0,
                freed: false,
                freed_at: "not run".into(),
                infeasible: Some(why.into()),
            },
            kernel: k,
            result: StepResult {
                stop: step::Stop::Completed,
                steps: 0,
                applied: vec![],
            },
            counters: CounterSnapshot::default(),
        };
    }
    let k = Arc::new(Kernel::boot(cfg(label, arch_p, knobs, ncpus), scheme));
    let b = build(&k);
    let before = k.counters.snapshot();
    let sc = StepConfig {
        seed,
        nmi_prob,
        preempt_prob,
        gates: b.gates,
        preempts: b.preempts,
        ..StepConfig::default()
    };
    let result = step::run(k.clone(), b.scripts, &sc);
    let counters = k.counters.snapshot() - before;
    let mut violations: Vec<String> = k
        .oracle
        .violations()
        .iter()
        .map(|v| v.to_string())
        .collect();
    if result.stop == step::Stop::StepBound {
        violations.push(format!(
            "step bound ({} steps) hit before quiesce",
            result.steps
        ));
    }
    let shadow = if b.subject.is_null() {
        None
    } else {
        k.oracle.shadow(b.subject)
    };
    let freed = shadow.as_ref().and_then(|s| s.freed.clone());
    let row = Row {
        scenario: label.into(),
        scheme: name,
        arch: arch.name().into(),
        violations,
        lazy_ipis: counters.lazy_ipis,
        flush_ipis: counters.flush_ipis,
        mm_count_rmw: counters.mm_count_rmw,
        drop_mm_rmw: counters.drop_mm_rmw,
        barriers: counters.barriers,
        scan_loads: counters.scan_loads,
        freed: freed.is_some(),
        freed_at: freed
            .map(|f| format!("cpu{} {} (step {})", f.cpu, f.via, f.step))
            .unwrap_or_else(|| "not freed".into()),
        infeasible: None,
    };
    Outcome {
        row,
        kernel: k,
        result,
        counters,
    }
}

fn cfg(label: &str, arch: Arch, knobs: Knobs, ncpus: usize) -> Config {
    Config {
        ncpus,
        arch,
        knobs,
        max_mms: 512,
        max_tasks: 512,
        label: label.into(),
    }
}
