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
//! Every field another CPU touches is an atomic from `crate::sync`, so the same code runs on
//! the step engine (one CPU at a time) and on real threads.

use crate::arch::{Arch, Knobs, MaskPolicy};
use crate::counters::Counters;
use crate::ids::{CpuId, CpuSet, MmRef, TaskId, TaskRef};
use crate::machine::{Access, Cpu, Event, Line};
use crate::oracle::{Oracle, ViolationKind};
use crate::scheme::Scheme;
use crate::smp::Csd;
use crate::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering::*};
use crate::sync::{Mutex, PageTables};
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

/// One `mm_struct` slot (cache-line aligned: separate allocations in the kernel).
#[derive(Debug)]
#[repr(align(128))]
pub struct MmSlot {
    /// Generation: bumped when the mm is freed, so stale handles are detectable.
    pub gen: AtomicU32,
    /// Whether the slot holds a live mm.
    pub live: AtomicBool,
    /// `mm_users`.
    pub users: AtomicI64,
    /// `mm_count`, on its own cache line as in `struct mm_struct`.
    pub count: CachePadded<AtomicI64>,
    /// `mm_cpumask(mm)`.
    pub mask: Vec<AtomicU64>,
    /// Registered for membarrier PRIVATE_EXPEDITED.
    pub membarrier: AtomicBool,
    /// Static mm (init_mm, efi_mm, poking_mm): never freed.
    pub special: AtomicBool,
    /// The page-table memory, for the loom race detector.
    pub pgd: PageTables,
    /// x86 `mm->context.next_trim_cpumask` (jiffies), 6db2526c1d69.
    pub next_trim: AtomicU64,
}

/// Task states.
pub mod task_state {
    /// Slot unused.
    pub const UNUSED: u32 = 0;
    /// Runnable but not on a CPU: may be claimed by `schedule()`.
    pub const SLEEPING: u32 = 1;
    /// Claimed by / running on a CPU.
    pub const RUNNING: u32 = 2;
    /// Exited.
    pub const DEAD: u32 = 3;
    /// Slot claimed by `task_alloc`, not yet published.
    pub const ALLOC: u32 = 4;
    /// Blocked (`TASK_INTERRUPTIBLE`, e.g. in a pipe read): only `try_to_wake_up` makes it
    /// runnable again.
    pub const BLOCKED: u32 = 5;
    /// Being woken: `try_to_wake_up` owns it until it is queued (then `SLEEPING`).
    pub const WAKING: u32 = 6;
}

/// One `task_struct` (cache-line aligned: separate allocations in the kernel).
#[derive(Debug)]
#[repr(align(128))]
pub struct Task {
    /// See [`task_state`].
    pub state: AtomicU32,
    /// `PF_KTHREAD`.
    pub kthread: AtomicBool,
    /// Pinned to a CPU (idle tasks): `u32::MAX` if not.
    pub pinned: AtomicU32,
    /// `->mm`.
    pub mm: AtomicU64,
    /// `->active_mm`.
    pub active_mm: AtomicU64,
    /// `->on_cpu`.
    pub on_cpu: AtomicBool,
    /// Preempted inside `do_exit` after `exit_mm`: whichever CPU runs it next finishes the
    /// exit there (its final `schedule()`), so the dying task can migrate.
    pub exiting: AtomicBool,
}

