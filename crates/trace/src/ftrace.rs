//! ftrace text: `/sys/kernel/tracing/trace` and `trace_pipe`.
//!
//! Each event line is printed by `print_trace_fmt()` in `kernel/trace/trace.c` with the header
//! of `trace_print_context()` and `trace_print_lat_fmt()` (`kernel/trace/trace_output.c`),
//! then the tracepoint's `TP_printk` (`include/trace/events/sched.h`, `tlb.h`):
//!
//! ```text
//!      my comm-x y-13322   (  13322) [001] d..2. 20489.747972: sched_switch: prev_comm=my comm-x y prev_pid=13322 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120
//!           <idle>-0       (-------) [000] d..2. 20489.748007: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=my comm-x y next_pid=13323 next_prio=120
//!           cap.sh-13266   [000]  20481.385156: sched_process_fork: comm=cap.sh pid=13266 child_comm=cap.sh child_pid=13267
//! ```
//!
//! (Linux 6.18, this machine.) The header is `COMM-PID`, right-aligned in 16 columns then
//! `-%-7d`; with `options/record-tgid` a `(%7d)` tgid column, or `(-------)` where no tgid is
//! known (the idle task); `[CPU]` as `%03d`; with `options/irq-info` (the default) the flags
//! column (`d..2.`: irqs-off, need-resched, hardirq/softirq, preempt depth, migrate-disable; four
//! characters before Linux 5.15), else two spaces; the timestamp in seconds with microseconds
//! (`%5lu.%06lu`); then `EVENT: FIELDS`. A comm the saved-cmdlines cache has lost is `<...>`.
//! The pid follows the comm's last dash, so comms with dashes, spaces and brackets parse.
//! Lines starting with `#` (the header `trace` prints) and `CPU:N [LOST N EVENTS]` are ignored.

use crate::event::Event;
use crate::header::{dash_task, digits_u32, lead_with_space, pop_cpu, Prefix};
use crate::render;
use std::fmt::Write;

/// The form of an ftrace line, for errors.
pub const LINE_FORM: &str = "ftrace line `COMM-PID (TGID) [CPU] FLAGS TS: EVENT: FIELDS`";

/// Reads the header before the timestamp: `COMM-PID [(TGID)] [CPU] [FLAGS]`.
pub fn prefix(p: &str) -> Option<Prefix<'_>> {
    // An irq-info flags column, if any, is one token after `[CPU]`.
    let p = if p.ends_with(']') {
        p
    } else {
        let i = p.rfind(' ')?;
        p[..i].trim_end_matches(' ')
    };
    let (rest, cpu) = pop_cpu(p)?;
    let rest = rest.trim_end_matches(' ');
    let (rest, tgid) = match rest.strip_suffix(')') {
        Some(inner) => {
            let open = inner.rfind('(')?;
            let t = inner[open + 1..].trim_matches(' ');
            let tgid = if t == "-------" {
                None
            } else {
                Some(digits_u32(t)?)
            };
            (rest[..open].trim_end_matches(' '), tgid)
        }
        None => (rest, None),
    };
    let (comm, pid) = dash_task(rest)?;
    Some(Prefix {
        comm,
        pid: Some(pid),
        tgid,
        cpu,
    })
}

/// The ftrace line of `ev`, as `trace` prints it with irq-info on (flags `.....`) and, when
/// `ev.tgid` is set, record-tgid on (a line with a comm of 16 or more bytes, which the kernel
/// never prints, gets a leading space). The timestamp is printed in microseconds, so parsing the
/// line back truncates `ts_ns` to a whole microsecond.
pub fn write(ev: &Event) -> String {
    let mut s = String::with_capacity(160);
    let _ = write!(s, "{:>16}-{:<7} ", ev.current.comm, ev.current.pid);
    if let Some(t) = ev.tgid {
        let _ = write!(s, "({t:>7}) ");
    }
    let (secs, us) = (ev.ts_ns / 1_000_000_000, ev.ts_ns % 1_000_000_000 / 1000);
    let _ = write!(
        s,
        "[{:03}] ..... {secs:5}.{us:06}: {}: ",
        ev.cpu,
        render::name(&ev.kind)
    );
    render::write_kv(&mut s, &ev.kind);
    lead_with_space(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_variants_of_trace_output_c_are_read() {
        let p = |s| prefix(s).map(|p| (p.comm, p.pid, p.tgid, p.cpu));
        assert_eq!(
            p("     my comm-x y-13322   (  13322) [001] d..2."),
            Some(("my comm-x y", Some(13322), Some(13322), 1))
        );
        assert_eq!(
            p("          <idle>-0       (-------) [000] dNh2."),
            Some(("<idle>", Some(0), None, 0))
        );
        assert_eq!(
            p("     a=b c-9 [1]-13342   [000] ....."),
            Some(("a=b c-9 [1]", Some(13342), None, 0))
        );
        assert_eq!(
            p("          cap.sh-13266   [000]"),
            Some(("cap.sh", Some(13266), None, 0))
        );
        assert_eq!(
            p("           <...>-18992   (  18992) [127] d..3"),
            Some(("<...>", Some(18992), Some(18992), 127))
        );
        assert_eq!(p("cap.sh-x [000] ....."), None);
        assert_eq!(p("cap.sh-1 (abc) [000] ....."), None);
        assert_eq!(p("cap.sh-1 [00x] ....."), None);
    }
}
