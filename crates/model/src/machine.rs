//! The machine seam: what an engine provides to the kernel model.
//!
//! Every kernel path runs "on a CPU": it receives a `&dyn Cpu`, the engine's handle for the CPU
//! executing it. The model keeps all kernel state (shared words, csd queues, IRQ flags) itself;
//! the engine decides only *when* things happen:
//!
//! - [`Cpu::point`]: a place where real CPUs interleave. The step engine may switch to another
//!   CPU here, and — if this CPU has IRQs enabled — deliver its pending IPIs, or deliver an NMI
//!   regardless of the IRQ state, by calling back into [`crate::Kernel::irq_entry`] /
//!   [`crate::Kernel::nmi_entry`] before returning. The threads engine (a later issue) uses the
//!   same call as its IRQ poll point.
//! - [`Cpu::wait`]: one iteration of a spin-wait (`csd_lock_wait`, `smp_cond_load_acquire` on
//!   `on_cpu`, a hazard-pointer busy-wait). Semantically a point; it tells the engine that this
//!   CPU makes no progress until some other CPU does, so deadlocks are detectable.
//! - [`Cpu::kick`]: raise the IPI line of a target CPU whose csd queue the model just filled.
//! - [`Cpu::preempt`]: at a preemptible point (IRQs on, not atomic) the engine may ask the
//!   model to schedule other tasks before returning to the current one.
//! - [`Cpu::charge`]: every counted event is reported here too, so a cost model (the simulator
//!   of a later issue) can price it. Cost models never replace scheme logic; they only price the
//!   events the scheme code emits.

use crate::ids::{CpuId, TaskRef};
use std::cell::RefCell;

/// Countable events, reported to [`Cpu::charge`] as they happen.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An RMW on some `mm->mm_count` (mmgrab, mmdrop, atomic_add/sub).
    MmCountRmw,
    /// An RMW (cmpxchg/xchg) on some `rq->drop_mm`.
    DropMmRmw,
    /// An explicit full barrier (`smp_mb()`) the lazy-mm scheme adds.
    SchemeBarrier,
    /// An explicit full barrier the common path issues anyway (x86 `switch_mm_irqs_off`'s
    /// `tlb_gen` barrier, ppc's first-load barrier, exec/membarrier barriers).
    PathBarrier,
    /// A remote load done by a hazard scan (one per CPU examined).
    ScanLoad,
    /// An IPI sent because of lazy-mm handling (shootdown, hazard retire, residual unlazy).
    LazyIpi,
    /// An IPI sent by a TLB flush (including exit-time flushes that also unlazy).
    FlushIpi,
    /// A write to the MMU's page-table base (CR3, PID/ASID switch).
    MmuSwitch,
}

/// The per-CPU execution context an engine hands to every kernel path.
pub trait Cpu {
    /// This CPU's number.
    fn id(&self) -> CpuId;
    /// A point where other CPUs may run and interrupts may be taken (see module doc).
    fn point(&self, k: &crate::Kernel, at: &'static str);
    /// One iteration of a spin-wait on `on`.
    fn wait(&self, k: &crate::Kernel, on: &'static str);
    /// Raise the IPI line of `target` (its csd queue is already filled).
    fn kick(&self, target: CpuId);
    /// At a preemptible point: the tasks to run before the current one resumes, if any.
    fn preempt(&self, at: &'static str) -> Option<Vec<TaskRef>> {
        let _ = at;
        None
    }
    /// A monotonic step counter (engine time), used to stamp violations and frees.
    fn now(&self) -> u64;
    /// The kernel's `jiffies` (1/`era::HZ` s). Engines without a clock of kernel time (step,
    /// threads, loom) keep it at 0: a scenario lasts microseconds of kernel time, so no
    /// once-a-second event (the x86 mask trim) falls inside it.
    fn jiffies(&self) -> u64 {
        0
    }
    /// Cost hook for an event.
    fn charge(&self, ev: Event) {
        let _ = ev;
    }
    /// The function-call trace of this CPU (for violation reports).
    fn trace(&self) -> &Trace;
}

/// The call chain of a CPU, kept by the model for violation reports ("exit_mm > mmput > ...").
#[derive(Default, Debug)]
pub struct Trace {
    stack: RefCell<Vec<&'static str>>,
}

impl Trace {
    /// Pushes a function name; the guard pops it.
    pub fn enter(&self, f: &'static str) -> TraceGuard<'_> {
        self.stack.borrow_mut().push(f);
        TraceGuard(self)
    }
    /// The current chain, outermost first.
    pub fn path(&self) -> String {
        self.stack.borrow().join(" > ")
    }
    /// The innermost function.
    pub fn top(&self) -> &'static str {
        self.stack.borrow().last().copied().unwrap_or("?")
    }
    /// Drops every frame (used when an engine restarts a CPU).
    pub fn clear(&self) {
        self.stack.borrow_mut().clear();
    }
}

/// Pops a [`Trace`] frame on drop.
pub struct TraceGuard<'a>(&'a Trace);

impl Drop for TraceGuard<'_> {
    fn drop(&mut self) {
        self.0.stack.borrow_mut().pop();
    }
}
