//! `lazymm`: run the scenario catalogue, the mutants and random exploration.
//!
//! With no subcommand it runs the main job: the whole scenario catalogue, printed as a table.

#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use lazymm_model::{ArchId, SchemeId};
use lazymm_workloads::run::Row;
use lazymm_workloads::{explore, mutants, scenarios};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lazymm",
    version,
    about = "Lazy-TLB mm reference schemes: model, oracle, measurements"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run spec §7 scenarios for every scheme × arch.
    Scenario {
        /// Run all 25 scenarios.
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
        "{:<27} {:<13} {:<9} {:>4} {:>5} {:>5} {:>5} {:>5} {:>4} {:>4}  freed at / note",
        "scenario", "scheme", "arch", "viol", "lzIPI", "flIPI", "mmcnt", "dropm", "mb", "scan"
    );
    for r in rows {
        if let Some(why) = &r.infeasible {
            let short: String = why.chars().take(60).collect();
            println!(
                "{:<27} {:<13} {:<9} {:>4}  infeasible: {short}…",
                r.scenario, r.scheme, r.arch, "-"
            );
            continue;
        }
        println!(
            "{:<27} {:<13} {:<9} {:>4} {:>5} {:>5} {:>5} {:>5} {:>4} {:>4}  {}",
            r.scenario,
            r.scheme,
            r.arch,
            r.violations.len(),
            r.lazy_ipis,
            r.flush_ipis,
            r.mm_count_rmw,
            r.drop_mm_rmw,
            r.barriers,
            r.scan_loads,
            r.freed_at
        );
        for v in &r.violations {
            println!("    ! {v}");
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd.unwrap_or(Cmd::Scenario {
        all: true,
        name: None,
        json: false,
    }) {
        Cmd::Scenario { all, name, json } => {
            let rows = if let Some(n) = name {
                let Some(s) = scenarios::find(&n) else {
                    eprintln!("error: --name: unknown scenario {n:?} (use a number 1-25 or a name from `lazymm scenario --all`)");
                    return ExitCode::from(2);
                };
                let mut rows = vec![];
                for scheme in SchemeId::ALL {
                    for arch in ArchId::ALL {
                        rows.push(scenarios::run_scenario(&s, scheme, arch).row);
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
        Cmd::Mutants { json } => {
            let res = mutants::run_all();
            if json {
                println!("{}", serde_json::to_string_pretty(&res).expect("serialise"));
            } else {
                for r in &res {
                    println!(
                        "{:<42} {:<7} {:<26} {}",
                        r.mutant,
                        if r.caught { "CAUGHT" } else { "MISSED" },
                        r.scenario,
                        r.violation.as_deref().unwrap_or("-")
                    );
                    if !r.correct_violations.is_empty() {
                        println!("    correct scheme also failed: {:?}", r.correct_violations);
                    }
                }
            }
            if res
                .iter()
                .all(|r| r.caught && r.correct_violations.is_empty())
            {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
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
