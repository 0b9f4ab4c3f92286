//! A shared, atomically replaceable `Arc<T>` whose readers pay (almost) nothing: the
//! lightweight-hazard-pointer protocol of Andy Lutomirski's lazy-mm series (2022, patch 16:
//! `lazy_mm` / `drop_mm`) as a user-space library.
//!
//! ```
//! use lazyref::LazyArc;
//! use std::sync::Arc;
//!
//! let config = LazyArc::from_pointee(String::from("v1"));
//! assert_eq!(*config.load(), "v1"); // first read on this thread: one slot store
//! assert_eq!(*config.load(), "v1"); // same object again: no store to shared memory, no barrier
//! config.store(Arc::new(String::from("v2")));
//! let held: Arc<String> = lazyref::Guard::into_arc(config.load()); // long hold
//! assert_eq!(*held, "v2");
//! ```
//!
//! # How it works
//!
//! Each thread owns a record of [`SLOTS`](raw::SLOTS) hazard slots. A read publishes the
//! object it uses in a slot with a plain store and **leaves it published after the guard
//! drops**, so the next read of the same object only compares the slot with the shared
//! pointer. The rare writer pays instead: `store` swaps the pointer and retires the old
//! object into a per-thread batch; every [`RETIRE_BATCH`] retirements it issues one
//! asymmetric barrier (`membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` on Linux), scans every
//! thread's slots, frees what nobody holds, and **hands each still-held object to its
//! holder**, who drops it at its next read of another object, at [`flush`], or at thread
//! exit. The protocol, its sequence sketch, every ordering's pair and the argument for why the
//! reader needs no fence are in the [`raw`] module's documentation.
//!
//! # Guarantees
//!
//! - An object is freed exactly once, after every guard on it dropped and every thread's slot
//!   moved off it (loom-checked, Miri-clean, stress-tested: see the crate README).
//! - Readers are wait-free: a read never waits for a writer and retries only while the
//!   pointer keeps changing under it.
//! - Writers never wait for readers: reclamation hands still-held objects over instead.
//! - Threads register on first read and unregister at exit, automatically; records of exited
//!   threads are reused. Reads work during TLS teardown too (through a temporary record).
//! - [`Guard`] is `!Send`; [`Guard::into_arc`] gives an owned `Arc` for long holds.
//!
//! # The memory bound, and the idle reader
//!
//! Unreclaimed objects are bounded: at most [`SLOTS`](raw::SLOTS) objects per thread in its
//! slots (the objects it last read, one per slot, which it may read again for free), plus at
//! most one per slot handed to it but already left, waiting in its drop cell for the freer's
//! next reclaim, `flush` or exit — so at most 2 × `SLOTS` per thread — plus each writer
//! thread's pending batch (fewer than [`RETIRE_BATCH`]). Epoch schemes have no such bound:
//! one stalled reader there keeps *every* later retirement alive.
//!
//! The price of laziness is the idle reader — the user-space analogue of a CPU lazily
//! holding a dead process's `mm` ("zombie mm"): a thread that read an object and then never
//! reads that `LazyArc` again (a parked worker) keeps that one object alive, however often
//! it is replaced, until it reads again, calls [`flush`], or exits. A writer thread that stops
//! writing likewise keeps its partial batch until it writes again, calls [`flush`], or exits.
//! Call [`flush`] before parking a thread for long.
//!
//! # Limits
//!
//! - The fast barrier is Linux-only (`membarrier`, kernel ≥ 4.14, registered once per
//!   process). Where registration fails, elsewhere, under Miri and under loom, both sides use
//!   `fence(SeqCst)`: still correct and still barrier-free on the repeated-read fast path, but
//!   a reader's first read of each new object pays a full fence. [`strategy`] says which.
//! - `membarrier(PRIVATE_EXPEDITED)` interrupts every CPU currently running a thread of the
//!   process and is serialised in the kernel: batching amortises it; do not use `LazyArc` for
//!   data replaced millions of times per second.
//! - More than [`SLOTS`](raw::SLOTS) simultaneously live guards on different objects in one
//!   thread fall back to an owned `Arc` (a temporary record and one refcount increment).
//! - `T: Sized`; the value is held as an `Arc<T>` behind a small node (one extra pointer hop).

#![warn(missing_docs)]

mod barrier;
#[cfg(not(loom))]
mod lazy_arc;
#[cfg(not(loom))]
mod local;
pub mod raw;
mod sync;

pub use barrier::{strategy, Strategy};
#[cfg(not(loom))]
pub use lazy_arc::{Guard, LazyArc};
#[cfg(not(loom))]
pub use local::{flush, record_count, RETIRE_BATCH};
