//! The sim engine under the ctxsw workload on the toy profile (tests/data/toy-machine.toml),
//! whose local access, RMW and transfer-free paths cost 0, so that every time below is a sum
//! of the profile's event prices: context switch 500 ns, wakeup 150, syscall 100, MMU switch
//! (PCID) 40.

use lazymm_model::era;
use lazymm_profile::Profile;
use lazymm_sim::{simulate, SimConfig, SimReport, SimSpec, SimStop};
use lazymm_workloads::drivers::{Bind, Ctxsw};

fn toy() -> Profile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/toy-machine.toml");
    Profile::load(std::path::Path::new(path)).expect("toy profile parses")
}

fn run(variant: &str, cpus: usize, pairs: usize, bind: Bind, cfg: SimConfig) -> SimReport {
    simulate(SimSpec {
        profile: toy(),
        variant: era::variant(variant).expect("variant"),
        ncpus: cpus,
        driver: Box::new(Ctxsw::new(pairs, bind, cpus, 2)),
        cfg,
        knobs: None,
    })
}

/// One pair on one PU: every switch is thread → thread of one mm, so no lazy-mm work at all.
/// Timeline (kernel/sched, fs/pipe.c as modelled in wake.rs):
/// ```text
///  idle → parent: MMU switch (init_mm → mm) 40 + context switch 500 = 540;
///  round trip 1: parent write 100 (child not yet blocked: no wakeup), parent read 100
///    (blocks) → switch 500 → child read 100 (a byte is there), child write 100 + wakeup 150
///    (parent), child read 100 (blocks) → switch 500: parent's read completes at 540 + 1650 =
///    2190;
///  each later round trip: parent write 100 + wakeup 150, read 100, switch 500, child write
///    100 + wakeup 150, read 100, switch 500 = 1700 ns.
/// ```
/// Barriers (the toy's fence: 30 ns) add to the first switch only, idle → parent, the one
/// kernel → user switch: `switch_mm_cid()`'s `smp_mb()` on the v6.4+ bases (mainline, MD's
/// v6.11.1; not H's v5.16), and the scheme's membarrier `smp_mb()` in `mmdrop_lazy_tlb`
/// (S, MD; R's `mmdrop` is an RMW, at 0 here). So the 10th round trip completes by
/// 2190 + 9 × 1700 + 60 = 17550 ns, and the 11th one's first write cannot complete before
/// 17490 + 100 (H). Stopping at 17490 + 70 ns: 10 round trips, 1 + 2 × 10 context switches.
#[test]
fn ctxsw_one_pu_times_are_the_sum_of_event_prices() {
    for v in [
        "refcount",
        "shootdown",
        "mmput-flush",
        "hazard+fixes",
        "hazard-md+fixes",
    ] {
        let r = run(
            v,
            1,
            1,
            Bind::Pu,
            SimConfig {
                switches: None,
                duration_ns: Some(2190.0 + 9.0 * 1700.0 + 70.0),
                ..SimConfig::default()
            },
        );
        assert_eq!(r.stop, SimStop::Completed, "{v}");
        assert!(r.violations.is_empty(), "{v}: {:?}", r.violations);
        assert_eq!(r.ops, 10, "{v}");
        assert_eq!(r.context_switches, 21, "{v}");
        // One MMU switch (the first, from init_mm); thread → thread of one mm loads nothing.
        assert_eq!(r.counters.mmu_switches, 1, "{v}");
        // No IPI of any kind on one CPU.
        assert_eq!(r.counters.lazy_ipis + r.counters.flush_ipis, 0, "{v}");
        // Wakeups: 2 per round trip except the first's parent-side one (the child had not
        // blocked yet). The 11th round trip's first write starts at 17490 ns or later; its
        // syscall entry (100 ns) already passes the stop at 17560, so its wakeup is not counted.
        assert_eq!(r.counters.wakeups, 2 * 10 - 1, "{v}");
        assert_eq!(r.per_switch_ns.sched, 500.0, "{v}");
    }
}
