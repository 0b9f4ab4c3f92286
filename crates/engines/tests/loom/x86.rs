//! H-x86 (patch 22): `mm_unlazy_mm_count` iterates `mm_cpumask(mm)` instead of every online
//! CPU, racing the flush IPIs of the same exit, whose handler unlazies a lazy CPU through the
//! scheduler (patch 21: `flush_tlb_func` → `unlazy_mm_irqs_off`) and, finding a CPU that no
//! longer has the mm loaded, clears its mask bit (Rik's lazy mm_cpumask).

use crate::common::*;
use lazymm_engines::loom::{LoomCpu, LoomMachine};
use lazymm_model::arch::LazyFlush;
use lazymm_model::machine::Cpu;
use lazymm_model::oracle::ViolationKind;
use lazymm_model::schemes::hazard::Hazard;
use lazymm_model::schemes::hazard_x86::hazard_x86;
use lazymm_model::{ArchId, Knobs, SysOp, TaskRef};
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;

/// A runs T (sole thread of M) and goes idle (lazy on M, in mm_cpumask(M)); B takes T over,
/// unmaps (a freed-tables flush IPI to A), exits it (the exit flush IPIs A again; then the
/// scan iterates the mask) and runs U2. A then runs U: at once (`idle_through_exit` false,
/// its un-lazy races both flushes), or only after B is done, polling for interrupts in its
/// idle loop meanwhile (true: both flushes find A idle and lazy).
///
/// Correct H-x86: a flush finding A lazy unlazies it (`lazy_A = NULL`, release); a flush
/// finding A off M clears its bit, so the scan skips A without loading `lazy_A` — ordered by
/// the flush's csd release/acquire. If A switches to U first, the flush clears the bit just
/// the same and A's un-lazy store_release precedes the IPI's completion.
fn mask_scan_vs_flush_unlazy(knobs: Knobs, idle_through_exit: bool) {
    let h = Hazard {
        mutant: (knobs.x86_lazy_flush == LazyFlush::LeaveMm).then_some("hazard-x86-flush-leave_mm"),
        kthread_ref: lazymm_model::scheme::KthreadRef::MmUsers,
        exit_mm_grabs: false,
        ..hazard_x86()
    };
    let k = Arc::new(boot(Box::new(h), ArchId::X86, 2, knobs));
    let m = Arc::new(LoomMachine::new(2));
    let (_mm, t) = k.create_process(1).unwrap();
    let (_mu, u) = k.create_process(1).unwrap();
    let (_mu2, u2) = k.create_process(1).unwrap();
    let (t, u, u2) = (t[0], u[0], u2[0]);
    let a = LoomCpu::new(0, &m);
    // Setup: T runs on A (A's bit set in mm_cpumask(M)).
    assert!(op(&k, &a, SysOp::Switch(TaskRef::Task(t))));
    let b_done = Arc::new(AtomicBool::new(false));
    let (k2, m2, done) = (k.clone(), m.clone(), b_done.clone());
    let b = loom::thread::spawn(move || {
        let c = LoomCpu::new(1, &m2);
        switch_to(&k2, &c, TaskRef::Task(t));
        op(&k2, &c, SysOp::Munmap { freed_tables: true });
        exit(&k2, &c);
        op(&k2, &c, SysOp::Switch(TaskRef::Task(u2)));
        // Release: pairs with A's Acquire below (the scenario's order only).
        done.store(true, Ordering::Release);
        c.finish(&k2);
    });
    op(&k, &a, SysOp::Switch(TaskRef::Idle));
    op(&k, &a, SysOp::Idle(1));
    // Acquire: pairs with B's Release above.
    while idle_through_exit && !b_done.load(Ordering::Acquire) {
        a.wait(&k, "cpuidle");
    }
    op(&k, &a, SysOp::Switch(TaskRef::Task(u)));
    a.finish(&k);
    b.join().unwrap();
    assert_clean(settle(&k, &m));
}

#[test]
fn hazard_x86_cpumask_scan_vs_flush_ipi_unlazy() {
    // A's un-lazy racing both flushes at bound 3 (the bound its mutant needs, below).
    explore_bound(3, || mask_scan_vs_flush_unlazy(h_knobs(ArchId::X86), false)).unwrap();
    explore(|| mask_scan_vs_flush_unlazy(h_knobs(ArchId::X86), true)).unwrap();
}

/// The pre-patch-21 flush: on a lazy CPU it "just switches to init_mm" (`leave_mm`).
fn flush_leave_mm() -> Knobs {
    Knobs {
        x86_lazy_flush: LazyFlush::LeaveMm,
        ..h_knobs(ArchId::X86)
    }
}

/// Its failure: A's next switch dereferences its freed active_mm.
const KASAN_ACTIVE_MM: Caught = Caught::OracleAt(
    ViolationKind::UseAfterFree,
    "kasan_check_byte(prev->active_mm)",
);

#[test]
fn hazard_x86_flush_leave_mm_behind_the_scheduler_is_caught() {
    // Before patch 21 the flush IPI moves loaded_mm off M while rq->lazy_mm and
    // current->active_mm stay M. The exit flush then finds A off M and Rik's lazy mask clears
    // A's bit; the scan never looks at A, frees M, and A's next switch dereferences its freed
    // active_mm (kasan_check_byte). A logic bug, not an ordering one: with A idling through
    // the exit every interleaving fails, and loom's first execution shows it.
    assert_caught(
        || mask_scan_vs_flush_unlazy(flush_leave_mm(), true),
        &[KASAN_ACTIVE_MM],
    );
}

#[test]
fn hazard_x86_flush_leave_mm_racing_the_unlazy_is_caught_at_bound_3() {
    // When A races the exit with its own switch to U, the failure needs A preempted before
    // each flush is sent and again before its switch: three preemptions. Measured: not
    // reached at bound 2 (451 executions), reached at bound 3 (666).
    assert_caught_bound(
        3,
        || mask_scan_vs_flush_unlazy(flush_leave_mm(), false),
        &[KASAN_ACTIVE_MM],
    );
}
