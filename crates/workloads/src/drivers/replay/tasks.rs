//! The trace's tasks: pid → task incarnation, tgid, and whether it is a kernel thread.
//!
//! A trace names tasks by pid, and pids are reused: every incarnation gets its own [`Uid`]
//! (a fork, or the first sight of a task alive at trace start), and a pid maps to its
//! current incarnation only while it lives. Rules (the issue's, in this order):
//!
//! - pid 0 is the idle task of the line's CPU (`swapper/N`): [`Kind::Idle`].
//! - A forked child is a kernel thread iff its parent is one (kthreadd, pid 2, and its
//!   descendants; a `user_mode_thread` child of a kworker has no mm until it execs, which
//!   is what the model's kthread + `Exec` does). Otherwise it is a thread of its parent's
//!   process iff its tgid (learned when it runs: ftrace `record-tgid`, perf `pid/tid`)
//!   equals the parent's, else a new process (fork: a new mm). A trace without tgids
//!   (`trace-cmd report`, `perf script` without `-F pid,tid`) cannot say: there a child is a
//!   thread unless it execs within the look-ahead (`plan::RESOLVE_EVENTS` events) — most
//!   forked processes exec at once, threads never do (counted: forks classified so).
//! - A task alive at trace start (first seen without a fork) is kthreadd (pid 2), a user
//!   thread if its tgid is known and differs from its pid, else a kernel thread if its
//!   `comm` matches [`KTHREAD_PREFIXES`] (counted as classified by name), else a user task
//!   of process `tgid` (or of its own pid when the trace records no tgid: counted).
//! - `sched_process_exec` makes a task a user task with a fresh mm; a non-leader thread
//!   that execs takes the leader's pid.
//! - A fork whose child pid still names a live incarnation retires that one: the kernel
//!   hands out a pid only after `release_task` freed it, so the old task has exited. If it
//!   is running on a CPU as the trace last showed it, its final switch there is still to
//!   come (`release_task` of an autoreaped task runs inside `do_exit`, before the final
//!   `schedule()`; a parent may reap a zombie on another CPU before that): that CPU's lines
//!   naming the pid, up to its next switch, are the old task's ([`Tasks::running`]).
//!   Otherwise the pid names the new task from the fork on. The scan and the planner both
//!   follow these rules through [`Tasks::forked`], [`Tasks::running`] and [`Tasks::switch`].

pub use super::kthreads::{kthread_name, KTHREAD_PREFIXES};
use lazymm_trace::TaskName;
use std::collections::HashMap;

/// A task incarnation's id in a replay.
pub type Uid = u32;

/// The idle task (pid 0) of whatever CPU names it.
pub const IDLE: Uid = u32::MAX;

/// What a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A CPU's idle task.
    Idle,
    /// A kernel thread (no mm).
    Kthread,
    /// A user task.
    User,
}

/// One task incarnation.
#[derive(Clone, Debug)]
pub struct Info {
    /// Its pid now.
    pub pid: u32,
    /// Its tgid, once a line recorded it.
    pub tgid: Option<u32>,
    /// Its kind.
    pub kind: Kind,
    /// Created by a fork in the trace (else alive at trace start).
    pub forked: bool,
    /// Classified a kernel thread by its name only.
    pub by_name: bool,
    /// `sched_process_exit` seen: its next switch out that is not a preemption is its last.
    pub dying: bool,
    /// `sched_process_exec` seen.
    pub execd: bool,
    /// Events read before this incarnation was first seen (bounds look-aheads about it).
    pub seen_at: u64,
    /// Where its last switch out (or its fork) is: (CPU, step index there).
    pub last_out: Option<(u32, u64)>,
}

/// A `sched_switch` line's tasks ([`Tasks::switch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Switched {
    /// The task switched out.
    pub prev: Uid,
    /// The task switched in.
    pub next: Uid,
    /// This is `prev`'s final switch ([`Tasks::final_switch`]).
    pub last: bool,
}

/// The live task incarnations.
#[derive(Debug, Default)]
pub struct Tasks {
    /// Events read so far (set by the reader; stamps new incarnations).
    pub events: u64,
    by_pid: HashMap<u32, Uid>,
    info: HashMap<Uid, Info>,
    next: Uid,
    /// Each CPU's task as the trace last showed it (a line's current task, a switch's next).
    on_cpu: Vec<Uid>,
    /// By CPU: the task running there whose pid a fork has reused since (see the module doc),
    /// until that CPU's next switch.
    displaced: HashMap<u32, Uid>,
}

