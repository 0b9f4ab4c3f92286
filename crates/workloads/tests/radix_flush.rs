//! powerpc radix `flush_type_needed()` (arch/powerpc/mm/book3s64/radix_tlb.c): a flush by the
//! only thread of a single-threaded process first IPIs the other CPUs out of `mm_cpumask`
//! (`exit_flush_lazy_tlbs`), then flushes with a local tlbiel instead of a broadcast tlbie.
//!
//! T, M's only thread, runs on cpu1, then on cpu0 (cpu1 stays lazy on M, in the sticky mask);
//! cpu0 flushes M without freeing page tables. Mainline, R.

mod scripted;

use lazymm_engines::step::{Step, StepConfig};
use lazymm_model::counters::CounterSnapshot;
use lazymm_model::{ArchId, Knobs, SchemeId, SysOp, TaskRef};

fn op(o: SysOp) -> Step {
    Step::Op(o)
}

fn run(flush: bool) -> CounterSnapshot {
    let arch = ArchId::PpcRadix;
    let k = scripted::boot(arch, Knobs::mainline(arch), SchemeId::Refcount, 2);
    let (_m, ts) = k.create_process(1).unwrap();
    let cpu1 = vec![
        op(SysOp::Switch(TaskRef::Task(ts[0]))),
        op(SysOp::Switch(TaskRef::Idle)),
        Step::Mark("left".into()),
    ];
    let mut cpu0 = vec![
        Step::WaitMark("left".into()),
        op(SysOp::Switch(TaskRef::Task(ts[0]))),
    ];
    if flush {
        cpu0.push(op(SysOp::Munmap {
            freed_tables: false,
        }));
    }
    scripted::run(&k, vec![cpu0, cpu1], &StepConfig::default())
}

#[test]
fn single_threaded_flush_trims_the_mask_and_flushes_locally() {
    let c = run(true);
    let none = run(false);
    // radix__flush_tlb_mm: smp_mb(); flush_type_needed(mm, false): active_cpus 2 (cpu0, and
    // cpu1 lazy), not fullmm, mm_users 1 and current->mm == mm → exit_flush_lazy_tlbs: 1 IPI
    // to cpu1, whose exit_lazy_flush_tlb finds it lazy on M: mmgrab_lazy_tlb(&init_mm),
    // switch to init_mm (1 MMU switch), mmdrop_lazy_tlb(M) (R: 2 mm_count RMWs), clear its
    // bit, tlbiel (1 local flush); then FLUSH_TYPE_LOCAL on cpu0: tlbiel (1). No broadcast.
    assert_eq!(c.flush_ipis, 1);
    assert_eq!((c.local_flushes, c.broadcast_flushes), (2, 0));
    assert_eq!(c.mmu_switches, none.mmu_switches + 1);
    assert_eq!(c.mm_count_rmw, none.mm_count_rmw + 2);
}
