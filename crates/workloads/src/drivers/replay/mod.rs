//! `replay`: a Linux scheduler trace played on the model, CPU by CPU.
//!
//! ```text
//!  trace events ──plan.rs──▶ per-CPU steps (Switch / Fork / Exec, with dependencies)
//!                             │  the driver, for CPU c:
//!                             ▼
//!  setup    each CPU switches to its task at trace start (boot context: not measured)
//!  next(c)  step s = c's next step
//!           1. Busy { until: s.ts }      c's clock reaches the event's trace time (the gap is
//!                                        work no lazy-mm scheme changes; idle if c is idle)
//!           2. Spin while s.dep has not run on its CPU (next's switch out there, its fork)
//!           3. Switch(next) | Exit { then: next } (prev's final switch after
//!              sched_process_exit) | Exec | Fork (done here: the model's fork is a table
//!              operation without cost — Kernel::create_process / clone_thread /
//!              create_kthread — so the driver calls it to learn the new task)
//!  Done     the trace has no more steps for c
//! ```
//! Tasks (`tasks.rs` has the rules) are created in the model when first needed: a task
//! alive at trace start at its first switch in (a thread of its tgid's mm if that process
//! lives, else a new single-threaded process; or a kthread), a forked one at its fork. The
//! model's state follows the trace: each CPU runs what the trace says it runs, so a lazy
//! switch (user → kthread or idle) is one wherever the trace has one. A step that does not
//! fit the model's state (a lost event: the trace's prev is not the CPU's current task) is
//! still played (the switch to next) and counted as a mismatch.
//!
//! Streaming: the planner reads ahead only while a CPU lacks its next step or a task's tgid
//! is unknown, at most `plan::MAX_QUEUED` steps; a CPU whose queue is empty waits until the
//! last trace time read (no event of its can come earlier: traces are in time order).

pub mod kthreads;
pub mod plan;
pub mod scan;
pub mod stats;
pub mod tasks;
mod unseen;

use lazymm_engines::driver::{Driver, Next};
use lazymm_model::ids::{CpuId, TaskId, TaskRef};
use lazymm_model::kernel::BootCpu;
use lazymm_model::{Kernel, MmRef, SysOp};
use lazymm_trace::Event;
use plan::{Planner, Step, StepKind};
pub use stats::{Capacity, ReplayStats};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use tasks::{Kind, Uid, IDLE};

/// The `replay` driver.
pub struct Replay<I> {
    plan: Planner<I>,
    cap: Capacity,
    /// The trace records tgids (else no look-ahead for them).
    has_tgid: bool,
    model: HashMap<Uid, TaskId>,
    procs: HashMap<u32, MmRef>,
    timed: Vec<bool>,
    waited: Vec<u64>,
    issued: Vec<Option<Step>>,
    stats: Rc<RefCell<ReplayStats>>,
}

impl<I: Iterator<Item = Result<Event, String>>> Replay<I> {
    /// A replay of `events` on `ncpus` CPUs with tables `cap`; `has_tgid`: the trace
    /// records tgids (a scan says).
    pub fn new(events: I, ncpus: usize, cap: Capacity, has_tgid: bool) -> Replay<I> {
        Replay {
            plan: Planner::new(events, ncpus),
            cap,
            has_tgid,
            model: HashMap::new(),
            procs: HashMap::new(),
            timed: vec![false; ncpus],
            waited: vec![0; ncpus],
            issued: vec![None; ncpus],
            stats: Rc::default(),
        }
    }

    /// The replay's statistics, readable after the run.
    pub fn stats(&self) -> Rc<RefCell<ReplayStats>> {
        self.stats.clone()
    }

    fn task_ref(&mut self, k: &Kernel, u: Uid) -> Option<TaskRef> {
        if u == IDLE {
            return Some(TaskRef::Idle);
        }
        self.ensure(k, u).map(TaskRef::Task)
    }

