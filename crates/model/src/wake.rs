//! Blocking and wakeup: pipes, `try_to_wake_up`, per-CPU runqueues, allowed masks, the
//! idle-sibling search and polling idle (kernel/sched/core.c, kernel/sched/fair.c,
//! fs/pipe.c). Placement, not the lazy-mm scheme, decides how often a CPU passes through idle
//! (../shared/research/benchmarks.md), and only a pass through idle costs a scheme anything,
//! so it is modelled, not assumed.
//!
//! ```text
//!  reader (cpu A)                         writer (cpu B)
//!  pipe_read: lock; empty?                pipe_write: lock; bytes++; take waiter; unlock
//!    state = BLOCKED; waiter = me; unlock   try_to_wake_up(waiter, WF_SYNC):
//!    schedule_next(): rq head, else idle      state BLOCKED → WAKING (cmpxchg)
//!                                             smp_cond_load_acquire(&p->on_cpu, !VAL)
//!                                             cpu = select_task_rq_fair(p, B, sync)
//!                                             enqueue on cpu's rq; state = runnable (release)
//!                                             rq idle? polling: set TIF_NEED_RESCHED (no IPI)
//!                                                      else smp_send_reschedule(cpu)
//! ```
//! `select_task_rq_fair`: `wake_affine_idle` (the waker's CPU if it is idle and shares the
//! LLC with prev, then prev if idle; with WF_SYNC the waker's CPU if it runs only the waker;
//! prev if idle; otherwise the waker's CPU for a sync wakeup, prev otherwise — the outcome of
//! `wake_affine_weight` when the waker is about to sleep), only when the waker's CPU is in
//! the wakee's allowed mask; then `select_idle_sibling`: the target if idle, prev if idle and
//! sharing the LLC, then an idle core, then any idle CPU of the target's LLC, scanning from
//! target + 1 within the allowed mask.
//!
//! Not modelled: `recent_used_cpu`, the `SIS_UTIL` scan limit, wakeup preemption of a running
//! task, and load balancing (periodic and newidle). Tasks bound to one core or PU, as
//! will-it-scale binds them, are unaffected by the last two within their mask.

use crate::ids::{CpuId, TaskId, TaskRef};
use crate::kernel::task_state;
use crate::machine::{Access, Cpu, Event, Line};
use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::sync::Mutex;
use crate::Kernel;
use crossbeam_utils::CachePadded;
use std::collections::VecDeque;

/// The scheduler's view of the machine: SMT siblings and LLC domains (contiguous CPU numbers:
/// CPU `n` is thread `n % smt` of core `n / smt`; LLC `n / llc`), and the idle loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedTopo {
    /// Hardware threads per core.
    pub smt: usize,
    /// CPUs per LLC domain (a multiple of `smt`).
    pub llc: usize,
    /// The idle loop polls `TIF_NEED_RESCHED` (x86 mwait/poll idle sets
    /// `TIF_POLLING_NRFLAG`): a remote wakeup then needs no IPI.
    pub idle_polls: bool,
}

impl Default for SchedTopo {
    fn default() -> Self {
        SchedTopo {
            smt: 1,
            llc: usize::MAX,
            idle_polls: false,
        }
    }
}

/// A task's allowed CPUs: `[lo, lo + n)` (`n == 0`: all). Binding to one core is `[core *
/// smt, core * smt + smt)`, to one PU `[cpu, cpu + 1)`.
#[derive(Debug, Default)]
struct TaskSched {
    lo: AtomicU32,
    n: AtomicU32,
    /// `task_cpu(p)`: where it last ran or was queued.
    cpu: AtomicU32,
}

#[derive(Debug, Default)]
struct Rq {
    /// Queued runnable tasks (not the current one).
    queue: Mutex<VecDeque<TaskId>>,
    /// `rq->nr_running` minus the current task.
    queued: AtomicU32,
}

#[derive(Debug, Default, Clone)]
struct Pipe {
    bytes: u64,
    reader: Option<TaskId>,
}

/// Runqueues, affinities and pipes.
#[derive(Debug)]
pub(crate) struct WakeState {
    rqs: Vec<CachePadded<Rq>>,
    tasks: Vec<TaskSched>,
    pipes: Mutex<Vec<Pipe>>,
}

impl WakeState {
    pub(crate) fn new(ncpus: usize, ntasks: usize) -> WakeState {
        WakeState {
            rqs: (0..ncpus).map(|_| CachePadded::default()).collect(),
            tasks: (0..ntasks).map(|_| TaskSched::default()).collect(),
            pipes: Mutex::new(Vec::new()),
        }
    }
}

impl Kernel {
    fn topo(&self) -> SchedTopo {
        self.cfg.topo
    }

    fn share_llc(&self, a: CpuId, b: CpuId) -> bool {
        let l = self.topo().llc.max(1);
        a / l == b / l
    }

