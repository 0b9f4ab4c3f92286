//! The one import point for atomics (crossbeam-epoch's `primitive` habit, style-anchors §2).
//!
//! Protocol code names `crate::sync::atomic::*`, never `std::sync` directly, so that the loom
//! engine (a later issue) can swap in `loom::sync::atomic` with `--cfg loom` without touching a
//! scheme. The oracle's shadow state and the counters deliberately use `std` atomics even under
//! loom (haphazard's `CountDrops` habit): observation must not add happens-before edges.

/// Atomics used by protocol code.
pub mod atomic {
    pub use std::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
}
