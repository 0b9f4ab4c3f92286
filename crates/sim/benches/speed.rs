//! Speed of the simulator itself (issue: "simulator speed"): host time, simulated context
//! switches and engine steps per host second, and peak host memory, for `ctxsw` at 1, 64 and
//! 1024 CPUs under R and S on the `intel-icx-2s` profile.
//!
//! `cargo bench -p lazymm-sim --bench speed` (add `-- --switches N` to change the length,
//! `-- --window W` for the relaxed-causality window in ns used by the second set of rows;
//! default 2000). Each configuration runs exact (window 0), then with the window.
//! Not a criterion benchmark: one run of each configuration is long enough (≥ 10^5
//! simulated switches) to be stable, and the figures wanted are rates, not nanoseconds per
//! iteration.

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let switches: u64 = args
        .iter()
        .position(|a| a == "--switches")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(300_000);
    let window: f64 = args
        .iter()
        .position(|a| a == "--window")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000.0);
    let profile = lazymm_profile::find("intel-icx-2s").expect("built-in profile");
    let smt = profile.topology.smt.get() as usize;
    println!(
        "{:<10} {:>7} {:>6} {:>10} {:>9} {:>14} {:>14} {:>13} {:>14}",
        "scheme",
        "window",
        "cpus",
        "switches",
        "host s",
        "switches/host-s",
        "steps/host-s",
        "host ns/switch",
        "peak RSS KiB"
    );
    for w in [0.0, window] {
        for scheme in ["refcount", "shootdown"] {
            for cpus in [1usize, 64, 1024] {
                let r = simulate(SimSpec {
                    profile: profile.clone(),
                    variant: era::variant(scheme).expect("variant"),
                    ncpus: cpus,
                    driver: Box::new(Ctxsw::new((cpus / smt).max(1), Bind::Core, cpus, smt)),
                    cfg: SimConfig {
                        switches: Some(switches),
                        window_ns: w,
                        ..SimConfig::default()
                    },
                    knobs: None,
                });
                assert!(r.violations.is_empty(), "{:?}", r.violations);
                println!(
                    "{:<10} {:>7} {:>6} {:>10} {:>9.3} {:>14.0} {:>14.0} {:>13.0} {:>14}",
                    scheme,
                    w,
                    cpus,
                    r.context_switches,
                    r.host_secs,
                    r.switches_per_host_sec,
                    r.resumes as f64 / r.host_secs,
                    r.host_secs * 1e9 / r.context_switches as f64,
                    peak_rss_kib().map_or("?".into(), |k| k.to_string())
                );
            }
        }
    }
}
