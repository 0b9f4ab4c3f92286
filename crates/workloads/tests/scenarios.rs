//! Spec §7 expectations, scheme by scheme (counts and free points, not just "no violation").

use lazymm_model::{ArchId, SchemeId};
use lazymm_workloads::scenarios::{all_rows, find, run_scenario};

fn row(s: &str, scheme: SchemeId, arch: ArchId) -> lazymm_workloads::run::Row {
    run_scenario(&find(s).unwrap(), scheme, arch).row
}

#[test]
fn correct_schemes_have_no_violations_except_md_under_khugepaged_lock() {
    for r in all_rows() {
        if r.infeasible.is_some() {
            continue;
        }
        if r.scenario == "final-mmdrop-preempt-off" && r.scheme == "hazard-md" {
            // §7 #6 / MD-LKP: hazptr_scan WARNs from preempt-off context.
            assert!(
                r.violations.iter().any(|v| v.contains("preempt-off")),
                "{r:?}"
            );
            continue;
        }
        assert!(
            r.violations.is_empty(),
            "{} {} {}: {:?}",
            r.scenario,
            r.scheme,
            r.arch,
            r.violations
        );
    }
}

#[test]
fn basic_lazy_idle_exit_free_points_and_ipis() {
    // R: freed by the last lazy dropper at its kernel→user switch, no lazy IPIs.
    let r = row("1", SchemeId::Refcount, ArchId::X86);
    assert_eq!((r.lazy_ipis, r.flush_ipis), (0, 1));
    assert!(
        r.freed_at.starts_with("cpu1 finish_task_switch"),
        "{}",
        r.freed_at
    );
    // S generic: __mmdrop IPIs A (1 remote IPI), freed on B before __mmput returns.
    let s = row("1", SchemeId::Shootdown, ArchId::PpcRadix);
    assert_eq!(s.lazy_ipis, 1);
    assert_eq!(s.mm_count_rmw, 1);
    assert!(s.freed_at.starts_with("cpu1 __mmput"), "{}", s.freed_at);
    // S-ppc: the combined exit flush reaches A; 0 extra lazy IPIs.
    let p = row("1", SchemeId::ShootdownPpc, ArchId::PpcRadix);
    assert_eq!((p.lazy_ipis, p.flush_ipis), (0, 1));
    assert!(p.freed_at.starts_with("cpu1 __mmput"));
    // L/x86: zero extra IPIs; freed on B.
    let l = row("1", SchemeId::MmputFlush, ArchId::X86);
    assert_eq!((l.lazy_ipis, l.flush_ipis), (0, 1));
    assert!(l.freed_at.starts_with("cpu1 __mmput"));
    // H-gen (arm64): A and B matched: atomic_add + atomic_sub + final mmdrop + 2 rq drops;
    // freed at a later context switch, no IPIs.
    let h = row("1", SchemeId::Hazard, ArchId::Arm64);
    assert_eq!(h.lazy_ipis, 0);
    assert_eq!(h.scan_loads, 4);
    assert!(h.freed_at.contains("finish_task_switch"), "{}", h.freed_at);
    // H-x86: A was unlazied by the flush IPI; only B (exit_mm's hazard pointer) is handed a ref.
    let hx = row("1", SchemeId::HazardX86, ArchId::X86);
    assert_eq!(hx.scan_loads, 2); // mm_cpumask = {A, B}
    assert_eq!(hx.drop_mm_rmw, 2); // hand-off to B + B's mmdrop_lazy
                                   // MD: 2 synchronous calls to A (shoot + check), freed on B.
    let m = row("1", SchemeId::HazardMd, ArchId::Arm64);
    assert_eq!(m.lazy_ipis, 2);
    assert!(m.freed_at.starts_with("cpu1 __mmput"));
}

#[test]
fn hot_path_costs_per_round_trip() {
    // 4 CPUs × 10 thread→idle→thread round trips.
    let r = row("2", SchemeId::Refcount, ArchId::X86);
    assert_eq!(
        r.mm_count_rmw,
        80 + 8,
        "2 RMWs per round trip + 2 init_mm per CPU"
    );
    assert_eq!(row("2", SchemeId::Shootdown, ArchId::X86).barriers, 40 + 4);
    let h = row("2", SchemeId::Hazard, ArchId::X86);
    assert_eq!((h.mm_count_rmw, h.drop_mm_rmw, h.barriers), (0, 0, 0));
    assert_eq!(row("2", SchemeId::HazardMd, ArchId::X86).barriers, 80 + 8);
    let l = row("2", SchemeId::MmputFlush, ArchId::X86);
    assert_eq!((l.mm_count_rmw, l.barriers), (0, 0));
}

