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
//! - [`Cpu::access`]: every access to a shared cache line ([`Line`]) with its [`Access`] kind,
//!   so a coherence model prices line transfers; [`Cpu::resched`]: a wakeup of a polling idle
//!   CPU that needs no IPI.

use crate::ids::{CpuId, TaskRef};
use crate::smp::IpiClass;
use std::cell::{Cell, RefCell};

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
    /// A context switch (`context_switch()`), whatever the tasks.
    ContextSwitch,
    /// A wakeup (`try_to_wake_up` that made a blocked task runnable).
    Wakeup,
    /// A system call's entry and exit (the workload's own syscalls: pipe read/write).
    Syscall,
    /// A flush of this CPU's TLB entries for one mm (`flush_tlb_func`'s local flush).
    LocalFlush,
    /// A hardware broadcast invalidation (ppc `tlbie`, arm64 TLBI IS, AMD INVLPGB).
    BroadcastFlush,
    /// A hypervisor flush call (ppc hash, PV flush).
    HypervisorFlush,
}

/// A cache line of shared kernel state, as a coherence model sees it. Every word that another
/// CPU reads or writes is reported with its line through [`Cpu::access`]; owner-private words
/// that no other CPU touches are not reported (they cost an L1 hit).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Line {
    /// `mm->mm_count` (its own cache line in `struct mm_struct`) of mm slot `n`.
    MmCount(u32),
    /// `mm->mm_users` and the header of mm slot `n` (membarrier state).
    MmUsers(u32),
    /// Cache line `line` (512 CPUs each) of `mm_cpumask` of mm slot `n`.
    MmMask(u32, u32),
    /// x86 `mm->context` of mm slot `n` (`tlb_gen`, `next_trim_cpumask`).
    MmContext(u32),
    /// The runqueue of a CPU: `rq->lock`, `nr_running`, `rq->curr`.
    Rq(u32),
    /// H's `rq->lazy_mm` / `rq->drop_mm` of a CPU.
    RqLazy(u32),
    /// MD's hazard-pointer slot of a CPU.
    HpSlot(u32),
    /// `cpu_tlbstate(_shared)` of a CPU: `loaded_mm`, `is_lazy`.
    TlbState(u32),
    /// The `call_single_queue` of a CPU (IPI function calls queued to it).
    CsdQueue(u32),
    /// The `csd` lock words of the CPU that sent a synchronous call (`csd_lock_wait`).
    CsdLock(u32),
    /// A `task_struct`'s scheduling line: `->state`, `->on_cpu`, `->on_rq`.
    Task(u32),
    /// A pipe's `mutex` and wait queue.
    Pipe(u32),
    /// The `thread_info` flags of a CPU's idle task (`TIF_NEED_RESCHED`, `TIF_POLLING_NRFLAG`).
    Tif(u32),
    /// `mm->lru_gen` of mm slot `n` (`CONFIG_LRU_GEN_WALKS_MMU`: its `list`, `bitmap` and
    /// `memcg`). A line of its own for the lazy-TLB paths: Debian's 6.12.117 amd64 build puts
    /// it at offsets 1296–1327 of `struct mm_struct`, on cache line 20 with the KSM counters
    /// (`pahole -C mm_struct` on that kernel's vmlinux); `mm_cpumask` starts on line 21.
    MmLruGen(u32),
    /// A memcg's MGLRU `lru_gen_mm_list` (its `fifo` head and `lock`; the model has one
    /// memcg, the root: `MmList(0)`).
    MmList(u32),
}

/// The kinds of line ([`Line::kind`]) that hold lazy-TLB reference state, which the schemes
/// touch differently: `mm_count` (R's lazy grab and drop, every scheme's final `mmdrop`),
/// `mm_cpumask` (S's shootdown targets; x86's lazy mask), `rq_lazy_mm` (H's
/// `lazy_mm`/`drop_mm`) and `hp_slot` (MD's hazard slots). Reports that separate lazy-mm
/// cost from the rest of a context switch take the list from here.
pub const LAZY_MM_LINE_KINDS: [&str; 4] = ["mm_count", "mm_cpumask", "rq_lazy_mm", "hp_slot"];

impl Line {
    /// One line of each kind, in declaration order, for tables and tests that go over every
    /// kind. A new kind belongs here too: the simulator's per-kind table test
    /// (`kind_names_are_the_models_line_kinds`) fails while one is missing.
    pub const ONE_OF_EACH: [Line; 15] = [
        Line::MmCount(0),
        Line::MmUsers(0),
        Line::MmMask(0, 0),
        Line::MmContext(0),
        Line::Rq(0),
        Line::RqLazy(0),
        Line::HpSlot(0),
        Line::TlbState(0),
        Line::CsdQueue(0),
        Line::CsdLock(0),
        Line::Task(0),
        Line::Pipe(0),
        Line::Tif(0),
        Line::MmLruGen(0),
        Line::MmList(0),
    ];

