//! S-ppc — shoot-lazies plus the powerpc radix combined final flush (spec §3.b, e43c0a0c3c28).
//!
//! **Exit flush.** `radix__tlb_flush` for `fullmm`: `smp_mb(); exit_flush_lazy_tlbs(mm)` —
//! `smp_call_function_many(mm_cpumask(mm))` (self excluded) of `exit_lazy_flush_tlb`: skip a
//! CPU whose `current->mm == mm` (kthread_use_mm raced in), switch a lazy one to init_mm,
//! clear it from `mm_cpumask` and flush. Those IPIs replace the broadcast `tlbie` and are
//! counted as flush IPIs.
//!
//! **Free side.** As S: `__mmdrop` shoots what is left in the mask — usually only the local
//! (exiting) CPU, which `exit_flush_lazy_tlbs` excluded.
//!
//! Only ppc-radix has this flush: hash flushes by hypercall, x86 and arm64 have no
//! `radix__tlb_flush`.

use crate::arch::{Arch, ArchId};
use crate::ids::MmRef;
use crate::machine::Cpu;
use crate::scheme::{Scheme, SchemeId, Site};
use crate::schemes::shootdown::shoot_lazies;
use crate::Kernel;

/// The combined-flush shoot-lazies scheme.
pub struct ShootdownPpc;

impl Scheme for ShootdownPpc {
    fn id(&self) -> SchemeId {
        SchemeId::ShootdownPpc
    }

    fn infeasible(&self, arch: &Arch) -> Option<&'static str> {
        (arch.id != ArchId::PpcRadix).then_some(
            "the combined exit flush lives in powerpc radix__tlb_flush (e43c0a0c3c28); hash \
             flushes by hypercall and other arches have no such flush (spec §3.b, N-0256)",
        )
    }

    fn mmgrab_lazy_tlb(&self, _k: &Kernel, _c: &dyn Cpu, _mm: MmRef, _site: Site) {}

    #[inline(always)]
    fn mmdrop_lazy_tlb(&self, k: &Kernel, c: &dyn Cpu, _mm: MmRef, _site: Site) {
        // smp_mb(): membarrier's barrier, as in S.
        k.smp_mb(c);
    }

    fn cleanup_lazy_tlbs(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef) {
        shoot_lazies(k, c, mm);
    }

    fn exit_flush_unlazies(&self) -> bool {
        true
    }
}
