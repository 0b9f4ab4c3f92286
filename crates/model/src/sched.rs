//! The scheduler's mm handling: `schedule` → `context_switch` → `finish_task_switch`
//! (spec §2.1, §2.2), `unlazy_mm_irqs_off` (A12), and preemption.
//!
//! ```text
//!  to kernel (next->mm == NULL):  enter_lazy_tlb; next->active_mm = prev->active_mm
//!        user→kernel: GRAB(prev->active_mm)     kernel→kernel: prev->active_mm = NULL
//!  to user:  switch_mm_irqs_off(prev->active_mm, next->mm)
//!        kernel→user: scheme.switch_kernel_to_user (mainline: rq->prev_mm = prev->active_mm)
//!                     prev->active_mm = NULL
//!  finish_task_switch: prev->on_cpu = 0 (release); IRQs on; scheme.finish_task_switch
//!                     (mainline: DROP_SCHED(rq->prev_mm); H: mmdrop_lazy(rq))
//! ```
//! Task hand-off between CPUs follows the kernel's `on_cpu` protocol: the claimer spins with
//! acquire until the previous CPU's `finish_task` release-stores `on_cpu = 0`.

use crate::arch::MembarrierSwitch;
use crate::ids::{MmRef, TaskId, TaskRef};
use crate::kernel::task_state;
use crate::machine::{Access, Cpu, Event, Line};
use crate::oracle::ViolationKind;
use crate::scheme::Site;
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

impl Kernel {
    /// `schedule()` to `next`. Returns false (and does nothing) if `next` cannot run here: it
    /// is dead, pinned elsewhere, or already claimed by another CPU.
    pub fn schedule(&self, c: &dyn Cpu, next: TaskRef) -> bool {
        let cpu = c.id();
        let next = self.resolve(cpu, next);
        let prev = self.curr(cpu);
        if next == prev {
            return true;
        }
        let nt = self.task(next);
        let pin = nt.pinned();
        if pin != u32::MAX && pin as usize != cpu {
            return false;
        }
        touch!(self, c, Line::Task(next.0), Access::Rmw);
        // Acquire on success: pairs with the Release in task_alloc / in the previous CPU's
        // `prev.state = SLEEPING` store; the task's fields are then visible (ttwu's role).
        if nt
            .state
            .compare_exchange(task_state::SLEEPING, task_state::RUNNING, Acquire, Relaxed)
            .is_err()
        {
            return false;
        }
        let _t = c.trace().enter("schedule");
        // ttwu: smp_cond_load_acquire(&p->on_cpu, !VAL). Pairs with the release in
        // finish_task() on the CPU that last ran `next`: everything it did with next's
        // active_mm happens-before we take next over.
        let order = if self.cfg.knobs.ttwu_on_cpu_relaxed {
            Relaxed // loom mutant, see Knobs::ttwu_on_cpu_relaxed
        } else {
            Acquire
        };
        while nt.on_cpu.load(order) {
            c.wait(self, "ttwu:on_cpu");
            // The line the claim above took is being written by the CPU switching `next`
            // out; each re-read fetches it (reported only when we actually wait).
            touch!(self, c, Line::Task(next.0), Access::Load);
        }
        self.local_irq_disable(c);
        if self.cfg.arch.after_barriers_are_mb {
            // __schedule: rq_lock(rq); smp_mb__after_spinlock() — "The membarrier system call
            // requires a full memory barrier after coming from user-space, before storing to
            // rq->curr". smp_mb() on powerpc and arm64; on x86 the lock's locked RMW is the
            // barrier and nothing more is issued. Pairs with the smp_mb() membarrier() issues
            // before it reads rq->curr (membarrier.rs).
            self.smp_mb_path(c);
        }
        self.context_switch(c, prev, next);
        self.finish_task_switch(c, prev);
        // Relaxed: set by the CPU that preempted the dying task before its state/on_cpu
        // release, which our Acquire claim and on_cpu spin above paired with.
        if nt.exiting.swap(false, Relaxed) {
            // A task preempted between exit_mm's lazy switch and its final schedule() resumes
            // here (maybe on another CPU than the one it exited on) and finishes dying.
            self.resume_exiting(c, nt);
        }
        true
    }

