//! MD — Mathieu Desnoyers' 2024 hazard-pointer slots (spec §3.e).
//!
//! **Going lazy.** `mmgrab_lazy_tlb(mm)`: `smp_mb()` (membarrier; also the barrier
//! `switch_mm_cid` relied on from mmgrab's atomic, §4.9) then `hp_allocate`: this CPU's single
//! slot := mm ("Store B"). WARN if the slot is busy ("only a single lazy mm per CPU").
//!
//! **Un-lazying.** `mmdrop_lazy_tlb[_sched](mm)`: `smp_mb()`; slot := NULL.
//!
//! **Free side** — `__mmdrop` → `cleanup_lazy_tlbs` → `hp_scan(mm, retire_lazy_mm_hp)`:
//! ```text
//!  freer                                     CPU with slot == mm
//!  (mm_count reached 0: "Store A")
//!  smp_mb()  /* Store A before Load B */     smp_mb(); slot = mm /* Store B before Load A */
//!  for each possible cpu: load_acquire(slot)
//!    == mm: smp_call_function_single(shoot)  → do_shoot_lazy_tlb: init_mm, slot = NULL
//!           smp_call_function_single(check)
//!    while load_acquire(slot) == mm: cpu_relax()
//! ```
//! Exact matches only; 2 synchronous calls per still-lazy CPU; the freer frees. Scans every
//! possible CPU, so a dead CPU with a stale slot would hang the scan — hotplug must clear it.

use crate::ids::MmRef;
use crate::machine::{Access, Cpu, Event, Line};
use crate::scheme::{Scheme, SchemeId, Site};
use crate::smp::{IpiClass, IpiFunc};
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

/// Mathieu's scheme.
pub struct HazardMd {
    /// Un-lazying clears the slot after `smp_mb()` with a release store (false: the loom
    /// mutant "a missing barrier": a plain store, no barrier).
    pub ordered_slot_clear: bool,
    /// As posted: `mmgrab_lazy_tlb(&init_mm)` publishes init_mm in the slot like any mm, and
    /// `mmdrop_lazy_tlb(&init_mm)` clears it. Fixed: init_mm (never freed) is not published.
    pub publish_init_mm: bool,
    /// As posted: `mmdrop_lazy_tlb()` clears `this_cpu_ptr(slot)` wherever it runs —
    /// including `finish_cpu()` on the *control* CPU on behalf of a dead one (v6.11's hotplug
    /// order), which clears the wrong CPU's slot and leaves the dead CPU's set.
    pub finish_cpu_clears_local: bool,
}

impl Default for HazardMd {
    /// As posted (RFC v2 on v6.11.1).
    fn default() -> Self {
        HazardMd {
            ordered_slot_clear: true,
            publish_init_mm: true,
            finish_cpu_clears_local: true,
        }
    }
}

impl HazardMd {
    /// The fixed variant: init_mm never published, `finish_cpu` touches no slot.
    pub fn fixed() -> HazardMd {
        HazardMd {
            publish_init_mm: false,
            finish_cpu_clears_local: false,
            ..HazardMd::default()
        }
    }
}

impl HazardMd {
    /// `hp_scan(&hp_domain_sched_lazy_mm, mm, retire_lazy_mm_hp)`.
    fn hp_scan(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("hp_scan");
        if k.cpu(c.id()).preempt_depth() > 0 {
            // LKP: "WARNING at kernel/hazptr.c hazptr_scan" from __mmdrop under khugepaged's
            // spinlock: the scan may busy-wait with preemption off (§4.8, §7 #6).
            k.warn(
                c,
                mm,
                "hazptr_scan from a preempt-off context (may busy-wait)",
            );
        }
        // smp_mb(): hp_scan's "Store A before Load B". In the lazy-mm use there is no
        // separate Store A: the unpublication is mm_count reaching 0, whose fully ordered
        // atomic_dec_and_test already ordered it (and, through every earlier fully ordered
        // mmput/mmdrop, each owner's slot store) before these loads. The barrier is the
        // generic API's and pairs with nothing more here; it is counted as the scheme's cost.
        k.smp_mb(c);
        for cpu in 0..k.ncpus() {
            k.ev(c, Event::ScanLoad);
            touch!(k, c, Line::HpSlot(cpu as u32), Access::Load);
            let slot = &k.cpu(cpu).hp_slot;
            // smp_load_acquire(&slot->addr): pairs with the store-release / smp_mb + store of
            // the slot's owner.
            if slot.load(Acquire) == mm.0 {
                // retire_lazy_mm_hp: two synchronous calls to that CPU.
                k.smp_call_function_single(c, cpu, IpiFunc::ShootLazy(mm), IpiClass::Lazy);
                k.smp_call_function_single(c, cpu, IpiFunc::CheckLazy(mm), IpiClass::Lazy);
            }
            // Acquire: as above; busy-wait until the slot moves on.
            while slot.load(Acquire) == mm.0 {
                c.wait(k, "hp_scan:busy_wait");
            }
        }
    }
}

