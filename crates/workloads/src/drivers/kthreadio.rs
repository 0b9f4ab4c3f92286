//! `kthread-io`: vhost-style kernel-thread workers serving user processes through
//! `kthread_use_mm` (spec §2.7, §7 #9: the worker is often already lazy on the very mm it
//! then uses).
//!
//! ```text
//!  T single-threaded user processes U_i, bound like ctxsw (core i % cores, or PU i % CPUs),
//!  each with its own worker kthread K_i (vhost-<pid> before v6.4; today vhost and io_uring
//!  use user workers that share the mm, which need no kthread_use_mm), on U_i's CPU.
//!  U_i: write(req_i)                        the request (eventfd / ring doorbell syscall)
//!       wake_up_process(K_i): queued on this CPU (driver: wake_up_new_task)
//!       schedule(): wait for the reply      → the rq head (K_i): U→K, K lazy on U's mm
//!  K_i: get_task_mm(U_i) (MmGet), kthread_use_mm(mm), the work (one point),
//!       kthread_unuse_mm(), mmput (MmPut)   → ops += 1 (request served)
//!       wake_up_process(U_i): queued on this CPU
//!       schedule()                          → U_i (same mm: no CR3 write)
//! ```
//! The hand-off is a same-CPU wakeup followed by the waker sleeping, which needs no IPI. The
//! model's kthreads cannot block on or write pipes (`PipeRead`/`PipeWrite` are user-task
//! ops) and `wake_up_new_task` sends no resched IPI, so a worker on another CPU than its
//! requester is not modelled. With more processes than CPUs, the runqueue's FIFO order
//! interleaves them (K_i may then start lazy on another process's mm).

use super::common::{bind_mask, finished, idle_next};
use super::Bind;
use lazymm_engines::driver::{Driver, Next};
use lazymm_model::ids::{CpuId, MmRef, TaskId};
use lazymm_model::{Kernel, SysOp};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy)]
struct Prog {
    /// Process index.
    i: usize,
    /// The kthread of the pair.
    worker: bool,
    pc: u8,
}

#[derive(Debug, Clone, Copy)]
struct Pair {
    user: TaskId,
    kthread: TaskId,
    mm: MmRef,
    req: u32,
}

/// The `kthread-io` workload.
#[derive(Debug)]
pub struct KthreadIo {
    threads: usize,
    bind: Bind,
    smt: usize,
    ncpus: usize,
    pairs: Vec<Pair>,
    progs: HashMap<TaskId, Prog>,
    issued: Vec<Option<TaskId>>,
    served: u64,
    /// Requests per process before its user task stops (tests); None: unbounded.
    limit: Option<u64>,
    /// Requests issued per process.
    sent: Vec<u64>,
}

impl KthreadIo {
    /// `threads` processes (each with its worker) on `ncpus` CPUs with `smt` threads per core.
    pub fn new(threads: usize, bind: Bind, ncpus: usize, smt: usize) -> KthreadIo {
        KthreadIo {
            threads: threads.max(1),
            bind,
            smt: smt.max(1),
            ncpus: ncpus.max(1),
            pairs: Vec::new(),
            progs: HashMap::new(),
            issued: vec![None; ncpus.max(1)],
            served: 0,
            limit: None,
            sent: vec![0; threads.max(1)],
        }
    }

    /// Each user task stops (`Next::Done`) after `n` requests, so a run ends by itself.
    pub fn requests(mut self, n: u64) -> KthreadIo {
        self.limit = Some(n);
        self
    }
}

impl Driver for KthreadIo {
    fn name(&self) -> String {
        "kthread-io".into()
    }

    fn capacity(&self) -> (usize, usize) {
        (2 * self.threads + 8, self.threads + 8)
    }

    fn setup(&mut self, k: &Kernel) {
        let mut load = vec![0usize; self.ncpus];
        for i in 0..self.threads {
            let (mm, ts) = k.create_process(1).expect("tables sized by capacity()");
            let kt = k.create_kthread().expect("tables sized by capacity()");
            let (lo, n) = bind_mask(self.bind, i, self.ncpus, self.smt);
            k.set_affinity(ts[0], lo, n);
            k.set_affinity(kt, lo, n);
            let cpu = (lo..lo + n).min_by_key(|&c| load[c]).unwrap_or(lo);
            load[cpu] += 1;
            k.wake_up_new_task(ts[0], cpu);
            self.pairs.push(Pair {
                user: ts[0],
                kthread: kt,
                mm,
                req: k.pipe_create(),
            });
            for (t, worker) in [(ts[0], false), (kt, true)] {
                self.progs.insert(t, Prog { i, worker, pc: 0 });
            }
        }
    }

    fn next(&mut self, k: &Kernel, cpu: CpuId) -> Next {
        self.issued[cpu] = None;
        let cur = k.curr(cpu);
        let Some(&p) = self.progs.get(&cur) else {
            return idle_next(k, cpu);
        };
        if !p.worker && p.pc == 0 && self.limit.is_some_and(|n| self.sent[p.i] >= n) {
            return finished(k, cpu);
        }
        self.issued[cpu] = Some(cur);
        let pair = self.pairs[p.i];
        Next::Op(match (p.worker, p.pc) {
            (false, 0) => SysOp::PipeWrite(pair.req),
            (false, _) => SysOp::ScheduleNext,
            (true, 0) => SysOp::MmGet(pair.mm),
            (true, 1) => SysOp::KthreadUseMm(pair.mm),
            (true, 2) => SysOp::Idle(1),
            (true, 3) => SysOp::KthreadUnuseMm,
            (true, 4) => SysOp::MmPut(pair.mm),
            (true, _) => SysOp::ScheduleNext,
        })
    }

    fn done_op(&mut self, k: &Kernel, cpu: CpuId, _op: &SysOp, applied: bool) {
        let Some(t) = self.issued[cpu].take() else {
            return;
        };
        let Some(p) = self.progs.get_mut(&t) else {
            return;
        };
        let pair = self.pairs[p.i];
        p.pc = match (p.worker, p.pc) {
            (false, 0) if applied => {
                // wake_up_process(worker): this CPU, where the requester is about to sleep.
                k.wake_up_new_task(pair.kthread, cpu);
                self.sent[p.i] += 1;
                1
            }
            (false, 0) => 0,
            (false, _) => 0,
            // kthread_use_mm refused (never with the reference held): drop the reference.
            (true, 1) if !applied => 4,
            (true, 4) => {
                self.served += 1;
                k.wake_up_new_task(pair.user, cpu);
                5
            }
            (true, 5) => 0,
            (true, pc) => pc + 1,
        };
    }

    fn ops(&self) -> u64 {
        self.served
    }

    fn op_name(&self) -> &'static str {
        "request served"
    }
}
