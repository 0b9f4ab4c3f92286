//! `exec-storm`: a kernel-build-like stream of short-lived processes (make -jJ: fork, exec,
//! run, exit, the parent waiting), the workload where exits, lazy IPIs, H's scans and free
//! latency show.
//!
//! ```text
//!  J job slots (`threads`), each a single-threaded "make" process M_s, unbound, first on
//!  CPU (core s % cores, or PU s % CPUs). M_s loops:
//!     fork()            SysOp::Fork: a new single-threaded process C (its own mm, standing
//!                       for the copy); the driver binds C to all CPUs and queues it on M's
//!                       CPU (wake_up_new_task; the parent is about to sleep)
//!     wait4(C)          read(wait_s): blocks → C runs here
//!  C: execve()          SysOp::Exec: a fresh mm; the forked one is torn down (mmput)
//!     1 in 8 children are multi-threaded (a linker, a code generator: estimate) with 1-3
//!     extra threads: clone(CLONE_VM) → queued here; C read(ack_s) blocks → the thread
//!     runs, write(ack_s) wakes C (WF_SYNC: C may move to an idle core) — the start
//!     handshake that lets a thread run on another CPU, since the model's wake_up_new_task
//!     sends no resched IPI
//!     work: 8-32 write()s to its output pipe (estimate; user-mode compute has no price in
//!     the sim: an Idle point costs no virtual time)
//!     thread: 8-32 write()s, one munmap (freed_tables: false), write(join_s), exit
//!     C: read(join_s) per thread, write(wait_s) (exit_notify's wakeup of the parent, issued
//!     before the model's Exit, which must be the task's last op), exit → ops += 1
//! ```
//! Exits go to the idle task (`Exit { then: Idle }`), which then runs the runqueue's head:
//! when the woken parent was queued on the exiting CPU, that is one switch more than the
//! kernel's (do_exit's final schedule picks the parent directly); the model's Exit names its
//! next task and the driver cannot see the runqueue's head. The proportions are estimates
//! (no fork/exec/exit mix of a kernel build is cited in ../shared/research); everything is
//! drawn from `seed` (ChaCha8, one stream per slot).

use super::common::{bind_mask, idle_next, new_user_tasks, usable};
use super::Bind;
use lazymm_engines::driver::{Driver, Next};
use lazymm_model::ids::{CpuId, TaskId, TaskRef};
use lazymm_model::{Kernel, SysOp};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, HashSet};

/// One in this many children is multi-threaded (estimate).
pub const MT_ONE_IN: u32 = 8;
/// Most extra threads of a multi-threaded child (estimate).
pub const MAX_EXTRA: u32 = 3;
/// Work syscalls of a task: uniform in this range (estimate).
pub const WORK: (u32, u32) = (8, 32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// make: fork (then wait).
    Fork,
    /// make: waiting in read(wait_s).
    Wait,
    /// child: exec.
    Exec,
    /// child: clone the next thread (then wait for its ack).
    Clone,
    /// child: read(ack_s) after a clone.
    Ack,
    /// thread: its first op, write(ack_s).
    Start,
    /// any: `n` work syscalls left.
    Work(u32),
    /// thread: munmap.
    Munmap,
    /// child: read(join_s), `n` threads still to join.
    Join(u32),
    /// write(wait_s) or write(join_s) before the exit.
    Notify,
    /// exit.
    Exit,
}

#[derive(Debug, Clone, Copy)]
struct Prog {
    slot: usize,
    kind: Kind,
    step: Step,
    /// Inside a read that blocked.
    blocked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Make,
    /// The child's main thread: threads still to clone, threads cloned.
    Child {
        to_clone: u32,
        cloned: u32,
    },
    Thread,
}

#[derive(Debug)]
struct Slot {
    wait: u32,
    ack: u32,
    join: u32,
    sink: u32,
    rng: ChaCha8Rng,
    fork_failed: bool,
    forked: u64,
}

/// The `exec-storm` workload.
#[derive(Debug)]
pub struct ExecStorm {
    jobs: usize,
    bind: Bind,
    smt: usize,
    ncpus: usize,
    seed: u64,
    slots: Vec<Slot>,
    progs: HashMap<TaskId, Prog>,
    stranded: HashSet<TaskId>,
    issued: Vec<Option<TaskId>>,
    completed: u64,
    /// Children per make slot before it stops (tests); None: unbounded.
    limit: Option<u64>,
    /// One in this many children is multi-threaded (0: none).
    mt_one_in: u32,
}

