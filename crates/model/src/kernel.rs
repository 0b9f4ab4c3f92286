//! The kernel state (spec §1) and its primitive accessors.
//!
//! ```text
//!  Kernel ── mms[]   : MmSlot  { gen, mm_users, mm_count, mm_cpumask, membarrier }   §1.1
//!         ── tasks[] : Task    { mm, active_mm, kthread, on_cpu, state }            §1.2
//!         ── cpus[]  : PerCpu  { rq: curr, prev_mm, lazy_mm, drop_mm, hp slot        §1.3
//!                                arch: loaded_mm, is_lazy                            §1.4
//!                                irq depth, csd queue, online }
//!         ── scheme  : one of schemes/*  (the only place scheme logic lives)
//!         ── oracle, counters (observation only)
//! ```
//! The types live in their own files (`mm_slot.rs`, `task.rs`, `percpu.rs`; `mm_cpumask`
//! operations in `cpumask.rs`) and are re-exported here.
//!
//! Every field another CPU touches is an atomic from `crate::sync`, so the same code runs on
//! the step engine (one CPU at a time) and on real threads.

use crate::arch::{Arch, Knobs};
use crate::counters::Counters;
use crate::ids::{CpuId, MmRef, TaskId, TaskRef};
use crate::machine::{Access, Cpu, Event, Line};
use crate::oracle::{Oracle, ViolationKind};
use crate::scheme::Scheme;
use crate::sync::atomic::{AtomicBool, AtomicI64, AtomicU16, AtomicU32, AtomicU64, Ordering::*};

pub use crate::mm_slot::MmSlot;
pub use crate::percpu::PerCpu;
use crate::sync::{Mutex, PageTables};
pub use crate::task::{task_state, Task};
use crossbeam_utils::CachePadded;
use std::collections::VecDeque;

/// Run configuration of a kernel instance.
#[derive(Clone, Debug)]
pub struct Config {
    /// Number of (possible) CPUs.
    pub ncpus: usize,
    /// Architecture profile.
    pub arch: Arch,
    /// Era knobs.
    pub knobs: Knobs,
    /// Capacity of the mm table.
    pub max_mms: usize,
    /// Capacity of the task table.
    pub max_tasks: usize,
    /// Label stamped on violations (scenario or workload name).
    pub label: String,
    /// The scheduler's topology (SMT, LLC) and idle loop, for wakeup placement.
    pub topo: crate::wake::SchedTopo,
}

/// The whole modelled kernel.
pub struct Kernel {
    /// Configuration.
    pub cfg: Config,
    /// The scheme.
    pub scheme: Box<dyn Scheme>,
    pub(crate) mms: Vec<MmSlot>,
    pub(crate) mm_free: Mutex<Vec<u32>>,
    /// mm_count pins held by the modelled driver (`SysOp::DriverPinPick`).
    pub(crate) driver_pins: Mutex<Vec<MmRef>>,
    /// The root memcg's MGLRU mm list, in fifo order (lru_gen.rs; only with
    /// `Knobs::lru_gen_walks_mmu`).
    pub(crate) lru_gen_fifo: Mutex<Vec<MmRef>>,
    /// x86 global ASIDs under `global_asid_lock` (INVLPGB; `crate::global_asid`).
    pub(crate) global_asids: Mutex<crate::global_asid::GlobalAsids>,
    pub(crate) mm_next: AtomicU32,
    pub(crate) tasks: Vec<Task>,
    pub(crate) task_next: AtomicU32,
    pub(crate) cpus: Vec<PerCpu>,
    /// Counters.
    pub counters: Counters,
    /// Oracle.
    pub oracle: Oracle,
    /// `&init_mm`.
    pub init_mm: MmRef,
    /// `&efi_mm`.
    pub efi_mm: MmRef,
    /// `poking_mm` (text_poke).
    pub poking_mm: MmRef,
    /// The engine's end-of-run quiesce has begun (see [`Kernel::begin_quiesce`]).
    pub(crate) quiescing: std::sync::atomic::AtomicBool,
    /// Runqueues, affinities and pipes (wake.rs).
    pub(crate) wake: crate::wake::WakeState,
    /// Whether the engine prices shared accesses ([`Kernel::with_access_hooks`]).
    access_hooks: bool,
}