    /// Whether `p` may run on `cpu`.
    pub fn task_allowed(&self, p: TaskId, cpu: CpuId) -> bool {
        let t = &self.wake.tasks[p.0 as usize];
        // Relaxed: set before the task first runs (published with it).
        let (lo, n) = (t.lo.load(Relaxed) as usize, t.n.load(Relaxed) as usize);
        n == 0 || (lo..lo + n).contains(&cpu)
    }

    /// `sched_setaffinity(p, [lo, lo + n))` before `p` first runs (`n == 0`: all CPUs).
    pub fn set_affinity(&self, p: TaskId, lo: CpuId, n: usize) {
        let t = &self.wake.tasks[p.0 as usize];
        // Relaxed: configuration before the task runs (see task_allowed).
        t.lo.store(lo as u32, Relaxed);
        t.n.store(n as u32, Relaxed);
        t.cpu.store(lo as u32, Relaxed);
    }

    /// Queued runnable tasks on `cpu` (not counting its current task).
    pub fn rq_queued(&self, cpu: CpuId) -> usize {
        // Relaxed: a hint, as rq->nr_running read remotely; the rq lock decides.
        self.wake.rqs[cpu].queued.load(Relaxed) as usize
    }

    /// `available_idle_cpu(cpu)` as `c` reads it: idle task current, nothing queued.
    fn idle_cpu(&self, c: &dyn Cpu, cpu: CpuId) -> bool {
        touch!(self, c, Line::Rq(cpu as u32), Access::Load);
        self.curr(cpu) == self.cpu(cpu).idle && self.rq_queued(cpu) == 0 && self.cpu_online(cpu)
    }

    /// Creates a pipe; returns its id.
    pub fn pipe_create(&self) -> u32 {
        let mut p = self.wake.pipes.lock().unwrap();
        p.push(Pipe::default());
        (p.len() - 1) as u32
    }

    /// Puts a runnable task (just created) on `cpu`'s runqueue (`wake_up_new_task`).
    pub fn wake_up_new_task(&self, p: TaskId, cpu: CpuId) {
        self.enqueue(p, cpu);
    }

    fn enqueue(&self, p: TaskId, cpu: CpuId) {
        let rq = &self.wake.rqs[cpu];
        let mut q = rq.queue.lock().unwrap();
        q.push_back(p);
        // Relaxed: under the rq lock; remote readers use it as a hint.
        rq.queued.store(q.len() as u32, Relaxed);
        // Relaxed: task_cpu, a placement hint.
        self.wake.tasks[p.0 as usize].cpu.store(cpu as u32, Relaxed);
    }

    /// `write(fd, 1 byte)` on pipe `pipe` by the current task: wakes its reader (WF_SYNC).
    pub fn pipe_write(&self, c: &dyn Cpu, pipe: u32) -> bool {
        let _t = c.trace().enter("pipe_write");
        self.ev(c, Event::Syscall);
        touch!(self, c, Line::Pipe(pipe), Access::Rmw);
        let reader = {
            let mut ps = self.wake.pipes.lock().unwrap();
            let Some(p) = ps.get_mut(pipe as usize) else {
                return false;
            };
            p.bytes += 1;
            p.reader.take()
        };
        if let Some(r) = reader {
            self.try_to_wake_up(c, r, true);
        }
        true
    }

    /// `read(fd, 1 byte)` on pipe `pipe` by the current task. Returns true if it read a byte;
    /// false if the task blocked (it is then switched out, and re-issues the read with
    /// `resumed` when it runs again: the same syscall continuing, not a new one).
    pub fn pipe_read(&self, c: &dyn Cpu, pipe: u32, resumed: bool) -> bool {
        let _t = c.trace().enter("pipe_read");
        if !resumed {
            self.ev(c, Event::Syscall);
        }
        let me = self.curr(c.id());
        // Accesses are reported before the pipe lock is taken: an engine may switch CPUs at
        // an access, and a model lock is never held across a switch.
        touch!(self, c, Line::Pipe(pipe), Access::Rmw);
        touch!(self, c, Line::Task(me.0), Access::Store);
        {
            let mut ps = self.wake.pipes.lock().unwrap();
            let Some(p) = ps.get_mut(pipe as usize) else {
                return false;
            };
            if p.bytes > 0 {
                p.bytes -= 1;
                return true;
            }
            // prepare_to_wait + set_current_state(TASK_INTERRUPTIBLE), under the pipe lock.
            p.reader = Some(me);
            // Relaxed: the pipe lock orders it before the writer's wakeup, whose cmpxchg
            // (Acquire) reads it.
            self.task(me).state.store(task_state::BLOCKED, Relaxed);
        }
        self.schedule_next(c);
        false
    }

