//! `lazymm replay TRACE`: a recorded Linux scheduler trace driven through every scheme on
//! the sim engine, reporting what lazy-mm handling would have cost on that workload.
//!
//! Two streaming passes per scheme-independent input: a scan (`drivers::replay::scan`: events
//! per kind, tasks, CPU count, duration, tgids recorded, the model tables needed; it also
//! validates every line, so a malformed one is reported before anything runs), then one replay
//! per scheme (`drivers::replay::Replay`), each reading the trace again.
//!
//! Each scheme's **lazy-mm time**, **time share** and **IPIs per exit** are
//! [`lazymm_sim::LazyCost`] (defined in `crates/sim/src/lazy_cost.rs`).

use crate::sim_cmd::{all_variants, find_variant};
use clap::Args;
use lazymm_model::era::Variant;
use lazymm_profile::Profile;
use lazymm_sim::{simulate_with_timeline, LazyCost, SimConfig, SimReport, SimSpec, TimelineOpts};
use lazymm_trace::{Event, Format, ParseError};
use lazymm_workloads::drivers::replay::plan::EventCounts;
use lazymm_workloads::drivers::replay::scan::{scan, Scan};
use lazymm_workloads::drivers::replay::{Replay, ReplayStats};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `lazymm replay` options.
#[derive(Args, Debug, Clone)]
pub struct ReplayArgs {
    /// The trace: ftrace text, `trace-cmd report` or `perf script` output.
    pub trace: PathBuf,
    /// Its format (default: detected from its first lines): ftrace, trace-cmd, perf-script.
    #[arg(long)]
    pub format: Option<String>,
    /// Simulated CPUs (default: the trace's highest CPU + 1; at least that).
    #[arg(long)]
    pub cpus: Option<usize>,
    /// Skip and count malformed lines instead of stopping at the first.
    #[arg(long)]
    pub lenient: bool,
    /// Machine profile (default: this-machine if calibrated, else intel-icx-2s; both x86).
    #[arg(long)]
    pub profile: Option<String>,
    /// A variant or scheme id, or `all` (the clean variant of each scheme).
    #[arg(long, default_value = "all")]
    pub scheme: String,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write a Perfetto trace of each scheme's replay (CPUs' tasks and lazy periods, IPIs and
    /// mm_count transfers as flows, frees): FILE itself for one scheme, else FILE's stem
    /// plus `.<variant>` before its extension, one file per scheme.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Most events per timeline; past it the trace is cut (and says so).
    #[arg(long, default_value_t = TimelineOpts::default().limit, requires = "timeline")]
    pub timeline_limit: usize,
}

/// What a replay runs with.
#[derive(Clone)]
pub struct ReplayOpts {
    /// The trace's format (None: detect).
    pub format: Option<Format>,
    /// Simulated CPUs (None: the trace's).
    pub cpus: Option<usize>,
    /// Skip malformed lines.
    pub lenient: bool,
    /// The machine.
    pub profile: Profile,
    /// The variants to run.
    pub variants: Vec<Variant>,
    /// Write a Perfetto timeline of each replay here (see [`timeline_path`]).
    pub timeline: Option<(PathBuf, TimelineOpts)>,
}

/// Where the timeline of variant `v` goes: `base` itself when only one variant runs, else
/// `base`'s stem, `.` and the variant's name, then `base`'s extension.
pub fn timeline_path(base: &Path, v: &str, only: bool) -> PathBuf {
    if only {
        return base.to_path_buf();
    }
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match base.extension() {
        Some(e) => format!("{stem}.{v}.{}", e.to_string_lossy()),
        None => format!("{stem}.{v}"),
    };
    base.with_file_name(name)
}

/// What the scan pass read.
#[derive(Clone, Debug, Serialize)]
pub struct ParseStats {
    /// The format read.
    pub format: String,
    /// Lines read.
    pub lines: u64,
    /// Malformed lines skipped (`--lenient`).
    pub skipped: u64,
    /// Lines ignored (headers, comments, other tracepoints).
    pub ignored: u64,
    /// Events by kind.
    pub events: EventCounts,
    /// What the scan found (tasks, processes, kthreads, CPUs, duration).
    pub scan: Scan,
    /// Host seconds of the scan pass (parse + task tracking).
    pub secs: f64,
    /// Lines per host second of the scan pass.
    pub lines_per_sec: f64,
}

/// One scheme's replay.
#[derive(Clone, Debug, Serialize)]
pub struct SchemeResult {
    /// The sim's report.
    pub report: SimReport,
    /// The driver's statistics.
    pub replay: ReplayStats,
    /// Lazy-mm time, all CPUs (ns; see the module doc).
    pub lazy_ns: f64,
    /// Lazy-mm time over CPUs × trace duration.
    pub time_share: f64,
    /// IPIs (lazy + flush) per exit played.
    pub ipis_per_exit: f64,
}

