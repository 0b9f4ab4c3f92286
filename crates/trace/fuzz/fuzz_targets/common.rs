//! What every parser target checks: arbitrary bytes never panic, in strict or lenient mode;
//! the counters add up; and every event parsed, written back in its format and parsed again,
//! is the same event (up to the format's documented normalisation), except where the header's
//! comm can hold a whole header (it holds `: ` or ends in `:`, see `lazymm_trace::header`) or
//! where perf lost the thread (`:-1 -1`) and the event's own task, whose comm came from the
//! fields, stands in for the current one.

use lazymm_trace::{header, perf, write, Event, Format, Parser};

/// Whether line `n` (1-based) of `data` has perf's lost-thread header.
fn perf_lost_thread(data: &[u8], n: u64) -> bool {
    let Some(raw) = data.split(|&b| b == b'\n').nth(n as usize - 1) else {
        return false;
    };
    let mut end = raw.len();
    while end > 0 && matches!(raw[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    let text = String::from_utf8_lossy(&raw[..end]);
    header::split(&text, perf::prefix).is_some_and(|h| h.prefix.pid.is_none())
}

/// `ev` as a line of `format` can hold it: ftrace keeps microseconds, trace-cmd no tgid.
fn normalised(format: Format, ev: &Event) -> Event {
    let mut ev = ev.clone();
    ev.line = 1;
    match format {
        Format::Ftrace => ev.ts_ns -= ev.ts_ns % 1000,
        Format::TraceCmd => ev.tgid = None,
        Format::PerfScript => {}
    }
    ev
}

pub fn check(format: Format, data: &[u8]) {
    // Strict: every item is an event or an error with a line number read so far.
    let mut p = Parser::new(data, format, false);
    let (mut events, mut errors) = (0u64, 0u64);
    while let Some(r) = p.next() {
        match r {
            Ok(e) => {
                assert!(e.line >= 1 && e.line <= p.lines());
                events += 1;
                let comm = &e.current.comm;
                if comm.contains(": ")
                    || comm.ends_with(':')
                    || format == Format::PerfScript && perf_lost_thread(data, e.line)
                {
                    continue;
                }
                let line = write(format, &e);
                let again: Vec<_> = Parser::new(line.as_bytes(), format, false).collect();
                let want = normalised(format, &e);
                assert_eq!(again.len(), 1, "{line}");
                match &again[0] {
                    Ok(a) => assert_eq!(*a, want, "{line}"),
                    Err(err) => panic!("written line does not parse: {err}"),
                }
            }
            Err(e) => {
                assert!(e.line >= 1 && e.line <= p.lines());
                assert!(!e.expected.is_empty());
                errors += 1;
            }
        }
    }
    assert_eq!(events + errors + p.ignored(), p.lines());
    // Lenient: bad lines are counted, never returned.
    let mut p = Parser::new(data, format, true);
    let lenient = p
        .by_ref()
        .map(|r| r.expect("lenient parsers return no errors"))
        .count() as u64;
    assert_eq!(lenient, events);
    assert_eq!(p.skipped(), errors);
    // Detection reads any text.
    let _ = Format::detect(&String::from_utf8_lossy(data));
}
