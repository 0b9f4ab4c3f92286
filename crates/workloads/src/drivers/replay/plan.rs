//! From the trace's event stream (global order) to per-CPU step queues with dependencies.
//!
//! ```text
//!  event on CPU c (current task T)      step queued on c                  dependency
//!  sched_switch prev → next             Switch { prev, next, exit }        next's last switch
//!                                                                          out (or its fork)
//!  sched_process_fork parent → child    Fork { parent, child }             —
//!  sched_process_exec                   Exec { task }                      —
//!  sched_process_exit                   (marks T dying: its next switch out that is not a
//!                                        preemption, prev_state R/R+, is its exit: exit = true)
//!  any event whose current task T       Switch { prev: U, next: T }         T's last switch
//!  is not U, the task the trace last     (inferred: the trace lacks it)      out
//!  showed on c
//!  sched_wakeup*, sched_process_free, tlb_flush: counted, not replayed (the model's
//!  switches name their next task; frees and flushes follow from the model's own paths)
//! ```
//! Inferred switches (the trace lacks them): [`super::unseen`].
//! A dependency names a step on another CPU by its index there: a CPU runs its steps in
//! order, and a step may run only once the step it depends on ran. Every dependency points
//! to an earlier line of the trace, so the wait-for graph has no cycle.
//!
//! Streaming: [`Planner::pump`] reads one event; the driver pumps only while a CPU needs a
//! step it does not have (or a task's tgid, bounded by [`MAX_QUEUED`]), and steps leave the
//! queues as they run. Memory: the queued steps (a window of trace time) and the live tasks.

use super::tasks::{Kind, Tasks, Uid, IDLE};
use super::unseen::Unseen;
use lazymm_trace::{Event, EventKind, WakeKind};
use std::collections::VecDeque;

/// Most steps queued over all CPUs before a look-ahead (tgid resolution, first placement)
/// stops reading.
pub const MAX_QUEUED: usize = 1 << 18;

/// How far (trace ns) past the time a CPU has reached its look-ahead for its own next step
/// reads: a CPU with no event for a long while (an idle CPU in a trace of a busy one) waits
/// until the last time read and looks again, instead of reading the trace up to
/// [`MAX_QUEUED`] steps ahead. 10 ms of trace time.
pub const LOOKAHEAD_NS: u64 = 10_000_000;

/// Most events the placement of a CPU's task at trace start reads: a CPU silent that long
/// starts in its idle task (its first switch then counts as a mismatch if it was not idle).
pub const PLACE_EVENTS: usize = 1 << 16;

/// How far past a task's first sight a look-ahead about it reads (events): a task switched
/// in is the current task of its CPU's next event, so its tgid shows within a few lines
/// unless the trace lost events; a forked process execs soon after its fork.
pub const RESOLVE_EVENTS: usize = 1 << 12;

/// What a step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// `prev` leaves the CPU, `next` runs; `exit`: `prev`'s final switch (do_exit).
    Switch {
        /// The task switched out.
        prev: Uid,
        /// The task switched in.
        next: Uid,
        /// `prev` is dead after this switch.
        exit: bool,
    },
    /// `parent` (current) forks `child`.
    Fork {
        /// The forking task.
        parent: Uid,
        /// The new task.
        child: Uid,
    },
    /// `task` (current) execs.
    Exec {
        /// The exec'ing task.
        task: Uid,
    },
}

/// One step of a CPU.
#[derive(Clone, Debug)]
pub struct Step {
    /// Trace time from the trace's first event (ns).
    pub ts: u64,
    /// The trace line.
    pub line: u64,
    /// The step that must run first: (CPU, index of the step there).
    pub dep: Option<(u32, u64)>,
    /// What it does.
    pub kind: StepKind,
}

/// Events read, by kind (parse statistics of the replay pass).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct EventCounts {
    /// `sched_switch`.
    pub switch: u64,
    /// `sched_wakeup`, `sched_wakeup_new`, `sched_waking`.
    pub wakeup: u64,
    /// `sched_process_fork`.
    pub fork: u64,
    /// `sched_process_exec`.
    pub exec: u64,
    /// `sched_process_exit`.
    pub exit: u64,
    /// `sched_process_free`.
    pub free: u64,
    /// `tlb:tlb_flush`.
    pub tlb_flush: u64,
}

/// The planner (see the module doc).
pub struct Planner<I> {
    src: I,
    ncpus: usize,
    /// End of the input reached (or an error stopped it).
    pub eof: bool,
    /// The first error in the input, if any.
    pub error: Option<String>,
    queues: Vec<VecDeque<Step>>,
    base: Vec<u64>,
    queued: usize,
    /// Most steps queued at once.
    pub peak_queued: usize,
    /// The tasks.
    pub tasks: Tasks,
    t0: Option<u64>,
    /// Each CPU's task at trace start (the current task of its first event).
    pub initial: Vec<Option<Uid>>,
    /// Events read, by kind.
    pub counts: EventCounts,
    /// Trace time of the last event read (ns from the first).
    pub last_ts: u64,
    /// What the trace shows running on each CPU, for the switches it lacks.
    unseen: Unseen,
    /// Switches the trace lacks, inferred ([`super::unseen`]): out of the idle task.
    pub inferred_from_idle: u64,
    /// Switches the trace lacks, inferred: out of another task.
    pub inferred_other: u64,
}

