//! The tracepoints' own fields, as their `TP_printk`s print them.
//!
//! Every format prints a tracepoint's fields the same way (the `print fmt` of
//! `/sys/kernel/tracing/events/<system>/<event>/format`, from `include/trace/events/sched.h`
//! and `include/trace/events/tlb.h`), except that `trace-cmd report` formats `sched_switch`,
//! `sched_wakeup` and `sched_wakeup_new` with libtraceevent's `plugin_sched_switch.c` unless
//! run with `-N` (see [`crate::tracecmd`]).
//!
//! A comm may contain spaces, `=`, `:` and brackets, so fields are read from the right: all
//! fields after a comm are numbers or single tokens, and the comm (or exec's filename) is the
//! rest. `sched_switch` and `sched_process_fork` print two comms; the separator before the
//! second (` ==> next_comm=`, ` child_comm=`) is tried at each occurrence, left to right, until
//! the text before it parses as the first half.

use crate::event::{EventKind, TaskName, WakeKind};

/// `sched_switch` fields as the kernel prints them.
pub const SWITCH_FORM: &str = "sched_switch fields `prev_comm=.. prev_pid=.. prev_prio=.. prev_state=.. ==> next_comm=.. next_pid=.. next_prio=..`";
/// `sched_switch` fields as trace-cmd's sched_switch plugin prints them (or the kernel's form).
pub const SWITCH_PLUGIN_FORM: &str = "sched_switch fields `PREV_COMM:PREV_PID [PREV_PRIO] PREV_STATE ==> NEXT_COMM:NEXT_PID [NEXT_PRIO]` or `prev_comm=.. prev_pid=.. prev_prio=.. prev_state=.. ==> next_comm=.. next_pid=.. next_prio=..`";
/// Wakeup fields as the kernel prints them.
pub const WAKEUP_FORM: &str = "wakeup fields `comm=.. pid=.. prio=.. target_cpu=..`";
/// Wakeup fields as trace-cmd's plugin prints them (or the kernel's form).
pub const WAKEUP_PLUGIN_FORM: &str =
    "wakeup fields `COMM:PID [PRIO] CPU:TARGET` or `comm=.. pid=.. prio=.. target_cpu=..`";
/// `sched_process_fork` fields.
pub const FORK_FORM: &str = "sched_process_fork fields `comm=.. pid=.. child_comm=.. child_pid=..`";
/// `sched_process_exec` fields.
pub const EXEC_FORM: &str = "sched_process_exec fields `filename=.. pid=.. old_pid=..`";
/// `sched_process_exit` fields.
pub const EXIT_FORM: &str =
    "sched_process_exit fields `comm=.. pid=.. prio=..` (then `group_dead=..` since Linux 6.10)";
/// `sched_process_free` fields.
pub const FREE_FORM: &str = "sched_process_free fields `comm=.. pid=.. prio=..`";
/// `tlb_flush` fields.
pub const TLB_FORM: &str = "tlb_flush fields `pages:.. reason:.. (N)`";

