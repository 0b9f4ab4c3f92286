//! `lazymm sweep`: a grid of simulations in parallel (rayon), with a progress bar
//! (indicatif), written as JSON and CSV atomically.

use crate::sim_cmd::{
    all_variants, default_threads, default_warmup, find_variant, load_profile, Point, WORKLOADS,
};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lazymm_sim::{SimConfig, SimReport};
use lazymm_workloads::drivers::Bind;
use rayon::prelude::*;
use std::path::PathBuf;

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
    /// Relaxed causality window (`lazymm sim --help`): 0 (exact) or a duration; validated on
    /// ctxsw only.
    #[arg(long, default_value = "0")]
    pub window: String,
    /// Simulate a kernel built with CONFIG_LRU_GEN_WALKS_MMU (MGLRU's page-table walks: on in
    /// distro configs such as Debian's 6.12, off in the defconfig the eras here use): every
    /// switch to a user task, and exec, stores to the mm's lru_gen.bitmap line. x86 and arm64
    /// only, v6.1 and later (other rows are infeasible).
    #[arg(long)]
    pub lru_gen_walks_mmu: bool,
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
    let names: Vec<&str> = workloads.iter().map(String::as_str).collect();
    let window_ns = crate::sim_cmd::parse_window(&a.window, &names)?;
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
                                window_ns,
                                lru_gen_walks_mmu: a.lru_gen_walks_mmu,
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
        "workload,profile,scheme,era,lru_gen_walks_mmu,arch,cpus,extrapolated,threads,bind,stop,virtual_ns,context_switches,switches_per_sec,ops_per_sec,busy_ns_per_switch,mm_count_stall_ns_per_switch,mm_lru_gen_stall_ns_per_switch,ipi_wait_ns_per_switch,idle_exit_ns_per_switch,mm_count_rmw,lazy_ipis,flush_ipis,scheme_barriers,scan_loads,mmu_switches,free_p50_ns,peak_pending_free,violations,expected_clean,infeasible\n",
    );
    for (r, p) in reps.iter().zip(pts) {
        let b = &r.per_switch_ns;
        let c = &r.counters;
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{:?},{:.0},{},{:.0},{:.0},{:.2},{:.2},{:.2},{:.2},{:.2},{},{},{},{},{},{},{:.0},{},{},{},{}\n",
            r.workload, r.profile, r.scheme, r.era, r.lru_gen_walks_mmu, r.arch, r.cpus, r.extrapolated, p.threads,
            p.bind.name(), r.stop, r.virtual_ns, r.context_switches, r.switches_per_sec,
            r.ops_per_sec, r.busy_ns_per_switch,
            b.coherence.get("mm_count").copied().unwrap_or(0.0),
            b.coherence.get("mm_lru_gen").copied().unwrap_or(0.0), b.ipi_wait, b.idle_exit,
            c.mm_count_rmw, c.lazy_ipis, c.flush_ipis, c.scheme_barriers, c.scan_loads,
            c.mmu_switches, r.free_latency.p50_ns, r.peak_pending_free, r.violations.len(),
            r.expected_clean, r.infeasible.as_deref().unwrap_or("").replace(',', ";")
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
