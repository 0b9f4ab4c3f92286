//! H-x86 (patch 22): `mm_unlazy_mm_count` iterates `mm_cpumask(mm)` instead of every online
//! CPU, racing the flush IPIs of the same exit, whose handler unlazies a lazy CPU through the
//! scheduler (patch 21: `flush_tlb_func` → `unlazy_mm_irqs_off`), and racing a lazy CPU's
//! own switch away, which clears its mask bit (v5.16's `switch_mm_irqs_off`).

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
/// Correct H-x86 (`hazard-x86+fixes`): a flush finding A lazy unlazies it (`lazy_A = NULL`,
/// release). If A switches to U first, its `switch_mm_irqs_off` clears its bit only after the
/// CR3 write: a scan that finds the bit clear (the clear is a fully ordered RMW, the scan's
/// read of the mask comes after `mmput`'s full barrier) is ordered after A's last walk of M's
/// page tables, and A's un-lazy store_release precedes the IPI's completion.
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
    explore_bound(3, || mask_scan_vs_flush_unlazy(h_x86_knobs(), false)).unwrap();
    explore(|| mask_scan_vs_flush_unlazy(h_x86_knobs(), true)).unwrap();
}

/// v5.16's own order: `cpumask_clear_cpu(prev)` before `load_new_mm_cr3` (scenario #29,
/// mutant l).
fn clear_before_cr3() -> Knobs {
    Knobs {
        x86_clear_after_cr3: false,
        ..h_x86_knobs()
    }
}

#[test]
fn hazard_x86_mask_cleared_before_the_cr3_write_is_caught() {
    // A, lazy on M, switches to U: it leaves mm_cpumask(M) and only then writes CR3. A scan
    // in between skips A and frees M — the pgd A's MMU is still on ("loaded in its MMU"), or
    // loom's causality check on A's walk of M's page tables, whichever the execution reaches
    // (measured: loom's first execution, a causality violation).
    assert_caught(
        || mask_scan_vs_flush_unlazy(clear_before_cr3(), false),
        &[
            Caught::Oracle(ViolationKind::FreedWhileLoaded),
            Caught::Causality,
        ],
    );
}

/// The pre-patch-21 flush: on a lazy CPU it "just switches to init_mm" (`leave_mm`).
fn flush_leave_mm() -> Knobs {
    Knobs {
        x86_lazy_flush: LazyFlush::LeaveMm,
        ..h_x86_knobs()
    }
}

/// Its failure: a CPU's next switch dereferences its freed active_mm.
const KASAN_ACTIVE_MM: Caught = Caught::OracleAt(
    ViolationKind::UseAfterFree,
    "kasan_check_byte(prev->active_mm)",
);

#[test]
fn hazard_x86_flush_leave_mm_behind_the_scheduler_is_caught() {
    // Before patch 21 a flush moves loaded_mm off M on a lazy CPU while rq->lazy_mm and
    // current->active_mm stay M, and v5.16's switch_mm_irqs_off clears its bit. B's own exit
    // flush does that to B (lazy since exit_mm), the munmap flush to A: the scan finds
    // nobody in the mask and frees M under both CPUs' active_mm (__mmdrop's WARN on B, then
    // kasan_check_byte at each one's next switch). A logic bug, not an ordering one: every
    // interleaving fails, and loom's first execution shows it.
    assert_caught(
        || mask_scan_vs_flush_unlazy(flush_leave_mm(), true),
        &[KASAN_ACTIVE_MM],
    );
}

#[test]
fn hazard_x86_flush_leave_mm_with_a_racing_unlazy_is_caught() {
    // When A races the exit with its own switch to U, B's own exit flush still leave_mm's B:
    // caught in loom's first execution (measured 2026-11-26; an older note here said three
    // preemptions were needed, which no longer held before this session's changes either).
    assert_caught(
        || mask_scan_vs_flush_unlazy(flush_leave_mm(), false),
        &[KASAN_ACTIVE_MM],
    );
}