/// A replay of one trace under several schemes.
#[derive(Clone, Debug, Serialize)]
pub struct ReplaySummary {
    /// The trace file.
    pub trace: String,
    /// The profile.
    pub profile: String,
    /// Simulated CPUs.
    pub cpus: usize,
    /// Trace duration (ns).
    pub duration_ns: u64,
    /// The scan pass.
    pub parse: ParseStats,
    /// One result per variant.
    pub schemes: Vec<SchemeResult>,
}

fn located(path: &Path, e: ParseError) -> String {
    format!(
        "{}:{}: {}; expected {}: `{}`",
        path.display(),
        e.line,
        e.message,
        e.expected,
        e.text
    )
}

/// Scans the trace, then replays it under every variant of `opts`.
pub fn replay_reports(path: &Path, opts: &ReplayOpts) -> Result<ReplaySummary, String> {
    let t0 = Instant::now();
    let mut p = lazymm_trace::open(path, opts.format, opts.lenient)?;
    let format = p.format();
    let sc = scan((&mut p).map(|r| r.map_err(|e| located(path, e))))?;
    let secs = t0.elapsed().as_secs_f64();
    if sc.total == 0 {
        return Err(format!(
            "{}: no scheduler event in the trace",
            path.display()
        ));
    }
    let cpus = match opts.cpus {
        Some(n) if n < sc.cpus => {
            return Err(format!(
                "--cpus {n}: the trace has events on CPU {}",
                sc.cpus - 1
            ))
        }
        Some(n) if n > 4096 => return Err(format!("--cpus {n}: at most 4096")),
        Some(n) => n,
        None => sc.cpus,
    };
    let parse = ParseStats {
        format: format.to_string(),
        lines: p.lines(),
        skipped: p.skipped(),
        ignored: p.ignored(),
        events: sc.events.clone(),
        scan: sc.clone(),
        secs,
        lines_per_sec: p.lines() as f64 / secs.max(1e-9),
    };
    let schemes = opts
        .variants
        .par_iter()
        .map(|&v| replay_one(path, opts, format, &sc, cpus, v))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(ReplaySummary {
        trace: path.display().to_string(),
        profile: opts.profile.name.clone(),
        cpus,
        duration_ns: sc.duration_ns(),
        parse,
        schemes,
    })
}

fn replay_one(
    path: &Path,
    opts: &ReplayOpts,
    format: Format,
    sc: &Scan,
    cpus: usize,
    v: Variant,
) -> Result<SchemeResult, String> {
    let p = lazymm_trace::open(path, Some(format), opts.lenient)?;
    let owned = path.to_path_buf();
    let events = p.map(move |r| r.map_err(|e| located(&owned, e)));
    let d: Replay<Box<dyn Iterator<Item = Result<Event, String>>>> =
        Replay::new(Box::new(events), cpus, sc.capacity(cpus), sc.has_tgid);
    let stats = d.stats();
    let (report, timeline) = simulate_with_timeline(SimSpec {
        profile: opts.profile.clone(),
        variant: v,
        ncpus: cpus,
        driver: Box::new(d),
        cfg: SimConfig {
            switches: None,
            duration_ns: None,
            warmup_switches: None,
            timeline: opts.timeline.as_ref().map(|t| t.1.clone()),
            ..SimConfig::default()
        },
        knobs: None,
    });
    if let (Some((base, _)), Some(t)) = (&opts.timeline, &timeline) {
        crate::sim_cmd::write_timeline(&timeline_path(base, v.name, opts.variants.len() == 1), t)?;
    }
    let replay = stats.borrow().clone();
    if let Some(e) = &replay.error {
        return Err(e.clone());
    }
    let span = cpus as f64 * sc.duration_ns().max(1) as f64;
    let cost = LazyCost::of(
        &report,
        opts.profile.coherence.fence.get(),
        span,
        replay.exits,
    );
    Ok(SchemeResult {
        lazy_ns: cost.lazy_ns,
        time_share: cost.time_share,
        ipis_per_exit: cost.ipis_per_exit,
        report,
        replay,
    })
}

/// The profile `lazymm replay` uses by default: `this-machine` when it is x86 (traces are
/// recorded on the machine they are replayed for), else `intel-icx-2s`.
pub fn default_profile() -> Result<Profile, String> {
    match lazymm_profile::find("this-machine") {
        Ok(p) if p.arch == "x86" => Ok(p),
        _ => lazymm_profile::find("intel-icx-2s").map_err(|e| e.to_string()),
    }
}