    /// `context_switch(rq, prev, next)` (§2.1). Called with IRQs disabled.
    pub fn context_switch(&self, c: &dyn Cpu, prev: TaskId, next: TaskId) {
        let _t = c.trace().enter("context_switch");
        let cpu = c.id();
        let (pt, nt) = (self.task(prev), self.task(next));
        self.ev(c, Event::ContextSwitch);
        // next->on_cpu = 1 goes to the line the claim in `schedule` just took: not reported
        // again (an owned line is an L1 hit).
        touch!(self, c, Line::Rq(cpu as u32), Access::Store);
        // prepare_task: next->on_cpu = 1 (Relaxed: only its owner CPU reads it before
        // finish_task's release).
        nt.on_cpu.store(true, Relaxed);
        // rq->curr = next. Release: RCU publication of the task for membarrier's lockless
        // rq->curr->mm readers.
        self.cpu(cpu).curr.store(next.0, Release);
        // Oracle: membarrier may have read rq->curr as prev and skipped this CPU whenever
        // prev->mm != next->mm; a full barrier is then owed before user space (§4.6).
        self.cpu(cpu).set_mb_pending(pt.mm() != nt.mm());
        touch!(self, c, Line::Task(prev.0), Access::Rmw);
        if pt.state() == task_state::RUNNING {
            // Release: pairs with the Acquire claim in `schedule`; prev may be taken by another
            // CPU, which will still wait for our finish_task before running it.
            pt.state.store(task_state::SLEEPING, Release);
        }
        c.point(self, "context_switch:after_rq_curr");
        let prev_mm = pt.mm();
        let prev_active = pt.active_mm();
        if self.scheme.kasan_check_active_mm() && !prev_active.is_null() {
            // H: kasan_check_byte(prev->active_mm) [A16].
            self.mm_deref(c, prev_active, "kasan_check_byte(prev->active_mm)");
        }
        let next_mm = nt.mm();
        if next_mm.is_null() {
            // to kernel
            self.enter_lazy_tlb(c, prev_active);
            nt.set_active_mm(prev_active);
            if !prev_mm.is_null() {
                self.scheme
                    .mmgrab_lazy_tlb(self, c, prev_active, Site::Switch);
            } else {
                pt.set_active_mm(MmRef::NULL);
            }
        } else {
            // to user. membarrier_switch_mm(rq, prev->active_mm, next->mm): when the mm
            // changes, atomic_read(&next->membarrier_state) (mm_struct line 2, with mm_users;
            // pahole on Debian's 6.12.117 amd64: offset 128), copied to rq->membarrier_state if
            // it differs (this rq's line, held under the rq lock: a hit, not reported). In
            // 6.12 and 7.2 kernel/sched/sched.h, and in H's series (spec §3.c).
            if prev_active != next_mm {
                touch!(self, c, Line::MmUsers(next_mm.idx() as u32), Access::Load);
            }
            self.switch_mm_irqs_off(c, prev_active, next_mm);
            self.lru_gen_use_mm(c, next_mm);
            if self.scheme.membarrier_finish_switch_mm() {
                // H (patch 16): on every switch to a user task, outside `if (!prev->mm)`.
                self.membarrier_finish_switch_mm(c, next_mm);
            }
            if prev_mm.is_null() {
                pt.set_active_mm(MmRef::NULL);
                self.scheme.switch_kernel_to_user(self, c, prev_active);
            }
        }
        // switch_mm_cid() requires the memory barriers above (mm_cid.rs).
        self.switch_mm_cid(c, prev_mm, next_mm);
        c.point(self, "context_switch:switch_to");
        if self.cfg.arch.membarrier_switch == MembarrierSwitch::SwitchTo {
            // arm64 __switch_to(): dsb(ish) on every switch, "also required by the membarrier
            // system call". Counted as a path barrier, and it discharges the oracle's
            // membarrier obligation (that store→load pairing with membarrier()'s smp_mb()s is
            // the oracle's, `mb_pending`). A full barrier (`sync::mb`): its release half
            // orders this CPU's last walk of the previous mm (switch_mm_irqs_off) before
            // finish_task_switch's stores that hazard scans read (MD's slot clear; pairs with
            // hp_scan's barrier), which is what the kernel's dsb does there, and it orders
            // nothing before H's un-lazy store, which comes before it: a real arm64 CPU may
            // let a relaxed store there pass the earlier walk. (It was AcqRel while loom's
            // bare fence(SeqCst) could hide that mutant: `sync::mb`'s doc.)
            crate::sync::mb();
            self.ev(c, Event::PathBarrier);
            self.full_barrier_done(c);
        }
    }

    /// `membarrier_finish_switch_mm(mm)` (Andy's patch 04): `smp_mb()` iff `mm` is registered
    /// for membarrier; pairs with the smp_mb()s in membarrier().
    pub(crate) fn membarrier_finish_switch_mm(&self, c: &dyn Cpu, mm: MmRef) {
        if self.mm_live(mm) && self.mm_membarrier_registered(mm) {
            self.smp_mb(c);
        }
    }

