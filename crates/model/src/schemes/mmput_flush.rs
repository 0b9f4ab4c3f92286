//! L — Linus's "drop lazies at last mmput" (spec §3.d).
//!
//! Rules \[L-0811\]: a lazy reference requires `mm_users > 0`; the last `mmput` (`__mmput` →
//! `exit_mmap`) forces a TLB flush that must leave no lazy users. No counter ops on the hot
//! path.
//!
//! **Exit flush.** x86: the freed_tables flush IPIs already reach every CPU in
//! `mm_cpumask` — "exactly zero extra IPI's" \[L-0951\]. Their handler, for the exit flush,
//! runs `exit_lazy_flush_tlb`: switch to init_mm, set `current->active_mm = &init_mm`, clear
//! the CPU from the mask. ppc-radix: the combined flush (`exit_flush_lazy_tlbs`), of which
//! Nick's powerpc patch is "the concrete instance".
//!
//! **Residual lazies** — decided here, since no patch was posted: the flush cannot reach
//! (1) the exiting CPU itself (flush IPIs skip self; `exit_mm` made it lazy on its own mm),
//! (2) a kthread that `kthread_use_mm`/`unuse`d the mm after `exit_mmap` holding only
//! `mm_count` (which breaks rule 1), (3) CPUs a paravirt flush skipped (§7 #21). L handles all
//! three at `__mmdrop` exactly as S does: `on_each_cpu_mask(mm_cpumask)` of
//! `do_shoot_lazy_tlb`. Case (1) is a local call, not an IPI; (2) and (3) are counted as lazy
//! IPIs, so the table shows what the fallback costs. Arches whose exit flush sends no IPIs
//! and that have no mask to fall back on cannot run L.
//!
//! **Membarrier.** L has no drop on kernel→user to carry the barrier, so it uses H's explicit
//! `membarrier_finish_switch_mm()` (patch 04).

use crate::arch::{Arch, ArchId};
use crate::ids::MmRef;
use crate::machine::Cpu;
use crate::scheme::{Scheme, SchemeId, Site};
use crate::schemes::shootdown::shoot_lazies;
use crate::Kernel;

/// Linus's scheme.
pub struct MmputFlush;

impl Scheme for MmputFlush {
    fn id(&self) -> SchemeId {
        SchemeId::MmputFlush
    }

    fn infeasible(&self, arch: &Arch) -> Option<&'static str> {
        match arch.id {
            ArchId::X86 | ArchId::PpcRadix => None,
            ArchId::PpcHash => Some(
                "ppc hash flushes by hypervisor call: the exit flush sends no IPIs that could \
                 unlazy anyone (spec §3.d, N-0256)",
            ),
            ArchId::Arm64 => Some(
                "arm64 flushes by broadcast TLBI and keeps no mm_cpumask: the exit flush \
                 reaches no CPU in software (spec §3.d, §7 #22, WILL)",
            ),
        }
    }

    fn mmgrab_lazy_tlb(&self, _k: &Kernel, _c: &dyn Cpu, _mm: MmRef, _site: Site) {}

    #[inline(always)]
    fn mmdrop_lazy_tlb(&self, _k: &Kernel, _c: &dyn Cpu, _mm: MmRef, _site: Site) {
        // Nothing: membarrier's barrier comes from membarrier_finish_switch_mm().
    }

    fn cleanup_lazy_tlbs(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef) {
        shoot_lazies(k, c, mm);
    }

    fn exit_flush_unlazies(&self) -> bool {
        true
    }

    fn lazy_flush(&self) -> Option<crate::arch::LazyFlush> {
        // Rule 2 needs active_mm in sync with the MMU for every flush, not only the exit one:
        // a CPU that a munmap flush leave_mm()s keeps a stale active_mm that a later flush
        // can take out of mm_cpumask, out of reach of the exit flush (A21's unlazy). The
        // variant's era knobs do the same for cpuidle and temporary mms (era.rs).
        Some(crate::arch::LazyFlush::Unlazy)
    }

    fn membarrier_finish_switch_mm(&self) -> bool {
        true
    }
}
