//! Per-CPU state (spec §1.3, §1.4): the runqueue fields the schemes use, the arch TLB state,
//! IRQ and preemption depth, the csd queue, and the oracle's shadow marks.

use crate::ids::{CpuId, MmRef, TaskId};
use crate::machine::Cpu;
use crate::smp::Csd;
use crate::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, Ordering::*};
use crate::sync::Mutex;
use crate::Kernel;
use std::collections::VecDeque;

/// Per-CPU state: the rq fields of §1.3 and the arch TLB state of §1.4.
#[derive(Debug)]
#[repr(align(128))]
pub struct PerCpu {
    /// `rq->cpu` (`cpu_of(rq)`): this CPU's number, for the per-CPU lines a path reports
    /// when it already holds the `PerCpu` (see `Kernel::touch`).
    pub cpu: u32,
    /// `rq->curr`.
    pub curr: AtomicU32,
    /// The idle task of this CPU.
    pub idle: TaskId,
    /// `rq->prev_mm` (R, S, L, MD).
    pub prev_mm: AtomicU64,
    /// `rq->lazy_mm` (H): hazard pointer, written only by the owner.
    pub lazy_mm: AtomicU64,
    /// `rq->drop_mm` (H): one deferred mm_count reference handed over by a remote freer.
    pub drop_mm: AtomicU64,
    /// MD hazard slot (`hp_domain_sched_lazy_mm`).
    pub hp_slot: AtomicU64,
    /// `cpu_tlbstate.loaded_mm`: what the MMU really has loaded.
    pub loaded_mm: AtomicU64,
    /// `cpu_tlbstate_shared.is_lazy`.
    pub is_lazy: AtomicBool,
    /// x86 `cpu_tlbstate.loaded_mm == LOADED_MM_SWITCHING`: inside `switch_mm_irqs_off`
    /// between that store and the store of `next` after the CR3 write. The model keeps
    /// `loaded_mm` on the previous mm meanwhile (the MMU is still on it) and says "switching"
    /// here, which mainline's `should_flush_tlb` reads: "While switching, the remote CPU
    /// could have state from either the prev or next mm. Assume the worst and flush."
    pub switching: AtomicBool,
    /// powerpc radix `mm_cpumask_trim_clock` (see `tick_and_test_trim_clock`). Owner only.
    pub ppc_trim_clock: AtomicU32,
    /// x86 `cpu_tlbstate.ctxs[loaded_mm_asid].tlb_gen`: the generation of `loaded_mm`'s
    /// `tlb_gen` this CPU's TLB is up to date with (the model has one context per CPU, not
    /// PCID's six ASIDs). Written and read only by the owning CPU.
    pub tlb_gen: AtomicU64,
    /// x86 `cpu_tlbstate.loaded_mm_asid` when it is a global ASID (INVLPGB), else 0: a
    /// dynamic one. Written by the owning CPU; `finish_asid_transition` reads it remotely.
    pub loaded_asid: AtomicU16,
    /// In `cpu_online_mask`.
    pub online: AtomicBool,
    /// Reported dead (`cpuhp_report_idle_dead`), until brought back online.
    pub dead: AtomicBool,
    /// IRQ-disable nesting depth (0: IRQs enabled).
    pub irq_depth: AtomicU32,
    /// Preemption-disable depth from spinlocks held by model paths (khugepaged).
    pub preempt_depth: AtomicU32,
    /// Pending cross-CPU calls.
    pub csd: Mutex<VecDeque<Csd>>,
    /// Oracle: `rq->curr` stored and no full barrier since (membarrier, §4.6).
    pub mb_pending: std::sync::atomic::AtomicBool,
    /// Oracle: MMU switches of this CPU so far (a CPU that switched away and back since a
    /// flush began reloaded its page tables and re-read `tlb_gen`).
    pub switch_gen: std::sync::atomic::AtomicU64,
    /// Oracle: inside `unlazy_mm_irqs_off` between its `switch_mm_irqs_off` and its
    /// `current->active_mm = &init_mm` store — a window in which `current->active_mm` still
    /// names the old mm, which nothing follows (see [`PerCpu::replacing_active_mm`]).
    pub replacing_active: std::sync::atomic::AtomicBool,
    /// Oracle: inside v5.16 x86 `switch_mm_irqs_off` between clearing its bit in the previous
    /// mm's `mm_cpumask` and the CR3 write (see [`PerCpu::leaving_mm`]).
    pub leaving: std::sync::atomic::AtomicBool,
    /// PREEMPT_RT deferred `__mmdrop`s (`call_rcu`), run at the next quiescent point.
    pub rcu_pending: Mutex<Vec<MmRef>>,
}

