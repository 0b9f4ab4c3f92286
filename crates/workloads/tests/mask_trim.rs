//! Rik's lazy `mm_cpumask` and its once-a-second trim (209954cbc7d0, 6db2526c1d69) on the
//! mainline x86 era, with the step engine's clock turned on (one jiffy per engine step).
//!
//! cpu1 runs a thread of M, which exits into a task of another mm: its bit stays in `mm_cpumask(M)` (the
//! lazy mask clears it only when a flush finds the CPU off M). cpu0, on M, flushes without
//! freeing page tables. Before `next_trim_cpumask` (mm creation + HZ jiffies) no flush targets
//! cpu1 (`should_flush_tlb`: not lazy, M not loaded, no trim due); the first flush after it
//! IPIs cpu1, which clears its bit; later flushes, even with the next trim due, find nobody
//! stale.

use lazymm_engines::step::{self, Step, StepConfig};
use lazymm_model::era::HZ;
use lazymm_model::{Arch, ArchId, Config, Kernel, Knobs, SchemeId, SysOp, TaskRef};
use std::sync::Arc;

fn op(o: SysOp) -> Step {
    Step::Op(o)
}

#[test]
fn lazy_mask_keeps_a_stale_cpu_until_the_once_a_second_trim_ipis_it() {
    let k = Arc::new(Kernel::boot(
        Config {
            ncpus: 2,
            arch: Arch::profile(ArchId::X86),
            knobs: Knobs::mainline(ArchId::X86),
            max_mms: 16,
            max_tasks: 16,
            label: "mask-trim".into(),
            topo: Default::default(),
        },
        SchemeId::Refcount.build(),
    ));
    let (_m, ts) = k.create_process(2).unwrap();
    let (_, u) = k.create_process(1).unwrap();
    let flush = || {
        op(SysOp::Munmap {
            freed_tables: false,
        })
    };
    let scripts = vec![
        vec![
            op(SysOp::Switch(TaskRef::Task(ts[0]))),
            Step::WaitMark("left".into()),
            flush(),
            Step::Mark("early".into()),
            // Let more than HZ jiffies (engine steps) pass.
            op(SysOp::Idle(HZ as u32 + 10)),
            flush(),
            Step::Mark("trimmed".into()),
            flush(),
            // Another second later a trim is due again, but cpu1 already left the mask.
            op(SysOp::Idle(HZ as u32 + 10)),
            flush(),
        ],
        // ts[1] exits into U (so no sleeping task of M is left for the end-of-run quiesce
        // to switch cpu1 back onto M).
        vec![
            op(SysOp::Switch(TaskRef::Task(ts[1]))),
            op(SysOp::Exit {
                then: TaskRef::Task(u[0]),
            }),
            Step::Mark("left".into()),
        ],
    ];
    let cfg = StepConfig {
        steps_per_jiffy: 1,
        max_steps: 100_000,
        ..StepConfig::default()
    };
    let before = k.counters.snapshot();
    let r = step::run(k.clone(), scripts, &cfg);
    assert_eq!(r.stop, step::Stop::Completed);
    assert!(
        k.oracle.violations().is_empty(),
        "{:?}",
        k.oracle.violations()
    );
    // Exactly one flush IPI: the trim flush to cpu1. The early flush found cpu1 off M with
    // no trim due; the third came right after the trim; the fourth, a second later, had a trim
    // due but no stale CPU left — so the trim IPI did clear cpu1's bit. (The end-of-run
    // quiesce may put cpu1 back on M; it is not counted.)
    let c = k.counters.snapshot() - before;
    assert_eq!(c.flush_ipis, 1);
}
