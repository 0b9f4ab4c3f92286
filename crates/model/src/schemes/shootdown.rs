//! S — Nick Piggin's shoot-lazies, `MMU_LAZY_TLB_SHOOTDOWN=y` (spec §3.b).
//!
//! **Going lazy / un-lazying.** No refcount: `mmgrab_lazy_tlb` is a no-op and
//! `mmdrop_lazy_tlb[_sched]` is `smp_mb()` — the barrier membarrier used to get from
//! `atomic_dec_and_test` (§4.6). `active_mm` semantics are unchanged.
//!
//! **Free side.** `__mmdrop` → `cleanup_lazy_tlbs`: `on_each_cpu_mask(mm_cpumask(mm),
//! do_shoot_lazy_tlb, mm, wait=1)`, the local CPU included (it is often the exiting CPU, lazy
//! on its own mm since `exit_mm`).
//!
//! **Why the mask read is stable.** At `mm_count == 0` there are no users and no
//! `kthread_use_mm` holders, so no CPU can newly load the mm; a CPU lazy on it loaded it
//! earlier and the arch keeps its bit set (the Kconfig requirement) — so S is infeasible where
//! no mm_cpumask exists (arm64). `wait=1` gives completion ordering (csd release/acquire).
//!
//! **Invariant.** `mm_cpumask(mm) ⊇ {cpu: cpu lazy on mm}` at the final mmdrop.

use crate::arch::{Arch, ArchId};
use crate::ids::MmRef;
use crate::machine::Cpu;
use crate::scheme::{Scheme, SchemeId, Site};
use crate::smp::{IpiClass, IpiFunc};
use crate::Kernel;

/// The shoot-lazies scheme (with optional broken variants for the mutant tests).
pub struct Shootdown {
    /// Mutant name, if this is a historical variant.
    pub mutant: Option<&'static str>,
    /// Keep the `smp_mb()` in `mmdrop_lazy_tlb` (false: the negative test of scenario 12,
    /// "a model that drops the barrier must fail this test").
    pub membarrier_mb: bool,
}

impl Default for Shootdown {
    fn default() -> Self {
        Shootdown {
            mutant: None,
            membarrier_mb: true,
        }
    }
}

/// `cleanup_lazy_tlbs(mm)`: IPI every CPU in `mm_cpumask(mm)` to switch lazy users away.
/// Shared by S, S-ppc and L (the latter for residual lazies).
pub fn shoot_lazies(k: &Kernel, c: &dyn Cpu, mm: MmRef) {
    let _t = c.trace().enter("cleanup_lazy_tlbs");
    let mask = k.mm_cpumask(c, mm);
    k.on_each_cpu_mask(c, &mask, IpiFunc::ShootLazy(mm), IpiClass::Lazy);
}

/// Infeasibility shared by the mask-based schemes.
pub fn needs_mask(arch: &Arch) -> Option<&'static str> {
    (arch.id == ArchId::Arm64).then_some(
        "arm64 does not maintain mm_cpumask (broadcast TLBI), and shoot-lazies requires \
         mm_cpumask ⊇ lazy CPUs at the final mmdrop (spec §1.6, §4.10, §7 #22)",
    )
}

impl Scheme for Shootdown {
    fn id(&self) -> SchemeId {
        SchemeId::Shootdown
    }

    fn name(&self) -> String {
        self.mutant
            .map(str::to_string)
            .unwrap_or_else(|| self.id().name().into())
    }

    fn infeasible(&self, arch: &Arch) -> Option<&'static str> {
        needs_mask(arch)
    }

    fn mmgrab_lazy_tlb(&self, _k: &Kernel, _c: &dyn Cpu, _mm: MmRef, _site: Site) {}

    #[inline(always)]
    fn mmdrop_lazy_tlb(&self, k: &Kernel, c: &dyn Cpu, _mm: MmRef, _site: Site) {
        // smp_mb(): "must provide a full memory barrier, see the membarrier comment
        // finish_task_switch" — pairs with the smp_mb in membarrier().
        if self.membarrier_mb {
            k.smp_mb(c);
        }
    }

    fn cleanup_lazy_tlbs(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef) {
        shoot_lazies(k, c, mm);
    }
}
