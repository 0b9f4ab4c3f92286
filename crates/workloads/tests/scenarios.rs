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

#[test]
fn kthread_chain_takes_one_grab_and_one_drop_per_chain() {
    // §7 #3, R: T(M)→k1→k2→U(M') on A is one grab and one drop of M; k1 later borrows M''
    // on B (B's chain), never M. After the run only the users' references remain.
    let o = run_scenario(&find("3").unwrap(), SchemeId::Refcount, ArchId::X86);
    assert!(o.row.violations.is_empty(), "{:?}", o.row.violations);
    // A: drop init_mm, grab M, drop M; B: drop init_mm, grab M'', and at quiesce B unlazies
    // (grab init_mm, drop M''): 7.
    assert_eq!(o.row.mm_count_rmw, 7);
    let k = &o.kernel;
    for mm in k.live_mms() {
        assert_eq!(k.mm_count(mm), 1, "{mm:?} keeps only the users' reference");
    }
    // H and MD: no shared counter traffic at all on the chain.
    let h = row("3", SchemeId::Hazard, ArchId::X86);
    assert_eq!((h.mm_count_rmw, h.drop_mm_rmw), (0, 0));
    assert_eq!(row("3", SchemeId::HazardMd, ArchId::X86).mm_count_rmw, 0);
}

#[test]
fn lazy_back_to_same_mm_writes_no_cr3_but_reloads_after_a_flush() {
    // §7 #4 on x86, R. MMU switches: A idle→T1 (init→M), B idle→T3, A's lazy flush to
    // init_mm, A's return to T1 (reload). T1→idle→T2 itself writes no CR3.
    let o = run_scenario(&find("4").unwrap(), SchemeId::Refcount, ArchId::X86);
    assert!(o.row.violations.is_empty(), "{:?}", o.row.violations);
    assert_eq!(o.counters.mmu_switches, 4);
    // R still pays 2 atomics per round trip: 2 round trips on A + 1 init_mm drop each.
    assert_eq!(o.row.mm_count_rmw, 6);
    // The return re-set A's mm_cpumask bit.
    let k = &o.kernel;
    let m = k.live_mms()[0];
    assert!(k.mask_test(m, 0));
}

#[test]
fn outsider_last_mmput_and_mem_release_final_mmdrop() {
    // §7 #5: C holds the last mm_users and the final struct pin.
    let s = row("5", SchemeId::Shootdown, ArchId::PpcRadix);
    assert!(
        s.freed_at.starts_with("cpu2 driver_mmdrop"),
        "{}",
        s.freed_at
    );
    assert_eq!(s.lazy_ipis, 2, "C's __mmdrop IPIs A and B");
    let h = row("5", SchemeId::HazardX86, ArchId::X86);
    assert!(
        h.freed_at.starts_with("cpu2 driver_mmdrop"),
        "{}",
        h.freed_at
    );
    assert_eq!(h.lazy_ipis, 0);
    // R: A (and B) keep it until they stop being lazy.
    let r = row("5", SchemeId::Refcount, ArchId::PpcRadix);
    assert!(!r.freed_at.starts_with("cpu2"), "{}", r.freed_at);
}

#[test]
fn kthread_use_mm_lifecycle_free_points() {
    // §7 #7: R freed when A (K's CPU, lazy after unuse) next runs a user task.
    let r = row("7", SchemeId::Refcount, ArchId::X86);
    assert!(
        r.freed_at.starts_with("cpu0 finish_task_switch"),
        "{}",
        r.freed_at
    );
    // S: the shootdown at __mmdrop (run by K's holder on A) IPIs B, shoots A locally.
    let s = row("7", SchemeId::Shootdown, ArchId::PpcRadix);
    assert!(s.freed_at.starts_with("cpu0 __mmput"), "{}", s.freed_at);
    assert_eq!(s.lazy_ipis, 1);
    // H: A's lazy_mm is found by the scan; A frees at its next switch.
    let h = row("7", SchemeId::Hazard, ArchId::Arm64);
    assert!(
        h.freed_at.starts_with("cpu0 finish_task_switch"),
        "{}",
        h.freed_at
    );
    assert_eq!(h.lazy_ipis, 0);
}

#[test]
fn kthread_use_mm_of_current_active_mm_balances() {
    // §7 #9: references are not equivalent; the counts still balance.
    for (s, a) in [
        (SchemeId::Refcount, ArchId::X86),
        (SchemeId::Shootdown, ArchId::PpcRadix),
        (SchemeId::Hazard, ArchId::X86),
        (SchemeId::HazardMd, ArchId::Arm64),
    ] {
        let o = run_scenario(&find("9").unwrap(), s, a);
        assert!(o.row.violations.is_empty(), "{s:?}: {:?}", o.row.violations);
        let k = &o.kernel;
        let m = k.live_mms()[0];
        assert_eq!(k.mm_count(m), 1, "{s:?}: only the users' reference remains");
    }
    // S: only kthread_use_mm's real mmgrab and kthread_unuse_mm's mmdrop touch mm_count.
    assert_eq!(
        row("9", SchemeId::Shootdown, ArchId::PpcRadix).mm_count_rmw,
        2
    );
    // H: the hazard pointer is cleared, no count at all.
    assert_eq!(row("9", SchemeId::Hazard, ArchId::X86).mm_count_rmw, 0);
}

