//! The streaming parser: one pass over a [`BufRead`], one reused line buffer, one [`Event`]
//! per line of a tracepoint lazymm replays.
//!
//! Each line is classified: an event of ours ([`Event`]); a line to ignore (blank, `#`
//! comments and headers, a format's banner lines, events of other tracepoints), counted by
//! [`Parser::ignored`]; or a bad line (no header the format allows, or one of our tracepoints
//! whose fields do not parse), which is a [`ParseError`] in strict mode and skipped and counted
//! by [`Parser::skipped`] in lenient mode. Bytes that are not UTF-8 (a comm may hold any byte)
//! become U+FFFD. A read error ends the iteration after one error.

use crate::error::ParseError;
use crate::event::{Event, EventKind, TaskName};
use crate::fields::{self, Fields};
use crate::header::{self, Header};
use crate::{ftrace, perf, tracecmd, Format};
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
}

/// What one line is.
#[derive(Debug)]
pub enum Line {
    /// An event of ours.
    Event(Event),
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
                        Line::Event(e) => return Some(Ok(e)),
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
        Fields::Event(kind) => match event(&h, kind, line_no) {
            Some(e) => Line::Event(e),
            None => Line::Bad(ParseError::new(
                line_no,
                format!("perf names no current task (`:-1 -1`) for {name}"),
                perf::LINE_FORM,
                text,
            )),
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

/// The event of header `h` and fields `kind`; `None` where the header names no current task
/// and the event does not imply it (see [`perf`]).
fn event(h: &Header<'_>, kind: EventKind, line: u64) -> Option<Event> {
    let current = match (h.pid, &kind) {
        (Some(pid), _) => TaskName {
            comm: h.comm.to_owned(),
            pid,
        },
        (None, EventKind::Switch { prev: t, .. } | EventKind::Exit { task: t, .. }) => t.clone(),
        (None, _) => return None,
    };
    Some(Event {
        line,
        ts_ns: h.ts_ns,
        cpu: h.cpu,
        current,
        tgid: h.tgid,
        kind,
    })
}
