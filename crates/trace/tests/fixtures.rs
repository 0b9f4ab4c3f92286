//! Real traces recorded on Linux 6.18 (see `tests/data/README.md`) parse without errors: every
//! line of one of our tracepoints becomes an event, every other line is ignored, and the
//! format is detected.

use lazymm_trace::{open, Event, EventKind, Format, TaskName, WakeKind, TRACEPOINTS};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Parses `name` with format detection, strictly; checks the detected format and that events
/// plus ignored lines account for every line; returns the events.
fn parse_all(name: &str, expect: Format) -> Vec<Event> {
    let path = data(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let ours = text
        .lines()
        .filter(|l| {
            // An event line names its tracepoint as ` NAME: ` (or `:NAME: ` after a system).
            TRACEPOINTS
                .iter()
                .any(|(_, e)| l.contains(&format!(" {e}: ")) || l.contains(&format!(":{e}: ")))
        })
        .count() as u64;
    let mut p = open(&path, None, false).unwrap();
    assert_eq!(p.format(), expect, "{name}: detected format");
    let events: Vec<Event> = p
        .by_ref()
        .map(|r| r.unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    assert_eq!(p.lines(), text.lines().count() as u64, "{name}: lines");
    assert_eq!(events.len() as u64, ours, "{name}: events");
    assert_eq!(p.ignored() + ours, p.lines(), "{name}: ignored");
    assert_eq!(p.skipped(), 0);
    events
}

fn task(comm: &str, pid: u32) -> TaskName {
    TaskName::new(comm, pid)
}

#[test]
fn ftrace_fixtures_parse_and_are_detected() {
    for name in [
        "ftrace_tgid_irq.txt",
        "ftrace_irq.txt",
        "ftrace_tgid_noirq.txt",
        "ftrace_noirq.txt",
        "ftrace_pipe.txt",
        "ftrace_unknown_comm.txt",
    ] {
        assert!(!parse_all(name, Format::Ftrace).is_empty());
    }
}

#[test]
fn tracecmd_fixtures_parse_and_are_detected() {
    for name in [
        "tracecmd.txt",
        "tracecmd_latency.txt",
        "tracecmd_ns.txt",
        "tracecmd_noplugin.txt",
    ] {
        assert!(!parse_all(name, Format::TraceCmd).is_empty());
    }
}

#[test]
fn perf_fixtures_parse_and_are_detected() {
    for name in [
        "perf.txt",
        "perf_pid_tid.txt",
        "perf_ns.txt",
        "perf_flags.txt",
    ] {
        assert!(!parse_all(name, Format::PerfScript).is_empty());
    }
}

#[test]
fn ftrace_switch_with_spaced_comm_and_idle_tgid_reads_every_field() {
    let ev = parse_all("ftrace_tgid_irq.txt", Format::Ftrace);
    let sw = ev
        .iter()
        .find(|e| e.current.comm == "<idle>" && matches!(e.kind, EventKind::Switch { .. }))
        .expect("an idle switch");
    assert_eq!(sw.tgid, None);
    assert_eq!(sw.current.pid, 0);
    let EventKind::Switch {
        prev,
        prev_state,
        next,
        ..
    } = &sw.kind
    else {
        unreachable!()
    };
    assert_eq!(prev.pid, 0);
    assert!(prev.comm.starts_with("swapper/"));
    assert_eq!(prev_state, "R");
    assert!(next.pid != 0);
    let spaced = ev
        .iter()
        .find(|e| e.current.comm == "my comm-x y")
        .expect("spaced comm");
    assert_eq!(spaced.tgid, Some(spaced.current.pid));
}

#[test]
fn tracecmd_plugin_wakeup_new_with_spaced_comm_is_exact() {
    let ev = parse_all("tracecmd.txt", Format::TraceCmd);
    let e = ev
        .iter()
        .find(|e| e.ts_ns == 20_549_891_612_000)
        .expect("the wakeup_new at 20549.891612");
    assert_eq!(e.current, task("my comm-x y", 15268));
    assert_eq!(e.cpu, 0);
    assert_eq!(
        e.kind,
        EventKind::Wakeup {
            which: WakeKind::WakeupNew,
            task: task("my comm-x y", 15269),
            prio: 120,
            target_cpu: 1
        }
    );
}

#[test]
fn perf_pid_slash_tid_header_gives_tgid_and_bracketed_comm() {
    let ev = parse_all("perf_pid_tid.txt", Format::PerfScript);
    let e = ev
        .iter()
        .find(|e| e.current.comm == "a=b c-9 [1]" && matches!(e.kind, EventKind::Fork { .. }))
        .expect("the fork of `a=b c-9 [1]`");
    assert_eq!(e.tgid, Some(15476));
    assert_eq!(e.current.pid, 15476);
    assert_eq!(e.cpu, 1);
    assert_eq!(
        e.kind,
        EventKind::Fork {
            parent: task("a=b c-9 [1]", 15476),
            child: task("a=b c-9 [1]", 15477)
        }
    );
}

#[test]
fn perf_lost_thread_switch_takes_prev_as_current() {
    for name in ["perf.txt", "perf_pid_tid.txt"] {
        let ev = parse_all(name, Format::PerfScript);
        let e = ev
            .iter()
            .find(|e| matches!(&e.kind, EventKind::Switch { prev_state, .. } if prev_state == "X"))
            .expect("the switch away from the exiting task");
        assert_eq!(e.current, task("a=b c-9 [1]", 15476), "{name}");
        assert_eq!(e.tgid, None);
    }
}

#[test]
fn perf_lost_thread_task_switch_flush_takes_the_exiting_prev_as_current() {
    let ev = parse_all("perf_lost_thread.txt", Format::PerfScript);
    let flushes: Vec<&Event> = ev
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TlbFlush { reason: 0, .. }))
        .collect();
    assert_eq!(flushes.len(), 2);
    assert_eq!(flushes[0].current, task("lto cgu.12", 7783));
    assert_eq!(flushes[1].current, task("lto cgu.11", 7784));
}

#[test]
fn perf_lost_thread_event_that_names_no_task_is_an_error() {
    let lost_switch = "             :-1    -1 [000] 21645.314444:                     sched:sched_switch: prev_comm=lto cgu.12 prev_pid=7783 prev_prio=120 prev_state=X ==> next_comm=x next_pid=9 next_prio=120";
    let flush = |r: u32| {
        format!("             :-1    -1 [000] 21645.314446:                          tlb:tlb_flush: pages:0 reason:r ({r})")
    };
    let resolved = "      x     9 [000] 21645.314450:                          tlb:tlb_flush: pages:0 reason:r (3)";
    let cases = [
        (vec![flush(0)], "no switch before"),
        (
            vec![lost_switch.to_owned(), flush(3)],
            "not a task-switch flush",
        ),
        (
            vec![lost_switch.to_owned(), resolved.to_owned(), flush(0)],
            "the CPU moved on",
        ),
    ];
    for (lines, why) in cases {
        let text = lines.join("\n");
        let last = lazymm_trace::Parser::new(text.as_bytes(), Format::PerfScript, false).last();
        let e = last.unwrap().expect_err(why);
        assert_eq!(e.line, lines.len() as u64, "{why}");
        assert!(
            e.message.contains("perf lost this sample's thread"),
            "{why}: {e}"
        );
    }
}
