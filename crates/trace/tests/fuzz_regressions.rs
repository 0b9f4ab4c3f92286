//! Inputs the fuzz targets (`crates/trace/fuzz`) once failed on, kept as tests.

use lazymm_trace::{EventKind, Format, Parser};

/// perf_script: a lost-thread (`:-1 -1`) `sched_switch` whose `prev_comm` holds a whole perf
/// header. The parser takes `prev` as the current task; writing that event back as a perf line
/// puts the comm in the header, where it reads as an earlier header, so the fuzz target's
/// round-trip check now skips lost-thread lines (the only ones whose header comm does not come
/// from a header).
#[test]
fn perf_lost_thread_switch_with_header_in_comm_takes_prev_as_current() {
    let data = include_bytes!("data/fuzz/perf_script-lost-thread-header-in-comm");
    let results: Vec<_> = Parser::new(&data[..], Format::PerfScript, false).collect();
    let lost: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .filter(|e| e.tgid.is_none())
        .collect();
    assert!(!lost.is_empty());
    for e in lost {
        let EventKind::Switch { prev, .. } = &e.kind else {
            panic!("lost-thread events here are switches: {e:?}")
        };
        assert_eq!(&e.current, prev);
        assert!(e.current.comm.contains("sched:sched_switch: prev_comm="));
    }
}

/// trace_cmd: a line `INSTANCE:  # ...` whose comm starts with `#`. Written back without the
/// instance, the line started with `#` once trimmed and was taken for a comment; comments are
/// now recognised in the first column only, and writers start every line with a space.
#[test]
fn tracecmd_comm_starting_with_hash_survives_a_round_trip() {
    let data = include_bytes!("data/fuzz/trace_cmd-instance-then-hash-comm");
    let events: Vec<_> = Parser::new(&data[..], Format::TraceCmd, true)
        .map(Result::unwrap)
        .collect();
    let hashed: Vec<_> = events
        .iter()
        .filter(|e| e.current.comm.starts_with('#'))
        .collect();
    assert!(!hashed.is_empty());
    for e in hashed {
        let line = lazymm_trace::write(Format::TraceCmd, e);
        let again: Vec<_> = Parser::new(line.as_bytes(), Format::TraceCmd, false).collect();
        assert_eq!(again.len(), 1, "{line}");
        let a = again[0].as_ref().unwrap();
        assert_eq!(
            (&a.current, a.ts_ns, &a.kind),
            (&e.current, e.ts_ns, &e.kind)
        );
    }
}
