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
use crate::machine::{Access, Cpu, Event, Line};
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
    /// `mmgrab(mm)`: `atomic_inc(&mm->mm_count)`. Grabbing an mm whose `mm_count` is already
    /// 0 is a violation (the kernel would resurrect an mm that `__mmdrop` is freeing).
    pub fn mmgrab(&self, c: &dyn Cpu, mm: MmRef) {
        if !self.mm_deref(c, mm, "mmgrab") {
            return;
        }
        // Relaxed: atomic_inc() is unordered in the kernel; the grabber already holds a
        // reference (or the mm is otherwise pinned) so no ordering is needed to keep it alive.
        touch!(self, c, Line::MmCount(mm.idx() as u32), Access::Rmw);
        let old = self.slot(mm).count.fetch_add(1, Relaxed);
        self.ev(c, Event::MmCountRmw);
        if old <= 0 {
            self.violation(
                c,
                ViolationKind::GrabOfDeadMm,
                mm,
                format!("mmgrab on an mm whose mm_count was {old}: __mmdrop is already due"),
            );
        }
    }

    /// `atomic_add(n, &mm->mm_count)` (H's batched grab).
    pub fn mm_count_add(&self, c: &dyn Cpu, mm: MmRef, n: i64) {
        if !self.mm_deref(c, mm, "atomic_add(mm_count)") {
            return;
        }
        // Relaxed: atomic_add() is unordered; H's caller holds the mm_users-side reference.
        touch!(self, c, Line::MmCount(mm.idx() as u32), Access::Rmw);
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
        touch!(self, c, Line::MmCount(mm.idx() as u32), Access::Rmw);
        let old = self.slot(mm).count.fetch_sub(n, Relaxed);
        self.ev(c, Event::MmCountRmw);
        if old - n <= 0 {
            self.underflow(c, mm, "atomic_sub(mm_count) reached zero without __mmdrop");
        }
    }

    fn underflow(&self, c: &dyn Cpu, mm: MmRef, what: &str) {
        self.violation(c, ViolationKind::RefcountUnderflow, mm, what.to_string());
    }

    /// `mmdrop(mm)`: `atomic_dec_and_test` (a full barrier, §4.6) → `__mmdrop` at zero.
    pub fn mmdrop(&self, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("mmdrop");
        if self.mmdrop_dec(c, mm) {
            self.__mmdrop(c, mm);
        }
    }

    /// The decrement of `mmdrop`; true when it reached zero. An `mmdrop` of an mm that was
    /// already freed is a reference dropped twice: reported as a double free.
    fn mmdrop_dec(&self, c: &dyn Cpu, mm: MmRef) -> bool {
        if !mm.is_null() && !self.mm_live(mm) {
            if let Some(f) = self.oracle.shadow(mm).and_then(|s| s.freed) {
                self.violation(
                    c,
                    ViolationKind::DoubleFree,
                    mm,
                    format!(
                        "mmdrop of an mm already freed on cpu{} by {} at step {}: a \
                         reference dropped twice",
                        f.cpu, f.via, f.step
                    ),
                );
                return false;
            }
        }
        if !self.mm_deref(c, mm, "mmdrop") {
            return false;
        }
        // atomic_dec_and_test: fully ordered (LKMM), so `full::fetch_sub`. The leading
        // smp_mb orders our prior uses of the mm before the decrement that a later freer
        // reads (release half); the trailing one, on the 1→0 edge, orders every other
        // dropper's uses before our __mmdrop (acquire half). Membarrier relies on it being a
        // full barrier (mmdrop() comment, §4.6).
        touch!(self, c, Line::MmCount(mm.idx() as u32), Access::Rmw);
        let old = if self.cfg.knobs.mmdrop_unordered {
            // Loom mutant: Relaxed, no barrier (see Knobs::mmdrop_unordered).
            self.slot(mm).count.fetch_sub(1, Relaxed)
        } else {
            crate::sync::full::fetch_sub(&self.slot(mm).count, 1)
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
        // atomic_inc_not_zero: fully ordered on success (LKMM); the caller needs no ordering
        // beyond taking a reference it proved exists (it holds mm_count or a locked task).
        crate::sync::full::inc_not_zero(&self.slot(mm).users)
    }

    /// `mmput(mm)`: drop one `mm_users`; the last one runs `__mmput`.
    pub fn mmput(&self, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("mmput");
        if !self.mm_deref(c, mm, "mmput") {
            return;
        }
        // atomic_dec_and_test: fully ordered (`full::fetch_sub`). This is the "__mmput() is
        // a release barrier" of H's going-lazy argument (§3.c): the leading smp_mb orders every
        // user's earlier `rq->lazy_mm = mm` store before the decrement; the trailing one on the
        // 1→0 edge orders all of them before the freer's loads in mm_unlazy_mm_count.
        touch!(self, c, Line::MmUsers(mm.idx() as u32), Access::Rmw);
        let old = crate::sync::full::fetch_sub(&self.slot(mm).users, 1);
        if old <= 0 {
            self.underflow(c, mm, "mm_users below zero");
            return;
        }
        if old == 1 {
            self.oracle.exited(mm, c.now());
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
        // set_mm_exe_file, mmlist, module_put (not modelled); lru_gen_del_mm(mm).
        self.lru_gen_del_mm(c, mm);
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
        if self.cfg.knobs.preempt_rt {
            // might_sleep(): on PREEMPT_RT __mmdrop takes sleeping locks, so the scheduler tail
            // (preemption off until finish_task_switch returns) and raw preempt-off sections
            // must defer it (mmdrop_sched → call_rcu) — §4.8, §7 #24.
            let path = c.trace().path();
            let in_sched = path.contains("finish_task_switch") && !path.contains("rcu_do_batch");
            if in_sched || self.cpu(c.id()).preempt_depth() > 0 || !self.irqs_enabled(c.id()) {
                self.oracle.report(
                    ViolationKind::SleepInAtomic,
                    c.id(),
                    path,
                    mm,
                    c.now(),
                    "__mmdrop (may sleep on PREEMPT_RT) called from atomic context".into(),
                );
            }
        }
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
            self.violation(
                c,
                ViolationKind::DoubleFree,
                mm,
                "__mmdrop of an already freed mm".into(),
            );
            return;
        }
        for cpu in 0..self.ncpus() {
            let pc = &self.cpus[cpu];
            let loaded = pc.loaded_mm() == mm;
            // Read before active_mm: see PerCpu::replacing_active_mm.
            let replacing = pc.replacing_active_mm();
            let cur = self.task(self.curr(cpu));
            // The active_mm half holds on x86 too (§1.7): a stale current->active_mm is what
            // the scheduler, exec, kthread_use_mm and (pre-fix) NMI readers would follow —
            // except inside unlazy_mm_irqs_off, which overwrites it before anything can.
            let active = cur.active_mm() == mm && self.cpu_online(cpu) && !replacing;
            if loaded || active {
                self.violation(
                    c,
                    ViolationKind::FreedWhileLoaded,
                    mm,
                    format!(
                        "cpu{cpu} still has it {}",
                        if loaded {
                            "loaded in its MMU"
                        } else if self.cfg.arch.loaded_mm_separate {
                            "as current->active_mm (a stale pointer: its MMU moved on)"
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
        };
        let (via, path) = (self.oracle.intern(via), self.oracle.intern(&path));
        self.slot(mm).pgd.free();
        // destroy_context (x86): mm_free_global_asid.
        self.mm_free_global_asid(c, mm);
        self.oracle.freed(
            mm,
            FreeRecord {
                cpu: c.id(),
                via,
                path,
                step: c.now(),
                during_quiesce: self.in_quiesce(),
            },
        );
        self.mm_release_slot(mm);
    }
}
