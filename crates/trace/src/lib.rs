//! Linux scheduler traces for lazymm replay: parsers of ftrace text, `trace-cmd report` text
//! and `perf script` text into [`Event`]s.

#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

pub mod event;

pub use event::{Event, EventKind, TaskName, WakeKind};
