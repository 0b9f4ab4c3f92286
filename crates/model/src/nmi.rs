//! NMI handlers that look at the current mm (spec §4.1, scenario 13).
//!
//! Pre-fix x86 perf `get_segment_base()` read `current->active_mm->context.ldt` from NMI
//! context; patch 10 (merged 2025) reads `current->mm` gated by `nmi_uaccess_okay()`
//! (`loaded_mm == current->mm`). NMIs arrive anywhere, IRQs off included.

use crate::machine::Cpu;
use crate::Kernel;

impl Kernel {
    /// The NMI entry engines call (a perf sampling NMI).
    pub fn nmi_entry(&self, c: &dyn Cpu) {
        let _t = c.trace().enter("[nmi] perf_callchain_user");
        let cpu = c.id();
        let cur = self.task(self.curr(cpu));
        if self.cfg.knobs.nmi_uses_mm {
            let mm = cur.mm();
            // nmi_uaccess_okay(): loaded_mm == current->mm.
            if !mm.is_null() && self.cpu(cpu).loaded_mm() == mm {
                self.mm_deref(c, mm, "get_segment_base: current->mm->context.ldt");
            }
        } else {
            let mm = cur.active_mm();
            if !mm.is_null() {
                self.mm_deref(c, mm, "get_segment_base: current->active_mm->context.ldt");
            }
        }
    }
}
