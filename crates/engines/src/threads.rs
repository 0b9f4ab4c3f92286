//! The threads engine: every model CPU is an OS thread running the kernel model's code.
//!
//! ```text
//!  cpu thread i:  loop { op = workload(i); Kernel::do_op(op) }      (kernel code, real atomics)
//!                 every Cpu::point / Cpu::wait:
//!                   NMI line set, not in an NMI?  → Kernel::nmi_entry  (any IRQ state; one
//!                                                   raised meanwhile stays latched, taken after)
//!                   IRQs on and IPI line set?     → Kernel::irq_entry  (drains the csd queue)
//!                   wait: spin a little, then yield (more model CPUs than host cores)
//!  Cpu::kick(t):  raise t's IPI line (Release; the csd was queued before)
//!  NMI injector:  raises random CPUs' NMI lines at a fixed rate
//!  stop:          finish the current op → service IPIs until every CPU is idle and no call is
//!                 pending → quiesce (unlazy) → service again → the oracle's final check
//! ```
//! The shared words are the model's atomics with the kernel's orderings (see each field's
//! accessor in `lazymm_model::kernel`); the engine adds only the interrupt lines. A sender of
//! a synchronous IPI spins in `csd_lock_wait` with its own IRQs on, as the kernel requires.
//!
//! Fidelity: this exercises real hardware interleavings and the host's memory model, but
//! proves nothing; the loom models check orderings exhaustively at toy scale.
//!
//! A CPU that has waited longer than the watchdog reports a deadlock (with its call chain),
//! then every CPU thread unwinds and the run ends.

mod nmi;

use crossbeam_utils::CachePadded;
use lazymm_model::ids::{CpuId, TaskId, TaskRef};
use lazymm_model::kernel::BootCpu;
use lazymm_model::machine::{Cpu, Trace};
use lazymm_model::oracle::ViolationKind;
use lazymm_model::{Kernel, MmRef, SysOp};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Threads engine configuration.
#[derive(Clone, Debug)]
pub struct ThreadsConfig {
    /// How long the workload runs.
    pub duration: Duration,
    /// Stop earlier after this many ops per CPU (None: run for `duration`).
    pub max_ops_per_cpu: Option<u64>,
    /// Seed of every per-CPU RNG (workload, preemption, jitter) and of the NMI injector.
    pub seed: u64,
    /// NMIs per second, over all CPUs (0: none).
    pub nmi_per_sec: f64,
    /// Probability of preempting at a preemptible point.
    pub preempt_prob: f64,
    /// Probability of yielding the host CPU at a point (widens race windows, like a
    /// preempted vCPU).
    pub jitter: f64,
    /// Probability, per point, that the model CPU's host thread is descheduled for
    /// `vcpu_preempt_for` (a preempted vCPU, §7 #21): race windows then span many ops of
    /// the other CPUs.
    pub vcpu_preempt: f64,
    /// How long a preempted vCPU sleeps.
    pub vcpu_preempt_for: Duration,
    /// A CPU waiting this long reports a deadlock.
    pub watchdog: Duration,
}

impl Default for ThreadsConfig {
    fn default() -> Self {
        ThreadsConfig {
            duration: Duration::from_secs(1),
            max_ops_per_cpu: None,
            seed: 0,
            nmi_per_sec: 2000.0,
            preempt_prob: 0.01,
            jitter: 0.01,
            vcpu_preempt: 1e-4,
            vcpu_preempt_for: Duration::from_micros(200),
            watchdog: Duration::from_secs(20),
        }
    }
}

/// How a threads run ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ThreadsStop {
    /// Ran for its duration, quiesced, checked.
    Completed,
    /// A CPU waited past the watchdog.
    Deadlock,
}

