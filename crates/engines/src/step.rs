//! The deterministic step engine.
//!
//! Every model CPU runs its script on a stackful coroutine (corosensei). Kernel code runs
//! straight-line, exactly as written in the model; each [`Cpu::point`] / [`Cpu::wait`] suspends
//! the coroutine back to the scheduler loop, which picks the next CPU with a seeded RNG
//! (ChaCha8), so a `(seed, scripts, config)` triple replays bit-for-bit.
//!
//! When the scheduler resumes a CPU it may deliver, before the CPU continues:
//! - its pending IPIs, only if that CPU has IRQs enabled (`Kernel::irq_entry`);
//! - an NMI, anywhere (`Kernel::nmi_entry`), with probability `nmi_prob` per resume.
//!
//! Scenarios pin interleavings with **marks** and **gates**: a script step `Mark(m)` sets a
//! marker, `WaitMark(m)` spins until it is set; passing point `at` on CPU `n` sets marker
//! `"cpu{n}@{at}"` (and `"cpu{n}@{at}#{k}"` at its `k`-th arrival); a [`Gate`] holds a CPU at the `nth` time it reaches a point until a marker
//! is set. That is how a scenario puts an IPI between `exit_mmap`'s flush and `__mmdrop`, or a
//! remote switch between a hazard scan's two loads.
//!
//! Fidelity: the step engine is sequentially consistent at point granularity (the memory
//! orderings are only exercised by the threads and loom engines).
//!
//! After every script finished and no IPI is pending, each CPU quiesces (unlazies) and the
//! oracle's final (leak) check runs.

use corosensei::{Coroutine, CoroutineResult, Yielder};
use lazymm_model::ids::{CpuId, TaskRef};
use lazymm_model::kernel::BootCpu;
use lazymm_model::machine::{Cpu, Trace};
use lazymm_model::oracle::ViolationKind;
use lazymm_model::Kernel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

mod config;
mod marks;
pub use config::{Gate, Preempt, Step, StepConfig, StepResult, Stop};
pub use marks::Marks;

#[derive(Default)]
struct Shared {
    marks: RefCell<Marks>,
    step: Cell<u64>,
    rng: RefCell<Option<ChaCha8Rng>>,
    preempt_prob: f64,
    steps_per_jiffy: u64,
    preempts: RefCell<Vec<Option<Preempt>>>,
    quiesce: Cell<bool>,
    stop: Cell<bool>,
    idle: RefCell<Vec<bool>>,
    quiesced: RefCell<Vec<bool>>,
    applied: RefCell<Vec<Vec<bool>>>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Deliver {
    Nothing,
    Ipi,
    Nmi,
    /// An IPI for a CPU held at a gate with IRQs on: it takes the interrupt (a slow CPU still
    /// services interrupts) and stays held at the same point.
    IpiHeld,
}

#[derive(Copy, Clone, Debug)]
struct Yielded {
    at: &'static str,
    waiting: bool,
    /// Re-yield at the same point after an interrupt taken while held (not a new arrival).
    again: bool,
}

struct StepCpu<'y> {
    id: CpuId,
    yielder: &'y Yielder<Deliver, Yielded>,
    shared: Rc<Shared>,
    trace: Trace,
    in_nmi: Cell<bool>,
}

impl StepCpu<'_> {
    fn suspend(&self, k: &Kernel, at: &'static str, waiting: bool) {
        let mut again = false;
        loop {
            let d = self.yielder.suspend(Yielded { at, waiting, again });
            match d {
                Deliver::Nothing => return,
                Deliver::Ipi => return k.irq_entry(self),
                Deliver::IpiHeld => {
                    k.irq_entry(self);
                    again = true;
                }
                Deliver::Nmi => {
                    if !self.in_nmi.replace(true) {
                        k.nmi_entry(self);
                        self.in_nmi.set(false);
                    }
                    return;
                }
            }
        }
    }
}

