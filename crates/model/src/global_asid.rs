//! x86 global ASIDs for AMD INVLPGB (Rik van Riel, v6.15, 4afeb0ed1753 and series; the code
//! is 7.2's `arch/x86/mm/tlb.c` and `asm/tlbflush.h`), with [`crate::Knobs::invlpgb`].
//!
//! An mm starts with per-CPU dynamic ASIDs and IPI flushes, as without INVLPGB. After each
//! flush that IPIs other CPUs, `consider_global_asid` gives it one machine-wide ASID, if two
//! things hold: the flushing task's pid and `jiffies` agree in their low five bits ("every
//! once in a while"), and more than three CPUs have it loaded and are not lazy. From then on
//! its flushes are INVLPGB broadcasts: no IPIs, lazy CPUs included.
//!
//! While a CPU that has the mm loaded still uses its old dynamic ASID (the transition), each
//! broadcast also IPIs the whole `mm_cpumask`. There `flush_tlb_func` reloads CR3 with the
//! global ASID — also on a lazy CPU, whose `is_lazy` that `switch_mm_irqs_off` clears. It
//! then returns without flushing or leaving a lazy mm. A CPU that switches to the mm, or back
//! to it, takes the global ASID without a flush.
//!
//! ```text
//!  flush_tlb_mm_range(mm)                      flush_tlb_func (IPI)
//!   inc_mm_tlb_gen                              mm_needs_global_asid(loaded_mm)?
//!   mm_global_asid(mm)?                           switch_mm_irqs_off(NULL, loaded_mm): CR3
//!     INVLPGB; finish_asid_transition:          is_global_asid(loaded_mm_asid)? return
//!       a CPU on mm with another ASID?          (lazy: leave_mm; else tlb_gen catch-up)
//!         IPI all of mm_cpumask
//!       else asid_transition = false
//!   else IPI flush, then consider_global_asid
//! ```
//! The ASID is held for the mm's life (`destroy_context` frees it). A freed one is reused
//! only after the allocator wraps, which flushes every non-global ASID on every CPU
//! (`invlpgb_flush_all_nonglobals`, one more broadcast).

use crate::ids::MmRef;
use crate::kernel::Kernel;
use crate::machine::{Access, Cpu, Event, Line};
use crate::smp::{IpiClass, IpiFunc};
use crate::sync::atomic::Ordering::*;

/// `TLB_NR_DYN_ASIDS`: per-CPU ASIDs 0–5; global ones start above.
const TLB_NR_DYN_ASIDS: u16 = 6;
/// `MAX_ASID_AVAILABLE`: `(1 << CR3_AVAIL_PCID_BITS) - 2`, 12 PCID bits without PTI (AMD
/// parts with INVLPGB are not affected by Meltdown, so PTI is off and takes no PCID bit).
const MAX_ASID_AVAILABLE: u16 = (1 << 12) - 2;

/// The global ASID space under `global_asid_lock`.
#[derive(Debug)]
pub(crate) struct GlobalAsids {
    /// `last_global_asid`: starts at the top, so the first allocation resets the space.
    last: u16,
    used: Vec<bool>,
    freed: Vec<bool>,
    /// `global_asid_available`.
    available: i32,
}

impl Default for GlobalAsids {
    fn default() -> Self {
        GlobalAsids {
            last: MAX_ASID_AVAILABLE,
            used: vec![false; MAX_ASID_AVAILABLE as usize],
            freed: vec![false; MAX_ASID_AVAILABLE as usize],
            available: i32::from(MAX_ASID_AVAILABLE - TLB_NR_DYN_ASIDS - 1),
        }
    }
}

impl Kernel {
    fn invlpgb(&self) -> bool {
        self.cfg.knobs.invlpgb && self.cfg.arch.loaded_mm_separate
    }

