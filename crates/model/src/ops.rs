//! Kernel entry points a workload can ask a CPU to perform (system calls, interrupts, hotplug,
//! driver actions), and the quiesce/final checks of the oracle.
//!
//! An op whose precondition does not hold on the current state (exit from a kthread, a task
//! already running elsewhere, …) is skipped and reported as not applied, so random workloads
//! can be generated without knowing the interleaving.

use crate::arch::ArchId;
use crate::ids::{CpuId, MmRef, TaskRef};
use crate::kernel::task_state;
use crate::machine::Cpu;
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

/// One kernel entry point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SysOp {
    /// `schedule()` to a task.
    Switch(TaskRef),
    /// `schedule()` to the `n`-th claimable task (mod their number), for random workloads.
    SwitchPick(u32),
    /// The current user task exits, then schedules to `then`.
    Exit {
        /// Task to run after the exit.
        then: TaskRef,
    },
    /// The current task (user, or a kthread via `kernel_execve`) execs a fresh mm.
    Exec,
    /// The current kthread calls `kthread_use_mm(mm)`.
    KthreadUseMm(MmRef),
    /// The current kthread calls `kthread_unuse_mm()`.
    KthreadUnuseMm,
    /// vhost-style worker on the current kthread: `mmget_not_zero` on the `n`-th live mm, use,
    /// unuse, `mmput`.
    KthreadWorkPick(u32),
    /// A worker that will sleep while it uses the mm: `get_task_mm` on the `n`-th live mm and
    /// `kthread_use_mm` — the kthread keeps `current->mm` across later context switches
    /// until [`SysOp::KthreadWorkEnd`] on whatever CPU it then runs.
    KthreadWorkBegin(u32),
    /// The current kthread ends a [`SysOp::KthreadWorkBegin`]: `kthread_unuse_mm`, then
    /// `mmput` of the worker's `mm_users` reference.
    KthreadWorkEnd,
    /// An outsider takes `mm_users` (`/proc/pid/mem`: `mmget_not_zero`).
    MmGet(MmRef),
    /// The outsider drops it (`mmput`, possibly running `__mmput` here).
    MmPut(MmRef),
    /// A driver pins the struct (`mmgrab`).
    MmGrab(MmRef),
    /// The driver drops its pin (`mmdrop`, possibly the final one).
    MmDrop(MmRef),
    /// khugepaged `collect_mm_slot()`: `mmdrop` under a spinlock (preemption off).
    MmDropLocked(MmRef),
    /// A driver registers with the `n`-th live process: `mmgrab` (mm_count only), kept in the
    /// driver's list until its deferred work runs.
    DriverPinPick(u32),
    /// The driver's deferred work on the current kthread, for the `n`-th pinned mm:
    /// `kthread_use_mm`, `kthread_unuse_mm`, `mmdrop` — often after the process has exited,
    /// which is §7 #8 in a random workload.
    DriverWork(u32),
    /// `/proc` reader on the `n`-th live mm: `mmget_not_zero`, read, `mmput`.
    ProcMemPick(u32),
    /// The current user task unmaps memory and flushes (munmap: freed tables; DONTNEED: not).
    Munmap {
        /// Page tables were freed.
        freed_tables: bool,
    },
    /// The current user task spawns a new single-threaded process (fork + exec of a fresh mm).
    Fork,
    /// The current user task creates another thread of its process.
    CloneThread,
    /// A new kernel thread appears (`kthread_create`; kthreads that exec become user tasks,
    /// so long random workloads need new ones).
    SpawnKthread,
    /// A new process with `threads` threads appears (forked from outside the model, e.g.
    /// init), so long random workloads never run out of user tasks.
    Spawn {
        /// Threads of the new process.
        threads: u32,
    },
    /// `text_poke()` on this CPU.
    TextPoke,
    /// An EFI runtime call on this CPU.
    EfiCall,
    /// A perf NMI on this CPU, now.
    Nmi,
    /// cpuidle with `CPUIDLE_FLAG_TLB_FLUSHED` (x86 `leave_mm`), when the current task is idle.
    IdleLeaveMm,
    /// This CPU goes offline (must be running its idle task), and waits to be brought back.
    CpuOffline,
    /// A whole offline/online cycle of this CPU, the control CPU's `finish_cpu` and online
    /// steps performed on its behalf once this CPU is dead (random workloads use this so that
    /// no CPU stays offline forever).
    CpuOfflineCycle,
    /// `finish_cpu(cpu)` on this (control) CPU.
    FinishCpu(CpuId),
    /// Bring `cpu` back online from this (control) CPU.
    CpuOnline(CpuId),
    /// `membarrier(PRIVATE_EXPEDITED)` from the current user task (if its mm is registered).
    Membarrier,
    /// `membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)` from the current user task.
    MembarrierRegister,
    /// Spin a few points (let other CPUs run).
    Idle(u32),
    /// `write()` of one byte to a pipe by the current user task (wakes its reader, WF_SYNC).
    PipeWrite(u32),
    /// `read()` of one byte from a pipe by the current user task; blocks (switching to the
    /// next queued task or idle) when the pipe is empty. Not applied when it blocked.
    PipeRead {
        /// The pipe.
        pipe: u32,
        /// The task re-runs a read that blocked (the same syscall, not a new one).
        resumed: bool,
    },
    /// `schedule()` to the head of this CPU's runqueue (the idle loop after a wakeup).
    ScheduleNext,
}

