//! Helpers shared by the drivers: will-it-scale's binding, finding the tasks a `Fork`,
//! `CloneThread` or `Spawn` just created, and the idle loop.

use super::Bind;
use lazymm_engines::driver::Next;
use lazymm_model::ids::{CpuId, TaskId};
use lazymm_model::kernel::task_state;
use lazymm_model::{Kernel, SysOp};
use std::collections::{HashMap, HashSet};

/// The allowed CPUs `[lo, lo + n)` of will-it-scale testcase task `i` (main.c: hwloc object
/// `i % n`, a core with all its SMT siblings, or with `-m` one PU).
pub fn bind_mask(bind: Bind, i: usize, ncpus: usize, smt: usize) -> (CpuId, usize) {
    let ncpus = ncpus.max(1);
    let smt = smt.clamp(1, ncpus);
    match bind {
        Bind::Pu => (i % ncpus, 1),
        Bind::Core => {
            let cores = (ncpus / smt).max(1);
            let core = i % cores;
            let n = smt.min(ncpus - core * smt);
            (core * smt, n)
        }
    }
}

/// Whether the driver runs task `t`. Written when the model sized its per-task wakeup state
/// by `cfg.max_tasks` while its task table has `max_tasks + ncpus` slots (claimed
/// never-used first), so the last `ncpus` slots had no wakeup state. The model now covers
/// every slot (`kernel.rs`: `WakeState::new(ncpus, max_tasks + ncpus)`); the drivers still
/// leave such a task stranded (created, never run: a stopped process holding its mm) and
/// treat the creation as failed — at most `ncpus` tasks, after which slots are reused — so
/// that their runs stay those measured. Dropping it is left for the next change of the
/// drivers.
pub fn usable(k: &Kernel, t: TaskId) -> bool {
    (t.0 as usize) < k.cfg.max_tasks
}

/// The user tasks created since the driver last looked: runnable (`SLEEPING`), unpinned,
/// with an mm, and neither in `known` (the driver's map of the tasks it runs, from which it
/// removes a task when it exits) nor `stranded` (see [`usable`]). A creating op has no scheduling point between the creation
/// and its `done_op`, so the tasks found there are that op's (sorted by id).
pub fn new_user_tasks<V>(
    k: &Kernel,
    known: &HashMap<TaskId, V>,
    stranded: &HashSet<TaskId>,
) -> Vec<TaskId> {
    (k.ncpus()..k.ntasks())
        .map(|i| TaskId(i as u32))
        .filter(|t| {
            let task = k.task(*t);
            !known.contains_key(t)
                && !stranded.contains(t)
                && task.state() == task_state::SLEEPING
                && task.pinned() == u32::MAX
                && !task.is_kthread()
                && !task.mm().is_null()
        })
        .collect()
}

/// What a CPU whose current task is not the workload's (the idle task) does: run the head of
/// its runqueue, else sit in the idle loop.
pub fn idle_next(k: &Kernel, cpu: CpuId) -> Next {
    if k.rq_queued(cpu) > 0 {
        Next::Op(SysOp::ScheduleNext)
    } else {
        Next::Idle
    }
}

/// What a workload task that has finished its bounded work does: let the tasks queued here
/// run (it is then switched out and never queued again), else stop driving this CPU.
pub fn finished(k: &Kernel, cpu: CpuId) -> Next {
    if k.rq_queued(cpu) > 0 {
        Next::Op(SysOp::ScheduleNext)
    } else {
        Next::Done
    }
}
