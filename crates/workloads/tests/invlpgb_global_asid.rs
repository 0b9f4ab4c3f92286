//! AMD INVLPGB with global ASIDs (v6.15, Rik van Riel; 7.2 `arch/x86/mm/tlb.c`), on the
//! mainline x86 era with `Knobs::invlpgb`, on the step engine (jiffies stay 0).
//!
//! CPU 0 runs a thread of M and flushes four times (`madvise(DONTNEED)`: no page tables
//! freed). Meanwhile CPUs 1–4 run other threads of M, or fewer CPUs do, or some of them went
//! lazy on M. The kernel code the counts come from:
//! - `flush_tlb_mm_range`: `inc_mm_tlb_gen`. Then, if `mm_global_asid(mm)`,
//!   `broadcast_tlb_flush` (INVLPGB). Otherwise, with another CPU in `mm_cpumask`,
//!   `flush_tlb_multi` followed by `consider_global_asid(mm)`.
//! - `consider_global_asid`: needs `(current->pid & 0x1f) == (jiffies & 0x1f)`, then
//!   `mm_active_cpus_exceeds(mm, 3)`. That function returns false when the mask has at most 3
//!   CPUs; otherwise it counts the CPUs of the mask with `loaded_mm == mm` and not lazy, and
//!   returns true once the count passes 3.
//! - `use_global_asid` → `allocate_global_asid`. The first allocation on a machine starts
//!   with `last_global_asid == MAX_ASID_AVAILABLE`, so it first runs
//!   `reset_global_asid_space`: `invlpgb_flush_all_nonglobals()`, one broadcast.
//! - `broadcast_tlb_flush`: INVLPGB (one broadcast), then `finish_asid_transition`. While any
//!   CPU of the mask has the mm loaded on another ASID, it calls `flush_tlb_multi(mask)`: one
//!   IPI per other CPU of the mask, and the local CPU runs the handler directly. Once every
//!   CPU is on the global ASID, the transition ends.
//! - `flush_tlb_func` with `mm_needs_global_asid`: `switch_mm_irqs_off(NULL, loaded_mm)`
//!   reloads CR3 with the global ASID (an MMU switch, no flush), then returns: "Broadcast
//!   ASIDs are always kept up to date with INVLPGB".

use lazymm_engines::step::{self, Step, StepConfig};
use lazymm_model::counters::CounterSnapshot;
use lazymm_model::{Arch, ArchId, Config, Kernel, Knobs, SchemeId, SysOp, TaskId, TaskRef};
use std::sync::Arc;

const NCPUS: usize = 6;

fn op(o: SysOp) -> Step {
    Step::Op(o)
}

fn flush() -> Step {
    op(SysOp::Munmap {
        freed_tables: false,
    })
}

/// How the other CPUs use M while CPU 0 flushes.
#[derive(Clone, Copy)]
enum Others {
    /// CPUs 1..=n run a thread of M.
    Running(usize),
    /// CPUs 1–4 switched to a thread of M; CPUs 3 and 4 then went idle, lazy on M.
    TwoLazy,
}

