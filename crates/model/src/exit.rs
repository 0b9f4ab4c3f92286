//! `do_exit` → `exit_mm` (spec §2.3): the exiting task becomes a lazy user of its own mm,
//! then `mmput` may run `__mmput` → `exit_mmap` right here while this CPU is lazy on it.

use crate::ids::{MmRef, TaskRef};
use crate::kernel::task_state;
use crate::machine::Cpu;
use crate::scheme::Site;
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

impl Kernel {
    /// `exit_mm()` for the current user task.
    pub fn exit_mm(&self, c: &dyn Cpu) {
        let _t = c.trace().enter("exit_mm");
        let cur = self.task(self.curr(c.id()));
        let mm = cur.mm();
        if mm.is_null() {
            return;
        }
        c.point(self, "exit_mm:mmap_read_lock");
        self.scheme.mmgrab_lazy_tlb(self, c, mm, Site::ExitMm);
        // task_lock; smp_mb__after_spinlock() for membarrier: nothing more on x86 (the locked
        // acquire is already a full barrier, not an smp_mb), smp_mb() on powerpc and arm64.
        // Pairs with membarrier's smp_mb before it reads the task's mm.
        if self.cfg.arch.after_barriers_are_mb {
            self.smp_mb_path(c);
        }
        self.local_irq_disable(c);
        // WRITE_ONCE(current->mm, NULL). Relaxed: read remotely only by membarrier (RCU).
        cur.set_mm(MmRef::NULL);
        self.enter_lazy_tlb(c, mm);
        self.local_irq_enable(c);
        c.point(self, "exit_mm:before_mmput");
        self.mmput(c, mm);
    }

    /// `do_exit()` of the current user task, then its final `schedule()` to `then`.
    pub fn do_exit(&self, c: &dyn Cpu, then: TaskRef) -> bool {
        let cur = self.curr(c.id());
        let t = self.task(cur);
        if t.is_kthread() || t.mm().is_null() {
            return false;
        }
        let _t = c.trace().enter("do_exit");
        // exit_signals(): sched_mm_cid_exit_signals(tsk), while tsk->mm is set (mm_cid.rs).
        self.sched_mm_cid_hook(c, t.mm());
        self.exit_mm(c);
        // Preemptible until the final __schedule(): exit_mm left the task lazy on its own mm
        // (current->mm == NULL), so a preemption here switches it out like a kthread — and,
        // unpinned, it may finish its exit on another CPU (`finish_exit`).
        c.point(self, "do_exit:after_exit_mm");
        if self.irqs_enabled(c.id()) {
            if let Some(plan) = c.preempt("do_exit:after_exit_mm") {
                let _p = c.trace().enter("preempt_schedule");
                // Relaxed: published to the next CPU by the state/on_cpu hand-off below.
                t.exiting.store(true, Relaxed);
                let next = plan.first().copied().unwrap_or(TaskRef::Idle);
                if self.schedule(c, next) || self.schedule(c, TaskRef::Idle) {
                    return true;
                }
                // Relaxed: no other CPU took the task (both switches failed); still ours.
                t.exiting.store(false, Relaxed);
            }
        }
        self.finish_exit(c, then);
        true
    }

    /// The tail of `do_exit` on whatever CPU runs the dying task: TASK_DEAD and the final
    /// `__schedule()` to `then` (or the idle task).
    pub(crate) fn finish_exit(&self, c: &dyn Cpu, then: TaskRef) {
        let t = self.task(self.curr(c.id()));
        // Relaxed: only this CPU runs t; nobody claims a DEAD task (the claim CAS expects
        // SLEEPING), and the final switch's on_cpu release orders the rest.
        t.state.store(task_state::DEAD, Relaxed);
        // __schedule() for TASK_DEAD: never returns to this task. The dead task is not
        // SLEEPING, so `schedule` leaves its state alone and no CPU can claim it. If `then`
        // cannot run here, the idle task (pinned to this CPU) always can.
        if !self.schedule(c, then) {
            self.schedule(c, TaskRef::Idle);
        }
    }
}
