//! `wide-exit`: a stream of exits of wide processes — spec §7 #20 ("800 threads on 1024
//! CPUs, many lazy at exit") at the size of the simulated machine.
//!
//! ```text
//!  launcher process L: one starter task S_c per CPU c that hosts workers, bound to PU c,
//!  blocked on pipe start_c; S_0 is the controller. Worker j of T goes to PU j·N/T (T ≤ N)
//!  or j % N: with T = CPUs, one per CPU.
//!  round:  S_0: Spawn { threads: T } → a fresh process M (the driver binds worker j to its
//!               PU and queues it there when that PU's starter runs: wake_up_new_task)
//!          S_0: write(start_c) for every other host CPU c   (wakeups: resched IPI / poll)
//!          S_0: read(done) — blocks; CPU 0 runs its own workers
//!          S_c: read(start_c) returns → queue its workers → read(start_c) blocks
//!          worker j: WORK write()s to its CPU's sink pipe ("runs a short while"),
//!                    then read(gate_j) — blocks: its CPU goes idle, lazy on M
//!          the last worker to arrive: exit_group — write(gate_k) for every other worker
//!                    (zap_other_threads' wakeups), then exits; each woken worker exits
//!          every exit: exit_mm (lazy on M, mmput), final schedule to idle (lazy on M);
//!                    the last mmput runs __mmput → exit_mmap's flush with the exited
//!                    threads' CPUs lazy on M, and the scheme's lazy-CPU handling (S: IPIs
//!                    to mm_cpumask at __mmdrop; ppc S / L: the exit flush; H/MD: scans)
//!          the worker that exits last (by issue order) first writes `done`: ops += 1
//! ```
//! R's lazy references on the idle CPUs are dropped when each CPU next switches to a user
//! task (its starter, next round), which is what its free latency shows. The launcher's
//! starters stand in for thread creation on remote CPUs: the model's `wake_up_new_task`
//! queues a task without the resched IPI the kernel's sends, so a new task can only be
//! queued on a CPU that then looks at its runqueue — its starter, woken by a real wakeup.

use super::common::{finished, idle_next, new_user_tasks, usable};
use lazymm_engines::driver::{Driver, Next};
use lazymm_model::ids::{CpuId, TaskId, TaskRef};
use lazymm_model::{Kernel, SysOp};
use std::collections::{HashMap, HashSet};

/// Work syscalls of each worker before it blocks.
pub const WORK: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Starter of CPU `cpu` (the controller if `cpu` is the first host CPU).
    Starter(CpuId),
    /// Worker `j` of the current process.
    Worker(usize),
}

#[derive(Debug, Clone, Copy)]
struct Prog {
    role: Role,
    pc: u32,
    /// Inside a read that blocked.
    blocked: bool,
    /// A worker that arrived last at the barrier and kills the others.
    killer: bool,
}

/// The `wide-exit` workload.
#[derive(Debug)]
pub struct WideExit {
    threads: usize,
    ncpus: usize,
    /// Host CPU of each worker index.
    home: Vec<CpuId>,
    /// Distinct host CPUs, ascending (`hosts[0]` is the controller's).
    hosts: Vec<CpuId>,
    start: HashMap<CpuId, u32>,
    sink: Vec<u32>,
    gate: Vec<u32>,
    done: u32,
    progs: HashMap<TaskId, Prog>,
    stranded: HashSet<TaskId>,
    /// This round's workers by index.
    workers: Vec<TaskId>,
    arrived: usize,
    exits: usize,
    spawn_failed: bool,
    /// The CPU issuing the round's last exit.
    last_exit: Option<CpuId>,
    issued: Vec<Option<TaskId>>,
    exited: u64,
    /// Rounds before the controller stops (tests); None: unbounded.
    rounds: Option<u64>,
    spawned: u64,
}