    /// The model task of `u`, created if it was alive at trace start.
    fn ensure(&mut self, k: &Kernel, u: Uid) -> Option<TaskId> {
        if let Some(&t) = self.model.get(&u) {
            return Some(t);
        }
        let info = self.plan.tasks.get(u)?.clone();
        let tgid = if info.tgid.is_none() && self.has_tgid {
            self.plan.resolve_tgid(u)
        } else {
            info.tgid
        };
        let mut st = self.stats.borrow_mut();
        let user = info.kind == Kind::User || tgid.is_some_and(|g| g != info.pid);
        let t = if user {
            if tgid.is_none() {
                st.unknown_tgid += 1;
            }
            let g = tgid.unwrap_or(info.pid);
            match self.procs.get(&g).and_then(|&mm| k.clone_thread(mm)) {
                Some(t) => {
                    st.initial_threads += 1;
                    Some(t)
                }
                None => k.create_process(1).map(|(mm, ts)| {
                    self.procs.insert(g, mm);
                    st.initial_processes += 1;
                    ts[0]
                }),
            }
        } else {
            st.initial_kthreads += 1;
            st.kthreads_by_name += info.by_name as u64;
            k.create_kthread()
        };
        match t {
            Some(t) => {
                self.model.insert(u, t);
                Some(t)
            }
            None => {
                st.create_failed += 1;
                None
            }
        }
    }

    /// The fork step at trace time `ts` (ns): the child in the model. A forked process's mm
    /// starts its `next_trim_cpumask` at the fork's jiffies (the engines' HZ = 1000: one
    /// jiffy per ms); processes that predate the trace (`ensure`) at 0.
    fn fork(&mut self, k: &Kernel, parent: Uid, child: Uid, ts: u64) {
        let ptask = self.ensure(k, parent);
        let pinfo = self.plan.tasks.get(parent).cloned();
        let pkthread = ptask.is_none_or(|t| k.task(t).is_kthread());
        let made = if pkthread {
            self.stats.borrow_mut().forked_kthreads += 1;
            k.create_kthread()
        } else {
            let ptgid = pinfo.and_then(|i| i.tgid.or(Some(i.pid)));
            let ctgid = if self.has_tgid {
                self.plan.resolve_tgid(child)
            } else {
                None
            };
            let mm = ptask.map_or(MmRef::NULL, |t| k.task(t).mm());
            let thread = if self.has_tgid {
                ctgid.is_some() && ctgid == ptgid
            } else {
                self.stats.borrow_mut().forks_by_exec_rule += 1;
                !self.plan.resolve_exec(child)
            };
            if thread && !mm.is_null() {
                self.stats.borrow_mut().forked_threads += 1;
                k.clone_thread(mm)
            } else {
                self.stats.borrow_mut().forked_processes += 1;
                let g = ctgid.unwrap_or(self.plan.tasks.get(child).map_or(0, |i| i.pid));
                k.create_process_at(1, ts / 1_000_000).map(|(mm, ts)| {
                    self.procs.insert(g, mm);
                    ts[0]
                })
            }
        };
        match made {
            Some(t) => {
                self.model.insert(child, t);
            }
            None => self.stats.borrow_mut().create_failed += 1,
        }
    }

    /// The op for a switch step, or None when it cannot be played.
    fn switch_op(&mut self, k: &Kernel, cpu: CpuId, prev: Uid, next: Uid, exit: bool) -> SysOp {
        let cur = k.curr(cpu);
        let prev_id = if prev == IDLE {
            Some(k.cpu(cpu).idle)
        } else {
            self.model.get(&prev).copied()
        };
        if prev_id != Some(cur) {
            self.stats.borrow_mut().mismatches += 1;
        }
        let then = self.task_ref(k, next).unwrap_or(TaskRef::Idle);
        let ct = k.task(cur);
        let user = !ct.is_kthread() && !ct.mm().is_null();
        let next_kernel = match then {
            TaskRef::Idle => true,
            TaskRef::Task(t) => k.task(t).mm().is_null(),
        };
        let mut st = self.stats.borrow_mut();
        st.switches += 1;
        if user && next_kernel && !exit {
            st.lazy_switches += 1;
        }
        if exit && user && prev_id == Some(cur) {
            SysOp::Exit { then }
        } else {
            SysOp::Switch(then)
        }
    }

    /// `cpu`'s first switch, to its task at trace start (None: nothing to do).
    fn place(&mut self, k: &Kernel, cpu: CpuId) -> Option<SysOp> {
        let u = self.plan.resolve_initial(cpu)?;
        if u == IDLE {
            return None;
        }
        let t = self.ensure(k, u)?;
        self.stats.borrow_mut().placed += 1;
        Some(SysOp::Switch(TaskRef::Task(t)))
    }
}

impl<I: Iterator<Item = Result<Event, String>>> Driver for Replay<I> {
    fn name(&self) -> String {
        "replay".into()
    }

