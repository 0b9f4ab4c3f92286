//! Linux scheduler traces for lazymm replay: parsers of ftrace text, `trace-cmd report` text
//! and `perf script` text into [`Event`]s, and writers of the same formats.
//!
//! [`open`] a file (detecting its [`Format`] from its first lines, or as told) or build a
//! [`Parser`] over any [`BufRead`]; iterate it for `Result<Event, ParseError>`. The parsers
//! stream: one pass, one reused line buffer, allocations only for the strings an [`Event`]
//! owns. Each format's module documents its layout with real lines: [`ftrace`], [`tracecmd`],
//! [`perf`]; the tracepoints' fields are read by [`fields`] and written by [`render`].
//!
//! [`write()`] prints an event as a line of a format; parsing that line gives the event back,
//! except that ftrace prints microseconds (`ts_ns` is truncated), `trace-cmd report` prints no
//! tgid, header comms lose leading spaces (perf's also trailing ones), and a header comm that
//! holds `: ` or ends in `:` can read as a header of its own (see [`header`]): the formats
//! print comms raw. The tests check this on arbitrary events and the fuzz targets on
//! arbitrary input (`tests/roundtrip.rs`, `fuzz/`).

#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

pub mod error;
pub mod event;
pub mod fields;
pub mod ftrace;
pub mod header;
pub mod parser;
pub mod perf;
pub mod render;
pub mod tracecmd;

/// The tracepoints lazymm reads, `(system, event)`: what `lazymm record` enables, what
/// [`fields::parse`] reads and what [`render::name`] names (a test keeps the three in step).
pub const TRACEPOINTS: [(&str, &str); 9] = [
    ("sched", "sched_switch"),
    ("sched", "sched_wakeup"),
    ("sched", "sched_wakeup_new"),
    ("sched", "sched_waking"),
    ("sched", "sched_process_fork"),
    ("sched", "sched_process_exec"),
    ("sched", "sched_process_exit"),
    ("sched", "sched_process_free"),
    ("tlb", "tlb_flush"),
];

pub use error::ParseError;
pub use event::{Event, EventKind, TaskName, WakeKind};
pub use parser::Parser;

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

/// A trace's text format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `/sys/kernel/tracing/trace` or `trace_pipe` text ([`ftrace`]).
    Ftrace,
    /// `trace-cmd report` text ([`tracecmd`]).
    TraceCmd,
    /// `perf script` text ([`perf`]).
    PerfScript,
}

impl Format {
    /// Every format, in detection order.
    pub const ALL: [Format; 3] = [Format::Ftrace, Format::TraceCmd, Format::PerfScript];

    /// The format of a trace whose first few KiB are `head`, or `None` when no line of it has
    /// an event header of any format.
    ///
    /// `# tracer:` (ftrace's header) and `cpus=` (trace-cmd's first line) decide at once.
    /// Otherwise the first event line decides: perf's header has no `COMM-PID` and its events
    /// a `system:` prefix; ftrace's may have a `(TGID)` or a flags column, which trace-cmd's
    /// has not; where both read the header, trace-cmd pads `EVENT:` and prints one space after
    /// `[CPU]`, ftrace (without flags) two.
    pub fn detect(head: &str) -> Option<Format> {
        for line in head.lines() {
            if line.starts_with("# tracer:") {
                return Some(Format::Ftrace);
            }
            if line.starts_with("cpus=") {
                return Some(Format::TraceCmd);
            }
            if header::is_noise(line) {
                continue;
            }
            if header::split(line, perf::prefix).is_some_and(|h| h.event.contains(':')) {
                return Some(Format::PerfScript);
            }
            let ft = header::split(line, ftrace::prefix);
            let tc = header::split(line, tracecmd::prefix);
            match (ft, tc) {
                (Some(h), Some(_)) => {
                    // Same header text: ftrace prints `[CPU]` then two spaces (no flags) and
                    // `EVENT: ` with one space; trace-cmd one space and `EVENT:` padded.
                    // `h.fields` is the line's tail; look at the header only.
                    let head = &line[..line.len() - h.fields.len()];
                    let padded = head.contains(&format!(" {}:  ", h.event));
                    let two_spaces = head.contains("]  ");
                    return Some(if padded || !two_spaces {
                        Format::TraceCmd
                    } else {
                        Format::Ftrace
                    });
                }
                (Some(_), None) => return Some(Format::Ftrace),
                (None, Some(_)) => return Some(Format::TraceCmd),
                (None, None) => {}
            }
        }
        None
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ftrace" => Ok(Format::Ftrace),
            "trace-cmd" => Ok(Format::TraceCmd),
            "perf-script" => Ok(Format::PerfScript),
            other => Err(format!(
                "unknown trace format `{other}`; expected one of ftrace, trace-cmd, perf-script"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Ftrace => "ftrace",
            Format::TraceCmd => "trace-cmd",
            Format::PerfScript => "perf-script",
        })
    }
}

/// Bytes [`open`] reads to detect a format.
pub const DETECT_BYTES: usize = 16 * 1024;

/// Opens `path` for parsing in `format`, or in the format [`Format::detect`] finds in its
/// first [`DETECT_BYTES`] when `None`. Errors name the file.
pub fn open(
    path: &Path,
    format: Option<Format>,
    lenient: bool,
) -> Result<Parser<Box<dyn BufRead>>, String> {
    let file = File::open(path).map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
    let mut reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 16, file));
    let format = match format {
        Some(f) => f,
        None => {
            let mut head = Vec::with_capacity(DETECT_BYTES);
            (&mut reader)
                .take(DETECT_BYTES as u64)
                .read_to_end(&mut head)
                .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
            let f = Format::detect(&String::from_utf8_lossy(&head)).ok_or_else(|| {
                format!(
                    "{}: cannot tell the trace format from its first {} bytes (no ftrace, trace-cmd report or perf script event line); name it",
                    path.display(),
                    head.len()
                )
            })?;
            reader = Box::new(std::io::Cursor::new(head).chain(reader));
            f
        }
    };
    Ok(Parser::new(reader, format, lenient))
}

/// The line `format` prints for `ev` (without a newline); see each format's `write` for what
/// does not survive a round trip.
pub fn write(format: Format, ev: &Event) -> String {
    match format {
        Format::Ftrace => ftrace::write(ev),
        Format::TraceCmd => tracecmd::write(ev),
        Format::PerfScript => perf::write(ev),
    }
}