impl Tasks {
    /// The current incarnation of the task a line names (created, alive at trace start, at
    /// first sight). `tgid`: the line recorded it (the line's current task).
    pub fn named(&mut self, pid: u32, comm: &str, tgid: Option<u32>) -> Uid {
        if pid == 0 {
            return IDLE;
        }
        if let Some(&u) = self.by_pid.get(&pid) {
            if let (Some(g), Some(i)) = (tgid, self.info.get_mut(&u)) {
                i.tgid = Some(g);
            }
            return u;
        }
        let (kind, by_name) = if pid == 2 {
            (Kind::Kthread, false)
        } else if tgid.is_some_and(|g| g != pid) {
            (Kind::User, false)
        } else if kthread_name(comm) {
            (Kind::Kthread, true)
        } else {
            (Kind::User, false)
        };
        self.insert(Info {
            pid,
            tgid,
            kind,
            forked: false,
            by_name,
            dying: false,
            execd: false,
            seen_at: self.events,
            last_out: None,
        })
    }

    /// A fork's child: a new incarnation of `pid`, a kernel thread iff `parent` is one. A live
    /// incarnation `pid` still named is retired (it exited: see the module doc), and stays
    /// the task of the CPUs the trace last showed running it until their next switch; its
    /// record stays until its final switch (or the end of the trace, if that is not traced,
    /// as for any task whose exit the trace lacks: the replay's model keeps it too).
    pub fn forked(&mut self, pid: u32, parent: Uid) -> Uid {
        if let Some(old) = self.lookup(pid) {
            self.retire(old);
            for (cpu, &u) in self.on_cpu.iter().enumerate() {
                if u == old {
                    self.displaced.insert(cpu as u32, old);
                }
            }
        }
        let kind = match self.get(parent).map(|i| i.kind) {
            Some(Kind::Kthread) | Some(Kind::Idle) => Kind::Kthread,
            _ => Kind::User,
        };
        self.insert(Info {
            pid,
            tgid: None,
            kind,
            forked: true,
            by_name: false,
            dying: false,
            execd: false,
            seen_at: self.events,
            last_out: None,
        })
    }

    fn insert(&mut self, info: Info) -> Uid {
        let u = self.next;
        self.next = self.next.wrapping_add(1) % IDLE;
        self.by_pid.insert(info.pid, u);
        self.info.insert(u, info);
        u
    }

    /// `sched_process_exec`: `old_pid`'s task is a user task now, named `pid`.
    pub fn exec(&mut self, pid: u32, old_pid: u32, comm: &str) -> Uid {
        let u = self.named(old_pid, comm, None);
        if let Some(i) = self.info.get_mut(&u) {
            i.kind = Kind::User;
            i.by_name = false;
            i.execd = true;
            if pid != old_pid {
                i.pid = pid;
                self.by_pid.remove(&old_pid);
                self.by_pid.insert(pid, u);
            }
        }
        u
    }

    /// The task exited for good: its pid no longer names it (a later fork may reuse it).
    pub fn retire(&mut self, u: Uid) {
        if let Some(i) = self.info.get(&u) {
            if self.by_pid.get(&i.pid) == Some(&u) {
                self.by_pid.remove(&i.pid);
            }
        }
        if !self.displaced.is_empty() {
            self.displaced.retain(|_, d| *d != u);
        }
    }

    /// The task a line on `cpu` shows running there by `pid` (the line's current task, a
    /// switch's prev; `tgid`: the line recorded it): the task running on `cpu` whose pid a
    /// fork reused since ([`Tasks::forked`]) if it has `pid`, else `pid`'s live incarnation
    /// ([`Tasks::named`]). It is `cpu`'s task from now on.
    pub fn running(&mut self, cpu: u32, pid: u32, comm: &str, tgid: Option<u32>) -> Uid {
        let u = match self.displaced.get(&cpu) {
            Some(&u) if self.info.get(&u).is_some_and(|i| i.pid == pid) => {
                if let (Some(g), Some(i)) = (tgid, self.info.get_mut(&u)) {
                    i.tgid = Some(g);
                }
                u
            }
            _ => self.named(pid, comm, tgid),
        };
        self.set_on_cpu(cpu, u);
        u
    }

    /// A `sched_switch` on `cpu`: `prev` as [`Tasks::running`] finds it, `next` as
    /// [`Tasks::named`] does, and whether this is `prev`'s final switch; `next` is `cpu`'s
    /// task from now on.
    pub fn switch(
        &mut self,
        cpu: u32,
        prev: &TaskName,
        prev_state: &str,
        next: &TaskName,
    ) -> Switched {
        let p = self.running(cpu, prev.pid, &prev.comm, None);
        let n = self.named(next.pid, &next.comm, None);
        let last = self.final_switch(p, prev_state);
        self.displaced.remove(&cpu);
        self.set_on_cpu(cpu, n);
        Switched {
            prev: p,
            next: n,
            last,
        }
    }

