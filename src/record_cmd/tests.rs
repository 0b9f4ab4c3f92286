//! `record` on a fake tracefs: a temporary tree of plain files laid out like the kernel's.

use super::state::{current, restore_text, Kind, StateGuard};
use super::text::utc;
use super::*;
use clap::Parser;
use std::fs;
use tempfile::TempDir;

const PIPE: &str = "            bash-812     (    812) [001] d..2.  1234.000001: sched_switch: \
prev_comm=bash prev_pid=812 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 \
next_prio=120\n          <idle>-0       (-------) [001] dNh4.  1234.000900: sched_waking: \
comm=bash pid=812 prio=120 target_cpu=001\n";

/// The fake tree's files and their contents before a recording.
fn files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("tracing_on", "1\n"),
        ("current_tracer", "function\n"),
        ("set_event", "irq:irq_handler_entry\nsched:sched_switch\n"),
        ("set_event_pid", "42\n43\n"),
        ("set_event_notrace_pid", ""),
        ("options/record-tgid", "0\n"),
        ("options/record-cmd", "1\n"),
        ("options/irq-info", "0\n"),
        ("options/context-info", "1\n"),
        ("options/raw", "1\n"),
        ("options/hex", "0\n"),
        ("saved_cmdlines_size", "128\n"),
        ("trace_clock", "local [global] counter uptime\n"),
        ("buffer_size_kb", "2048\n"),
        ("events/sched/sched_switch/enable", "1\n"),
        ("events/sched/sched_switch/filter", "prev_pid == 7\n"),
        ("events/sched/sched_wakeup/enable", "0\n"),
        ("events/sched/sched_wakeup/filter", "none\n"),
        ("events/sched/sched_waking/enable", "0\n"),
        ("events/sched/sched_waking/filter", "none\n"),
        ("events/sched/sched_process_exit/enable", "0\n"),
        (
            "per_cpu/cpu0/stats",
            "entries: 0\noverrun: 0\ncommit overrun: 0\n",
        ),
        (
            "per_cpu/cpu1/stats",
            "entries: 0\noverrun: 5\ndropped events: 2\n",
        ),
        ("trace", "old contents\n"),
        ("trace_pipe", PIPE),
    ]
}

