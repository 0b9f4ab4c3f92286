//! `lazymm sim` and `lazymm sweep`: the simulated machine from the command line.

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lazymm_model::era::{self, Variant};
use lazymm_profile::Profile;
use lazymm_sim::{simulate, SimConfig, SimReport, SimSpec};
use lazymm_workloads::drivers::{self, Bind};
use rayon::prelude::*;
use std::path::PathBuf;

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
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
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
        Ok(simulate(SimSpec {
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

fn load_profile(name: &str, arch: Option<&str>) -> Result<Profile, String> {
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
    let pt = Point {
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
    let r = pt.run()?;
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
        "{} on {} ({} CPUs{}, arch {}), {} ({}), {} tasks × 2, bind {}",
        r.workload,
        r.profile,
        r.cpus,
        if r.extrapolated { ", extrapolated" } else { "" },
        r.arch,
        r.scheme,
        r.era,
        threads,
        bind.name()
    );
    println!(
        "  measured {:.3} ms of virtual time (after {:.3} ms of warm-up), stop {:?}; {} context switches: {:.0}/s; {} {}s: {:.0}/s",
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

/// `lazymm sweep` options.
#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// Workloads, comma-separated.
    #[arg(long, default_value = "ctxsw")]
    pub workload: String,
    /// CPU counts, comma-separated.
    #[arg(long, default_value = "1,2,4,8,16,32,64,128,256,512,1024")]
    pub cpus: String,
    /// Variants, comma-separated, or `all` (the clean variant of each scheme).
    #[arg(long, default_value = "all")]
    pub scheme: String,
    /// Profiles, comma-separated, or `all` (every built-in profile).
    #[arg(long, default_value = "all")]
    pub profile: String,
    /// Testcase tasks, comma-separated, or `cores` (one per core) or `cpus` (one per CPU).
    #[arg(long, default_value = "cores")]
    pub threads: String,
    /// Binding: core or pu.
    #[arg(long, default_value = "core")]
    pub bind: String,
    /// Measured context switches per point.
    #[arg(long, default_value_t = 20_000)]
    pub switches: u64,
    /// Warm-up context switches per point (default: 8 per CPU, see `lazymm sim --help`).
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Output stem: writes STEM.json and STEM.csv atomically.
    #[arg(long, default_value = "lazymm-sweep")]
    pub out: PathBuf,
    /// Parallel simulations (default: all host cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

fn list<T>(s: &str, what: &str, f: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    let v: Vec<T> = s
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(&f)
        .collect::<Result<_, _>>()?;
    if v.is_empty() {
        return Err(format!("--{what}: empty list"));
    }
    Ok(v)
}

/// The points of a sweep grid.
pub fn grid(a: &SweepArgs) -> Result<Vec<Point>, String> {
    let bind = Bind::parse(&a.bind).ok_or(format!("--bind {:?}: core or pu", a.bind))?;
    let workloads = list(&a.workload, "workload", |w| {
        WORKLOADS.contains(&w).then(|| w.to_string()).ok_or(format!(
            "--workload {w:?}: unknown (known: {})",
            WORKLOADS.join(", ")
        ))
    })?;
    let cpus = list(&a.cpus, "cpus", |c| match c.parse::<usize>() {
        Ok(n) if (1..=4096).contains(&n) => Ok(n),
        _ => Err(format!("--cpus: {c:?} is not a CPU count from 1 to 4096")),
    })?;
    let variants = if a.scheme == "all" {
        all_variants()
    } else {
        list(&a.scheme, "scheme", find_variant)?
    };
    let profiles = if a.profile == "all" {
        lazymm_profile::builtin().map_err(|e| e.to_string())?
    } else {
        list(&a.profile, "profile", |p| load_profile(p, None))?
    };
    if a.switches == 0 {
        return Err("--switches must be at least 1".into());
    }
    let mut pts = Vec::new();
    for w in &workloads {
        for p in &profiles {
            for v in &variants {
                for &n in &cpus {
                    let ts: Vec<usize> = match a.threads.as_str() {
                        "cores" => vec![default_threads(p, n)],
                        "cpus" => vec![n],
                        t => list(t, "threads", |x| match x.parse::<usize>() {
                            Ok(v) if v >= 1 => Ok(v),
                            _ => Err(format!("--threads: {x:?} is not a task count")),
                        })?,
                    };
                    for t in ts {
                        pts.push(Point {
                            workload: w.clone(),
                            variant: *v,
                            profile: p.clone(),
                            cpus: n,
                            threads: t,
                            bind,
                            cfg: SimConfig {
                                switches: Some(a.switches),
                                warmup_switches: Some(
                                    a.warmup.unwrap_or_else(|| default_warmup(n)),
                                ),
                                ..SimConfig::default()
                            },
                            seed: 0,
                        });
                    }
                }
            }
        }
    }
    Ok(pts)
}

/// `lazymm sweep`: runs the grid in parallel and writes JSON and CSV.
pub fn sweep(a: &SweepArgs) -> Result<Vec<SimReport>, String> {
    let pts = grid(a)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.jobs.unwrap_or(0))
        .build()
        .map_err(|e| e.to_string())?;
    let bar = if a.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(pts.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} points, {elapsed} ({eta} left) {msg}")
            .map_err(|e| e.to_string())?,
    );
    let reports: Vec<SimReport> = pool.install(|| {
        pts.par_iter()
            .map(|p| {
                let r = p.run();
                bar.inc(1);
                r
            })
            .collect::<Result<_, _>>()
    })?;
    bar.finish_and_clear();
    write_outputs(&a.out, &reports, &pts)?;
    Ok(reports)
}

fn write_outputs(stem: &std::path::Path, reps: &[SimReport], pts: &[Point]) -> Result<(), String> {
    let json = serde_json::to_string_pretty(reps).map_err(|e| e.to_string())?;
    let mut csv = String::from(
        "workload,profile,scheme,era,arch,cpus,extrapolated,threads,bind,stop,virtual_ns,context_switches,switches_per_sec,ops_per_sec,busy_ns_per_switch,mm_count_stall_ns_per_switch,ipi_wait_ns_per_switch,idle_exit_ns_per_switch,mm_count_rmw,lazy_ipis,flush_ipis,scheme_barriers,scan_loads,mmu_switches,free_p50_ns,peak_pending_free,violations,infeasible\n",
    );
    for (r, p) in reps.iter().zip(pts) {
        let b = &r.per_switch_ns;
        let c = &r.counters;
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{:?},{:.0},{},{:.0},{:.0},{:.2},{:.2},{:.2},{:.2},{},{},{},{},{},{},{:.0},{},{},{}\n",
            r.workload, r.profile, r.scheme, r.era, r.arch, r.cpus, r.extrapolated, p.threads,
            p.bind.name(), r.stop, r.virtual_ns, r.context_switches, r.switches_per_sec,
            r.ops_per_sec, r.busy_ns_per_switch,
            b.coherence.get("mm_count").copied().unwrap_or(0.0), b.ipi_wait, b.idle_exit,
            c.mm_count_rmw, c.lazy_ipis, c.flush_ipis, c.scheme_barriers, c.scan_loads,
            c.mmu_switches, r.free_latency.p50_ns, r.peak_pending_free, r.violations.len(),
            r.infeasible.as_deref().unwrap_or("").replace(',', ";")
        ));
    }
    let with = |ext: &str| {
        let mut p = stem.as_os_str().to_owned();
        p.push(ext);
        PathBuf::from(p)
    };
    for (path, text) in [(with(".json"), json), (with(".csv"), csv)] {
        lazymm_calibrate::write_atomically(&path, &text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
