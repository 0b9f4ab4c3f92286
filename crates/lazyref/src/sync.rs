//! The atomics the protocol uses, from loom under `--cfg loom` and from `std` otherwise, at
//! identical paths so that no `cfg` appears in protocol code (crossbeam's `primitive` shim).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize};

pub(crate) use std::sync::atomic::Ordering;
