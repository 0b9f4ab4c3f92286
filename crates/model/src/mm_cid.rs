//! The mm_cid hooks' barriers (v6.4–v6.18, [`Knobs::mm_cid`]): what the per-mm concurrency
//! ids add to the paths a lazy-mm scheme runs on.
//!
//! mm_cid gives each task of an mm a small id for rseq. A CPU caches the id its last task of
//! an mm used (`mm->pcpu_cid[cpu]`), and `sched_mm_cid_remote_clear()` takes such a cached id
//! back from a CPU whose `rq->curr` no longer runs the mm. That remote reader needs a full
//! barrier between each CPU's `rq->curr` store and its loads of `pcpu_cid`. 223baf9d17f2
//! ("sched: Fix performance regression introduced by mm_cid", v6.4) took it from the
//! barriers `context_switch()` already had, and added one where there was none:
//!
//! ```text
//! context_switch(prev, next)                switch_mm_cid(rq, prev, next)
//!   to kernel, from user: mmgrab_lazy_tlb     smp_mb__after_mmgrab()   (x86: nothing)
//!   to kernel, from kernel                    —   (rq->curr->mm stays NULL)
//!   to user, from kernel: switch_mm           smp_mb()                 (every arch)
//!   to user, from user:   switch_mm           smp_mb__after_switch_mm() (v6.9; x86: nothing)
//! ```
//!
//! `context_switch`'s comment, added by the same commit, says so ("switch_mm_cid() needs to be
//! updated if the barriers provided by context_switch() are modified", quoted from memory),
//! and spec §4.9 lists it as
//! an ordering dependency on R's `mmgrab`: on x86 `smp_mb__after_mmgrab()` is
//! `smp_mb__after_atomic()`, a compiler barrier, so the order comes from `mmgrab`'s locked
//! RMW — which a scheme without the refcount does not do (MD's `mmgrab_lazy_tlb` adds an
//! `smp_mb()` for it).
//!
//! The kernel → user `smp_mb()` also sits between the `rq->curr` store and the return to
//! user space, which is what membarrier needs (§4.6): in v6.4–v6.18 it provides
//! membarrier's barrier on a lazy return to the same mm, before `finish_task_switch`'s
//! `mmdrop_lazy_tlb_sched()` does (scenario #12).
//!
//! Exec and exit clear (after exec: set) `t->mm_cid_active` under the rq lock and then `smp_mb()` ("Store
//! t->mm_cid_active before loading per-mm/cpu cid. Matches barrier in
//! sched_mm_cid_remote_clear_old()"): `sched_mm_cid_before_execve()` and
//! `sched_mm_cid_after_execve()` in `bprm_execve()`, `sched_mm_cid_exit_signals()` in
//! `do_exit()`'s `exit_signals()` — each a no-op for a task without an mm.
//!
//! The id bookkeeping itself (`mm_cid_get`, `mm_cid_put_lazy`, the cid bitmap) is per-CPU
//! or per-mm work that does not depend on the lazy-mm scheme; the model leaves it out and
//! counts only the barriers, as path barriers.
//!
//! [`Knobs::mm_cid`]: crate::arch::Knobs::mm_cid

use crate::ids::MmRef;
use crate::machine::Cpu;
use crate::Kernel;

impl Kernel {
    /// `switch_mm_cid(rq, prev, next)` at the end of `context_switch()`: `prev_mm` and
    /// `next_mm` are the tasks' `->mm` (NULL for a kernel thread).
    pub(crate) fn switch_mm_cid(&self, c: &dyn Cpu, prev_mm: MmRef, next_mm: MmRef) {
        if !self.cfg.knobs.mm_cid {
            return;
        }
        let after_mb = self.cfg.arch.after_barriers_are_mb;
        let mb = match (prev_mm.is_null(), next_mm.is_null()) {
            // user → kernel: smp_mb__after_mmgrab(), after mmgrab_lazy_tlb().
            (false, true) => after_mb,
            // kernel → kernel: rq->curr->mm stays NULL.
            (true, true) => false,
            // kernel → user: smp_mb().
            (true, false) => true,
            // user → user: smp_mb__after_switch_mm(), whether or not the mm changes.
            (false, false) => after_mb,
        };
        if mb {
            // A full barrier after the rq->curr store: pairs with membarrier()'s smp_mb()
            // before it reads rq->curr (membarrier.rs), as the kernel's pairs with
            // sched_mm_cid_remote_clear()'s (ids are not modelled).
            self.smp_mb_path(c);
        }
    }

    /// `sched_mm_cid_before_execve()` (old mm), `sched_mm_cid_after_execve()` (new mm) and
    /// `sched_mm_cid_exit_signals()`: for a task with an `mm`, one `smp_mb()` after clearing
    /// or setting `mm_cid_active`.
    pub(crate) fn sched_mm_cid_hook(&self, c: &dyn Cpu, mm: MmRef) {
        if self.cfg.knobs.mm_cid && !mm.is_null() {
            // Pairs with sched_mm_cid_remote_clear_old()'s smp_mb(): ids are not modelled.
            self.smp_mb_path_unmodelled_pair(c);
        }
    }
}
