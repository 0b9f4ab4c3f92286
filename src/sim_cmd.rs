//! `lazymm sim`: the simulated machine from the command line (the grid: `sweep_cmd`).

use clap::Args;
use lazymm_model::era::{self, Variant};
use lazymm_profile::Profile;
use lazymm_sim::{simulate_with_timeline, SimConfig, SimReport, SimSpec, Timeline, TimelineOpts};
use lazymm_workloads::drivers::{self, Bind};

/// The workloads `sim` and `sweep` accept.
pub const WORKLOADS: &[&str] = drivers::NAMES;

/// `lazymm sim` options.
#[derive(Args, Debug, Clone)]
pub struct SimArgs {
    /// Workload: ctxsw, tlb-flush, exec-storm, kthread-io, wide-exit.
    #[arg(long, default_value = "ctxsw")]
    pub workload: String,
    /// Variant name (refcount, shootdown, …, hazard+fixes; `lazymm scenario` lists them) or a
    /// scheme id (its clean variant).
    #[arg(long, default_value = "refcount")]
    pub scheme: String,
    /// Model arch; default: the profile's.
    #[arg(long)]
    pub arch: Option<String>,
    /// Machine profile: a name (`profiles/NAME.toml` or built in) or a path.
    #[arg(long, default_value = "intel-icx-2s")]
    pub profile: String,
    /// Simulated CPUs.
    #[arg(long, default_value_t = 64)]
    pub cpus: usize,
    /// Testcase tasks (ctxsw: each with its pipe partner); default one per core.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Binding of testcase tasks: core (will-it-scale's default) or pu (its -m).
    #[arg(long, default_value = "core")]
    pub bind: String,
    /// Stop after this many measured context switches (default 100000).
    #[arg(long, conflicts_with = "duration")]
    pub switches: Option<u64>,
    /// Context switches of warm-up before measuring (default: 8 per CPU — every CPU's first
    /// switches out of its idle task set up mm_cpumask and drop init_mm: start-up, not
    /// steady state; will-it-scale discards its first samples likewise).
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Stop at this virtual time: a number with ns, us, ms or s.
    #[arg(long)]
    pub duration: Option<String>,
    /// Seed of randomised workloads (ctxsw is deterministic).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Relaxed causality: let a CPU run up to this far (ns, us, ms or s) ahead of the
    /// earliest other CPU through accesses no other CPU can race; 0 is exact. Faster,
    /// timing approximate; validated on ctxsw only (docs/simulator.md gives the measured
    /// error).
    #[arg(long, default_value = "0")]
    pub window: String,
    /// Simulate a kernel built with CONFIG_LRU_GEN_WALKS_MMU (MGLRU's page-table walks: on in
    /// distro configs such as Debian's 6.12, off in the defconfig the eras here use): every
    /// switch to a user task, and exec, stores to the mm's lru_gen.bitmap line. x86 and arm64
    /// only, v6.1 and later (other rows are infeasible).
    #[arg(long)]
    pub lru_gen_walks_mmu: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write a Perfetto trace of the run (CPUs' tasks and lazy periods, IPIs and mm_count
    /// transfers as flows, frees) to FILE; open it in ui.perfetto.dev.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<std::path::PathBuf>,
    /// Most events in the timeline; past it the trace is cut (and says so).
    #[arg(long, default_value_t = TimelineOpts::default().limit, requires = "timeline")]
    pub timeline_limit: usize,
    /// Record the timeline only up to this virtual time (ns, us, ms or s).
    #[arg(long, requires = "timeline")]
    pub timeline_until: Option<String>,
}

/// Writes timeline `t` to `path` (atomically) and says so on stderr: events, bytes, and
/// where it was cut if it was.
pub fn write_timeline(path: &std::path::Path, t: &Timeline) -> Result<(), String> {
    let bytes = t.write(path)?;
    eprintln!(
        "timeline: {} ({} events, {} bytes{})",
        path.display(),
        t.events(),
        bytes,
        t.truncated_at_ns()
            .map(|c| format!(", truncated at {:.3} us", c / 1e3))
            .unwrap_or_default()
    );
    Ok(())
}

/// Parses a duration such as `10ms`, `1.5s`, `200us`, `5000ns` into ns.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (num, mul) = [("ns", 1.0), ("us", 1e3), ("ms", 1e6), ("s", 1e9)]
        .iter()
        .find_map(|(u, m)| s.strip_suffix(u).map(|n| (n, *m)))
        .ok_or_else(|| format!("--duration {s:?}: give a number with ns, us, ms or s"))?;
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("--duration {s:?}: {num:?} is not a number"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("--duration {s:?}: must be positive"));
    }
    Ok(v * mul)
}

/// Workloads the relaxed-causality window has been validated on (docs/simulator.md).
pub const WINDOW_WORKLOADS: &[&str] = &["ctxsw"];

