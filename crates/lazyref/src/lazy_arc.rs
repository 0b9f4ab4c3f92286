//! `LazyArc<T>` and its `Guard`.

use crate::local::{self, REGISTRY};
use crate::raw::{self, Header, Node, Pins};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

/// A shared, atomically replaceable `Arc<T>` with lazy hazard-slot readers.
///
/// [`load`](Self::load) costs, when this thread read the same object last time, two loads,
/// a compare and a guard flag in the thread's own record — no shared store, no barrier, no
/// read-modify-write; otherwise one plain store of a per-thread slot and a compiler fence (a
/// `fence(SeqCst)` where membarrier is missing).
/// [`store`](Self::store) swaps and retires; every [`RETIRE_BATCH`](crate::RETIRE_BATCH)
/// retirements on a thread pay one heavy barrier and one scan of every thread's slots.
pub struct LazyArc<T> {
    /// Points to a `Node<T>`; owns one count on it.
    ptr: AtomicPtr<Header>,
    _owns: PhantomData<Arc<T>>,
}

// SAFETY: a `LazyArc` hands out `&T` to any thread (needs `T: Sync`) and its nodes, hence
// the `T`s, are dropped on whichever thread frees them (needs `T: Send`).
unsafe impl<T: Send + Sync> Send for LazyArc<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for LazyArc<T> {}

impl<T> LazyArc<T> {
    /// A `LazyArc` holding `arc`.
    pub fn new(arc: Arc<T>) -> Self {
        LazyArc {
            ptr: AtomicPtr::new(Node::alloc(arc)),
            _owns: PhantomData,
        }
    }

    /// A `LazyArc` holding `Arc::new(value)`.
    pub fn from_pointee(value: T) -> Self {
        Self::new(Arc::new(value))
    }

    /// Reads the current value.
    ///
    /// The guard keeps the object alive through this thread's slot; after the guard drops
    /// the slot *stays published*, so the next `load` of the same object pays nothing. Use
    /// [`Guard::into_arc`] for a hold across blocking calls.
    #[inline]
    pub fn load(&self) -> Guard<'_, T> {
        // Acquire: pairs with the Release half of the swap in `store` / `swap`, so the node
        // and its `Arc<T>` are visible.
        let cur = self.ptr.load(Ordering::Acquire);
        // A placeholder before registration and after exit: its slots are null, never `cur`.
        let rec = local::current();
        let i = self.home();
        if rec.slot(i) == cur {
            // Published and validated earlier and held since (raw module doc, "Why the fast
            // path needs nothing at all").
            // SAFETY: protected by slot i, pinned until the guard drops.
            return unsafe { Guard::lazy(rec.pins(i), cur) };
        }
        self.load_slow(cur)
    }

    /// This source's home slot: the one its fast path checks.
    #[inline]
    fn home(&self) -> usize {
        (self.tag() >> 3) % raw::SLOTS
    }

    /// This source's identity in a record's tags (its address; never dereferenced).
    #[inline]
    fn tag(&self) -> usize {
        &self.ptr as *const AtomicPtr<Header> as usize
    }

    #[cold]
    #[inline(never)]
    fn load_slow(&self, cur: *mut Header) -> Guard<'_, T> {
        let Some(rec) = local::record().or_else(local::register) else {
            return Guard::owned(self.load_temporary());
        };
        if let Some(i) = (0..raw::SLOTS).find(|&i| rec.slot(i) == cur) {
            // Published away from home (home was pinned then).
            // SAFETY: as in `load`.
            return unsafe { Guard::lazy(rec.pins(i), cur) };
        }
        let tag = self.tag();
        let Some(i) = local::victim(rec, tag, self.home()) else {
            // Every slot has a live guard on another object.
            return Guard::owned(self.load_temporary());
        };
        let n = raw::protect(rec, i, &self.ptr, cur);
        rec.set_tag(i, tag);
        // SAFETY: `protect` validated `n` in slot i, now pinned.
        unsafe { Guard::lazy(rec.pins(i), n) }
    }

    /// An owned `Arc` through a temporary record: for threads in TLS teardown and readers
    /// whose slots are all pinned by live guards.
    #[cold]
    fn load_temporary(&self) -> Arc<T> {
        let rec = REGISTRY.acquire();
        // Acquire: as in `load`.
        let cur = self.ptr.load(Ordering::Acquire);
        let n = raw::protect(rec, 0, &self.ptr, cur);
        // SAFETY: protected by the temporary record's slot 0 until `release` below.
        let arc = unsafe { Node::<T>::arc(n) }.clone();
        REGISTRY.release(rec);
        arc
    }

    /// Reads the current value as an owned `Arc` (one reference-count increment).
    pub fn load_full(&self) -> Arc<T> {
        Guard::into_arc(self.load())
    }

    /// Replaces the value; the old one is retired and freed once no thread holds it.
    pub fn store(&self, arc: Arc<T>) {
        let old = self.swap_node(arc);
        // SAFETY: swapped out just now; its source count is ours to give.
        unsafe { local::retire(old) };
    }

    /// Replaces the value and returns the old one.
    pub fn swap(&self, arc: Arc<T>) -> Arc<T> {
        let old = self.swap_node(arc);
        // SAFETY: we own the source's count on `old` until `retire`.
        let prev = unsafe { Node::<T>::arc(old) }.clone();
        // SAFETY: as in `store`.
        unsafe { local::retire(old) };
        prev
    }

    fn swap_node(&self, arc: Arc<T>) -> *mut Header {
        // AcqRel: Release publishes the new node to readers (pairs with their Acquire loads
        // in `load` and `protect`); Acquire orders the old node's creation before our use.
        self.ptr.swap(Node::alloc(arc), Ordering::AcqRel)
    }
}

