//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` returns at once for a single-threaded
//! process (kernel/sched/membarrier.c: `if (flags != MEMBARRIER_FLAG_SYNC_CORE &&
//! (atomic_read(&mm->mm_users) == 1 || num_online_cpus() == 1)) return 0;`).

mod scripted;

use lazymm_engines::step::{Step, StepConfig};
use lazymm_model::{ArchId, Knobs, SchemeId, SysOp, TaskRef};

/// Path barriers of one `membarrier()` call by a thread of a `threads`-thread process on
/// cpu0 of 2 (x86 mainline, R): the counters with the call minus those without it.
fn membarrier_barriers(threads: usize) -> u64 {
    let run = |call: bool| {
        let k = scripted::boot(
            ArchId::X86,
            Knobs::mainline(ArchId::X86),
            SchemeId::Refcount,
            2,
        );
        let (_m, ts) = k.create_process(threads).unwrap();
        let mut cpu0 = vec![
            Step::Op(SysOp::Switch(TaskRef::Task(ts[0]))),
            Step::Op(SysOp::MembarrierRegister),
        ];
        if call {
            cpu0.push(Step::Op(SysOp::Membarrier));
        }
        scripted::run(&k, vec![cpu0, vec![]], &StepConfig::default()).path_barriers
    };
    run(true) - run(false)
}

#[test]
fn membarrier_of_a_single_threaded_process_returns_at_once() {
    // mm_users == 1: no barrier, no IPI.
    assert_eq!(membarrier_barriers(1), 0);
    // Two threads (the other one not running anywhere): the syscall's entry and exit
    // smp_mb() (2), and no IPI since no other CPU's rq->curr runs the mm.
    assert_eq!(membarrier_barriers(2), 2);
}
