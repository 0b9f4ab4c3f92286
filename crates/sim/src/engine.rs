//! The sim engine: the kernel model's code on a simulated machine with virtual time.
//!
//! Every model CPU runs on a stackful coroutine, as in the step engine, and has its own
//! virtual clock. The CPU with the earliest clock runs next (ties by CPU number: a run is
//! deterministic for its inputs), until its next [`Cpu::point`]. Everything it does on the
//! way is charged to its clock by the [`crate::cost`] model:
//!
//! ```text
//!  Cpu::access(line, kind)  → coherence: local hit, or a transfer queued behind the line
//!  Cpu::charge(event)       → barrier, MMU switch, local/broadcast/hypervisor flush
//!                              (broadcasts queue behind each other machine-wide),
//!                              context-switch / wakeup / syscall base costs
//!  Cpu::kick(target)        → sender pays `ipi.send`; the target takes the interrupt at its
//!                              first IRQs-enabled point at or after send + `ipi.delivery`
//!                              (+ `ipi.handler`); a parked (idle) target wakes then, plus
//!                              the idle state's exit latency
//!  Cpu::resched(target)     → a polling idle target wakes after the line transfer and
//!                              `idle.poll_wake`, with no IPI
//!  Cpu::wait(on)            → the spinning CPU's clock moves to the next moment another
//!                              CPU can act (`csd_lock_wait`: the sender waits for completion)
//!  driver says Idle         → the CPU parks (idle loop) until a wakeup reaches it
//! ```
//! A run ends when the workload reached its context-switch count or virtual duration: the
//! figures are taken then; the CPUs finish their current op, then quiesce (the harness's
//! settling, not counted), and the oracle's final check runs. The oracle is on throughout.

use crate::cost::{Breakdown, Cat, Prices};
use crate::cpu::{CpuState, Deliver, Phase, Shared, SimCpu, Yielded, INLINE_POINTS};
use crate::Coherence;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use lazymm_engines::driver::{Driver, Next};
use lazymm_model::counters::CounterSnapshot;
use lazymm_model::ids::CpuId;
use lazymm_model::kernel::BootCpu;
use lazymm_model::machine::{Cpu, Trace};
use lazymm_model::oracle::ViolationKind;
use lazymm_model::Kernel;
use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::sync::Arc;

pub use crate::config::{SimConfig, SimOutcome, SimStop};

type Co = Coroutine<Deliver, Yielded, ()>;

/// A heap entry: (clock, CPU), earliest first, ties by CPU number. Clocks are finite and
/// non-negative, so the bit pattern of the f64 orders them as the numbers (one integer
/// compare instead of a float `total_cmp`: the heap is the engine's hottest structure).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u64, u32);

fn key_at(t: f64, cpu: CpuId) -> Key {
    debug_assert!(t >= 0.0 && t.is_finite());
    Key(t.to_bits(), cpu as u32)
}

impl Key {
    fn time(self) -> f64 {
        f64::from_bits(self.0)
    }
    fn cpu(self) -> CpuId {
        self.1 as usize
    }
}

