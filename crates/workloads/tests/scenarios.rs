//! Spec §7 expectations, variant by variant (counts and free points, not just "no
//! violation"). Every count asserted here is the workload's alone (the end-of-run quiesce is
//! not counted) and carries its derivation from the kernel paths. Unless a test says
//! otherwise a row is the clean variant of its scheme: mainline for R, S, S-ppc, L; as posted
//! plus the named fixes for H, H-x86 and MD (`lazymm_model::era`).

use lazymm_model::era::{variant, variants};
use lazymm_model::{ArchId, SchemeId};
use lazymm_workloads::run::Named;
use lazymm_workloads::scenarios::{
    all_rows, find, findings, run_named_on, run_scenario, run_variant,
};

fn row(s: &str, scheme: SchemeId, arch: ArchId) -> lazymm_workloads::run::Row {
    run_scenario(&find(s).unwrap(), scheme, arch).row
}

fn vrow(s: &str, v: &str, arch: ArchId) -> lazymm_workloads::run::Row {
    run_variant(&find(s).unwrap(), &variant(v).unwrap(), arch).row
}

fn mutant(prefix: &str) -> lazymm_workloads::mutants::Mutant {
    lazymm_workloads::mutants::all()
        .into_iter()
        .find(|m| m.name.starts_with(prefix))
        .unwrap()
}

/// Scenario `s` with `scheme` on the `hazard+fixes` era knobs (one H change at a time).
fn on_fixes_base(
    s: &str,
    scheme: Box<dyn lazymm_model::Scheme>,
    arch: ArchId,
) -> lazymm_workloads::run::Outcome {
    let named = Named {
        name: scheme.name(),
        scheme,
        era: lazymm_model::Era::AsPosted,
    };
    run_named_on(
        &find(s).unwrap(),
        named,
        &variant("hazard+fixes").unwrap(),
        arch,
    )
}

#[test]
fn every_row_is_clean_except_the_catalogued_findings_which_show_their_kind() {
    let fs = findings();
    for r in all_rows() {
        if r.infeasible.is_some() {
            continue;
        }
        assert!(r.era == "mainline" || r.era == "as-posted", "{r:?}");
        let matching: Vec<_> = fs
            .iter()
            .filter(|f| {
                (f.scenario == r.scenario || f.scenario == "*")
                    && f.variant == r.scheme
                    && (f.arches.is_empty() || f.arches.iter().any(|a| a.name() == r.arch))
            })
            .collect();
        // A finding named for this scenario must show its kind.
        for f in matching.iter().filter(|f| f.scenario != "*") {
            assert!(
                r.violations.iter().any(|v| v.starts_with(f.kind.name())),
                "finding {} / {} / {} should show {}: {:?}",
                r.scenario,
                r.scheme,
                r.arch,
                f.kind.name(),
                r.violations
            );
        }
        // Every violation is of a kind the row's findings list.
        for v in &r.violations {
            assert!(
                matching.iter().any(|f| v.starts_with(f.kind.name())),
                "{} {} {}: unexpected {v}",
                r.scenario,
                r.scheme,
                r.arch
            );
        }
    }
}

