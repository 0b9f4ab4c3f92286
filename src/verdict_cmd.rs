//! `lazymm verdict`, also `lazymm` with no subcommand: the main job.
//!
//! It runs, on built-in defaults chosen to finish within three minutes on a 2-core machine
//! (measured here, 2026-11-25: 34–35 s once built; 2 min 00 s with the build on a fresh
//! clone):
//!
//! 1. the scenario catalogue (every scenario × variant × arch, step engine) and the mutants;
//! 2. two sweeps on the sim engine, each exactly one `lazymm sweep` command
//!    ([`default_sweeps`]): ctxsw at 1…1024 CPUs and exec-storm at 2, 8, 64, 256, 1024 CPUs,
//!    every clean variant, on `intel-icx-2s` and `power9-2s-radix` (x86 with PCID and a
//!    lazy `mm_cpumask`; POWER with radix, broadcast `tlbie` and S-ppc); exec-storm's
//!    warm-up is 2,048 switches in every point (8 per CPU at 256 CPUs, 2 per CPU at 1024,
//!    where H's and MD's per-exit scan of 1024 slots makes each switch the slowest to
//!    simulate; more per CPU below 256);
//! 3. a one-second torture per scheme on the threads engine;
//! 4. the replay of the sample trace recorded here (`traces/sample.ftrace`), or of the traces
//!    given with `--replay`, through every clean variant on the sim engine.
//!
//! The catalogue and the simulation points run in parallel (rayon; the slowest points
//! first), with indicatif progress bars on stderr when it is a terminal and `--quiet` is not
//! given. It prints the one-screen verdict (`lazymm_report::verdict`), writes the report
//! directory (`index.html`, `charts/*.svg`, `data.json`, `verdict.txt`) into a temporary
//! sibling and renames it into place, and exits non-zero on any new violation or missed
//! mutant.

mod pieces;

use pieces::{catalogue, sims, threads, timed};

use crate::sweep_cmd::SweepArgs;
use clap::Args;
use indicatif::{MultiProgress, ProgressDrawTarget};
use lazymm_report::{FindingRow, ReplayCost, ReplayResult, ReportData, Timing};
use lazymm_workloads::mutants;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `lazymm verdict` options.
#[derive(Args, Debug, Clone)]
pub struct VerdictArgs {
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Print the report's data as JSON instead of the text verdict.
    #[arg(long)]
    pub json: bool,
    /// Report directory (written atomically: a temporary sibling renamed into place).
    #[arg(long, default_value = "lazymm-report")]
    pub out: PathBuf,
    /// Seconds of threads-engine torture per scheme.
    #[arg(long, default_value_t = 1.0)]
    pub torture_seconds: f64,
    /// Scheduler traces to replay through every scheme (repeatable; default: the sample
    /// recorded here, `traces/sample.ftrace`).
    #[arg(long = "replay", value_name = "TRACE")]
    pub replay: Vec<PathBuf>,
}

/// The sample trace shipped in the repository (`traces/README.md` says how it was recorded).
pub fn sample_trace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/sample.ftrace")
}

/// The profile the main job replays traces on: the x86 machine of its first cost table (not
/// `lazymm replay`'s default, `this-machine`, which depends on where it runs).
pub const REPLAY_PROFILE: &str = "intel-icx-2s";

/// Replays `traces` (the sample when empty) through every clean variant on
/// [`REPLAY_PROFILE`], as `lazymm replay TRACE --profile intel-icx-2s` does.
pub fn replays(traces: &[PathBuf]) -> Result<Vec<ReplayResult>, String> {
    let sample = [sample_trace()];
    let traces = if traces.is_empty() {
        &sample[..]
    } else {
        traces
    };
    let mut out = Vec::new();
    for t in traces {
        let opts = crate::replay_cmd::ReplayOpts {
            format: None,
            cpus: None,
            lenient: false,
            profile: lazymm_profile::find(REPLAY_PROFILE).map_err(|e| e.to_string())?,
            variants: crate::sim_cmd::all_variants(),
            timeline: None,
        };
        let s = crate::replay_cmd::replay_reports(t, &opts)?;
        let p = &s.parse;
        let e = &p.events;
        let shown = if *t == sample_trace() {
            "traces/sample.ftrace".to_string()
        } else {
            t.display().to_string()
        };
        out.push(ReplayResult {
            command: format!("lazymm replay {shown} --profile {REPLAY_PROFILE}"),
            trace: shown,
            stats: vec![
                ("format".into(), p.format.clone()),
                ("lines".into(), p.lines.to_string()),
                ("switches".into(), e.switch.to_string()),
                ("forks".into(), e.fork.to_string()),
                ("execs".into(), e.exec.to_string()),
                ("exits".into(), e.exit.to_string()),
                ("tasks".into(), p.scan.tasks.to_string()),
                ("CPUs".into(), s.cpus.to_string()),
                (
                    "duration".into(),
                    format!("{:.1} ms", s.duration_ns as f64 / 1e6),
                ),
            ],
            costs: s
                .schemes
                .iter()
                .filter(|r| r.report.infeasible.is_none())
                .map(|r| ReplayCost {
                    lazy_switches: r.replay.lazy_switches,
                    exits: r.replay.exits,
                    lazy_ns: r.lazy_ns,
                    time_share: r.time_share,
                    ipis_per_exit: r.ipis_per_exit,
                })
                .collect(),
            reports: s
                .schemes
                .into_iter()
                .filter(|r| r.report.infeasible.is_none())
                .map(|r| r.report)
                .collect(),
        });
    }
    Ok(out)
}

