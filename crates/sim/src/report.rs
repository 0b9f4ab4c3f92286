//! One simulation run, from a specification to a serialisable report.

use crate::cost::{Breakdown, Prices};
use crate::engine::{self, SimConfig, SimStop};
use crate::timeline::Timeline;
use crate::Coherence;
use lazymm_engines::driver::Driver;
use lazymm_model::counters::CounterSnapshot;
use lazymm_model::era::Variant;
use lazymm_model::wake::SchedTopo;
use lazymm_model::{Arch, ArchId, Config, Kernel};
use lazymm_profile::Profile;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// What to simulate.
pub struct SimSpec {
    /// The machine.
    pub profile: Profile,
    /// The scheme and era.
    pub variant: Variant,
    /// Simulated CPUs.
    pub ncpus: usize,
    /// The workload.
    pub driver: Box<dyn Driver>,
    /// Stop condition and engine settings.
    pub cfg: SimConfig,
    /// Knobs to run with instead of the variant's era knobs on the profile's arch (a
    /// scenario's own knob changes).
    pub knobs: Option<lazymm_model::Knobs>,
}

/// Distribution of the time from `mm_users` reaching 0 to the mm's free (ns).
#[derive(Clone, Debug, Default, Serialize)]
pub struct FreeLatency {
    /// mms whose users reached 0 before the stop.
    pub exited: usize,
    /// Of those, freed before the stop.
    pub freed: usize,
    /// Median (ns).
    pub p50_ns: f64,
    /// 90th percentile (ns).
    pub p90_ns: f64,
    /// 99th percentile (ns).
    pub p99_ns: f64,
    /// Maximum (ns).
    pub max_ns: f64,
}

/// The result of one simulation.
#[derive(Clone, Debug, Serialize)]
pub struct SimReport {
    /// Workload name.
    pub workload: String,
    /// Variant (scheme and era).
    pub scheme: String,
    /// "mainline" or "as-posted".
    pub era: String,
    /// Model arch.
    pub arch: String,
    /// Profile name.
    pub profile: String,
    /// Simulated CPUs.
    pub cpus: usize,
    /// More CPUs than the profiled machine has (extra sockets/nodes extrapolated).
    pub extrapolated: bool,
    /// Why the variant cannot run on this arch, if so (nothing else is then filled in).
    pub infeasible: Option<String>,
    /// The variant is expected to be clean on this arch (`Variant::clean_on`). When false —
    /// an as-posted series, or S on x86, which mainline never ported — violations are the
    /// catalogued findings (`lazymm scenario --all`), not new ones.
    pub expected_clean: bool,
    /// Why this row is not what the era's kernel runs on this arch, if so
    /// (`Variant::superseded`: generic S on ppc radix, where mainline folds the shootdown
    /// into the exit flush, which is `shootdown-ppc`).
    pub not_the_kernel: Option<String>,
    /// How the run ended.
    pub stop: SimStop,
    /// Virtual time measured (ns), after the warm-up.
    pub virtual_ns: f64,
    /// Virtual time at which the measurement started: the end of the warm-up (ns).
    pub measured_from_ns: f64,
    /// Context switches.
    pub context_switches: u64,
    /// Context switches per second of virtual time.
    pub switches_per_sec: f64,
    /// Workload ops completed.
    pub ops: u64,
    /// What one op is.
    pub op_name: String,
    /// Workload ops per second of virtual time.
    pub ops_per_sec: f64,
    /// Busy (non-idle) CPU time per context switch (ns).
    pub busy_ns_per_switch: f64,
    /// Time per context switch by cause (ns, summed over CPUs).
    pub per_switch_ns: Breakdown,
    /// The kernel's counters.
    pub counters: CounterSnapshot,
    /// Exit-to-free latency.
    pub free_latency: FreeLatency,
    /// Most mms at once whose users were gone and which were not yet freed.
    pub peak_pending_free: usize,
    /// Oracle violations (kind, CPU, path, detail).
    pub violations: Vec<String>,
    /// Host seconds the simulation took.
    pub host_secs: f64,
    /// Simulated scheduling steps (coroutine resumes).
    pub resumes: u64,
    /// Context switches simulated per host second.
    pub switches_per_host_sec: f64,
    /// The relaxed-causality window the engine ran with (ns; 0: exact,
    /// [`SimConfig::window_ns`]).
    pub window_ns: f64,
    /// Run with `CONFIG_LRU_GEN_WALKS_MMU` ([`SimConfig::lru_gen_walks_mmu`]).
    pub lru_gen_walks_mmu: bool,
    /// On a profile with INVLPGB, whether the row's kernel uses it (global ASIDs,
    /// `Variant::invlpgb`); `None` on other profiles.
    pub invlpgb: Option<bool>,
}

