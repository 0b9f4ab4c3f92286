//! Bad lines: strict mode reports them with line number, expected form and text; lenient mode
//! skips and counts them; ignored lines are counted apart.

use lazymm_trace::{Format, ParseError, Parser};

const GOOD: &str = "          cap.sh-13266   [000]  20481.385156: sched_process_fork: comm=cap.sh pid=13266 child_comm=cap.sh child_pid=13267";
const OTHER: &str = "          cap.sh-13266   [000]  20481.385159: sched_stat_runtime: comm=cap.sh pid=13266 runtime=3731603 [ns]";
const BAD_FIELDS: &str = "          cap.sh-13266   [000]  20481.385215: sched_switch: prev_comm=cap.sh prev_pid=x prev_prio=120 prev_state=S ==> next_comm=cap.sh next_pid=13267 next_prio=120";
const NO_HEADER: &str = "this is not a trace line";

fn input() -> String {
    [
        "# tracer: nop",
        GOOD,
        OTHER,
        BAD_FIELDS,
        "",
        NO_HEADER,
        GOOD,
    ]
    .join("\n")
}

#[test]
fn strict_mode_reports_each_bad_line_with_its_number_and_form() {
    let text = input();
    let mut p = Parser::new(text.as_bytes(), Format::Ftrace, false);
    let results: Vec<Result<_, ParseError>> = p.by_ref().collect();
    let errs: Vec<&ParseError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(results.len(), 4);
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].line, 4);
    assert!(errs[0]
        .expected
        .starts_with("sched_switch fields `prev_comm=.."));
    assert_eq!(errs[0].text, BAD_FIELDS);
    assert_eq!(errs[1].line, 6);
    assert_eq!(errs[1].expected, lazymm_trace::ftrace::LINE_FORM);
    assert_eq!(
        errs[1].to_string(),
        "line 6: no event header; expected ftrace line `COMM-PID (TGID) [CPU] FLAGS TS: EVENT: FIELDS`: `this is not a trace line`"
    );
    assert_eq!((p.lines(), p.ignored(), p.skipped()), (7, 3, 0));
}

#[test]
fn lenient_mode_skips_and_counts_bad_lines() {
    let text = input();
    let mut p = Parser::new(text.as_bytes(), Format::Ftrace, true);
    let events: Vec<_> = p.by_ref().map(Result::unwrap).collect();
    assert_eq!(events.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 7]);
    assert_eq!((p.lines(), p.ignored(), p.skipped()), (7, 3, 2));
}

#[test]
fn crlf_and_non_utf8_comms_are_read() {
    let mut bytes =
        b"  ab\xffc-12   [001]  5.000001: sched_process_free: comm=x\xfe pid=7 prio=120\r\n"
            .to_vec();
    bytes.extend_from_slice(GOOD.as_bytes());
    let ev: Vec<_> = Parser::new(&bytes[..], Format::Ftrace, false)
        .map(Result::unwrap)
        .collect();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].current.comm, "ab\u{fffd}c");
    assert_eq!(ev[0].ts_ns, 5_000_001_000);
    assert_eq!(ev[0].cpu, 1);
}

#[test]
fn open_names_the_file_it_cannot_read_or_detect() {
    let missing = std::path::Path::new("/nonexistent/trace.txt");
    let e = lazymm_trace::open(missing, None, false).err().unwrap();
    assert!(e.starts_with("/nonexistent/trace.txt: cannot open"), "{e}");
    let dir = std::env::temp_dir().join(format!("lazymm-trace-test-{}", std::process::id()));
    std::fs::write(&dir, "hello\nworld\n").unwrap();
    let e = lazymm_trace::open(&dir, None, false).err().unwrap();
    std::fs::remove_file(&dir).unwrap();
    assert!(e.contains("cannot tell the trace format"), "{e}");
    assert!(e.starts_with(&dir.display().to_string()), "{e}");
}

#[test]
fn format_names_parse_and_display_back() {
    for f in Format::ALL {
        assert_eq!(f.to_string().parse::<Format>(), Ok(f));
    }
    assert!("perf"
        .parse::<Format>()
        .unwrap_err()
        .contains("perf-script"));
}

#[test]
fn tracecmd_event_of_ours_with_bad_plugin_fields_names_both_forms() {
    let line = " bash-1 [000] 1.000000: sched_wakeup:         bash:12 [x] CPU:001";
    let r: Vec<_> = Parser::new(line.as_bytes(), Format::TraceCmd, false).collect();
    let e = r[0].as_ref().unwrap_err();
    assert!(e.expected.contains("COMM:PID [PRIO] CPU:TARGET"), "{e}");
    assert!(e.expected.contains("comm=.. pid=.."), "{e}");
}

#[test]
fn detection_tells_apart_headers_that_both_ftrace_and_trace_cmd_read() {
    let ftrace_pipe = "          cap.sh-13266   [000]  20481.385156: sched_process_exit: comm=a]  b pid=1 prio=120";
    // An event name longer than trace-cmd's 20 columns is not padded; `]  ` in the fields
    // must not count.
    let tracecmd = "          cap.sh-13266 [000] 20481.385156: sched_kthread_work_execute_start: work struct=x]  y";
    assert_eq!(Format::detect(ftrace_pipe), Some(Format::Ftrace));
    assert_eq!(Format::detect(tracecmd), Some(Format::TraceCmd));
    assert_eq!(Format::detect("# comment only\n\n"), None);
}

#[test]
fn a_comm_starting_with_hash_is_an_event_not_a_comment() {
    let text = "# tracer: nop\n          #1 x-5       [000] .....  1.000000: sched_process_free: comm=#1 x pid=5 prio=120\n";
    let ev: Vec<_> = Parser::new(text.as_bytes(), Format::Ftrace, false)
        .map(Result::unwrap)
        .collect();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].current.comm, "#1 x");
}
