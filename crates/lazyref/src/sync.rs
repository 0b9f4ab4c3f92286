//! The atomics the protocol uses, from loom under `--cfg loom` and from `std` otherwise, at
//! identical paths so that no `cfg` appears in protocol code (crossbeam's `primitive` shim).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize};

/// `fence`: only the fence backend of `barrier` uses it (loom, Miri, non-Linux).
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::fence;
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::atomic::fence;

pub(crate) use std::sync::atomic::Ordering;
