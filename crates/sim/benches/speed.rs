//! Speed of the simulator itself (issue: "simulator speed"): host time, simulated context
//! switches and engine steps per host second, and peak host memory, for `ctxsw` at 1, 64 and
//! 1024 CPUs under R and S on the `intel-icx-2s` profile.
//!
//! `cargo bench -p lazymm-sim --bench speed` (add `-- --switches N` to change the length,
//! `-- --window W` for the relaxed-causality window in ns used by the second set of rows;
//! default 2000; `-- --repeat N` runs each configuration N times, default 5). Each
//! configuration runs exact (window 0), then with the window. Host time is the best of the
//! repeats (the median beside it): on a shared VM the spread between runs of the same
//! configuration reaches 30%. Not a criterion benchmark: one run is long enough (≥ 10^5
//! simulated switches) that the spread is the host's, and the figures wanted are rates.
//!
//! A second table holds the workload fixed — 32 task pairs, so 64 busy CPUs — and grows
//! only the machine: 64, 1024 and 4096 CPUs. Its host time per switch is differenced
//! between runs of N and 2N switches, so that what grows with the CPU count once per run
//! (boot, each CPU's warm-up switches, the quiesce) cancels and what is left is the cost
//! per simulated switch. The first table grows both: one pair per core, as will-it-scale
//! runs it; there the host time per switch also grows with the busy CPUs' state, which
//! outgrows the host's caches (docs/simulator.md, "Speed of the simulator").

use lazymm_model::era;
use lazymm_sim::{simulate, SimConfig, SimSpec};
use lazymm_workloads::drivers::{Bind, Ctxsw};

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The value after `name` on the command line, or `default`.
fn opt<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// One `ctxsw` run of `pairs` task pairs on `cpus` CPUs.
fn run(
    profile: &lazymm_profile::Profile,
    scheme: &str,
    cpus: usize,
    pairs: usize,
    switches: u64,
    window_ns: f64,
) -> lazymm_sim::SimReport {
    let smt = profile.topology.smt.get() as usize;
    let r = simulate(SimSpec {
        profile: profile.clone(),
        variant: era::variant(scheme).expect("variant"),
        ncpus: cpus,
        driver: Box::new(Ctxsw::new(pairs, Bind::Core, cpus, smt)),
        cfg: SimConfig {
            switches: Some(switches),
            window_ns,
            ..SimConfig::default()
        },
        knobs: None,
    });
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    r
}

/// The best host time of `repeat` runs.
fn best_secs(repeat: usize, f: impl Fn() -> lazymm_sim::SimReport) -> f64 {
    (0..repeat)
        .map(|_| f().host_secs)
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let switches: u64 = opt(&args, "--switches", 300_000);
    let window: f64 = opt(&args, "--window", 2_000.0);
    let repeat: usize = opt(&args, "--repeat", 5usize).max(1);
    let profile = lazymm_profile::find("intel-icx-2s").expect("built-in profile");
    let smt = profile.topology.smt.get() as usize;
    println!(
        "{:<10} {:>7} {:>6} {:>10} {:>9} {:>15} {:>15} {:>14} {:>13} {:>14}",
        "scheme",
        "window",
        "cpus",
        "switches",
        "host s",
        "switches/host-s",
        "(median)",
        "steps/host-s",
        "host ns/switch",
        "peak RSS KiB"
    );
    for w in [0.0, window] {
        for scheme in ["refcount", "shootdown"] {
            for cpus in [1usize, 64, 1024] {
                let mut runs: Vec<_> = (0..repeat)
                    .map(|_| run(&profile, scheme, cpus, (cpus / smt).max(1), switches, w))
                    .collect();
                runs.sort_by(|a, b| a.host_secs.total_cmp(&b.host_secs));
                let median = runs[runs.len() / 2].switches_per_host_sec;
                let r = &runs[0];
                println!(
                    "{:<10} {:>7} {:>6} {:>10} {:>9.3} {:>15.0} {:>15.0} {:>14.0} {:>13.0} {:>14}",
                    scheme,
                    w,
                    cpus,
                    r.context_switches,
                    r.host_secs,
                    r.switches_per_host_sec,
                    median,
                    r.resumes as f64 / r.host_secs,
                    r.host_secs * 1e9 / r.context_switches as f64,
                    peak_rss_kib().map_or("?".into(), |k| k.to_string())
                );
            }
        }
    }
    println!();
    println!(
        "fixed workload: 32 task pairs (64 busy CPUs); host ns per switch differenced between {} and {} switches",
        switches,
        2 * switches
    );
    println!(
        "{:<10} {:>7} {:>12} {:>12} {:>12}",
        "scheme", "window", "64 CPUs", "1024 CPUs", "4096 CPUs"
    );
    for w in [0.0, window] {
        for scheme in ["refcount", "shootdown"] {
            let ns: Vec<f64> = [64usize, 1024, 4096]
                .into_iter()
                .map(|cpus| {
                    let short = best_secs(repeat, || run(&profile, scheme, cpus, 32, switches, w));
                    let long =
                        best_secs(repeat, || run(&profile, scheme, cpus, 32, 2 * switches, w));
                    (long - short) * 1e9 / switches as f64
                })
                .collect();
            println!(
                "{:<10} {:>7} {:>12.0} {:>12.0} {:>12.0}",
                scheme, w, ns[0], ns[1], ns[2]
            );
        }
    }
}
