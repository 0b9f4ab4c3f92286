//! Spec §7 expectations for scenarios #13–#29 (arch paths, hotplug, hazard races, flushes,
//! RT, mm_cid, gated windows), variant by variant: counts and free points.
//!
//! Every count asserted here is the workload's alone (the end-of-run quiesce is not
//! counted) and carries its derivation from the kernel paths. Unless a test says otherwise
//! a row is the clean variant of its scheme: mainline for R, S, S-ppc, L; as posted plus
//! the named fixes for H, H-x86 and MD (`lazymm_model::era`).

mod scenario_rows;

use lazymm_model::era::variants;
use lazymm_model::{ArchId, SchemeId};
use lazymm_workloads::scenarios::{find, run_scenario, run_variant};
use scenario_rows::*;

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
    // (2 × 5 × 2 = 20), S only on kernel→user (10), H and L on neither.
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
    // switch_mm_cid() (v6.4–v6.18; mm_cid.rs) on the same runs. On x86 the path barriers are
    // the 4 same-mm lazy returns per CPU that read tlb_gen after smp_mb (2 × 4 = 8; the first
    // idle→T is a real switch whose mask-bit atomic orders it), plus switch_mm_cid's
    // kernel→user smp_mb() at every idle→T (10): 18, for every scheme on a v6.4+ base. On the
    // user→kernel edge switch_mm_cid has only smp_mb__after_mmgrab(), a compiler barrier on
    // x86: the full barrier there is R's mmgrab (locked RMW; 10 of its 20 mm_count RMWs) or
    // MD's smp_mb (10 of its 20) — S and L have none (spec §4.9), and mm_cid's remote clear
    // (not modelled) would need one.
    for s in [
        SchemeId::Refcount,
        SchemeId::Shootdown,
        SchemeId::MmputFlush,
    ] {
        assert_eq!(row("25", s, ArchId::X86).path_barriers, 18, "{s:?}");
    }
    assert_eq!(row("25", SchemeId::HazardMd, ArchId::X86).path_barriers, 18);
    assert_eq!(row("25", SchemeId::Refcount, ArchId::X86).mm_count_rmw, 20);
    // H runs v5.16, before mm_cid: only the 8.
    assert_eq!(row("25", SchemeId::Hazard, ArchId::X86).path_barriers, 8);
    // arm64 keeps no mm_cpumask and issues no tlb_gen barrier; switch_mm_cid issues smp_mb
    // on both edges (smp_mb__after_mmgrab is smp_mb there): 20; __schedule's
    // smp_mb__after_spinlock before each of the 20 rq->curr stores is smp_mb there: 20 more;
    // and __switch_to's dsb(ish) in each of the 20 switches (arch/arm64/kernel/process.c,
    // "also required by the membarrier system call"): 20 more.
    assert_eq!(
        row("25", SchemeId::Refcount, ArchId::Arm64).path_barriers,
        60
    );
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

#[test]
fn switch_away_before_cr3_frees_under_cr3_only_when_the_mask_bit_goes_first() {
    // #29, H-x86+fixes: A is held in switch_mm_irqs_off(M → N) before its CR3 write, still in
    // mm_cpumask(M) (the fix clears the bit after the write). B's exit_mmap flush frees page
    // tables, so it IPIs every CPU in the mask but itself (local: a direct call): A, 1 flush
    // IPI. B waits for it while A's IRQs are off, until A's switch is done and A has left
    // the mask. B's own flush had already un-lazied B (patch 21), so its __mmput scan finds
    // nobody in the mask: 0 scan loads, and M is freed there, after A's CR3 moved.
    let h = row("29", SchemeId::HazardX86, ArchId::X86);
    assert!(h.violations.is_empty(), "{h:?}");
    assert_eq!((h.flush_ipis, h.scan_loads), (1, 0));
    assert!(h.freed_at.starts_with("cpu1 __mmput"), "{}", h.freed_at);
    // v5.16's order (mutant l): A cleared its bit before the gate, so the flush has no
    // remote target (0 flush IPIs) and the scan none either: B frees M's pgd while A's CR3
    // still points at it.
    let m = mutant("l-");
    let o = m.run_with(m.named(), m.knob_set());
    assert_eq!((o.row.flush_ipis, o.row.scan_loads), (0, 0), "{:?}", o.row);
    assert!(
        o.row.violations[0].starts_with("freed-while-loaded")
            && o.row.violations[0].contains("cpu0 still has it loaded in its MMU"),
        "{:?}",
        o.row.violations
    );
    // H generic scans every CPU's lazy_mm, MD every hazard slot: both still find A there,
    // with the bit already cleared (their v5.16 / v6.11 order).
    for v in ["hazard+fixes", "hazard-md+fixes"] {
        let r = vrow("29", v, ArchId::X86);
        assert!(r.violations.is_empty(), "{v}: {r:?}");
    }
}

