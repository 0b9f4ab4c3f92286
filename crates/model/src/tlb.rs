//! Arch TLB and MMU paths (spec §1.4, §1.5, §2.4, §3.b, §4.4, §4.10): `enter_lazy_tlb`,
//! `switch_mm_irqs_off`, the exit/munmap flush (`tlb_finish_mmu`), x86 `flush_tlb_func`,
//! powerpc `exit_lazy_flush_tlb`, `do_shoot_lazy_tlb`, x86 `leave_mm`.
//!
//! Exit flush by arch:
//! ```text
//!  x86        IPI mm_cpumask (freed_tables: lazy CPUs too) → flush_tlb_func on each
//!               lazy target: LeaveMm (loaded_mm := init_mm, active_mm stale) | Unlazy (A21)
//!               L: exit flush fully unlazies + trims (exit_lazy_flush_tlb)
//!  ppc-radix  tlbie broadcast; S-ppc/L: exit_flush_lazy_tlbs IPIs mm_cpumask \ self first
//!  ppc-hash   hypervisor flush: no IPIs       arm64: broadcast TLBI: no IPIs, no mask
//! ```

use crate::arch::{FlushKind, LazyFlush, MaskPolicy};
use crate::ids::{CpuSet, MmRef};
use crate::machine::{Cpu, Event};
use crate::smp::{IpiClass, IpiFunc};
use crate::Kernel;

impl Kernel {
    /// `enter_lazy_tlb(mm, tsk)`: x86 sets `is_lazy` unless `loaded_mm == &init_mm`; other
    /// arches do nothing.
    pub fn enter_lazy_tlb(&self, c: &dyn Cpu, _mm: MmRef) {
        if self.cfg.arch.loaded_mm_separate {
            let pc = self.cpu(c.id());
            if pc.loaded_mm() != self.init_mm {
                pc.set_is_lazy(true);
            }
        }
    }

    /// `switch_mm_irqs_off(prev, next, tsk)`. x86 ignores `prev` and uses `loaded_mm`; the
    /// model does so on every arch (elsewhere `prev == loaded_mm` by construction).
    pub fn switch_mm_irqs_off(&self, c: &dyn Cpu, _prev: MmRef, next: MmRef) {
        let _t = c.trace().enter("switch_mm_irqs_off");
        let cpu = c.id();
        let pc = self.cpu(cpu);
        let real_prev = pc.loaded_mm();
        pc.set_is_lazy(false);
        if real_prev == next {
            // Same mm (e.g. T1(M)→idle→T2(M)): no CR3 write. Re-set our mask bit in case a
            // flush trimmed it while we were lazy (§7 #4).
            if self.mm_deref(c, next, "switch_mm_irqs_off(next)") {
                self.slot(next).pgd.walk();
                if self.mask_policy() != MaskPolicy::None && !self.mask_test(next, cpu) {
                    self.mask_set(next, cpu);
                }
            }
            return;
        }
        if !self.mm_deref(c, next, "switch_mm_irqs_off(next): load page tables") {
            return;
        }
        // The MMU walked real_prev's page tables up to this CR3 write: that use must be
        // ordered before real_prev's mm_free_pgd (loom checks it; elsewhere a stale handle is
        // a use-after-free).
        if !real_prev.is_null()
            && self.mm_deref(
                c,
                real_prev,
                "switch_mm_irqs_off(prev): MMU still on its page tables",
            )
        {
            self.slot(real_prev).pgd.walk();
        }
        self.slot(next).pgd.walk();
        self.mask_set(next, cpu);
        if self.mask_policy() == MaskPolicy::X86ClearOnSwitch
            && real_prev != self.init_mm
            && self.mm_live(real_prev)
        {
            self.mask_clear(real_prev, cpu);
        }
        // Relaxed: loaded_mm is per-CPU; remote flushers read it only as a hint (§1.4).
        pc.set_loaded_mm(next);
        self.ev(c, Event::MmuSwitch);
        // A CR3 / PID write is serialising: it provides membarrier's barrier (§4.6).
        self.full_barrier_done(c);
    }

    /// Plain `switch_mm` to init_mm used by shootdown paths (no lazy accounting).
    fn switch_to_init_mm(&self, c: &dyn Cpu, from: MmRef) {
        self.switch_mm_irqs_off(c, from, self.init_mm);
    }

    /// `tlb_finish_mmu` / `flush_tlb_mm_range` for `mm` from the CPU that changed it.
    /// `exit` marks exit_mmap's final fullmm flush.
    pub fn tlb_finish_mmu(&self, c: &dyn Cpu, mm: MmRef, freed_tables: bool, exit: bool) {
        let _t = c.trace().enter("tlb_flush");
        let me = c.id();
        let kind = if self.cfg.knobs.broadcast_flush {
            FlushKind::Broadcast
        } else {
            self.cfg.arch.flush
        };
        match kind {
            FlushKind::Ipi => {
                let mask = self.mm_cpumask(mm);
                let mut targets = CpuSet::with_cpus(self.ncpus());
                for t in mask.iter().filter(|&t| t != me) {
                    let pc = self.cpu(t);
                    // native_flush_tlb_multi: with freed_tables every CPU in the mask (lazy ones
                    // must drop paging-structure caches); otherwise only CPUs that are not lazy
                    // and have the mm loaded (should_flush_tlb). Relaxed hints, as in tlb.c.
                    let want = freed_tables || (!pc.is_lazy() && pc.loaded_mm() == mm);
                    if want && !self.cfg.knobs.pv_flush_skips.contains(&t) {
                        targets.insert(t);
                    }
                }
                self.smp_call_function_many(
                    c,
                    &targets,
                    IpiFunc::FlushTlb {
                        mm,
                        freed_tables,
                        exit,
                    },
                    IpiClass::Flush,
                );
            }
            FlushKind::Broadcast | FlushKind::Hypervisor => {
                if exit
                    && self.scheme.exit_flush_unlazies()
                    && self.cfg.arch.mask == MaskPolicy::Sticky
                    && kind == FlushKind::Broadcast
                {
                    // powerpc radix__tlb_flush, fullmm with shoot-lazies: preempt_disable();
                    // smp_mb() (pairs with the switch_mm barrier of a CPU setting its mask bit);
                    // exit_flush_lazy_tlbs(mm); __flush_all_mm(mm, true).
                    self.smp_mb(c);
                    let mask = self.mm_cpumask(mm);
                    self.smp_call_function_many(
                        c,
                        &mask,
                        IpiFunc::PpcExitLazyFlush(mm),
                        IpiClass::Flush,
                    );
                }
                // Broadcast tlbie / TLBI / hypervisor flush: reaches every TLB, switches nobody.
            }
        }
    }

