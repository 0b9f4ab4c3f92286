//! H-x86 — H with x86's `for_each_possible_lazymm_cpu` = `for_each_cpu(cpu, mm_cpumask(mm))`
//! (patch 22, spec §3.c).
//!
//! Valid only together with patches 20–21 and 18–19: otherwise x86 "switch\[es\] away from a
//! lazy mm behind the scheduler's back and thus clear\[s\] a CPU from mm_cpumask() that the
//! scheduler thinks is lazy" \[A22\]. The model's x86 paths route every such switch through
//! `unlazy_mm_irqs_off` (`LazyFlush::Unlazy`, `cpuidle_leave_mm`, `use_temporary_mm`);
//! mutant (g) restores the pre-patch-20 `leave_mm()` and is caught.
//!
//! Invariant: `mm_cpumask(mm) ⊇ {cpu : rq(cpu)->lazy_mm == mm}`.

use crate::arch::{Arch, ArchId};
use crate::schemes::hazard::{Hazard, LazyIter};

/// The x86-iterator hazard scheme.
pub fn hazard_x86() -> Hazard {
    Hazard {
        iter: LazyIter::Cpumask,
        ..Hazard::default()
    }
}

/// Why H-x86 cannot run on `arch`.
pub fn infeasible(arch: &Arch) -> Option<&'static str> {
    (arch.id != ArchId::X86).then_some(
        "iterating mm_cpumask is x86's patch-22 optimisation, valid only with x86's \
         unlazy-through-the-scheduler patches 20–22 (spec §3.c, A22)",
    )
}