impl PerCpu {
    /// `cpu_tlbstate.loaded_mm`. Relaxed: written only by the owning CPU (switch_mm_irqs_off,
    /// hotplug); remote flushers read it as a hint and cover staleness with `freed_tables`
    /// IPIs, as arch/x86/mm/tlb.c does (§1.4).
    pub fn loaded_mm(&self) -> MmRef {
        MmRef(self.loaded_mm.load(Relaxed))
    }
    /// Sets `cpu_tlbstate.loaded_mm` (see [`PerCpu::loaded_mm`]).
    pub fn set_loaded_mm(&self, mm: MmRef) {
        self.loaded_mm.store(mm.0, Relaxed);
    }
    /// `cpu_tlbstate_shared.is_lazy`. Relaxed: written by the owner; remote flushers read it
    /// only to skip lazy CPUs for flushes that free no page tables, a hint whose staleness
    /// costs at most one IPI (tlb.c's `should_flush_tlb`).
    pub fn is_lazy(&self) -> bool {
        self.is_lazy.load(Relaxed)
    }
    /// Sets `is_lazy` (see [`PerCpu::is_lazy`]).
    pub fn set_is_lazy(&self, lazy: bool) {
        self.is_lazy.store(lazy, Relaxed);
    }
    /// x86 `loaded_mm == LOADED_MM_SWITCHING` ([`PerCpu::switching`]). Relaxed: written by
    /// the owner, read by flushers as a hint, like `loaded_mm`.
    pub fn switching(&self) -> bool {
        self.switching.load(Relaxed)
    }
    /// Sets or clears [`PerCpu::switching`].
    pub fn set_switching(&self, on: bool) {
        self.switching.store(on, Relaxed);
    }
    /// [`PerCpu::loaded_asid`]. Relaxed: a hint to remote readers, as `READ_ONCE(per_cpu(
    /// cpu_tlbstate.loaded_mm_asid, cpu))` in `finish_asid_transition` (a stale value costs
    /// an extra IPI, "harmless").
    pub fn loaded_asid(&self) -> u16 {
        self.loaded_asid.load(Relaxed)
    }
    /// Sets [`PerCpu::loaded_asid`].
    pub fn set_loaded_asid(&self, asid: u16) {
        self.loaded_asid.store(asid, Relaxed);
    }
    /// x86 `cpu_tlbstate.ctxs[asid].tlb_gen`. Relaxed: per-CPU, owner only.
    pub fn tlb_gen(&self) -> u64 {
        self.tlb_gen.load(Relaxed)
    }
    /// Sets x86 `cpu_tlbstate.ctxs[asid].tlb_gen` (see [`PerCpu::tlb_gen`]).
    pub fn set_tlb_gen(&self, gen: u64) {
        self.tlb_gen.store(gen, Relaxed);
    }
    /// Oracle only: note whether a full barrier is owed since the last `rq->curr` store.
    /// `std` Relaxed: shadow state, owner-CPU only, never part of the protocol.
    pub fn set_mb_pending(&self, pending: bool) {
        self.mb_pending
            .store(pending, std::sync::atomic::Ordering::Relaxed);
    }
    /// Oracle only: see [`PerCpu::set_mb_pending`].
    pub fn mb_pending(&self) -> bool {
        self.mb_pending.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Oracle: this CPU's MMU-switch generation. `std` Relaxed: shadow state, read by the
    /// page-table check as a hint (it only suppresses reports).
    pub fn switch_gen(&self) -> u64 {
        self.switch_gen.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Oracle: counts one MMU switch (a CR3 write) of this CPU. `std` Relaxed: shadow
    /// state, observation only; a caller that publishes a new `loaded_mm` bumps it first, so
    /// an observer that sees the new `loaded_mm` sees the new generation (on the threads
    /// engine's x86 host, stores are seen in order).
    pub fn bump_switch_gen(&self) {
        self.switch_gen
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Oracle: is this CPU inside `unlazy_mm_irqs_off`'s window, after its MMU left the old
    /// mm (x86 v5.16 also cleared its `mm_cpumask` bit there) and before `current->active_mm`
    /// is overwritten? Andy's patch 12 runs `switch_mm_irqs_off(mm, &init_mm)` and only then
    /// `current->active_mm = &init_mm`, with IRQs off and no use of `mm` in between, so a free
    /// in that window leaves a pointer that is never dereferenced (spec §1.7: the invariant is
    /// about an `active_mm` "that will be dereferenced later"). `std` Relaxed: shadow state,
    /// set and cleared by the owner; the freer reads it *before* `active_mm` (x86 TSO: a
    /// freer that saw the cleared mask bit sees the mark set, and one that sees it cleared
    /// again then sees the new `active_mm`).
    pub fn replacing_active_mm(&self) -> bool {
        self.replacing_active
            .load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Oracle only: see [`PerCpu::replacing_active_mm`].
    pub fn set_replacing_active_mm(&self, on: bool) {
        self.replacing_active
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Oracle: is this CPU inside x86 v5.16 `switch_mm_irqs_off` after clearing its bit in
    /// the previous mm's `mm_cpumask` and before its CR3 write ([`Knobs::x86_clear_after_cr3`]
    /// false)? Its MMU is still on the previous mm's page tables, IRQs are off, and it runs
    /// only kernel code until the CR3 write; the kernel half of those page tables is shared
    /// kernel memory, but the walk starts at the mm's own pgd. So in that window the mm's
    /// *user* page tables may be freed without flushing this CPU — anything it caches from
    /// them is tagged with the old mm's PCID, which `choose_new_asid` flushes before any
    /// reuse — while freeing the pgd itself is still freeing what its CR3 points at. The
    /// page-table check skips such a CPU; `free_mm`'s check does not. `std` Relaxed:
    /// shadow state, set by the owner before its `clear_bit` and cleared after the
    /// `loaded_mm` store; a flusher reads it before `loaded_mm` (x86 TSO: a flusher that saw
    /// the cleared bit sees the mark, and one that sees it cleared again sees the new
    /// `loaded_mm`).
    ///
    /// [`Knobs::x86_clear_after_cr3`]: crate::arch::Knobs::x86_clear_after_cr3
    pub fn leaving_mm(&self) -> bool {
        self.leaving.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Oracle only: see [`PerCpu::leaving_mm`].
    pub fn set_leaving_mm(&self, on: bool) {
        self.leaving.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Preemption-disable depth. Relaxed: only the owning CPU touches it.
    pub fn preempt_depth(&self) -> u32 {
        self.preempt_depth.load(Relaxed)
    }
}

impl Kernel {
    /// `local_irq_disable()` (nesting like `local_irq_save`).
    pub fn local_irq_disable(&self, c: &dyn Cpu) {
        // Relaxed: the IRQ state is CPU-local; the engine that delivers interrupts reads it
        // from the same CPU's context (step engine: single-threaded scheduler).
        self.cpus[c.id()].irq_depth.fetch_add(1, Relaxed);
    }

    /// `local_irq_enable()`; a point where pending IPIs may be taken.
    pub fn local_irq_enable(&self, c: &dyn Cpu) {
        let d = self.cpus[c.id()].irq_depth.fetch_sub(1, Relaxed);
        debug_assert!(d > 0, "unbalanced local_irq_enable");
        if d == 1 {
            c.point(self, "local_irq_enable");
        }
    }

    /// Whether IRQs are enabled on `cpu`.
    pub fn irqs_enabled(&self, cpu: CpuId) -> bool {
        self.cpus[cpu].irq_depth.load(Relaxed) == 0
    }

    /// Whether `cpu` is online.
    pub fn cpu_online(&self, cpu: CpuId) -> bool {
        // Acquire: pairs with the Release stores of `online` in hotplug.rs (`__cpu_disable`,
        // and the bring-up that resets the CPU's state before it is seen online).
        self.cpus[cpu].online.load(Acquire)
    }
}