impl<I: Iterator<Item = Result<Event, String>>> Planner<I> {
    /// A planner over `src` for a machine of `ncpus` CPUs.
    pub fn new(src: I, ncpus: usize) -> Planner<I> {
        Planner {
            src,
            ncpus,
            eof: false,
            error: None,
            queues: (0..ncpus).map(|_| VecDeque::new()).collect(),
            base: vec![0; ncpus],
            queued: 0,
            peak_queued: 0,
            tasks: Tasks::default(),
            t0: None,
            initial: vec![None; ncpus],
            counts: EventCounts::default(),
            last_ts: 0,
            unseen: Unseen::new(ncpus),
            inferred_from_idle: 0,
            inferred_other: 0,
        }
    }

    /// Steps queued now, all CPUs.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// The next step of `cpu`, if read; its index is [`Planner::done`]`(cpu)`.
    pub fn front(&self, cpu: usize) -> Option<&Step> {
        self.queues[cpu].front()
    }

    /// Steps of `cpu` that ran (the index of its next step).
    pub fn done(&self, cpu: usize) -> u64 {
        self.base[cpu]
    }

    /// `cpu`'s next step ran: remove it.
    pub fn pop(&mut self, cpu: usize) -> Option<Step> {
        let s = self.queues[cpu].pop_front()?;
        self.base[cpu] += 1;
        self.queued -= 1;
        Some(s)
    }

    /// Reads one event. Returns false at the end of the input.
    pub fn pump(&mut self) -> bool {
        if self.eof {
            return false;
        }
        match self.src.next() {
            None => {
                self.eof = true;
                false
            }
            Some(Err(e)) => {
                self.error = Some(e);
                self.eof = true;
                false
            }
            Some(Ok(ev)) => {
                if let Err(e) = self.plan(ev) {
                    self.error = Some(e);
                    self.eof = true;
                    return false;
                }
                true
            }
        }
    }

    fn push(&mut self, cpu: usize, ts: u64, line: u64, dep: Option<(u32, u64)>, kind: StepKind) {
        let idx = self.base[cpu] + self.queues[cpu].len() as u64;
        if let StepKind::Switch { prev, .. } = kind {
            if let Some(i) = self.tasks.get_mut(prev) {
                i.last_out = Some((cpu as u32, idx));
            }
        }
        if let StepKind::Fork { child, .. } = kind {
            if let Some(i) = self.tasks.get_mut(child) {
                i.last_out = Some((cpu as u32, idx));
            }
        }
        self.queues[cpu].push_back(Step {
            ts,
            line,
            dep,
            kind,
        });
        self.queued += 1;
        self.peak_queued = self.peak_queued.max(self.queued);
    }

    fn plan(&mut self, ev: Event) -> Result<(), String> {
        self.tasks.events += 1;
        let cpu = ev.cpu as usize;
        if cpu >= self.ncpus {
            return Err(format!(
                "line {}: cpu {} but the replay has {} CPUs (--cpus)",
                ev.line, ev.cpu, self.ncpus
            ));
        }
        let t0 = *self.t0.get_or_insert(ev.ts_ns);
        let ts = ev.ts_ns.saturating_sub(t0);
        self.last_ts = self.last_ts.max(ts);
        let in_switch = self.unseen.in_switch(cpu, &ev);
        let cur = match in_switch {
            Some(u) => u,
            None => (self.tasks).running(ev.cpu, ev.current.pid, &ev.current.comm, ev.tgid),
        };
        if self.initial[cpu].is_none() {
            // A task forked earlier in the trace was not running here when it started: the
            // CPU was idle, and the switch in is one the trace lacks (`unseen`).
            let forked = self.tasks.get(cur).is_some_and(|i| i.forked);
            let first = if forked { IDLE } else { cur };
            self.initial[cpu] = Some(first);
            self.unseen.start(cpu, first);
        }
        let line = ev.line;
        if in_switch.is_none() {
            if let Some((was, at)) = self.unseen.line(cpu, cur, &ev.kind, ts) {
                self.infer_switch(cpu, at, line, was, cur);
            }
        }
        match ev.kind {
            EventKind::Switch {
                prev,
                prev_state,
                next,
                ..
            } => {
                self.counts.switch += 1;
                let sw = self.tasks.switch(ev.cpu, &prev, &prev_state, &next);
                let (p, n, exit) = (sw.prev, sw.next, sw.last);
                self.unseen.switched(cpu, p, prev.pid, n, ts);
                let dep = if n == IDLE {
                    None
                } else {
                    self.tasks.get(n).and_then(|i| i.last_out)
                };
                self.push(
                    cpu,
                    ts,
                    line,
                    dep,
                    StepKind::Switch {
                        prev: p,
                        next: n,
                        exit,
                    },
                );
                if exit {
                    self.tasks.retire(p);
                    self.unseen.retired(p);
                }
            }
            EventKind::Fork { parent, child } => {
                self.counts.fork += 1;
                let p = self.tasks.named(parent.pid, &parent.comm, None);
                let c = self.tasks.forked(child.pid, p);
                self.push(
                    cpu,
                    ts,
                    line,
                    None,
                    StepKind::Fork {
                        parent: p,
                        child: c,
                    },
                );
            }
            EventKind::Exec { pid, old_pid, .. } => {
                self.counts.exec += 1;
                let t = self.tasks.exec(pid, old_pid, &ev.current.comm);
                self.push(cpu, ts, line, None, StepKind::Exec { task: t });
            }
            EventKind::Exit { task, .. } => {
                self.counts.exit += 1;
                let t = self.tasks.named(task.pid, &task.comm, None);
                if let Some(i) = self.tasks.get_mut(t) {
                    i.dying = true;
                }
            }
            EventKind::Wakeup {
                which,
                task,
                target_cpu,
                ..
            } => {
                self.counts.wakeup += 1;
                if which != WakeKind::Waking {
                    let u = self.tasks.named(task.pid, &task.comm, None);
                    self.unseen.woken(u, target_cpu, ts);
                }
            }
            EventKind::Free { .. } => self.counts.free += 1,
            EventKind::TlbFlush { .. } => self.counts.tlb_flush += 1,
        }
        Ok(())
    }