/// A context for boot-time setup: no interleaving, no interrupts.
pub struct BootCpu {
    cpu: CpuId,
    trace: crate::machine::Trace,
}

impl BootCpu {
    /// Setup context for `cpu`.
    pub fn new(cpu: CpuId) -> BootCpu {
        BootCpu {
            cpu,
            trace: Default::default(),
        }
    }
}

impl Cpu for BootCpu {
    fn id(&self) -> CpuId {
        self.cpu
    }
    fn point(&self, _: &Kernel, _: &'static str) {}
    fn wait(&self, _: &Kernel, on: &'static str) {
        panic!("boot context cannot wait on {on}")
    }
    fn kick(&self, _: CpuId) {}
    fn now(&self) -> u64 {
        0
    }
    fn trace(&self) -> &crate::machine::Trace {
        &self.trace
    }
}

impl Kernel {
    /// Boots a kernel: `init_mm`, `efi_mm`, `poking_mm`, one idle task per CPU running lazily on
    /// `init_mm` (`sched_init`: `mmgrab_lazy_tlb(&init_mm); enter_lazy_tlb(&init_mm, current)`).
    pub fn boot(cfg: Config, scheme: Box<dyn Scheme>) -> Kernel {
        let words = cfg.ncpus.div_ceil(64).max(1);
        let mms = (0..cfg.max_mms)
            .map(|_| MmSlot {
                gen: AtomicU32::new(1),
                live: AtomicBool::new(false),
                users: AtomicI64::new(0),
                count: CachePadded::new(AtomicI64::new(0)),
                mask: (0..words).map(|_| AtomicU64::new(0)).collect(),
                membarrier: AtomicBool::new(false),
                special: AtomicBool::new(false),
                pgd: PageTables::default(),
                next_trim: AtomicU64::new(0),
                tlb_gen: AtomicU64::new(0),
                global_asid: AtomicU16::new(0),
                asid_transition: AtomicBool::new(false),
            })
            .collect();
        let tasks = (0..cfg.max_tasks + cfg.ncpus)
            .map(|_| Task {
                state: AtomicU32::new(task_state::UNUSED),
                kthread: AtomicBool::new(false),
                pinned: AtomicU32::new(u32::MAX),
                mm: AtomicU64::new(0),
                active_mm: AtomicU64::new(0),
                on_cpu: AtomicBool::new(false),
                exiting: AtomicBool::new(false),
                exit_mmput: AtomicU64::new(0),
            })
            .collect();
        let cpus = (0..cfg.ncpus)
            .map(|i| PerCpu {
                cpu: i as u32,
                curr: AtomicU32::new(i as u32),
                idle: TaskId(i as u32),
                prev_mm: AtomicU64::new(0),
                lazy_mm: AtomicU64::new(0),
                drop_mm: AtomicU64::new(0),
                hp_slot: AtomicU64::new(0),
                loaded_mm: AtomicU64::new(0),
                tlb_gen: AtomicU64::new(0),
                loaded_asid: AtomicU16::new(0),
                switching: AtomicBool::new(false),
                ppc_trim_clock: AtomicU32::new(0),
                is_lazy: AtomicBool::new(false),
                online: AtomicBool::new(true),
                dead: AtomicBool::new(false),
                irq_depth: AtomicU32::new(0),
                preempt_depth: AtomicU32::new(0),
                csd: Mutex::new(VecDeque::new()),
                mb_pending: Default::default(),
                switch_gen: Default::default(),
                replacing_active: Default::default(),
                leaving: Default::default(),
                rcu_pending: Mutex::new(Vec::new()),
            })
            .collect();
        let mut k = Kernel {
            scheme,
            mms,
            mm_free: Mutex::new(Vec::new()),
            driver_pins: Mutex::new(Vec::new()),
            lru_gen_fifo: Mutex::new(Vec::new()),
            global_asids: Mutex::new(Default::default()),
            mm_next: AtomicU32::new(0),
            tasks,
            task_next: AtomicU32::new(cfg.ncpus as u32),
            cpus,
            counters: Counters::new(cfg.ncpus),
            oracle: Oracle::default(),
            init_mm: MmRef::NULL,
            efi_mm: MmRef::NULL,
            poking_mm: MmRef::NULL,
            quiescing: Default::default(),
            // One wakeup record per task slot (idle tasks included).
            wake: crate::wake::WakeState::new(cfg.ncpus, cfg.max_tasks + cfg.ncpus),
            access_hooks: false,
            cfg,
        };
        k.oracle
            .set_labels(&k.cfg.label, &k.scheme.name(), k.cfg.arch.id.name());
        k.init_mm = k.mm_alloc_special();
        k.efi_mm = k.mm_alloc_special();
        k.poking_mm = k.mm_alloc_special();
        for cpu in 0..k.cfg.ncpus {
            let t = &k.tasks[cpu];
            // Relaxed (boot, single-threaded): Kernel::boot returns the kernel by value, and
            // whoever shares it (Arc, thread spawn) publishes these initial stores.
            t.state.store(task_state::RUNNING, Relaxed);
            t.set_kthread(true);
            t.pinned.store(cpu as u32, Relaxed);
            t.on_cpu.store(true, Relaxed);
            t.set_active_mm(k.init_mm);
            k.cpus[cpu].set_loaded_mm(k.init_mm);
            let c = BootCpu::new(cpu);
            k.scheme
                .mmgrab_lazy_tlb(&k, &c, k.init_mm, crate::scheme::Site::Boot);
        }
        k
    }

