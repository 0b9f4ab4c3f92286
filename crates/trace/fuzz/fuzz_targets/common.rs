//! What every parser target checks: arbitrary bytes never panic, in strict or lenient mode,
//! and the counters add up.

use lazymm_trace::{Format, Parser};

pub fn check(format: Format, data: &[u8]) {
    // Strict: every item is an event or an error with a line number read so far.
    let mut p = Parser::new(data, format, false);
    let (mut events, mut errors) = (0u64, 0u64);
    for r in p.by_ref() {
        match r {
            Ok(e) => {
                assert!(e.line >= 1 && e.line <= p.lines());
                events += 1;
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
    let lenient = p.by_ref().map(|r| r.expect("lenient parsers return no errors")).count() as u64;
    assert_eq!(lenient, events);
    assert_eq!(p.skipped(), errors);
    // Detection reads any text.
    let _ = Format::detect(&String::from_utf8_lossy(data));
}
