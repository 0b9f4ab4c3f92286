//! `ctxsw`: will-it-scale `context_switch1_threads` (tests/context_switch1.c, main.c), as
//! ../shared/research/benchmarks.md describes it.
//!
//! ```text
//!  T testcase tasks, threads of one process; task i is bound to core i % cores (its SMT
//!  siblings), or with `--bind pu` (will-it-scale -m) to PU i % CPUs; each starts a helper
//!  thread with the same mask; the pair ping-pongs one byte over two pipes:
//!     parent: loop { write(fd1); read(fd2) }   child: loop { read(fd1); write(fd2) }
//!  one round trip = two blocking reads = at least two context switches.
//! ```
//! The kernel decides the rest: the write wakes the reader with WF_SYNC, `select_task_rq`
//! places it (the waker's CPU, or an idle sibling in the mask), and a CPU whose task blocks
//! with nothing queued goes through idle — the lazy-TLB path.

use lazymm_engines::driver::{Driver, Next};
use lazymm_model::ids::CpuId;
use lazymm_model::{Kernel, SysOp};
/// How testcase tasks are bound (will-it-scale's default and `-m`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Bind {
    /// Task i on core i % cores (all its SMT siblings).
    Core,
    /// Task i on PU (hardware thread) i % CPUs.
    Pu,
}

impl Bind {
    /// Parses `core` / `pu`.
    pub fn parse(s: &str) -> Option<Bind> {
        match s {
            "core" => Some(Bind::Core),
            "pu" => Some(Bind::Pu),
            _ => None,
        }
    }
    /// The option's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Bind::Core => "core",
            Bind::Pu => "pu",
        }
    }
}

#[derive(Debug)]
struct Prog {
    parent: bool,
    /// (fd1, fd2): parent writes fd1 and reads fd2; the child the reverse.
    pipes: (u32, u32),
    /// Program counter: 0 or 1.
    pc: u8,
    /// The task is inside a read that blocked.
    blocked: bool,
    /// Reads completed.
    reads: u64,
}

/// The `ctxsw` workload.
#[derive(Debug)]
pub struct Ctxsw {
    threads: usize,
    bind: Bind,
    smt: usize,
    ncpus: usize,
    progs: Vec<Prog>,
    /// Testcase program of each task, by task-table index (a dense table: `next` runs on
    /// every simulated step).
    by_task: Vec<Option<usize>>,
    issued: Vec<Option<usize>>,
    round_trips: u64,
    /// Tasks that have not completed a read yet.
    cold: usize,
}

impl Ctxsw {
    /// `threads` testcase tasks (each with its helper) on `ncpus` CPUs with `smt` threads
    /// per core.
    pub fn new(threads: usize, bind: Bind, ncpus: usize, smt: usize) -> Ctxsw {
        Ctxsw {
            threads: threads.max(1),
            bind,
            smt: smt.max(1),
            ncpus,
            progs: Vec::new(),
            by_task: Vec::new(),
            issued: vec![None; ncpus],
            round_trips: 0,
            cold: 0,
        }
    }

    /// The allowed CPUs `[lo, lo + n)` of testcase task `i`.
    fn mask(&self, i: usize) -> (CpuId, usize) {
        super::common::bind_mask(self.bind, i, self.ncpus, self.smt)
    }
}

impl Driver for Ctxsw {
    fn name(&self) -> String {
        "ctxsw".into()
    }

    fn capacity(&self) -> (usize, usize) {
        (2 * self.threads + 8, 8)
    }

    fn setup(&mut self, k: &Kernel) {
        let (_, tasks) = k
            .create_process(2 * self.threads)
            .expect("task table sized by capacity()");
        // wake_up_new_task places each new task on the idlest allowed CPU.
        let mut load = vec![0usize; self.ncpus];
        for i in 0..self.threads {
            let (lo, n) = self.mask(i);
            let (fd1, fd2) = (k.pipe_create(), k.pipe_create());
            for (j, &t) in tasks[2 * i..2 * i + 2].iter().enumerate() {
                k.set_affinity(t, lo, n);
                let cpu = (lo..lo + n).min_by_key(|&c| load[c]).unwrap_or(lo);
                load[cpu] += 1;
                k.wake_up_new_task(t, cpu);
                let ix = t.0 as usize;
                if self.by_task.len() <= ix {
                    self.by_task.resize(ix + 1, None);
                }
                self.by_task[ix] = Some(self.progs.len());
                self.progs.push(Prog {
                    parent: j == 0,
                    pipes: (fd1, fd2),
                    pc: 0,
                    blocked: false,
                    reads: 0,
                });
                self.cold += 1;
            }
        }
    }

    fn next(&mut self, k: &Kernel, cpu: CpuId) -> Next {
        let cur = k.curr(cpu);
        let Some(&Some(i)) = self.by_task.get(cur.0 as usize) else {
            // The idle task (or a task of no testcase): run what the runqueue holds.
            self.issued[cpu] = None;
            return super::common::idle_next(k, cpu);
        };
        self.issued[cpu] = Some(i);
        let p = &self.progs[i];
        let (fd1, fd2) = p.pipes;
        let (w, r) = if p.parent { (fd1, fd2) } else { (fd2, fd1) };
        let write_first = p.parent;
        Next::Op(if (p.pc == 0) == write_first {
            SysOp::PipeWrite(w)
        } else {
            SysOp::PipeRead {
                pipe: r,
                resumed: p.blocked,
            }
        })
    }

    fn done_op(&mut self, _k: &Kernel, cpu: CpuId, op: &SysOp, applied: bool) {
        let Some(i) = self.issued[cpu].take() else {
            return;
        };
        let p = &mut self.progs[i];
        match op {
            SysOp::PipeWrite(_) if applied => p.pc ^= 1,
            SysOp::PipeRead { .. } => {
                if applied {
                    p.blocked = false;
                    p.pc ^= 1;
                    p.reads += 1;
                    if p.reads == 1 {
                        self.cold -= 1;
                    }
                    if p.parent {
                        self.round_trips += 1;
                    }
                } else {
                    p.blocked = true;
                }
            }
            _ => {}
        }
    }

    fn ops(&self) -> u64 {
        self.round_trips
    }

    fn op_name(&self) -> &'static str {
        "pipe round trip"
    }

    /// Every task has completed a read: every pair has passed the start-up (its CPUs' first
    /// switches out of idle, the first mm_cpumask sets, the init_mm drops queued behind
    /// each other on large machines).
    fn warmed_up(&self) -> bool {
        self.cold == 0
    }
}
