//! Mainline's `sched_force_init_mm()` (2024 hotplug order) drops the dying CPU's lazy mm
//! with IRQs on: a final `mmdrop` there is an ordinary `__mmdrop`, allowed on PREEMPT_RT.
//!
//! cpu1 runs T, M's only thread, and exits it into its idle task, which keeps M lazily
//! (R: `exit_mm`'s `mmgrab_lazy_tlb` is the last `mm_count`). cpu1 then goes offline.

mod scripted;

use lazymm_engines::step::{Step, StepConfig};
use lazymm_model::{ArchId, Knobs, SchemeId, SysOp, TaskRef};

#[test]
fn offline_drops_the_lazy_mm_with_irqs_on_under_preempt_rt() {
    for rt in [false, true] {
        let knobs = Knobs {
            preempt_rt: rt,
            ..Knobs::mainline(ArchId::X86)
        };
        let k = scripted::boot(ArchId::X86, knobs, SchemeId::Refcount, 2);
        let (m, ts) = k.create_process(1).unwrap();
        let cpu1 = vec![
            Step::Op(SysOp::Switch(TaskRef::Task(ts[0]))),
            Step::Op(SysOp::Exit {
                then: TaskRef::Idle,
            }),
            Step::Op(SysOp::CpuOfflineCycle),
        ];
        // sched_force_init_mm: mmgrab_lazy_tlb(&init_mm); local_irq_disable(); ...;
        // local_irq_enable(); mmdrop_lazy_tlb(M) — the final mmdrop, with IRQs on, so
        // __mmdrop's might_sleep() is satisfied on RT too (before 2026-11-26 the model dropped
        // with IRQs off and reported sleep-in-atomic here). `scripted::run` asserts no
        // violation.
        scripted::run(&k, vec![vec![], cpu1], &StepConfig::default());
        let freed = k.oracle.shadow(m).and_then(|s| s.freed).expect("M freed");
        assert!(
            freed.path.contains("sched_force_init_mm"),
            "rt={rt}: {freed:?}"
        );
    }
}