    /// Reports a violation of `kind` found on `c`, naming its CPU, path and step.
    pub fn violation(&self, c: &dyn Cpu, kind: ViolationKind, mm: MmRef, detail: String) {
        self.oracle
            .report(kind, c.id(), c.trace().path(), mm, c.now(), detail);
    }

    /// Reports a kernel WARN/BUG the model reproduces.
    pub fn warn(&self, c: &dyn Cpu, mm: MmRef, what: &str) {
        self.violation(c, ViolationKind::KernelWarn, mm, what.to_string());
    }

    /// Counts an event and reports it to the engine's cost hook — unless the end-of-run
    /// quiesce has begun (the harness's settling is not the workload's cost).
    pub fn ev(&self, c: &dyn Cpu, e: Event) {
        if self.counters.frozen() {
            return;
        }
        self.counters.bump(c.id(), e);
        c.charge(e);
    }

    /// Reports an access to a shared cache line to the engine's cost hook ([`Cpu::access`]).
    /// Only the `touch!` and `touch_this_cpu!` macros call it, after testing
    /// [`Kernel::access_hooks`]: engines without a cost model (threads, step, loom) leave the
    /// hooks off and pay that test per access — provided the call sites keep it at that. The
    /// call is cold and never inlined, but it is a call: a value that only the report needs
    /// after the path's own calls (the CPU id, `c`) must survive it, and LLVM keeps such a
    /// value in a callee-saved register that the hook-off path then saves and restores too.
    /// Hence, on paths the threads engine runs:
    ///
    /// - a line of the running CPU that is reported before the path looks its CPU up uses
    ///   `touch_this_cpu!`, which evaluates to `c.id()`;
    /// - a path that holds the CPU's [`PerCpu`] names the line from its `cpu` field
    ///   (`Line::RqLazy(rq.cpu)`), not from an id kept alive for the report;
    /// - `Scheme::mmdrop_lazy_tlb`, which the default `finish_task_switch` calls, is
    ///   `#[inline(always)]` in every scheme, so a report in it cannot change whether it is
    ///   inlined (it did for MD).
    ///
    /// Measured: instructions per user → idle → user round trip on the threads engine,
    /// hooks built in (off) against `--features no-access-hooks`, under callgrind
    /// (`crates/engines/examples/round_trips.rs`; the README's "Hook cost" has the command):
    /// R +1.19%, S +1.12%, S-ppc +0.97%, L +1.14%, H +1.43%, H-x86 +1.44%, MD +1.36%
    /// (issue 7 allows 2%; before these rules H was at +2.81%, MD +2.72%).
    #[cold]
    #[inline(never)]
    pub(crate) fn touch(&self, c: &dyn Cpu, line: Line, kind: Access) {
        #[cfg(not(feature = "no-access-hooks"))]
        c.access(line, kind);
        #[cfg(feature = "no-access-hooks")]
        let _ = (c, line, kind);
    }