impl WideExit {
    /// Processes of `threads` threads on `ncpus` CPUs.
    pub fn new(threads: usize, ncpus: usize) -> WideExit {
        let (t, n) = (threads.max(1), ncpus.max(1));
        let home: Vec<CpuId> = (0..t)
            .map(|j| if t <= n { j * n / t } else { j % n })
            .collect();
        let mut hosts = home.clone();
        hosts.sort_unstable();
        hosts.dedup();
        WideExit {
            threads: t,
            ncpus: n,
            home,
            hosts,
            start: HashMap::new(),
            sink: Vec::new(),
            gate: Vec::new(),
            done: 0,
            progs: HashMap::new(),
            stranded: HashSet::new(),
            workers: Vec::new(),
            arrived: 0,
            exits: 0,
            spawn_failed: false,
            last_exit: None,
            issued: vec![None; n],
            exited: 0,
            rounds: None,
            spawned: 0,
        }
    }

    /// The controller stops (`Next::Done`) after `n` processes, so a run ends by itself.
    pub fn rounds(mut self, n: u64) -> WideExit {
        self.rounds = Some(n);
        self
    }

    fn read(pipe: u32, p: &Prog) -> SysOp {
        SysOp::PipeRead {
            pipe,
            resumed: p.blocked,
        }
    }

    /// The controller's program: 0 spawn, 1..hosts write start pipes, then read `done`.
    fn controller(&mut self, p: Prog) -> SysOp {
        let writes = self.hosts.len() as u32 - 1;
        if p.pc == 0 {
            if self.spawn_failed {
                // Table full (frees pending): spend a syscall before retrying.
                self.spawn_failed = false;
                return SysOp::PipeWrite(self.sink[0]);
            }
            return SysOp::Spawn {
                threads: self.threads as u32,
            };
        }
        if p.pc <= writes {
            return SysOp::PipeWrite(self.start[&self.hosts[p.pc as usize]]);
        }
        Self::read(self.done, &p)
    }

    fn worker(&mut self, cpu: CpuId, j: usize, p: Prog) -> SysOp {
        let cpu_sink = self.sink[self.home[j]];
        let exit_pc = WORK + self.threads as u32;
        match p.pc {
            pc if pc < WORK => SysOp::PipeWrite(cpu_sink),
            pc if pc == WORK => {
                if !p.blocked {
                    self.arrived += 1;
                }
                if self.arrived < self.threads && !p.killer {
                    Self::read(self.gate[j], &p)
                } else {
                    // The last to arrive does the exit_group: no read, the kill writes next.
                    SysOp::Idle(0)
                }
            }
            // WORK + 1 + m (m < T - 1): wake the m-th other worker (zap_other_threads).
            pc if pc < exit_pc => {
                let m = (pc - WORK - 1) as usize;
                let k = if m >= j { m + 1 } else { m };
                SysOp::PipeWrite(self.gate[k])
            }
            pc if pc == exit_pc => {
                self.exits += 1;
                if self.exits == self.threads {
                    // The last exit: tell the controller first (exit_notify's wakeup of the
                    // waiting parent; the model's Exit must be the task's last op).
                    SysOp::PipeWrite(self.done)
                } else {
                    SysOp::Exit {
                        then: TaskRef::Idle,
                    }
                }
            }
            _ => {
                self.last_exit = Some(cpu);
                SysOp::Exit {
                    then: TaskRef::Idle,
                }
            }
        }
    }
}

impl Driver for WideExit {
    fn name(&self) -> String {
        "wide-exit".into()
    }

    fn capacity(&self) -> (usize, usize) {
        // + ncpus mms: stranded processes (see common::usable).
        (2 * self.threads + self.hosts.len() + 8, 3 * self.ncpus + 16)
    }

    fn setup(&mut self, k: &Kernel) {
        let (_, starters) = k
            .create_process(self.hosts.len())
            .expect("task table sized by capacity()");
        for (&c, &s) in self.hosts.iter().zip(&starters) {
            k.set_affinity(s, c, 1);
            k.wake_up_new_task(s, c);
            self.start.insert(c, k.pipe_create());
            self.progs.insert(
                s,
                Prog {
                    role: Role::Starter(c),
                    // Other starters begin blocked in read(start_c).
                    pc: 0,
                    blocked: false,
                    killer: false,
                },
            );
        }
        self.sink = (0..self.ncpus).map(|_| k.pipe_create()).collect();
        self.gate = (0..self.threads).map(|_| k.pipe_create()).collect();
        self.done = k.pipe_create();
    }