    /// x86 `flush_tlb_func()` run by a flush IPI. `freed_tables` only chose the targets (in
    /// `tlb_finish_mmu`); the handler's mm work is the same either way.
    pub fn flush_tlb_func(&self, c: &dyn Cpu, mm: MmRef, _freed_tables: bool, exit: bool) {
        let _t = c.trace().enter("flush_tlb_func");
        let cpu = c.id();
        let pc = self.cpu(cpu);
        let loaded = pc.loaded_mm();
        if loaded != mm {
            // Rik's lazy mm_cpumask: a CPU that no longer has mm loaded leaves the mask here.
            if self.mask_policy() == MaskPolicy::X86Lazy && self.mm_live(mm) {
                self.mask_clear(mm, cpu);
            }
            return;
        }
        if pc.is_lazy() {
            if exit && self.scheme.exit_flush_unlazies() {
                // L: the exit flush "must make sure that no lazy users exist" [L-0811].
                self.exit_lazy_flush_tlb(c, mm);
                return;
            }
            match self
                .cfg
                .knobs
                .x86_lazy_flush
                .unwrap_or(self.scheme.lazy_flush())
            {
                LazyFlush::LeaveMm => {
                    // "We're in lazy mode ... just switch to init_mm": loaded_mm moves,
                    // current->active_mm does not (§4.4).
                    self.switch_to_init_mm(c, mm);
                }
                LazyFlush::Unlazy => self.unlazy_mm_irqs_off(c),
            }
        }
        // Otherwise: local flush of mm's entries (nothing to model).
    }

    /// powerpc radix `exit_lazy_flush_tlb(mm)` (also L's exit-flush unlazy) [PPC-TRIM].
    pub fn exit_lazy_flush_tlb(&self, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("exit_lazy_flush_tlb");
        let cpu = c.id();
        let cur = self.task(self.curr(cpu));
        if cur.mm() == mm {
            // "A kthread could have done a mmget_not_zero() after the flushing CPU checked
            // mm_cpumask, and be in the process of kthread_use_mm when interrupted".
            return;
        }
        if cur.active_mm() == mm {
            self.do_shoot_lazy_tlb(c, mm);
        }
        if self.mask_policy() != MaskPolicy::None && self.mm_live(mm) {
            self.mask_clear(mm, cpu);
        }
    }

    /// `do_shoot_lazy_tlb(mm)` (§3.b): if this CPU is lazy on mm, switch it to init_mm.
    pub fn do_shoot_lazy_tlb(&self, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("do_shoot_lazy_tlb");
        let cur = self.task(self.curr(c.id()));
        if cur.active_mm() == mm {
            if !cur.mm().is_null() {
                self.warn(c, mm, "WARN_ON_ONCE(current->mm) in do_shoot_lazy_tlb");
            }
            cur.set_active_mm(self.init_mm);
            self.switch_to_init_mm(c, mm);
            self.scheme.shot_lazy(self, c, mm);
        }
    }

    /// `do_check_lazy_tlb(mm)`: WARN if this CPU is still lazy on mm.
    pub fn do_check_lazy_tlb(&self, c: &dyn Cpu, mm: MmRef) {
        let cur = self.task(self.curr(c.id()));
        if cur.active_mm() == mm {
            self.warn(c, mm, "do_check_lazy_tlb: still lazy on a dying mm");
        }
    }

    /// x86 `leave_mm()` from cpuidle (`CPUIDLE_FLAG_TLB_FLUSHED`), intel_idle, Xen: before
    /// patch 20 it switches to init_mm behind the scheduler's back; after, it is
    /// `unlazy_mm_irqs_off()` (§4.4, A20). No-op unless the CPU is lazy.
    pub fn cpuidle_leave_mm(&self, c: &dyn Cpu) {
        let _t = c.trace().enter("cpuidle_enter");
        let cpu = c.id();
        let cur = self.task(self.curr(cpu));
        if !cur.mm().is_null() {
            return;
        }
        self.local_irq_disable(c);
        let loaded = self.cpu(cpu).loaded_mm();
        if loaded != self.init_mm {
            if self.cfg.knobs.x86_leave_mm_in_idle {
                let _t = c.trace().enter("leave_mm");
                self.switch_to_init_mm(c, loaded);
            } else {
                self.unlazy_mm_irqs_off(c);
            }
        }
        self.local_irq_enable(c);
    }
}
