//! Arch TLB and MMU paths (spec §1.4, §1.5, §2.4, §3.b, §4.4, §4.10): `enter_lazy_tlb`,
//! `switch_mm_irqs_off`, powerpc `exit_lazy_flush_tlb`, `do_shoot_lazy_tlb`, x86
//! `leave_mm`. The flushes themselves (`tlb_finish_mmu`, x86 `flush_tlb_func`, `tlb_gen`)
//! are in `tlb_flush.rs`.
//!
//! Exit flush by arch:
//! ```text
//!  x86        IPI mm_cpumask (freed_tables: lazy CPUs too) → flush_tlb_func on each
//!               lazy target: LeaveMm (loaded_mm := init_mm, active_mm stale) | Unlazy (A21)
//!               L: exit flush fully unlazies + trims (exit_lazy_flush_tlb)
//!  ppc-radix  tlbie broadcast; S-ppc/L: exit_flush_lazy_tlbs IPIs mm_cpumask \ self first
//!  ppc-hash   hypervisor flush: no IPIs       arm64: broadcast TLBI: no IPIs, no mask
//! ```

use crate::arch::{MaskPolicy, MembarrierSwitch};
use crate::ids::MmRef;
use crate::machine::{Access, Cpu, Event, Line};
use crate::scheme::Site;
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
    ///
    /// x86 `tlb_gen`: a flush that frees no page tables skips lazy CPUs (`should_flush_tlb`),
    /// so a lazy CPU's TLB can fall behind its mm. Returning to that mm it finds its own
    /// generation older than `next->context.tlb_gen` and reloads CR3 with a flush ("TLB
    /// contents went out of date while we were in lazy mode"): one [`Event::LocalFlush`].
    /// ```text
    ///  flusher (flush_tlb_mm_range)          lazy CPU returning to mm
    ///  inc_mm_tlb_gen(mm)  [fully ordered]   is_lazy = false
    ///  should_flush_tlb: is_lazy? skip       smp_mb()
    ///                                        tlb_gen newer than mine? flush (CR3 reload)
    /// ```
    /// Store buffering: either the flusher sees `is_lazy == false` and sends the IPI, or the
    /// returning CPU sees the new generation and flushes itself.
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
            // Same mm (e.g. T1(M)→idle→T2(M)): no CR3 write. powerpc tests (and sets) its
            // bit before it compares prev and next. x86 v5.16 checks it, `WARN_ON_ONCE(
            // real_prev != &init_mm && !cpumask_test_cpu(cpu, mm_cpumask(next)))`, and sets it
            // if missing; with Rik's lazy mask (mainline) that check is under
            // `IS_ENABLED(CONFIG_DEBUG_VM)`, which production kernels leave off, so the
            // mm_cpumask word is not read at all. (On x86 the bit cannot be missing here:
            // only a flush clears it, and only on a CPU with another mm loaded.)
            if self.mm_deref(c, next, "switch_mm_irqs_off(next)") {
                self.slot(next).pgd.walk();
                let test = match self.mask_policy() {
                    MaskPolicy::None | MaskPolicy::X86Lazy => false,
                    MaskPolicy::X86ClearOnSwitch => next != self.init_mm,
                    MaskPolicy::Sticky => true,
                };
                if test && !self.mask_test(c, next, cpu) {
                    self.mask_set(c, next, cpu);
                    if sticky && next != self.init_mm {
                        // ppc: orders the mask store before loading translations of next;
                        // pairs with the smp_mb of a flusher that reads mm_cpumask.
                        self.smp_mb_path(c);
                    }
                }
                if let Some(asid) = self.mm_needs_global_asid(c, next) {
                    // INVLPGB: "Check if the current mm is transitioning to a global ASID":
                    // next_tlb_gen = atomic64_read(&next->context.tlb_gen); choose_new_asid
                    // gives the global ASID with need_flush = 0; reload_tlb writes CR3
                    // (NOFLUSH) and loaded_mm_asid. Global ASIDs are always up to date.
                    self.read_tlb_gen(c, next);
                    touch!(self, c, Line::TlbState(cpu as u32), Access::Store);
                    // Oracle shadow: a CR3 write onto a PCID that every INVLPGB of the mm
                    // keeps current. The CPU walks next's tables afresh from here, so a flush
                    // that began before it need not reach its old ASID (PerCpu::switch_gen).
                    pc.bump_switch_gen();
                    pc.set_loaded_asid(asid);
                    self.ev(c, Event::MmuSwitch);
                    if self.cfg.arch.membarrier_switch == MembarrierSwitch::MmuSwitch {
                        self.full_barrier_done(c);
                    }
                    return;
                }
                if pc.loaded_asid() != 0 {
                    // "Broadcast TLB invalidation keeps this ASID up to date all the time."
                    return;
                }
                if x86 && was_lazy {
                    // smp_mb(); next_tlb_gen = atomic64_read(&next->context.tlb_gen). Pairs
                    // with the fully ordered inc_mm_tlb_gen in tlb_finish_mmu (see above).
                    self.smp_mb_path(c);
                    let gen = self.read_tlb_gen(c, next);
                    if pc.tlb_gen() != gen {
                        // "TLB contents went out of date while we were in lazy mode":
                        // new_asid = prev_asid; need_flush = true → load_new_mm_cr3(.., true),
                        // a CR3 write without NOFLUSH (serialising, like any CR3 write).
                        pc.set_tlb_gen(gen);
                        self.ev(c, Event::LocalFlush);
                        self.full_barrier_done(c);
                    }
                }
            }
            return;
        }
        if !self.mm_deref(c, next, "switch_mm_irqs_off(next): load page tables") {
            return;
        }
        if x86 {
            // this_cpu_write(cpu_tlbstate.loaded_mm, LOADED_MM_SWITCHING): "Indicate that CR3
            // is about to change" (every era since 2018; only mainline's should_flush_tlb
            // reads it).
            touch!(self, c, Line::TlbState(cpu as u32), Access::Store);
            pc.set_switching(true);
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
        // The MMU walks real_prev's page tables up to the CR3 (PID, TTBR) write below: that
        // use must be ordered before real_prev's mm_free_pgd (loom checks it, at the write;
        // elsewhere a stale handle is a use-after-free, checked here).
        let walks_prev = !real_prev.is_null()
            && self.mm_deref(
                c,
                real_prev,
                "switch_mm_irqs_off(prev): MMU still on its page tables",
            );
        // Start receiving flush IPIs for next before using it (the kernel sets the bit, then
        // reads tlb_gen, then writes CR3): a flusher that sees loaded_mm == next (x86: TSO
        // acquire) also sees the bit.
        // v5.16–v6.12 x86 (X86ClearOnSwitch) sets it unconditionally: `if (next != &init_mm)
        // cpumask_set_cpu(cpu, mm_cpumask(next))`, one locked RMW and no load before it (6.12
        // arch/x86/mm/tlb.c:629; the bit was cleared when this CPU switched away from next).
        // Mainline's lazy mask and powerpc test the bit first and skip the RMW if it is set.
        let set = next != self.init_mm
            && match self.mask_policy() {
                MaskPolicy::None => false,
                MaskPolicy::X86ClearOnSwitch => true,
                _ => !self.mask_test(c, next, cpu),
            };
        if set {
            self.mask_set(c, next, cpu);
        }
        match self.mask_policy() {
            MaskPolicy::X86Lazy if !set => {
                // 83b0177a6c48: "Rely on the smp_mb() implied by cpumask_set_cpu()'s atomic
                // operation, or explicitly provide one" between the loaded_mm store
                // (LOADED_MM_SWITCHING, PerCpu::switching, set above) and the tlb_gen load.
                // Pairs with the fence after tlb_finish_mmu's inc_mm_tlb_gen: a flusher that
                // did not see this CPU switching bumped tlb_gen before it looked, and the
                // read below sees the bump.
                self.smp_mb_path(c);
            }
            MaskPolicy::Sticky if set => {
                // ppc first use of next on this CPU: inc_mm_active_cpus(next), an atomic_inc
                // of next->context.active_cpus (book3s64, radix and hash: mm/mmu_context.c:53),
                // then smp_mb() after cpumask_set_cpu, which pairs with the smp_mb of
                // radix__flush_tlb_mm before it reads mm_cpumask.
                touch!(self, c, Line::MmContext(next.idx() as u32), Access::Rmw);
                self.smp_mb_path(c);
            }
            _ => {}
        }
        if self.cfg.arch.membarrier_switch == MembarrierSwitch::ArchSwitchMm && !set {
            // powerpc: `if (!new_on_cpu) membarrier_arch_switch_mm(prev, next, tsk)`, before
            // the PID write (switch_mmu_context).
            self.membarrier_arch_switch_mm(c, next);
        }
        // Relaxed: loaded_mm is per-CPU; remote flushers read it only as a hint (§1.4). The
        // model takes the CR3 write as done here. With `x86_clear_after_cr3` it clears its
        // bit for the previous mm only below, so a flusher that sees that bit cleared (x86:
        // acquire, TSO) also sees the switch.
        // Oracle shadow, bumped before loaded_mm (PerCpu::bump_switch_gen).
        pc.bump_switch_gen();
        if x86 {
            // this_cpu_write(cpu_tlbstate.loaded_mm), then the read of next->context.tlb_gen:
            // choose_new_asid flushes a stale context (the CR3 write, counted as the switch)
            // and ctxs[new_asid].tlb_gen = next_tlb_gen.
            touch!(self, c, Line::TlbState(cpu as u32), Access::Store);
            let gen = self.read_tlb_gen(c, next);
            pc.set_tlb_gen(gen);
            // choose_new_asid: with INVLPGB, next's global ASID if it has one (no flush);
            // loaded_mm_asid is written after the CR3 write.
            pc.set_loaded_asid(self.mm_global_asid(c, next));
        }
        // The last walk of real_prev is at the write itself, after the mask RMW and the
        // barriers above (x86's bit set, powerpc's first-use and membarrier smp_mb()s): they
        // do not order it before anything (on powerpc the MMU uses prev until
        // switch_mmu_context, after the barrier). Then next's tables are walked.
        if walks_prev {
            self.slot(real_prev).pgd.walk();
        }
        self.slot(next).pgd.walk();
        pc.set_loaded_mm(next);
        pc.set_switching(false);
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
        if self.cfg.arch.membarrier_switch == MembarrierSwitch::MmuSwitch {
            // x86: the CR3 write is serialising: it provides membarrier's barrier (§4.6).
            self.full_barrier_done(c);
        }
    }

    /// powerpc `membarrier_arch_switch_mm()`: `atomic_read(&next->membarrier_state)` (line 2
    /// of `struct mm_struct`, with `mm_users`), then `smp_mb()` iff `next` is registered for
    /// expedited membarrier — "The membarrier system call requires a full memory barrier
    /// after storing to rq->curr, before going back to user-space". The barrier pairs with
    /// the `smp_mb()`s around membarrier()'s scan of `rq->curr` (membarrier.rs).
    fn membarrier_arch_switch_mm(&self, c: &dyn Cpu, next: MmRef) {
        touch!(self, c, Line::MmUsers(next.idx() as u32), Access::Load);
        if self.mm_live(next) && self.mm_membarrier_registered(next) {
            self.smp_mb_path(c);
        }
    }

    /// x86 `leave_mm()`: switch the MMU to init_mm behind the scheduler's back (`loaded_mm`
    /// moves, `current->active_mm` and every refcount stay, §4.4).
    pub(crate) fn leave_mm(&self, c: &dyn Cpu, from: MmRef) {
        let _t = c.trace().enter("leave_mm");
        self.switch_mm_irqs_off(c, from, self.init_mm);
    }

    /// powerpc radix `exit_lazy_flush_tlb(mm)` (also L's exit-flush unlazy) \[PPC-TRIM\].
    pub fn exit_lazy_flush_tlb(&self, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("exit_lazy_flush_tlb");
        let cpu = c.id();
        let cur = self.task(self.curr(cpu));
        // powerpc: exit_flush_lazy_tlbs's IPI passes always_flush, so every exit (`out:`)
        // ends in _tlbiel_pid(pid, RIC_FLUSH_ALL), this CPU's own flush of the PID. (L on
        // x86 has no tlbiel: its switch to init_mm is the flush, as in flush_tlb_func.)
        let tlbiel = |k: &Kernel| {
            if k.cfg.arch.mask == MaskPolicy::Sticky {
                k.ev(c, Event::LocalFlush);
            }
        };
        if cur.mm() == mm {
            // "A kthread could have done a mmget_not_zero() after the flushing CPU checked
            // mm_cpumask, and be in the process of kthread_use_mm when interrupted".
            tlbiel(self);
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
        // "There may be a racing IPI that comes after this one which finds the cpumask
        // already clear": if (cpumask_test_cpu(..)) { dec_mm_active_cpus(); cpumask_clear_cpu() }.
        if self.mask_policy() != MaskPolicy::None && self.mm_live(mm) && self.mask_test(c, mm, cpu)
        {
            if self.mask_policy() == MaskPolicy::Sticky {
                // dec_mm_active_cpus(mm): atomic_dec(&mm->context.active_cpus)
                // (radix_tlb.c:704); powerpc only (L's x86 exit-flush unlazy has no count).
                touch!(self, c, Line::MmContext(mm.idx() as u32), Access::Rmw);
            }
            self.mask_clear(c, mm, cpu);
        }
        tlbiel(self);
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
