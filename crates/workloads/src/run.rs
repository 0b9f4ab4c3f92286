//! Running one workload on one (scheme, arch) and summarising it as a table row.

use lazymm_engines::step::{self, Gate, Preempt, Step, StepConfig, StepResult};
use lazymm_model::counters::CounterSnapshot;
use lazymm_model::oracle::Violation;
use lazymm_model::{Arch, ArchId, Config, Era, Kernel, Knobs, MmRef, Scheme};
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
    /// Variant name (scheme id, "+fixes" variant, or mutant name).
    pub scheme: String,
    /// Which kernel the row runs: "mainline" or "as-posted" (`lazymm_model::era`).
    pub era: String,
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
    /// Explicit `smp_mb()`s the scheme adds.
    pub scheme_barriers: u64,
    /// Explicit `smp_mb()`s the common paths issue anyway.
    pub path_barriers: u64,
    /// Hazard scan loads.
    pub scan_loads: u64,
    /// MMU switches (CR3 / PID writes).
    pub mmu_switches: u64,
    /// Whether the workload freed the subject mm (frees done by the end-of-run quiesce do not
    /// count).
    pub freed: bool,
    /// Where: "cpuN `function` (step K)"; for an mm the workload left pinned by lazy CPUs,
    /// "zombie: pinned by …"; otherwise "not freed".
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
    /// Counters over the workload (boot and the end-of-run quiesce excluded).
    pub counters: CounterSnapshot,
    /// The oracle's violations, structured (kind, CPU, path).
    pub violations: Vec<Violation>,
}

/// The scheme a run uses, the name its row and violations carry, and its era.
pub struct Named {
    /// The scheme instance.
    pub scheme: Box<dyn Scheme>,
    /// Row name (a variant's name, or a mutant's).
    pub name: String,
    /// The era it runs.
    pub era: Era,
}

impl Named {
    /// A variant, named as such.
    pub fn variant(v: &lazymm_model::Variant) -> Named {
        Named {
            scheme: v.build(),
            name: v.name.into(),
            era: v.era,
        }
    }
}

/// Runs `build` on a fresh kernel.
#[allow(clippy::too_many_arguments)]
pub fn run_one(
    label: &str,
    named: Named,
    arch: ArchId,
    ncpus: usize,
    knobs: Knobs,
    build: &dyn Fn(&Kernel) -> Built,
    seed: u64,
    nmi_prob: f64,
    preempt_prob: f64,
) -> Outcome {
    let Named { scheme, name, era } = named;
    let arch_p = Arch::profile(arch);
    if let Some(why) = scheme.infeasible(&arch_p) {
        let k = Arc::new(Kernel::boot(cfg(label, arch_p, knobs, ncpus), scheme));
        return Outcome {
            row: Row {
                scenario: label.into(),
                scheme: name,
                era: era.name().into(),
                arch: arch.name().into(),
                violations: vec![],
                lazy_ipis: 0,
                flush_ipis: 0,
                mm_count_rmw: 0,
                drop_mm_rmw: 0,
                scheme_barriers: 0,
                path_barriers: 0,
                scan_loads: 0,
                mmu_switches: 0,
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
            violations: vec![],
        };
    }
    let k = Arc::new(Kernel::boot(cfg(label, arch_p, knobs, ncpus), scheme));
    k.oracle.set_labels(label, &name, arch.name());
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
    // The counters were frozen when the engine began its quiesce: this is the workload alone.
    let counters = k.counters.snapshot() - before;
    let structured = k.oracle.violations();
    let mut violations: Vec<String> = structured.iter().map(|v| v.to_string()).collect();
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
    let freed = shadow
        .as_ref()
        .and_then(|s| s.freed.clone())
        .filter(|f| !f.during_quiesce);
    let zombie = shadow.as_ref().and_then(|s| s.zombie.clone());
    let row = Row {
        scenario: label.into(),
        scheme: name,
        era: era.name().into(),
        arch: arch.name().into(),
        violations,
        lazy_ipis: counters.lazy_ipis,
        flush_ipis: counters.flush_ipis,
        mm_count_rmw: counters.mm_count_rmw,
        drop_mm_rmw: counters.drop_mm_rmw,
        scheme_barriers: counters.scheme_barriers,
        path_barriers: counters.path_barriers,
        scan_loads: counters.scan_loads,
        mmu_switches: counters.mmu_switches,
        freed: freed.is_some(),
        freed_at: match (freed, zombie) {
            (Some(f), _) => format!("cpu{} {} (step {})", f.cpu, f.via, f.step),
            (None, Some(z)) => z,
            (None, None) => "not freed".into(),
        },
        infeasible: None,
    };
    Outcome {
        row,
        kernel: k,
        result,
        counters,
        violations: structured,
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
        topo: Default::default(),
    }
}
