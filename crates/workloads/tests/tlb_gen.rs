//! x86 `tlb_gen` (arch/x86/mm/tlb.c): a flush that frees no page tables skips lazy CPUs
//! (`should_flush_tlb`), so a lazy CPU returning to the same mm finds its TLB generation
//! behind `mm->context.tlb_gen` and reloads CR3 with a flush ("TLB contents went out of date
//! while we were in lazy mode").
//!
//! cpu1 runs T1 of M and goes idle, lazy on M. cpu0, on T0 of M, flushes M; then cpu1 goes
//! back to T1. Mainline x86, R (the flush path is common to every scheme).
//!
//! Also mainline's `should_flush_tlb` and `LOADED_MM_SWITCHING`: a CPU in the middle of a
//! switch is flushed whatever mm it is switching between.

mod scripted;

use lazymm_engines::step::{Gate, Step, StepConfig};
use lazymm_model::counters::CounterSnapshot;
use lazymm_model::{ArchId, Knobs, SchemeId, SysOp, TaskRef};

fn op(o: SysOp) -> Step {
    Step::Op(o)
}

/// The workload's counters.
fn run(flush: Option<bool>) -> CounterSnapshot {
    let k = scripted::boot(
        ArchId::X86,
        Knobs::mainline(ArchId::X86),
        SchemeId::Refcount,
        2,
    );
    let (_m, ts) = k.create_process(2).unwrap();
    let mut cpu0 = vec![
        op(SysOp::Switch(TaskRef::Task(ts[0]))),
        Step::WaitMark("lazy".into()),
    ];
    if let Some(freed_tables) = flush {
        cpu0.push(op(SysOp::Munmap { freed_tables }));
    }
    cpu0.push(Step::Mark("flushed".into()));
    let cpu1 = vec![
        op(SysOp::Switch(TaskRef::Task(ts[1]))),
        op(SysOp::Switch(TaskRef::Idle)),
        Step::Mark("lazy".into()),
        Step::WaitMark("flushed".into()),
        op(SysOp::Switch(TaskRef::Task(ts[1]))),
    ];
    scripted::run(&k, vec![cpu0, cpu1], &StepConfig::default())
}

#[test]
fn lazy_return_after_a_skipped_flush_flushes_itself() {
    // MADV_DONTNEED-style flush (no page tables freed): flush_tlb_mm_range bumps tlb_gen to 1;
    // cpu1 is in mm_cpumask but lazy, so should_flush_tlb skips it: no IPI. cpu0 flushes
    // itself (flush_tlb_func locally: local_tlb_gen 0 < 1): 1 local flush. cpu1's return to
    // M (same mm, was_lazy): smp_mb(), tlb_gen 1 != its 0, load_new_mm_cr3(.., need_flush):
    // 1 more.
    let c = run(Some(false));
    assert_eq!((c.flush_ipis, c.local_flushes), (0, 2));
    // Without the flush, cpu1's TLB is current: the lazy return flushes nothing.
    let none = run(None);
    assert_eq!((none.flush_ipis, none.local_flushes), (0, 0));
    // Same MMU switches either way: the stale return reloads CR3 for the same mm, which the
    // model counts as the flush it is, not as a switch of mm.
    assert_eq!(c.mmu_switches, none.mmu_switches);
}

#[test]
fn freeing_flush_moves_the_lazy_cpu_off_the_mm_instead() {
    // With page tables freed the flush IPIs lazy CPUs too: cpu1's flush_tlb_func finds
    // is_lazy and switches to init_mm (1 flush IPI, an MMU switch, no local flush there).
    // Its return to T1 is then a real switch init_mm → M, whose CR3 write starts from the
    // current tlb_gen: no local flush. cpu0 flushes itself: 1.
    let c = run(Some(true));
    let none = run(None);
    assert_eq!((c.flush_ipis, c.local_flushes), (1, 1));
    // leave_mm's switch to init_mm and the switch back to M: 2 more than without the flush.
    assert_eq!(c.mmu_switches, none.mmu_switches + 2);
}

#[test]
fn flush_ipis_a_cpu_in_the_middle_of_a_switch() {
    // cpu1 runs X, then U (with Rik's lazy mask its bit in mm_cpumask(X) stays set), then
    // switches U → M and is held just before the CR3 write, with loaded_mm ==
    // LOADED_MM_SWITCHING. cpu0, on another thread of X, flushes X without freeing tables:
    // should_flush_tlb(cpu1): not lazy, "while switching, the remote CPU could have state
    // from either the prev or next mm. Assume the worst and flush": 1 IPI. Its handler runs
    // once cpu1 has M loaded: f->mm != loaded_mm, so it clears cpu1's bit in X and returns
    // (the end-of-run quiesce may run X's thread there again, so the mask is not checked).
    // cpu0 flushes itself: 1 local flush. (Before LOADED_MM_SWITCHING was modelled, cpu1's
    // loaded_mm still read U here and no IPI went out.)
    let k = scripted::boot(
        ArchId::X86,
        Knobs::mainline(ArchId::X86),
        SchemeId::Refcount,
        2,
    );
    let (_x, xs) = k.create_process(2).unwrap();
    let (_u, us) = k.create_process(1).unwrap();
    let (_m, ms) = k.create_process(1).unwrap();
    let at = "switch_mm_irqs_off:before_cr3";
    let cpu0 = vec![
        op(SysOp::Switch(TaskRef::Task(xs[0]))),
        Step::WaitMark(format!("cpu1@{at}#2")),
        op(SysOp::Munmap {
            freed_tables: false,
        }),
        Step::Mark("flushed".into()),
    ];
    let cpu1 = vec![
        op(SysOp::Switch(TaskRef::Task(xs[1]))),
        op(SysOp::Switch(TaskRef::Task(us[0]))),
        op(SysOp::Switch(TaskRef::Task(ms[0]))),
    ];
    let cfg = StepConfig {
        // The first real switch with a user prev is X → U; U → M is the second arrival.
        gates: vec![Gate {
            cpu: 1,
            at,
            nth: 2,
            until: "flushed".into(),
        }],
        ..StepConfig::default()
    };
    let c = scripted::run(&k, vec![cpu0, cpu1], &cfg);
    assert_eq!((c.flush_ipis, c.local_flushes), (1, 1));
}