    /// `schedule()` from the current task (blocked, or the idle loop seeing need_resched):
    /// the head of this CPU's runqueue, else the idle task. Returns whether it switched.
    pub fn schedule_next(&self, c: &dyn Cpu) -> bool {
        let cpu = c.id();
        loop {
            touch!(self, c, Line::Rq(cpu as u32), Access::Rmw);
            let next = {
                let rq = &self.wake.rqs[cpu];
                let mut q = rq.queue.lock().unwrap();
                let n = q.pop_front();
                // Relaxed: under the rq lock (see enqueue).
                rq.queued.store(q.len() as u32, Relaxed);
                n
            };
            match next {
                // A task another path claimed meanwhile (the quiesce) is skipped.
                Some(t) => {
                    if self.schedule(c, TaskRef::Task(t)) {
                        return true;
                    }
                }
                None => {
                    let cur = self.curr(cpu);
                    if cur == self.cpu(cpu).idle || self.task(cur).state() == task_state::RUNNING {
                        return false;
                    }
                    return self.schedule(c, TaskRef::Idle);
                }
            }
        }
    }

    /// `try_to_wake_up(p, TASK_NORMAL, sync ? WF_SYNC : 0)` from `c`. Returns whether `p` was
    /// blocked (and is now queued).
    pub fn try_to_wake_up(&self, c: &dyn Cpu, p: TaskId, sync: bool) -> bool {
        let _t = c.trace().enter("try_to_wake_up");
        let t = self.task(p);
        touch!(self, c, Line::Task(p.0), Access::Rmw);
        // Acquire: pairs with the pipe lock's release chain of the blocking reader (its
        // BLOCKED store); we then own the wakeup.
        if t.state
            .compare_exchange(task_state::BLOCKED, task_state::WAKING, Acquire, Relaxed)
            .is_err()
        {
            return false;
        }
        // smp_cond_load_acquire(&p->on_cpu, !VAL): pairs with finish_task's release on the
        // CPU that is switching p out.
        while t.on_cpu.load(Acquire) {
            c.wait(self, "ttwu:on_cpu");
        }
        let cpu = self.select_task_rq(c, p, sync);
        touch!(self, c, Line::Rq(cpu as u32), Access::Rmw);
        let was_idle = self.curr(cpu) == self.cpu(cpu).idle;
        self.enqueue(p, cpu);
        // Release: publishes the wakeup to the claim (Acquire CAS in `schedule`).
        t.state.store(task_state::SLEEPING, Release);
        self.ev(c, Event::Wakeup);
        if cpu != c.id() && was_idle {
            // resched_curr: a polling idle CPU sees TIF_NEED_RESCHED (set_nr_if_polling);
            // otherwise a reschedule IPI.
            if self.topo().idle_polls {
                touch!(self, c, Line::Tif(cpu as u32), Access::Rmw);
                c.resched(cpu);
            } else {
                self.smp_send_reschedule(c, cpu);
            }
        }
        true
    }

    /// `select_task_rq_fair()` for a wakeup of `p` by `c` (see the module doc).
    fn select_task_rq(&self, c: &dyn Cpu, p: TaskId, sync: bool) -> CpuId {
        let this = c.id();
        // Relaxed: task_cpu, a hint.
        let prev = self.wake.tasks[p.0 as usize].cpu.load(Relaxed) as usize;
        let prev = if self.task_allowed(p, prev) {
            prev
        } else {
            self.first_allowed(p)
        };
        let mut target = prev;
        if self.task_allowed(p, this) {
            target = if self.idle_cpu(c, this) && self.share_llc(this, prev) {
                if self.idle_cpu(c, prev) {
                    prev
                } else {
                    this
                }
            } else if sync && self.rq_queued(this) == 0 {
                this
            } else if self.idle_cpu(c, prev) {
                prev
            } else if sync {
                this
            } else {
                prev
            };
        }
        self.select_idle_sibling(c, p, prev, target)
    }

    fn first_allowed(&self, p: TaskId) -> CpuId {
        (0..self.ncpus())
            .find(|&x| self.task_allowed(p, x))
            .unwrap_or(0)
    }

    fn select_idle_sibling(&self, c: &dyn Cpu, p: TaskId, prev: CpuId, target: CpuId) -> CpuId {
        if self.idle_cpu(c, target) {
            return target;
        }
        if prev != target && self.share_llc(prev, target) && self.idle_cpu(c, prev) {
            return prev;
        }
        let n = self.ncpus();
        let l = self.topo().llc.max(1).min(n);
        let base = target / l * l;
        let span: Vec<CpuId> = (1..=l)
            .map(|i| base + (target - base + i) % l)
            .filter(|&x| x < n && self.task_allowed(p, x))
            .collect();
        let smt = self.topo().smt.max(1);
        if smt > 1 {
            // select_idle_core: a core whose every sibling is idle.
            for &x in &span {
                if x % smt == 0 && (x..x + smt).all(|s| s < n && self.idle_cpu(c, s)) {
                    return x;
                }
            }
        }
        // select_idle_cpu.
        span.into_iter()
            .find(|&x| self.idle_cpu(c, x))
            .unwrap_or(target)
    }
}
