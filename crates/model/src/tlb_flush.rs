//! The flush side (spec §1.4, §2.4, §4.10): `tlb_finish_mmu` / `flush_tlb_mm_range` for
//! every arch, and x86's `flush_tlb_func` with its `tlb_gen` bookkeeping and the
//! once-a-second `mm_cpumask` trim.
//!
//! x86 `tlb_gen` (arch/x86/mm/tlb.c): every flush bumps `mm->context.tlb_gen`; each CPU
//! remembers the generation its TLB is current with. A handler whose CPU is already current
//! flushes nothing (two concurrent flushes: the first handled catches the CPU up for both),
//! and a flush that frees no page tables skips lazy CPUs, which catch up when they return
//! to the mm (`switch_mm_irqs_off`, [`crate::tlb`]).
//! ```text
//!  flusher                                  target CPU (flush_tlb_func)
//!  inc_mm_tlb_gen(mm) → new_tlb_gen         loaded_mm != mm: leave the lazy mask; return
//!  targets: mm_cpumask, minus lazy CPUs     is_lazy: switch to init_mm; return
//!    unless tables were freed               new_tlb_gen <= local: return (since 2022)
//!  IPI them; run it locally; wait           local == mm's tlb_gen: return
//!                                           flush; local = mm's tlb_gen
//! ```

use crate::arch::{FlushKind, LazyFlush, MaskPolicy};
use crate::ids::{CpuSet, MmRef};
use crate::machine::{Access, Cpu, Event, Line};
use crate::oracle::ViolationKind;
use crate::smp::{IpiClass, IpiFunc};
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

/// powerpc radix `enum tlb_flush_type`.
enum RadixFlush {
    None,
    Local,
    Global,
}

/// powerpc `tlb_mm_cpumask_trim_timer`: every this many flush-type decisions a CPU tries
/// to trim `mm_cpumask` (`tick_and_test_trim_clock`).
const PPC_TRIM_TIMER: u32 = 1073;

impl Kernel {
    /// powerpc radix `flush_type_needed(mm, fullmm)` (radix_tlb.c): a tlbiel when this CPU is
    /// the only one in `mm_cpumask`, nothing when none is, a broadcast tlbie otherwise —
    /// except that a single-threaded process's own flush first IPIs the others out of the
    /// mask (`exit_flush_lazy_tlbs`) and flushes locally, and that every
    /// [`PPC_TRIM_TIMER`]th decision on a CPU tries such a trim. `active_cpus` counts the
    /// mask's bits on radix: `inc_mm_active_cpus` / `dec_mm_active_cpus` beside every set and
    /// exit-flush clear, each an RMW of the `mm_context` line (tlb.rs); the model takes the
    /// count from the mask. Coprocessors (`copros`) are not modelled.
    fn radix_flush_type(&self, c: &dyn Cpu, mm: MmRef, fullmm: bool) -> RadixFlush {
        let me = c.id();
        // atomic_read(&mm->context.active_cpus).
        touch!(self, c, Line::MmContext(mm.idx() as u32), Access::Load);
        let mask = self.mm_cpumask(c, mm);
        let active = mask.iter().count();
        let current_mm = self.task(self.curr(me)).mm();
        if active == 0 {
            return RadixFlush::None;
        }
        if active == 1 && mask.contains(me) {
            if current_mm != mm && self.tick_and_test_trim_clock(me) {
                // "Asynchronous flush sources may trim down to nothing".
                self.exit_lazy_flush_tlb(c, mm);
                return RadixFlush::None;
            }
            return RadixFlush::Local;
        }
        if fullmm {
            // "A TLBIE tends to be faster than an IPI+TLBIEL."
            return RadixFlush::Global;
        }
        touch!(self, c, Line::MmUsers(mm.idx() as u32), Access::Load);
        // Relaxed: a hint, as the kernel's atomic_read.
        if self.slot(mm).users.load(Relaxed) <= 1 && current_mm == mm {
            // "The only thread of a single-threaded process": trim the rest of the mask.
            self.smp_call_function_many(c, &mask, IpiFunc::PpcExitLazyFlush(mm), IpiClass::Flush);
            return RadixFlush::Local;
        }
        if self.tick_and_test_trim_clock(me) {
            self.smp_call_function_many(c, &mask, IpiFunc::PpcExitLazyFlush(mm), IpiClass::Flush);
            if current_mm == mm {
                return RadixFlush::Local;
            }
            if self.mask_test(c, mm, me) {
                self.exit_lazy_flush_tlb(c, mm);
            }
            return RadixFlush::None;
        }
        RadixFlush::Global
    }

