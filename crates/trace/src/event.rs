//! The events lazymm replays, as every parser produces them.
//!
//! One [`Event`] is one trace line: the header every format prints (the current task's comm,
//! pid and, where recorded, tgid; the CPU; the timestamp) and the tracepoint's fields that a
//! lazy-mm replay needs. Formats differ only in layout; the fields are the tracepoints' own
//! (`include/trace/events/sched.h`, `include/trace/events/tlb.h`).

/// A task as a trace names it: `comm` and pid.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TaskName {
    /// `comm` (at most 15 bytes in the kernel, but traces may show longer names: `<...>`).
    pub comm: String,
    /// The pid (a thread id; 0 is the idle task of the line's CPU).
    pub pid: u32,
}

impl TaskName {
    /// The task `comm` with pid `pid`.
    pub fn new(comm: &str, pid: u32) -> TaskName {
        TaskName {
            comm: comm.to_owned(),
            pid,
        }
    }
}

/// One trace line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Line number in the input, 1-based (for errors and reports).
    pub line: u64,
    /// Timestamp in nanoseconds (ftrace prints microseconds with 6 decimals; perf prints
    /// seconds with 6 or 9 decimals).
    pub ts_ns: u64,
    /// The CPU the event was recorded on.
    pub cpu: u32,
    /// The task running on that CPU when the event fired (the line's header).
    pub current: TaskName,
    /// The current task's tgid, when the trace records it (ftrace `record-tgid`, perf `--tid`
    /// style headers `pid/tid`), else `None`.
    pub tgid: Option<u32>,
    /// The tracepoint and its fields.
    pub kind: EventKind,
}

/// The tracepoints a replay uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `sched_switch`: `prev` leaves the CPU in `prev_state`, `next` runs.
    Switch {
        /// The task switched out.
        prev: TaskName,
        /// `prev_prio`.
        prev_prio: i32,
        /// `prev_state` as printed: `R`, `R+`, `S`, `D`, `T`, `t`, `X`, `Z`, `P`, `I`, or a
        /// `|`-joined set such as `D|K`.
        prev_state: String,
        /// The task switched in.
        next: TaskName,
        /// `next_prio`.
        next_prio: i32,
    },
    /// `sched_wakeup`, `sched_wakeup_new` or `sched_waking`.
    Wakeup {
        /// Which of the three tracepoints.
        which: WakeKind,
        /// The task woken.
        task: TaskName,
        /// Its priority.
        prio: i32,
        /// `target_cpu` (`sched_waking` reports the CPU the task was last on).
        target_cpu: u32,
    },
    /// `sched_process_fork`: `parent` forked `child` (a process or a thread; the tracepoint
    /// does not say which — the child's tgid does, when it is recorded).
    Fork {
        /// The forking task.
        parent: TaskName,
        /// The new task.
        child: TaskName,
    },
    /// `sched_process_exec`: `pid` (formerly `old_pid`) exec'd `filename`.
    Exec {
        /// The new image.
        filename: String,
        /// The task after exec (a non-leader thread that execs takes the leader's pid).
        pid: u32,
        /// The pid before exec.
        old_pid: u32,
    },
    /// `sched_process_exit`: `task` exits (`do_exit` → `exit_mm` follows).
    Exit {
        /// The exiting task.
        task: TaskName,
        /// Its priority.
        prio: i32,
    },
    /// `sched_process_free`: `task`'s `task_struct` is freed (after an RCU grace period).
    Free {
        /// The freed task.
        task: TaskName,
        /// Its priority.
        prio: i32,
    },
    /// `tlb:tlb_flush` (x86 only): `pages` flushed for `reason` on the line's CPU.
    TlbFlush {
        /// `enum tlb_flush_reason`: 0 flush on task switch, 1 remote shootdown, 2 local
        /// shootdown, 3 local mm shootdown, 4 remote send IPI, 5 remote wrong CPU (the last
        /// appears in traces recorded here, `traces/`).
        reason: u32,
        /// Pages flushed; `-1` (`TLB_FLUSH_ALL`) is a full flush.
        pages: i64,
    },
}

impl EventKind {
    /// A `sched_switch` from `prev`, leaving in `prev_state`, to `next`, both at priority 120
    /// (`prio` of a CFS task at nice 0, what ftrace prints for most tasks).
    pub fn switch(prev: TaskName, prev_state: &str, next: TaskName) -> EventKind {
        EventKind::Switch {
            prev,
            prev_prio: 120,
            prev_state: prev_state.to_owned(),
            next,
            next_prio: 120,
        }
    }
}

/// Which wakeup tracepoint a [`EventKind::Wakeup`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WakeKind {
    /// `sched_waking` (in the waker's context, before the task is queued).
    Waking,
    /// `sched_wakeup` (the task is queued on `target_cpu`).
    Wakeup,
    /// `sched_wakeup_new` (a forked task's first wakeup).
    WakeupNew,
}