impl Cpu for StepCpu<'_> {
    fn id(&self) -> CpuId {
        self.id
    }
    fn point(&self, k: &Kernel, at: &'static str) {
        self.suspend(k, at, false);
    }
    fn wait(&self, k: &Kernel, on: &'static str) {
        self.suspend(k, on, true);
    }
    fn kick(&self, _target: CpuId) {
        // The scheduler loop polls Kernel::ipi_pending before each resume.
    }
    fn preempt(&self, at: &'static str) -> Option<Vec<TaskRef>> {
        if self.in_nmi.get() {
            return None;
        }
        let mut ps = self.shared.preempts.borrow_mut();
        for p in ps.iter_mut() {
            if p.as_ref().is_some_and(|p| p.cpu == self.id && p.at == at) {
                return p.take().map(|p| p.plan);
            }
        }
        drop(ps);
        if self.shared.preempt_prob > 0.0 {
            let mut rng = self.shared.rng.borrow_mut();
            let rng = rng.as_mut().expect("rng");
            if rng.gen_bool(self.shared.preempt_prob) {
                return Some(vec![TaskRef::Idle]);
            }
        }
        None
    }
    fn now(&self) -> u64 {
        self.shared.step.get()
    }
    fn jiffies(&self) -> u64 {
        match self.shared.steps_per_jiffy {
            0 => 0,
            n => self.shared.step.get() / n,
        }
    }
    fn trace(&self) -> &Trace {
        &self.trace
    }
}

type Co = Coroutine<Deliver, Yielded, ()>;