fn fake() -> TempDir {
    let t = TempDir::new().unwrap();
    for (rel, text) in files() {
        let p = t.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    t
}

/// Every setting reads as before: byte for byte, except the two files whose read form is not
/// their written form (compared by their current value); `gone` names a file removed.
fn assert_restored_but(root: &Path, gone: &str) {
    for (rel, before) in files() {
        if matches!(rel, "trace" | "trace_pipe") || rel.starts_with("per_cpu") || rel == gone {
            continue;
        }
        let now = fs::read_to_string(root.join(rel)).unwrap();
        match rel {
            "trace_clock" => assert_eq!(current(Kind::Choice, &now), "global", "{rel}"),
            "buffer_size_kb" => assert_eq!(current(Kind::BufferSize, &now), "2048"),
            _ => assert_eq!(now, before, "{rel} not restored"),
        }
    }
}

fn assert_restored(root: &Path) {
    assert_restored_but(root, "")
}

fn opts(dir: &Path, argv: &[&str]) -> Opts {
    Opts {
        output: dir.join("out.ftrace"),
        until: Until::Command(argv.iter().map(|s| s.to_string()).collect()),
        buffer_kb: 16384,
        clock: "local".into(),
    }
}

#[test]
fn record_sets_the_trace_state_while_the_command_runs_and_restores_it_after() {
    let t = fake();
    let out = TempDir::new().unwrap();
    let r = t.path();
    let seen = out.path().join("seen");
    let script = format!(
        "cd {} && cat tracing_on current_tracer set_event options/record-tgid options/irq-info \
         options/raw trace_clock buffer_size_kb saved_cmdlines_size \
         events/sched/sched_switch/filter events/sched/sched_switch/enable \
         events/sched/sched_wakeup/enable trace > {}",
        r.display(),
        seen.display()
    );
    let o = opts(out.path(), &["sh", "-c", &script]);
    let rep = record(r, &o, &AtomicBool::new(false)).unwrap();
    assert!(rep.status.unwrap().success());
    let during = fs::read_to_string(&seen).unwrap();
    // Written files hold no newline; sched_switch was already enabled, so left as it was.
    assert_eq!(during, "1nop110local1638481920".to_string() + "1\n1");
    assert_restored(r);
    let text = fs::read_to_string(&o.output).unwrap();
    let (head, body) = text.split_once('\n').unwrap();
    assert!(
        head.starts_with("# lazymm record: command: sh -c '"),
        "{head}"
    );
    assert!(
        head.contains("; cpus: ") && head.contains("; kernel: "),
        "{head}"
    );
    assert_eq!(body, PIPE, "the pipe's text is copied byte for byte");
    assert_eq!((rep.copied.lines, rep.copied.bytes), (2, PIPE.len() as u64));
    assert!(!tmp_path(&o.output).exists());
    assert_eq!(
        rep.skipped,
        [
            "sched:sched_wakeup_new",
            "sched:sched_process_fork",
            "sched:sched_process_exec",
            "sched:sched_process_free",
            "tlb:tlb_flush"
        ]
    );
    let lossy: Vec<usize> = rep
        .losses
        .iter()
        .filter(|l| l.any())
        .map(|l| l.cpu)
        .collect();
    assert_eq!(lossy, [1]);
}

#[test]
fn record_restores_and_keeps_the_trace_when_the_command_fails() {
    let t = fake();
    let out = TempDir::new().unwrap();
    let o = opts(out.path(), &["sh", "-c", "exit 3"]);
    let rep = record(t.path(), &o, &AtomicBool::new(false)).unwrap();
    assert_eq!(rep.status.unwrap().code(), Some(3));
    assert_restored(t.path());
    assert!(o.output.exists());
}

#[test]
fn record_restores_and_leaves_no_file_when_the_command_cannot_start() {
    let t = fake();
    let out = TempDir::new().unwrap();
    let o = opts(out.path(), &["/nonexistent/lazymm-no-such-program"]);
    let e = record(t.path(), &o, &AtomicBool::new(false)).unwrap_err();
    assert!(
        e.contains("running `/nonexistent/lazymm-no-such-program`"),
        "{e}"
    );
    assert_restored(t.path());
    assert!(!o.output.exists() && !tmp_path(&o.output).exists());
}

#[test]
fn an_error_after_some_changes_restores_them_through_the_guard() {
    let t = fake();
    let out = TempDir::new().unwrap();
    let mut o = opts(out.path(), &["true"]);
    o.clock = "no-such-clock".into();
    let e = record(t.path(), &o, &AtomicBool::new(false)).unwrap_err();
    assert!(e.contains("--clock no-such-clock") && e.contains("local global counter uptime"));
    assert_restored(t.path());
    assert!(!tmp_path(&o.output).exists());
}

#[test]
fn missing_control_files_are_an_error_naming_the_file_and_nothing_stays_changed() {
    let t = fake();
    fs::remove_file(t.path().join("buffer_size_kb")).unwrap();
    let out = TempDir::new().unwrap();
    let e = record(
        t.path(),
        &opts(out.path(), &["true"]),
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(e.contains("buffer_size_kb"), "{e}");
    assert_restored_but(t.path(), "buffer_size_kb");
}

#[test]
fn seconds_mode_ends_at_once_on_an_interrupt() {
    let t = fake();
    let out = TempDir::new().unwrap();
    let mut o = opts(out.path(), &[]);
    o.until = Until::Seconds(Duration::from_secs(600));
    let rep = record(t.path(), &o, &AtomicBool::new(true)).unwrap();
    assert!(rep.interrupted && rep.status.is_none() && rep.seconds < 5.0);
    assert_restored(t.path());
}

#[test]
fn per_cpu_buffer_sizes_that_differ_are_restored_cpu_by_cpu() {
    let t = fake();
    fs::write(t.path().join("buffer_size_kb"), "X\n").unwrap();
    fs::write(t.path().join("per_cpu/cpu0/buffer_size_kb"), "1024\n").unwrap();
    fs::write(t.path().join("per_cpu/cpu1/buffer_size_kb"), "4096\n").unwrap();
    let mut g = StateGuard::new(t.path());
    g.set("buffer_size_kb", Kind::BufferSize, "16384").unwrap();
    // The fake cannot propagate the top-level write to the CPUs the way tracefs does.
    fs::write(t.path().join("per_cpu/cpu0/buffer_size_kb"), "16384\n").unwrap();
    fs::write(t.path().join("per_cpu/cpu1/buffer_size_kb"), "16384\n").unwrap();
    g.restore().unwrap();
    let cpu = |n| fs::read_to_string(t.path().join(format!("per_cpu/cpu{n}/buffer_size_kb")));
    assert_eq!(
        (cpu(0).unwrap(), cpu(1).unwrap()),
        ("1024".into(), "4096".into())
    );
}

#[test]
fn restore_texts_turn_what_tracefs_reads_into_what_restores_it() {
    assert_eq!(
        restore_text(Kind::BufferSize, "7 (expanded: 1408)\n").as_deref(),
        Some("1408")
    );
    assert_eq!(restore_text(Kind::BufferSize, "X\n"), None);
    assert_eq!(
        restore_text(Kind::Choice, "[local] global x86-tsc\n").as_deref(),
        Some("local")
    );
    assert_eq!(restore_text(Kind::Filter, "none\n").as_deref(), Some("0"));
    assert_eq!(current(Kind::Filter, "none\n"), "");
    assert_eq!(current(Kind::Choice, "local [mono] boot\n"), "mono");
}

#[test]
fn tracefs_is_found_only_where_its_control_files_are() {
    let a = TempDir::new().unwrap();
    let b = fake();
    let cands = [
        a.path().join("missing"),
        a.path().to_path_buf(),
        b.path().into(),
    ];
    assert_eq!(tracefs::find(&cands).as_deref(), Some(b.path()));
    assert_eq!(tracefs::find(&cands[..2]), None);
}

#[test]
fn not_root_is_refused_with_the_uid() {
    assert!(tracefs::check_root(0).is_ok());
    let e = tracefs::check_root(1000).unwrap_err();
    assert!(e.contains("needs root") && e.contains("1000"), "{e}");
}

#[test]
fn loss_counters_are_read_from_the_kernel_stats_text() {
    let s = "entries: 3\noverrun: 12\ncommit overrun: 0\nbytes: 9\n\
             oldest event ts:  1.0\nnow ts: 2.0\ndropped events: 4\nread events: 7\n";
    let l = tracefs::parse_stats(3, s);
    assert_eq!(
        (l.cpu, l.overrun, l.commit_overrun, l.dropped),
        (3, 12, 0, 4)
    );
    assert!(l.any() && !tracefs::parse_stats(0, "overrun: 0\n").any());
}

#[derive(Parser)]
struct T {
    #[command(flatten)]
    a: RecordArgs,
}

fn parse(args: &[&str]) -> Result<Opts, String> {
    let t = T::try_parse_from(std::iter::once("record").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    t.a.opts()
}

#[test]
fn arguments_are_checked_with_errors_naming_the_option() {
    let d = TempDir::new().unwrap();
    let f = d.path().join("x.ftrace");
    let f = f.to_str().unwrap();
    let o = parse(&["-o", f, "--", "sleep", "1"]).unwrap();
    assert_eq!(o.until, Until::Command(vec!["sleep".into(), "1".into()]));
    assert_eq!((o.buffer_kb, o.clock.as_str()), (16384, "local"));
    assert_eq!(parse(&["-o", f]).unwrap().until, Until::Interrupt);
    let err = |a: &[&str]| parse(a).unwrap_err();
    assert!(err(&["-o", f, "--seconds", "0"]).contains("--seconds 0"));
    assert!(err(&["-o", f, "--seconds", "nan"]).contains("--seconds NaN"));
    assert!(err(&["-o", f, "--buffer-kb", "0"]).contains("--buffer-kb 0"));
    assert!(err(&["-o", f, "--clock", "a b"]).contains("--clock"));
    assert!(err(&["-o", "/nonexistent-dir/x"]).contains("/nonexistent-dir does not exist"));
    assert!(err(&["-o", d.path().to_str().unwrap()]).contains("not a file name"));
    assert!(err(&["--seconds", "1"]).contains("--output"));
    assert!(err(&["-o", f, "--seconds", "1", "--", "true"]).contains("cannot be used with"));
}

#[test]
fn commands_are_quoted_like_a_shell_would_read_them() {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(quote(&v(&["perf", "bench", "-g", "2"])), "perf bench -g 2");
    assert_eq!(
        quote(&v(&["sh", "-c", "a; b 'c'"])),
        r"sh -c 'a; b '\''c'\'''"
    );
    assert_eq!(quote(&v(&[""])), "''");
}

#[test]
fn start_times_are_written_as_utc_dates() {
    assert_eq!(utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(utc(1_000_000_000), "2001-09-09T01:46:40Z");
    assert_eq!(utc(4_102_444_799), "2099-12-31T23:59:59Z");
}