/// The outcome of reading a tracepoint's fields.
pub enum Fields {
    /// One of our tracepoints, parsed.
    Event(EventKind),
    /// Not one of our tracepoints.
    Other,
    /// One of our tracepoints whose fields do not parse; the form they should have.
    Bad(&'static str),
}

/// Parses the fields of tracepoint `name` (without a `sched:`-style system prefix).
/// `plugin` also accepts trace-cmd's sched_switch plugin forms.
pub fn parse(name: &str, fields: &str, plugin: bool) -> Fields {
    let fields = fields.trim_end();
    let (kind, form) = match name {
        "sched_switch" if plugin => (
            switch_kv(fields).or_else(|| switch_plugin(fields)),
            SWITCH_PLUGIN_FORM,
        ),
        "sched_switch" => (switch_kv(fields), SWITCH_FORM),
        "sched_waking" | "sched_wakeup" | "sched_wakeup_new" => {
            let which = match name {
                "sched_waking" => WakeKind::Waking,
                "sched_wakeup" => WakeKind::Wakeup,
                _ => WakeKind::WakeupNew,
            };
            if plugin {
                let k = wakeup_kv(fields, which).or_else(|| wakeup_plugin(fields, which));
                (k, WAKEUP_PLUGIN_FORM)
            } else {
                (wakeup_kv(fields, which), WAKEUP_FORM)
            }
        }
        "sched_process_fork" => (fork(fields), FORK_FORM),
        "sched_process_exec" => (exec(fields), EXEC_FORM),
        "sched_process_exit" => (exit(fields), EXIT_FORM),
        "sched_process_free" => (free(fields), FREE_FORM),
        "tlb_flush" => (tlb(fields), TLB_FORM),
        _ => return Fields::Other,
    };
    match kind {
        Some(k) => Fields::Event(k),
        None => Fields::Bad(form),
    }
}

/// Splits `s` at its last space: `(before, last token)`; `None` when there is no space.
fn pop_token(s: &str) -> Option<(&str, &str)> {
    let i = s.rfind(' ')?;
    Some((&s[..i], &s[i + 1..]))
}

/// Splits off a trailing ` key=VALUE`: `(before, VALUE)`.
fn pop_kv<'a>(s: &'a str, key: &str) -> Option<(&'a str, &'a str)> {
    let (rest, tok) = pop_token(s)?;
    let v = tok.strip_prefix(key)?.strip_prefix('=')?;
    Some((rest, v))
}

/// A decimal number of type `T` with an optional sign only where `T` allows one, no `+`.
fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.starts_with('+') {
        return None;
    }
    s.parse().ok()
}

/// `comm=COMM pid=PID` (the comm is all that precedes ` pid=`).
fn comm_pid<'a>(s: &'a str, comm_key: &str, pid_key: &str) -> Option<(&'a str, u32)> {
    let (rest, pid) = pop_kv(s, pid_key)?;
    let comm = rest.strip_prefix(comm_key)?.strip_prefix('=')?;
    Some((comm, num(pid)?))
}

fn task(comm: &str, pid: u32) -> TaskName {
    TaskName::new(comm, pid)
}

fn switch_kv(f: &str) -> Option<EventKind> {
    let (r, next_prio) = pop_kv(f, "next_prio")?;
    let (r, next_pid) = pop_kv(r, "next_pid")?;
    let (next_prio, next_pid): (i32, u32) = (num(next_prio)?, num(next_pid)?);
    const SEP: &str = " ==> next_comm=";
    r.match_indices(SEP).find_map(|(i, _)| {
        let (r2, state) = pop_kv(&r[..i], "prev_state")?;
        let (r2, prio) = pop_kv(r2, "prev_prio")?;
        let (comm, pid) = comm_pid(r2, "prev_comm", "prev_pid")?;
        if state.is_empty() {
            return None;
        }
        Some(EventKind::Switch {
            prev: task(comm, pid),
            prev_prio: num(prio)?,
            prev_state: state.to_owned(),
            next: task(&r[i + SEP.len()..], next_pid),
            next_prio,
        })
    })
}

/// ` [PRIO]` at the end of `s`.
fn pop_prio(s: &str) -> Option<(&str, i32)> {
    let (rest, tok) = pop_token(s)?;
    let p = tok.strip_prefix('[')?.strip_suffix(']')?;
    Some((rest, num(p)?))
}

/// `COMM:PID` (the pid follows the last colon).
fn colon_task(s: &str) -> Option<TaskName> {
    let i = s.rfind(':')?;
    Some(task(&s[..i], num(&s[i + 1..])?))
}