#[test]
fn basic_lazy_idle_exit_free_points_and_ipis() {
    // R (x86): one flush IPI (B's exit flush reaches A, lazy on M; freed_tables). mm_count:
    // A drops init_mm (idle→T), grabs M (T→idle); B drops init_mm (idle→T), exit_mm grabs
    // M, __mmput's mmdrop; A's idle→U1 and B's idle→U2 drop M: 7. B drops last (it waits for
    // A's switch): freed by cpu1's finish_task_switch.
    let r = row("1", SchemeId::Refcount, ArchId::X86);
    assert_eq!((r.lazy_ipis, r.flush_ipis, r.mm_count_rmw), (0, 1, 7));
    assert!(
        r.freed_at.starts_with("cpu1 finish_task_switch"),
        "{}",
        r.freed_at
    );
    // MMU switches: A init→M, A's flush leave_mm (M→init), A init→U1; B init→M, B's *local*
    // exit flush leave_mm (the exiting CPU is lazy on M since exit_mm), B init→U2: 6.
    assert_eq!(r.mmu_switches, 6);
    // Path barriers: the two leave_mm switches to init_mm set no mask bit, so
    // switch_mm_irqs_off issues the 83b0177a6c48 smp_mb; the switches to M/U1/U2 set the bit
    // (its atomic is the barrier): 2.
    assert_eq!(r.path_barriers, 2);
    // S generic (ppc radix): __mmdrop IPIs A (1 remote IPI) and shoots B locally; freed on B
    // before __mmput returns. mm_count: only __mmput's mmdrop. Scheme barriers: the smp_mb of
    // mmdrop_lazy_tlb_sched at each kernel→user switch (A: T, U1; B: T, U2): 4.
    let s = row("1", SchemeId::Shootdown, ArchId::PpcRadix);
    assert_eq!((s.lazy_ipis, s.mm_count_rmw, s.scheme_barriers), (1, 1, 4));
    assert!(s.freed_at.starts_with("cpu1 __mmput"), "{}", s.freed_at);
    // Path barriers (ppc): first use of M on A and on B, of U1 on A, of U2 on B (smp_mb after
    // setting the mask bit), and radix__flush_all_mm's smp_mb in the exit flush: 5.
    assert_eq!(s.path_barriers, 5);
    // S-ppc: the combined exit flush reaches A (1 flush IPI, 0 lazy IPIs); scheme barriers:
    // the 4 above + radix__tlb_flush's smp_mb + exit_lazy_flush_tlb's mmdrop_lazy_tlb on A: 6.
    let p = row("1", SchemeId::ShootdownPpc, ArchId::PpcRadix);
    assert_eq!((p.lazy_ipis, p.flush_ipis, p.scheme_barriers), (0, 1, 6));
    assert!(p.freed_at.starts_with("cpu1 __mmput"));
    // L/x86: the exit flush unlazies A (IPI) and B (local): zero extra IPIs; freed on B.
    let l = row("1", SchemeId::MmputFlush, ArchId::X86);
    assert_eq!((l.lazy_ipis, l.flush_ipis), (0, 1));
    assert!(l.freed_at.starts_with("cpu1 __mmput"));
    // H-gen (arm64): the scan loads 4 online CPUs; A and B (exit_mm's hazard pointer) match:
    // atomic_add(4), atomic_sub(2), __mmput's mmdrop, and each CPU's mmdrop_lazy at its next
    // switch to a user task: 5 mm_count RMWs; drop_mm: 2 hand-offs + 2 releases = 4. Freed by
    // the later of the two releases, B's.
    let h = row("1", SchemeId::Hazard, ArchId::Arm64);
    assert_eq!(
        (h.lazy_ipis, h.scan_loads, h.mm_count_rmw, h.drop_mm_rmw),
        (0, 4, 5, 4)
    );
    assert!(
        h.freed_at.starts_with("cpu1 finish_task_switch"),
        "{}",
        h.freed_at
    );
    // H-x86 (as posted on v5.16: mask cleared on switch-out): the exit flush unlazies A
    // (IPI, patch 21) and B (local), and both switches to init_mm clear their bits, so the
    // mm_cpumask scan loads nothing; mm_count: the unconditional atomic_sub(0) + __mmput's
    // mmdrop = 2; freed on B in __mmput.
    let hx = row("1", SchemeId::HazardX86, ArchId::X86);
    assert_eq!((hx.scan_loads, hx.drop_mm_rmw, hx.mm_count_rmw), (0, 0, 2));
    assert!(hx.freed_at.starts_with("cpu1 __mmput"), "{}", hx.freed_at);
    // MD: 2 synchronous calls to A (shoot + check), B shot locally; freed on B.
    let m = row("1", SchemeId::HazardMd, ArchId::Arm64);
    assert_eq!(m.lazy_ipis, 2);
    assert!(m.freed_at.starts_with("cpu1 __mmput"));
}