#[test]
fn text_poke_switches_mm_on_radix_only_from_the_temporary_mm_era() {
    // #14 on ppc radix: A runs T (init_mm → M), goes idle lazy on M, then patches text;
    // B runs T (init_mm → M) and exits it. Mainline's patch_instruction uses a temporary
    // mm (about v6.2): start_using_temp_mm switches M → poking_mm and back, and does no
    // leave_mm or unlazy (powerpc's mask is sticky): 2 + 2 = 4 MMU switches for R.
    assert_eq!(
        row("14", SchemeId::Refcount, ArchId::PpcRadix).mmu_switches,
        4
    );
    // H's base, v5.16, wrote through a vmalloc'd text-poke area: no mm switch, and Andy's
    // unlazy-before-temporary-mm (patches 18/22) is x86 only: 2.
    let h = row("14", SchemeId::Hazard, ArchId::PpcRadix);
    assert_eq!(h.mmu_switches, 2);
    assert!(h.violations.is_empty(), "{:?}", h.violations);
}

#[test]
fn online_grabs_init_mm_plainly_outside_powerpc() {
    // #17: CPU A, lazy on M, goes offline and comes back three times, then runs T and exits
    // it. S (no lazy refcount) on x86: __mmput's mmdrop of M (1), plus each online's plain
    // mmgrab(&init_mm) in cpu_init() (3): 4. On powerpc start_secondary takes it with
    // mmgrab_lazy_tlb, which is nothing under S: 1.
    assert_eq!(row("17", SchemeId::Shootdown, ArchId::X86).mm_count_rmw, 4);
    assert_eq!(
        row("17", SchemeId::Shootdown, ArchId::PpcRadix).mm_count_rmw,
        1
    );
    // MD as posted (v6.11 hotplug order) leaves the dead CPU's slot holding M. Only
    // powerpc's mmgrab_lazy_tlb publishes a slot at online, and WARNs that it is busy; x86
    // and arm64 grab init_mm plainly and stay clean.
    let md = lazymm_model::era::variant("hazard-md").unwrap();
    let s = find("17").unwrap();
    let ppc = run_variant(&s, &md, ArchId::PpcRadix).row;
    assert!(
        ppc.violations
            .iter()
            .any(|v| v.contains("hazard slot busy")),
        "{:?}",
        ppc.violations
    );
    for arch in [ArchId::X86, ArchId::Arm64] {
        let r = run_variant(&s, &md, arch).row;
        assert!(r.violations.is_empty(), "{arch:?}: {:?}", r.violations);
    }
    // H's base, v5.16, predates the lazy helpers: its powerpc start_secondary grabs init_mm
    // plainly too, one mm_count RMW per online (3) more than H's own lazy grab would take.
    let hf = lazymm_model::era::variant("hazard+fixes").unwrap();
    let h_rmw = |lazy_grab: bool| {
        let mut knobs = hf.knobs(ArchId::PpcRadix);
        (s.knobs)(&mut knobs);
        knobs.ppc_online_lazy_grab = lazy_grab;
        let named = lazymm_workloads::run::Named::variant(&hf);
        let o = run_with_knobs(&s, named, ArchId::PpcRadix, knobs);
        assert!(o.row.violations.is_empty(), "{:?}", o.row.violations);
        o.row.mm_count_rmw
    };
    assert_eq!(h_rmw(false), h_rmw(true) + 3);
    assert_eq!(
        run_variant(&s, &hf, ArchId::PpcRadix).row.mm_count_rmw,
        h_rmw(false)
    );
}
