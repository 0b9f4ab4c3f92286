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
    pub use loom::sync::atomic::{
        fence, AtomicBool, AtomicI64, AtomicU16, AtomicU32, AtomicU64, Ordering,
    };
    #[cfg(not(loom))]
    pub use std::sync::atomic::{
        fence, AtomicBool, AtomicI64, AtomicU16, AtomicU32, AtomicU64, Ordering,
    };
}

/// The kernel's `smp_mb()`: a `SeqCst` fence — every full barrier of the model goes through
/// here (`Kernel::smp_mb`, the locked bitops, [`full`]).
///
/// Under loom it is preceded by a `Relaxed` read-modify-write of one global token. loom 0.7's
/// `fence(SeqCst)` joins one global causality clock (`rt/thread.rs` `seq_cst_fence`) in the
/// order the fences happen to run, and a fence is neither a point where loom preempts (only
/// loads, stores and RMWs are: `rt/atomic.rs`) nor an access whose order it explores. So a
/// fence that runs right after a relaxed store of the same thread is welded to it, and the
/// other thread's later fence makes that store act as a release — stronger than the LKMM,
/// where a barrier after a store orders nothing before it. That hid H's relaxed un-lazy
/// store when `switch_mm_cid`'s `smp_mb()` follows it (tests/loom/hazard.rs). The token's
/// RMW is a preemption point before every fence and gives any two fences a conflicting
/// access, so loom explores both fence orders. It adds no order the fence does not already
/// give: a `Relaxed` RMW synchronises only through fences, and what an earlier fence of
/// another thread publishes through it is a subset of what the global clock join publishes
/// when that fence runs first.
#[inline]
pub fn mb() {
    // Relaxed: pairs with nothing; it is only a preemption point and an access on which
    // every two barriers conflict (see above).
    #[cfg(loom)]
    MB_TOKEN.fetch_add(1, atomic::Ordering::Relaxed);
    // SeqCst fence: the smp_mb(); each caller names its pair.
    atomic::fence(atomic::Ordering::SeqCst);
}

#[cfg(loom)]
loom::lazy_static! {
    /// [`mb`]'s token (loom only; one per execution).
    static ref MB_TOKEN: atomic::AtomicU64 = atomic::AtomicU64::new(0);
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

/// Fully ordered read-modify-writes, as the LKMM defines every value-returning atomic
/// (`atomic_dec_and_test`, `atomic_add_return`, `atomic_inc_not_zero`, a successful
/// `cmpxchg`, `xchg`): an `smp_mb()` before **and** after the access
/// (Documentation/atomic_t.txt: "RMW operations that have a return value are fully ordered").
///
/// In C11 terms: a `SeqCst` fence ([`mb`]), the RMW, a `SeqCst` fence. The leading fence
/// acts as a release fence for everything before it (so a later acquirer that reads the RMW's
/// value, or anything after it, sees our earlier accesses); the trailing fence acts as an
/// acquire fence (so our later accesses see whatever the writers we read from did before
/// their release).
/// Every caller names which of the two halves it relies on.
pub mod full {
    use super::atomic::{AtomicI64, AtomicU64, Ordering::*};
    use super::mb;

    /// `atomic_sub_return`-style fully ordered `fetch_sub`; returns the old value.
    pub fn fetch_sub(a: &AtomicI64, v: i64) -> i64 {
        // Full barriers (`mb`): the smp_mb() before and after a value-returning atomic (see
        // the module doc); the callers name their pairs.
        mb();
        let old = a.fetch_sub(v, Relaxed);
        mb();
        old
    }

    /// `atomic64_inc_return`-style fully ordered `fetch_add`; returns the new value.
    pub fn add_return(a: &AtomicU64, v: u64) -> u64 {
        // Full barriers (`mb`): the smp_mb() before and after a value-returning atomic (see
        // the module doc); the callers name their pairs.
        mb();
        let new = a.fetch_add(v, Relaxed) + v;
        mb();
        new
    }

    /// Fully ordered `atomic_inc_not_zero` on a counter: true if it was not zero (and is now
    /// incremented). On failure it is unordered, as in the kernel.
    pub fn inc_not_zero(a: &AtomicI64) -> bool {
        // Relaxed: the CAS decides; ordering comes from the fences around the success.
        let mut v = a.load(Relaxed);
        loop {
            if v <= 0 {
                return false;
            }
            // Full barriers (`mb`): the smp_mb() before and after a successful
            // atomic_inc_not_zero (see the module doc; callers name their pairs).
            mb();
            match a.compare_exchange(v, v + 1, Relaxed, Relaxed) {
                Ok(_) => {
                    mb();
                    return true;
                }
                Err(x) => v = x,
            }
        }
    }

    /// Fully ordered `cmpxchg` when it succeeds. The LKMM leaves a failed `cmpxchg`
    /// unordered; here the leading fence runs either way (it must precede the access), so a
    /// failure is slightly more ordered than the kernel's — conservative for the checks, and
    /// no caller relies on it. Returns the value found.
    pub fn cmpxchg(a: &AtomicU64, old: u64, new: u64) -> Result<u64, u64> {
        // Full barriers (`mb`): the smp_mb() before and (on success) after a value-returning
        // cmpxchg (see the module doc; callers name their pairs). Relaxed CAS between them.
        mb();
        let r = a.compare_exchange(old, new, Relaxed, Relaxed);
        if r.is_ok() {
            mb();
        }
        r
    }
}