#[test]
fn hot_path_costs_per_round_trip_without_the_harness() {
    // 4 CPUs × 10 thread→idle→thread round trips; each CPU ends lazy on M (not counted: the
    // quiesce that settles it is the harness's).
    // R: per CPU 10 mmgrab(M) at T→idle and 10 mmdrop at idle→T (the first of init_mm, the
    // boot idle's lazy reference): 80.
    let r = row("2", SchemeId::Refcount, ArchId::X86);
    assert_eq!(r.mm_count_rmw, 80);
    // x86 path barriers: the first idle→T per CPU is a real switch (sets the mask bit); the
    // other 9 return from lazy to the same mm and read tlb_gen after smp_mb: 4 × 9 = 36.
    assert_eq!(r.path_barriers, 36);
    // S: mmdrop_lazy_tlb_sched's smp_mb at each idle→T: 40.
    assert_eq!(
        row("2", SchemeId::Shootdown, ArchId::X86).scheme_barriers,
        40
    );
    // H: no shared RMW, no scheme barrier (M is not registered for membarrier).
    let h = row("2", SchemeId::Hazard, ArchId::X86);
    assert_eq!(
        (h.mm_count_rmw, h.drop_mm_rmw, h.scheme_barriers),
        (0, 0, 0)
    );
    // MD: smp_mb in both mmgrab_lazy_tlb and mmdrop_lazy_tlb_sched: 80.
    assert_eq!(
        row("2", SchemeId::HazardMd, ArchId::X86).scheme_barriers,
        80
    );
    let l = row("2", SchemeId::MmputFlush, ArchId::X86);
    assert_eq!((l.mm_count_rmw, l.scheme_barriers), (0, 0));
    // One MMU switch per CPU (init_mm → M); every later return to M writes no CR3.
    assert_eq!(r.mmu_switches, 4);
}

#[test]
fn kthread_count_only_is_safe_for_r_s_md_and_refused_by_fixed_h() {
    // R: A's lazy reference keeps M: a zombie until A runs a user task.
    let r = row("8", SchemeId::Refcount, ArchId::X86);
    assert!(r.violations.is_empty(), "{r:?}");
    assert!(
        r.freed_at.starts_with("zombie: pinned by cpu0"),
        "{}",
        r.freed_at
    );
    for s in [SchemeId::Shootdown, SchemeId::HazardMd, SchemeId::Hazard] {
        let r = row("8", s, ArchId::X86);
        assert!(r.violations.is_empty() && r.freed, "{s:?}: {r:?}");
    }
    // S: the final __mmdrop (the driver's) IPIs B, lazy on M since exit_mm; A (which used
    // and unused M) is shot locally.
    assert_eq!(row("8", SchemeId::Shootdown, ArchId::X86).lazy_ipis, 1);
    // Patch 15 as posted (no kthread_use_mm reference) on the +fixes base — mutant (f): the
    // same scenario frees M while A is lazy on it. (The as-posted row itself only shows the
    // exit_mm leak, which keeps M alive.)
    let f = mutant("f-");
    let o = f.run_with(f.named(), f.knob_set());
    assert!(
        o.row
            .violations
            .iter()
            .any(|v| v.starts_with("freed-while-loaded")),
        "{:?}",
        o.row.violations
    );
    assert!(vrow("8", "hazard", ArchId::X86)
        .violations
        .iter()
        .all(|v| v.starts_with("leak")));
}

