//! The step engine's commands: `scenario`, `mutants`, `explore`.

use lazymm_model::{ArchId, SchemeId};
use lazymm_workloads::run::Row;
use lazymm_workloads::{explore, mutants, scenarios};
use std::process::ExitCode;

/// `lazymm scenario`: the catalogue on the step engine, as a table or JSON.
pub fn scenario(all: bool, name: Option<String>, json: bool) -> ExitCode {
    let rows = if let Some(n) = name {
        let Some(s) = scenarios::find(&n) else {
            eprintln!("error: --name: unknown scenario {n:?} (use a number 1-30 or a name from `lazymm scenario --all`)");
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

/// `lazymm mutants`: every historical-bug mutant and its clean control.
pub fn mutants(json: bool) -> ExitCode {
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

/// `lazymm explore`: random interleavings on the step engine, seed by seed.
pub fn explore(
    scheme: &str,
    arch: &str,
    seed: u64,
    steps: usize,
    seeds: u64,
    cpus: usize,
) -> ExitCode {
    let Some(s) = SchemeId::parse(scheme) else {
        eprintln!("error: --scheme: unknown scheme {scheme:?}; expected one of refcount, shootdown, shootdown-ppc, mmput-flush, hazard, hazard-x86, hazard-md");
        return ExitCode::from(2);
    };
    let Some(a) = crate::arch_arg(arch) else {
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

/// Prints scenario rows as a table, violations under their row.
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
