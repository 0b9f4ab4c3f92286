//! The one import point for atomics, locks and the page-table cell (crossbeam-epoch's
//! `primitive` habit, style-anchors §2).
//!
//! Protocol code names `crate::sync::*`, never `std::sync` or `loom` directly. Built with
//! `RUSTFLAGS="--cfg loom"`, the same model code runs on loom's atomics and mutex, and
//! [`PageTables`] becomes a loom cell whose causality checking plays KASAN under a weak
//! memory model: a hardware walk of an mm's page tables that is not ordered before the
//! `__mmdrop` that frees them is reported by loom.
//!
//! The oracle's shadow state and the counters deliberately use `std` even under loom
//! (haphazard's `CountDrops` habit): observation must not add happens-before edges.

#[cfg(not(loom))]
pub use std::sync::{Mutex, MutexGuard};

#[cfg(loom)]
pub use loom::sync::{Mutex, MutexGuard};

/// Atomics used by protocol code.
pub mod atomic {
    #[cfg(loom)]
    pub use loom::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
    #[cfg(not(loom))]
    pub use std::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
}

/// The memory of an mm's page tables (its PGD), as the model's race detector sees it.
///
/// `walk` is a read by the MMU (a CPU that has the mm loaded, or is switching to or away
/// from it); `init` and `free` are the writes of `mm_alloc` and `mm_free_pgd`. Outside loom
/// these are no-ops; under loom every walk must be ordered with the free.
#[derive(Debug, Default)]
pub struct PageTables {
    #[cfg(loom)]
    cell: loom::cell::UnsafeCell<()>,
}

impl PageTables {
    /// The MMU reads the page tables.
    #[inline]
    pub fn walk(&self) {
        #[cfg(loom)]
        self.cell.with(|_| ());
    }
    /// `pgd_alloc`: the page tables are written.
    #[inline]
    pub fn init(&self) {
        #[cfg(loom)]
        self.cell.with_mut(|_| ());
    }
    /// `mm_free_pgd`: the page tables are freed.
    #[inline]
    pub fn free(&self) {
        #[cfg(loom)]
        self.cell.with_mut(|_| ());
    }
}
