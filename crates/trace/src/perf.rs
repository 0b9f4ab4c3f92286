//! `perf script` text.
//!
//! `perf script` (tools/perf/builtin-script.c, `perf_sample__fprintf_start()`) prints for a
//! tracepoint sample, by default, `%16s %5d [%03d] %5lu.%06lu: %*s: ` (comm, tid, CPU,
//! timestamp, `system:event` right-aligned), then the tracepoint's `TP_printk` output as
//! libtraceevent renders it (`include/trace/events/sched.h`). `-F` with both `pid` and `tid`
//! prints `PID/TID` (the thread group id, then the thread's); `--ns` prints nanoseconds.
//!
//! ```text
//!      my comm-x y 15468 [000] 20557.069984: sched:sched_process_fork: comm=my comm-x y pid=15468 child_comm=my comm-x y child_pid=15470
//!      a=b c-9 [1] 15476/15476 [001] 20557.115302:   sched:sched_wakeup_new: comm=a=b c-9 [1] pid=15477 prio=120 target_cpu=000
//!     a=b c-9 [1] 15476 [001] 20557.115277496:            tlb:tlb_flush: pages:-1 reason:local MM shootdown (3)
//! ```
//!
//! (perf 6.1 on Linux 6.18, this machine.) The comm is everything before the last space-
//! separated token before `[CPU]`, with its padding removed. Where perf has lost the sampled
//! thread it prints comm `:-1` and pid `-1` (seen here on an exiting task's last
//! `sched_switch` and the task-switch `tlb_flush` after it); [`crate::parser`] says which of
//! those events still name their current task. Events of systems other than
//! `sched` and `tlb` are ignored; so are `#` lines (`perf script --header`).

use crate::event::Event;
use crate::header::{digits_u32, lead_with_space, pop_cpu, Prefix};
use crate::render;
use std::fmt::Write;

/// The form of a perf script line, for errors.
pub const LINE_FORM: &str = "perf script line `COMM PID[/TID] [CPU] TS: SYSTEM:EVENT: FIELDS`";

/// Reads the header before the timestamp: `COMM TID [CPU]` or `COMM PID/TID [CPU]`.
pub fn prefix(p: &str) -> Option<Prefix<'_>> {
    let (rest, cpu) = pop_cpu(p)?;
    let rest = rest.trim_end_matches(' ');
    let i = rest.rfind(' ')?;
    let (comm, ids) = (rest[..i].trim_matches(' '), &rest[i + 1..]);
    let (tgid, pid) = match ids.split_once('/') {
        _ if ids == "-1" || ids == "-1/-1" => (None, None),
        Some((pid, tid)) => (Some(digits_u32(pid)?), Some(digits_u32(tid)?)),
        None => (None, Some(digits_u32(ids)?)),
    };
    Some(Prefix {
        comm,
        pid,
        tgid,
        cpu,
    })
}

/// The tracepoint name of a perf event name (`sched:sched_switch` → `sched_switch`); `None`
/// for systems other than `sched` and `tlb`.
pub fn tracepoint(event: &str) -> Option<&str> {
    event
        .strip_prefix("sched:")
        .or_else(|| event.strip_prefix("tlb:"))
}

/// The `perf script --ns` line of `ev` (`PID/TID` when `ev.tgid` is set). perf pads the comm,
/// so a comm's leading and trailing spaces do not survive a round trip; one of 16 or more
/// bytes gets a leading space, so that it is not taken for a comment.
pub fn write(ev: &Event) -> String {
    let mut s = String::with_capacity(160);
    let ids = match ev.tgid {
        Some(t) => format!("{t}/{}", ev.current.pid),
        None => format!("{:5}", ev.current.pid),
    };
    let (secs, ns) = (ev.ts_ns / 1_000_000_000, ev.ts_ns % 1_000_000_000);
    let sys = match ev.kind {
        crate::EventKind::TlbFlush { .. } => "tlb",
        _ => "sched",
    };
    let name = format!("{sys}:{}", render::name(&ev.kind));
    let _ = write!(
        s,
        "{:>16} {ids} [{:03}] {secs:5}.{ns:09}: {name:>24}: ",
        ev.current.comm, ev.cpu
    );
    render::write_kv(&mut s, &ev.kind);
    lead_with_space(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tid_pid_slash_tid_and_lost_thread_headers_are_read() {
        let p = |s| prefix(s).map(|p| (p.comm, p.pid, p.tgid, p.cpu));
        assert_eq!(
            p("     my comm-x y 15468 [000]"),
            Some(("my comm-x y", Some(15468), None, 0))
        );
        assert_eq!(
            p("     a=b c-9 [1] 15476/15477 [001]"),
            Some(("a=b c-9 [1]", Some(15477), Some(15476), 1))
        );
        assert_eq!(
            p("             :-1    -1 [001]"),
            Some((":-1", None, None, 1))
        );
        assert_eq!(
            p("             :-1    -1/-1    [001]"),
            Some((":-1", None, None, 1))
        );
        assert_eq!(p("  bash -2 [001]"), None);
        assert_eq!(p("  bash 1/x [001]"), None);
        assert_eq!(tracepoint("sched:sched_switch"), Some("sched_switch"));
        assert_eq!(tracepoint("irq:irq_handler_entry"), None);
    }
}