    /// Whether the line holds lazy-TLB reference state ([`LAZY_MM_LINE_KINDS`]).
    pub fn holds_lazy_mm_state(self) -> bool {
        LAZY_MM_LINE_KINDS.contains(&self.kind())
    }

    /// Short name of the line's kind (cost breakdowns are per kind).
    pub fn kind(self) -> &'static str {
        match self {
            Line::MmCount(_) => "mm_count",
            Line::MmUsers(_) => "mm_users",
            Line::MmMask(..) => "mm_cpumask",
            Line::MmContext(_) => "mm_context",
            Line::Rq(_) => "rq",
            Line::RqLazy(_) => "rq_lazy_mm",
            Line::HpSlot(_) => "hp_slot",
            Line::TlbState(_) => "tlbstate",
            Line::CsdQueue(_) => "csd_queue",
            Line::CsdLock(_) => "csd_lock",
            Line::Task(_) => "task",
            Line::Pipe(_) => "pipe",
            Line::Tif(_) => "tif",
            Line::MmLruGen(_) => "mm_lru_gen",
            Line::MmList(_) => "mm_list",
        }
    }
}

/// What an access does to its line.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Load,
    /// A plain store.
    Store,
    /// An atomic read-modify-write (value-returning ones are also full barriers; the cost
    /// model prices that with the RMW).
    Rmw,
}

/// The per-CPU execution context an engine hands to every kernel path.
pub trait Cpu {
    /// This CPU's number.
    fn id(&self) -> CpuId;
    /// A point where other CPUs may run and interrupts may be taken (see module doc).
    fn point(&self, k: &crate::Kernel, at: &'static str);
    /// One iteration of a spin-wait on `on`.
    fn wait(&self, k: &crate::Kernel, on: &'static str);
    /// Raise the IPI line of `target` (its csd queue is already filled; the IPI's class is
    /// [`Trace::kick_class`] of this CPU's trace until the call returns).
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
    /// Cost hook for an access to a shared cache line (see [`Line`]). Engines without a cost
    /// model ignore it. Like [`Cpu::point`], the engine may let other CPUs run here (never
    /// deliver an interrupt), so the model reports accesses outside its own locks.
    #[inline]
    fn access(&self, line: Line, kind: Access) {
        let _ = (line, kind);
    }
    /// `target`'s idle task polls `TIF_NEED_RESCHED` and the model just set it (a wakeup
    /// without an IPI, `set_nr_if_polling`). Engines that park idle CPUs wake `target`.
    fn resched(&self, target: CpuId) {
        let _ = target;
    }
    /// The function-call trace of this CPU (for violation reports).
    fn trace(&self) -> &Trace;
}

/// The call chain of a CPU, kept by the model for violation reports ("exit_mm > mmput > ..."),
/// and the class of the IPI it is raising while it is in [`Cpu::kick`].
#[derive(Default, Debug)]
pub struct Trace {
    stack: RefCell<Vec<&'static str>>,
    kick: Cell<Option<IpiClass>>,
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
        self.kick.set(None);
    }
    /// Notes that the IPI about to be raised is of `class`, until the guard drops; the model
    /// holds it around each [`Cpu::kick`].
    pub(crate) fn kicking(&self, class: IpiClass) -> KickGuard<'_> {
        self.kick.set(Some(class));
        KickGuard(self)
    }
    /// Inside [`Cpu::kick`]: the class of the IPI being raised (None outside a kick).
    pub fn kick_class(&self) -> Option<IpiClass> {
        self.kick.get()
    }
}

/// Forgets the class of a [`Trace`]'s kick on drop.
pub(crate) struct KickGuard<'a>(&'a Trace);

impl Drop for KickGuard<'_> {
    fn drop(&mut self) {
        self.0.kick.set(None);
    }
}

/// Pops a [`Trace`] frame on drop.
pub struct TraceGuard<'a>(&'a Trace);

impl Drop for TraceGuard<'_> {
    fn drop(&mut self) {
        self.0.stack.borrow_mut().pop();
    }
}

#[cfg(test)]
mod lazy_mm_line_tests {
    use super::{Line, LAZY_MM_LINE_KINDS};

    #[test]
    fn lazy_mm_line_kinds_name_real_lines() {
        let held: Vec<&str> = Line::ONE_OF_EACH
            .into_iter()
            .filter(|l| l.holds_lazy_mm_state())
            .map(Line::kind)
            .collect();
        // A renamed kind would silently drop out of every lazy-mm cost figure.
        assert_eq!(held, LAZY_MM_LINE_KINDS);
    }
}