    /// `mm_global_asid(mm)`: `smp_load_acquire(&mm->context.global_asid)`, 0 for none (or
    /// without INVLPGB). The Acquire pairs with the Release in [`Kernel::use_global_asid`],
    /// so a reader that sees the ASID also sees `asid_transition` set.
    pub(crate) fn mm_global_asid(&self, c: &dyn Cpu, mm: MmRef) -> u16 {
        if !self.invlpgb() || mm.is_null() {
            return 0;
        }
        touch!(self, c, Line::MmContext(mm.idx() as u32), Access::Load);
        self.slot(mm).global_asid.load(Acquire)
    }

    /// `mm_needs_global_asid(mm, loaded_mm_asid)`: `mm` has a global ASID and this CPU's
    /// loaded ASID is another one. Returns that global ASID.
    pub(crate) fn mm_needs_global_asid(&self, c: &dyn Cpu, mm: MmRef) -> Option<u16> {
        let g = self.mm_global_asid(c, mm);
        (g != 0 && self.cpu(c.id()).loaded_asid() != g).then_some(g)
    }

    /// `consider_global_asid(mm)`, after a flush that IPI'd other CPUs. The model's task
    /// number stands for `current->pid`.
    pub(crate) fn consider_global_asid(&self, c: &dyn Cpu, mm: MmRef) {
        if !self.invlpgb() {
            return;
        }
        // "Check every once in a while."
        if u64::from(self.curr(c.id()).0 & 0x1f) != c.jiffies() & 0x1f {
            return;
        }
        // "Assign a global ASID if the process is active on 4 or more CPUs simultaneously."
        if self.mm_active_cpus_exceeds(c, mm, 3) {
            self.use_global_asid(c, mm);
        }
    }

    /// `mm_active_cpus_exceeds(mm, threshold)`: the mask's weight, then the CPUs in it that
    /// have `mm` loaded and are not lazy (`per_cpu(cpu_tlbstate.loaded_mm)` and
    /// `cpu_tlbstate_shared.is_lazy`, plain reads of remote per-CPU lines).
    fn mm_active_cpus_exceeds(&self, c: &dyn Cpu, mm: MmRef, threshold: usize) -> bool {
        let mask = self.mm_cpumask(c, mm);
        if mask.len() <= threshold {
            return false;
        }
        let mut count = 0;
        for t in mask.iter() {
            if t != c.id() {
                touch!(self, c, Line::TlbState(t as u32), Access::Load);
            }
            let pc = self.cpu(t);
            if pc.loaded_mm() != mm || pc.is_lazy() {
                continue;
            }
            count += 1;
            if count > threshold {
                return true;
            }
        }
        false
    }

    /// `use_global_asid(mm)` under `global_asid_lock` (a raw spinlock taken once per mm
    /// lifetime here and in [`Kernel::mm_free_global_asid`]; its line is not priced), then
    /// `mm_assign_global_asid`: `asid_transition = true`, then `smp_store_release` of the
    /// ASID, which pairs with the Acquire in [`Kernel::mm_global_asid`]. The events and the
    /// access it makes are reported after the host lock is dropped: an engine may switch
    /// CPUs at an access, and no CPU may hold a host lock across that.
    fn use_global_asid(&self, c: &dyn Cpu, mm: MmRef) {
        let (reset, asid) = {
            let mut g = self.global_asids.lock().unwrap();
            // "This process is already using broadcast TLB invalidation." Relaxed: under the
            // lock that every store of the ASID holds.
            if self.slot(mm).global_asid.load(Relaxed) != 0 {
                return;
            }
            if g.available == 0 {
                drop(g);
                self.warn(c, mm, "VM_WARN_ONCE: Ran out of global ASIDs");
                return;
            }
            // allocate_global_asid: "The previous allocation hit the edge of available
            // address space" → reset_global_asid_space: invlpgb_flush_all_nonglobals().
            let reset = g.last >= MAX_ASID_AVAILABLE - 1;
            if reset {
                for i in 0..g.used.len() {
                    g.used[i] &= !g.freed[i];
                    g.freed[i] = false;
                }
                g.last = TLB_NR_DYN_ASIDS;
            }
            let from = g.last as usize;
            let asid = (from..g.used.len()).find(|&a| !g.used[a]);
            if let Some(a) = asid {
                g.used[a] = true;
                g.last = a as u16;
                g.available -= 1;
                let s = self.slot(mm);
                // Relaxed: published by the Release store of the ASID just below.
                s.asid_transition.store(true, Relaxed);
                // Release: smp_store_release in mm_assign_global_asid; pairs with the
                // Acquire load in mm_global_asid, so a reader that sees the ASID sees the
                // transition set (finish_asid_transition's "needs to observe").
                s.global_asid.store(a as u16, Release);
            }
            (reset, asid)
        };
        if reset {
            // The flush of every CPU's non-global ASIDs.
            self.ev(c, Event::BroadcastFlush);
        }
        if asid.is_none() {
            self.warn(c, mm, "VM_WARN_ONCE: Unable to allocate global ASID");
            return;
        }
        touch!(self, c, Line::MmContext(mm.idx() as u32), Access::Store);
    }