/// Boots a 6-CPU R kernel, creates M with five threads, the first of which has a pid (task
/// number) divisible by 32 — or not, with `aligned_flusher == false` — and runs the
/// scripts. Returns the counters of the run.
fn run(invlpgb: bool, aligned_flusher: bool, others: Others) -> CounterSnapshot {
    let knobs = Knobs {
        invlpgb,
        ..Knobs::mainline(ArchId::X86)
    };
    let k = Arc::new(Kernel::boot(
        Config {
            ncpus: NCPUS,
            arch: Arch::profile(ArchId::X86),
            knobs,
            max_mms: 8,
            max_tasks: 48,
            label: "invlpgb-global-asid".into(),
            topo: Default::default(),
        },
        SchemeId::Refcount.build(),
    ));
    // Task numbers start at NCPUS (the idle tasks come first): pad up to 32.
    let (_pad, p) = k.create_process(32 - NCPUS).unwrap();
    assert_eq!(p.last(), Some(&TaskId(31)));
    let (_m, ts) = k.create_process(5).unwrap();
    assert_eq!(ts[0], TaskId(32), "pid & 0x1f == 0 == jiffies & 0x1f");
    let flusher = if aligned_flusher { ts[0] } else { ts[1] };
    let rest: Vec<TaskId> = ts.iter().copied().filter(|&t| t != flusher).collect();
    let n = match others {
        Others::Running(n) => n,
        Others::TwoLazy => 4,
    };
    let mut cpu0 = vec![op(SysOp::Switch(TaskRef::Task(flusher)))];
    cpu0.extend((1..=n).map(|i| Step::WaitMark(format!("on{i}"))));
    cpu0.extend([
        flush(),
        flush(),
        flush(),
        flush(),
        Step::Mark("done".into()),
    ]);
    let mut scripts = vec![cpu0];
    for i in 1..=n {
        let mut s = vec![op(SysOp::Switch(TaskRef::Task(rest[i - 1])))];
        if matches!(others, Others::TwoLazy) && i >= 3 {
            s.push(op(SysOp::Switch(TaskRef::Idle)));
        }
        s.extend([Step::Mark(format!("on{i}")), Step::WaitMark("done".into())]);
        scripts.push(s);
    }
    let before = k.counters.snapshot();
    let r = step::run(
        k.clone(),
        scripts,
        &StepConfig {
            max_steps: 100_000,
            ..StepConfig::default()
        },
    );
    assert_eq!(r.stop, step::Stop::Completed);
    assert!(
        k.oracle.violations().is_empty(),
        "{:?}",
        k.oracle.violations()
    );
    k.counters.snapshot() - before
}

#[test]
fn invlpgb_mm_on_five_cpus_gets_a_global_asid_then_broadcasts_after_one_transition_ipi_round() {
    let off = run(false, true, Others::Running(4));
    let on = run(true, true, Others::Running(4));
    // Without INVLPGB: each of the 4 flushes IPIs CPUs 1–4 (running M, not lazy): 16 IPIs.
    // Every CPU flushes its TLB for each flush: 5 × 4 local flushes.
    assert_eq!((off.flush_ipis, off.broadcast_flushes), (16, 0));
    assert_eq!(off.local_flushes, 20);
    // With it:
    // - Flush 1: 4 IPIs and 5 local flushes, as above. consider_global_asid: pid 32, jiffies
    //   0; 5 CPUs in the mask, all on M and not lazy, so a global ASID. Its allocation is the
    //   machine's first: reset_global_asid_space, 1 broadcast.
    // - Flush 2: 1 INVLPGB. Every CPU still runs M on its dynamic ASID, so the transition
    //   IPIs the mask: 4 IPIs. The 5 handlers (CPU 0's run directly) reload CR3 with the
    //   global ASID (5 MMU switches, no flush) and return.
    // - Flush 3: 1 INVLPGB; every CPU is on the global ASID, so the transition ends.
    // - Flush 4: 1 INVLPGB.
    assert_eq!((on.flush_ipis, on.broadcast_flushes), (4 + 4, 1 + 3));
    assert_eq!(on.local_flushes, 5);
    assert_eq!(on.mmu_switches, off.mmu_switches + 5);
}

#[test]
fn invlpgb_global_asid_waits_for_the_flushers_pid_to_match_jiffies() {
    // pid 33: 33 & 0x1f = 1, not jiffies & 0x1f = 0, so consider_global_asid returns
    // at once, after every flush: the counts are those without INVLPGB.
    let on = run(true, false, Others::Running(4));
    let off = run(false, false, Others::Running(4));
    assert_eq!((on.flush_ipis, on.broadcast_flushes), (16, 0));
    assert_eq!(on, off);
}

#[test]
fn invlpgb_global_asid_needs_more_than_three_active_cpus() {
    // CPUs 0–2 on M: mm_cpumask has 3 CPUs, not more than the threshold 3.
    let on = run(true, true, Others::Running(2));
    assert_eq!((on.flush_ipis, on.broadcast_flushes), (2 * 4, 0));
    // CPUs 0–4 in the mask, but 3 and 4 lazy: the mask's weight passes the quick check, yet
    // only CPUs 0–2 count (loaded_mm == M, !is_lazy). The flushes skip the lazy CPUs
    // (should_flush_tlb): 2 IPIs each, and no global ASID.
    let on = run(true, true, Others::TwoLazy);
    assert_eq!((on.flush_ipis, on.broadcast_flushes), (2 * 4, 0));
    assert_eq!(on, run(false, true, Others::TwoLazy));
}
