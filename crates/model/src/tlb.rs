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
use crate::machine::{Access, Cpu, Event, Line};
use crate::oracle::ViolationKind;
use crate::scheme::Site;
use crate::smp::{IpiClass, IpiFunc};
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

impl Kernel {
    /// `enter_lazy_tlb(mm, tsk)`: x86 sets `is_lazy` unless `loaded_mm == &init_mm`; other
    /// arches do nothing.
    pub fn enter_lazy_tlb(&self, c: &dyn Cpu, _mm: MmRef) {
        if self.cfg.arch.loaded_mm_separate {
            let pc = self.cpu(c.id());
            if pc.loaded_mm() != self.init_mm {
                touch!(self, c, Line::TlbState(pc.cpu), Access::Store);
                pc.set_is_lazy(true);
            }
        }
    }

    /// `switch_mm_irqs_off(prev, next, tsk)`. x86 ignores `prev` and uses `loaded_mm`; the
    /// model does so on every arch (elsewhere `prev == loaded_mm` by construction).
    ///
    /// Path barriers (counted as such, whatever the scheme): x86 reads `tlb_gen` after an
    /// `smp_mb()` when it returns from lazy mode to the same mm, and on a real switch after
    /// `cpumask_set_cpu()`'s atomic or, when the bit is already set, an explicit `smp_mb()`
    /// (83b0177a6c48, needed since Rik's lazy mask skips the atomic; §4.9); powerpc issues
    /// `smp_mb()` after setting its bit the first time this CPU uses the mm.
    pub fn switch_mm_irqs_off(&self, c: &dyn Cpu, _prev: MmRef, next: MmRef) {
        let _t = c.trace().enter("switch_mm_irqs_off");
        let cpu = c.id();
        let pc = self.cpu(cpu);
        let real_prev = pc.loaded_mm();
        let was_lazy = pc.is_lazy();
        if was_lazy {
            touch!(self, c, Line::TlbState(cpu as u32), Access::Store);
        }
        pc.set_is_lazy(false);
        let x86 = self.cfg.arch.loaded_mm_separate;
        let sticky = self.mask_policy() == MaskPolicy::Sticky;
        if real_prev == next {
            // Same mm (e.g. T1(M)→idle→T2(M)): no CR3 write. Re-set our mask bit in case a
            // flush trimmed it while we were lazy (§7 #4) — on x86 not for init_mm
            // (`WARN_ON_ONCE(real_prev != &init_mm && !cpumask_test_cpu(...))`).
            if self.mm_deref(c, next, "switch_mm_irqs_off(next)") {
                self.slot(next).pgd.walk();
                let test = self.mask_policy() != MaskPolicy::None && !(x86 && next == self.init_mm);
                if test && !self.mask_test(c, next, cpu) {
                    self.mask_set(c, next, cpu);
                    if sticky && next != self.init_mm {
                        // ppc: orders the mask store before loading translations of next;
                        // pairs with the smp_mb of a flusher that reads mm_cpumask.
                        self.smp_mb_path(c);
                    }
                }
                if x86 && was_lazy {
                    // smp_mb(); atomic64_read(&next->context.tlb_gen). In the kernel it pairs
                    // with flush_tlb_mm_range's fully ordered tlb_gen increment; the model
                    // carries no tlb_gen, so here it is counted (a path barrier), not paired.
                    self.smp_mb_path(c);
                }
            }
            return;
        }
        if !self.mm_deref(c, next, "switch_mm_irqs_off(next): load page tables") {
            return;
        }
        // v5.16–v6.12 x86 clears this CPU's bit for the previous mm when it switches away.
        let clear_prev = self.mask_policy() == MaskPolicy::X86ClearOnSwitch
            && real_prev != self.init_mm
            && self.mm_live(real_prev);
        let clear_first = clear_prev && !self.cfg.knobs.x86_clear_after_cr3;
        if clear_first {
            // The kernel's order: "Stop remote flushes for the previous mm"
            // (cpumask_clear_cpu), then set next's bit, read tlb_gen, write CR3. Until that
            // write the MMU is still on real_prev, outside its mask (PerCpu::leaving_mm).
            pc.set_leaving_mm(true);
            self.mask_clear(c, real_prev, cpu);
        }
        if !real_prev.is_null() && real_prev != self.init_mm {
            // IRQs off, the MMU still on real_prev: the window before the CR3 write (every
            // arch, so that a scenario can hold any scheme here).
            c.point(self, "switch_mm_irqs_off:before_cr3");
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
        // Start receiving flush IPIs for next before using it (the kernel sets the bit, then
        // reads tlb_gen, then writes CR3): a flusher that sees loaded_mm == next (x86: TSO
        // acquire) also sees the bit.
        let set = next != self.init_mm
            && self.mask_policy() != MaskPolicy::None
            && !self.mask_test(c, next, cpu);
        if set {
            self.mask_set(c, next, cpu);
        }
        match self.mask_policy() {
            MaskPolicy::X86Lazy if !set => {
                // 83b0177a6c48: "Rely on the smp_mb() implied by cpumask_set_cpu()'s atomic
                // operation, or explicitly provide one" between the loaded_mm store and the
                // tlb_gen load. In the kernel it pairs with flush_tlb_mm_range's fully ordered
                // tlb_gen increment; the model has no tlb_gen, so it is counted, not paired
                // (and the set_bit's AcqRel is not a full barrier in C11: nothing here needs one).
                self.smp_mb_path(c);
            }
            MaskPolicy::Sticky if set => {
                // ppc first use of next on this CPU: smp_mb() after cpumask_set_cpu, pairs with
                // the smp_mb of radix__flush_tlb_mm before it reads mm_cpumask.
                self.smp_mb_path(c);
            }
            _ => {}
        }
        // Relaxed: loaded_mm is per-CPU; remote flushers read it only as a hint (§1.4). The
        // model takes the CR3 write as done here. With `x86_clear_after_cr3` it clears its
        // bit for the previous mm only below, so a flusher that sees that bit cleared (x86:
        // acquire, TSO) also sees the switch.
        // Oracle shadow (std Relaxed, observation only; see PerCpu::switch_gen), bumped before
        // loaded_mm so an observer that sees the new loaded_mm sees the new generation (on
        // the threads engine's x86 host, stores are seen in order).
        pc.switch_gen
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if x86 {
            // this_cpu_write(cpu_tlbstate.loaded_mm), then the read of next->context.tlb_gen.
            touch!(self, c, Line::TlbState(cpu as u32), Access::Store);
            touch!(self, c, Line::MmContext(next.idx() as u32), Access::Load);
        }
        pc.set_loaded_mm(next);
        if clear_first {
            pc.set_leaving_mm(false);
        }
        if !real_prev.is_null() && real_prev != self.init_mm {
            // `if (next != real_prev) switch_ldt(real_prev, next)`: reads
            // prev->context.ldt, in real_prev's mm_struct, after the CR3 write.
            self.mm_deref(c, real_prev, "switch_ldt(prev): prev->context.ldt");
        }
        if clear_prev && !clear_first {
            // The fix: leave the mask only when nothing here uses real_prev any more.
            self.mask_clear(c, real_prev, cpu);
        }
        self.ev(c, Event::MmuSwitch);
        // A CR3 / PID write is serialising: it provides membarrier's barrier (§4.6).
        self.full_barrier_done(c);
    }

    /// x86 `leave_mm()`: switch the MMU to init_mm behind the scheduler's back (`loaded_mm`
    /// moves, `current->active_mm` and every refcount stay, §4.4).
    pub(crate) fn leave_mm(&self, c: &dyn Cpu, from: MmRef) {
        let _t = c.trace().enter("leave_mm");
        self.switch_mm_irqs_off(c, from, self.init_mm);
    }

    /// x86 `should_trim_cpumask(mm)` (6db2526c1d69): true at most once a `trim_interval`.
    fn should_trim_cpumask(&self, c: &dyn Cpu, mm: MmRef) -> bool {
        let Some(iv) = self.cfg.knobs.trim_interval else {
            return false;
        };
        let now = c.jiffies();
        let s = &self.slot(mm).next_trim;
        // Relaxed: a rate limit, racy in the kernel too (READ_ONCE/WRITE_ONCE).
        // time_after(jiffies, next_trim_cpumask): strictly after.
        if now > s.load(Relaxed) {
            s.store(now + iv, Relaxed);
            return true;
        }
        false
    }

    /// `tlb_finish_mmu` / `flush_tlb_mm_range` for `mm` from the CPU that changed it.
    /// `exit` marks exit_mmap's final fullmm flush. With `freed_tables`, the oracle checks
    /// that no CPU whose MMU had the mm loaded was left unflushed (page tables as objects).
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
                // (loaded, switch generation) of every CPU as the flush begins, read before the
                // mask: a CPU seen on the mm set its bit before (x86 TSO), so the mask has it.
                // (Generation first: a CPU seen on the mm is then seen no older than that.)
                let loaded_before: Vec<(bool, u64)> = (0..self.ncpus())
                    .map(|t| {
                        let gen = self.cpu(t).switch_gen();
                        (self.cpu(t).loaded_mm() == mm, gen)
                    })
                    .collect();
                // inc_mm_tlb_gen(mm): a fully ordered RMW on mm->context.tlb_gen.
                touch!(self, c, Line::MmContext(mm.idx() as u32), Access::Rmw);
                let mask = self.mm_cpumask(c, mm);
                let mut targets = CpuSet::with_cpus(self.ncpus());
                // flush_tlb_mm_range: `if (cpumask_any_but(mm_cpumask(mm), cpu) < nr_cpu_ids)`
                // flush_tlb_multi (mainline first takes its trim slot: `info->trim_cpumask =
                // should_trim_cpumask(mm)`, whether or not tables were freed); `else if (mm ==
                // loaded_mm)` flush_tlb_func locally, and nothing otherwise.
                let remote = mask.iter().any(|t| t != me);
                let trim = remote && self.should_trim_cpumask(c, mm);
                if !remote && self.cpu(me).loaded_mm() == mm {
                    targets.insert(me);
                }
                let lazy_mask = self.mask_policy() == MaskPolicy::X86Lazy;
                for t in mask.iter().filter(|_| remote) {
                    let pc = self.cpu(t);
                    if t != me {
                        // should_flush_tlb reads the target's cpu_tlbstate(_shared).
                        touch!(self, c, Line::TlbState(t as u32), Access::Load);
                    }
                    // native_flush_tlb_multi: with freed_tables every CPU in the mask (lazy ones
                    // must drop paging-structure caches), the local one included; otherwise
                    // not lazy (v5.16/v6.11 tlb_is_not_lazy), and with Rik's lazy mask also
                    // the mm loaded or a trim due (mainline should_flush_tlb). Relaxed hints,
                    // as in tlb.c.
                    let want = freed_tables
                        || (!pc.is_lazy() && (!lazy_mask || pc.loaded_mm() == mm || trim));
                    if want && (t == me || !self.cfg.knobs.pv_flush_skips.contains(&t)) {
                        targets.insert(t);
                    }
                }
                let func = IpiFunc::FlushTlb {
                    mm,
                    freed_tables,
                    exit,
                };
                // on_each_cpu_cond_mask: remote CPUs by IPI, the local CPU directly.
                self.on_each_cpu_mask(c, &targets, func, IpiClass::Flush);
                if freed_tables {
                    self.check_pgtables_flushed(c, mm, &loaded_before, &targets);
                }
            }
            FlushKind::Broadcast | FlushKind::Hypervisor => {
                let radix =
                    self.cfg.arch.mask == MaskPolicy::Sticky && kind == FlushKind::Broadcast;
                if exit && self.scheme.exit_flush_unlazies() && radix {
                    // powerpc radix__tlb_flush, fullmm with shoot-lazies: preempt_disable();
                    // smp_mb() (pairs with the switch_mm barrier of a CPU setting its mask bit);
                    // exit_flush_lazy_tlbs(mm); __flush_all_mm(mm, true).
                    self.smp_mb(c);
                    let mask = self.mm_cpumask(c, mm);
                    self.smp_call_function_many(
                        c,
                        &mask,
                        IpiFunc::PpcExitLazyFlush(mm),
                        IpiClass::Flush,
                    );
                }
                if radix {
                    // radix__flush_all_mm / __flush_tlb_range: smp_mb() "see
                    // radix__flush_tlb_mm" — orders the PTE updates before reading
                    // mm_cpumask to choose local or global tlbie; pairs with switch_mm's.
                    self.smp_mb_path(c);
                }
                // Broadcast tlbie / TLBI / hypervisor flush: reaches every TLB, switches nobody.
                self.ev(
                    c,
                    if kind == FlushKind::Broadcast {
                        Event::BroadcastFlush
                    } else {
                        Event::HypervisorFlush
                    },
                );
            }
        }
    }

    /// Page tables as objects: after a freeing flush returned, a CPU that had the mm loaded
    /// before the flush, still has it without having switched since (a CPU that switched
    /// away and back re-read `tlb_gen` and flushed itself), and was not flushed may walk the
    /// freed tables.
    fn check_pgtables_flushed(
        &self,
        c: &dyn Cpu,
        mm: MmRef,
        before: &[(bool, u64)],
        flushed: &CpuSet,
    ) {
        for (t, &(was, gen)) in before.iter().enumerate() {
            // A preempted vCPU that a PV flush skipped flushes at its next VM entry. A CPU
            // between its mask clear and its CR3 write walks no user page tables of the mm
            // again (PerCpu::leaving_mm; read before loaded_mm).
            if !was
                || self.cpu(t).leaving_mm()
                || flushed.contains(t)
                || self.cfg.knobs.pv_flush_skips.contains(&t)
                || !self.cpu_online(t)
                || self.cpu(t).loaded_mm() != mm
                || self.cpu(t).switch_gen() != gen
            {
                continue;
            }
            self.violation(
                c,
                ViolationKind::PgtablesFreedWhileWalked,
                mm,
                format!(
                    "cpu{t} has the mm loaded and was not flushed when its page tables were freed"
                ),
            );
        }
    }

    /// x86 `flush_tlb_func()` run by a flush IPI (or locally). `freed_tables` only chose the
    /// targets (in `tlb_finish_mmu`); the handler's mm work is the same either way.
    pub fn flush_tlb_func(&self, c: &dyn Cpu, mm: MmRef, _freed_tables: bool, exit: bool) {
        let _t = c.trace().enter("flush_tlb_func");
        let cpu = c.id();
        let pc = self.cpu(cpu);
        if exit && self.scheme.exit_flush_unlazies() {
            // L: the exit flush "must make sure that no lazy users exist" [L-0811] — lazy by
            // the scheduler's account (active_mm), whatever the MMU has loaded.
            self.exit_lazy_flush_tlb(c, mm);
            return;
        }
        let loaded = pc.loaded_mm();
        if loaded != mm {
            // Rik's lazy mm_cpumask: a CPU that no longer has mm loaded leaves the mask here.
            if self.mask_policy() == MaskPolicy::X86Lazy && self.mm_live(mm) {
                self.mask_clear(c, mm, cpu);
            }
            return;
        }
        if pc.is_lazy() {
            match self
                .scheme
                .lazy_flush()
                .unwrap_or(self.cfg.knobs.x86_lazy_flush)
            {
                // "We're in lazy mode ... just switch to init_mm": loaded_mm moves,
                // current->active_mm does not (§4.4). Then return: the switch is the flush.
                LazyFlush::LeaveMm => self.leave_mm(c, mm),
                LazyFlush::Unlazy => self.unlazy_mm_irqs_off(c),
            }
            return;
        }
        // Otherwise: local flush of mm's entries.
        self.ev(c, Event::LocalFlush);
    }

    /// powerpc radix `exit_lazy_flush_tlb(mm)` (also L's exit-flush unlazy) \[PPC-TRIM\].
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
            // "Is a kernel thread and is using mm as the lazy tlb": mmgrab_lazy_tlb(&init_mm);
            // current->active_mm = &init_mm; switch_mm_irqs_off(mm, &init_mm);
            // mmdrop_lazy_tlb(mm) — S's drop is its smp_mb.
            self.scheme
                .mmgrab_lazy_tlb(self, c, self.init_mm, Site::ExitLazyFlush);
            cur.set_active_mm(self.init_mm);
            self.switch_mm_irqs_off(c, mm, self.init_mm);
            self.scheme
                .mmdrop_lazy_tlb(self, c, mm, Site::ExitLazyFlush);
        }
        if self.mask_policy() != MaskPolicy::None && self.mm_live(mm) {
            // dec_mm_active_cpus(); cpumask_clear_cpu(); _tlbiel_pid(RIC_FLUSH_ALL).
            self.mask_clear(c, mm, cpu);
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
            // switch_mm(mm, &init_mm, current)
            self.switch_mm_irqs_off(c, mm, self.init_mm);
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
                self.leave_mm(c, loaded);
            } else {
                self.unlazy_mm_irqs_off(c);
            }
        }
        self.local_irq_enable(c);
    }
}
