//! `trace-cmd report` text.
//!
//! `trace-cmd report` (trace-cmd 3.1, libtraceevent 1.7) prints each record with
//! `tep_print_event()`: the header `%16s-%-5d [%03d] %d.%06d: %-20s ` (comm, pid, CPU,
//! timestamp, `EVENT:` padded), then the fields. Recorded from a buffer instance, each line
//! starts with `INSTANCE: `. Since the kernel's comm has at most 15 bytes, an instance-less
//! line starts with padding; a line starting with a non-space token ending in `:` has an
//! instance prefix. `-t` prints nanoseconds; `-l` replaces `[CPU]` with the latency column
//! `CPU` immediately followed by the flags (`0d..2.`) and cuts the comm to 8 bytes.
//!
//! ```text
//! lzt:      my comm-x y-15268 [000] 20549.891678: sched_switch:         my comm-x y:15268 [120] S ==> lto cgu.07:15255 [120]
//! lzt:      my comm-x y-15268 [000] 20549.891612: sched_wakeup_new:     my comm-x y:15269 [120] CPU:001
//! lzt:         tccap.sh-15266 [000] 20549.885006: tlb_flush:            pages=-1 reason=flush on task switch (0)
//! lzt: my comm--15268   0d..2. 20549.891678: sched_switch:         my comm-x y:15268 [120] S ==> lto cgu.07:15255 [120]
//! ```
//!
//! By default libtraceevent's `plugin_sched_switch.c` formats `sched_switch`
//! (`PREV_COMM:PREV_PID [PRIO] STATE ==> NEXT_COMM:NEXT_PID [PRIO]`, where `STATE` is the
//! plugin's own letter and drops the kernel's `+`) and `sched_wakeup`/`sched_wakeup_new`
//! (`COMM:PID [PRIO] CPU:NNN`), and `plugin_tlb.c` prints `tlb_flush` with `=` for `:`; with
//! `-N` (no plugins) the kernel's `TP_printk` forms appear (`include/trace/events/sched.h`).
//! Both are accepted. The leading `cpus=N` line and `CPU N is empty` lines are ignored.

use crate::event::Event;
use crate::header::{dash_task, lead_with_space, pop_cpu, Prefix};
use crate::render;
use std::fmt::Write;

/// The form of a trace-cmd report line, for errors.
pub const LINE_FORM: &str = "trace-cmd report line `[INSTANCE: ]COMM-PID [CPU] TS: EVENT: FIELDS`";

/// Reads the header before the timestamp: `[INSTANCE: ]COMM-PID [CPU]` or, from `report -l`,
/// `[INSTANCE: ]COMM-PID CPUFLAGS`.
pub fn prefix(p: &str) -> Option<Prefix<'_>> {
    if !p.starts_with(' ') {
        if let Some((inst, rest)) = p.split_once(": ") {
            if !inst.contains(' ') {
                if let Some(pre) = prefix_no_instance(rest) {
                    return Some(pre);
                }
            }
        }
    }
    prefix_no_instance(p)
}

fn prefix_no_instance(p: &str) -> Option<Prefix<'_>> {
    let (rest, cpu) = match pop_cpu(p) {
        Some(x) => x,
        None => {
            // Latency column: CPU digits then flags (the flags never start with a digit).
            let i = p.rfind(' ')?;
            let tok = &p[i + 1..];
            let n = tok.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 || n == tok.len() {
                return None;
            }
            (&p[..i], crate::header::digits_u32(&tok[..n])?)
        }
    };
    let (comm, pid) = dash_task(rest.trim_end_matches(' '))?;
    Some(Prefix {
        comm,
        pid: Some(pid),
        tgid: None,
        cpu,
    })
}

/// The `trace-cmd report -t` line of `ev` (nanosecond timestamps), with the default plugins'
/// field forms. `trace-cmd report` prints no tgid, so parsing the line back gives
/// `tgid: None`. The comm is padded to 16 columns as trace-cmd does; one longer than the
/// kernel's 15 bytes gets a leading space, so that it is not taken for an instance name or a
/// comment.
pub fn write(ev: &Event) -> String {
    let mut s = String::with_capacity(160);
    let (secs, ns) = (ev.ts_ns / 1_000_000_000, ev.ts_ns % 1_000_000_000);
    let name = format!("{}:", render::name(&ev.kind));
    let _ = write!(
        s,
        "{:>16}-{:<5} [{:03}] {secs}.{ns:09}: {name:<21} ",
        ev.current.comm, ev.current.pid, ev.cpu
    );
    render::write_plugin(&mut s, &ev.kind);
    lead_with_space(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_prefix_and_latency_column_are_read() {
        let p = |s| prefix(s).map(|p| (p.comm, p.pid, p.cpu));
        assert_eq!(
            p("lzt:      my comm-x y-15268 [001]"),
            Some(("my comm-x y", Some(15268), 1))
        );
        assert_eq!(
            p("         tccap.sh-15266 [000]"),
            Some(("tccap.sh", Some(15266), 0))
        );
        assert_eq!(
            p("lzt: my comm--15268   1d..3."),
            Some(("my comm-", Some(15268), 1))
        );
        assert_eq!(
            p("  memfd:sealed-91-14479  12d..2."),
            Some(("memfd:sealed-91", Some(14479), 12))
        );
        assert_eq!(p(" bash-1   d..2."), None);
        assert_eq!(p(" bash-1   12"), None);
    }
}