    /// powerpc `tick_and_test_trim_clock()`: this CPU's `mm_cpumask_trim_clock` reaches
    /// [`PPC_TRIM_TIMER`] (then restarts).
    fn tick_and_test_trim_clock(&self, cpu: usize) -> bool {
        let clock = &self.cpu(cpu).ppc_trim_clock;
        // Relaxed: a per-CPU counter (__this_cpu_inc_return), owner only.
        if clock.fetch_add(1, Relaxed) + 1 == PPC_TRIM_TIMER {
            clock.store(0, Relaxed);
            return true;
        }
        false
    }
    /// `atomic64_read(&mm->context.tlb_gen)` (x86). Relaxed; what orders it is the caller's:
    /// in `switch_mm_irqs_off`, the `smp_mb()` of a lazy return, the `mm_cpumask` bit's locked
    /// RMW, or 83b0177a6c48's `smp_mb()` — each pairs with the fence after the increment in
    /// [`Kernel::tlb_finish_mmu`]; in `flush_tlb_func`, nothing more than the kernel has: the
    /// handler runs after the flusher's increment (csd queue lock, or the same CPU).
    pub(crate) fn read_tlb_gen(&self, c: &dyn Cpu, mm: MmRef) -> u64 {
        touch!(self, c, Line::MmContext(mm.idx() as u32), Access::Load);
        self.slot(mm).tlb_gen.load(Relaxed)
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
                // inc_mm_tlb_gen(mm): atomic64_inc_return, fully ordered. Its trailing barrier
                // keeps the Relaxed is_lazy / loaded_mm / mask reads below after the increment;
                // it pairs with switch_mm_irqs_off's smp_mb() (or the mask bit's locked RMW)
                // before its tlb_gen read.
                touch!(self, c, Line::MmContext(mm.idx() as u32), Access::Rmw);
                let new_tlb_gen = crate::sync::full::add_return(&self.slot(mm).tlb_gen, 1);
                let func = IpiFunc::FlushTlb {
                    mm,
                    freed_tables,
                    exit,
                    new_tlb_gen,
                };
                let asid = self.mm_global_asid(c, mm);
                if asid != 0 {
                    // INVLPGB (crate::global_asid): no IPIs unless the transition needs them.
                    let flushed = self.broadcast_tlb_flush(c, mm, asid, func);
                    if freed_tables {
                        self.check_pgtables_flushed(c, mm, &loaded_before, &flushed);
                    }
                    return;
                }
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
                    // switching (LOADED_MM_SWITCHING: "assume the worst and flush"), the mm
                    // loaded, or a trim due (mainline should_flush_tlb). Relaxed hints, as in
                    // tlb.c.
                    let should = pc.switching() || pc.loaded_mm() == mm || trim;
                    let want = freed_tables || (!pc.is_lazy() && (!lazy_mask || should));
                    if want && (t == me || !self.cfg.knobs.pv_flush_skips.contains(&t)) {
                        targets.insert(t);
                    }
                }
                // on_each_cpu_cond_mask: remote CPUs by IPI, the local CPU directly.
                self.on_each_cpu_mask(c, &targets, func, IpiClass::Flush);
                if freed_tables {
                    self.check_pgtables_flushed(c, mm, &loaded_before, &targets);
                }
                if remote {
                    self.consider_global_asid(c, mm);
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
                    match self.radix_flush_type(c, mm, exit) {
                        RadixFlush::None => {}
                        // _tlbiel_pid: this CPU's TLB only.
                        RadixFlush::Local => self.ev(c, Event::LocalFlush),
                        RadixFlush::Global => self.ev(c, Event::BroadcastFlush),
                    }
                    return;
                }
                // Broadcast TLBI / hypervisor flush: reaches every TLB, switches nobody.
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

    /// x86 `flush_tlb_func()` run by a flush IPI (or locally), for the flush that brought
    /// `mm->context.tlb_gen` to `new_tlb_gen`. `freed_tables` only chose the targets (in
    /// `tlb_finish_mmu`); the handler's mm work is the same either way. A CPU already up to
    /// date with the mm's `tlb_gen` flushes nothing.
    pub fn flush_tlb_func(&self, c: &dyn Cpu, mm: MmRef, new_tlb_gen: u64, exit: bool) {
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
        // v5.16 reads loaded_mm->context.tlb_gen on entry, before any early return;
        // aa44284960d5 (the knob) defers it past them ("to avoid cache contention").
        let early_gen =
            (!self.cfg.knobs.x86_flush_skips_covered_gen).then(|| self.read_tlb_gen(c, loaded));
        if loaded != mm {
            // Rik's lazy mm_cpumask: a CPU that no longer has mm loaded leaves the mask here.
            if self.mask_policy() == MaskPolicy::X86Lazy && self.mm_live(mm) {
                self.mask_clear(c, mm, cpu);
            }
            return;
        }
        if self.cfg.knobs.invlpgb {
            // "Reload the ASID if transitioning into or out of a global ASID" — on a lazy CPU
            // too: that switch_mm_irqs_off clears is_lazy (7.2 tlb.c:1141–1148).
            if self.mm_needs_global_asid(c, loaded).is_some() {
                self.switch_mm_irqs_off(c, loaded, loaded);
            }
            // "Broadcast ASIDs are always kept up to date with INVLPGB."
            if pc.loaded_asid() != 0 {
                return;
            }
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
        // "The TLB is already up to date in respect to f->new_tlb_gen" (f->new_tlb_gen <=
        // local_tlb_gen), or "there's nothing to do" (local_tlb_gen == mm_tlb_gen): another
        // flush's handler, or a lazy return to the mm, already flushed this CPU for it.
        // Otherwise flush and catch up to mm_tlb_gen (a full flush, or the one range when
        // it is the only one missing: either way ctxs[asid].tlb_gen = mm_tlb_gen).
        if self.cfg.knobs.x86_flush_skips_covered_gen && new_tlb_gen <= pc.tlb_gen() {
            return;
        }
        let gen = early_gen.unwrap_or_else(|| self.read_tlb_gen(c, mm));
        if pc.tlb_gen() == gen {
            return;
        }
        pc.set_tlb_gen(gen);
        self.ev(c, Event::LocalFlush);
    }
}