impl<T> Drop for LazyArc<T> {
    fn drop(&mut self) {
        // Relaxed: `&mut self` excludes concurrent access.
        let n = self.ptr.load(Ordering::Relaxed);
        // SAFETY: nothing points to `n` any more; we give up the source's count. A thread
        // may still hold it lazily, so it is retired rather than freed.
        unsafe { local::retire(n) };
    }
}

impl<T: fmt::Debug> fmt::Debug for LazyArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LazyArc").field(&*self.load()).finish()
    }
}

impl<T: Default> Default for LazyArc<T> {
    fn default() -> Self {
        Self::from_pointee(T::default())
    }
}

impl<T> From<Arc<T>> for LazyArc<T> {
    fn from(arc: Arc<T>) -> Self {
        Self::new(arc)
    }
}

/// A read of a [`LazyArc`]: dereferences to the value. Not `Send` (it pins a slot of this
/// thread) — use [`Guard::into_arc`] to move the value elsewhere or hold it for long.
pub struct Guard<'a, T> {
    /// Into the `Arc<T>` allocation (with its whole provenance, from `Arc::as_ptr`).
    value: NonNull<T>,
    /// The pinned slot's guard count for a lazy guard; null for an owned guard, whose
    /// `value` is then an `Arc::into_raw` reference this guard owns.
    pin: *const Pins,
    /// Borrows the `LazyArc`; the raw pointer already makes the guard `!Send` and `!Sync`.
    _marker: PhantomData<&'a LazyArc<T>>,
}

impl<'a, T> Guard<'a, T> {
    /// # Safety
    /// `n` is a `Node<T>` protected by the slot whose guard count is `pin` (this thread's
    /// record); the count is incremented here and decremented when the guard drops.
    #[inline]
    unsafe fn lazy(pin: &'static Pins, n: *mut Header) -> Self {
        pin.pin();
        // SAFETY: protected for the guard's life by the caller's contract.
        let arc = unsafe { Node::<T>::arc(n) };
        Guard {
            value: as_non_null(arc),
            pin,
            _marker: PhantomData,
        }
    }

    fn owned(arc: Arc<T>) -> Self {
        Guard {
            // SAFETY: `into_raw` of an `Arc` is never null.
            value: unsafe { NonNull::new_unchecked(Arc::into_raw(arc).cast_mut()) },
            pin: std::ptr::null(),
            _marker: PhantomData,
        }
    }

    /// An owned `Arc` to the same value (one reference-count increment), for long holds.
    pub fn upgrade(this: &Self) -> Arc<T> {
        // SAFETY: `value` points into a live `Arc<T>` allocation (kept by the pinned slot or
        // by this guard's own reference) with the allocation's provenance.
        unsafe {
            Arc::increment_strong_count(this.value.as_ptr());
            Arc::from_raw(this.value.as_ptr())
        }
    }

    /// Turns the guard into an owned `Arc`, releasing the slot's pin.
    pub fn into_arc(this: Self) -> Arc<T> {
        if this.pin.is_null() {
            let this = std::mem::ManuallyDrop::new(this);
            // SAFETY: an owned guard holds the reference `Arc::into_raw` gave; we take it over
            // and skip the guard's drop.
            unsafe { Arc::from_raw(this.value.as_ptr()) }
        } else {
            Self::upgrade(&this)
        }
    }

    /// Whether this guard is a lazy slot read (true) or an owned `Arc` (the fallback).
    pub fn is_lazy(this: &Self) -> bool {
        !this.pin.is_null()
    }
}

fn as_non_null<T>(arc: &Arc<T>) -> NonNull<T> {
    // SAFETY: an `Arc`'s data pointer is never null.
    unsafe { NonNull::new_unchecked(Arc::as_ptr(arc).cast_mut()) }
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: kept alive by the pinned slot or by the owned reference for the guard's life.
        unsafe { self.value.as_ref() }
    }
}

/// Drops an owned guard's reference (out of line: the lazy case is the hot one).
#[cold]
#[inline(never)]
fn drop_owned<T>(value: NonNull<T>) {
    // SAFETY: an owned guard's reference, from `Arc::into_raw`, dropped once (from `drop`).
    drop(unsafe { Arc::from_raw(value.as_ptr()) });
}

impl<T> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.pin.is_null() {
            drop_owned(self.value);
        } else {
            // SAFETY: the pin cell is in this thread's record, which outlives the guard
            // (records are never freed; thread exit keeps a record with live pins).
            unsafe { (*self.pin).unpin() };
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Guard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