/// Parses `--window` for `workloads`: `0` (exact) or a duration ([`parse_duration`]),
/// refused for a workload it has not been validated on.
pub fn parse_window(s: &str, workloads: &[&str]) -> Result<f64, String> {
    if s.trim() == "0" {
        return Ok(0.0);
    }
    let w = parse_duration(s).map_err(|e| e.replace("--duration", "--window"))?;
    if let Some(bad) = workloads.iter().find(|w| !WINDOW_WORKLOADS.contains(w)) {
        return Err(format!(
            "--window {s:?}: validated on {} only, not {bad} (its IPI counts and free latencies move beyond the exact engine's own sensitivity: docs/simulator.md); use the exact engine (--window 0)",
            WINDOW_WORKLOADS.join(", ")
        ));
    }
    Ok(w)
}

/// Resolves a variant name or scheme id.
pub fn find_variant(name: &str) -> Result<Variant, String> {
    if let Some(v) = era::variant(name) {
        return Ok(v);
    }
    if let Some(id) = lazymm_model::SchemeId::parse(name) {
        return Ok(era::clean_variant(id));
    }
    let names: Vec<&str> = era::variants().iter().map(|v| v.name).collect();
    Err(format!(
        "--scheme {name:?}: unknown (variants: {})",
        names.join(", ")
    ))
}

/// The variants `--scheme all` means: the clean one of each scheme (H as `+fixes`: as
/// posted it leaks every exited mm by design, which would dominate any cost figure).
pub fn all_variants() -> Vec<Variant> {
    era::variants().into_iter().filter(|v| v.clean).collect()
}

/// One simulation point.
#[derive(Clone)]
pub struct Point {
    /// Workload name.
    pub workload: String,
    /// Variant.
    pub variant: Variant,
    /// Profile.
    pub profile: Profile,
    /// CPUs.
    pub cpus: usize,
    /// Testcase tasks.
    pub threads: usize,
    /// Binding.
    pub bind: Bind,
    /// Stop condition.
    pub cfg: SimConfig,
    /// Seed of randomised workloads.
    pub seed: u64,
}

impl Point {
    /// Runs it.
    pub fn run(&self) -> Result<SimReport, String> {
        Ok(self.run_with_timeline()?.0)
    }

    /// Runs it, with the timeline `cfg.timeline` asks for.
    pub fn run_with_timeline(&self) -> Result<(SimReport, Option<Timeline>), String> {
        let driver = drivers::build(
            &self.workload,
            drivers::Params {
                ncpus: self.cpus,
                smt: self.profile.topology.smt.get() as usize,
                threads: self.threads,
                bind: self.bind,
                seed: self.seed,
            },
        )?;
        Ok(simulate_with_timeline(SimSpec {
            profile: self.profile.clone(),
            variant: self.variant,
            ncpus: self.cpus,
            driver,
            cfg: self.cfg.clone(),
            knobs: None,
        }))
    }
}

/// Default testcase tasks for `cpus` CPUs: one per core.
pub fn default_threads(p: &Profile, cpus: usize) -> usize {
    (cpus / (p.topology.smt.get() as usize).max(1)).max(1)
}

/// Default warm-up: 8 context switches per CPU.
pub fn default_warmup(cpus: usize) -> u64 {
    8 * cpus as u64
}

fn stop_cfg(
    switches: Option<u64>,
    duration: Option<&str>,
    warmup: u64,
) -> Result<SimConfig, String> {
    let mut cfg = SimConfig {
        warmup_switches: Some(warmup),
        ..SimConfig::default()
    };
    if let Some(d) = duration {
        cfg.duration_ns = Some(parse_duration(d)?);
        cfg.switches = None;
    } else if let Some(s) = switches {
        if s == 0 {
            return Err("--switches must be at least 1".into());
        }
        cfg.switches = Some(s);
    }
    Ok(cfg)
}

pub fn load_profile(name: &str, arch: Option<&str>) -> Result<Profile, String> {
    let mut p = lazymm_profile::find(name).map_err(|e| e.to_string())?;
    if let Some(a) = arch {
        if lazymm_model::ArchId::parse(a).is_none() {
            return Err(format!(
                "--arch {a:?}: unknown (x86, arm64, ppc-radix, ppc-hash)"
            ));
        }
        p.arch = a.to_string();
    }
    Ok(p)
}

