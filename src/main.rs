//! `lazymm`: run the scenario catalogue, the mutants and random exploration.
//!
//! With no subcommand it runs the main job (`lazymm verdict`, `verdict_cmd`): the catalogue,
//! the mutants, the sweeps, the threads engine; a one-screen verdict and `lazymm-report/`.

#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod calibrate_cmd;
mod record_cmd;
mod replay_cmd;
mod sim_cmd;
mod step_cmds;
mod sweep_cmd;
mod torture_cmd;
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
        /// Run all 30 scenarios (spec §7, four gated windows and a directed preemption).
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
        /// Torture a historical-bug mutant instead (its letter or full name, as `lazymm mutants`
        /// lists them; with its arch and knobs).
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

/// `--arch ARCH` of the step and threads commands: the arch, or the error printed.
fn arch_arg(arch: &str) -> Option<lazymm_model::ArchId> {
    let a = lazymm_model::ArchId::parse(arch);
    if a.is_none() {
        let names: Vec<&str> = lazymm_model::ArchId::ALL.iter().map(|a| a.name()).collect();
        eprintln!(
            "error: --arch: unknown arch {arch:?}; expected one of {}",
            names.join(", ")
        );
    }
    a
}

/// A closed stdout (`lazymm scenario --all | head`) makes `println!` panic, since Rust
/// ignores SIGPIPE. Exit as a C program killed by SIGPIPE would (status 141, what shells
/// report), without a panic message; any other panic keeps the default report.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg = (p.downcast_ref::<String>().map(String::as_str))
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to std") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info)
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
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
        Cmd::Scenario { all, name, json } => step_cmds::scenario(all, name, json),
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
        Cmd::Mutants { json } => step_cmds::mutants(json),
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
        } => torture_cmd::torture_cmd(
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
        } => step_cmds::explore(&scheme, &arch, seed, steps, seeds, cpus),
    }
}