    /// Oracle: this CPU is about to run user-space accesses of `mm` (return to user, or a
    /// kthread's `copy_*_user` after `kthread_use_mm`). If membarrier could have skipped it
    /// since `current->mm` changed and no full barrier followed, report it (§4.6, #12).
    pub(crate) fn membarrier_check(&self, c: &dyn Cpu, mm: MmRef, what: &str) {
        let cpu = c.id();
        if !mm.is_null()
            && self.mm_live(mm)
            && self.mm_membarrier_registered(mm)
            && self.cpu(cpu).mb_pending()
        {
            self.violation(
                c,
                ViolationKind::Membarrier,
                mm,
                format!(
                    "{what} with no full barrier since current->mm changed (membarrier may \
                     have skipped this CPU)"
                ),
            );
        }
        self.cpu(cpu).set_mb_pending(false);
    }

    /// `finish_task_switch(prev)` (§2.2). Re-enables IRQs.
    pub fn finish_task_switch(&self, c: &dyn Cpu, prev: TaskId) {
        let _t = c.trace().enter("finish_task_switch");
        let cpu = c.id();
        touch!(self, c, Line::Task(prev.0), Access::Store);
        // finish_task: smp_store_release(&prev->on_cpu, 0). Pairs with the acquire spin in
        // `schedule` on the CPU that takes prev next: "the last reference to prev from here".
        self.task(prev).on_cpu.store(false, Release);
        self.local_irq_enable(c);
        self.scheme.finish_task_switch(self, c);
        // Return to user space (a kthread's "user" accesses come after kthread_use_mm).
        let cur = self.task(self.curr(cpu));
        if !cur.is_kthread() {
            self.membarrier_check(c, cur.mm(), "returned to a membarrier-registered mm");
        }
    }

    /// `unlazy_mm_irqs_off()` (Andy patch 12): switch the current kernel thread to init_mm and
    /// release its lazy reference. (Mainline's `sched_force_init_mm` does the same with its
    /// grab and drop outside the IRQs-off section and `active_mm` stored before the switch:
    /// `hotplug.rs`.)
    /// Caller has IRQs off and `current->mm == NULL`.
    pub fn unlazy_mm_irqs_off(&self, c: &dyn Cpu) {
        let _t = c.trace().enter("unlazy_mm_irqs_off");
        let cur = self.task(self.curr(c.id()));
        if !cur.mm().is_null() {
            self.warn(c, cur.mm(), "unlazy_mm_irqs_off with current->mm set");
            return;
        }
        let mm = cur.active_mm();
        if mm == self.init_mm {
            // A12: "if (current->active_mm == &init_mm) return;" — no mmdrop_lazy here.
            return;
        }
        self.scheme
            .mmgrab_lazy_tlb(self, c, self.init_mm, Site::Unlazy);
        let pc = self.cpu(c.id());
        pc.set_replacing_active_mm(true);
        self.switch_mm_irqs_off(c, mm, self.init_mm);
        // The MMU is on init_mm; on x86 v5.16 this CPU also left mm_cpumask(mm), so an H-x86
        // scan no longer sees it while current->active_mm still names mm (never followed:
        // see PerCpu::replacing_active_mm).
        c.point(self, "unlazy_mm_irqs_off:switched");
        cur.set_active_mm(self.init_mm);
        pc.set_replacing_active_mm(false);
        if !mm.is_null() {
            self.scheme.mmdrop_lazy_tlb(self, c, mm, Site::Unlazy);
        }
        self.scheme.after_unlazy(self, c);
    }

    /// A preemptible point inside a kernel path: if IRQs are on and the engine wants to
    /// preempt, run the given tasks and come back (the task never migrates while preempted;
    /// see the closing note of the model for this simplification).
    pub fn preempt_point(&self, c: &dyn Cpu, at: &'static str) {
        c.point(self, at);
        if !self.irqs_enabled(c.id()) {
            return;
        }
        if let Some(plan) = c.preempt(at) {
            let _t = c.trace().enter("preempt_schedule");
            let me = self.curr(c.id());
            // While preempted mid-syscall the task stays on this CPU (pin it so no other CPU's
            // schedule() claims it).
            let pin = self.task(me).swap_pinned(c.id() as u32);
            let mut ran = false;
            for t in plan {
                ran |= self.schedule(c, t);
            }
            if ran {
                // Come back: `me` is SLEEPING now, nobody else may claim it (it is mid-syscall
                // on this CPU); schedule() to it.
                while !self.schedule(c, TaskRef::Task(me)) {
                    c.wait(self, "preempt:return");
                }
            }
            self.task(me).swap_pinned(pin);
        }
    }
}