    /// Queues the switch `was` → `now` at `at` on `cpu` that the trace lacks (before the
    /// line `line` that shows `now` running there: [`super::unseen`]); it waits for `now`'s
    /// last switch out, as any switch does.
    fn infer_switch(&mut self, cpu: usize, at: u64, line: u64, was: Uid, now: Uid) {
        if was == IDLE {
            self.inferred_from_idle += 1;
        } else {
            self.inferred_other += 1;
        }
        let dep = if now == IDLE {
            None
        } else {
            self.tasks.get(now).and_then(|i| i.last_out)
        };
        let kind = StepKind::Switch {
            prev: was,
            next: now,
            exit: false,
        };
        self.push(cpu, at, line, dep, kind);
    }

    /// Reads on until `cpu` has a step queued, the input ends, or (`bounded`) the queues
    /// hold [`MAX_QUEUED`] steps, or (`bounded`) the last time read is more than
    /// [`LOOKAHEAD_NS`] past `at`, the time `cpu` has reached. Returns whether `cpu` has a
    /// step.
    pub fn fill(&mut self, cpu: usize, bounded: bool, at: u64) -> bool {
        while self.queues[cpu].is_empty() {
            if bounded
                && (self.queued >= MAX_QUEUED || self.last_ts > at.saturating_add(LOOKAHEAD_NS))
            {
                return false;
            }
            if !self.pump() {
                break;
            }
        }
        !self.queues[cpu].is_empty()
    }

    /// Reads on until task `u`'s tgid is known, the input ends, the reader is
    /// [`RESOLVE_EVENTS`] events past `u`'s first sight, or the queues hold [`MAX_QUEUED`]
    /// steps. Returns its tgid if known.
    pub fn resolve_tgid(&mut self, u: Uid) -> Option<u32> {
        loop {
            let i = self.tasks.get(u)?;
            if i.tgid.is_some() || i.kind == Kind::Idle {
                return i.tgid;
            }
            if !self.may_read_for(i.seen_at) {
                return None;
            }
        }
    }

    /// Whether a look-ahead about something first seen after `seen_at` events may read one
    /// more event (and reads it).
    fn may_read_for(&mut self, seen_at: u64) -> bool {
        self.tasks.events < seen_at + RESOLVE_EVENTS as u64
            && self.queued < MAX_QUEUED
            && self.pump()
    }

    /// Reads on until task `u` execs or exits, the input ends, the reader is
    /// [`RESOLVE_EVENTS`] events past `u`'s first sight, or the queues hold [`MAX_QUEUED`]
    /// steps. Returns whether it exec'd.
    pub fn resolve_exec(&mut self, u: Uid) -> bool {
        loop {
            let Some(i) = self.tasks.get(u) else {
                return false;
            };
            if i.execd || i.dying {
                return i.execd;
            }
            if !self.may_read_for(i.seen_at) {
                return false;
            }
        }
    }

    /// Reads on until `cpu`'s task at trace start is known, the input ends,
    /// [`PLACE_EVENTS`] events were read, or the queues hold [`MAX_QUEUED`] steps.
    pub fn resolve_initial(&mut self, cpu: usize) -> Option<Uid> {
        for _ in 0..PLACE_EVENTS {
            if self.initial[cpu].is_some() {
                break;
            }
            if self.queued >= MAX_QUEUED || !self.pump() {
                break;
            }
        }
        self.initial[cpu]
    }
}