impl Kernel {
    /// Performs `op` on `c`. Returns whether it applied.
    pub fn do_op(&self, c: &dyn Cpu, op: &SysOp) -> bool {
        self.rcu_do_batch(c);
        let cpu = c.id();
        let cur = self.task(self.curr(cpu));
        let is_user = !cur.is_kthread() && !cur.mm().is_null();
        match op {
            SysOp::Switch(t) => self.schedule(c, *t),
            SysOp::SwitchPick(n) => {
                let cands: Vec<_> = (0..self.ntasks())
                    .filter(|&i| {
                        let t = &self.tasks[i];
                        t.state() == task_state::SLEEPING && t.pinned() == u32::MAX
                    })
                    .collect();
                if cands.is_empty() {
                    return self.schedule(c, TaskRef::Idle);
                }
                let pick = cands[*n as usize % cands.len()];
                self.schedule(c, TaskRef::Task(crate::ids::TaskId(pick as u32)))
            }
            SysOp::Exit { then } => self.do_exit(c, *then),
            SysOp::Exec => {
                // A user task, or a kthread not using an mm (kernel_execve); a kthread inside
                // kthread_use_mm may not exec.
                let kthread_ok = cur.is_kthread() && cur.mm().is_null();
                if self.curr(cpu) == self.cpu(cpu).idle || !(is_user || kthread_ok) {
                    return false;
                }
                self.exec_mmap(c).is_some()
            }
            SysOp::KthreadUseMm(mm) => self.kthread_use_mm(c, *mm),
            SysOp::KthreadUnuseMm => self.kthread_unuse_mm(c),
            SysOp::KthreadWorkPick(n) => {
                if !self.on_worker_kthread(cpu) {
                    return false;
                }
                let Some(mm) = self.pick_mm_get(*n) else {
                    return false;
                };
                let _t = c.trace().enter("vhost_worker");
                self.kthread_work_in(c, mm);
                self.mmput(c, mm);
                true
            }
            SysOp::KthreadWorkBegin(n) => {
                if !self.on_worker_kthread(cpu) || !cur.mm().is_null() {
                    return false;
                }
                let Some(mm) = self.pick_mm_get(*n) else {
                    return false;
                };
                let _t = c.trace().enter("vhost_worker");
                if self.kthread_use_mm(c, mm) {
                    true
                } else {
                    self.mmput(c, mm);
                    false
                }
            }
            SysOp::KthreadWorkEnd => {
                let mm = cur.mm();
                if !self.on_worker_kthread(cpu) || mm.is_null() {
                    return false;
                }
                let _t = c.trace().enter("vhost_worker");
                self.kthread_unuse_mm(c);
                self.mmput(c, mm);
                true
            }
            SysOp::DriverPinPick(n) => {
                let Some(mm) = self.pick_mm_grab(c, *n) else {
                    return false;
                };
                self.driver_pins.lock().unwrap().push(mm);
                true
            }
            SysOp::DriverWork(n) => {
                if !self.on_worker_kthread(cpu) {
                    return false;
                }
                let mm = {
                    let mut pins = self.driver_pins.lock().unwrap();
                    if pins.is_empty() {
                        return false;
                    }
                    let i = *n as usize % pins.len();
                    pins.swap_remove(i)
                };
                let _t = c.trace().enter("driver_work");
                self.kthread_work_in(c, mm);
                self.driver_release(c, mm);
                true
            }
            SysOp::MmGet(mm) => {
                let ok = self.mmget_not_zero(*mm);
                if ok {
                    self.oracle.pin(*mm, 1);
                }
                ok
            }
            SysOp::MmPut(mm) => {
                let _t = c.trace().enter("mem_release");
                self.oracle.pin(*mm, -1);
                self.mmput(c, *mm);
                true
            }
            SysOp::MmGrab(mm) => {
                self.oracle.pin(*mm, 1);
                self.mmgrab(c, *mm);
                true
            }
            SysOp::MmDrop(mm) => {
                let _t = c.trace().enter("driver_mmdrop");
                self.oracle.pin(*mm, -1);
                self.mmdrop(c, *mm);
                true
            }
            SysOp::MmDropLocked(mm) => {
                let _t = c.trace().enter("collect_mm_slot");
                self.oracle.pin(*mm, -1);
                // spin_lock(&khugepaged_mm_lock): preemption off (IRQs stay on) — except on
                // PREEMPT_RT, where spinlock_t is a sleeping rt_mutex and preemption stays on.
                let atomic = !self.cfg.knobs.preempt_rt;
                if atomic {
                    // Relaxed: preempt_count is owner-CPU-private.
                    self.cpu(cpu).preempt_depth.fetch_add(1, Relaxed);
                }
                self.mmdrop(c, *mm);
                if atomic {
                    self.cpu(cpu).preempt_depth.fetch_sub(1, Relaxed);
                }
                true
            }
            SysOp::ProcMemPick(n) => {
                let Some(mm) = self.pick_mm_get(*n) else {
                    return false;
                };
                let _t = c.trace().enter("mem_rw");
                c.point(self, "mem_rw:access_remote_vm");
                self.mmput(c, mm);
                true
            }
            SysOp::Munmap { freed_tables } => {
                if !is_user {
                    return false;
                }
                let mm = cur.mm();
                let _t = c.trace().enter("munmap");
                self.tlb_finish_mmu(c, mm, *freed_tables, false);
                true
            }
            SysOp::Fork => {
                if !is_user {
                    return false;
                }
                // copy_process: lru_gen_add_mm(p->mm) for a new process (not CLONE_VM).
                let Some((mm, _)) = self.create_process_at(1, c.jiffies()) else {
                    return false;
                };
                self.lru_gen_add_mm(c, mm);
                true
            }
            SysOp::CloneThread => {
                if !is_user {
                    return false;
                }
                self.clone_thread(cur.mm()).is_some()
            }
            SysOp::SpawnKthread => self.create_kthread().is_some(),
            SysOp::Spawn { threads } => {
                let Some((mm, _)) = self.create_process_at((*threads).max(1) as usize, c.jiffies())
                else {
                    return false;
                };
                // A new process, as a fork: lru_gen_add_mm(p->mm).
                self.lru_gen_add_mm(c, mm);
                true
            }
            SysOp::TextPoke => self.text_poke(c),
            SysOp::EfiCall => self.efi_call(c),
            SysOp::Nmi => {
                self.nmi_entry(c);
                true
            }
            SysOp::IdleLeaveMm => {
                // cpuidle's leave_mm() (CPUIDLE_FLAG_TLB_FLUSHED, intel_idle, Xen) is x86 only.
                if self.curr(cpu) != self.cpu(cpu).idle || self.cfg.arch.id != ArchId::X86 {
                    return false;
                }
                self.cpuidle_leave_mm(c);
                true
            }
            SysOp::CpuOffline => self.cpu_offline_ap(c, false),
            SysOp::CpuOfflineCycle => self.cpu_offline_ap(c, true),
            SysOp::FinishCpu(t) => self.finish_cpu(c, *t),
            SysOp::CpuOnline(t) => self.cpu_online_bp(c, *t),
            SysOp::Membarrier => is_user && self.membarrier_private_expedited(c),
            SysOp::MembarrierRegister => {
                if !is_user {
                    return false;
                }
                self.membarrier_register_private_expedited(c)
            }
            SysOp::PipeWrite(p) => is_user && self.pipe_write(c, *p),
            SysOp::PipeRead { pipe, resumed } => is_user && self.pipe_read(c, *pipe, *resumed),
            SysOp::ScheduleNext => self.schedule_next(c),
            SysOp::Idle(n) => {
                for _ in 0..*n {
                    c.point(self, "idle");
                }
                true
            }
        }
    }