/// Runs `driver` on `k` over the machine priced by `prices` and `coh`.
pub fn run(
    k: Arc<Kernel>,
    mut driver: Box<dyn Driver>,
    mut coh: Coherence,
    prices: Prices,
    cfg: &SimConfig,
) -> SimOutcome {
    let n = k.ncpus();
    coh.set_track_mixed(cfg.window_ns > 0.0);
    driver.setup(&k);
    // Boot (the idle tasks' init_mm references) and setup are not the workload.
    let base = k.counters.snapshot();
    let sh = Rc::new(Shared {
        cpus: (0..n).map(|_| CpuState::new()).collect(),
        coh: RefCell::new(coh),
        prices,
        wakes: RefCell::new(Vec::new()),
        bd: RefCell::new(Breakdown::default()),
        watch_points: driver.watches_points(),
        driver: RefCell::new(driver),
        phase: Cell::new(Phase::Run),
        horizon: Cell::new(0.0),
        window: cfg.window_ns,
        inline: Cell::new(INLINE_POINTS),
        switches: Cell::new(0),
        broadcast_busy: Cell::new(0.0),
        tl: (cfg.timeline.as_ref()).map(|o| RefCell::new(crate::timeline::Recorder::new(o, n))),
    });
    let mut cos: Vec<Co> = (0..n)
        .map(|cpu| spawn(k.clone(), sh.clone(), cpu))
        .collect();
    let mut heap: BinaryHeap<Reverse<Key>> = (0..n).map(|c| Reverse(key_at(0.0, c))).collect();
    let mut queued = vec![true; n];
    let mut synced = vec![false; n];
    // A CPU that yielded at a point and is still the earliest runs on without a trip through
    // the heap (the same choice the heap would make: ties go to the lower CPU number).
    let mut again: Option<CpuId> = None;
    // Consecutive spin-wait yields (any CPU): when everyone only spins, gates are released.
    let mut spin_streak = 0u64;
    let mut resumes = 0u64;
    let mut taken: Option<(f64, CounterSnapshot, Breakdown, u64)> = None;
    // (time, counters, breakdown, ops, switches) at the end of the warm-up.
    let mut warm: Option<(f64, CounterSnapshot, Breakdown, u64, u64)> = None;
    let stop = loop {
        for (t, at) in sh.wakes.borrow_mut().drain(..) {
            if let Some(since) = sh.cpus[t].parked.take() {
                let at = at.max(sh.cpus[t].clock.get());
                if sh.counting() {
                    let mut bd = sh.bd.borrow_mut();
                    let exit = sh.prices.idle_exit.min(at - since);
                    bd.add(Cat::Idle, at - since - exit);
                    bd.add(Cat::IdleExit, exit);
                }
                sh.cpus[t].clock.set(at);
                if !queued[t] {
                    queued[t] = true;
                    heap.push(Reverse(key_at(at, t)));
                }
            }
        }
        let next = match again.take() {
            Some(c)
                if heap
                    .peek()
                    .is_none_or(|Reverse(top)| key_at(sh.cpus[c].clock.get(), c) < *top) =>
            {
                Some(c)
            }
            Some(c) => {
                queued[c] = true;
                heap.push(Reverse(key_at(sh.cpus[c].clock.get(), c)));
                heap.pop().map(|Reverse(k)| k.cpu())
            }
            None => heap.pop().map(|Reverse(k)| k.cpu()),
        };
        let Some(cpu) = next else {
            match sh.phase.get() {
                Phase::Run | Phase::Drain => {
                    if taken.is_none() {
                        taken = Some(take(&k, &sh, max_clock(&sh)));
                    }
                    sh.phase.set(Phase::Quiesce);
                    wake_all(&sh, &mut heap, &mut queued);
                    continue;
                }
                Phase::Quiesce | Phase::Over => break SimStop::Completed,
            }
        };
        queued[cpu] = false;
        let now = sh.cpus[cpu].clock.get();
        if warm.is_none()
            && cfg
                .warmup_switches
                .is_none_or(|w| sh.switches.get() >= w && sh.driver.borrow().warmed_up())
        {
            let (t, c, b, o) = take(&k, &sh, if sh.switches.get() == 0 { 0.0 } else { now });
            warm = Some((t, c, b, o, sh.switches.get()));
        }
        if sh.phase.get() == Phase::Run
            && stop_due(
                cfg,
                now,
                warm.as_ref().map_or(0, |w| sh.switches.get() - w.4),
            )
        {
            taken = Some(take(&k, &sh, now));
            sh.phase.set(Phase::Drain);
            wake_all(&sh, &mut heap, &mut queued);
        }
        resumes += 1;
        if resumes >= cfg.max_resumes {
            break SimStop::ResumeBound;
        }
        let stop_at = match sh.phase.get() {
            Phase::Run => cfg.duration_ns.unwrap_or(f64::INFINITY),
            _ => f64::INFINITY,
        };
        sh.horizon.set(
            (heap.peek())
                .map_or(f64::INFINITY, |Reverse(k)| k.time())
                .min(stop_at),
        );
        let deliver = if !synced[cpu]
            && sh.cpus[cpu].ipi_at.get() <= now
            && k.irqs_enabled(cpu)
            && k.cpu_online(cpu)
            && k.ipi_pending(cpu)
        {
            sh.cpus[cpu].ipi_at.set(f64::INFINITY);
            Deliver::Ipi
        } else {
            Deliver::Nothing
        };
        let y = match cos[cpu].resume(deliver) {
            CoroutineResult::Yield(y) => y,
            CoroutineResult::Return(()) => continue,
        };
        let t = sh.cpus[cpu].clock.get();
        synced[cpu] = matches!(y, Yielded::Sync);
        if matches!(y, Yielded::Wait(_)) {
            spin_streak += 1;
            if spin_streak > 200 * n as u64 {
                sh.driver.borrow_mut().release_gates();
                spin_streak = 0;
            }
        } else {
            spin_streak = 0;
        }
        match y {
            Yielded::Point | Yielded::Sync => again = Some(requeue(&mut heap, &mut queued, t, cpu)),
            Yielded::Wait(on) => {
                // Spin until the next moment anything else can happen.
                let others = heap.peek().map(|Reverse(k)| k.time());
                let wake = sh.wakes.borrow().iter().map(|w| w.1).reduce(f64::min);
                let ipi = sh.cpus[cpu].ipi_at.get();
                let next = [others, wake, Some(ipi)]
                    .into_iter()
                    .flatten()
                    .filter(|x| x.is_finite())
                    .reduce(f64::min);
                let Some(next) = next else {
                    report_deadlock(&k, cpu, on, t);
                    break SimStop::Deadlock;
                };
                let new = (t + sh.prices.spin).max(next);
                let cat = if on == "csd_lock_wait" {
                    Cat::IpiWait
                } else {
                    Cat::Spin
                };
                sh.add(cpu, cat, new - t);
                again = Some(requeue(&mut heap, &mut queued, new, cpu));
            }
            Yielded::Park => {
                sh.cpus[cpu].parked.set(Some(t));
                if k.ipi_pending(cpu) {
                    let at = sh.cpus[cpu].ipi_at.get().max(t) + sh.prices.idle_exit;
                    sh.wakes.borrow_mut().push((cpu, at));
                }
            }
        }
    };
    let (end, counters, breakdown, ops) = taken.unwrap_or_else(|| take(&k, &sh, max_clock(&sh)));
    // A run that never finished its warm-up is measured from its start.
    let (t0, c0, b0, o0, _) = warm.unwrap_or((0.0, base, Breakdown::default(), 0, 0));
    let (virtual_ns, counters, breakdown, ops) =
        (end - t0, counters - c0, breakdown.minus(&b0), ops - o0);
    if stop == SimStop::Completed {
        k.final_check(&BootCpu::new(0));
    }
    sh.phase.set(Phase::Over);
    for (cpu, co) in cos.iter_mut().enumerate() {
        if sh.cpus[cpu].parked.get().is_some() && !co.done() {
            let _ = co.resume(Deliver::Nothing);
        }
    }
    // Coroutines stopped elsewhere (deadlock, bound) are dropped, which unwinds them.
    drop(cos);
    let lines = sh.coh.borrow().lines();
    let timeline = (sh.tl.as_ref()).map(|r| r.borrow_mut().take_timeline(end));
    SimOutcome {
        stop,
        virtual_ns,
        measured_from_ns: t0,
        counters,
        breakdown,
        ops,
        resumes,
        lines,
        timeline,
    }
}