#[test]
fn kthread_count_only_is_safe_for_r_s_md_and_refused_by_h() {
    for s in [
        SchemeId::Refcount,
        SchemeId::Shootdown,
        SchemeId::HazardMd,
        SchemeId::Hazard,
    ] {
        let r = row("8", s, ArchId::X86);
        assert!(r.violations.is_empty() && r.freed, "{s:?}: {r:?}");
    }
    // S: the final __mmdrop (the driver's) IPIs A.
    assert_eq!(row("8", SchemeId::Shootdown, ArchId::X86).lazy_ipis, 1);
}

#[test]
fn wide_process_exit_costs() {
    let s = row("20", SchemeId::Shootdown, ArchId::PpcRadix);
    assert_eq!(
        s.lazy_ipis, 24,
        "one shootdown IPI per lazy CPU in mm_cpumask"
    );
    assert_eq!(
        row("20", SchemeId::ShootdownPpc, ArchId::PpcRadix).lazy_ipis,
        0
    );
    let hx = row("20", SchemeId::HazardX86, ArchId::X86);
    assert_eq!(hx.lazy_ipis, 0);
    assert!(
        hx.mm_count_rmw <= 4,
        "≤2 batch atomics + final drops: {}",
        hx.mm_count_rmw
    );
    assert_eq!(
        row("20", SchemeId::Hazard, ArchId::Arm64).scan_loads,
        32,
        "every online CPU"
    );
    assert_eq!(
        row("20", SchemeId::HazardMd, ArchId::Arm64).lazy_ipis,
        48,
        "2 per lazy CPU"
    );
}

#[test]
fn steal_race_passes_with_lazy_mm_reload() {
    let r = row("18", SchemeId::Hazard, ArchId::Arm64);
    assert!(r.violations.is_empty() && r.freed, "{r:?}");
}

#[test]
fn pv_flush_needs_fallback_for_l_and_s_but_not_h() {
    assert!(row("21", SchemeId::MmputFlush, ArchId::X86).lazy_ipis >= 1);
    assert!(row("21", SchemeId::Shootdown, ArchId::X86).lazy_ipis >= 1);
    assert_eq!(row("21", SchemeId::Hazard, ArchId::X86).lazy_ipis, 0);
}

#[test]
fn preempt_rt_defers_refcount_free_to_rcu() {
    let r = row("24", SchemeId::Refcount, ArchId::X86);
    assert!(r.freed_at.contains("rcu_do_batch"), "{}", r.freed_at);
    // H's mmdrop_lazy uses plain mmdrop: the free happens in the scheduler tail.
    assert!(row("24", SchemeId::Hazard, ArchId::Arm64)
        .freed_at
        .contains("finish_task_switch"));
}

#[test]
fn offline_online_cycles_keep_init_mm_balanced() {
    let o = run_scenario(&find("17").unwrap(), SchemeId::Refcount, ArchId::PpcRadix);
    assert!(o.row.violations.is_empty(), "{:?}", o.row.violations);
    let k = &o.kernel;
    // boot: one lazy ref per idle CPU (4); after the cycles every idle is back on init_mm.
    assert_eq!(k.mm_count(k.init_mm), 1 + 4);
}

#[test]
fn infeasible_rows_carry_the_spec_reason() {
    let r = row("1", SchemeId::Shootdown, ArchId::Arm64);
    assert!(r.infeasible.as_deref().unwrap().contains("mm_cpumask"));
    assert!(row("1", SchemeId::HazardX86, ArchId::PpcRadix)
        .infeasible
        .is_some());
    assert!(row("1", SchemeId::ShootdownPpc, ArchId::X86)
        .infeasible
        .is_some());
}

#[test]
fn mutants_a_to_h_are_all_caught_and_correct_schemes_pass() {
    let res = lazymm_workloads::mutants::run_all();
    assert_eq!(res.len(), 8);
    for r in res {
        assert!(r.caught, "{} missed", r.mutant);
        assert!(
            r.correct_violations.is_empty(),
            "{}: {:?}",
            r.mutant,
            r.correct_violations
        );
    }
}
