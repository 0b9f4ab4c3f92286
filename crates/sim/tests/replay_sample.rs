//! The shipped sample trace (`traces/sample.ftrace`, see `traces/README.md`) replayed on the
//! toy profile (tests/data/toy-machine.toml, x86, 2 CPUs as in the trace), against figures
//! this file derives itself from the trace's events.
//!
//! The derivation (`sample_interp/mod.rs`) is a small, separate reading of the kernel's
//! rules — it does not call the replay driver's planner or task code. It follows the trace
//! line by line, keeping per CPU the current task, its `active_mm`, the MMU's `loaded_mm`,
//! and the CPUs each mm was ever loaded on; per mm its `mm_users` and R's `mm_count`. The
//! conventions it shares with the driver are those the driver documents:
//!
//! - `drivers/replay/tasks.rs`: pid 0 is the CPU's idle task; a task first seen without a
//!   fork is a kernel thread iff its `comm` is a kernel thread's name (here: `rcu_`,
//!   `migration/`, `ksoftirqd/`, `kworker/`) and no line records it with another tgid;
//!   otherwise it is a thread of process `tgid` if that process has a live mm, else a new
//!   process. A forked child is a thread iff its recorded tgid is its parent's.
//! - `drivers/replay/plan.rs`: a task's `sched_process_exit` makes its next switch out that
//!   is not a preemption (`prev_state` not `R`/`R+`) its final switch: `do_exit` (then
//!   `exit_mm`) runs there, right before that switch.
//! - `drivers/replay/plan.rs`: a line whose current task is not the CPU's current task shows
//!   a switch the trace lacks, played before the line as a switch to that task — except
//!   `switch_mm_irqs_off`'s `tlb_flush` "flush on task switch" (reason 0) lines of the switch
//!   just traced, whose current task is still its prev.
//! - `drivers/replay/mod.rs`: each CPU starts (setup, boot context, not measured) in the
//!   current task of its first line, unless a fork earlier in the trace made that task (then
//!   the CPU starts idle and the switch in is inferred); a line whose `prev` is not the CPU's current task (a
//!   lost event) is a mismatch and is still played, as a switch from the current task to
//!   `next`; an exec by a task that is not current is a mismatch and is skipped.

use lazymm_model::era::{self, Variant};
use lazymm_model::scheme::SchemeId;
use lazymm_sim::SimReport;
use lazymm_trace::Event;
use lazymm_workloads::drivers::replay::scan::scan;
use lazymm_workloads::drivers::replay::ReplayStats;

mod replay_common;
mod sample_interp;

use sample_interp::Interp;

/// The variants `lazymm replay` runs (the clean variant of each scheme); S-ppc is
/// infeasible on x86 and skipped.
fn variants() -> Vec<Variant> {
    era::variants().into_iter().filter(|v| v.clean).collect()
}

fn sample() -> Vec<Event> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../traces/sample.ftrace");
    lazymm_trace::open(std::path::Path::new(path), None, false)
        .expect("the sample opens")
        .map(|r| r.expect("the sample parses"))
        .collect()
}

/// Replays `evs` with `v` on the toy machine (`replay_common`); None if infeasible on x86.
fn replay(v: Variant, evs: &[Event], ncpus: usize) -> Option<(SimReport, ReplayStats)> {
    let sc = scan(evs.iter().cloned().map(Ok)).expect("scan");
    assert!(sc.has_tgid && sc.cpus == ncpus);
    replay_common::replay(v, evs)
}

/// Trace-level figures, every clean x86 variant. `traces/README.md` lists 292 switch, 5
/// exec and 8 exit lines; the derivation checks them and finds on top (on this trace) 4
/// switches out of CPU 1's idle task that the kernel recorded here did not trace (it traces
/// none on CPUs other than 0: `traces/README.md`), each shown by the next line's task:
/// `kworker/1:0H` at lines 661 and 664 (it switches to `swapper/1` again at 658, 661, 664),
/// `ksoftirqd/1` at 670, and `opt cgu.03` at 903, after CPU 1 went idle at 892. So no
/// mismatch is left and every one of the 292 + 4 switches is a context switch (296).
/// Forks: the 5 children of `lazymm`/`sh` have their own tgid (processes), `sched-pipe`'s 2
/// have tgid 14060 (threads).
#[test]
fn sample_trace_switches_forks_execs_exits_and_lazy_switches_match_the_derivation() {
    let evs = sample();
    let d = Interp::run(&evs, 2);
    assert_eq!((d.switches, d.execs, d.exits), (292, 5, 8), "{d:?}");
    assert_eq!(
        (d.inferred_from_idle, d.inferred_other, d.mismatches),
        (4, 0, 0),
        "{d:?}"
    );
    assert_eq!(d.context_switches, 296, "{d:?}");
    let mut ran = 0;
    for v in variants() {
        let Some((r, st)) = replay(v, &evs, 2) else {
            continue;
        };
        ran += 1;
        let n = v.name;
        let inferred = d.inferred_from_idle + d.inferred_other;
        assert_eq!(st.switches, d.switches + inferred, "{n}");
        assert_eq!(
            (st.inferred_from_idle, st.inferred_other),
            (d.inferred_from_idle, d.inferred_other),
            "{n}"
        );
        assert_eq!(r.context_switches, d.context_switches, "{n}");
        assert_eq!(st.mismatches, d.mismatches, "{n}");
        assert_eq!(st.not_applied, 0, "{n}");
        assert_eq!(
            (st.execs, st.exits, st.placed),
            (d.execs, d.exits, d.placed),
            "{n}"
        );
        assert_eq!(
            (st.forked_processes, st.forked_threads, st.forked_kthreads),
            (d.forked_processes, d.forked_threads, d.forked_kthreads),
            "{n}"
        );
        assert_eq!(st.initial_kthreads, d.initial_kthreads, "{n}");
        assert_eq!(st.kthreads_by_name, d.initial_kthreads, "{n}");
        assert_eq!(st.lazy_switches, d.lazy_switches, "{n}");
        assert_eq!(r.free_latency.exited as u64, d.mmputs, "{n}");
    }
    assert_eq!(ran, 6, "R, S, L, H, H-x86, MD run on x86 (S-ppc cannot)");
}

