//! Event builders of the hand-written replay traces (tests/replay.rs, tests/replay_pid_reuse.rs):
//! a line at 1 s + `us` µs, a sched_switch, line numbers, and the variants clean on x86.

use lazymm_model::era::{self, Variant};
use lazymm_model::ArchId;
use lazymm_trace::{Event, EventKind, TaskName};

/// A task name as a trace line gives it.
pub fn t(comm: &str, pid: u32) -> TaskName {
    TaskName::new(comm, pid)
}

/// A line at 1 s + `us` µs on `cpu` whose current task is `cur` (tgid `tgid`, None for idle,
/// which ftrace's header names `<idle>`).
pub fn ev(us: u64, cpu: u32, cur: (&str, u32), tgid: Option<u32>, kind: EventKind) -> Event {
    Event {
        line: 0,
        ts_ns: 1_000_000_000 + us * 1000,
        cpu,
        current: t(if cur.1 == 0 { "<idle>" } else { cur.0 }, cur.1),
        tgid,
        kind,
    }
}

/// A sched_switch from `prev` (leaving in `state`) to `next`, both at priority 120.
pub fn sw(prev: (&str, u32), state: &str, next: (&str, u32)) -> EventKind {
    EventKind::switch(t(prev.0, prev.1), state, t(next.0, next.1))
}

/// The events with their line numbers, 1 up.
pub fn numbered(mut evs: Vec<Event>) -> Vec<Event> {
    for (i, e) in evs.iter_mut().enumerate() {
        e.line = i as u64 + 1;
    }
    evs
}

/// The variants expected clean on x86.
pub fn clean_x86() -> Vec<Variant> {
    era::variants()
        .into_iter()
        .filter(|v| v.clean_on(ArchId::X86))
        .collect()
}