impl Task {
    /// `READ_ONCE(tsk->mm)`. Relaxed: `->mm` is written only by the task itself (exit_mm,
    /// exec_mmap, `kthread_[un]use_mm`, with WRITE_ONCE); the remote readers (membarrier, the
    /// flush handlers running on the task's own CPU, the oracle) tolerate a stale value, and
    /// a task that migrates is ordered by the on_cpu release/acquire hand-off in sched.rs.
    pub fn mm(&self) -> MmRef {
        MmRef(self.mm.load(Relaxed))
    }
    /// `WRITE_ONCE(tsk->mm, mm)` (see [`Task::mm`] for the ordering).
    pub fn set_mm(&self, mm: MmRef) {
        self.mm.store(mm.0, Relaxed);
    }
    /// `tsk->active_mm`. Relaxed: only the CPU running the task reads or writes it (context
    /// switch, IPI handlers and NMIs on that CPU); migration is ordered by the on_cpu hand-off.
    pub fn active_mm(&self) -> MmRef {
        MmRef(self.active_mm.load(Relaxed))
    }
    /// Sets `tsk->active_mm` (see [`Task::active_mm`] for the ordering).
    pub fn set_active_mm(&self, mm: MmRef) {
        self.active_mm.store(mm.0, Relaxed);
    }
    /// `tsk->flags & PF_KTHREAD`. Relaxed: set at creation (published by the Release in
    /// `task_alloc`) and cleared only by the task itself in exec.
    pub fn is_kthread(&self) -> bool {
        self.kthread.load(Relaxed)
    }
    /// Sets or clears `PF_KTHREAD` (see [`Task::is_kthread`]).
    pub fn set_kthread(&self, k: bool) {
        self.kthread.store(k, Relaxed);
    }
    /// CPU the task is pinned to (`u32::MAX`: none). Relaxed: set at creation, or by the CPU
    /// that owns the task while it runs there (preemption, exit); claims re-check `state`
    /// with an Acquire CAS, which is what orders a hand-off.
    pub fn pinned(&self) -> u32 {
        self.pinned.load(Relaxed)
    }
    /// Replaces the pin, returning the old one (see [`Task::pinned`]).
    pub fn swap_pinned(&self, cpu: u32) -> u32 {
        self.pinned.swap(cpu, Relaxed)
    }
    /// The [`task_state`]. Relaxed for inspection; the claim (Acquire CAS in `schedule`) and
    /// the switch-out (Release store in `context_switch`) carry the ordering.
    pub fn state(&self) -> u32 {
        self.state.load(Relaxed)
    }
}

/// Per-CPU state: the rq fields of §1.3 and the arch TLB state of §1.4.
#[derive(Debug)]
#[repr(align(128))]
pub struct PerCpu {
    /// `rq->cpu` (`cpu_of(rq)`): this CPU's number, for the per-CPU lines a path reports
    /// when it already holds the `PerCpu` (see `Kernel::touch`).
    pub cpu: u32,
    /// `rq->curr`.
    pub curr: AtomicU32,
    /// The idle task of this CPU.
    pub idle: TaskId,
    /// `rq->prev_mm` (R, S, L, MD).
    pub prev_mm: AtomicU64,
    /// `rq->lazy_mm` (H): hazard pointer, written only by the owner.
    pub lazy_mm: AtomicU64,
    /// `rq->drop_mm` (H): one deferred mm_count reference handed over by a remote freer.
    pub drop_mm: AtomicU64,
    /// MD hazard slot (`hp_domain_sched_lazy_mm`).
    pub hp_slot: AtomicU64,
    /// `cpu_tlbstate.loaded_mm`: what the MMU really has loaded.
    pub loaded_mm: AtomicU64,
    /// `cpu_tlbstate_shared.is_lazy`.
    pub is_lazy: AtomicBool,
    /// In `cpu_online_mask`.
    pub online: AtomicBool,
    /// Reported dead (`cpuhp_report_idle_dead`), until brought back online.
    pub dead: AtomicBool,
    /// IRQ-disable nesting depth (0: IRQs enabled).
    pub irq_depth: AtomicU32,
    /// Preemption-disable depth from spinlocks held by model paths (khugepaged).
    pub preempt_depth: AtomicU32,
    /// Pending cross-CPU calls.
    pub csd: Mutex<VecDeque<Csd>>,
    /// Oracle: `rq->curr` stored and no full barrier since (membarrier, §4.6).
    pub mb_pending: std::sync::atomic::AtomicBool,
    /// Oracle: MMU switches of this CPU so far (a CPU that switched away and back since a
    /// flush began reloaded its page tables and re-read `tlb_gen`).
    pub switch_gen: std::sync::atomic::AtomicU64,
    /// Oracle: inside `unlazy_mm_irqs_off` between its `switch_mm_irqs_off` and its
    /// `current->active_mm = &init_mm` store — a window in which `current->active_mm` still
    /// names the old mm, which nothing follows (see [`PerCpu::replacing_active_mm`]).
    pub replacing_active: std::sync::atomic::AtomicBool,
    /// PREEMPT_RT deferred `__mmdrop`s (`call_rcu`), run at the next quiescent point.
    pub rcu_pending: Mutex<Vec<MmRef>>,
}

