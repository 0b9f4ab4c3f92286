//! NMI handlers that look at the current mm (spec §4.1, scenario 13).
//!
//! Pre-fix x86 perf `get_segment_base()` read `current->active_mm->context.ldt` from NMI
//! context; patch 10 (merged 2025) reads `current->mm`. Either way the perf path reaches it
//! only with a user context to sample: `get_perf_callchain()` takes the user callchain only if
//! the regs are user mode or `current->mm != NULL`, and `perf_callchain_user()` returns early
//! unless `nmi_uaccess_okay()` (`loaded_mm == current->mm`). With `current->mm != NULL`,
//! `active_mm == mm`, so the pre-fix reader never sees a *lazy* (stale) `active_mm`: the
//! stale-pointer hazard of §4.1/§4.4 is theoretical for this reader, and the oracle catches the
//! stale pointer itself (the `active_mm` half of the §1.7 invariant at free time) instead.
//! NMIs arrive anywhere, IRQs off included.

use crate::machine::Cpu;
use crate::Kernel;

impl Kernel {
    /// The NMI entry engines call (a perf sampling NMI).
    pub fn nmi_entry(&self, c: &dyn Cpu) {
        let _t = c.trace().enter("[nmi] perf_callchain_user");
        let cpu = c.id();
        let cur = self.task(self.curr(cpu));
        let mm = cur.mm();
        // get_perf_callchain: no user regs and no current->mm → no user callchain;
        // nmi_uaccess_okay(): loaded_mm == current->mm.
        if mm.is_null() || self.cpu(cpu).loaded_mm() != mm {
            return;
        }
        if self.cfg.knobs.nmi_uses_mm {
            self.mm_deref(c, mm, "get_segment_base: current->mm->context.ldt");
        } else {
            let active = cur.active_mm();
            self.mm_deref(
                c,
                active,
                "get_segment_base: current->active_mm->context.ldt",
            );
        }
    }
}
