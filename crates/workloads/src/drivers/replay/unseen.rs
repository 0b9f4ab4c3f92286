//! Switches the trace lacks, and where to put them.
//!
//! Some kernels record no `sched_switch` out of the idle task on CPUs other than 0, and none
//! out of some tasks (seen here on the 6.18.44-fc guests, which boot with the non-mainline
//! `sched_vcpu_pack=15`: neither ftrace nor perf shows a switch out of `swapper/N` for N > 0
//! or any line of the sandbox agent's `tokio-rt-worker`, while every other line of those
//! CPUs is there; `traces/README.md`), and any trace can lose events. A line's header names
//! the task running on its CPU, so a task that runs where the trace last showed another one
//! was switched in unseen:
//!
//! ```text
//!  cpu1  gcc-772   sched_switch gcc-772 ==> swapper/1      shown: idle
//!  cpu0  <idle>-0  sched_wakeup cc1-791 target_cpu=001     (woken to cpu1 at t_w)
//!  cpu1  cc1-791   tlb_flush …                             shown idle, line says cc1-791:
//!                                                          Switch { idle → cc1-791 } at t_w
//! ```
//! The inferred switch is placed at the earliest time the trace allows: the latest of the
//! CPU's previous line, the task's last switch out (elsewhere), and its
//! `sched_wakeup`/`sched_wakeup_new` to this CPU (an idle CPU runs a task woken to it within
//! microseconds). Its `prev` is not an exit. Not a sign of a missing switch:
//! `switch_mm_irqs_off`'s `tlb_flush` "flush on task switch" (reason 0), which
//! `context_switch` emits after `sched_switch` and before `switch_to`, so its current task is
//! still prev (which may have exited: then its pid names no live task, and no task is made up
//! for it); and a non-leader thread's exec line, which already names the leader's pid.

use super::tasks::{Uid, IDLE};
use lazymm_trace::{Event, EventKind};
use std::collections::HashMap;

/// What the trace shows running on each CPU (see the module doc).
pub(super) struct Unseen {
    /// By CPU: the current task of its first line, then each switch's next.
    shown: Vec<Option<Uid>>,
    /// By CPU: the prev of its last switch (task, pid) while the switch is under way.
    window: Vec<Option<(Uid, u32)>>,
    /// By CPU: trace time of its last line (ns from the first).
    cpu_ts: Vec<u64>,
    /// By task: its last `sched_wakeup`/`sched_wakeup_new` (target CPU, trace time).
    woken: HashMap<Uid, (u32, u64)>,
    /// By task: trace time of its last switch out.
    out_at: HashMap<Uid, u64>,
}

impl Unseen {
    pub(super) fn new(ncpus: usize) -> Unseen {
        Unseen {
            shown: vec![None; ncpus],
            window: vec![None; ncpus],
            cpu_ts: vec![0; ncpus],
            woken: HashMap::new(),
            out_at: HashMap::new(),
        }
    }

    /// The task the line `ev` of `cpu` shows, if the line belongs to the switch under way
    /// there (its prev's "flush on task switch"): then it says nothing about a missing switch.
    pub(super) fn in_switch(&self, cpu: usize, ev: &Event) -> Option<Uid> {
        match self.window[cpu] {
            Some((u, pid)) if pid == ev.current.pid => {
                matches!(ev.kind, EventKind::TlbFlush { reason: 0, .. }).then_some(u)
            }
            _ => None,
        }
    }

    /// `cpu` ran `u` when the trace started (its first line's task, or idle).
    pub(super) fn start(&mut self, cpu: usize, u: Uid) {
        self.shown[cpu] = Some(u);
    }

    /// A line of `cpu` at `ts` (not one of a switch under way) shows `cur` running: the
    /// switch the trace lacks, if any — (prev, when).
    pub(super) fn line(
        &mut self,
        cpu: usize,
        cur: Uid,
        kind: &EventKind,
        ts: u64,
    ) -> Option<(Uid, u64)> {
        let prev_ts = std::mem::replace(&mut self.cpu_ts[cpu], ts);
        let Some(was) = self.shown[cpu] else {
            self.shown[cpu] = Some(cur);
            return None;
        };

        if cur == was {
            self.window[cpu] = None;
            return None;
        }
        if matches!(kind, EventKind::Exec { pid, old_pid, .. } if pid != old_pid) {
            return None;
        }
        self.window[cpu] = None;
        self.shown[cpu] = Some(cur);
        let woken = match self.woken.remove(&cur) {
            Some((c, at)) if c as usize == cpu => at,
            _ => 0,
        };
        // Not before `cur` left the CPU it last ran on.
        let left = self.out_at.get(&cur).copied().unwrap_or(0);
        let at = prev_ts.max(woken).max(left).min(ts);
        if was != IDLE {
            self.out_at.insert(was, at);
        }
        Some((was, at))
    }

    /// A traced switch `p` (pid `prev_pid`) → `n` on `cpu` at `ts`.
    pub(super) fn switched(&mut self, cpu: usize, p: Uid, prev_pid: u32, n: Uid, ts: u64) {
        self.woken.remove(&n);
        if p != IDLE {
            self.out_at.insert(p, ts);
        }
        self.shown[cpu] = Some(n);
        self.window[cpu] = Some((p, prev_pid));
    }

    /// `u` was woken to `cpu` at `ts` (`sched_wakeup`, `sched_wakeup_new`).
    pub(super) fn woken(&mut self, u: Uid, cpu: u32, ts: u64) {
        self.woken.insert(u, (cpu, ts));
    }

    /// `u` is dead (its final switch).
    pub(super) fn retired(&mut self, u: Uid) {
        self.out_at.remove(&u);
        self.woken.remove(&u);
    }
}
