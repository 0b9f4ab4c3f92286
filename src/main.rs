//! `lazymm`: run the scenario catalogue, the mutants and random exploration.
//!
//! With no subcommand it runs the main job (`lazymm verdict`, `verdict_cmd`): the catalogue,
//! the mutants, the sweeps, the threads engine; a one-screen verdict and `lazymm-report/`.

#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use lazymm_model::{ArchId, SchemeId};
use lazymm_workloads::run::Row;
use lazymm_workloads::{explore, mutants, scenarios};
use std::process::ExitCode;

mod calibrate_cmd;
mod record_cmd;
mod replay_cmd;
mod sim_cmd;
mod sweep_cmd;
mod verdict_cmd;

#[derive(Parser)]
#[command(
    name = "lazymm",
    version,
    about = "Lazy-TLB mm reference schemes: model, oracle, measurements",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// With no subcommand: the main job's options (`lazymm verdict`).
    #[command(flatten)]
    verdict: verdict_cmd::VerdictArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run spec §7 scenarios for every scheme × arch.
    Scenario {
        /// Run all 28 scenarios (spec §7 and three gated windows).
        #[arg(long)]
        all: bool,
        /// Run one scenario (name or number).
        #[arg(long, conflicts_with = "all")]
        name: Option<String>,
        /// Print a JSON array, one object per row.
        #[arg(long)]
        json: bool,
    },
    /// Run each historical-bug mutant and report whether the oracle caught it.
    Mutants {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Run the random workload on real OS threads (one per model CPU) for a wall-clock time.
    Torture {
        /// Engine (only `threads`; scenarios and exploration use the step engine).
        #[arg(long, default_value = "threads")]
        engine: String,
        /// Scheme id, or `all` for each scheme in turn.
        #[arg(long, default_value = "all")]
        scheme: String,
        /// Arch id. A scheme that cannot run on it runs on its first feasible arch instead
        /// (said in the output).
        #[arg(long, default_value = "x86")]
        arch: String,
        /// Model CPUs (OS threads); more than host cores is fine.
        #[arg(long, default_value_t = 4)]
        cpus: usize,
        /// Seconds per scheme.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Seed of the workload, preemption and NMI injection.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// NMIs per second over all CPUs.
        #[arg(long, default_value_t = 2000.0)]
        nmi_rate: f64,
        /// Per-point probability that a model CPU's thread sleeps 200 µs (a preempted vCPU),
        /// widening race windows.
        #[arg(long, default_value_t = 1e-4)]
        vcpu_preempt: f64,
        /// Torture a historical-bug mutant instead (its letter a-k or full name, with its arch
        /// and knobs).
        #[arg(long, conflicts_with = "scheme")]
        mutant: Option<String>,
        /// Print a JSON array of reports.
        #[arg(long)]
        json: bool,
    },
    /// Simulate a workload on a profiled many-CPU machine (virtual time, coherence and IPI
    /// costs priced by the profile) and report throughput and per-switch cost by cause.
    Sim(sim_cmd::SimArgs),
    /// Run a grid of simulations (workloads × profiles × schemes × CPU counts × threads) in
    /// parallel; write STEM.json and STEM.csv.
    Sweep(sweep_cmd::SweepArgs),
    /// Replay a Linux scheduler trace (ftrace, trace-cmd report, perf script) through every
    /// scheme on the simulated machine and report what lazy-mm handling would have cost.
    Replay(replay_cmd::ReplayArgs),
    /// Measure this machine (cache-line transfer, RMW, fence, membarrier IPI, context
    /// switch), write profiles/this-machine.toml, and compare the real kernel's ctxsw
    /// throughput with the simulator's on that profile.
    Calibrate(calibrate_cmd::CalibrateArgs),
    /// Record a real scheduler trace with ftrace (as root): run CMD (after `--`), or wait
    /// `--seconds` or until Ctrl-C, streaming the kernel's trace text to FILE; tracefs is
    /// restored exactly afterwards.
    Record(record_cmd::RecordArgs),
    /// The main job (also `lazymm` with no subcommand): catalogue, mutants, sweeps, threads
    /// engine; prints a one-screen verdict and writes lazymm-report/index.html.
    Verdict(verdict_cmd::VerdictArgs),
    /// Random exploration of one scheme × arch.
    Explore {
        /// Scheme id (refcount, shootdown, shootdown-ppc, mmput-flush, hazard, hazard-x86, hazard-md).
        #[arg(long)]
        scheme: String,
        /// Arch id (x86, ppc-radix, ppc-hash, arm64).
        #[arg(long)]
        arch: String,
        /// First seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Ops per CPU.
        #[arg(long, default_value_t = 40)]
        steps: usize,
        /// Number of consecutive seeds.
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// CPUs.
        #[arg(long, default_value_t = 4)]
        cpus: usize,
    },
}

