//! Workload drivers: generators of model operations that react to the kernel's state (which
//! task a CPU runs now, whether its runqueue has work), for engines that run a workload to a
//! time or count bound rather than a fixed script (the sim engine).
//!
//! ```text
//!  engine, per CPU:  loop { match driver.next(k, cpu) {
//!                        Op(op) => { ok = k.do_op(cpu, op); driver.done_op(k, cpu, op, ok) }
//!                        Idle   => the CPU sits in its idle loop until a wakeup (IPI or
//!                                  TIF_NEED_RESCHED on a polling idle CPU) arrives
//!                        Spin   => one spin-wait iteration (another CPU must act first)
//!                        Busy   => work outside the model until a virtual time (replayed
//!                                  traces: the gaps between a trace's events)
//!                        Done   => the CPU stops driving } }
//! ```
//! A driver holds workload state only (which program step each task is at); everything the
//! kernel does (blocking, wakeups, placement, the lazy-mm scheme) happens in the model.

use lazymm_model::ids::{CpuId, TaskRef};
use lazymm_model::{Kernel, SysOp};

/// What a CPU does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Perform a kernel entry point.
    Op(SysOp),
    /// Nothing to run: sit in the idle loop until woken.
    Idle,
    /// Spin until another CPU acts (a scenario script waiting for a marker, an op to retry).
    Spin,
    /// Work outside the model until the CPU's clock reads `until_ns` (nothing if it already
    /// does): the user and kernel work between a replayed trace's events, which no lazy-mm
    /// scheme changes. `idle`: the CPU sits in its idle loop meanwhile (the time is idle
    /// time) instead of running its task. Interrupts are taken meanwhile: the sim engine
    /// advances the clock to the next moment another CPU may act (at least
    /// [`BUSY_SLICE_NS`] at a time) and takes due IPIs between. Engines without virtual
    /// time (step, threads) treat it as a no-op.
    Busy {
        /// Virtual time (ns) the CPU's clock must reach.
        until_ns: u64,
        /// The CPU is idle rather than busy meanwhile.
        idle: bool,
    },
    /// The workload is over for this CPU.
    Done,
}

/// The smallest step (ns) by which a clocked engine advances a CPU in [`Next::Busy`] while
/// another CPU is within it: an IPI sent to a busy CPU is taken at most this late.
///
/// An engine granularity, not a machine figure, chosen by convergence: replaying
/// `traces/sample.ftrace` and a 12,000-switch kernel-build trace with 10 ns and with 1 ns
/// gives the same figures (last-digit float rounding aside), so 10 ns is already the exact
/// answer there. The former 1 µs was not: exit-flush IPIs reached busy CPUs up to 1 µs late,
/// which put access time per switch 33% low and IPI wait 14% high for R, S and L on the
/// sample (counts were unchanged). `lazymm replay --json` on both traces with the constant
/// at 1000, 100, 10 and 1, on 2026-11-26.
pub const BUSY_SLICE_NS: f64 = 10.0;

/// A workload generator driven by the engine (see the module doc).
pub trait Driver {
    /// The workload's name (e.g. `ctxsw`).
    fn name(&self) -> String;
    /// Task and mm table capacities the workload needs (beyond the idle tasks).
    fn capacity(&self) -> (usize, usize);
    /// Boot-time setup on the kernel before any CPU runs: processes, pipes, affinities.
    fn setup(&mut self, k: &Kernel);
    /// The next thing `cpu` does. No other CPU runs between this call and the op.
    fn next(&mut self, k: &Kernel, cpu: CpuId) -> Next;
    /// The op that [`Driver::next`] returned for `cpu` ran; `applied` is its result.
    fn done_op(&mut self, k: &Kernel, cpu: CpuId, op: &SysOp, applied: bool);
    /// Workload-level operations completed so far (e.g. pipe round trips).
    fn ops(&self) -> u64;
    /// What one workload op is, for reports (e.g. "pipe round trip").
    fn op_name(&self) -> &'static str;
    /// Whether the driver watches points ([`Driver::at_point`]); engines skip the calls
    /// otherwise.
    fn watches_points(&self) -> bool {
        false
    }
    /// `cpu` arrives at point `at` (each arrival once): the driver may set markers, and
    /// returns whether a gate holds the CPU here (the engine then spins it, still taking its
    /// interrupts, until [`Driver::held`] says otherwise).
    fn at_point(&mut self, cpu: CpuId, at: &'static str) -> bool {
        let _ = (cpu, at);
        false
    }
    /// Whether the gate that held `cpu` at `at` still holds it.
    fn held(&self, cpu: CpuId, at: &'static str) -> bool {
        let _ = (cpu, at);
        false
    }
    /// Every CPU has only spun for a while: release every gate (as the step engine does, so a
    /// gate never deadlocks a run).
    fn release_gates(&mut self) {}
    /// A directed preemption of `cpu` at preemptible point `at`: the tasks to run first.
    fn preempt(&mut self, cpu: CpuId, at: &'static str) -> Option<Vec<TaskRef>> {
        let _ = (cpu, at);
        None
    }
    /// Whether the workload is past its start-up (every task has run its loop once), so that
    /// measurements may begin. Engines also wait for their own warm-up count.
    fn warmed_up(&self) -> bool {
        true
    }
}