/// The profiles the main job simulates.
pub const PROFILES: &str = "intel-icx-2s,power9-2s-radix";

/// The main job's sweeps.
pub fn default_sweeps() -> Vec<SweepArgs> {
    let base = SweepArgs {
        workload: "ctxsw".into(),
        cpus: "1,2,4,8,16,32,64,128,256,512,1024".into(),
        scheme: "all".into(),
        profile: PROFILES.into(),
        threads: "cores".into(),
        bind: "core".into(),
        switches: 20_000,
        warmup: None,
        window: "0".into(),
        lru_gen_walks_mmu: false,
        out: PathBuf::from("lazymm-sweep"),
        jobs: None,
        quiet: true,
    };
    let exec = SweepArgs {
        workload: "exec-storm".into(),
        cpus: "2,8,64,256,1024".into(),
        switches: 3_000,
        warmup: Some(2_048),
        ..base.clone()
    };
    vec![base, exec]
}

/// The `lazymm sweep` command line that reproduces `a`'s points.
pub fn sweep_command(a: &SweepArgs) -> String {
    let mut s = format!(
        "lazymm sweep --workload {} --cpus {} --scheme {} --profile {} --switches {}",
        a.workload, a.cpus, a.scheme, a.profile, a.switches
    );
    if let Some(w) = a.warmup {
        s.push_str(&format!(" --warmup {w}"));
    }
    if a.threads != "cores" {
        s.push_str(&format!(" --threads {}", a.threads));
    }
    if a.window != "0" {
        s.push_str(&format!(" --window {}", a.window));
    }
    if a.bind != "core" {
        s.push_str(&format!(" --bind {}", a.bind));
    }
    s
}

/// Runs everything and returns the report's data: the replays are those of `a.replay` (the
/// sample trace when none is given).
pub fn collect(a: &VerdictArgs) -> Result<ReportData, String> {
    if !(a.torture_seconds.is_finite() && a.torture_seconds > 0.0 && a.torture_seconds <= 3600.0) {
        return Err(format!(
            "--torture-seconds: {} must be in (0, 3600]",
            a.torture_seconds
        ));
    }
    let draw = !a.quiet && std::io::stderr().is_terminal();
    let mp = MultiProgress::with_draw_target(if draw {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let mut timings = Vec::new();
    let total = Instant::now();
    let rows = timed(&mut timings, "catalogue", || catalogue(&mp));
    let mutants = timed(&mut timings, "mutants", mutants::run_all);
    let sweeps = timed(&mut timings, "simulations", || sims(&mp, &default_sweeps()))?;
    let threads = timed(&mut timings, "threads engine", || {
        threads(&mp, a.torture_seconds)
    });
    let replay = timed(&mut timings, "replay", || replays(&a.replay))?;
    timings.push(Timing {
        what: "total".into(),
        secs: total.elapsed().as_secs_f64(),
    });
    mp.clear().ok();
    Ok(ReportData {
        rows,
        findings: FindingRow::catalogue(),
        mutants,
        sweeps,
        threads,
        replay,
        timings,
    })
}

/// Writes `files` (relative path, contents) into `dir` atomically: a temporary sibling
/// directory is filled, then renamed into place (an existing `dir` is moved aside first and
/// removed after).
pub fn write_dir(dir: &Path, files: &[(String, String)]) -> Result<(), String> {
    let name = dir
        .file_name()
        .ok_or_else(|| format!("--out {}: names no directory", dir.display()))?
        .to_string_lossy()
        .to_string();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let pid = std::process::id();
    let tmp = parent.join(format!(".{name}.tmp.{pid}"));
    let old = parent.join(format!(".{name}.old.{pid}"));
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    }
    for (rel, text) in files {
        let p = tmp.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).map_err(|e| io(d, e))?;
        }
        std::fs::write(&p, text).map_err(|e| io(&p, e))?;
    }
    let had = dir.exists();
    if had {
        std::fs::rename(dir, &old).map_err(|e| io(dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| io(dir, e))?;
    if had {
        std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
    }
    Ok(())
}

/// The report directory's files for `d`.
pub fn report_files(d: &ReportData, verdict: &str) -> Result<Vec<(String, String)>, String> {
    let charts = lazymm_report::charts::all(d)?;
    let mut files = vec![
        (
            "index.html".to_string(),
            lazymm_report::html::page(d, &charts),
        ),
        ("verdict.txt".to_string(), verdict.to_string()),
        (
            "data.json".to_string(),
            serde_json::to_string_pretty(d).map_err(|e| e.to_string())?,
        ),
    ];
    for c in charts {
        files.push((format!("charts/{}.svg", c.id), c.svg));
    }
    Ok(files)
}

/// `lazymm verdict`: runs the main job, prints the verdict (or the JSON), writes the report.
/// Ok(true) when nothing failed.
pub fn run(a: &VerdictArgs) -> Result<bool, String> {
    let d = collect(a)?;
    let text = lazymm_report::verdict::render(&d);
    write_dir(&a.out, &report_files(&d, &text)?)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&d).map_err(|e| e.to_string())?
        );
    } else {
        print!("{text}");
        println!("report: {}", a.out.join("index.html").display());
    }
    Ok(lazymm_report::verdict::problems(&d).is_empty())
}

#[cfg(test)]
mod tests;