/// Runs `scripts` (one per CPU) on `k`.
pub fn run(k: Arc<Kernel>, scripts: Vec<Vec<Step>>, cfg: &StepConfig) -> StepResult {
    let n = k.ncpus();
    assert!(scripts.len() <= n, "more scripts than CPUs");
    let shared = Rc::new(Shared {
        marks: RefCell::new(Marks::new(&scripts, cfg.gates.clone())),
        rng: RefCell::new(Some(ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed_1a2f))),
        preempt_prob: cfg.preempt_prob,
        steps_per_jiffy: cfg.steps_per_jiffy,
        preempts: RefCell::new(cfg.preempts.iter().cloned().map(Some).collect()),
        idle: RefCell::new(vec![false; n]),
        quiesced: RefCell::new(vec![false; n]),
        applied: RefCell::new(vec![Vec::new(); n]),
        ..Default::default()
    });
    let mut sched_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut cos: Vec<Co> = (0..n)
        .map(|cpu| {
            let script = scripts.get(cpu).cloned().unwrap_or_default();
            let k = k.clone();
            let shared = shared.clone();
            Coroutine::new(move |y: &Yielder<Deliver, Yielded>, _first: Deliver| {
                let c = StepCpu {
                    id: cpu,
                    yielder: y,
                    shared: shared.clone(),
                    trace: Trace::default(),
                    in_nmi: Cell::new(false),
                };
                for st in &script {
                    match st {
                        Step::Op(op) => {
                            let ok = k.do_op(&c, op);
                            shared.applied.borrow_mut()[cpu].push(ok);
                            c.point(&k, "script:next");
                        }
                        Step::Mark(m) => shared.marks.borrow_mut().mark(m),
                        Step::Retry(op) => {
                            while !k.do_op(&c, op) {
                                c.wait(&k, "script:retry");
                            }
                            shared.applied.borrow_mut()[cpu].push(true);
                        }
                        Step::WaitMark(m) => {
                            while !shared.marks.borrow().is_set(m) {
                                c.wait(&k, "script:wait_mark");
                            }
                        }
                    }
                }
                loop {
                    if shared.stop.get() {
                        return;
                    }
                    if shared.quiesce.get() && !shared.quiesced.borrow()[cpu] {
                        shared.idle.borrow_mut()[cpu] = false;
                        k.quiesce_cpu(&c);
                        shared.quiesced.borrow_mut()[cpu] = true;
                    }
                    shared.idle.borrow_mut()[cpu] = true;
                    c.wait(&k, "idle");
                    shared.idle.borrow_mut()[cpu] = false;
                }
            })
        })
        .collect();

    let mut last: Vec<Option<&'static str>> = vec![None; n];
    let mut waiting = vec![false; n];
    let mut stall = 0u64;
    // Gates hold a CPU as long as that does not stall everyone else: when every other CPU has
    // only spun for a while (e.g. a sender waits in csd_lock_wait for the gated CPU), gates
    // are released.
    let mut gate_stall = 0u64;
    let mut steps = 0u64;
    let stop = loop {
        if steps >= cfg.max_steps {
            break Stop::StepBound;
        }
        // Phase transitions.
        let all_idle = shared.idle.borrow().iter().all(|&b| b);
        let pending = (0..n).any(|c| k.ipi_pending(c));
        if all_idle && !pending {
            if !shared.quiesce.get() {
                shared.quiesce.set(true);
                for b in shared.idle.borrow_mut().iter_mut() {
                    *b = false;
                }
                stall = 0;
            } else if shared.quiesced.borrow().iter().all(|&b| b) {
                break Stop::Completed;
            }
        }
        let gates_hold = gate_stall < 200 * n as u64;
        let held =
            |c: CpuId| gates_hold && last[c].is_some_and(|at| shared.marks.borrow().holds(c, at));
        let irq_ready = |c: CpuId| k.irqs_enabled(c) && k.cpu_online(c) && k.ipi_pending(c);
        // A CPU held at a gate still takes interrupts when its IRQs are on.
        let runnable: Vec<CpuId> = (0..n).filter(|&c| !held(c) || irq_ready(c)).collect();
        if runnable.is_empty() {
            break Stop::Deadlock;
        }
        let cpu = runnable[sched_rng.gen_range(0..runnable.len())];
        let deliver = if held(cpu) {
            Deliver::IpiHeld
        } else if irq_ready(cpu) {
            Deliver::Ipi
        } else if cfg.nmi_prob > 0.0 && k.cpu_online(cpu) && sched_rng.gen_bool(cfg.nmi_prob) {
            Deliver::Nmi
        } else {
            Deliver::Nothing
        };
        steps += 1;
        shared.step.set(steps);
        match cos[cpu].resume(deliver) {
            CoroutineResult::Yield(y) if y.again => {
                // Back at the gate after an interrupt: not a new arrival, but held there again
                // (a point inside the handler moved `last` away from the gate's point).
                last[cpu] = Some(y.at);
                waiting[cpu] = y.waiting;
            }
            CoroutineResult::Yield(y) => {
                last[cpu] = Some(y.at);
                shared.marks.borrow_mut().arrive(cpu, y.at);
                waiting[cpu] = y.waiting;
                if y.waiting {
                    gate_stall += 1;
                } else {
                    gate_stall = 0;
                }
            }
            CoroutineResult::Return(()) => unreachable!("CPU loops stop only on shared.stop"),
        }
        if waiting.iter().all(|&w| w) && deliver == Deliver::Nothing {
            stall += 1;
            let all_idle = shared.idle.borrow().iter().all(|&b| b);
            if stall > 2000 * n as u64 && !all_idle {
                break Stop::Deadlock;
            }
        } else {
            stall = 0;
        }
    };
    let boot = BootCpu::new(0);
    match stop {
        Stop::Completed => k.final_check(&boot),
        Stop::Deadlock => {
            let who: Vec<String> = (0..n)
                .filter(|&c| !shared.idle.borrow()[c])
                .map(|c| format!("cpu{c} at {}", last[c].unwrap_or("start")))
                .collect();
            k.oracle.report(
                ViolationKind::Deadlock,
                0,
                "step engine".into(),
                lazymm_model::MmRef::NULL,
                steps,
                format!("every CPU waits: {}", who.join(", ")),
            );
        }
        Stop::StepBound => {}
    }
    // Let every coroutine return so nothing is force-unwound.
    shared.stop.set(true);
    for (cpu, co) in cos.iter_mut().enumerate() {
        if shared.idle.borrow()[cpu] && !co.done() {
            let _ = co.resume(Deliver::Nothing);
        }
    }
    let applied = shared.applied.borrow().clone();
    StepResult {
        stop,
        steps,
        applied,
    }
}
