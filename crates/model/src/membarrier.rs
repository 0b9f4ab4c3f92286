//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` (spec §4.6, scenario 12).
//!
//! ```text
//!  caller (CPU B)                          CPU A going T(M) → kthread → T'(M)
//!  smp_mb()                                rq->curr = T'        (store, Release)
//!  for each CPU: rq->curr->mm == M ?       ... full barrier ... (R: mmdrop's
//!     yes: IPI (handler: smp_mb)                atomic_dec_and_test; S, MD: smp_mb in
//!     no:  skip — relies on A's barrier         mmdrop_lazy_tlb; H, L:
//!  smp_mb()                                     membarrier_finish_switch_mm)
//!                                          return to user space
//! ```
//! The skip is only sound because every CPU executes a full barrier between its `rq->curr`
//! store and its return to user space; the oracle checks that obligation on every switch and
//! the loom model checks what it buys.

use crate::ids::{CpuSet, TaskId};
use crate::machine::{Access, Cpu, Line};
use crate::smp::{IpiClass, IpiFunc};
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

impl Kernel {
    /// `membarrier(PRIVATE_EXPEDITED)` from the current task. Returns false (EPERM) unless
    /// the current task is a user task of a registered mm.
    pub fn membarrier_private_expedited(&self, c: &dyn Cpu) -> bool {
        let me = c.id();
        let mm = self.task(self.curr(me)).mm();
        if mm.is_null() || !self.mm_live(mm) || !self.mm_membarrier_registered(mm) {
            return false;
        }
        let _t = c.trace().enter("membarrier");
        // "if (flags != MEMBARRIER_FLAG_SYNC_CORE && (atomic_read(&mm->mm_users) == 1 ||
        // num_online_cpus() == 1)) return 0;": no other thread of the mm (nor a
        // kthread_use_mm user, which holds mm_users) can be running it elsewhere.
        touch!(self, c, Line::MmUsers(mm.idx() as u32), Access::Load);
        // Relaxed: atomic_read, a hint as in the kernel.
        let single = self.slot(mm).users.load(Relaxed) == 1
            || (0..self.ncpus()).filter(|&x| self.cpu_online(x)).count() == 1;
        if single {
            return true;
        }
        self.membarrier_ipi_mm(c, mm);
        true
    }

    /// `membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)` from the current user task:
    /// set the mm's state, then `sync_runqueues_membarrier_state()` — an IPI with `smp_mb()`
    /// to every CPU running the mm — so no CPU that is switching to it misses the
    /// registration (the first `membarrier()` can only come after this returns).
    pub fn membarrier_register_private_expedited(&self, c: &dyn Cpu) -> bool {
        let mm = self.task(self.curr(c.id())).mm();
        if mm.is_null() || !self.mm_live(mm) {
            return false;
        }
        let _t = c.trace().enter("membarrier_register");
        self.membarrier_register(mm);
        self.membarrier_ipi_mm(c, mm);
        true
    }

    /// smp_mb(); IPI (smp_mb) every other online CPU whose `rq->curr->mm == mm`; smp_mb().
    fn membarrier_ipi_mm(&self, c: &dyn Cpu, mm: crate::ids::MmRef) {
        let me = c.id();
        // smp_mb(): system-call entry. Pairs with the full barrier each CPU executes between
        // its rq->curr store and its return to user space (see the module diagram).
        self.smp_mb_path(c);
        let mut targets = CpuSet::with_cpus(self.ncpus());
        for cpu in (0..self.ncpus()).filter(|&x| x != me && self.cpu_online(x)) {
            // rcu_dereference(cpu_rq(cpu)->curr): Acquire pairs with the Release store of
            // rq->curr in context_switch.
            let t = TaskId(self.cpu(cpu).curr.load(Acquire));
            if self.task(t).mm() == mm {
                targets.insert(cpu);
            }
        }
        self.smp_call_function_many(c, &targets, IpiFunc::MembarrierMb, IpiClass::Membarrier);
        // smp_mb(): system-call exit; pairs with the smp_mb in the IPI handlers.
        self.smp_mb_path(c);
    }
}