impl Scheme for HazardMd {
    fn id(&self) -> SchemeId {
        SchemeId::HazardMd
    }

    fn mmgrab_lazy_tlb(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef, _site: Site) {
        // smp_mb(): membarrier's barrier and switch_mm_cid's user→kernel ordering, which
        // mmgrab's atomic used to give (§4.9); pairs with the smp_mb()s of membarrier(). It
        // precedes the slot store, so it is *not* hp_dereference's "Store B before Load A":
        // the lazy-mm use has no Load A to re-validate (see the store below).
        k.smp_mb(c);
        if mm.is_null() || (mm == k.init_mm && !self.publish_init_mm) {
            // Fixed variant: init_mm is never freed, so it is not published (mainline's
            // sched_force_init_mm grabs init_mm before dropping the old mm, which would
            // otherwise find the single slot busy).
            return;
        }
        let pc = k.cpu(c.id());
        let slot = &pc.hp_slot;
        // Relaxed: our own slot. hp_allocate: "if (READ_ONCE(slot->addr)) goto fail" — a busy
        // slot is left as it is (spec §3.e), and mmgrab_lazy_tlb only warns.
        if slot.load(Relaxed) != 0 {
            k.warn(c, mm, "WARN_ON_ONCE(!ctx.addr): hazard slot busy");
            return;
        }
        // WRITE_ONCE(slot->addr, mm). Relaxed: the caller holds mm_users (or mm_count), so
        // hp_scan cannot run until a later fully ordered mmput/mmdrop releases it; that chain
        // orders this store before the scan's acquire loads (no Load A re-validation needed).
        touch!(k, c, Line::HpSlot(pc.cpu), Access::Store);
        slot.store(mm.0, Relaxed);
    }

    #[inline(always)]
    fn mmdrop_lazy_tlb(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef, site: Site) {
        if site == Site::FinishCpu && !self.finish_cpu_clears_local {
            // Control CPU on behalf of a dead CPU: the dead CPU cleared its slot when it
            // unlazied before going offline.
            return;
        }
        if !self.ordered_slot_clear {
            // Mutant: no barrier, plain store.
            let me = touch_this_cpu!(k, c, Line::HpSlot, Access::Store);
            k.cpu(me).hp_slot.store(0, Relaxed);
            return;
        }
        // smp_mb(): membarrier's barrier after the rq->curr store; then release the slot.
        k.smp_mb(c);
        if mm == k.init_mm && !self.publish_init_mm {
            return;
        }
        // Release: all use of the mm's page tables happens-before a scanner sees NULL.
        let me = touch_this_cpu!(k, c, Line::HpSlot, Access::Store);
        k.cpu(me).hp_slot.store(0, Release);
    }

    fn shot_lazy(&self, k: &Kernel, c: &dyn Cpu, _mm: MmRef) {
        // do_shoot_lazy_tlb: WRITE_ONCE(this_cpu slot->addr, NULL) after switching away.
        // Release: pairs with hp_scan's acquire busy-wait.
        let me = touch_this_cpu!(k, c, Line::HpSlot, Access::Store);
        k.cpu(me).hp_slot.store(0, Release);
    }

    fn cleanup_lazy_tlbs(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef) {
        self.hp_scan(k, c, mm);
    }
}