    fn next(&mut self, k: &Kernel, cpu: CpuId) -> Next {
        self.issued[cpu] = None;
        let cur = k.curr(cpu);
        let Some(&p) = self.progs.get(&cur) else {
            return idle_next(k, cpu);
        };
        let controller = p.role == Role::Starter(self.hosts[0]);
        if controller && p.pc == 0 && self.rounds.is_some_and(|n| self.spawned >= n) {
            return finished(k, cpu);
        }
        self.issued[cpu] = Some(cur);
        let op = match p.role {
            Role::Starter(c) if c == self.hosts[0] => self.controller(p),
            Role::Starter(c) => Self::read(self.start[&c], &p),
            Role::Worker(j) => {
                let op = self.worker(cpu, j, p);
                if matches!(op, SysOp::Exit { .. }) {
                    // Forget it now: its slot may be reused before done_op (see common).
                    self.progs.remove(&cur);
                }
                op
            }
        };
        Next::Op(op)
    }

    fn done_op(&mut self, k: &Kernel, cpu: CpuId, op: &SysOp, applied: bool) {
        let Some(t) = self.issued[cpu].take() else {
            return;
        };
        if let SysOp::Exit { .. } = op {
            if self.last_exit == Some(cpu) {
                self.last_exit = None;
                self.exited += 1;
            }
            return;
        }
        let Some(mut p) = self.progs.get(&t).copied() else {
            return;
        };
        let read = matches!(op, SysOp::PipeRead { .. });
        p.blocked = read && !applied;
        match (p.role, op) {
            (Role::Starter(c), _) if c == self.hosts[0] => match op {
                SysOp::Spawn { .. } if !applied => self.spawn_failed = true,
                SysOp::Spawn { .. } => {
                    let mut ts = new_user_tasks(k, &self.progs, &self.stranded);
                    ts.truncate(self.threads);
                    if !ts.iter().all(|&w| usable(k, w)) {
                        // Some slot has no wakeup state (see common::usable): strand the
                        // whole process and spawn again.
                        self.stranded.extend(ts);
                        self.spawn_failed = true;
                        self.progs.insert(t, p);
                        return;
                    }
                    for (j, &w) in ts.iter().enumerate() {
                        k.set_affinity(w, self.home[j], 1);
                        let role = Role::Worker(j);
                        self.progs.insert(
                            w,
                            Prog {
                                role,
                                pc: 0,
                                blocked: false,
                                killer: false,
                            },
                        );
                    }
                    self.workers = ts;
                    self.spawned += 1;
                    self.arrived = 0;
                    self.exits = 0;
                    p.pc = 1;
                    if self.hosts.len() == 1 {
                        self.queue_workers(k, c);
                    }
                }
                SysOp::PipeWrite(_) if p.pc > 0 => {
                    p.pc += 1;
                    if p.pc as usize == self.hosts.len() {
                        self.queue_workers(k, c);
                    }
                }
                SysOp::PipeRead { .. } if applied => p.pc = 0,
                _ => {}
            },
            (Role::Starter(c), SysOp::PipeRead { .. }) if applied => self.queue_workers(k, c),
            (Role::Worker(_), SysOp::PipeRead { .. }) if !applied => {}
            (Role::Worker(_), SysOp::PipeRead { .. }) => {
                // Woken by the exit_group's write: straight to the exit.
                p.pc = WORK + self.threads as u32;
            }
            (Role::Worker(_), SysOp::Idle(_)) => {
                p.killer = true;
                p.pc += 1;
            }
            (Role::Worker(_), _) if applied => p.pc += 1,
            _ => {}
        }
        self.progs.insert(t, p);
    }

    fn ops(&self) -> u64 {
        self.exited
    }

    fn op_name(&self) -> &'static str {
        "wide process exited"
    }
}

impl WideExit {
    /// `wake_up_new_task` of this round's workers homed on `cpu` (run by `cpu` itself).
    fn queue_workers(&self, k: &Kernel, cpu: CpuId) {
        for (j, &w) in self.workers.iter().enumerate() {
            if self.home[j] == cpu {
                k.wake_up_new_task(w, cpu);
            }
        }
    }
}
