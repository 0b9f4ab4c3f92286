//! R — classic refcounting, `MMU_LAZY_TLB_REFCOUNT=y` (spec §3.a).
//!
//! Each lazy borrow chain holds exactly one `mm_count` reference:
//! ```text
//!  user→kernel   mmgrab(prev->active_mm)        atomic_inc on the shared mm_count line
//!  kernel→kernel ref moves with active_mm       no counter op
//!  kernel→user   rq->prev_mm = prev->active_mm; finish_task_switch: mmdrop_sched
//!                (atomic_dec_and_test: the full barrier membarrier relies on, §4.6)
//!  exit          exit_mm grabs; the mm is freed by whoever drops the last lazy reference
//! ```
//! Invariant: `mm_count` = 1 (if mm_users > 0) + lazy chains + explicit pins. No IPIs. The
//! cost is two contended RMWs per user→kernel→user round trip, and freeing is delayed until
//! the last lazy CPU runs a user task (possibly never: a "zombie" mm, \[DOC-active\]).

use crate::ids::MmRef;
use crate::machine::Cpu;
use crate::scheme::{Scheme, SchemeId, Site};
use crate::Kernel;

/// The refcount scheme.
pub struct Refcount;

impl Scheme for Refcount {
    fn id(&self) -> SchemeId {
        SchemeId::Refcount
    }

    fn mmgrab_lazy_tlb(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef, _site: Site) {
        k.mmgrab(c, mm);
    }

    #[inline(always)]
    fn mmdrop_lazy_tlb(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef, site: Site) {
        if site == Site::FinishTaskSwitch {
            // mmdrop_lazy_tlb_sched → mmdrop_sched (RT: call_rcu).
            k.mmdrop_sched(c, mm);
        } else {
            k.mmdrop(c, mm);
        }
    }
}
