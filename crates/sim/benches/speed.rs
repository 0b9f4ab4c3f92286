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
                    .map(|_| {
                        simulate(SimSpec {
                            profile: profile.clone(),
                            variant: era::variant(scheme).expect("variant"),
                            ncpus: cpus,
                            driver: Box::new(Ctxsw::new(
                                (cpus / smt).max(1),
                                Bind::Core,
                                cpus,
                                smt,
                            )),
                            cfg: SimConfig {
                                switches: Some(switches),
                                window_ns: w,
                                ..SimConfig::default()
                            },
                            knobs: None,
                        })
                    })
                    .collect();
                runs.sort_by(|a, b| a.host_secs.total_cmp(&b.host_secs));
                let median = runs[runs.len() / 2].switches_per_host_sec;
                let r = &runs[0];
                for x in &runs {
                    assert!(x.violations.is_empty(), "{:?}", x.violations);
                }
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
}
