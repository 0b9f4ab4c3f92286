//! Spec §7 expectations for scenarios #1–#12 (the common paths), variant by variant:
//! counts and free points, not just "no violation".
//!
//! Every count asserted here is the workload's alone (the end-of-run quiesce is not
//! counted) and carries its derivation from the kernel paths. Unless a test says otherwise
//! a row is the clean variant of its scheme: mainline for R, S, S-ppc, L; as posted plus
//! the named fixes for H, H-x86 and MD (`lazymm_model::era`).

mod scenario_rows;

use lazymm_model::era::{variant, variants};
use lazymm_model::{ArchId, SchemeId};
use lazymm_workloads::run::Named;
use lazymm_workloads::scenarios::{find, run_scenario, run_variant};
use scenario_rows::*;

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
    // (its atomic is the barrier): 2. mm_cid (v6.4–v6.18): switch_mm_cid's smp_mb() on each
    // kernel→user switch (A: idle→T, idle→U1; B: idle→T, idle→U2): 4 (user→kernel, x86:
    // smp_mb__after_mmgrab() is a compiler barrier); B's exit_signals →
    // sched_mm_cid_exit_signals' smp_mb: 1. In all 7.
    assert_eq!(r.path_barriers, 7);
    // S generic (ppc radix): __mmdrop IPIs A (1 remote IPI) and shoots B locally; freed on B
    // before __mmput returns. mm_count: only __mmput's mmdrop. Scheme barriers: the smp_mb of
    // mmdrop_lazy_tlb_sched at each kernel→user switch (A: T, U1; B: T, U2): 4.
    let s = row("1", SchemeId::Shootdown, ArchId::PpcRadix);
    assert_eq!((s.lazy_ipis, s.mm_count_rmw, s.scheme_barriers), (1, 1, 4));
    assert!(s.freed_at.starts_with("cpu1 __mmput"), "{}", s.freed_at);
    // Path barriers (ppc): first use of M on A and on B, of U1 on A, of U2 on B (smp_mb after
    // setting the mask bit), radix__flush_all_mm's smp_mb in the exit flush, and exit_mm's
    // smp_mb__after_spinlock (smp_mb on powerpc): 6. mm_cid: switch_mm_cid's smp_mb at the
    // 4 kernel→user switches, its smp_mb__after_mmgrab (smp_mb on powerpc) at A's T→idle
    // (B's exiting T has no mm by then: kernel→kernel), and B's sched_mm_cid_exit_signals: 6
    // more, 12. __schedule's smp_mb__after_spinlock (smp_mb on powerpc) before each rq->curr
    // store: A idle→T, T→idle, idle→U1; B idle→T, T→idle, idle→U2: 6 more, 18.
    assert_eq!(s.path_barriers, 18);
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
    // other 9 return from lazy to the same mm and read tlb_gen after smp_mb: 4 × 9 = 36; and
    // switch_mm_cid's kernel→user smp_mb at every idle→T: 4 × 10 = 40 (its user→kernel
    // smp_mb__after_mmgrab is a compiler barrier on x86). 76.
    assert_eq!(r.path_barriers, 76);
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
    // §7 #12: "A model that drops the barrier must fail this test". A goes T(M) → kthread →
    // T'(M) with M registered: no CR3 write on the return to M, so membarrier's barrier after
    // the rq->curr store must come from somewhere else. S's is mmdrop_lazy_tlb_sched's
    // smp_mb() in finish_task_switch.
    use lazymm_model::schemes::shootdown::Shootdown;
    let s = find("12").unwrap();
    let broken = || Named {
        scheme: Box::new(Shootdown {
            mutant: Some("shootdown-without-membarrier-mb"),
            membarrier_mb: false,
        }),
        name: "shootdown-without-membarrier-mb".into(),
        era: lazymm_model::Era::Mainline,
    };
    let s_v = variant("shootdown").unwrap();
    let run = |mm_cid: bool| {
        let mut knobs = s_v.knobs(ArchId::PpcRadix);
        (s.knobs)(&mut knobs);
        knobs.mm_cid = mm_cid;
        run_with_knobs(&s, broken(), ArchId::PpcRadix, knobs)
            .row
            .violations
    };
    // Without the mm_cid hooks (v6.3: S, and mm_cid without its barriers; they came in v6.4) nothing else orders
    // it: the mutant is caught.
    let v = run(false);
    assert!(v.iter().any(|v| v.starts_with("membarrier")), "{v:?}");
    // v6.4–v6.18: switch_mm_cid()'s kernel→user smp_mb(), issued after the rq->curr store
    // and before the return to user space, is such a barrier, so the mutant is not caught
    // on the mainline knobs: there S's barrier is the second one on that edge.
    let v = run(true);
    assert!(v.is_empty(), "{v:?}");
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
fn exit_mmput_elsewhere_reaches_the_lazy_cpu_remotely() {
    // #30: T (M's only thread) exits on A and is preempted before exit_mm's mmput: T →
    // idle is kernel → kernel, so A's idle inherits active_mm = M and A stays lazy on M.
    // B takes the dying T over (its idle is on init_mm, so T resumes on init_mm) and runs
    // mmput(M) → __mmput → exit_mmap there. Then A runs U (another mm).
    // S (ppc radix): no lazy reference; B's __mmput drops the last mm_count (1 RMW) and
    // __mmdrop's shootdown IPIs A, the only other CPU in M's sticky mask (B never loaded M):
    // 1 lazy IPI, freed on B — a remote shootdown, which an exit on the lazy CPU itself
    // never needs.
    let s = row("30", SchemeId::Shootdown, ArchId::PpcRadix);
    assert_eq!((s.lazy_ipis, s.flush_ipis, s.mm_count_rmw), (1, 0, 1));
    assert!(s.freed_at.starts_with("cpu1 __mmput"), "{}", s.freed_at);
    // MD: exit_mm's mmgrab_lazy_tlb put M in A's slot; B's hp_scan finds it: 2 synchronous
    // calls (shoot, check); freed on B.
    let m = row("30", SchemeId::HazardMd, ArchId::PpcRadix);
    assert_eq!(m.lazy_ipis, 2);
    assert!(m.freed_at.starts_with("cpu1 __mmput"), "{}", m.freed_at);
    // R (x86): A drops init_mm (idle → T) and exit_mm grabs M; B's __mmput drops one; A's
    // idle → U drops the lazy one: 4 mm_count RMWs, freed by A's finish_task_switch. B's
    // exit_mmap flush IPIs A (in M's mask, lazy, tables freed): 1 flush IPI.
    let r = row("30", SchemeId::Refcount, ArchId::X86);
    assert_eq!((r.mm_count_rmw, r.flush_ipis, r.lazy_ipis), (4, 1, 0));
    assert!(
        r.freed_at.starts_with("cpu0 finish_task_switch"),
        "{}",
        r.freed_at
    );
    // H+fixes (arm64): exit_mm's grab published A's lazy_mm = M; B's scan loads the 4 online
    // CPUs' lazy_mm, finds A and hands it the reference through A's drop_mm (cmpxchg), which
    // A's switch to U releases (xchg): 2 drop_mm RMWs, freed on A.
    let h = row("30", SchemeId::Hazard, ArchId::Arm64);
    assert_eq!((h.lazy_ipis, h.scan_loads, h.drop_mm_rmw), (0, 4, 2));
    assert!(
        h.freed_at.starts_with("cpu0 finish_task_switch"),
        "{}",
        h.freed_at
    );
    for r in [&s, &m, &r, &h] {
        assert!(r.violations.is_empty(), "{:?}", r.violations);
    }
}
