//! H-x86 on its v5.16 base: `unlazy_mm_irqs_off` (Andy's patch 12) runs
//! `switch_mm_irqs_off(mm, &init_mm)` first and stores `current->active_mm = &init_mm` after.
//! v5.16's x86 `switch_mm_irqs_off` clears this CPU's bit in `mm_cpumask(mm)` when it switches
//! away (on `hazard-x86+fixes`, just after its CR3 write: the window before that write is
//! scenario #29's), so between the two the CPU is out of the mask that patch 22's scan
//! iterates while `current->active_mm` (and `rq->lazy_mm`) still name the old mm:
//!
//! ```text
//!  A (idle, lazy on M)                       B (last thread of M)
//!  cpuidle_leave_mm → unlazy_mm_irqs_off
//!    switch_mm_irqs_off(M, init_mm)
//!      loaded_mm = init_mm; clear A in mm_cpumask(M)
//!    ── window ──                            do_exit → exit_mmap: flush mm_cpumask(M) (no A)
//!                                            __mmput → mm_unlazy_mm_count: scan mm_cpumask(M)
//!                                              (no A) → mmdrop → __mmdrop: free M
//!    current->active_mm = &init_mm
//!    smp_store_release(&rq->lazy_mm, NULL); mmdrop_lazy(rq)
//! ```
//!
//! Nothing follows the old pointer in that window (IRQs are off; H's un-lazy only stores NULL
//! to `lazy_mm`; patch 10 moved NMIs to `current->mm`), so spec §1.7's invariant — no
//! `active_mm` "that will be dereferenced later" — holds, and the oracle must not report it.
//! The threads engine reached this window about once in seven one-second H-x86 runs and
//! reported a freed-while-loaded; this pins it on the step engine.

use lazymm_engines::step::{Gate, Step};
use lazymm_model::era::variant;
use lazymm_model::{ArchId, Kernel, SysOp, TaskRef};
use lazymm_workloads::run::{run_one, Built, Named};

/// A runs T (M's only thread) and goes idle, lazy on M; a TLB-flushing idle state then unlazies
/// it. A is held inside `unlazy_mm_irqs_off`, after its MMU switch, until B has taken T over
/// and exited it (B starts its exit only once A is in the window).
fn unlazy_window(k: &Kernel) -> Built {
    let (m, t) = k.create_process(1).unwrap();
    Built {
        scripts: vec![
            vec![
                Step::Op(SysOp::Switch(TaskRef::Task(t[0]))),
                Step::Op(SysOp::Switch(TaskRef::Idle)),
                Step::Op(SysOp::IdleLeaveMm),
            ],
            vec![
                Step::WaitMark("cpu0@unlazy_mm_irqs_off:switched".into()),
                Step::Retry(SysOp::Switch(TaskRef::Task(t[0]))),
                Step::Op(SysOp::Exit {
                    then: TaskRef::Idle,
                }),
                Step::Mark("exited".into()),
            ],
        ],
        gates: vec![Gate {
            cpu: 0,
            at: "unlazy_mm_irqs_off:switched",
            nth: 1,
            until: "exited".into(),
        }],
        subject: m,
        ..Default::default()
    }
}

#[test]
fn hazard_x86_scan_frees_during_unlazy_window_without_a_violation() {
    let v = variant("hazard-x86+fixes").unwrap();
    let mut knobs = v.knobs(ArchId::X86);
    // The case under test: patch 20's cpuidle path (unlazy, not leave_mm) on v5.16's mask.
    knobs.x86_leave_mm_in_idle = false;
    assert_eq!(
        knobs.x86_mask,
        lazymm_model::arch::MaskPolicy::X86ClearOnSwitch
    );
    let out = run_one(
        "hazard-x86-unlazy-window",
        Named::variant(&v),
        ArchId::X86,
        2,
        knobs,
        &unlazy_window,
        0,
        0.0,
        0.0,
    );
    assert!(out.violations.is_empty(), "{:?}", out.row.violations);
    // The scan skipped A: M was freed in B's own __mmput (its mmdrop), not handed to A's
    // rq->drop_mm and freed by A's mmdrop_lazy. Under H-x86 the exiting CPU B also unlazied
    // itself in its local exit flush (patch 21), so nothing else held M.
    assert!(out.row.freed, "{:?}", out.row.freed_at);
    assert!(
        out.row.freed_at.starts_with("cpu1 __mmput"),
        "{}",
        out.row.freed_at
    );
    // A was then still inside the window: it left the gate only after B's mark.
    assert_eq!(
        out.counters.scan_loads, 0,
        "A was out of mm_cpumask(M) when B scanned it"
    );
}
