//! `CONFIG_LRU_GEN_WALKS_MMU` (`SimConfig::lru_gen_walks_mmu`): `context_switch` stores to
//! `next->mm->lru_gen.bitmap` on every switch to a user task (`lru_gen_use_mm`, 6.12
//! kernel/sched/core.c:5348, an unconditional `WRITE_ONCE(mm->lru_gen.bitmap, -1)`), on a
//! line no other lazy-mm path touches. On the toy profile (tests/data/toy-machine.toml:
//! local access 0, SMT sibling transfer 10 ns) the cost is exact.

use lazymm_model::era;
use lazymm_profile::Profile;
use lazymm_sim::{simulate, SimConfig, SimReport, SimSpec, SimStop};
use lazymm_workloads::drivers::{Bind, Ctxsw};

fn toy() -> Profile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/toy-machine.toml");
    Profile::load(std::path::Path::new(path)).expect("toy profile parses")
}

fn run(variant: &str, profile: Profile, lru_gen: bool) -> SimReport {
    simulate(SimSpec {
        profile,
        variant: era::variant(variant).expect("variant"),
        ncpus: 2,
        driver: Box::new(Ctxsw::new(1, Bind::Core, 2, 2)),
        cfg: SimConfig {
            switches: Some(4_000),
            lru_gen_walks_mmu: lru_gen,
            ..SimConfig::default()
        },
        knobs: None,
    })
}

/// One pair bound to one core's two SMT siblings. Each round trip is four switches: the
/// writer's partner leaves idle for its task (a switch to user), the writer blocks into idle
/// (a switch to kernel), and the same back. So half the switches store the line, and each
/// of those finds it modified in the sibling, which stored it at its own last switch to
/// user: one SMT transfer (10 ns) per switch to user, 5 ns per switch. Nothing else changes
/// but time: the store is no counted event.
#[test]
fn lru_gen_use_mm_bounces_the_bitmap_line_between_the_pair_at_each_switch_to_user() {
    for v in ["refcount", "shootdown", "mmput-flush", "hazard-md+fixes"] {
        let off = run(v, toy(), false);
        let on = run(v, toy(), true);
        for r in [&off, &on] {
            assert_eq!(r.stop, SimStop::Completed, "{v}");
            assert!(r.violations.is_empty(), "{v}: {:?}", r.violations);
            assert!(r.infeasible.is_none(), "{v}");
        }
        assert!(on.lru_gen_walks_mmu && !off.lru_gen_walks_mmu);
        assert_eq!(off.per_switch_ns.coherence.get("mm_lru_gen"), None, "{v}");
        let stall = *on
            .per_switch_ns
            .coherence
            .get("mm_lru_gen")
            .expect("a stall");
        // The measured window may start or end between the two halves of a round trip: one
        // store more or less than half the switches.
        let n = on.context_switches as f64;
        assert!(
            (stall - 5.0).abs() <= 10.0 / n + 1e-9,
            "{v}: {stall} ns per switch"
        );
        assert_eq!(on.counters, off.counters, "{v}");
        assert!(on.switches_per_sec < off.switches_per_sec, "{v}");
    }
}

/// Where a kernel cannot have the option the row says why and runs nothing: powerpc does
/// not select `ARCH_HAS_HW_PTE_YOUNG` (6.12 arch/powerpc/Kconfig), and MGLRU (v6.1) is newer
/// than v5.16, the base of H as posted.
#[test]
fn lru_gen_walks_mmu_is_infeasible_on_powerpc_and_on_a_v5_16_series() {
    let mut ppc = toy();
    ppc.arch = "ppc-radix".into();
    let r = run("shootdown-ppc", ppc, true);
    assert!(r
        .infeasible
        .as_deref()
        .unwrap()
        .contains("ARCH_HAS_HW_PTE_YOUNG"));
    assert_eq!(r.context_switches, 0);
    let r = run("hazard", toy(), true);
    assert!(r.infeasible.as_deref().unwrap().contains("v6.1"));
    assert_eq!(r.context_switches, 0);
    // MD's RFC is on v6.11.1: feasible.
    assert!(run("hazard-md", toy(), true).infeasible.is_none());
}