/// Result of a threads run.
#[derive(Clone, Debug)]
pub struct ThreadsResult {
    /// How it ended.
    pub stop: ThreadsStop,
    /// Ops attempted, over all CPUs.
    pub ops: u64,
    /// Ops that applied (their preconditions held).
    pub applied: u64,
    /// Wall time of the workload phase.
    pub elapsed: Duration,
    /// NMIs delivered.
    pub nmis: u64,
}

/// Marker payload used to unwind CPU threads after a deadlock report.
struct Abort;

struct Shared {
    // One cache line per CPU: every point polls its own lines, and the lines of two CPUs
    // must not share a line (the hot-path benchmark would measure that false sharing).
    ipi_line: Vec<CachePadded<AtomicBool>>,
    nmi_line: Vec<nmi::NmiLine>,
    stop: AtomicBool,
    abort: AtomicBool,
    idle1: AtomicUsize,
    idle2: AtomicUsize,
    start: Instant,
    nmis: AtomicU64,
}

struct ThreadCpu<'a> {
    id: CpuId,
    sh: &'a Shared,
    trace: Trace,
    in_nmi: Cell<bool>,
    rng: RefCell<SmallRng>,
    cfg: &'a ThreadsConfig,
    waiting_since: Cell<Option<Instant>>,
    spins: Cell<u32>,
}

impl ThreadCpu<'_> {
    /// The interrupt-entry check every point performs.
    fn poll(&self, k: &Kernel) {
        if self.sh.abort.load(Ordering::Relaxed) {
            std::panic::panic_any(Abort);
        }
        // An NMI is taken in any IRQ state; one raised while the handler runs stays latched
        // and is taken after it returns (nmi.rs: the line's Acquire swap pairs with the
        // injector's Release in `NmiLine::raise`).
        let taken = self.sh.nmi_line[self.id].service(&self.in_nmi, || k.nmi_entry(self));
        if taken > 0 {
            // Relaxed: a statistic, read after the threads are joined.
            self.sh.nmis.fetch_add(taken, Ordering::Relaxed);
        }
        // Acquire: pairs with the Release in `kick`, which follows the csd enqueue, so the
        // drain in irq_entry finds the call.
        // Relaxed peek, then the Acquire swap that pairs with `kick`'s Release.
        let ipi = &self.sh.ipi_line[self.id];
        if k.irqs_enabled(self.id)
            && !self.in_nmi.get()
            && ipi.load(Ordering::Relaxed)
            && ipi.swap(false, Ordering::Acquire)
        {
            k.irq_entry(self);
        }
    }
}

impl Cpu for ThreadCpu<'_> {
    fn id(&self) -> CpuId {
        self.id
    }
    fn point(&self, k: &Kernel, _at: &'static str) {
        self.waiting_since.set(None);
        self.poll(k);
        if self.cfg.jitter > 0.0 || self.cfg.vcpu_preempt > 0.0 {
            let mut rng = self.rng.borrow_mut();
            if self.cfg.vcpu_preempt > 0.0 && rng.gen_bool(self.cfg.vcpu_preempt) {
                std::thread::sleep(self.cfg.vcpu_preempt_for);
            } else if self.cfg.jitter > 0.0 && rng.gen_bool(self.cfg.jitter) {
                std::thread::yield_now();
            }
        }
    }
    fn wait(&self, k: &Kernel, on: &'static str) {
        self.poll(k);
        let now = Instant::now();
        match self.waiting_since.get() {
            None => self.waiting_since.set(Some(now)),
            Some(t0) if now.duration_since(t0) > self.cfg.watchdog => {
                k.oracle.report(
                    ViolationKind::Deadlock,
                    self.id,
                    self.trace.path(),
                    MmRef::NULL,
                    self.now(),
                    format!("waited {:?} on {on}", self.cfg.watchdog),
                );
                // Relaxed: a control flag every CPU polls; nothing is published with it.
                self.sh.abort.store(true, Ordering::Relaxed);
                std::panic::panic_any(Abort);
            }
            Some(_) => {}
        }
        // Spin briefly, then give the host CPU away: with more model CPUs than cores the
        // CPU we wait for may need ours (a preempted vCPU).
        let s = self.spins.get().wrapping_add(1);
        self.spins.set(s);
        if s.is_multiple_of(16) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
    fn kick(&self, target: CpuId) {
        // Release: the csd was queued before; pairs with the Acquire swap in `poll`.
        self.sh.ipi_line[target].store(true, Ordering::Release);
    }
    fn preempt(&self, _at: &'static str) -> Option<Vec<TaskRef>> {
        if self.in_nmi.get() || self.cfg.preempt_prob <= 0.0 {
            return None;
        }
        self.rng
            .borrow_mut()
            .gen_bool(self.cfg.preempt_prob)
            .then(|| vec![TaskRef::Idle])
    }
    fn now(&self) -> u64 {
        self.sh.start.elapsed().as_nanos() as u64
    }
    fn trace(&self) -> &Trace {
        &self.trace
    }
}

