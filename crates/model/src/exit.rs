//! `do_exit` → `exit_mm` (spec §2.3): the exiting task becomes a lazy user of its own mm,
//! then `mmput` may run `__mmput` → `exit_mmap` right here while this CPU is lazy on it.
//!
//! From `exit_mm`'s `task_unlock` to the final `__schedule()` the task is preemptible with
//! `current->mm == NULL`: a preemption switches it out like a kthread, and it may resume on
//! another CPU. Preempted before its `mmput` (`exit_mm:before_mmput`), it runs `__mmput` and
//! `exit_mmap` there, while the CPU it exited on may still be lazy on the mm.

use crate::ids::{MmRef, TaskRef};
use crate::kernel::task_state;
use crate::machine::Cpu;
use crate::scheme::Site;
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

impl Kernel {
    /// `exit_mm()` for the current user task. Returns true if the task was preempted and
    /// switched out before its `mmput`, which then runs when it next runs
    /// ([`Kernel::resume_exiting`]).
    pub fn exit_mm(&self, c: &dyn Cpu) -> bool {
        let _t = c.trace().enter("exit_mm");
        let cur = self.task(self.curr(c.id()));
        let mm = cur.mm();
        if mm.is_null() {
            return false;
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
        // task_unlock; mmap_read_unlock; mm_update_next_owner: preemptible.
        c.point(self, "exit_mm:before_mmput");
        if self.preempt_exiting(c, "exit_mm:before_mmput", mm) {
            return true;
        }
        self.mmput(c, mm);
        false
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
        if self.exit_mm(c) {
            return true;
        }
        // Preemptible until the final __schedule() (see the module doc).
        c.point(self, "do_exit:after_exit_mm");
        if self.preempt_exiting(c, "do_exit:after_exit_mm", MmRef::NULL) {
            return true;
        }
        self.finish_exit(c, then);
        true
    }

    /// A preemption of the exiting task at `at` (IRQs on, `current->mm == NULL`), if the
    /// engine wants one: switch it out like a kthread, unpinned, with `pending` the mm it
    /// has yet to `mmput`. Returns true if another task now runs here; the exit resumes in
    /// [`Kernel::resume_exiting`] on whichever CPU takes the task next.
    fn preempt_exiting(&self, c: &dyn Cpu, at: &'static str, pending: MmRef) -> bool {
        if !self.irqs_enabled(c.id()) {
            return false;
        }
        let Some(plan) = c.preempt(at) else {
            return false;
        };
        let _p = c.trace().enter("preempt_schedule");
        let t = self.task(self.curr(c.id()));
        // Relaxed (both): published to the next CPU by the state/on_cpu hand-off below.
        t.exit_mmput.store(pending.0, Relaxed);
        t.exiting.store(true, Relaxed);
        let next = plan.first().copied().unwrap_or(TaskRef::Idle);
        if self.schedule(c, next) || self.schedule(c, TaskRef::Idle) {
            return true;
        }
        // Relaxed (both): no other CPU took the task (both switches failed); still ours.
        t.exiting.store(false, Relaxed);
        t.exit_mmput.store(0, Relaxed);
        false
    }

    /// The exiting task `t`, preempted in `do_exit`, runs again on this CPU (from
    /// `schedule`): its pending `mmput`, if any, then its final `__schedule()`.
    pub(crate) fn resume_exiting(&self, c: &dyn Cpu, t: &crate::task::Task) {
        let _t = c.trace().enter("do_exit");
        // Relaxed: set by the CPU that preempted the task, before its state/on_cpu release,
        // which this CPU's Acquire claim and on_cpu spin paired with.
        let pending = MmRef(t.exit_mmput.swap(0, Relaxed));
        if !pending.is_null() {
            self.mmput(c, pending);
        }
        self.finish_exit(c, TaskRef::Idle);
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