    /// `touch_this_cpu!`: [`Kernel::touch`] of `line(c.id())`; returns `c.id()`.
    #[cold]
    #[inline(never)]
    pub(crate) fn touch_this_cpu(&self, c: &dyn Cpu, line: fn(u32) -> Line, kind: Access) -> CpuId {
        let me = c.id();
        self.touch(c, line(me as u32), kind);
        me
    }

    /// Whether accesses are reported ([`Kernel::with_access_hooks`]).
    #[inline(always)]
    pub fn access_hooks(&self) -> bool {
        !cfg!(feature = "no-access-hooks") && self.access_hooks
    }

    /// Turns on [`Cpu::access`] reports (an engine with a coherence model, before it runs).
    pub fn with_access_hooks(mut self) -> Kernel {
        self.access_hooks = true;
        self
    }

    /// The mm slot behind a handle (callers have checked liveness or accept racing).
    pub(crate) fn slot(&self, mm: MmRef) -> &MmSlot {
        &self.mms[mm.idx()]
    }

    /// Per-CPU state.
    pub fn cpu(&self, cpu: CpuId) -> &PerCpu {
        &self.cpus[cpu]
    }

    /// Task state.
    pub fn task(&self, t: TaskId) -> &Task {
        &self.tasks[t.0 as usize]
    }

    /// Number of CPUs.
    pub fn ncpus(&self) -> usize {
        self.cfg.ncpus
    }

    /// `current` on CPU `cpu`.
    pub fn curr(&self, cpu: CpuId) -> TaskId {
        // Relaxed: rq->curr is read by its owner or, remotely, only as a hint (membarrier reads
        // it under RCU; the model's remote readers do not dereference the task).
        TaskId(self.cpus[cpu].curr.load(Relaxed))
    }

    /// Resolves a script's task reference on `cpu`.
    pub fn resolve(&self, cpu: CpuId, t: TaskRef) -> TaskId {
        match t {
            TaskRef::Idle => self.cpus[cpu].idle,
            TaskRef::Task(id) => id,
        }
    }

    /// Registers `mm` for membarrier PRIVATE_EXPEDITED.
    pub fn membarrier_register(&self, mm: MmRef) {
        // Relaxed: registration happens before the process's tasks run (membarrier's own
        // registration path uses synchronize_rcu/IPIs, outside this model).
        self.slot(mm).membarrier.store(true, Relaxed);
    }

    /// Whether `mm` is registered for membarrier (`rq->membarrier_state` snapshot).
    pub fn mm_membarrier_registered(&self, mm: MmRef) -> bool {
        // Relaxed: see membarrier_register.
        self.slot(mm).membarrier.load(Relaxed)
    }

    /// `smp_mb()` added by the lazy-mm scheme: counted as a scheme barrier, and clears the
    /// membarrier obligation of this CPU.
    pub fn smp_mb(&self, c: &dyn Cpu) {
        // SeqCst fence: the kernel's smp_mb(); each caller names its pair.
        crate::sync::mb();
        self.ev(c, Event::SchemeBarrier);
        self.full_barrier_done(c);
    }

    /// `smp_mb()` the common path issues whatever the scheme: counted as a path barrier.
    pub fn smp_mb_path(&self, c: &dyn Cpu) {
        // SeqCst fence: the kernel's smp_mb(); each caller names its pair.
        crate::sync::mb();
        self.ev(c, Event::PathBarrier);
        self.full_barrier_done(c);
    }

    /// An `smp_mb()` the common path issues for kernel state the model leaves out, so that
    /// its pair is outside the model too (mm_cid's): counted and priced as a path barrier, and
    /// no host fence, since no model access pairs with it. It is still a full barrier in the
    /// kernel, so the oracle's membarrier obligation is discharged by it as by any other.
    pub fn smp_mb_path_unmodelled_pair(&self, c: &dyn Cpu) {
        self.ev(c, Event::PathBarrier);
        self.full_barrier_done(c);
    }

    /// Notes a full barrier that is not an explicit smp_mb (fully ordered RMW, CR3 write).
    pub fn full_barrier_done(&self, c: &dyn Cpu) {
        self.cpus[c.id()].set_mb_pending(false);
    }
}