/// Runs one simulation.
pub fn simulate(spec: SimSpec) -> SimReport {
    simulate_with_timeline(spec).0
}

/// Runs one simulation, and returns its timeline too when `spec.cfg.timeline` asks for
/// one (write it with [`Timeline::write`]).
pub fn simulate_with_timeline(spec: SimSpec) -> (SimReport, Option<Timeline>) {
    let SimSpec {
        profile,
        variant,
        ncpus,
        driver,
        cfg,
        knobs: knobs_override,
    } = spec;
    let (max_tasks, max_mms) = driver.capacity();
    let arch_id = ArchId::parse(&profile.arch).unwrap_or(ArchId::X86);
    let arch = Arch::profile(arch_id);
    let mut knobs = knobs_override.unwrap_or_else(|| variant.knobs(arch_id));
    let scheme = variant.build();
    let workload = driver.name();
    let op_name = driver.op_name().to_string();
    let mut rep = SimReport {
        workload,
        scheme: variant.name.to_string(),
        era: variant.era.name().into(),
        arch: arch_id.name().into(),
        profile: profile.name.clone(),
        cpus: ncpus,
        extrapolated: profile.extrapolated(ncpus),
        infeasible: scheme.infeasible(&arch).map(str::to_string),
        expected_clean: variant.clean_on(arch_id),
        not_the_kernel: variant.superseded_on(arch_id).map(str::to_string),
        stop: SimStop::Completed,
        virtual_ns: 0.0,
        measured_from_ns: 0.0,
        context_switches: 0,
        switches_per_sec: 0.0,
        ops: 0,
        op_name,
        ops_per_sec: 0.0,
        busy_ns_per_switch: 0.0,
        per_switch_ns: Breakdown::default(),
        counters: CounterSnapshot::default(),
        free_latency: FreeLatency::default(),
        peak_pending_free: 0,
        violations: vec![],
        host_secs: 0.0,
        resumes: 0,
        switches_per_host_sec: 0.0,
        window_ns: cfg.window_ns,
        lru_gen_walks_mmu: cfg.lru_gen_walks_mmu,
        invlpgb: None,
    };
    if arch_id == ArchId::X86 && profile.tlb.invlpgb.get() != 0.0 {
        // AMD INVLPGB (Rik van Riel, v6.15): global ASIDs and broadcast invalidation for
        // mms a flush finds active on more than three CPUs (lazymm_model's global_asid) —
        // in kernels that have it. The as-posted series' bases flush by IPI on this machine.
        knobs.invlpgb = variant.invlpgb;
        rep.invlpgb = Some(variant.invlpgb);
    }
    if cfg.lru_gen_walks_mmu && rep.infeasible.is_none() {
        knobs.lru_gen_walks_mmu = true;
        rep.infeasible = if !arch.hw_pte_young {
            Some("CONFIG_LRU_GEN_WALKS_MMU: this arch does not select ARCH_HAS_HW_PTE_YOUNG".into())
        } else if !variant.mglru {
            Some("CONFIG_LRU_GEN_WALKS_MMU: MGLRU came in v6.1, after the series' base".into())
        } else {
            None
        };
    }
    if rep.infeasible.is_some() {
        return (rep, None);
    }
    let smt = profile.topology.smt.get() as usize;
    let topo = SchedTopo {
        smt,
        llc: smt * profile.topology.cores_per_cluster.get() as usize,
        idle_polls: profile.idle.polling.get() != 0.0,
    };
    let k = Arc::new(
        Kernel::boot(
            Config {
                ncpus,
                arch,
                knobs,
                // Room for the quiesce's one-off processes too.
                max_mms: max_mms + ncpus + 8,
                max_tasks: max_tasks + 2 * ncpus + 8,
                label: format!("sim:{}", rep.workload),
                topo,
            },
            scheme,
        )
        .with_access_hooks(),
    );
    k.oracle
        .set_labels(&rep.workload, &rep.scheme, arch_id.name());
    let coh = Coherence::new(&profile, ncpus);
    let prices = Prices::new(&profile, ncpus, cfg.spin_ns);
    let t0 = Instant::now();
    let mut out = engine::run(k.clone(), driver, coh, prices, &cfg);
    rep.host_secs = t0.elapsed().as_secs_f64();
    let sw = out.counters.context_switches;
    rep.stop = out.stop;
    rep.virtual_ns = out.virtual_ns;
    rep.context_switches = sw;
    rep.switches_per_sec = per_sec(sw as f64, out.virtual_ns);
    rep.ops = out.ops;
    rep.ops_per_sec = per_sec(out.ops as f64, out.virtual_ns);
    rep.busy_ns_per_switch = if sw > 0 {
        out.breakdown.busy() / sw as f64
    } else {
        0.0
    };
    rep.per_switch_ns = out.breakdown.per(sw as f64);
    rep.counters = out.counters;
    rep.resumes = out.resumes;
    rep.switches_per_host_sec = sw as f64 / rep.host_secs.max(1e-9);
    (rep.free_latency, rep.peak_pending_free) = frees(
        &k,
        out.measured_from_ns,
        out.measured_from_ns + out.virtual_ns,
    );
    rep.measured_from_ns = out.measured_from_ns;
    rep.violations = k
        .oracle
        .violations()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let timeline = out.timeline.take().map(|mut t| {
        let title = format!(
            "{} on {} ({} CPUs, arch {}), {}",
            rep.workload, rep.profile, rep.cpus, rep.arch, rep.scheme
        );
        let end = out.measured_from_ns + out.virtual_ns;
        t.finish(&k, title, out.measured_from_ns, end);
        t
    });
    (rep, timeline)
}

