//! The asymmetric barrier pair: [`light`] on the reader's slow path, [`heavy`] on the freer.
//!
//! Semantics (P1202's asymmetric fences): `light` and `heavy` each behave as a `fence(SeqCst)`
//! with respect to each other. Two `light` barriers are *not* ordered with each other; the
//! protocol never needs them to be.
//!
//! Backends, chosen once per process:
//! - Linux, outside loom and Miri: `heavy` is `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`,
//!   registered once with `MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED`. The kernel runs a full
//!   memory barrier on every CPU currently running a thread of this process (by IPI) before the
//!   call returns, and a thread not running passes a full barrier in its context switch. So a
//!   reader's instruction stream is split by a full barrier at a point *between two of its
//!   instructions*; `light` only has to keep the compiler from moving the slot store past the
//!   re-load, which `compiler_fence(SeqCst)` does.
//! - Where registration fails (old kernel, seccomp, a sandbox without the syscall), or off
//!   Linux, under Miri and under loom: both sides are `fence(SeqCst)`. Correct, slower readers
//!   on their slow path only; the fast path has no barrier in either backend.

/// Which heavy barrier this process uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`; readers use a compiler fence.
    Membarrier,
    /// `fence(SeqCst)` on both sides.
    Fence,
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
mod imp {
    use super::Strategy;
    use std::sync::atomic::{compiler_fence, fence, AtomicBool, Ordering};
    use std::sync::OnceLock;

    /// Set (once, never cleared) after registration succeeded. Read by `light`.
    static FAST: AtomicBool = AtomicBool::new(false);
    /// The registration's outcome; `heavy` reads it through `get_or_init`, which returns only
    /// after the initialiser (and its store to `FAST`) completed.
    static REGISTERED: OnceLock<bool> = OnceLock::new();

    fn register_once() -> bool {
        *REGISTERED.get_or_init(|| {
            use rustix::thread::{membarrier, MembarrierCommand};
            let ok = membarrier(MembarrierCommand::RegisterPrivateExpedited).is_ok();
            if ok {
                // Relaxed: a reader that sees `true` uses only a compiler fence; every `heavy`
                // after this point sees `Some(true)` through the OnceLock (its completion is a
                // release/acquire pair), so no heavy caller can still be using a plain fence.
                FAST.store(true, Ordering::Relaxed);
            }
            ok
        })
    }

    pub(crate) fn register() {
        register_once();
    }

    pub(crate) fn strategy() -> Strategy {
        if register_once() {
            Strategy::Membarrier
        } else {
            Strategy::Fence
        }
    }

    #[inline]
    pub(crate) fn light() {
        // Relaxed: see `register_once`; `false` only ever makes this barrier stronger.
        if FAST.load(Ordering::Relaxed) {
            // Pairs with `heavy`'s membarrier: the kernel's IPI barrier supplies the CPU
            // ordering; this keeps the compiler from reordering across it.
            compiler_fence(Ordering::SeqCst);
        } else {
            // Pairs with `heavy`'s fence (or membarrier, which is at least as strong).
            fence(Ordering::SeqCst);
        }
    }

    pub(crate) fn heavy() {
        if register_once() {
            use rustix::thread::{membarrier, MembarrierCommand};
            if membarrier(MembarrierCommand::PrivateExpedited).is_err() {
                // Readers already rely on it: continuing without it would be unsound.
                eprintln!("lazyref: membarrier(PRIVATE_EXPEDITED) failed after registration");
                std::process::abort();
            }
        } else {
            // Pairs with `light`'s fence(SeqCst).
            fence(Ordering::SeqCst);
        }
    }
}

#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
mod imp {
    use super::Strategy;
    use crate::sync::{fence, Ordering};

    #[cfg(not(loom))]
    pub(crate) fn register() {}

    pub(crate) fn strategy() -> Strategy {
        Strategy::Fence
    }

    #[inline]
    pub(crate) fn light() {
        // Pairs with `heavy`'s fence(SeqCst).
        fence(Ordering::SeqCst);
    }

    pub(crate) fn heavy() {
        // Pairs with `light`'s fence(SeqCst).
        fence(Ordering::SeqCst);
    }
}

#[cfg(not(loom))]
pub(crate) use imp::register;
pub(crate) use imp::{heavy, light};

/// The heavy barrier this process uses (registers membarrier on first call if not yet done).
pub fn strategy() -> Strategy {
    imp::strategy()
}
