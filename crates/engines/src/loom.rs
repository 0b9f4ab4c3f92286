//! The loom engine: model CPUs are loom threads (built with `RUSTFLAGS="--cfg loom"`).
//!
//! Loom runs the kernel model's own code — the same `Kernel::do_op`, `context_switch`,
//! `mm_unlazy_mm_count`, `hp_scan`… — on its atomics, exploring every interleaving and every
//! weak-memory outcome it models (up to a preemption bound), and checks the page-table cell
//! of `lazymm_model::sync::PageTables`: a hardware walk not ordered before the free is a
//! causality violation. Only the interrupt lines are engine state: [`Cpu::kick`] raises a
//! loom atomic, and every [`Cpu::point`] with IRQs enabled takes pending IPIs. Spin-waits
//! yield to loom's scheduler, as loom requires.
//!
//! Loom's blind spots apply (ecosystem §2.12): SeqCst *accesses* are weakened, so the model
//! writes its full barriers as `fence(SeqCst)`, each preceded under loom by a relaxed RMW of
//! one token so that loom preempts before it and explores the order of any two fences
//! (`lazymm_model::sync::mb`); load buffering is not explored. Models are kept to 2–3 CPUs.

use lazymm_model::ids::CpuId;
use lazymm_model::machine::{Cpu, Trace};
use lazymm_model::Kernel;
use loom::sync::atomic::{AtomicBool, Ordering};

/// Interrupt lines of one loom execution.
pub struct LoomMachine {
    lines: Vec<AtomicBool>,
    done: Vec<AtomicBool>,
}

impl LoomMachine {
    /// Lines for `n` CPUs.
    pub fn new(n: usize) -> LoomMachine {
        LoomMachine {
            lines: (0..n).map(|_| AtomicBool::new(false)).collect(),
            done: (0..n).map(|_| AtomicBool::new(false)).collect(),
        }
    }
}

/// One model CPU on a loom thread.
pub struct LoomCpu<'a> {
    id: CpuId,
    m: &'a LoomMachine,
    trace: Trace,
}

impl<'a> LoomCpu<'a> {
    /// The context for CPU `id`.
    pub fn new(id: CpuId, m: &'a LoomMachine) -> LoomCpu<'a> {
        LoomCpu {
            id,
            m,
            trace: Trace::default(),
        }
    }

    /// Marks this CPU's work done, then keeps taking interrupts until every CPU is done
    /// (another CPU may still be waiting for one of our IPI handlers).
    pub fn finish(&self, k: &Kernel) {
        // Release: pairs with the Acquire loads below on the other CPUs.
        self.m.done[self.id].store(true, Ordering::Release);
        while self.m.done.iter().any(|d| !d.load(Ordering::Acquire)) {
            self.wait(k, "idle");
        }
        self.point(k, "idle:last");
    }
}

impl Cpu for LoomCpu<'_> {
    fn id(&self) -> CpuId {
        self.id
    }
    fn point(&self, k: &Kernel, _at: &'static str) {
        // Acquire: pairs with the Release in `kick`, which follows the csd enqueue. Load
        // first: loom treats a spin of plain loads plus yield as waiting, a spin of RMWs as
        // progress.
        let line = &self.m.lines[self.id];
        if k.irqs_enabled(self.id) && line.load(Ordering::Acquire) {
            line.store(false, Ordering::Relaxed);
            k.irq_entry(self);
        }
    }
    fn wait(&self, k: &Kernel, on: &'static str) {
        self.point(k, on);
        loom::thread::yield_now();
    }
    fn kick(&self, target: CpuId) {
        // Release: the csd was queued before; pairs with the Acquire swap in `point`.
        self.m.lines[target].store(true, Ordering::Release);
    }
    fn now(&self) -> u64 {
        0
    }
    fn trace(&self) -> &Trace {
        &self.trace
    }
}
