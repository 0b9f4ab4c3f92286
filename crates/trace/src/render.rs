//! The fields part of each format's line, written: the kernel's `TP_printk` forms and
//! trace-cmd's plugin forms, the inverse of [`crate::fields`]. Each format's `write` adds its
//! header; [`crate::write`] picks the format.

use crate::event::{EventKind, WakeKind};

/// The text `tlb_flush` prints for `reason` (`__print_symbolic` in `include/trace/events/tlb.h`).
pub fn tlb_reason_text(reason: u32) -> &'static str {
    match reason {
        0 => "flush on task switch",
        1 => "remote shootdown",
        2 => "local shootdown",
        3 => "local MM shootdown",
        4 => "remote IPI send",
        5 => "remote wrong CPU",
        _ => "unknown",
    }
}

/// Appends `kind`'s fields as the kernel's `TP_printk` prints them. `sched_process_exit` is
/// written without `group_dead` (the pre-6.10 form), which [`EventKind::Exit`] does not keep.
pub fn write_kv(s: &mut String, kind: &EventKind) {
    use std::fmt::Write;
    let _ = match kind {
        EventKind::Switch {
            prev,
            prev_prio,
            prev_state,
            next,
            next_prio,
        } => write!(
            s,
            "prev_comm={} prev_pid={} prev_prio={prev_prio} prev_state={prev_state} ==> next_comm={} next_pid={} next_prio={next_prio}",
            prev.comm, prev.pid, next.comm, next.pid
        ),
        EventKind::Wakeup {
            task,
            prio,
            target_cpu,
            ..
        } => write!(
            s,
            "comm={} pid={} prio={prio} target_cpu={target_cpu:03}",
            task.comm, task.pid
        ),
        EventKind::Fork { parent, child } => write!(
            s,
            "comm={} pid={} child_comm={} child_pid={}",
            parent.comm, parent.pid, child.comm, child.pid
        ),
        EventKind::Exec {
            filename,
            pid,
            old_pid,
        } => write!(s, "filename={filename} pid={pid} old_pid={old_pid}"),
        EventKind::Exit { task, prio } | EventKind::Free { task, prio } => {
            write!(s, "comm={} pid={} prio={prio}", task.comm, task.pid)
        }
        EventKind::TlbFlush { reason, pages } => write!(
            s,
            "pages:{pages} reason:{} ({reason})",
            tlb_reason_text(*reason)
        ),
    };
}

/// Appends `kind`'s fields as `trace-cmd report` prints them by default: libtraceevent's
/// sched_switch plugin forms for `sched_switch`, `sched_wakeup` and `sched_wakeup_new`, its tlb
/// plugin's `pages=.. reason=..`, the kernel's form for the rest (and where the first comm
/// starts with a space, which the plugin forms cannot hold).
pub fn write_plugin(s: &mut String, kind: &EventKind) {
    use std::fmt::Write;
    // The plugins print the first comm right after the event name's padding, where a leading
    // space would be lost; the kernel's form (`report -N`) keeps it after `comm=`.
    let first_comm = match kind {
        EventKind::Switch { prev: t, .. } | EventKind::Wakeup { task: t, .. } => &t.comm,
        _ => "",
    };
    if first_comm.starts_with(' ') {
        return write_kv(s, kind);
    }
    let _ = match kind {
        EventKind::Switch {
            prev,
            prev_prio,
            prev_state,
            next,
            next_prio,
        } => write!(
            s,
            "{}:{} [{prev_prio}] {prev_state} ==> {}:{} [{next_prio}]",
            prev.comm, prev.pid, next.comm, next.pid
        ),
        EventKind::Wakeup {
            which: WakeKind::Wakeup | WakeKind::WakeupNew,
            task,
            prio,
            target_cpu,
        } => write!(s, "{}:{} [{prio}] CPU:{target_cpu:03}", task.comm, task.pid),
        EventKind::TlbFlush { reason, pages } => write!(
            s,
            "pages={pages} reason={} ({reason})",
            tlb_reason_text(*reason)
        ),
        other => {
            write_kv(s, other);
            Ok(())
        }
    };
}

/// The tracepoint name of `kind` (without a system prefix).
pub fn name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Switch { .. } => "sched_switch",
        EventKind::Wakeup { which, .. } => match which {
            WakeKind::Waking => "sched_waking",
            WakeKind::Wakeup => "sched_wakeup",
            WakeKind::WakeupNew => "sched_wakeup_new",
        },
        EventKind::Fork { .. } => "sched_process_fork",
        EventKind::Exec { .. } => "sched_process_exec",
        EventKind::Exit { .. } => "sched_process_exit",
        EventKind::Free { .. } => "sched_process_free",
        EventKind::TlbFlush { .. } => "tlb_flush",
    }
}