fn spawn(k: Arc<Kernel>, sh: Rc<Shared>, cpu: CpuId) -> Co {
    Coroutine::new(move |y: &Yielder<Deliver, Yielded>, _first: Deliver| {
        let c = SimCpu {
            id: cpu,
            yielder: y,
            sh: sh.clone(),
            trace: Trace::default(),
        };
        loop {
            match sh.phase.get() {
                Phase::Run => {
                    let next = sh.driver.borrow_mut().next(&k, cpu);
                    match next {
                        Next::Op(op) => {
                            let ok = k.do_op(&c, &op);
                            sh.driver.borrow_mut().done_op(&k, cpu, &op, ok);
                            c.point(&k, "driver:next");
                        }
                        Next::Spin => c.wait(&k, "driver:spin"),
                        Next::Busy { until_ns, idle } => busy(&k, &c, until_ns as f64, idle),
                        Next::Idle | Next::Done => c.suspend(&k, Yielded::Park),
                    }
                }
                Phase::Drain => c.suspend(&k, Yielded::Park),
                Phase::Quiesce => {
                    if !sh.cpus[cpu].quiesced.replace(true) {
                        k.quiesce_cpu(&c);
                    }
                    c.suspend(&k, Yielded::Park);
                }
                Phase::Over => return,
            }
        }
    })
}