impl PerCpu {
    /// `cpu_tlbstate.loaded_mm`. Relaxed: written only by the owning CPU (switch_mm_irqs_off,
    /// hotplug); remote flushers read it as a hint and cover staleness with `freed_tables`
    /// IPIs, as arch/x86/mm/tlb.c does (§1.4).
    pub fn loaded_mm(&self) -> MmRef {
        MmRef(self.loaded_mm.load(Relaxed))
    }
    /// Sets `cpu_tlbstate.loaded_mm` (see [`PerCpu::loaded_mm`]).
    pub fn set_loaded_mm(&self, mm: MmRef) {
        self.loaded_mm.store(mm.0, Relaxed);
    }
    /// `cpu_tlbstate_shared.is_lazy`. Relaxed: written by the owner; remote flushers read it
    /// only to skip lazy CPUs for flushes that free no page tables, a hint whose staleness
    /// costs at most one IPI (tlb.c's `should_flush_tlb`).
    pub fn is_lazy(&self) -> bool {
        self.is_lazy.load(Relaxed)
    }
    /// Sets `is_lazy` (see [`PerCpu::is_lazy`]).
    pub fn set_is_lazy(&self, lazy: bool) {
        self.is_lazy.store(lazy, Relaxed);
    }
    /// Oracle only: note whether a full barrier is owed since the last `rq->curr` store.
    /// `std` Relaxed: shadow state, owner-CPU only, never part of the protocol.
    pub fn set_mb_pending(&self, pending: bool) {
        self.mb_pending
            .store(pending, std::sync::atomic::Ordering::Relaxed);
    }
    /// Oracle only: see [`PerCpu::set_mb_pending`].
    pub fn mb_pending(&self) -> bool {
        self.mb_pending.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Oracle: this CPU's MMU-switch generation. `std` Relaxed: shadow state, read by the
    /// page-table check as a hint (it only suppresses reports).
    pub fn switch_gen(&self) -> u64 {
        self.switch_gen.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Oracle: is this CPU inside `unlazy_mm_irqs_off`'s window, after its MMU left the old
    /// mm (x86 v5.16 also cleared its `mm_cpumask` bit there) and before `current->active_mm`
    /// is overwritten? Andy's patch 12 runs `switch_mm_irqs_off(mm, &init_mm)` and only then
    /// `current->active_mm = &init_mm`, with IRQs off and no use of `mm` in between, so a free
    /// in that window leaves a pointer that is never dereferenced (spec §1.7: the invariant is
    /// about an `active_mm` "that will be dereferenced later"). `std` Relaxed: shadow state,
    /// set and cleared by the owner; the freer reads it *before* `active_mm` (x86 TSO: a
    /// freer that saw the cleared mask bit sees the mark set, and one that sees it cleared
    /// again then sees the new `active_mm`).
    pub fn replacing_active_mm(&self) -> bool {
        self.replacing_active
            .load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Oracle only: see [`PerCpu::replacing_active_mm`].
    pub fn set_replacing_active_mm(&self, on: bool) {
        self.replacing_active
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Preemption-disable depth. Relaxed: only the owning CPU touches it.
    pub fn preempt_depth(&self) -> u32 {
        self.preempt_depth.load(Relaxed)
    }
}

/// The whole modelled kernel.
pub struct Kernel {
    /// Configuration.
    pub cfg: Config,
    /// The scheme.
    pub scheme: Box<dyn Scheme>,
    pub(crate) mms: Vec<MmSlot>,
    mm_free: Mutex<Vec<u32>>,
    /// mm_count pins held by the modelled driver (`SysOp::DriverPinPick`).
    pub(crate) driver_pins: Mutex<Vec<MmRef>>,
    mm_next: AtomicU32,
    pub(crate) tasks: Vec<Task>,
    task_next: AtomicU32,
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
                is_lazy: AtomicBool::new(false),
                online: AtomicBool::new(true),
                dead: AtomicBool::new(false),
                irq_depth: AtomicU32::new(0),
                preempt_depth: AtomicU32::new(0),
                csd: Mutex::new(VecDeque::new()),
                mb_pending: Default::default(),
                switch_gen: Default::default(),
                replacing_active: Default::default(),
                rcu_pending: Mutex::new(Vec::new()),
            })
            .collect();
        let mut k = Kernel {
            scheme,
            mms,
            mm_free: Mutex::new(Vec::new()),
            driver_pins: Mutex::new(Vec::new()),
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

    fn mm_alloc_special(&self) -> MmRef {
        let mm = self
            .mm_alloc(1, 1)
            .expect("mm table too small for static mms");
        // Relaxed: boot-time, published with the kernel.
        self.mms[mm.idx()].special.store(true, Relaxed);
        mm
    }

    /// Allocates an mm with the given `mm_users` and `mm_count` (`mm_alloc`).
    pub fn mm_alloc(&self, users: i64, count: i64) -> Option<MmRef> {
        let idx = match self.mm_free.lock().unwrap().pop() {
            Some(i) => i,
            None => {
                // Relaxed: a unique index is all we need; the slot is published by `live`.
                let i = self.mm_next.fetch_add(1, Relaxed);
                if i as usize >= self.mms.len() {
                    return None;
                }
                i
            }
        };
        let s = &self.mms[idx as usize];
        // Relaxed: initialisation of a slot nobody can reach yet; the Release store of `live`
        // below publishes all of it.
        s.users.store(users, Relaxed);
        s.count.store(count, Relaxed);
        for w in &s.mask {
            w.store(0, Relaxed);
        }
        s.membarrier.store(false, Relaxed);
        s.special.store(false, Relaxed);
        // mm_init: next_trim_cpumask = jiffies + HZ. The model's jiffies start at 0 and only
        // an engine with a clock advances them (Cpu::jiffies). Relaxed: initialisation,
        // published by the Release store of `live` below, like the fields above.
        s.next_trim
            .store(self.cfg.knobs.trim_interval.unwrap_or(u64::MAX), Relaxed);
        s.pgd.init();
        // Release: publishes the initialised fields to whoever receives the handle (fork's
        // publication of the new task->mm; pairs with the Acquire in `mm_live`).
        s.live.store(true, Release);
        let mm = MmRef::new(idx, s.gen.load(Relaxed));
        self.oracle.born(mm);
        Some(mm)
    }

    /// Returns the slot back to the allocator after `free_mm`.
    pub(crate) fn mm_release_slot(&self, mm: MmRef) {
        // The table lock stands for the RCU grace period / task_lock that keeps
        // `get_task_mm`-style lookups ([`Kernel::pick_mm_get`]) from racing with the free.
        let mut free = self.mm_free.lock().unwrap();
        let s = &self.mms[mm.idx()];
        // Relaxed: ordered before the Release generation bump below.
        s.live.store(false, Relaxed);
        // Release: the generation bump is what makes every outstanding handle stale.
        s.gen.fetch_add(1, Release);
        free.push(mm.idx() as u32);
    }

    /// A driver pins the `n`-th live mm with users, as a driver registering with a process:
    /// `get_task_mm` (an `mm_users` reference, under the table lock), `mmgrab`, `mmput`. The
    /// struct pin then outlives the process's users. (A bare "users > 0? then mmgrab" would
    /// race with the last `mmput`: the threads engine caught exactly that.)
    pub fn pick_mm_grab(&self, c: &dyn Cpu, n: u32) -> Option<MmRef> {
        let mm = self.pick_mm_get(n)?;
        // Holding mm_users implies the users' mm_count reference: grabbing is safe.
        self.mmgrab(c, mm);
        self.oracle.pin(mm, 1);
        // Outside the table lock: this mmput may run __mmput, which sends IPIs.
        self.mmput(c, mm);
        Some(mm)
    }

    /// `get_task_mm()` on the `n`-th (mod count) live mm that still has users: takes an
    /// `mm_users` reference under the table lock, so the mm cannot be freed and its slot
    /// reused between the choice and the `mmget_not_zero` (the kernel's task_lock/RCU).
    pub fn pick_mm_get(&self, n: u32) -> Option<MmRef> {
        let _free = self.mm_free.lock().unwrap();
        let live: Vec<_> = self
            .live_mms()
            .into_iter()
            .filter(|&m| self.mm_users(m) > 0)
            .collect();
        if live.is_empty() {
            return None;
        }
        let mm = live[n as usize % live.len()];
        self.mmget_not_zero(mm).then_some(mm)
    }

    /// Whether `mm` (non-NULL) still names a live mm. No report.
    pub fn mm_live(&self, mm: MmRef) -> bool {
        if mm.is_null() || mm.idx() >= self.mms.len() {
            return false;
        }
        let s = &self.mms[mm.idx()];
        // Acquire: pairs with the Release generation bump in `mm_release_slot`.
        s.gen.load(Acquire) == mm.gen() && s.live.load(Acquire)
    }

    /// KASAN check: a dereference of `mm` by `what` on `c`. Reports a use-after-free and
    /// returns false if the mm was freed.
    pub fn mm_deref(&self, c: &dyn Cpu, mm: MmRef, what: &str) -> bool {
        if mm.is_null() {
            self.warn(c, mm, &format!("NULL mm dereference in {what}"));
            return false;
        }
        if self.mm_live(mm) {
            return true;
        }
        let freed = self
            .oracle
            .shadow(mm)
            .and_then(|s| s.freed)
            .map(|f| format!(" (freed on cpu{} by {} at step {})", f.cpu, f.via, f.step))
            .unwrap_or_default();
        self.violation(
            c,
            ViolationKind::UseAfterFree,
            mm,
            format!("{what} dereferences a freed mm{freed}"),
        );
        false
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

    /// Claims a task slot: a never-used one, or a reaped one (DEAD and off every CPU: the
    /// final `put_task_struct`).
    fn task_claim(&self) -> Option<TaskId> {
        // Relaxed: a unique index is all we need; the task is published by `task_publish`.
        let i = self.task_next.fetch_add(1, Relaxed) as usize;
        if i < self.tasks.len() {
            return Some(TaskId(i as u32));
        }
        self.task_next.store(self.tasks.len() as u32, Relaxed);
        (self.ncpus()..self.tasks.len()).find_map(|i| {
            let t = &self.tasks[i];
            // Acquire: pairs with finish_task's release of on_cpu on the CPU that ran the
            // dead task last; its last uses of the slot happen-before our reuse.
            if t.state() != task_state::DEAD || t.on_cpu.load(Acquire) {
                return None;
            }
            // Relaxed CAS: the Acquire above already ordered the reuse; the CAS only makes
            // the claim exclusive.
            t.state
                .compare_exchange(task_state::DEAD, task_state::ALLOC, Relaxed, Relaxed)
                .ok()
                .map(|_| TaskId(i as u32))
        })
    }

    /// Fills a claimed slot and makes it runnable.
    fn task_publish(&self, id: TaskId, kthread: bool, mm: MmRef) {
        let t = self.task(id);
        t.set_kthread(kthread);
        t.set_mm(mm);
        t.set_active_mm(if kthread { MmRef::NULL } else { mm });
        t.swap_pinned(u32::MAX);
        // Release: publishes the task to `schedule()`'s claim (Acquire CAS in sched.rs).
        t.state.store(task_state::SLEEPING, Release);
    }

    /// Gives back slots claimed for a creation that could not complete.
    fn task_unclaim(&self, ids: &[TaskId]) {
        for &id in ids {
            // Relaxed: the slot was never published.
            self.task(id).state.store(task_state::DEAD, Relaxed);
        }
    }

    /// Creates a user process with `threads` threads sharing a new mm (`fork` + `clone(CLONE_VM)`):
    /// each thread holds one `mm_users`, all users together hold one `mm_count` (§1.1).
    /// Returns None (creating nothing) when the task or mm table is full.
    pub fn create_process(&self, threads: usize) -> Option<(MmRef, Vec<TaskId>)> {
        let mut ts = Vec::with_capacity(threads);
        for _ in 0..threads {
            match self.task_claim() {
                Some(t) => ts.push(t),
                None => {
                    self.task_unclaim(&ts);
                    return None;
                }
            }
        }
        let Some(mm) = self.mm_alloc(threads as i64, 1) else {
            self.task_unclaim(&ts);
            return None;
        };
        for &t in &ts {
            self.task_publish(t, false, mm);
        }
        Some((mm, ts))
    }

    /// Adds a thread to an existing process (`clone(CLONE_VM)`: `mmget`).
    pub fn clone_thread(&self, mm: MmRef) -> Option<TaskId> {
        let t = self.task_claim()?;
        if !self.mmget_not_zero(mm) {
            self.task_unclaim(&[t]);
            return None;
        }
        self.task_publish(t, false, mm);
        Some(t)
    }

    /// Creates a kernel thread.
    pub fn create_kthread(&self) -> Option<TaskId> {
        let t = self.task_claim()?;
        self.task_publish(t, true, MmRef::NULL);
        Some(t)
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

    /// Number of allocated task slots.
    pub fn ntasks(&self) -> usize {
        (self.task_next.load(Relaxed) as usize).min(self.tasks.len())
    }

    // ---- per-CPU arch and IRQ helpers ----------------------------------------------------

    /// `local_irq_disable()` (nesting like `local_irq_save`).
    pub fn local_irq_disable(&self, c: &dyn Cpu) {
        // Relaxed: the IRQ state is CPU-local; the engine that delivers interrupts reads it
        // from the same CPU's context (step engine: single-threaded scheduler).
        self.cpus[c.id()].irq_depth.fetch_add(1, Relaxed);
    }

    /// `local_irq_enable()`; a point where pending IPIs may be taken.
    pub fn local_irq_enable(&self, c: &dyn Cpu) {
        let d = self.cpus[c.id()].irq_depth.fetch_sub(1, Relaxed);
        debug_assert!(d > 0, "unbalanced local_irq_enable");
        if d == 1 {
            c.point(self, "local_irq_enable");
        }
    }

    /// Whether IRQs are enabled on `cpu`.
    pub fn irqs_enabled(&self, cpu: CpuId) -> bool {
        self.cpus[cpu].irq_depth.load(Relaxed) == 0
    }

    /// Whether `cpu` is online.
    pub fn cpu_online(&self, cpu: CpuId) -> bool {
        self.cpus[cpu].online.load(Acquire)
    }

    /// `smp_mb()` added by the lazy-mm scheme: counted as a scheme barrier, and clears the
    /// membarrier obligation of this CPU.
    pub fn smp_mb(&self, c: &dyn Cpu) {
        // SeqCst fence: the kernel's smp_mb(); each caller names its pair.
        crate::sync::atomic::fence(SeqCst);
        self.ev(c, Event::SchemeBarrier);
        self.full_barrier_done(c);
    }

    /// `smp_mb()` the common path issues whatever the scheme: counted as a path barrier.
    pub fn smp_mb_path(&self, c: &dyn Cpu) {
        // SeqCst fence: the kernel's smp_mb(); each caller names its pair.
        crate::sync::atomic::fence(SeqCst);
        self.ev(c, Event::PathBarrier);
        self.full_barrier_done(c);
    }

    /// Notes a full barrier that is not an explicit smp_mb (fully ordered RMW, CR3 write).
    pub fn full_barrier_done(&self, c: &dyn Cpu) {
        self.cpus[c.id()].set_mb_pending(false);
    }

    /// The mask policy in force (profile, possibly overridden by a knob).
    pub fn mask_policy(&self) -> MaskPolicy {
        match self.cfg.arch.mask {
            MaskPolicy::X86Lazy | MaskPolicy::X86ClearOnSwitch => self.cfg.knobs.x86_mask,
            p => p,
        }
    }

    /// Snapshot of `mm_cpumask(mm)`, read by `c` (one load per cache line of the mask).
    pub fn mm_cpumask(&self, c: &dyn Cpu, mm: MmRef) -> CpuSet {
        for l in 0..self.cfg.ncpus.div_ceil(512) {
            touch!(
                self,
                c,
                Line::MmMask(mm.idx() as u32, l as u32),
                Access::Load
            );
        }
        self.mm_cpumask_snapshot(mm)
    }

    /// Snapshot of `mm_cpumask(mm)` for inspection (oracle, tests): no access is reported.
    pub fn mm_cpumask_snapshot(&self, mm: MmRef) -> CpuSet {
        let mut s = CpuSet::with_cpus(self.cfg.ncpus);
        for (i, w) in self.slot(mm).mask.iter().enumerate() {
            // A racy snapshot, as cpumask iteration in the kernel: Relaxed, the ordering that
            // makes it sufficient being each scheme's (see shootdown.rs "Why the read is
            // stable") — except on x86, where every load is an acquire (TSO) and H-x86's scan
            // relies on it to pair with the lock-prefixed clear of `mask_clear`.
            let v = w.load(self.mask_load_order());
            for b in 0..64 {
                if v & (1 << b) != 0 && i * 64 + b < self.cfg.ncpus {
                    s.insert(i * 64 + b);
                }
            }
        }
        s
    }

    /// The ordering of a `mm_cpumask` bitop: `set_bit`/`clear_bit` are unordered in the LKMM
    /// (Relaxed), but on x86 they are `lock`-prefixed, i.e. full barriers (AcqRel here).
    fn mask_rmw_order(&self) -> crate::sync::atomic::Ordering {
        if self.cfg.arch.loaded_mm_separate {
            AcqRel
        } else {
            Relaxed
        }
    }

    /// The ordering of a `mm_cpumask` read: plain (Relaxed), an acquire on x86 (TSO).
    fn mask_load_order(&self) -> crate::sync::atomic::Ordering {
        if self.cfg.arch.loaded_mm_separate {
            Acquire
        } else {
            Relaxed
        }
    }

    /// The cache line of `mm_cpumask(mm)` that holds `cpu`'s bit.
    fn mask_line(mm: MmRef, cpu: CpuId) -> Line {
        Line::MmMask(mm.idx() as u32, (cpu / 512) as u32)
    }

    /// `cpumask_set_cpu(cpu, mm_cpumask(mm))` by `c`.
    pub fn mask_set(&self, c: &dyn Cpu, mm: MmRef, cpu: CpuId) {
        if self.mask_policy() == MaskPolicy::None {
            return;
        }
        touch!(self, c, Self::mask_line(mm, cpu), Access::Rmw);
        // Relaxed (x86: AcqRel, a lock-prefixed bitop; see mask_rmw_order): x86
        // switch_mm_irqs_off relies on the RMW as its barrier before reading tlb_gen (§4.9);
        // the model counts the explicit smp_mb of 83b0177a6c48 where the RMW is skipped.
        self.slot(mm).mask[cpu / 64].fetch_or(1 << (cpu % 64), self.mask_rmw_order());
    }

    /// `cpumask_clear_cpu(cpu, mm_cpumask(mm))` by `c`.
    pub fn mask_clear(&self, c: &dyn Cpu, mm: MmRef, cpu: CpuId) {
        touch!(self, c, Self::mask_line(mm, cpu), Access::Rmw);
        // Relaxed, x86 AcqRel (see mask_rmw_order). On x86 the release half pairs with the
        // acquire (TSO) loads of `mm_cpumask`: H-x86's scan that finds the bit clear also sees
        // the switch away from the mm that preceded the clear (switch_mm_irqs_off, A22).
        self.slot(mm).mask[cpu / 64].fetch_and(!(1 << (cpu % 64)), self.mask_rmw_order());
    }

    /// Whether `cpu` is in `mm_cpumask(mm)` (`cpumask_test_cpu` by `c`).
    pub fn mask_test(&self, c: &dyn Cpu, mm: MmRef, cpu: CpuId) -> bool {
        touch!(self, c, Self::mask_line(mm, cpu), Access::Load);
        self.in_mm_cpumask(mm, cpu)
    }

    /// Whether `cpu` is in `mm_cpumask(mm)`, for inspection (no access reported).
    pub fn in_mm_cpumask(&self, mm: MmRef, cpu: CpuId) -> bool {
        // Relaxed (x86: Acquire, TSO): see mask_load_order.
        self.slot(mm).mask[cpu / 64].load(self.mask_load_order()) & (1 << (cpu % 64)) != 0
    }

    /// All live non-static mms.
    pub fn live_mms(&self) -> Vec<MmRef> {
        let n = (self.mm_next.load(Relaxed) as usize).min(self.mms.len());
        (0..n)
            .filter_map(|i| {
                let s = &self.mms[i];
                // Acquire on `live` pairs with mm_alloc's Release; `special` and `gen` were
                // initialised before it (Relaxed reads of published fields).
                (s.live.load(Acquire) && !s.special.load(Relaxed))
                    .then(|| MmRef::new(i as u32, s.gen.load(Relaxed)))
            })
            .collect()
    }

    /// `mm_users` of a live mm (0 if freed).
    pub fn mm_users(&self, mm: MmRef) -> i64 {
        if self.mm_live(mm) {
            // atomic_read(): Relaxed, a snapshot for WARNs, picks and reports.
            self.slot(mm).users.load(Relaxed)
        } else {
            0
        }
    }

    /// `mm_count` of a live mm (0 if freed).
    pub fn mm_count(&self, mm: MmRef) -> i64 {
        if self.mm_live(mm) {
            // atomic_read(): Relaxed, a snapshot for reports.
            self.slot(mm).count.load(Relaxed)
        } else {
            0
        }
    }
}
