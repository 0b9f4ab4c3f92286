//! `exec_mmap()` (spec §2.6, §4.5): install a fresh mm in the current task.
//!
//! With `Knobs::exec_irqs_off` (d53c3dfb23c4, ARCH_WANT_IRQS_OFF_ACTIVATE_MM) IRQs stay off
//! from reading `active_mm` to `activate_mm`; without it the task can be preempted in between,
//! the scheduler drops the lazy reference, and exec drops it again — "a double free of the old
//! active_mm, and a missing free of the new one" \[N-EXEC-2020\] (mutant e, scenario 10).

use crate::ids::MmRef;
use crate::machine::Cpu;
use crate::scheme::Site;
use crate::Kernel;

impl Kernel {
    /// `exec_mmap(mm)` for the current task with a freshly allocated `mm`. Returns the new mm.
    pub fn exec_mmap(&self, c: &dyn Cpu) -> Option<MmRef> {
        let mm = self.mm_alloc(1, 1, c.jiffies())?;
        let _t = c.trace().enter("exec_mmap");
        let me = self.curr(c.id());
        let tsk = self.task(me);
        if tsk.pinned() == c.id() as u32 && tsk.is_kthread() && me == self.cpu(c.id()).idle {
            self.warn(c, mm, "exec from the idle task");
            return None;
        }
        let old_mm = tsk.mm();
        // bprm_execve: sched_mm_cid_before_execve(current), on the old mm (mm_cid.rs).
        self.sched_mm_cid_hook(c, old_mm);
        let k = &self.cfg.knobs;
        // task_lock(tsk); membarrier_exec_mmap(mm): smp_mb() before the new mm is visible.
        // H's patch 09: smp_mb__after_spinlock() instead (x86: the locked acquire is the
        // barrier). Pairs with membarrier's smp_mb before it reads rq->curr->mm.
        if !k.exec_mb_after_spinlock || self.cfg.arch.after_barriers_are_mb {
            self.smp_mb_path(c);
        }
        if k.exec_irqs_off {
            // d53c3dfb23c4: local_irq_disable() before reading active_mm.
            self.local_irq_disable(c);
        }
        let active_mm = tsk.active_mm();
        if k.preempt_rt {
            // task_lock() is a spinlock: preemption is off here unless PREEMPT_RT makes it a
            // sleeping lock — where d53c3dfb23c4's missing IRQs-off window let the scheduler in.
            self.preempt_point(c, "exec_mmap:after_read_active_mm");
        } else {
            c.point(self, "exec_mmap:after_read_active_mm");
        }
        tsk.set_active_mm(mm);
        // WRITE_ONCE(tsk->mm, mm)
        tsk.set_mm(mm);
        self.cpu(c.id()).set_mb_pending(true);
        tsk.set_kthread(false);
        if k.exec_irqs_off && !k.irqs_off_activate_mm {
            // if (!IS_ENABLED(CONFIG_ARCH_WANT_IRQS_OFF_ACTIVATE_MM)) local_irq_enable():
            // a flush IPI can land here, with tsk->mm = mm but the MMU still on active_mm.
            self.local_irq_enable(c);
        }
        c.point(self, "exec_mmap:before_activate_mm");
        // activate_mm(active_mm, mm). With IRQs on here, x86's is switch_mm(), which wraps
        // switch_mm_irqs_off in local_irq_save/restore: no IPI lands inside the switch
        // (arm64's switch_mm runs with IRQs on).
        let wrap = !(k.exec_irqs_off && k.irqs_off_activate_mm) && self.cfg.arch.loaded_mm_separate;
        if wrap {
            self.local_irq_disable(c);
        }
        self.switch_mm_irqs_off(c, active_mm, mm);
        if wrap {
            self.local_irq_enable(c);
        }
        if k.exec_irqs_off && k.irqs_off_activate_mm {
            self.local_irq_enable(c);
        }
        // lru_gen_add_mm(mm); task_unlock(tsk); lru_gen_use_mm(mm).
        self.lru_gen_add_mm(c, mm);
        self.lru_gen_use_mm(c, mm);
        if self.scheme.membarrier_finish_switch_mm() {
            // H: __change_current_mm (A14) ends with membarrier_finish_switch_mm(mm).
            self.membarrier_finish_switch_mm(c, mm);
        }
        if !old_mm.is_null() {
            self.mmput(c, old_mm);
        } else {
            // exec from a kthread (kernel_execve): the lazy reference.
            self.scheme.mmdrop_lazy_tlb(self, c, active_mm, Site::Exec);
        }
        // bprm_execve: sched_mm_cid_after_execve(current), on the new mm (mm_cid.rs).
        self.sched_mm_cid_hook(c, mm);
        // The new mm is fresh, so it cannot be registered yet: the check documents the
        // obligation (membarrier_exec_mmap's barrier came before the publication).
        self.membarrier_check(c, mm, "exec returned to user space");
        Some(mm)
    }
}