#[test]
fn wide_process_exit_costs() {
    // 24 threads of M idle lazily on cpu0..23; cpu31 switches to each in turn and exits it.
    let s = row("20", SchemeId::Shootdown, ArchId::PpcRadix);
    assert_eq!(
        s.lazy_ipis, 24,
        "one shootdown IPI per lazy CPU in mm_cpumask (cpu31 itself is shot locally)"
    );
    assert_eq!(
        row("20", SchemeId::ShootdownPpc, ArchId::PpcRadix).lazy_ipis,
        0
    );
    // H-x86: the exit flush unlazies every lazy CPU and (v5.16 mask) clears its bit: no scan
    // load, atomic_sub(0) + mmdrop.
    let hx = row("20", SchemeId::HazardX86, ArchId::X86);
    assert_eq!((hx.lazy_ipis, hx.scan_loads, hx.mm_count_rmw), (0, 0, 2));
    assert_eq!(hx.flush_ipis, 24);
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
fn steal_race_keeps_m2_alive_while_a_is_lazy_on_it() {
    // §7 #18, correct H-2022: F1 re-reads lazy_A (M2 ≠ M1) and just drops M1; M2 stays alive
    // until A un-lazies — at the end A is still lazy on it, so it is a zombie held by cpu0.
    let r = row("18", SchemeId::Hazard, ArchId::Arm64);
    assert!(r.violations.is_empty(), "{r:?}");
    assert!(r.freed_at.contains("cpu0 rq->lazy_mm"), "{}", r.freed_at);
}

#[test]
fn pv_flush_needs_fallback_for_l_and_s_but_not_h() {
    // Preempted vCPUs A and C are skipped by the PV flush: L's and S's __mmdrop shootdown
    // IPIs both (2), H hands them drop_mm references without an IPI.
    assert_eq!(row("21", SchemeId::MmputFlush, ArchId::X86).lazy_ipis, 2);
    assert_eq!(row("21", SchemeId::Shootdown, ArchId::X86).lazy_ipis, 2);
    assert_eq!(row("21", SchemeId::Hazard, ArchId::X86).lazy_ipis, 0);
}

#[test]
fn preempt_rt_defers_the_scheduler_tail_free() {
    // R: mmdrop_sched queues __mmdrop on call_rcu; the batch runs at the CPU's next entry,
    // which the workload never makes: the mm is pinned by the pending callback.
    let r = row("24", SchemeId::Refcount, ArchId::X86);
    assert!(r.freed_at.contains("call_rcu"), "{}", r.freed_at);
    // Patch 16's mmdrop_lazy as posted (plain mmdrop), with the exit_mm fix so the mm can be
    // freed at all: it frees in finish_task_switch — sleep in atomic on RT. The +fixes
    // variant defers it like R.
    let plain = lazymm_model::schemes::hazard::Hazard {
        kthread_ref: lazymm_model::scheme::KthreadRef::MmUsers,
        exit_mm_grabs: false,
        ..Default::default()
    };
    let h = on_fixes_base("24", Box::new(plain), ArchId::Arm64).row;
    assert!(h.freed_at.contains("finish_task_switch"), "{}", h.freed_at);
    assert!(h
        .violations
        .iter()
        .any(|v| v.starts_with("sleep-in-atomic")));
    let hf = row("24", SchemeId::Hazard, ArchId::Arm64);
    assert!(
        hf.violations.is_empty() && hf.freed_at.contains("call_rcu"),
        "{hf:?}"
    );
}

#[test]
fn offline_online_cycles_keep_init_mm_balanced() {
    let o = run_scenario(&find("17").unwrap(), SchemeId::Refcount, ArchId::PpcRadix);
    assert!(o.row.violations.is_empty(), "{:?}", o.row.violations);
    let k = &o.kernel;
    // Boot: one lazy init_mm reference per idle (4) plus the static one. The first cycle's
    // sched_force_init_mm grabs init_mm (A is lazy on M), and every cycle's finish_cpu drops
    // the dead idle's init_mm reference and the online grabs it again (in cycles 2 and 3 the
    // idle is already on init_mm, so sched_force_init_mm does nothing). The
    // quiesce then switches every CPU to a user task, dropping each idle's lazy init_mm
    // reference: only the static reference is left.
    assert_eq!(k.mm_count(k.init_mm), 1);
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
fn mutants_a_to_k_are_caught_by_their_expected_kind_and_controls_are_free_of_the_bug() {
    let res = lazymm_workloads::mutants::run_all();
    assert_eq!(res.len(), 11);
    for r in res {
        assert!(
            r.caught,
            "{} not caught by {} at {:?}: {:?}",
            r.mutant, r.expected_kind, r.expected_at, r.kinds
        );
        assert!(r.control_clean, "{}: {:?}", r.mutant, r.correct_violations);
    }
}

#[test]
fn kthread_chain_takes_one_grab_and_one_drop_per_chain() {
    // §7 #3, R: T(M)→k1→k2→U(M') on A is one grab and one drop of M; k1 later borrows M''
    // on B (B's chain), never M. A: drop init_mm (idle→T), grab M (T→k1), drop M (k2→U);
    // B: drop init_mm (idle→U2), grab M'' (U2→k1): 5.
    let o = run_scenario(&find("3").unwrap(), SchemeId::Refcount, ArchId::X86);
    assert!(o.row.violations.is_empty(), "{:?}", o.row.violations);
    assert_eq!(o.row.mm_count_rmw, 5);
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
    // R still pays 2 atomics per round trip: A drops init_mm, then grab/drop/grab/drop of M
    // around T1→idle→T2→idle→T1; B drops init_mm: 6.
    assert_eq!(o.row.mm_count_rmw, 6);
    // The return re-set A's mm_cpumask bit.
    let k = &o.kernel;
    let m = k.live_mms()[0];
    assert!(k.in_mm_cpumask(m, 0));
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
    // R: A and B stay lazy on M to the end: a zombie pinned by both.
    let r = row("5", SchemeId::Refcount, ArchId::PpcRadix);
    assert!(
        r.freed_at.starts_with("zombie")
            && r.freed_at.contains("cpu0")
            && r.freed_at.contains("cpu1"),
        "{}",
        r.freed_at
    );
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
    // H: the hazard pointer is cleared, no count at all (it holds mm_users instead).
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
    let o = run_named_on(
        &s,
        Named {
            scheme: Box::new(broken),
            name: "shootdown-without-membarrier-mb".into(),
            era: lazymm_model::Era::Mainline,
        },
        &variant("shootdown").unwrap(),
        ArchId::PpcRadix,
    );
    assert!(
        o.row.violations.iter().any(|v| v.starts_with("membarrier")),
        "{:?}",
        o.row.violations
    );
    // Every variant provides it (R: atomic_dec_and_test; S/MD: smp_mb; H/L:
    // membarrier_finish_switch_mm — which only the ppc and arm64 rows exercise: on x86 the
    // lazy return to the same mm already issues switch_mm_irqs_off's was-lazy smp_mb).
    for v in variants() {
        for arch in ArchId::ALL {
            let r = run_variant(&s, &v, arch).row;
            assert!(
                r.violations.is_empty(),
                "{} {arch:?}: {:?}",
                v.name,
                r.violations
            );
        }
    }
}

#[test]
fn refcount_is_safe_under_every_legacy_knob_set() {
    // §7 #13–#16, §4.4: "R: safe" with the pre-fix x86 flush, NMI, EFI, text_poke, hotplug
    // and cpuidle paths: the refcount pins whatever those paths leave behind.
    let r = variant("refcount").unwrap();
    for m in lazymm_workloads::mutants::all() {
        if m.base == "refcount" {
            continue; // (e) is a bug in R's own exec path.
        }
        let o = m.run_with(Named::variant(&r), m.knob_set());
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
    // §7 #22: the exit flush sends no IPIs. L must add IPIs (its __mmdrop fallback IPIs A);
    // H-gen scans 4 online CPUs; MD scans 4 possible CPUs and calls A twice; R unchanged.
    let l = row("22", SchemeId::MmputFlush, ArchId::X86);
    assert_eq!((l.flush_ipis, l.lazy_ipis), (0, 1));
    assert_eq!(row("22", SchemeId::Hazard, ArchId::Arm64).scan_loads, 4);
    let md = row("22", SchemeId::HazardMd, ArchId::Arm64);
    assert_eq!((md.scan_loads, md.lazy_ipis), (4, 2));
    assert_eq!(row("22", SchemeId::Refcount, ArchId::Arm64).lazy_ipis, 0);
}

#[test]
fn munmap_skips_lazy_cpus_unless_tables_are_freed() {
    // §7 #23: three DONTNEED flushes reach no lazy CPU (should_flush_tlb: lazy, and no trim
    // is due within the scenario); one munmap (freed_tables) reaches all three lazy CPUs on
    // x86; broadcast arches send none.
    for v in variants().iter().filter(|v| v.clean) {
        let x = run_variant(&find("23").unwrap(), v, ArchId::X86).row;
        if x.infeasible.is_none() {
            assert_eq!(x.flush_ipis, 3, "{}", v.name);
        }
        let a = run_variant(&find("23").unwrap(), v, ArchId::Arm64).row;
        if a.infeasible.is_none() {
            assert_eq!(a.flush_ipis, 0, "{}", v.name);
        }
    }
}

#[test]
fn mm_cid_edge_keeps_a_barrier_only_where_a_scheme_puts_one() {
    // §7 #25: 5 user→kernel→user round trips on each of 2 CPUs. MD puts smp_mb on both edges
    // (2 × 5 × 2 = 20), S only on kernel→user (10), H and L on neither (mm_cid itself is not
    // modelled; this measures which barriers remain).
    assert_eq!(
        row("25", SchemeId::HazardMd, ArchId::X86).scheme_barriers,
        20
    );
    assert_eq!(
        row("25", SchemeId::Shootdown, ArchId::X86).scheme_barriers,
        10
    );
    assert_eq!(row("25", SchemeId::Hazard, ArchId::X86).scheme_barriers, 0);
    assert_eq!(
        row("25", SchemeId::MmputFlush, ArchId::X86).scheme_barriers,
        0
    );
}

#[test]
fn quiesce_is_not_counted_and_zombies_are_named() {
    // §7 #2 again, R: the run ends with every CPU lazy on M (4 lazy references). Settling
    // them takes 4 more mmdrops in the quiesce, which the row must not contain: 80, not 84.
    let o = run_scenario(&find("2").unwrap(), SchemeId::Refcount, ArchId::X86);
    assert_eq!(o.row.mm_count_rmw, 80);
    // And the mm is live, not freed and not a zombie (its threads still exist).
    assert_eq!(o.row.freed_at, "not freed");
    // #1 with A never running a user task again is what R calls a zombie: see #5 above;
    // every row carries its era and MMU switches.
    let r = row("5", SchemeId::Refcount, ArchId::X86);
    assert_eq!(r.era, "mainline");
    assert!(r.mmu_switches > 0);
    assert_eq!(vrow("5", "hazard", ArchId::X86).era, "as-posted");
}

#[test]
fn exit_flush_ipi_during_kthread_use_is_skipped_and_the_final_drop_finds_the_cpu() {
    // #26, S-ppc on radix: B's combined exit flush IPIs A while K on A uses M holding only
    // the driver's mm_count: exit_lazy_flush_tlb skips it (current->mm == mm), so A stays in
    // mm_cpumask (1 flush IPI). The driver's final mmdrop on A then shoots A locally (lazy
    // since kthread_unuse_mm) and IPIs B, still in the sticky mask (1 lazy IPI). Freed there.
    let p = row("26", SchemeId::ShootdownPpc, ArchId::PpcRadix);
    assert!(p.violations.is_empty(), "{p:?}");
    assert_eq!((p.flush_ipis, p.lazy_ipis), (1, 1));
    assert!(
        p.freed_at.starts_with("cpu0 driver_mmdrop"),
        "{}",
        p.freed_at
    );
    // L on radix: the same flush and fallback.
    let l = row("26", SchemeId::MmputFlush, ArchId::PpcRadix);
    assert!(
        l.violations.is_empty() && l.freed_at.starts_with("cpu0 driver_mmdrop"),
        "{l:?}"
    );
    // Patch 15 as posted (mutant f's scheme, on the +fixes base): no reference while using;
    // lazy_mm published after the scan: freed while A is lazy on M.
    let o = on_fixes_base("26", mutant("f-").build(), ArchId::Arm64);
    assert!(o
        .row
        .violations
        .iter()
        .any(|v| v.starts_with("freed-while-loaded")));
}

#[test]
fn drop_mm_handoff_after_unlazy_is_released_at_the_next_switch() {
    // #27, H on arm64: B's scan matched A, then A switched to a user task (un-lazied, with
    // drop_mm empty), then B's hand-off landed in A's drop_mm. drop_mm RMWs: B hands M to A
    // and to itself (exit_mm's hazard pointer), B releases its own at its switch to U2, A
    // releases M at its next switch (U→idle): 4. M is freed there, by cpu0.
    let h = row("27", SchemeId::Hazard, ArchId::Arm64);
    assert!(h.violations.is_empty(), "{h:?}");
    assert_eq!(h.drop_mm_rmw, 4);
    assert!(
        h.freed_at.starts_with("cpu0 finish_task_switch"),
        "{}",
        h.freed_at
    );
}