    /// Whether `cpu` runs a kernel thread other than its idle task.
    fn on_worker_kthread(&self, cpu: CpuId) -> bool {
        let cur = self.curr(cpu);
        self.task(cur).is_kthread() && cur != self.cpu(cpu).idle
    }

    /// `kthread_use_mm(mm)`, some work in it, `kthread_unuse_mm()`.
    fn kthread_work_in(&self, c: &dyn Cpu, mm: MmRef) {
        if self.kthread_use_mm(c, mm) {
            c.point(self, "kthread_work:using");
            self.kthread_unuse_mm(c);
        }
    }

    /// The driver drops its pin.
    fn driver_release(&self, c: &dyn Cpu, mm: MmRef) {
        let _d = c.trace().enter("driver_mmdrop");
        self.oracle.pin(mm, -1);
        self.mmdrop(c, mm);
    }

    /// Quiesce step for `c`: run deferred frees, drop the driver pins nobody used (module
    /// unload, on CPU 0) and, if the current task is a kernel thread, unlazy (so that every
    /// scheme's liveness obligation is due).
    pub fn quiesce_cpu(&self, c: &dyn Cpu) {
        self.begin_quiesce();
        let _t = c.trace().enter("quiesce");
        self.rcu_do_batch(c);
        if c.id() == 0 {
            let pins = std::mem::take(&mut *self.driver_pins.lock().unwrap());
            for mm in pins {
                self.driver_release(c, mm);
            }
        }
        let cpu = c.id();
        if !self.cpu_online(cpu) {
            return;
        }
        // Every scheme's liveness obligation falls due when the CPU next switches to a user
        // task (R: the lazy chain's mmdrop; H: mmdrop_lazy in finish_task_switch, where patch
        // 16 puts it; MD: the slot clear), in every era. So the harness does exactly that,
        // through the kernel's own paths: it switches to a runnable user task, or to a one-off
        // single-threaded process (which stays, holding its own mm, so it is neither a zombie
        // nor a leak). Only if the task table is full and no user task is runnable does it
        // fall back to unlazy_mm_irqs_off.
        // A CPU whose current task has an mm (a user task, or a kthread inside
        // kthread_use_mm) is not lazy: nothing to unlazy if no switch was possible.
        let has_mm = !self.task(self.curr(cpu)).mm().is_null();
        let switched = self.quiesce_switch_to_user(c);
        if !switched && !has_mm {
            self.local_irq_disable(c);
            self.unlazy_mm_irqs_off(c);
            self.local_irq_enable(c);
        }
        self.rcu_do_batch(c);
    }

    /// Quiesce: schedule a user task on this CPU (see [`Kernel::quiesce_cpu`]).
    fn quiesce_switch_to_user(&self, c: &dyn Cpu) -> bool {
        let cpu = c.id();
        let me = self.curr(cpu);
        for i in 0..self.ntasks() {
            let t = &self.tasks[i];
            if i as u32 != me.0
                && t.state() == task_state::SLEEPING
                && t.pinned() == u32::MAX
                && !t.is_kthread()
                && !t.mm().is_null()
                && self.schedule(c, TaskRef::Task(crate::ids::TaskId(i as u32)))
            {
                return true;
            }
        }
        match self.create_process_at(1, c.jiffies()) {
            Some((_, t)) => {
                self.task(t[0]).swap_pinned(cpu as u32);
                self.schedule(c, TaskRef::Task(t[0]))
            }
            None => false,
        }
    }
}
