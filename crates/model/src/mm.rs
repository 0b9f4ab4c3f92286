//! `mm_struct` lifetime: `mmgrab`/`mmdrop`, `mmget`/`mmput`, `__mmput` → `exit_mmap`, and
//! `__mmdrop` (spec §1.1, §2.4, §2.5).
//!
//! ```text
//!  mm_users 1→0: mmput → __mmput → exit_mmap (unmap, final fullmm flush: §2.4)
//!                                → scheme.after_exit_mmap   (H: mm_unlazy_mm_count, §3.c)
//!                                → mmdrop                   (the users' shared mm_count ref)
//!  mm_count 1→0: mmdrop → __mmdrop → scheme.cleanup_lazy_tlbs (S: shootdown, MD: hp_scan)
//!                                  → free_mm                (oracle: nobody may still load it)
//! ```

use crate::ids::MmRef;
use crate::machine::{Cpu, Event};
use crate::oracle::{FreeRecord, ViolationKind};
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

/// Functions reported as "who freed it" (the innermost of these on the freeing CPU's chain).
const FREE_SITES: &[&str] = &[
    "finish_task_switch",
    "__mmput",
    "unlazy_mm_irqs_off",
    "kthread_unuse_mm",
    "kthread_use_mm",
    "exec_mmap",
    "finish_cpu",
    "rcu_do_batch",
    "mm_unlazy_mm_count",
    "driver_mmdrop",
    "collect_mm_slot",
];

impl Kernel {
    /// `mmgrab(mm)`: `atomic_inc(&mm->mm_count)`.
    pub fn mmgrab(&self, c: &dyn Cpu, mm: MmRef) {
        if !self.mm_deref(c, mm, "mmgrab") {
            return;
        }
        // Relaxed: atomic_inc() is unordered in the kernel; the grabber already holds a
        // reference (or the mm is otherwise pinned) so no ordering is needed to keep it alive.
        self.slot(mm).count.fetch_add(1, Relaxed);
        self.ev(c, Event::MmCountRmw);
    }

    /// `atomic_add(n, &mm->mm_count)` (H's batched grab).
    pub fn mm_count_add(&self, c: &dyn Cpu, mm: MmRef, n: i64) {
        if !self.mm_deref(c, mm, "atomic_add(mm_count)") {
            return;
        }
        // Relaxed: atomic_add() is unordered; H's caller holds the mm_users-side reference.
        self.slot(mm).count.fetch_add(n, Relaxed);
        self.ev(c, Event::MmCountRmw);
    }

    /// `atomic_sub(n, &mm->mm_count)` (H returns the unused part of its batch). Never reaches
    /// zero: the caller still holds the users' reference.
    pub fn mm_count_sub(&self, c: &dyn Cpu, mm: MmRef, n: i64) {
        if !self.mm_deref(c, mm, "atomic_sub(mm_count)") {
            return;
        }
        // Relaxed: atomic_sub() is unordered; the final dec_and_test in mmdrop orders the free.
        let old = self.slot(mm).count.fetch_sub(n, Relaxed);
        self.ev(c, Event::MmCountRmw);
        if old - n <= 0 {
            self.underflow(c, mm, "atomic_sub(mm_count) reached zero without __mmdrop");
        }
    }

    fn underflow(&self, c: &dyn Cpu, mm: MmRef, what: &str) {
        self.oracle.report(
            ViolationKind::RefcountUnderflow,
            c.id(),
            c.trace().path(),
            mm,
            c.now(),
            what.to_string(),
        );
    }

    /// `mmdrop(mm)`: `atomic_dec_and_test` (a full barrier, §4.6) → `__mmdrop` at zero.
    pub fn mmdrop(&self, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("mmdrop");
        if self.mmdrop_dec(c, mm) {
            self.__mmdrop(c, mm);
        }
    }

    /// The decrement of `mmdrop`; true when it reached zero.
    fn mmdrop_dec(&self, c: &dyn Cpu, mm: MmRef) -> bool {
        if !self.mm_deref(c, mm, "mmdrop") {
            return false;
        }
        // AcqRel (+ the kernel's implied full barrier): value-returning atomics are fully
        // ordered. Release orders our prior uses of the mm before the free; Acquire (on the
        // 1→0 edge) orders every other dropper's uses before our __mmdrop. Membarrier relies
        // on this being a full barrier (mmdrop() comment, §4.6).
        let old = if self.cfg.knobs.mmdrop_unordered {
            // Loom mutant: Relaxed, no barrier (see Knobs::mmdrop_unordered).
            self.slot(mm).count.fetch_sub(1, Relaxed)
        } else {
            let old = self.slot(mm).count.fetch_sub(1, AcqRel);
            crate::sync::atomic::fence(SeqCst);
            old
        };
        self.ev(c, Event::MmCountRmw);
        self.full_barrier_done(c);
        if old <= 0 {
            self.underflow(c, mm, "mm_count below zero");
            return false;
        }
        old == 1
    }

    /// `mmdrop_sched(mm)`: on PREEMPT_RT the final `__mmdrop` is deferred via `call_rcu`.
    pub fn mmdrop_sched(&self, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("mmdrop_sched");
        if self.mmdrop_dec(c, mm) {
            if self.cfg.knobs.preempt_rt {
                self.cpus[c.id()].rcu_pending.lock().unwrap().push(mm);
            } else {
                self.__mmdrop(c, mm);
            }
        }
    }

