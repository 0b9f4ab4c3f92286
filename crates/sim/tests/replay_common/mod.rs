//! What the replay tests share: the toy profile and one replay of an `Event` list on the sim
//! engine, with the checks every replay must pass (it completes, the oracle is quiet).

use lazymm_model::era::Variant;
use lazymm_profile::Profile;
use lazymm_sim::{simulate, SimConfig, SimReport, SimSpec, SimStop};
use lazymm_trace::Event;
use lazymm_workloads::drivers::replay::scan::scan;
use lazymm_workloads::drivers::replay::{Replay, ReplayStats};

/// The toy machine (`tests/data/toy-machine.toml`, x86).
pub fn toy() -> Profile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/toy-machine.toml");
    Profile::load(std::path::Path::new(path)).expect("toy profile parses")
}

/// Replays `evs` with `v` on the toy machine, on as many CPUs as the trace has, from time 0
/// (no warm-up) to the end of the trace; None if `v` cannot run on x86. Panics unless the run
/// completes with no violation.
pub fn replay(v: Variant, evs: &[Event]) -> Option<(SimReport, ReplayStats)> {
    let sc = scan(evs.iter().cloned().map(Ok)).expect("scan");
    // The driver owns its input ('static, as the engine's Box<dyn Driver>).
    let owned: Vec<Event> = evs.to_vec();
    let d = Replay::new(
        owned.into_iter().map(Ok),
        sc.cpus,
        sc.capacity(sc.cpus),
        sc.has_tgid,
    );
    let stats = d.stats();
    let r = simulate(SimSpec {
        profile: toy(),
        variant: v,
        ncpus: sc.cpus,
        driver: Box::new(d),
        cfg: SimConfig {
            switches: None,
            duration_ns: None,
            warmup_switches: None,
            ..SimConfig::default()
        },
        knobs: None,
    });
    if r.infeasible.is_some() {
        return None;
    }
    assert_eq!(r.stop, SimStop::Completed, "{}", v.name);
    assert!(r.violations.is_empty(), "{}: {:?}", v.name, r.violations);
    let st = stats.borrow().clone();
    Some((r, st))
}