    /// `mm_free_global_asid(mm)` in `destroy_context` (`__mmdrop`): the ASID goes to the
    /// freed set, reusable after the next wrap's flush.
    pub(crate) fn mm_free_global_asid(&self, c: &dyn Cpu, mm: MmRef) {
        let asid = self.mm_global_asid(c, mm);
        if asid == 0 {
            return;
        }
        // No access or event while the host lock is held (see use_global_asid).
        let mut g = self.global_asids.lock().unwrap();
        g.freed[asid as usize] = true;
        // Relaxed: the mm is being freed; nothing reads it after (under the lock, as above).
        self.slot(mm).global_asid.store(0, Relaxed);
        g.available += 1;
    }

    /// `broadcast_tlb_flush(info)` for an mm with a global ASID: INVLPGB (every CPU's TLB
    /// entries under that ASID, paging-structure caches included), `finish_asid_transition`,
    /// TLBSYNC. Returns the CPUs flushed for the mm: those on its global ASID, and everyone
    /// in the mask if the transition IPI'd them.
    pub(crate) fn broadcast_tlb_flush(
        &self,
        c: &dyn Cpu,
        mm: MmRef,
        asid: u16,
        func: IpiFunc,
    ) -> crate::ids::CpuSet {
        self.ev(c, Event::BroadcastFlush);
        let mut flushed = crate::ids::CpuSet::with_cpus(self.ncpus());
        for t in 0..self.ncpus() {
            if self.cpu(t).loaded_asid() == asid {
                flushed.insert(t);
            }
        }
        // finish_asid_transition: READ_ONCE(mm->context.asid_transition) — Relaxed, as in
        // the kernel; ordered after the ASID's Acquire load in mm_global_asid.
        if !self.slot(mm).asid_transition.load(Relaxed) {
            return flushed;
        }
        let mask = self.mm_cpumask(c, mm);
        for t in mask.iter() {
            if t != c.id() {
                touch!(self, c, Line::TlbState(t as u32), Access::Load);
            }
            // "The remote CPU is context switching. Wait for that to finish."
            while self.cpu(t).switching() {
                c.wait(self, "finish_asid_transition");
            }
            if self.cpu(t).loaded_mm() != mm {
                continue;
            }
            if self.cpu(t).loaded_asid() != asid {
                // "If at least one CPU is not using the global ASID yet, send a TLB flush
                // IPI": flush_tlb_multi(mm_cpumask(mm)) — in transition, to every CPU in
                // the mask (native_flush_tlb_multi: on_each_cpu_mask, not the cond variant).
                self.on_each_cpu_mask(c, &mask, func, IpiClass::Flush);
                for u in mask.iter() {
                    flushed.insert(u);
                }
                return flushed;
            }
        }
        // "All the CPUs running this process are using the global ASID."
        touch!(self, c, Line::MmContext(mm.idx() as u32), Access::Store);
        // Relaxed: WRITE_ONCE in mm_clear_asid_transition; a racing reader that still sees
        // true scans the mask once more (an extra IPI at worst), as in the kernel.
        self.slot(mm).asid_transition.store(false, Relaxed);
        flushed
    }
}