/// mm_count RMWs, free and IPIs per scheme, from the derivation:
/// - R: +1 per user → kernel switch (mmgrab_lazy_tlb), +1 per kernel → user switch
///   (finish_task_switch's mmdrop_lazy_tlb_sched of the kthread's or idle's active_mm,
///   init_mm included; a dead task's final switch counts as kernel: exit_mm cleared its
///   mm), +1 per exit (exit_mm's mmgrab), +1 per `__mmput` (its mmdrop). On this trace:
///   58 + 66 + 8 + 10 = 142, and all 10 mms that reached mm_users 0 are freed (each lazy
///   reference to them is dropped before the trace ends);
/// - S, L, MD: their lazy grab/drop touch no mm_count: 1 RMW per `__mmput` (the mmdrop);
/// - H (+fixes, both iterators): exit_mmap's local flush unlazies the exiting CPU (patch 21:
///   a lazy CPU's flush goes through unlazy_mm_irqs_off) before mm_unlazy_mm_count scans, so
///   the scan finds a lazy_mm only on another CPU lazy on the mm — none in this trace
///   (`lazy_remote` = 0) — and costs its unconditional atomic_sub: 2 RMWs per `__mmput`;
/// - exit-flush IPIs: mainline's lazy mask (R, S, L) reaches every other CPU that ever
///   loaded the mm; the mask cleared on switch-out (H's v5.16, MD's v6.11) only those with
///   it still loaded. On this trace 3 vs 0: CPU 0 ran the forked copies of 14060 (line 81)
///   and 14064 (839), and sched-pipe's threads (282–500), each mm then put on CPU 1 (execs
///   at 95 and 853, exit at 507) after CPU 0 had switched to another mm (86, 844, 500);
/// - scheme smp_mb()s: S's mmdrop_lazy_tlb issues one (membarrier) per kernel → user switch
///   (66); MD's grab and drop one each per user → kernel switch, exit_mm and kernel → user
///   switch, and hp_scan one per `__mmdrop` (58 + 8 + 66 + 10 = 142); R, L, H none;
/// - CR3 writes (every scheme): each switch or exec to an mm other than the loaded one, plus
///   one per CPU the exit flush moves off the mm (leave_mm or unlazy), setup excluded (85:
///   the inferred idle → `opt cgu.03` switch at line 903 loads its mm before
///   `memfd:sealed-91`'s at 905);
/// - lazy IPIs: S and L shoot the other CPUs left in the mask with the mm loaded, MD the
///   other CPUs whose slot holds it (lazy on it): none here, so 0 for all.
#[test]
fn sample_trace_mm_count_and_ipis_per_scheme_match_the_derivation() {
    let evs = sample();
    let d = Interp::run(&evs, 2);
    // Nobody else holds a dying mm here: the H and lazy-IPI figures below rely on it.
    assert_eq!((d.loaded_ipis, d.lazy_remote), (0, 0), "{d:?}");
    // The figures the doc comment above states, as the derivation finds them in the trace.
    assert_eq!(
        (
            d.to_kernel,
            d.to_user,
            d.exits,
            d.mmputs,
            d.r_rmw,
            d.mask_ipis,
            d.mmu_switches
        ),
        (58, 66, 8, 10, 142, 3, 85),
        "{d:?}"
    );
    let mut ran = 0;
    for v in variants() {
        let Some((r, _)) = replay(v, &evs, 2) else {
            continue;
        };
        ran += 1;
        let n = v.name;
        let c = &r.counters;
        let md_mb = d.to_kernel + d.exits + d.to_user + d.mmputs;
        let (rmw, flush, mb) = match v.scheme {
            SchemeId::Refcount => (d.r_rmw, d.mask_ipis, 0),
            SchemeId::Shootdown => (d.mmputs, d.mask_ipis, d.to_user),
            SchemeId::MmputFlush => (d.mmputs, d.mask_ipis, 0),
            SchemeId::Hazard | SchemeId::HazardX86 => (2 * d.mmputs, d.loaded_ipis, 0),
            SchemeId::HazardMd => (d.mmputs, d.loaded_ipis, md_mb),
            s => panic!("unexpected clean x86 scheme {s:?}"),
        };
        assert_eq!(c.mm_count_rmw, rmw, "{n}: {d:?}");
        assert_eq!(c.flush_ipis, flush, "{n}: {d:?}");
        assert_eq!(c.lazy_ipis, 0, "{n}");
        assert_eq!(c.drop_mm_rmw, 0, "{n}");
        assert_eq!(c.scheme_barriers, mb, "{n}: {d:?}");
        assert_eq!(c.mmu_switches, d.mmu_switches, "{n}: {d:?}");
        if v.scheme == SchemeId::Refcount {
            assert_eq!(r.free_latency.freed as u64, d.r_freed, "{n}: {d:?}");
        }
    }
    assert_eq!(ran, 6, "R, S, L, H, H-x86, MD run on x86 (S-ppc cannot)");
}