fn switch_plugin(f: &str) -> Option<EventKind> {
    let (r, next_prio) = pop_prio(f)?;
    const SEP: &str = " ==> ";
    r.match_indices(SEP).find_map(|(i, _)| {
        let next = colon_task(&r[i + SEP.len()..])?;
        let (r2, state) = pop_token(&r[..i])?;
        let (r2, prev_prio) = pop_prio(r2)?;
        let prev = colon_task(r2)?;
        if state.is_empty() {
            return None;
        }
        Some(EventKind::Switch {
            prev,
            prev_prio,
            prev_state: state.to_owned(),
            next,
            next_prio,
        })
    })
}

fn wakeup_kv(f: &str, which: WakeKind) -> Option<EventKind> {
    let (r, cpu) = pop_kv(f, "target_cpu")?;
    // Kernels before 4.3 printed `success=1` before `target_cpu`.
    let r = pop_kv(r, "success").map_or(r, |(r, _)| r);
    let (r, prio) = pop_kv(r, "prio")?;
    let (comm, pid) = comm_pid(r, "comm", "pid")?;
    Some(EventKind::Wakeup {
        which,
        task: task(comm, pid),
        prio: num(prio)?,
        target_cpu: num(cpu)?,
    })
}

fn wakeup_plugin(f: &str, which: WakeKind) -> Option<EventKind> {
    let (r, cpu) = pop_token(f)?;
    let cpu = cpu.strip_prefix("CPU:")?;
    let r = pop_kv(r, "success").map_or(r, |(r, _)| r);
    let (r, prio) = pop_prio(r)?;
    Some(EventKind::Wakeup {
        which,
        task: colon_task(r)?,
        prio,
        target_cpu: num(cpu)?,
    })
}

fn fork(f: &str) -> Option<EventKind> {
    let (r, child_pid) = pop_kv(f, "child_pid")?;
    let child_pid: u32 = num(child_pid)?;
    const SEP: &str = " child_comm=";
    r.match_indices(SEP).find_map(|(i, _)| {
        let (comm, pid) = comm_pid(&r[..i], "comm", "pid")?;
        Some(EventKind::Fork {
            parent: task(comm, pid),
            child: task(&r[i + SEP.len()..], child_pid),
        })
    })
}

fn exec(f: &str) -> Option<EventKind> {
    let (r, old_pid) = pop_kv(f, "old_pid")?;
    let (r, pid) = pop_kv(r, "pid")?;
    let filename = r.strip_prefix("filename=")?;
    Some(EventKind::Exec {
        filename: filename.to_owned(),
        pid: num(pid)?,
        old_pid: num(old_pid)?,
    })
}

/// `comm=.. pid=.. prio=..`, shared by exit and free.
fn comm_pid_prio(f: &str) -> Option<(TaskName, i32)> {
    let (r, prio) = pop_kv(f, "prio")?;
    let (comm, pid) = comm_pid(r, "comm", "pid")?;
    Some((task(comm, pid), num(prio)?))
}

fn exit(f: &str) -> Option<EventKind> {
    let f = match pop_kv(f, "group_dead") {
        Some((r, "true" | "false")) => r,
        Some(_) => return None,
        None => f,
    };
    let (task, prio) = comm_pid_prio(f)?;
    Some(EventKind::Exit { task, prio })
}

fn free(f: &str) -> Option<EventKind> {
    let (task, prio) = comm_pid_prio(f)?;
    Some(EventKind::Free { task, prio })
}