/// `cpu` yielded with its clock at `t`: the CPU that runs next. That is `cpu` itself while
/// it is still the earliest; otherwise the heap's top, which `cpu` replaces in one sift-down
/// (cheaper than a push and a pop: the heap is the engine's hottest structure).
fn requeue(heap: &mut BinaryHeap<Reverse<Key>>, queued: &mut [bool], t: f64, cpu: CpuId) -> CpuId {
    let key = key_at(t, cpu);
    match heap.peek_mut() {
        Some(mut top) if top.0 < key => {
            let next = top.0.cpu();
            *top = Reverse(key);
            queued[cpu] = true;
            queued[next] = false;
            next
        }
        _ => cpu,
    }
}

/// [`Next::Busy`]: advance `c` to `until`, in steps to the earliest moment another CPU may
/// act (a running CPU's clock, a busy one's end, a pending wakeup, an IPI due here; at least
/// `BUSY_SLICE_NS`), taking due IPIs at the point after each step. Busy and parked CPUs send
/// no IPI, so a machine of busy CPUs jumps from one busy end to the next.
fn busy(k: &Kernel, c: &SimCpu, until: f64, idle: bool) {
    let (sh, me) = (&c.sh, c.id);
    let cat = if idle { Cat::Idle } else { Cat::Work };
    sh.cpus[me].busy_until.set(until);
    while sh.phase.get() == Phase::Run && sh.cpus[me].clock.get() < until {
        let now = sh.cpus[me].clock.get();
        let others = (0..sh.cpus.len())
            .filter(|&j| j != me && sh.cpus[j].parked.get().is_none())
            .map(|j| sh.cpus[j].clock.get().max(sh.cpus[j].busy_until.get()))
            .chain(sh.wakes.borrow().iter().map(|w| w.1))
            .fold(f64::INFINITY, f64::min);
        let mut to = until.min(others.max(now + lazymm_engines::driver::BUSY_SLICE_NS));
        if sh.cpus[me].ipi_at.get() > now {
            to = to.min(sh.cpus[me].ipi_at.get());
        }
        sh.add(me, cat, to - now);
        c.point(k, "driver:busy");
    }
    sh.cpus[me].busy_until.set(0.0);
}

fn stop_due(cfg: &SimConfig, now: f64, switches: u64) -> bool {
    cfg.duration_ns.is_some_and(|d| now >= d) || cfg.switches.is_some_and(|s| switches >= s)
}

fn take(k: &Kernel, sh: &Shared, at: f64) -> (f64, CounterSnapshot, Breakdown, u64) {
    (
        at,
        k.counters.snapshot(),
        sh.bd.borrow().clone(),
        sh.driver.borrow().ops(),
    )
}

fn max_clock(sh: &Shared) -> f64 {
    sh.cpus.iter().map(|c| c.clock.get()).fold(0.0, f64::max)
}

fn wake_all(sh: &Shared, heap: &mut BinaryHeap<Reverse<Key>>, queued: &mut [bool]) {
    for (cpu, q) in queued.iter_mut().enumerate() {
        if sh.cpus[cpu].parked.take().is_some() && !*q {
            *q = true;
            heap.push(Reverse(key_at(sh.cpus[cpu].clock.get(), cpu)));
        }
    }
}

fn report_deadlock(k: &Kernel, cpu: CpuId, on: &str, t: f64) {
    k.oracle.report(
        ViolationKind::Deadlock,
        cpu,
        "sim engine".into(),
        lazymm_model::MmRef::NULL,
        t as u64,
        format!("cpu{cpu} spins on {on} and no other CPU can act"),
    );
}