impl Shared {
    fn new(n: usize) -> Shared {
        Shared {
            ipi_line: (0..n)
                .map(|_| CachePadded::new(AtomicBool::new(false)))
                .collect(),
            nmi_line: (0..n).map(|_| nmi::NmiLine::new()).collect(),
            stop: AtomicBool::new(false),
            abort: AtomicBool::new(false),
            idle1: AtomicUsize::new(0),
            idle2: AtomicUsize::new(0),
            start: Instant::now(),
            nmis: AtomicU64::new(0),
        }
    }
}

impl<'a> ThreadCpu<'a> {
    fn new(id: CpuId, sh: &'a Shared, cfg: &'a ThreadsConfig) -> ThreadCpu<'a> {
        ThreadCpu {
            id,
            sh,
            trace: Trace::default(),
            in_nmi: Cell::new(false),
            rng: RefCell::new(SmallRng::seed_from_u64(
                cfg.seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            )),
            cfg,
            waiting_since: Cell::new(None),
            spins: Cell::new(0),
        }
    }
}

/// The hot-path driver of `benches/hot_path.rs`: model CPU `i` runs `iters` round trips
/// `tasks[i]` → idle → `tasks[i]` (the thread→idle→thread switching of will-it-scale's
/// `context_switch1_threads`, §7 #2), all CPUs started together. Returns the slowest CPU's
/// time. No NMIs, preemption or jitter: this measures the scheme's own cost.
pub fn round_trips(k: &Kernel, tasks: &[TaskId], iters: u64) -> Duration {
    let n = tasks.len();
    assert!(n <= k.ncpus(), "one task per model CPU");
    let cfg = ThreadsConfig {
        nmi_per_sec: 0.0,
        preempt_prob: 0.0,
        jitter: 0.0,
        vcpu_preempt: 0.0,
        ..ThreadsConfig::default()
    };
    let sh = Shared::new(k.ncpus());
    let start = std::sync::Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = tasks
            .iter()
            .enumerate()
            .map(|(cpu, &t)| {
                let (sh, cfg, start) = (&sh, &cfg, &start);
                s.spawn(move || {
                    let c = ThreadCpu::new(cpu, sh, cfg);
                    start.wait();
                    let t0 = Instant::now();
                    for _ in 0..iters {
                        k.schedule(&c, TaskRef::Task(t));
                        k.schedule(&c, TaskRef::Idle);
                    }
                    t0.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("round-trip thread"))
            .max()
            .unwrap_or_default()
    })
}

/// Runs `workload(cpu, rng)` on every CPU of `k` as OS threads.
pub fn run<W>(k: &Kernel, cfg: &ThreadsConfig, workload: W) -> ThreadsResult
where
    W: Fn(CpuId, &mut SmallRng) -> SysOp + Sync,
{
    let n = k.ncpus();
    let sh = Shared::new(n);
    let ops = AtomicU64::new(0);
    let applied = AtomicU64::new(0);
    // Acquire: pairs with each CPU's AcqRel increment below (it sends no IPI after it); the
    // line loads pair with `kick`'s Release.
    let settled = |counter: &AtomicUsize| {
        counter.load(Ordering::Acquire) == n
            && (0..n).all(|c| !k.ipi_pending(c) && !sh.ipi_line[c].load(Ordering::Acquire))
    };
    let mut elapsed = Duration::ZERO;
    std::thread::scope(|s| {
        for cpu in 0..n {
            let (sh, workload, ops, applied, settled) = (&sh, &workload, &ops, &applied, &settled);
            s.spawn(move || {
                let c = ThreadCpu::new(cpu, sh, cfg);
                let body = || {
                    let mut mine = 0u64;
                    // Relaxed: `stop` is a control flag; the counters are statistics read
                    // after the scope joins the threads (the join orders them).
                    while !sh.stop.load(Ordering::Relaxed)
                        && cfg.max_ops_per_cpu.is_none_or(|m| mine < m)
                    {
                        let op = workload(cpu, &mut c.rng.borrow_mut());
                        if k.do_op(&c, &op) {
                            applied.fetch_add(1, Ordering::Relaxed);
                        }
                        mine += 1;
                        c.point(k, "script:next");
                    }
                    ops.fetch_add(mine, Ordering::Relaxed);
                    // Phase 1: every CPU idle, no call pending. AcqRel: the count publishes
                    // that this CPU sends no more IPIs.
                    sh.idle1.fetch_add(1, Ordering::AcqRel);
                    while !settled(&sh.idle1) {
                        c.wait(k, "idle");
                    }
                    k.quiesce_cpu(&c);
                    // AcqRel: as idle1 above.
                    sh.idle2.fetch_add(1, Ordering::AcqRel);
                    while !settled(&sh.idle2) {
                        c.wait(k, "idle");
                    }
                };
                if let Err(e) = catch_unwind(AssertUnwindSafe(body)) {
                    if e.downcast_ref::<Abort>().is_none() {
                        // Relaxed: control flag (see `wait`).
                        sh.abort.store(true, Ordering::Relaxed);
                        std::panic::resume_unwind(e);
                    }
                }
            });
        }
        // NMI injector.
        s.spawn(|| {
            if cfg.nmi_per_sec <= 0.0 {
                return;
            }
            let mut rng = SmallRng::seed_from_u64(cfg.seed ^ 0x4e4d_4921);
            let gap = Duration::from_secs_f64(1.0 / cfg.nmi_per_sec);
            // Relaxed: control flags.
            while !sh.stop.load(Ordering::Relaxed) && !sh.abort.load(Ordering::Relaxed) {
                std::thread::sleep(gap);
                let cpu = rng.gen_range(0..n);
                sh.nmi_line[cpu].raise();
            }
        });
        let t0 = Instant::now();
        // Relaxed: control flags and a progress hint; the scope's joins order everything.
        while t0.elapsed() < cfg.duration
            && !sh.abort.load(Ordering::Relaxed)
            && sh.idle1.load(Ordering::Relaxed) < n
        {
            std::thread::sleep(Duration::from_millis(5).min(cfg.duration));
        }
        elapsed = t0.elapsed();
        sh.stop.store(true, Ordering::Relaxed);
    });
    // Relaxed: after the scope joined every thread.
    let aborted = sh.abort.load(Ordering::Relaxed);
    if !aborted {
        k.final_check(&BootCpu::new(0));
    }
    ThreadsResult {
        stop: if aborted {
            ThreadsStop::Deadlock
        } else {
            ThreadsStop::Completed
        },
        ops: ops.load(Ordering::Relaxed),
        applied: applied.load(Ordering::Relaxed),
        elapsed,
        nmis: sh.nmis.load(Ordering::Relaxed),
    }
}