impl ExecStorm {
    /// `jobs` make slots on `ncpus` CPUs with `smt` threads per core, drawn from `seed`.
    pub fn new(jobs: usize, bind: Bind, ncpus: usize, smt: usize, seed: u64) -> ExecStorm {
        ExecStorm {
            jobs: jobs.max(1),
            bind,
            smt: smt.max(1),
            ncpus: ncpus.max(1),
            seed,
            slots: Vec::new(),
            progs: HashMap::new(),
            stranded: HashSet::new(),
            issued: vec![None; ncpus.max(1)],
            completed: 0,
            limit: None,
            mt_one_in: MT_ONE_IN,
        }
    }

    /// Each make process exits after its `n`-th child has exited, so a run ends by itself.
    pub fn limit(mut self, n: u64) -> ExecStorm {
        self.limit = Some(n);
        self
    }

    /// One in `one_in` children is multi-threaded (0: none; default [`MT_ONE_IN`]).
    pub fn multithreaded(mut self, one_in: u32) -> ExecStorm {
        self.mt_one_in = one_in;
        self
    }

    fn work(rng: &mut ChaCha8Rng) -> u32 {
        rng.gen_range(WORK.0..=WORK.1)
    }

    fn read(pipe: u32, p: &Prog) -> SysOp {
        SysOp::PipeRead {
            pipe,
            resumed: p.blocked,
        }
    }

    /// A new task the op just created, registered as `prog`, queued on `cpu`.
    fn adopt(&mut self, k: &Kernel, cpu: CpuId, prog: Prog) -> bool {
        let Some(&t) = new_user_tasks(k, &self.progs, &self.stranded).first() else {
            return false;
        };
        if !usable(k, t) {
            self.stranded.insert(t);
            return false;
        }
        k.set_affinity(t, 0, 0);
        k.wake_up_new_task(t, cpu);
        self.progs.insert(t, prog);
        true
    }
}

impl Driver for ExecStorm {
    fn name(&self) -> String {
        "exec-storm".into()
    }

    fn capacity(&self) -> (usize, usize) {
        (
            self.jobs * (3 + MAX_EXTRA as usize) + 16,
            // + ncpus: stranded children (see common::usable).
            3 * self.jobs + 3 * self.ncpus + 16,
        )
    }

    fn setup(&mut self, k: &Kernel) {
        let mut load = vec![0usize; self.ncpus];
        for s in 0..self.jobs {
            let (_, ts) = k.create_process(1).expect("tables sized by capacity()");
            let (lo, n) = bind_mask(self.bind, s, self.ncpus, self.smt);
            let cpu = (lo..lo + n).min_by_key(|&c| load[c]).unwrap_or(lo);
            load[cpu] += 1;
            // make is not bound: all CPUs, first placed as will-it-scale places task s.
            k.set_affinity(ts[0], 0, 0);
            k.wake_up_new_task(ts[0], cpu);
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
            rng.set_stream(s as u64);
            self.slots.push(Slot {
                wait: k.pipe_create(),
                ack: k.pipe_create(),
                join: k.pipe_create(),
                sink: k.pipe_create(),
                rng,
                fork_failed: false,
                forked: 0,
            });
            self.progs.insert(
                ts[0],
                Prog {
                    slot: s,
                    kind: Kind::Make,
                    step: Step::Fork,
                    blocked: false,
                },
            );
        }
    }