fn per_sec(n: f64, ns: f64) -> f64 {
    if ns > 0.0 {
        n * 1e9 / ns
    } else {
        0.0
    }
}

/// Free latencies of the mms whose users reached 0 in `[start, end]` (ns), and the peak of
/// mms pending free then.
fn frees(k: &Kernel, start: f64, end: f64) -> (FreeLatency, usize) {
    let mut lat = Vec::new();
    let mut edges: Vec<(f64, i64)> = Vec::new();
    let mut exited = 0;
    k.oracle.for_each(|_, s| {
        let Some(x) = s.exited else { return };
        let x = x as f64;
        if x > end || x < start {
            return;
        }
        exited += 1;
        let freed = s
            .freed
            .as_ref()
            .filter(|f| !f.during_quiesce && (f.step as f64) <= end)
            .map(|f| f.step as f64);
        edges.push((x, 1));
        match freed {
            Some(f) => {
                lat.push(f - x);
                edges.push((f, -1));
            }
            None => edges.push((end, -1)),
        }
    });
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut cur, mut peak) = (0i64, 0i64);
    for (_, d) in edges {
        cur += d;
        peak = peak.max(cur);
    }
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if lat.is_empty() {
            0.0
        } else {
            lat[((lat.len() - 1) as f64 * p).round() as usize]
        }
    };
    (
        FreeLatency {
            exited,
            freed: lat.len(),
            p50_ns: q(0.5),
            p90_ns: q(0.9),
            p99_ns: q(0.99),
            max_ns: lat.last().copied().unwrap_or(0.0),
        },
        peak.max(0) as usize,
    )
}