    /// Runs this CPU's deferred RCU `__mmdrop`s (PREEMPT_RT `delayed_drop`).
    pub fn rcu_do_batch(&self, c: &dyn Cpu) {
        let pending = std::mem::take(&mut *self.cpus[c.id()].rcu_pending.lock().unwrap());
        if pending.is_empty() {
            return;
        }
        let _t = c.trace().enter("rcu_do_batch");
        for mm in pending {
            self.__mmdrop(c, mm);
        }
    }

    /// `mmget_not_zero(mm)`.
    pub fn mmget_not_zero(&self, mm: MmRef) -> bool {
        if !self.mm_live(mm) {
            return false;
        }
        let u = &self.slot(mm).users;
        // Relaxed: the CAS below decides.
        let mut v = u.load(Relaxed);
        loop {
            if v <= 0 {
                return false;
            }
            // Relaxed on success: atomic_inc_not_zero() needs no ordering to take a reference
            // the caller already proved exists (it holds mm_count or an RCU-protected task).
            match u.compare_exchange(v, v + 1, Relaxed, Relaxed) {
                Ok(_) => return true,
                Err(x) => v = x,
            }
        }
    }

    /// `mmput(mm)`: drop one `mm_users`; the last one runs `__mmput`.
    pub fn mmput(&self, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("mmput");
        if !self.mm_deref(c, mm, "mmput") {
            return;
        }
        // AcqRel: atomic_dec_and_test is fully ordered. This is the "__mmput() is a release
        // barrier" of H's going-lazy argument (§3.c): the Release half orders every user's
        // earlier `rq->lazy_mm = mm` store before the freer's acquire-loads in
        // mm_unlazy_mm_count; the Acquire half on the 1→0 edge makes them visible to us.
        let old = self.slot(mm).users.fetch_sub(1, AcqRel);
        if old <= 0 {
            self.underflow(c, mm, "mm_users below zero");
            return;
        }
        if old == 1 {
            self.__mmput(c, mm);
        }
    }

    /// `__mmput(mm)`: `exit_mmap` (with its final flush), the scheme's post-exit hook, then the
    /// users' shared `mmdrop`.
    pub fn __mmput(&self, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("__mmput");
        self.exit_mmap(c, mm);
        c.point(self, "__mmput:after_exit_mmap");
        self.scheme.after_exit_mmap(self, c, mm);
        c.point(self, "__mmput:before_mmdrop");
        self.mmdrop(c, mm);
    }

    /// `exit_mmap(mm)`: unmap everything, free page tables, final fullmm TLB flush.
    pub fn exit_mmap(&self, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("exit_mmap");
        if !self.mm_deref(c, mm, "exit_mmap") {
            return;
        }
        c.point(self, "exit_mmap:unmap_vmas");
        c.point(self, "exit_mmap:free_pgtables");
        self.tlb_finish_mmu(c, mm, true, true);
        c.point(self, "exit_mmap:after_flush");
    }

    /// `__mmdrop(mm)`: the last `mm_count` went away.
    #[allow(non_snake_case)]
    pub fn __mmdrop(&self, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("__mmdrop");
        // Relaxed: `special` is set at boot and published with the kernel.
        if self.slot(mm).special.load(Relaxed) {
            self.warn(
                c,
                mm,
                "BUG_ON(mm == &init_mm): static mm reached mm_count 0",
            );
            return;
        }
        let cur = self.curr(c.id());
        if self.task(cur).mm() == mm {
            self.warn(c, mm, "WARN_ON_ONCE(mm == current->mm)");
        }
        self.scheme.cleanup_lazy_tlbs(self, c, mm);
        // After cleanup: the local CPU may itself have been lazy on mm (§2.5).
        if self.task(cur).active_mm() == mm {
            self.warn(c, mm, "WARN_ON_ONCE(mm == current->active_mm)");
        }
        c.point(self, "__mmdrop:before_free");
        self.free_mm(c, mm);
    }

    /// `mm_free_pgd` + `free_mm`: the oracle checks the §1.7 safety invariant here.
    fn free_mm(&self, c: &dyn Cpu, mm: MmRef) {
        if !self.mm_live(mm) {
            self.oracle.report(
                ViolationKind::DoubleFree,
                c.id(),
                c.trace().path(),
                mm,
                c.now(),
                "__mmdrop of an already freed mm".into(),
            );
            return;
        }
        for cpu in 0..self.ncpus() {
            let pc = &self.cpus[cpu];
            let loaded = pc.loaded_mm() == mm;
            let cur = self.task(self.curr(cpu));
            let active =
                !self.cfg.arch.loaded_mm_separate && cur.active_mm() == mm && self.cpu_online(cpu);
            if loaded || active {
                self.oracle.report(
                    ViolationKind::FreedWhileLoaded,
                    c.id(),
                    c.trace().path(),
                    mm,
                    c.now(),
                    format!(
                        "cpu{cpu} still has it {}",
                        if loaded {
                            "loaded in its MMU"
                        } else {
                            "as current->active_mm"
                        }
                    ),
                );
            }
        }
        let path = c.trace().path();
        let via = {
            let frames: Vec<&str> = path.split(" > ").collect();
            frames
                .iter()
                .rev()
                .find(|f| FREE_SITES.contains(f))
                .or(frames.first())
                .copied()
                .unwrap_or("?")
                .to_string()
        };
        self.slot(mm).pgd.free();
        self.oracle.freed(
            mm,
            FreeRecord {
                cpu: c.id(),
                via,
                path,
                step: c.now(),
            },
        );
        self.mm_release_slot(mm);
    }
}
