//! The protocol: lazily published per-thread slots, a batched freer, and the hand-off of the
//! last reference to whoever still holds an object (Andy Lutomirski's `lazy_mm` / `drop_mm`,
//! lazy-mm patch 16, moved from CPUs to threads).
//!
//! Internals, public so that the loom models in `tests/loom.rs` can drive the protocol with
//! explicit records; not covered by semver. Use [`LazyArc`](crate::LazyArc).
//!
//! # State
//!
//! - `src`: the shared pointer (a [`LazyArc`](crate::LazyArc)'s `AtomicPtr<Header>`); it owns
//!   one count (`Header::refs`) on the node it points to.
//! - Per thread, a [`Record`] with [`SLOTS`] pairs `(slot[i], drop[i])` — the kernel's
//!   `(rq->lazy_mm, rq->drop_mm)`. `slot[i]` is written only by the owner thread; `drop[i]` is
//!   set by freers (compare-exchange) and emptied by the owner or by a stealing freer.
//! - Per thread, a retire batch and the hand-offs still to re-check (owner only).
//!
//! # Sequence sketch
//!
//! ```text
//!  reader R (slot i)                           freer F (retires n)
//!  ───────────────────                         ───────────────────
//!  cur = src.load(Acquire)                     old = src.swap(new, AcqRel)     (n == old)
//!  if slot[i] == cur: use cur  ── fast path:   batch.push(n); if batch full:
//!     no shared store, no barrier              HEAVY()  ─────────────┐ membarrier: a full
//!  else:                                       for every record r,   │ barrier on R's CPU if
//!    slot[i].store(cur, Release) ─┐            for every slot j:     │ R runs (IPI), else R's
//!                                 │                                  │ context switch
//!    LIGHT()  (compiler fence) ───┼────────────  s = r.slot[j].load(Acquire)
//!    again = src.load(Acquire)    │              if s in batch: refs += 1; hand_off(r, j, s)
//!    retry if again != cur        │            for n in batch: release(n)   (last count frees)
//!    drain(drop[i])  ─────────────┘            after the NEXT heavy barrier (next batch,
//!    use cur                                     flush, exit): re-check the hand-offs, take
//!                                                back what the holder already left
//!
//!  hand_off(r, j, n)                           drain(r, i)  (owner, after a slot change)
//!  ─────────────────                           ───────────
//!  old = drop[j].load(Acquire)                 d = drop[i].load(Acquire)
//!  if old == null: CAS(null → n); done         while d ∉ {null, slot[i]}:
//!  s = slot[j].load(Acquire)   ← re-load!        CAS(d → null) then release(d)
//!  if s != n: release(n); done  (not needed)
//!  CAS(old → n); release(old)  (steal: the holder's slot moved from old to n)
//! ```
//!
//! # Why the reader's slow path needs no CPU fence
//!
//! The reader's store to `slot[i]` must be ordered before its re-load of `src` (store → load),
//! against the freer's swap of `src` before its scan of `slot[i]`: the store-buffer shape,
//! which release/acquire cannot forbid. Symmetric fix: `fence(SeqCst)` on both sides (our
//! fallback, and what loom checks). Asymmetric fix: `membarrier(PRIVATE_EXPEDITED)` executes
//! a full barrier on every CPU running one of our threads, at some instant between the
//! syscall's entry and return, and every thread not running passes a full barrier when it is
//! next scheduled. Take the instant `B` at which R's CPU executes that barrier (or R's context
//! switch). Either R's slot store precedes `B` in R's instruction stream — then it is globally
//! visible before the syscall returns, so F's scan, after the return, reads it (or a later
//! value) and hands `n` off instead of freeing it; or R's re-load follows `B` — then it
//! follows F's swap (which precedes F's syscall), so it reads the new pointer and R retries.
//! The compiler fence keeps the compiler from moving the store after the load, which would
//! make both halves fail. This is exactly the pairing of folly's `asymmetric_thread_fence_light`
//! / `_heavy` and seize's `light_barrier` / `heavy`.
//!
//! # Why the fast path needs nothing at all
//!
//! If `slot[i] == cur` the slot has held `cur` continuously since a validated publication
//! (only the owner writes it, and `protect` leaves a slot only holding a validated value). A
//! freer of `cur` therefore either saw the slot in its scan and handed `cur` to us — so `cur`
//! lives while our slot holds it and its address cannot be reused (no ABA on the compare) — or
//! scanned before our publication, in which case our validation would have failed.
//!
//! # The hand-off and the steal race (spec §7 #18)
//!
//! A freer that finds `slot[j] == n` adds a count to `n` and puts it in `drop[j]`. The holder
//! drops it at its next slot change (or `flush`, or exit) once `drop[i] != slot[i]`. If
//! `drop[j]` already holds `old`, the holder is done with `old` exactly when its slot has moved
//! on, so the freer steals the cell — but only after *re-loading* `slot[j]` after loading
//! `drop[j]`: between the scan and the hand-off the holder may have moved to `old`'s successor
//! `m`, and another freer may have handed `m` into `drop[j]`; trusting the scan's stale
//! `slot[j] == n` would steal and free `m` while the holder uses it (the Dec-2020 mockup bug).
//!
//! # Why nothing lingers in a drop cell the holder has left
//!
//! A hand-off can race with the holder moving away: the freer's CAS into `drop[j]` and the
//! holder's slot store + `drain` load are the store-buffer shape again. So the freer keeps
//! its hand-offs and, after its *next* heavy barrier (its next reclaim's, which it pays
//! anyway, or the one `flush` and thread exit issue for this), re-loads each slot it handed
//! to; where the slot moved on, it takes the object back. Either the holder's `drain` (after
//! its light barrier) sees the hand-off, or the freer's re-check sees the slot move; both may,
//! and the CAS makes exactly one of them release it. Thread exit is the same shape (slot
//! cleared, light barrier, drain), so an exiting thread leaves nothing behind. Deferring the
//! re-check to the next barrier costs one heavy barrier per batch instead of two; the price is
//! that a handed-off object the holder has already left can wait in its drop cell until the
//! freer's next reclaim, `flush` or exit (at most one such object per slot).

