//! `lazymm calibrate`: measure this machine, write its profile, and check the simulator
//! against the real kernel on the same context-switch workload.

use crate::sim_cmd::Point;
use clap::Args;
use lazymm_calibrate::{calibrate, real_ctxsw, write_atomically, Options};
use lazymm_sim::SimConfig;
use lazymm_workloads::drivers::Bind;
use std::path::PathBuf;

/// `lazymm calibrate` options.
#[derive(Args, Debug, Clone)]
pub struct CalibrateArgs {
    /// Where to write the profile.
    #[arg(long, short = 'o', default_value = "profiles/this-machine.toml")]
    pub out: PathBuf,
    /// Fewer samples (noisier; for a quick look).
    #[arg(long)]
    pub quick: bool,
    /// Seconds per real ping-pong configuration.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Skip the real-vs-simulated comparison.
    #[arg(long)]
    pub no_compare: bool,
}

/// `lazymm calibrate`.
pub fn run(a: &CalibrateArgs) -> Result<(), String> {
    if !(a.seconds.is_finite() && a.seconds > 0.0) {
        return Err(format!("--seconds {}: must be positive", a.seconds));
    }
    eprintln!("calibrating (the machine should be otherwise idle)…");
    let cal = calibrate(&Options {
        quick: a.quick,
        cpus: None,
    })
    .map_err(|e| e.to_string())?;
    for m in cal.measurements() {
        println!("{m}");
    }
    if let Some(spread) = cal.same_cpu_spread() {
        println!("ctxsw_pinned_same_cpu by CPU: {spread}");
    }
    let cmd = format!("lazymm calibrate{}", if a.quick { " --quick" } else { "" });
    let profile = cal.to_profile(&cmd);
    write_atomically(&a.out, &profile.to_toml())
        .map_err(|e| format!("{}: {e}", a.out.display()))?;
    println!("wrote {}", a.out.display());
    if a.no_compare {
        return Ok(());
    }
    // The same workload on the real kernel and on the simulator with this profile and R
    // (this kernel's scheme: x86 mainline selects neither shoot-lazies nor hazard pointers).
    // The real pairs run on this process's allowed CPUs only (`taskset`), so the simulated
    // machine has as many: a 16-CPU profile simulated under an 8-CPU mask would compare 16
    // simulated CPUs with 8 real ones.
    let allowed = lazymm_calibrate::allowed_cpus()
        .map_err(|e| e.to_string())?
        .len();
    let ncpus = profile.cpus().min(allowed).max(1);
    let variant = crate::sim_cmd::find_variant("refcount")?;
    let of = if ncpus < profile.cpus() {
        format!(" of the machine's {}: the affinity mask", profile.cpus())
    } else {
        String::new()
    };
    println!(
        "\nctxsw (will-it-scale context_switch1_threads shape), real kernel vs lazymm sim ({ncpus} CPUs{of}, refcount):"
    );
    println!(
        "{:>5} {:>5} {:>16} {:>16} {:>8}",
        "pairs", "bind", "real switch/s", "sim switch/s", "sim/real"
    );
    for (pairs, bind) in compare_points(ncpus) {
        let real_bind = match bind {
            Bind::Pu => lazymm_calibrate::Bind::Pu,
            Bind::Core => lazymm_calibrate::Bind::Core,
        };
        let real = real_ctxsw(pairs, real_bind, a.seconds).map_err(|e| e.to_string())?;
        let sim = Point {
            workload: "ctxsw".into(),
            variant,
            profile: profile.clone(),
            cpus: ncpus,
            threads: pairs,
            bind,
            cfg: SimConfig {
                switches: Some(200_000),
                warmup_switches: Some(crate::sim_cmd::default_warmup(ncpus)),
                ..SimConfig::default()
            },
            seed: 0,
        }
        .run()?;
        println!(
            "{:>5} {:>5} {:>16.0} {:>16.0} {:>8.2}",
            pairs,
            bind.name(),
            real.switches_per_sec,
            sim.switches_per_sec,
            sim.switches_per_sec / real.switches_per_sec
        );
    }
    Ok(())
}

/// The (pairs, bind) points compared: one pair on one PU and on one core, then pairs on PUs
/// doubling up to one per CPU (every CPU ping-ponging, as will-it-scale's `-t` = CPUs), then
/// twice that (oversubscribed: two pairs per CPU, switches thread → thread). On 2 CPUs this
/// is 1, 1 (core), 2, 4.
fn compare_points(ncpus: usize) -> Vec<(usize, Bind)> {
    let mut v = vec![(1, Bind::Pu), (1, Bind::Core)];
    let mut p = 2;
    while p < ncpus {
        v.push((p, Bind::Pu));
        p *= 2;
    }
    v.push((ncpus.max(2), Bind::Pu));
    v.push((2 * ncpus.max(2), Bind::Pu));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_points_reach_every_cpu_then_oversubscribe() {
        let pairs = |n| {
            compare_points(n)
                .into_iter()
                .map(|(p, _)| p)
                .collect::<Vec<_>>()
        };
        assert_eq!(pairs(1), [1, 1, 2, 4]);
        assert_eq!(pairs(2), [1, 1, 2, 4]);
        assert_eq!(pairs(16), [1, 1, 2, 4, 8, 16, 32]);
        assert_eq!(pairs(12), [1, 1, 2, 4, 8, 12, 24]);
        assert_eq!(compare_points(16)[1].1, Bind::Core);
    }
}