/// `pages:N reason:TEXT (R)`; trace-cmd's tlb plugin prints `=` for `:`.
fn tlb(f: &str) -> Option<EventKind> {
    let r = f.strip_prefix("pages")?;
    let r = r.strip_prefix(':').or_else(|| r.strip_prefix('='))?;
    let (pages, r) = r.split_once(' ')?;
    let r = r.strip_prefix("reason")?;
    r.strip_prefix(':').or_else(|| r.strip_prefix('='))?;
    let (_, code) = pop_token(r)?;
    let code = code.strip_prefix('(')?.strip_suffix(')')?;
    Some(EventKind::TlbFlush {
        reason: num(code)?,
        pages: num(pages)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, f: &str, plugin: bool) -> Option<EventKind> {
        match parse(name, f, plugin) {
            Fields::Event(k) => Some(k),
            _ => None,
        }
    }

    #[test]
    fn switch_comms_holding_field_text_are_read_from_the_right() {
        let f = "prev_comm=a prev_pid=1 ==> next_comm=x prev_pid=5 prev_prio=1 prev_state=S ==> next_comm=b next_pid=9 c next_pid=6 next_prio=120";
        let Some(EventKind::Switch {
            prev,
            next,
            prev_prio,
            ..
        }) = ev("sched_switch", f, false)
        else {
            panic!("no switch")
        };
        assert_eq!(
            (prev.comm.as_str(), prev.pid, prev_prio),
            ("a prev_pid=1 ==> next_comm=x", 5, 1)
        );
        assert_eq!((next.comm.as_str(), next.pid), ("b next_pid=9 c", 6));
    }

    #[test]
    fn plugin_forms_are_read_only_for_trace_cmd() {
        let f = "memfd:sealed-91:14479 [120] S ==> rustc:15081 [120]";
        assert!(ev("sched_switch", f, false).is_none());
        let Some(EventKind::Switch {
            prev,
            prev_state,
            next,
            ..
        }) = ev("sched_switch", f, true)
        else {
            panic!("no switch")
        };
        assert_eq!(
            (prev.comm.as_str(), prev.pid, prev_state.as_str()),
            ("memfd:sealed-91", 14479, "S")
        );
        assert_eq!((next.comm.as_str(), next.pid), ("rustc", 15081));
        let w = ev("sched_wakeup", "bash:7 [120] success=1 CPU:003", true);
        assert!(matches!(
            w,
            Some(EventKind::Wakeup {
                target_cpu: 3,
                prio: 120,
                ..
            })
        ));
    }

    #[test]
    fn exit_with_and_without_group_dead_and_old_wakeup_success() {
        let a = ev(
            "sched_process_exit",
            "comm=true pid=5 prio=120 group_dead=true",
            false,
        );
        let b = ev("sched_process_exit", "comm=true pid=5 prio=120", false);
        assert_eq!(a, b);
        assert!(ev(
            "sched_process_exit",
            "comm=true pid=5 prio=120 group_dead=maybe",
            false
        )
        .is_none());
        let w = ev(
            "sched_wakeup",
            "comm=a b pid=3 prio=100 success=1 target_cpu=002",
            false,
        );
        assert!(matches!(
            w,
            Some(EventKind::Wakeup {
                target_cpu: 2,
                prio: 100,
                ..
            })
        ));
    }

    #[test]
    fn tlb_flush_reads_both_separators_and_full_flushes() {
        let k = EventKind::TlbFlush {
            reason: 4,
            pages: -1,
        };
        assert_eq!(
            ev("tlb_flush", "pages:-1 reason:remote IPI send (4)", false),
            Some(k.clone())
        );
        assert_eq!(
            ev("tlb_flush", "pages=-1 reason=remote IPI send (4)", true),
            Some(k)
        );
        assert!(ev("tlb_flush", "pages:-1 reason:remote IPI send", false).is_none());
    }

    #[test]
    fn signs_and_garbage_in_numbers_are_rejected() {
        assert!(ev("sched_process_free", "comm=a pid=+5 prio=120", false).is_none());
        assert!(ev("sched_process_free", "comm=a pid=-5 prio=120", false).is_none());
        assert!(ev("sched_process_free", "comm=a pid=5 prio=-120", false).is_some());
        assert!(ev(
            "sched_process_exec",
            "filename=/x pid=1 old_pid=99999999999",
            false
        )
        .is_none());
        assert!(matches!(
            parse("sched_stat_runtime", "comm=a", false),
            Fields::Other
        ));
        assert!(matches!(
            parse("sched_switch", "", false),
            Fields::Bad(SWITCH_FORM)
        ));
    }
}