/// `lazymm sim`.
pub fn sim(a: &SimArgs) -> Result<(), String> {
    if a.cpus == 0 || a.cpus > 4096 {
        return Err(format!("--cpus {}: give 1 to 4096", a.cpus));
    }
    let bind = Bind::parse(&a.bind).ok_or(format!("--bind {:?}: core or pu", a.bind))?;
    let profile = load_profile(&a.profile, a.arch.as_deref())?;
    let variant = find_variant(&a.scheme)?;
    let threads = a
        .threads
        .unwrap_or_else(|| default_threads(&profile, a.cpus));
    if threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    let mut pt = Point {
        workload: a.workload.clone(),
        variant,
        profile,
        cpus: a.cpus,
        threads,
        bind,
        cfg: stop_cfg(
            a.switches,
            a.duration.as_deref(),
            a.warmup.unwrap_or_else(|| default_warmup(a.cpus)),
        )?,
        seed: a.seed,
    };
    pt.cfg.window_ns = parse_window(&a.window, &[a.workload.as_str()])?;
    pt.cfg.lru_gen_walks_mmu = a.lru_gen_walks_mmu;
    if a.timeline.is_some() {
        if a.timeline_limit == 0 {
            return Err("--timeline-limit must be at least 1".into());
        }
        let until_ns = match &a.timeline_until {
            Some(d) => {
                Some(parse_duration(d).map_err(|e| e.replace("--duration", "--timeline-until"))?)
            }
            None => None,
        };
        pt.cfg.timeline = Some(TimelineOpts {
            limit: a.timeline_limit,
            until_ns,
        });
    }
    let (r, timeline) = pt.run_with_timeline()?;
    if let (Some(path), None) = (&a.timeline, &timeline) {
        eprintln!("timeline: {} not written: nothing ran", path.display());
    }
    if let (Some(path), Some(t)) = (&a.timeline, &timeline) {
        write_timeline(path, t)?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?
        );
    } else {
        print_report(&r, threads, bind);
    }
    Ok(())
}

/// Human-readable report of one simulation.
pub fn print_report(r: &SimReport, threads: usize, bind: Bind) {
    if let Some(why) = &r.infeasible {
        println!("{} on {}: infeasible: {why}", r.scheme, r.arch);
        return;
    }
    println!(
        "{} on {} ({} CPUs{}, arch {}), {} ({}{}), {} tasks × 2, bind {}",
        r.workload,
        r.profile,
        r.cpus,
        if r.extrapolated { ", extrapolated" } else { "" },
        r.arch,
        r.scheme,
        r.era,
        if r.lru_gen_walks_mmu {
            ", CONFIG_LRU_GEN_WALKS_MMU=y"
        } else {
            ""
        },
        threads,
        bind.name()
    );
    if r.window_ns > 0.0 {
        println!(
            "  relaxed causality: window {:.0} ns (timing approximate; validated on ctxsw only, docs/simulator.md)",
            r.window_ns
        );
    }
    println!(
        "  measured {:.3} ms of virtual time (after {:.3} ms of warm-up), stop {:?}; {} context switches: {:.0}/s; {} ops ({}): {:.0}/s",
        r.virtual_ns / 1e6,
        r.measured_from_ns / 1e6,
        r.stop,
        r.context_switches,
        r.switches_per_sec,
        r.ops,
        r.op_name,
        r.ops_per_sec
    );
    let b = &r.per_switch_ns;
    println!(
        "  per switch (ns, all CPUs): busy {:.1} = access {:.1} + barriers {:.1} + mmu {:.1} + flush {:.1} + ipi send/wait/handler {:.1}/{:.1}/{:.1} + spin {:.1} + sched/wakeup/syscall {:.1}/{:.1}/{:.1} + idle exit {:.1}; idle {:.1}",
        r.busy_ns_per_switch, b.access, b.barrier, b.mmu, b.flush, b.ipi_send, b.ipi_wait,
        b.ipi_handler, b.spin, b.sched, b.wakeup, b.syscall, b.idle_exit, b.idle
    );
    let lines: Vec<String> = b
        .coherence
        .iter()
        .map(|(k, v)| format!("{k} {v:.1}"))
        .collect();
    println!("  coherence stalls per switch (ns): {}", lines.join(", "));
    let c = &r.counters;
    println!(
        "  counters: mm_count RMW {}, drop_mm RMW {}, scheme/path barriers {}/{}, scan loads {}, lazy/flush IPIs {}/{}, MMU switches {}, wakeups {}, syscalls {}",
        c.mm_count_rmw, c.drop_mm_rmw, c.scheme_barriers, c.path_barriers, c.scan_loads,
        c.lazy_ipis, c.flush_ipis, c.mmu_switches, c.wakeups, c.syscalls
    );
    let f = &r.free_latency;
    println!(
        "  frees: {} exited, {} freed; latency p50/p90/p99/max {:.0}/{:.0}/{:.0}/{:.0} ns; peak pending {}",
        f.exited, f.freed, f.p50_ns, f.p90_ns, f.p99_ns, f.max_ns, r.peak_pending_free
    );
    if r.invlpgb == Some(false) {
        println!(
            "  ({}'s base kernel predates INVLPGB global ASIDs (v6.15): it flushes by IPI on this machine)",
            r.scheme
        );
    }
    if let Some(why) = &r.not_the_kernel {
        println!(
            "  (not the era's kernel: {} on {}: {why})",
            r.scheme, r.arch
        );
    }
    if !r.expected_clean && !r.violations.is_empty() {
        println!(
            "  ({} is not expected clean on {}: see the catalogued findings, `lazymm scenario --all`)",
            r.scheme, r.arch
        );
    }
    println!(
        "  violations: {}{}",
        r.violations.len(),
        r.violations
            .first()
            .map(|v| format!(" (first: {v})"))
            .unwrap_or_default()
    );
    println!(
        "  host: {:.2} s, {} steps, {:.0} simulated switches per host second",
        r.host_secs, r.resumes, r.switches_per_host_sec
    );
}