mod node;
mod reclaim;
mod record;

pub use node::{Header, Node};
pub use reclaim::{drain, hand_off, reclaim, settle, HandOff, Retired};
pub use record::{protect, unpublish, Pins, Record, Registry, SLOTS};

/// The freer's heavy barrier on its own (membarrier or `fence(SeqCst)`): to measure its cost.
pub fn heavy_barrier() {
    crate::barrier::heavy()
}

/// A deliberate bug, for the loom models to show that they catch it. Only `--cfg loom`
/// builds can select one (`set_mutant`); elsewhere every check is a constant `false`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutant {
    /// The correct protocol.
    None,
    /// The reader's slow path has no barrier between its slot store and its re-load.
    NoLightBarrier,
    /// The slot store is Relaxed: the holder's uses of the old object are not published.
    SlotStoreRelaxed,
    /// `hand_off` trusts the scan's slot value instead of re-loading it (Dec-2020 mockup).
    NoSlotReload,
    /// The freer does not re-check the slots it handed objects to.
    NoRecheck,
    /// `unpublish` (thread exit, `flush`) has no barrier between its slot clear and drain.
    NoUnpublishBarrier,
}

#[cfg(loom)]
mod knob {
    use super::Mutant;
    use std::cell::Cell;

    thread_local! {
        // loom runs a model's threads as coroutines on the test's OS thread, so a std
        // thread-local set by the test is what the model sees, and parallel tests don't mix.
        static MUTANT: Cell<Mutant> = const { Cell::new(Mutant::None) };
    }

    /// Selects the mutant for models run on this OS thread.
    pub fn set_mutant(m: Mutant) {
        MUTANT.with(|c| c.set(m));
    }

    pub(crate) fn is(m: Mutant) -> bool {
        MUTANT.with(|c| c.get()) == m
    }
}

#[cfg(loom)]
pub use knob::set_mutant;

/// Whether the given mutant is active.
#[cfg(loom)]
#[inline]
pub(crate) fn mutant(m: Mutant) -> bool {
    knob::is(m)
}

/// Whether the given mutant is active: never, outside loom.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn mutant(_: Mutant) -> bool {
    false
}