    fn capacity(&self) -> (usize, usize) {
        (self.cap.tasks, self.cap.mms)
    }

    fn setup(&mut self, k: &Kernel) {
        // Before any CPU runs, in a boot context (no cost, not counted: the engine takes its
        // baseline after setup), as the machine was when tracing started.
        for cpu in 0..k.ncpus() {
            if let Some(op) = self.place(k, cpu) {
                if !k.do_op(&BootCpu::new(cpu), &op) {
                    self.stats.borrow_mut().not_applied += 1;
                }
            }
        }
    }

    fn next(&mut self, k: &Kernel, cpu: CpuId) -> Next {
        loop {
            if !self.plan.fill(cpu, true, self.waited[cpu]) {
                if self.plan.eof {
                    return Next::Done;
                }
                // Queues full with other CPUs' steps: none of ours comes before the last
                // trace time read.
                let until = self.plan.last_ts;
                if until > self.waited[cpu] {
                    self.waited[cpu] = until;
                    return Next::Busy {
                        until_ns: until,
                        idle: k.curr(cpu) == k.cpu(cpu).idle,
                    };
                }
                return Next::Spin;
            }
            let s = self.plan.front(cpu).expect("filled").clone();
            if !self.timed[cpu] {
                self.timed[cpu] = true;
                if s.ts > self.waited[cpu] {
                    self.waited[cpu] = s.ts;
                    return Next::Busy {
                        until_ns: s.ts,
                        idle: k.curr(cpu) == k.cpu(cpu).idle,
                    };
                }
            }
            if let Some((c, idx)) = s.dep {
                if self.plan.done(c as usize) <= idx {
                    return Next::Spin;
                }
            }
            let op = match s.kind {
                StepKind::Fork { parent, child } => {
                    self.fork(k, parent, child, s.ts);
                    self.finish(cpu);
                    continue;
                }
                StepKind::Exec { task } => {
                    if self.ensure(k, task) != Some(k.curr(cpu)) {
                        self.stats.borrow_mut().mismatches += 1;
                        self.finish(cpu);
                        continue;
                    }
                    SysOp::Exec
                }
                StepKind::Switch { prev, next, exit } => self.switch_op(k, cpu, prev, next, exit),
            };
            self.issued[cpu] = Some(s);
            return Next::Op(op);
        }
    }

    fn done_op(&mut self, k: &Kernel, cpu: CpuId, op: &SysOp, applied: bool) {
        let Some(s) = self.issued[cpu].take() else {
            return;
        };
        if !applied {
            self.stats.borrow_mut().not_applied += 1;
        }
        match (s.kind, op) {
            (StepKind::Exec { task }, SysOp::Exec) if applied => {
                self.stats.borrow_mut().execs += 1;
                let g = self.plan.tasks.get(task).map(|i| i.tgid.unwrap_or(i.pid));
                if let (Some(g), Some(&t)) = (g, self.model.get(&task)) {
                    self.procs.insert(g, k.task(t).mm());
                }
            }
            (
                StepKind::Switch {
                    prev, exit: true, ..
                },
                _,
            ) => {
                if matches!(op, SysOp::Exit { .. }) {
                    self.stats.borrow_mut().exits += 1;
                }
                let g = self.plan.tasks.get(prev).map(|i| i.tgid.unwrap_or(i.pid));
                if let Some(g) = g {
                    if self.procs.get(&g).is_some_and(|&mm| k.mm_users(mm) == 0) {
                        self.procs.remove(&g);
                    }
                }
                self.model.remove(&prev);
                self.plan.tasks.forget(prev);
            }
            _ => {}
        }
        self.finish(cpu);
    }

    fn ops(&self) -> u64 {
        self.stats.borrow().steps
    }

    fn op_name(&self) -> &'static str {
        "trace step replayed (switch, fork, exec, exit)"
    }
}

impl<I: Iterator<Item = Result<Event, String>>> Replay<I> {
    fn finish(&mut self, cpu: CpuId) {
        self.plan.pop(cpu);
        self.timed[cpu] = false;
        let mut st = self.stats.borrow_mut();
        st.steps += 1;
        st.peak_queued = self.plan.peak_queued;
        st.inferred_from_idle = self.plan.inferred_from_idle;
        st.inferred_other = self.plan.inferred_other;
        st.trace_ns = self.plan.last_ts;
        if st.error.is_none() {
            st.error.clone_from(&self.plan.error);
        }
    }
}