#[test]
fn exec_in_multithreaded_process_handles_old_mm_lazies() {
    // §7 #11: B, C, D exited (lazy on old M) before T1's exec drops the last mm_users.
    let s = row("11", SchemeId::Shootdown, ArchId::PpcRadix);
    assert_eq!(s.lazy_ipis, 3);
    assert!(s.freed_at.starts_with("cpu0 __mmput"), "{}", s.freed_at);
    let p = row("11", SchemeId::ShootdownPpc, ArchId::PpcRadix);
    assert_eq!((p.lazy_ipis, p.flush_ipis), (0, 3));
}

#[test]
fn membarrier_litmus_fails_without_the_barrier() {
    // §7 #12: "A model that drops the barrier must fail this test".
    use lazymm_model::schemes::shootdown::Shootdown;
    let s = find("12").unwrap();
    let broken = Shootdown {
        mutant: Some("shootdown-without-membarrier-mb"),
        membarrier_mb: false,
    };
    let o = lazymm_workloads::run::run_one(
        s.name,
        Box::new(broken),
        ArchId::PpcRadix,
        s.ncpus,
        lazymm_model::Knobs::fixed(),
        &s.build,
        0,
        0.0,
        0.0,
    );
    assert!(
        o.row.violations.iter().any(|v| v.starts_with("membarrier")),
        "{:?}",
        o.row.violations
    );
    // Every correct scheme provides it (R: atomic_dec_and_test; S/MD: smp_mb; H/L:
    // membarrier_finish_switch_mm).
    for scheme in SchemeId::ALL {
        for arch in ArchId::ALL {
            let r = row("12", scheme, arch);
            assert!(
                r.violations.is_empty(),
                "{scheme:?} {arch:?}: {:?}",
                r.violations
            );
        }
    }
}

#[test]
fn refcount_is_safe_under_every_legacy_knob_set() {
    // §7 #13–#16, §4.4: "R: safe" with the pre-fix x86 flush, NMI, EFI, text_poke, hotplug
    // and cpuidle paths: the refcount pins whatever those paths leave behind.
    for m in lazymm_workloads::mutants::all() {
        if m.correct == SchemeId::Refcount {
            continue; // (e) is a bug in R's own exec path.
        }
        let o = m.run_with(SchemeId::Refcount.build(), m.knob_set());
        assert!(
            o.row.violations.is_empty(),
            "{}: {:?}",
            m.name,
            o.row.violations
        );
    }
}

#[test]
fn two_exits_one_rq_steals_a_dead_drop_mm_exactly_once() {
    // §7 #19: rq A holds M0 in drop_mm while no longer using it; M1's exit targets A and
    // steals the slot, dropping M0 once.
    let h = row("19", SchemeId::Hazard, ArchId::Arm64);
    assert!(h.violations.is_empty(), "{:?}", h.violations);
    assert!(
        h.freed_at.starts_with("cpu0 mm_unlazy_mm_count"),
        "{}",
        h.freed_at
    );
}

#[test]
fn broadcast_flush_costs() {
    // §7 #22: the exit flush sends no IPIs. L must add IPIs; H-gen scans online CPUs; MD
    // scans possible CPUs; R unchanged.
    let l = row("22", SchemeId::MmputFlush, ArchId::X86);
    assert_eq!((l.flush_ipis, l.lazy_ipis), (0, 1));
    assert_eq!(row("22", SchemeId::Hazard, ArchId::Arm64).scan_loads, 4);
    let md = row("22", SchemeId::HazardMd, ArchId::Arm64);
    assert_eq!((md.scan_loads, md.lazy_ipis), (4, 2));
    assert_eq!(row("22", SchemeId::Refcount, ArchId::Arm64).lazy_ipis, 0);
}

#[test]
fn munmap_skips_lazy_cpus_unless_tables_are_freed() {
    // §7 #23: three DONTNEED flushes reach no lazy CPU; one munmap (freed_tables) reaches
    // all three lazy CPUs on x86; broadcast arches send none.
    for s in SchemeId::ALL {
        let x = row("23", s, ArchId::X86);
        if x.infeasible.is_none() {
            assert_eq!(x.flush_ipis, 3, "{s:?}");
        }
        let a = row("23", s, ArchId::Arm64);
        if a.infeasible.is_none() {
            assert_eq!(a.flush_ipis, 0, "{s:?}");
        }
    }
}

#[test]
fn mm_cid_edge_keeps_a_barrier_only_where_a_scheme_puts_one() {
    // §7 #25: 10 user→kernel→user round trips on 2 CPUs. MD puts smp_mb on both edges
    // (2 per round trip), S only on kernel→user, H and L on neither (mm_cid itself is not
    // modelled; this measures which barriers remain).
    assert_eq!(row("25", SchemeId::HazardMd, ArchId::X86).barriers, 24);
    assert_eq!(row("25", SchemeId::Shootdown, ArchId::X86).barriers, 12);
    assert_eq!(row("25", SchemeId::Hazard, ArchId::X86).barriers, 0);
    assert_eq!(row("25", SchemeId::MmputFlush, ArchId::X86).barriers, 0);
}