fn table(rows: &[Row]) {
    println!(
        "{:<27} {:<17} {:<9} {:<9} {:>4} {:>5} {:>5} {:>5} {:>5} {:>4} {:>4} {:>4} {:>4}  freed at / note",
        "scenario", "scheme", "era", "arch", "viol", "lzIPI", "flIPI", "mmcnt", "dropm", "smb", "pmb", "scan", "mmu"
    );
    for r in rows {
        if let Some(why) = &r.infeasible {
            let short: String = why.chars().take(60).collect();
            println!(
                "{:<27} {:<17} {:<9} {:<9} {:>4}  infeasible: {short}…",
                r.scenario, r.scheme, r.era, r.arch, "-"
            );
            continue;
        }
        println!(
            "{:<27} {:<17} {:<9} {:<9} {:>4} {:>5} {:>5} {:>5} {:>5} {:>4} {:>4} {:>4} {:>4}  {}",
            r.scenario,
            r.scheme,
            r.era,
            r.arch,
            r.violations.len(),
            r.lazy_ipis,
            r.flush_ipis,
            r.mm_count_rmw,
            r.drop_mm_rmw,
            r.scheme_barriers,
            r.path_barriers,
            r.scan_loads,
            r.mmu_switches,
            r.freed_at
        );
        for v in &r.violations {
            println!("    ! {v}");
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd.unwrap_or(Cmd::Verdict(cli.verdict)) {
        Cmd::Verdict(a) => match verdict_cmd::run(&a) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Cmd::Scenario { all, name, json } => {
            let rows = if let Some(n) = name {
                let Some(s) = scenarios::find(&n) else {
                    eprintln!("error: --name: unknown scenario {n:?} (use a number 1-25 or a name from `lazymm scenario --all`)");
                    return ExitCode::from(2);
                };
                let mut rows = vec![];
                for v in lazymm_model::era::variants() {
                    for arch in ArchId::ALL {
                        rows.push(scenarios::run_variant(&s, &v, arch).row);
                    }
                }
                rows
            } else if all {
                scenarios::all_rows()
            } else {
                eprintln!("error: scenario: give --all or --name NAME");
                return ExitCode::from(2);
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).expect("rows serialise")
                );
            } else {
                table(&rows);
            }
            ExitCode::SUCCESS
        }
        Cmd::Sim(a) => match sim_cmd::sim(&a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Cmd::Replay(a) => match replay_cmd::run(&a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Cmd::Calibrate(a) => match calibrate_cmd::run(&a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Cmd::Record(a) => record_cmd::main(&a),
        Cmd::Sweep(a) => match sweep_cmd::sweep(&a) {
            Ok(reps) => {
                let viol = |clean: bool| {
                    reps.iter()
                        .filter(|r| r.expected_clean == clean && !r.violations.is_empty())
                        .count()
                };
                let (bad, findings) = (viol(true), viol(false));
                eprintln!(
                    "{} points; wrote {}.json and {}.csv; {} with violations; {} more of a \
                     variant not expected clean on its arch (catalogued findings)",
                    reps.len(),
                    a.out.display(),
                    a.out.display(),
                    bad,
                    findings
                );
                if bad == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Cmd::Mutants { json } => {
            let res = mutants::run_all();
            if json {
                println!("{}", serde_json::to_string_pretty(&res).expect("serialise"));
            } else {
                for r in &res {
                    println!(
                        "{:<42} {:<7} {:<26} {:<19} {}",
                        r.mutant,
                        if r.caught { "CAUGHT" } else { "MISSED" },
                        r.scenario,
                        r.expected_kind,
                        r.violation.as_deref().unwrap_or("-")
                    );
                    if !r.control_clean {
                        println!(
                            "    the clean variant shows the same bug: {:?}",
                            r.correct_violations
                        );
                    }
                }
            }
            if res.iter().all(|r| r.caught && r.control_clean) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Cmd::Torture {
            engine,
            scheme,
            arch,
            cpus,
            seconds,
            seed,
            nmi_rate,
            vcpu_preempt,
            mutant,
            json,
        } => torture_cmd(
            &engine,
            &scheme,
            &arch,
            cpus,
            seconds,
            seed,
            (nmi_rate, vcpu_preempt),
            mutant,
            json,
        ),
        Cmd::Explore {
            scheme,
            arch,
            seed,
            steps,
            seeds,
            cpus,
        } => {
            let Some(s) = SchemeId::parse(&scheme) else {
                eprintln!("error: --scheme: unknown scheme {scheme:?}; expected one of refcount, shootdown, shootdown-ppc, mmput-flush, hazard, hazard-x86, hazard-md");
                return ExitCode::from(2);
            };
            let Some(a) = ArchId::parse(&arch) else {
                eprintln!("error: --arch: unknown arch {arch:?}; expected one of x86, ppc-radix, ppc-hash, arm64");
                return ExitCode::from(2);
            };
            if !(2..=64).contains(&cpus) {
                eprintln!("error: --cpus: {cpus} is out of range 2..=64");
                return ExitCode::from(2);
            }
            if let Some(why) = s.build().infeasible(&lazymm_model::Arch::profile(a)) {
                eprintln!("error: {scheme} cannot run on {arch}: {why}");
                return ExitCode::from(2);
            }
            let mut bad = 0;
            for sd in seed..seed + seeds {
                let o = explore::explore(
                    s,
                    a,
                    &explore::ExploreConfig {
                        ncpus: cpus,
                        steps,
                        seed: sd,
                    },
                );
                if !o.row.violations.is_empty() {
                    bad += 1;
                    println!("seed {sd}: {} violation(s)", o.row.violations.len());
                    for v in &o.row.violations {
                        println!("    ! {v}");
                    }
                    println!("    replay: lazymm explore --scheme {scheme} --arch {arch} --seed {sd} --steps {steps} --cpus {cpus}");
                } else if seeds == 1 {
                    println!(
                        "seed {sd}: ok ({} engine steps) {:?}",
                        o.result.steps, o.counters
                    );
                }
            }
            println!("{scheme}/{arch}: {seeds} seed(s), {bad} with violations");
            if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn torture_cmd(
    engine: &str,
    scheme: &str,
    arch: &str,
    cpus: usize,
    seconds: f64,
    seed: u64,
    (nmi_rate, vcpu_preempt): (f64, f64),
    mutant: Option<String>,
    json: bool,
) -> ExitCode {
    use lazymm_workloads::torture::{torture, TortureConfig};
    if engine != "threads" {
        eprintln!("error: --engine: unknown engine {engine:?}; torture runs on `threads`");
        return ExitCode::from(2);
    }
    let Some(a) = ArchId::parse(arch) else {
        eprintln!(
            "error: --arch: unknown arch {arch:?}; expected one of x86, ppc-radix, ppc-hash, arm64"
        );
        return ExitCode::from(2);
    };
    if !(1..=1024).contains(&cpus) {
        eprintln!("error: --cpus: {cpus} is out of range 1..=1024");
        return ExitCode::from(2);
    }
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
        eprintln!("error: --seconds: {seconds} must be in (0, 86400]");
        return ExitCode::from(2);
    }
    if !(0.0..=1.0).contains(&vcpu_preempt) {
        eprintln!("error: --vcpu-preempt: {vcpu_preempt} must be a probability in [0, 1]");
        return ExitCode::from(2);
    }
    if !(nmi_rate.is_finite() && nmi_rate >= 0.0) {
        eprintln!("error: --nmi-rate: {nmi_rate} must be a non-negative number");
        return ExitCode::from(2);
    }
    let cfg = TortureConfig {
        ncpus: cpus,
        duration: std::time::Duration::from_secs_f64(seconds),
        seed,
        nmi_per_sec: nmi_rate,
        jitter: 0.01,
        max_ops_per_cpu: None,
        vcpu_preempt,
    };
    // (scheme, arch, knobs, note, row name: the variant's or the mutant's)
    type Job = (
        Box<dyn lazymm_model::Scheme>,
        ArchId,
        lazymm_model::Knobs,
        String,
        String,
    );
    let mut jobs: Vec<Job> = Vec::new();
    if let Some(m) = mutant {
        let all = mutants::all();
        let Some(mu) = all
            .iter()
            .find(|x| x.name == m || x.name.split('-').next() == Some(m.as_str()))
        else {
            let names: Vec<_> = all.iter().map(|x| x.name).collect();
            eprintln!(
                "error: --mutant: unknown mutant {m:?}; expected a letter a-k or one of {names:?}"
            );
            return ExitCode::from(2);
        };
        jobs.push((
            mu.build(),
            mu.arch,
            mu.knob_set(),
            format!("mutant {}", mu.name),
            mu.name.to_string(),
        ));
    } else {
        let ids: Vec<SchemeId> = if scheme == "all" {
            SchemeId::ALL.to_vec()
        } else {
            match SchemeId::parse(scheme) {
                Some(s) => vec![s],
                None => {
                    eprintln!("error: --scheme: unknown scheme {scheme:?}; expected all or one of refcount, shootdown, shootdown-ppc, mmput-flush, hazard, hazard-x86, hazard-md");
                    return ExitCode::from(2);
                }
            }
        };
        for id in ids {
            let v = lazymm_model::era::clean_variant(id);
            let s = v.build();
            let run_on = std::iter::once(a)
                .chain(ArchId::ALL)
                .find(|x| {
                    s.infeasible(&lazymm_model::Arch::profile(*x)).is_none() && v.clean_on(*x)
                })
                .expect("every scheme runs somewhere");
            let note = if run_on == a {
                String::new()
            } else {
                let why = if s.infeasible(&lazymm_model::Arch::profile(a)).is_some() {
                    "cannot run on"
                } else {
                    "is not a clean variant (never ported there: a catalogue finding) on"
                };
                format!("{} {why} {}; ran on {}", v.name, a.name(), run_on.name())
            };
            jobs.push((s, run_on, v.knobs(run_on), note, v.name.to_string()));
        }
    }
    let mut reports = Vec::new();
    let mut bad = false;
    for (s, on, knobs, note, name) in jobs {
        if !json && !note.is_empty() {
            println!("# {note}");
        }
        let mut r = torture(s, on, knobs, &cfg);
        r.scheme = name;
        bad |= !r.violations.is_empty() || r.deadlock;
        if !json {
            println!(
                "{:<28} {:<9} cpus {:<3} {:>10.0} ops/s  ({} ops in {:.1} s, {} NMIs)  violations {}",
                r.scheme,
                r.arch,
                r.cpus,
                r.ops_per_sec,
                r.ops,
                r.seconds,
                r.nmis,
                r.violations.len() as u64 + r.violations_dropped
            );
            let c = &r.counters;
            println!(
                "    lazy IPIs {}  flush IPIs {}  mm_count RMWs {}  drop_mm RMWs {}  smp_mb scheme {} path {}  scan loads {}  MMU switches {}",
                c.lazy_ipis, c.flush_ipis, c.mm_count_rmw, c.drop_mm_rmw, c.scheme_barriers, c.path_barriers, c.scan_loads, c.mmu_switches
            );
            for v in r.violations.iter().take(5) {
                println!("    ! {v}");
            }
            let more = (r.violations.len() as u64 + r.violations_dropped).saturating_sub(5);
            if more > 0 {
                println!("    ! ... {more} more");
            }
        }
        reports.push(r);
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).expect("serialise")
        );
    }
    if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