/// `lazymm replay`.
pub fn run(a: &ReplayArgs) -> Result<(), String> {
    let format = a
        .format
        .as_deref()
        .map(str::parse::<Format>)
        .transpose()
        .map_err(|e| format!("--format: {e}"))?;
    if a.cpus == Some(0) {
        return Err("--cpus 0: give at least 1".into());
    }
    let profile = match &a.profile {
        Some(p) => lazymm_profile::find(p).map_err(|e| e.to_string())?,
        None => default_profile()?,
    };
    let variants = if a.scheme == "all" {
        all_variants()
    } else {
        vec![find_variant(&a.scheme)?]
    };
    let opts = ReplayOpts {
        format,
        cpus: a.cpus,
        lenient: a.lenient,
        profile,
        variants,
        timeline: match &a.timeline {
            Some(_) if a.timeline_limit == 0 => {
                return Err("--timeline-limit must be at least 1".into())
            }
            Some(path) => Some((
                path.clone(),
                TimelineOpts {
                    limit: a.timeline_limit,
                    until_ns: None,
                },
            )),
            None => None,
        },
    };
    let s = replay_reports(&a.trace, &opts)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&s).map_err(|e| e.to_string())?
        );
    } else {
        print_summary(&s, a.profile.is_none());
    }
    Ok(())
}

fn print_summary(s: &ReplaySummary, default_profile: bool) {
    let p = &s.parse;
    let e = &p.events;
    println!(
        "{} ({}): {} lines, {} events (switch {}, wakeup {}, fork {}, exec {}, exit {}, free {}, tlb_flush {}), {} ignored, {} skipped; {:.3} s = {:.2} M lines/s",
        s.trace, p.format, p.lines, p.scan.total, e.switch, e.wakeup, e.fork, e.exec, e.exit,
        e.free, e.tlb_flush, p.ignored, p.skipped, p.secs, p.lines_per_sec / 1e6
    );
    println!(
        "  tasks {} (processes {}, kthreads {} of which {} by name), peak live {}, tgids {}; {} CPUs in the trace, {:.3} ms",
        p.scan.tasks, p.scan.processes, p.scan.kthreads, p.scan.kthreads_by_name,
        p.scan.peak_live, if p.scan.has_tgid { "recorded" } else { "not recorded (a forked child is a thread unless it execs)" },
        p.scan.cpus, s.duration_ns as f64 / 1e6
    );
    println!(
        "  replayed on {} CPUs of profile {}{}; lazy-mm time = stalls on mm_count/mm_cpumask/lazy_mm/hp_slot + scheme barriers + IPI time; share = over CPUs × trace duration",
        s.cpus,
        s.profile,
        if default_profile { " (default: x86)" } else { "" }
    );
    println!(
        "{:<17} {:>8} {:>7} {:>8} {:>7} {:>6} {:>6} {:>6} {:>7} {:>7} {:>7} {:>10} {:>10} {:>5} {:>10} {:>8} {:>5} {:>6}",
        "scheme", "ctxsw", "lazysw", "mmcnt", "dropm", "lzIPI", "flIPI", "IPI/x", "smb", "pmb",
        "mmu", "free p50", "free p99", "pend", "lazy µs", "share", "viol", "host s"
    );
    for r in &s.schemes {
        let rep = &r.report;
        if let Some(why) = &rep.infeasible {
            println!("{:<17} infeasible on {}: {why}", rep.scheme, rep.arch);
            continue;
        }
        let c = &rep.counters;
        println!(
            "{:<17} {:>8} {:>7} {:>8} {:>7} {:>6} {:>6} {:>6.2} {:>7} {:>7} {:>7} {:>8.1}µs {:>8.1}µs {:>5} {:>10.1} {:>7.4}% {:>5} {:>6.2}",
            rep.scheme,
            rep.context_switches,
            r.replay.lazy_switches,
            c.mm_count_rmw,
            c.drop_mm_rmw,
            c.lazy_ipis,
            c.flush_ipis,
            r.ipis_per_exit,
            c.scheme_barriers,
            c.path_barriers,
            c.mmu_switches,
            rep.free_latency.p50_ns / 1e3,
            rep.free_latency.p99_ns / 1e3,
            rep.peak_pending_free,
            r.lazy_ns / 1e3,
            r.time_share * 100.0,
            rep.violations.len(),
            rep.host_secs
        );
    }
    if let Some(r) = s.schemes.first() {
        let st = &r.replay;
        println!(
            "  replay: {} steps, {} exits, {} execs, forks {}/{}/{} (process/thread/kthread; {} by the exec rule), {} CPUs placed at start, {} switches the trace lacks inferred ({} out of idle), {} mismatched steps, {} ops not applied, {} creations failed, look-ahead peak {} steps",
            st.steps, st.exits, st.execs, st.forked_processes, st.forked_threads,
            st.forked_kthreads, st.forks_by_exec_rule, st.placed,
            st.inferred_from_idle + st.inferred_other, st.inferred_from_idle,
            st.mismatches, st.not_applied, st.create_failed,
            st.peak_queued
        );
    }
    for r in &s.schemes {
        if let Some(v) = r.report.violations.first() {
            println!(
                "  {}: {} violations{}; first: {v}",
                r.report.scheme,
                r.report.violations.len(),
                if r.report.expected_clean {
                    ""
                } else {
                    " (variant not expected clean on this arch: catalogued findings)"
                }
            );
        }
    }
}
