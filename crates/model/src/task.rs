//! `task_struct` (spec §1.2): the fields the lazy-mm paths read and write, and task
//! creation — `fork`'s slot claim and publication, `clone(CLONE_VM)`, kernel threads.

use crate::ids::{MmRef, TaskId};
use crate::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::*};
use crate::Kernel;

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
    /// Preempted inside `do_exit` after `exit_mm`'s lazy switch: whichever CPU runs it next
    /// finishes the exit there (its final `schedule()`), so the dying task can migrate.
    pub exiting: AtomicBool,
    /// With `exiting`: the mm `exit_mm` had yet to `mmput` when the task was preempted
    /// (0: none). Relaxed: written and read by whichever CPU runs the task, published by the
    /// state/on_cpu hand-off, as `exiting` is.
    pub exit_mmput: AtomicU64,
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

impl Kernel {
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
    /// Returns None (creating nothing) when the task or mm table is full. Set-up time
    /// (jiffies 0); [`Kernel::create_process_at`] for a fork while a workload runs.
    pub fn create_process(&self, threads: usize) -> Option<(MmRef, Vec<TaskId>)> {
        self.create_process_at(threads, 0)
    }

    /// [`Kernel::create_process`] at `jiffies` (the mm's `next_trim_cpumask` starts there).
    pub fn create_process_at(&self, threads: usize, jiffies: u64) -> Option<(MmRef, Vec<TaskId>)> {
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
        let Some(mm) = self.mm_alloc(threads as i64, 1, jiffies) else {
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

    /// Number of allocated task slots.
    pub fn ntasks(&self) -> usize {
        (self.task_next.load(Relaxed) as usize).min(self.tasks.len())
    }
}