    fn next(&mut self, k: &Kernel, cpu: CpuId) -> Next {
        self.issued[cpu] = None;
        let cur = k.curr(cpu);
        let Some(&p) = self.progs.get(&cur) else {
            return idle_next(k, cpu);
        };
        let sl = &mut self.slots[p.slot];
        if p.step == Step::Fork && self.limit.is_some_and(|n| sl.forked >= n) {
            // make is done: it exits, so that this CPU goes idle and takes wakeups again.
            self.progs.remove(&cur);
            return Next::Op(SysOp::Exit {
                then: TaskRef::Idle,
            });
        }
        self.issued[cpu] = Some(cur);
        let op = match p.step {
            Step::Fork if sl.fork_failed => {
                // Tables full (frees pending): spend a syscall before retrying.
                sl.fork_failed = false;
                SysOp::PipeWrite(sl.sink)
            }
            Step::Fork => SysOp::Fork,
            Step::Wait => Self::read(sl.wait, &p),
            Step::Exec => SysOp::Exec,
            Step::Clone => SysOp::CloneThread,
            Step::Ack => Self::read(sl.ack, &p),
            Step::Start => SysOp::PipeWrite(sl.ack),
            Step::Work(_) => SysOp::PipeWrite(sl.sink),
            Step::Munmap => SysOp::Munmap {
                freed_tables: false,
            },
            Step::Join(_) => Self::read(sl.join, &p),
            Step::Notify if p.kind == Kind::Thread => SysOp::PipeWrite(sl.join),
            Step::Notify => SysOp::PipeWrite(sl.wait),
            Step::Exit => {
                // Forget it now: its slot may be reused before done_op (see common).
                self.progs.remove(&cur);
                if p.kind != Kind::Thread {
                    self.issued[cpu] = None;
                    self.completed += 1;
                }
                SysOp::Exit {
                    then: TaskRef::Idle,
                }
            }
        };
        Next::Op(op)
    }

    fn done_op(&mut self, k: &Kernel, cpu: CpuId, op: &SysOp, applied: bool) {
        let Some(t) = self.issued[cpu].take() else {
            return;
        };
        let Some(mut p) = self.progs.get(&t).copied() else {
            return;
        };
        let is_read = matches!(op, SysOp::PipeRead { .. });
        p.blocked = is_read && !applied;
        if p.blocked {
            self.progs.insert(t, p);
            return;
        }
        let s = p.slot;
        p.step = match (p.kind, p.step) {
            (Kind::Make, Step::Fork) if !matches!(op, SysOp::Fork) => Step::Fork,
            (Kind::Make, Step::Fork) => {
                let sl = &mut self.slots[s];
                let mt = self.mt_one_in > 0 && sl.rng.gen_range(0..self.mt_one_in) == 0;
                let to_clone = if mt {
                    sl.rng.gen_range(1..=MAX_EXTRA)
                } else {
                    0
                };
                let child = Prog {
                    slot: s,
                    kind: Kind::Child {
                        to_clone,
                        cloned: 0,
                    },
                    step: Step::Exec,
                    blocked: false,
                };
                if applied && self.adopt(k, cpu, child) {
                    self.slots[s].forked += 1;
                    Step::Wait
                } else {
                    self.slots[s].fork_failed = true;
                    Step::Fork
                }
            }
            (Kind::Make, _) => Step::Fork,
            (Kind::Child { to_clone, cloned }, Step::Exec | Step::Ack | Step::Clone) => {
                let mut cloned = cloned;
                let mut to_clone = to_clone;
                if p.step == Step::Clone {
                    let th = Prog {
                        slot: s,
                        kind: Kind::Thread,
                        step: Step::Start,
                        blocked: false,
                    };
                    to_clone -= 1;
                    if applied && self.adopt(k, cpu, th) {
                        cloned += 1;
                        p.kind = Kind::Child { to_clone, cloned };
                        self.progs.insert(
                            t,
                            Prog {
                                step: Step::Ack,
                                ..p
                            },
                        );
                        return;
                    }
                }
                p.kind = Kind::Child { to_clone, cloned };
                if to_clone > 0 {
                    Step::Clone
                } else {
                    Step::Work(Self::work(&mut self.slots[s].rng))
                }
            }
            (_, Step::Work(n)) if n > 1 => Step::Work(n - 1),
            (Kind::Thread, Step::Work(_)) => Step::Munmap,
            (Kind::Thread, Step::Munmap) => Step::Notify,
            (Kind::Child { cloned, .. }, Step::Work(_)) if cloned > 0 => Step::Join(cloned),
            (Kind::Child { .. }, Step::Work(_)) => Step::Notify,
            (_, Step::Join(n)) if n > 1 => Step::Join(n - 1),
            (_, Step::Join(_)) => Step::Notify,
            (Kind::Thread, Step::Start) => Step::Work(Self::work(&mut self.slots[s].rng)),
            (_, Step::Notify) => Step::Exit,
            (_, step) => step,
        };
        self.progs.insert(t, p);
    }

    fn ops(&self) -> u64 {
        self.completed
    }

    fn op_name(&self) -> &'static str {
        "process completed (fork, exec, exit)"
    }
}
