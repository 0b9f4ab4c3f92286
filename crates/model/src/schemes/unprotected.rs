//! The hot-path benchmark's baseline: no lazy-mm protection at all.
//!
//! **Unsafe by design, for the benchmark only.** Going lazy and un-lazying do nothing: no
//! refcount, no hazard pointer, no barrier, no shootdown. A lazy CPU's mm can be freed under
//! it; the oracle reports exactly that on any workload that exits a process while a CPU is
//! lazy on it. It exists so `benches/hot_path.rs` can measure what each real scheme adds to a
//! user → idle → user round trip, in the same run. It is not in [`SchemeId::ALL`], so no
//! scenario, exploration or torture ever runs it.

use crate::ids::MmRef;
use crate::machine::Cpu;
use crate::scheme::{Scheme, SchemeId, Site};
use crate::Kernel;

/// No protection (benchmark baseline).
pub struct Unprotected;

impl Scheme for Unprotected {
    fn id(&self) -> SchemeId {
        SchemeId::Unprotected
    }

    fn mmgrab_lazy_tlb(&self, _k: &Kernel, _c: &dyn Cpu, _mm: MmRef, _site: Site) {}

    #[inline(always)]
    fn mmdrop_lazy_tlb(&self, _k: &Kernel, _c: &dyn Cpu, _mm: MmRef, _site: Site) {}
}
