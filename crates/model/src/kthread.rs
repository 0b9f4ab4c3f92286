//! `kthread_use_mm` / `kthread_unuse_mm` (spec §2.7, §4.3).
//!
//! Mainline (after Nick's v7 1/5): use takes a real `mmgrab` even if `mm == active_mm`
//! ("references are not equivalent") and pays the old lazy reference with DROP; unuse GRABs the
//! lazy reference and drops the real one. H (patch 15): no `mm_count` while using — the caller
//! must hold `mm_users`; hazard.rs enforces that by taking `mm_users` inside the API
//! ([`KthreadRef::MmUsers`]), mutant f trusts the caller ([`KthreadRef::None`]).

use crate::ids::MmRef;
use crate::machine::Cpu;
use crate::scheme::{KthreadRef, Site};
use crate::Kernel;

impl Kernel {
    /// `kthread_use_mm(mm)` on the current kthread. Returns false if refused (H's rule).
    pub fn kthread_use_mm(&self, c: &dyn Cpu, mm: MmRef) -> bool {
        let _t = c.trace().enter("kthread_use_mm");
        let tsk = self.task(self.curr(c.id()));
        if !tsk.is_kthread() || !tsk.mm().is_null() {
            return false;
        }
        match self.scheme.kthread_use_mm_ref() {
            KthreadRef::MmCount => self.mmgrab(c, mm),
            KthreadRef::MmUsers => {
                // Refuse an mm with no users left: a caller holding only mm_count could
                // otherwise publish a hazard pointer after __mmput's scan (§7 #8).
                if !self.mmget_not_zero(mm) {
                    return false;
                }
            }
            KthreadRef::None => {
                if !self.mm_deref(c, mm, "kthread_use_mm") {
                    return false;
                }
            }
        }
        self.local_irq_disable(c);
        let active_mm = tsk.active_mm();
        tsk.set_active_mm(mm);
        // WRITE_ONCE(tsk->mm, mm): from here membarrier may skip or IPI us (oracle).
        tsk.set_mm(mm);
        self.cpu(c.id()).set_mb_pending(true);
        self.switch_mm_irqs_off(c, active_mm, mm);
        self.local_irq_enable(c);
        if self.scheme.membarrier_finish_switch_mm() {
            // H: __change_current_mm (A14/A15) ends with membarrier_finish_switch_mm(mm).
            self.membarrier_finish_switch_mm(c, mm);
        }
        // Pays the old lazy reference; mainline's barrier doubles as membarrier's smp_mb (A09).
        self.scheme
            .mmdrop_lazy_tlb(self, c, active_mm, Site::KthreadUse);
        self.membarrier_check(
            c,
            mm,
            "kthread_use_mm returned to its caller's user accesses",
        );
        true
    }

    /// `kthread_unuse_mm(mm)` on the current kthread.
    pub fn kthread_unuse_mm(&self, c: &dyn Cpu) -> bool {
        let _t = c.trace().enter("kthread_unuse_mm");
        let tsk = self.task(self.curr(c.id()));
        let mm = tsk.mm();
        if !tsk.is_kthread() || mm.is_null() {
            return false;
        }
        let kref = self.scheme.kthread_use_mm_ref();
        // Loom mutant (Knobs::kthread_unuse_put_first): the mmput before the publication.
        let put_first = kref == KthreadRef::MmUsers && self.cfg.knobs.kthread_unuse_put_first;
        if put_first {
            self.mmput(c, mm);
        }
        // task_lock; smp_mb__after_spinlock(): membarrier needs a full barrier after the
        // kthread's user accesses, before tsk->mm = NULL (v5.10's membarrier cover of
        // kthread_use_mm, in every era here). smp_mb() on powerpc and arm64; on x86 the
        // locked acquire already is one. Pairs with membarrier's smp_mb before it reads
        // rq->curr->mm.
        if self.cfg.arch.after_barriers_are_mb {
            self.smp_mb_path(c);
        }
        self.local_irq_disable(c);
        tsk.set_mm(MmRef::NULL);
        self.scheme.mmgrab_lazy_tlb(self, c, mm, Site::KthreadUnuse);
        self.enter_lazy_tlb(c, mm);
        self.local_irq_enable(c);
        match kref {
            KthreadRef::MmCount => self.mmdrop(c, mm),
            // After the GRAB above: the hazard pointer is published while mm_users > 0, so
            // the scan of the __mmput this mmput may run sees it.
            KthreadRef::MmUsers if !put_first => self.mmput(c, mm),
            KthreadRef::MmUsers | KthreadRef::None => {}
        }
        true
    }
}
