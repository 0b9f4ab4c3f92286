//! The streaming parser: one pass over a [`BufRead`], one reused line buffer, one [`Event`]
//! per line of a tracepoint lazymm replays.
//!
//! Each line is classified: an event of ours ([`Event`]); a line to ignore (blank, `#`
//! comments and headers, a format's banner lines, events of other tracepoints), counted by
//! [`Parser::ignored`]; or a bad line (no header the format allows, or one of our tracepoints
//! whose fields do not parse), which is a [`ParseError`] in strict mode and skipped and counted
//! by [`Parser::skipped`] in lenient mode. Bytes that are not UTF-8 (a comm may hold any byte)
//! become U+FFFD. A read error ends the iteration after one error.
//!
//! perf prints `:-1 -1` for the current task of a sample whose thread it has lost (an exiting
//! task's last events). The tracepoint sometimes names that task anyway: `sched_switch` fires
//! in `prev`'s context and `sched_process_exit` in the exiting task's, so they take it as the
//! current one; and a `tlb_flush` for reason 0 (on task switch, from `switch_mm_irqs_off()`
//! during the same context switch, before `next` runs) on a CPU whose last event was such a
//! `sched_switch` takes that switch's `prev`. The parser keeps that one task per CPU until
//! the CPU's next event. Any other event of ours with that header is a bad line.

use crate::error::ParseError;
use crate::event::{Event, EventKind, TaskName};
use crate::fields::{self, Fields};
use crate::header::{self, Header};
use crate::{ftrace, perf, tracecmd, Format};
use std::collections::HashMap;
use std::io::BufRead;

/// Reads [`Event`]s from a trace in one [`Format`]; see the module documentation.
pub struct Parser<R: BufRead> {
    reader: R,
    format: Format,
    lenient: bool,
    buf: Vec<u8>,
    lines: u64,
    skipped: u64,
    ignored: u64,
    done: bool,
    /// Per CPU, the `prev` of a perf lost-thread `sched_switch` that was its last event.
    lost: HashMap<u32, TaskName>,
}

/// What one line is.
#[derive(Debug)]
pub enum Line {
    /// An event of ours.
    Event(Event),
    /// An event of ours whose header names no current task (perf's `:-1 -1`); its `current`
    /// is left empty (comm `""`, pid 0) for the [`Parser`] to find.
    Orphan(Event),
    /// A line to ignore.
    Ignored,
    /// A bad line.
    Bad(ParseError),
}

impl<R: BufRead> Parser<R> {
    /// A parser of `reader` in `format`; `lenient` skips bad lines instead of reporting them.
    pub fn new(reader: R, format: Format, lenient: bool) -> Self {
        Self {
            reader,
            format,
            lenient,
            buf: Vec::with_capacity(256),
            lines: 0,
            skipped: 0,
            ignored: 0,
            done: false,
            lost: HashMap::new(),
        }
    }

    /// The format this parser reads.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Malformed lines skipped so far (lenient mode only).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Well-formed lines ignored so far: other tracepoints, headers, comments, blank lines.
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// Lines read so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }
}

impl<R: BufRead> Iterator for Parser<R> {
    type Item = Result<Event, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.lines += 1;
                    let mut end = self.buf.len();
                    while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
                        end -= 1;
                    }
                    // Valid UTF-8 is checked in one fast pass; only other lines pay for
                    // the replacement.
                    let text = match std::str::from_utf8(&self.buf[..end]) {
                        Ok(t) => std::borrow::Cow::Borrowed(t),
                        Err(_) => String::from_utf8_lossy(&self.buf[..end]),
                    };
                    match parse_line(self.format, &text, self.lines) {
                        Line::Event(e) => {
                            if !self.lost.is_empty() {
                                self.lost.remove(&e.cpu);
                            }
                            return Some(Ok(e));
                        }
                        Line::Orphan(e) => match adopt(&mut self.lost, e, &text) {
                            Ok(e) => return Some(Ok(e)),
                            Err(_) if self.lenient => self.skipped += 1,
                            Err(e) => return Some(Err(e)),
                        },
                        Line::Ignored => self.ignored += 1,
                        Line::Bad(_) if self.lenient => self.skipped += 1,
                        Line::Bad(e) => return Some(Err(e)),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    let msg = format!("read error: {e}");
                    return Some(Err(ParseError::new(
                        self.lines + 1,
                        msg,
                        "a readable trace",
                        "",
                    )));
                }
            }
        }
        None
    }
}

/// Reads one line (without its newline) of `format`; `line_no` is its 1-based number.
pub fn parse_line(format: Format, text: &str, line_no: u64) -> Line {
    if header::is_noise(text) {
        return Line::Ignored;
    }
    let (h, form) = match format {
        Format::Ftrace => (header::split(text, ftrace::prefix), ftrace::LINE_FORM),
        Format::TraceCmd => (header::split(text, tracecmd::prefix), tracecmd::LINE_FORM),
        Format::PerfScript => (header::split(text, perf::prefix), perf::LINE_FORM),
    };
    let Some(h) = h else {
        return Line::Bad(ParseError::new(line_no, "no event header", form, text));
    };
    let name = match format {
        Format::PerfScript => match perf::tracepoint(h.event) {
            Some(n) => n,
            None => return Line::Ignored,
        },
        _ => h.event,
    };
    match fields::parse(name, h.fields, format == Format::TraceCmd) {
        Fields::Event(kind) => match h.prefix.pid {
            Some(_) => Line::Event(event(&h, kind, line_no)),
            None => Line::Orphan(event(&h, kind, line_no)),
        },
        Fields::Other => Line::Ignored,
        Fields::Bad(expected) => Line::Bad(ParseError::new(
            line_no,
            format!("{} fields do not parse", name),
            expected,
            text,
        )),
    }
}

/// The event of header `h` and fields `kind` (an empty `current` where `h` has no pid).
fn event(h: &Header<'_>, kind: EventKind, line: u64) -> Event {
    Event {
        line,
        ts_ns: h.ts_ns,
        cpu: h.prefix.cpu,
        current: TaskName {
            comm: if h.prefix.pid.is_some() {
                h.prefix.comm.to_owned()
            } else {
                String::new()
            },
            pid: h.prefix.pid.unwrap_or(0),
        },
        tgid: h.prefix.tgid,
        kind,
    }
}

/// Finds the current task of an [`Line::Orphan`] (see the module documentation); `lost` holds
/// per CPU the `prev` of a lost-thread `sched_switch` that was the CPU's last event.
fn adopt(lost: &mut HashMap<u32, TaskName>, mut e: Event, text: &str) -> Result<Event, ParseError> {
    let current = match &e.kind {
        EventKind::Switch { prev, .. } => {
            lost.insert(e.cpu, prev.clone());
            Some(prev.clone())
        }
        EventKind::Exit { task, .. } => Some(task.clone()),
        EventKind::TlbFlush { reason: 0, .. } => lost.get(&e.cpu).cloned(),
        _ => None,
    };
    if !matches!(e.kind, EventKind::Switch { .. }) {
        lost.remove(&e.cpu);
    }
    match current {
        Some(t) => {
            e.current = t;
            Ok(e)
        }
        None => Err(ParseError::new(
            e.line,
            format!(
                "perf lost this sample's thread (`:-1 -1`) and the event does not name it (only sched_switch, sched_process_exit, and a task-switch tlb_flush right after such a sched_switch on CPU {} do)",
                e.cpu
            ),
            perf::LINE_FORM,
            text,
        )),
    }
}
