//! One streaming pass over a trace before replaying it: what it holds (events per kind,
//! tasks, processes, kernel threads), its CPU count and duration, whether it records
//! tgids, and the model tables a replay needs. It applies the same task rules as the
//! replay ([`super::tasks`]: the same calls for a line's current task, a switch and a fork),
//! without a model; memory: the live tasks (a task whose exit the trace lacks stays to the
//! end, as it does in the replay's model).

use super::plan::EventCounts;
use super::tasks::{Info, Kind, Tasks, Uid};
use super::Capacity;
use lazymm_trace::{Event, EventKind};

/// What a scan found.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Scan {
    /// Events by kind.
    pub events: EventCounts,
    /// Events in all.
    pub total: u64,
    /// Highest CPU number + 1.
    pub cpus: usize,
    /// First and last timestamps (ns).
    pub first_ns: u64,
    /// Last timestamp (ns).
    pub last_ns: u64,
    /// Some line recorded a tgid.
    pub has_tgid: bool,
    /// Task incarnations (pid reuse counts again), idle tasks excluded.
    pub tasks: u64,
    /// User processes: user incarnations that lead their thread group (tgid = pid; without
    /// tgids: alive at trace start, or forked and exec'd). Each exec also starts a new mm
    /// (`events.exec`).
    pub processes: u64,
    /// Kernel-thread incarnations.
    pub kthreads: u64,
    /// Of those, classified by name only.
    pub kthreads_by_name: u64,
    /// Most tasks alive at once (a task retired by a fork that reused its pid counts until its
    /// final switch, or to the end if the trace lacks it: the replay's model holds it).
    pub peak_live: usize,
}

impl Scan {
    /// Trace duration (ns).
    pub fn duration_ns(&self) -> u64 {
        self.last_ns.saturating_sub(self.first_ns)
    }

    /// The model tables a replay of this trace on `ncpus` CPUs needs: the live tasks, every
    /// kernel thread (the model has no kthread exit, so their slots are never reaped), and
    /// mms pending free (at most a few per CPU under any scheme).
    pub fn capacity(&self, ncpus: usize) -> Capacity {
        Capacity {
            tasks: self.peak_live + self.kthreads as usize + 64,
            mms: self.peak_live + 2 * ncpus + 64,
        }
    }
}

/// Scans `events`, stopping at the first error (returned).
pub fn scan<I: Iterator<Item = Result<Event, String>>>(events: I) -> Result<Scan, String> {
    let mut s = Scan::default();
    let mut t = Tasks::default();
    let count = |s: &mut Scan, i: &Info| {
        s.tasks += 1;
        match i.kind {
            Kind::Kthread => {
                s.kthreads += 1;
                s.kthreads_by_name += i.by_name as u64;
            }
            Kind::User => {
                // Without a tgid, the replay's rule: a forked child that never exec'd is a
                // thread.
                let leader = match i.tgid {
                    Some(g) => g == i.pid,
                    None => !i.forked || i.execd,
                };
                s.processes += leader as u64;
            }
            Kind::Idle => {}
        }
    };
    let forget = |s: &mut Scan, t: &mut Tasks, u: Uid| {
        if let Some(i) = t.get(u) {
            count(s, i);
        }
        t.forget(u);
    };
    for ev in events {
        let ev = ev?;
        if s.total == 0 {
            s.first_ns = ev.ts_ns;
        }
        s.total += 1;
        s.last_ns = s.last_ns.max(ev.ts_ns);
        s.cpus = s.cpus.max(ev.cpu as usize + 1);
        s.has_tgid |= ev.tgid.is_some();
        t.running(ev.cpu, ev.current.pid, &ev.current.comm, ev.tgid);
        match ev.kind {
            EventKind::Switch {
                prev,
                prev_state,
                next,
                ..
            } => {
                s.events.switch += 1;
                let sw = t.switch(ev.cpu, &prev, &prev_state, &next);
                if sw.last {
                    forget(&mut s, &mut t, sw.prev);
                }
            }
            EventKind::Fork { parent, child } => {
                s.events.fork += 1;
                let p = t.named(parent.pid, &parent.comm, None);
                // A reused pid retires its old incarnation, which is counted at its final
                // switch (or at the end): the replay's model holds it until then too.
                t.forked(child.pid, p);
            }
            EventKind::Exec { pid, old_pid, .. } => {
                s.events.exec += 1;
                t.exec(pid, old_pid, &ev.current.comm);
            }
            EventKind::Exit { task, .. } => {
                s.events.exit += 1;
                let u = t.named(task.pid, &task.comm, None);
                if let Some(i) = t.get_mut(u) {
                    i.dying = true;
                }
            }
            EventKind::Wakeup { .. } => s.events.wakeup += 1,
            EventKind::Free { .. } => s.events.free += 1,
            EventKind::TlbFlush { .. } => s.events.tlb_flush += 1,
        }
        s.peak_live = s.peak_live.max(t.live());
    }
    for i in t.drain() {
        count(&mut s, &i);
    }
    Ok(s)
}