    fn set_on_cpu(&mut self, cpu: u32, u: Uid) {
        let c = cpu as usize;
        if c >= self.on_cpu.len() {
            self.on_cpu.resize(c + 1, IDLE);
        }
        self.on_cpu[c] = u;
    }

    /// Drops a retired incarnation's record (its last step ran).
    pub fn forget(&mut self, u: Uid) {
        self.retire(u);
        self.info.remove(&u);
    }

    /// Whether `prev`'s switch out with `prev_state` is its final one: it passed
    /// `sched_process_exit` and this switch is not a preemption (`R`/`R+`), so `do_exit` (and
    /// `exit_mm`) ran right before it. The planner and the scan pass both decide exits by it
    /// (through [`Tasks::switch`]).
    pub fn final_switch(&self, prev: Uid, prev_state: &str) -> bool {
        prev != IDLE && !prev_state.starts_with('R') && self.get(prev).is_some_and(|i| i.dying)
    }

    /// A task's record.
    pub fn get(&self, u: Uid) -> Option<&Info> {
        self.info.get(&u)
    }

    /// A task's record, to update.
    pub fn get_mut(&mut self, u: Uid) -> Option<&mut Info> {
        self.info.get_mut(&u)
    }

    /// The live incarnation `pid` names, if any.
    pub fn lookup(&self, pid: u32) -> Option<Uid> {
        self.by_pid.get(&pid).copied()
    }

    /// Removes and returns every record.
    pub fn drain(&mut self) -> Vec<Info> {
        self.by_pid.clear();
        self.displaced.clear();
        self.info.drain().map(|(_, i)| i).collect()
    }

    /// Incarnations recorded now.
    pub fn live(&self) -> usize {
        self.info.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reused_pid_after_retire_is_a_new_incarnation() {
        let mut t = Tasks::default();
        let a = t.named(100, "sh", Some(100));
        assert_eq!(t.named(100, "sh", None), a);
        t.retire(a);
        let b = t.forked(100, a);
        assert_ne!(a, b);
        assert_eq!(t.named(100, "sh", None), b);
    }

    fn tn(comm: &str, pid: u32) -> TaskName {
        TaskName::new(comm, pid)
    }

    /// A fork reuses pid 100 while its old task, exiting, still runs on CPU 0 (its pid was
    /// released before its final switch): CPU 0's lines name the old task up to CPU 0's
    /// next switch, its final one; every other mention of pid 100 is the new task.
    #[test]
    fn reused_pid_of_a_running_task_names_it_on_its_cpu_until_its_switch() {
        let mut t = Tasks::default();
        let a = t.running(0, 100, "a", Some(100));
        t.get_mut(a).unwrap().dying = true;
        let sh = t.running(1, 50, "sh", Some(50));
        let b = t.forked(100, sh);
        assert_ne!(a, b);
        assert_eq!((t.lookup(100), t.named(100, "b", None)), (Some(b), b));
        assert_eq!(t.running(0, 100, "a", Some(100)), a);
        let sw = t.switch(0, &tn("a", 100), "X", &tn("swapper/0", 0));
        let want = Switched {
            prev: a,
            next: IDLE,
            last: true,
        };
        assert_eq!(sw, want);
        assert_eq!(t.running(0, 100, "b", Some(100)), b);
        assert_eq!(t.get(b).unwrap().tgid, Some(100));
    }

    /// A fork reuses the pid of a task the trace shows running nowhere (its exit was not
    /// traced): the pid names the new task everywhere; the old record stays (the replay's
    /// model keeps the task: the trace never ends it).
    #[test]
    fn reused_pid_of_a_sleeping_task_names_the_new_task() {
        let mut t = Tasks::default();
        let a = t.running(0, 100, "a", None);
        let s = t.switch(0, &tn("a", 100), "S", &tn("sh", 50));
        assert!(!s.last);
        let b = t.forked(100, s.next);
        assert_eq!(t.running(0, 100, "b", None), b);
        assert_ne!(a, b);
        assert_eq!(t.live(), 3, "a, sh, b");
    }

    #[test]
    fn exec_by_a_non_leader_takes_the_leader_pid() {
        let mut t = Tasks::default();
        let th = t.named(101, "worker", Some(100));
        let u = t.exec(100, 101, "worker");
        assert_eq!(u, th);
        assert_eq!(t.named(100, "x", None), th);
        assert_eq!(t.get(th).unwrap().kind, Kind::User);
    }
}
