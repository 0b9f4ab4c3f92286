//! `LazyArc<T>` and its `Guard`.

use crate::local::{self, REGISTRY};
use crate::raw::{self, Header, Node, Record};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

/// A shared, atomically replaceable `Arc<T>` with lazy hazard-slot readers.
///
/// [`load`](Self::load) costs, when this thread read the same object last time, two loads
/// and a compare — no store, no barrier, no read-modify-write; otherwise one plain store of
/// a per-thread slot and a compiler fence (a `fence(SeqCst)` where membarrier is missing).
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
        if let Some(rec) = local::record() {
            for i in 0..raw::SLOTS {
                if rec.slot(i) == cur {
                    // Published and validated earlier and held since (raw module doc, "Why
                    // the fast path needs nothing at all").
                    rec.set_pins(i, rec.pins(i) + 1);
                    // SAFETY: protected by slot i, pinned until the guard drops.
                    return unsafe { Guard::lazy(rec, i, cur) };
                }
            }
        }
        self.load_slow(cur)
    }

    #[cold]
    #[inline(never)]
    fn load_slow(&self, cur: *mut Header) -> Guard<'_, T> {
        let Some(rec) = local::record().or_else(local::register) else {
            return Guard::owned(self.load_temporary());
        };
        let tag = &self.ptr as *const AtomicPtr<Header> as usize;
        let Some(i) = local::victim(rec, tag) else {
            // Every slot has a live guard on another object.
            return Guard::owned(self.load_temporary());
        };
        let n = raw::protect(rec, i, &self.ptr, cur);
        rec.set_tag(i, tag);
        rec.set_pins(i, 1);
        // SAFETY: `protect` validated `n` in slot i, now pinned.
        unsafe { Guard::lazy(rec, i, n) }
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
    value: NonNull<T>,
    /// The pinned slot, for a lazy guard.
    pin: Option<(&'static Record, usize)>,
    /// The reference, for an owned guard (the temporary path).
    owned: Option<Arc<T>>,
    /// Borrows the `LazyArc`; `*mut ()` makes the guard `!Send` and `!Sync`.
    _marker: PhantomData<(&'a LazyArc<T>, *mut ())>,
}

impl<'a, T> Guard<'a, T> {
    /// # Safety
    /// `n` is a `Node<T>` protected by `rec`'s slot `i`, whose pin count includes this guard.
    #[inline]
    unsafe fn lazy(rec: &'static Record, i: usize, n: *mut Header) -> Self {
        // SAFETY: protected for the guard's life by the caller's contract.
        let arc = unsafe { Node::<T>::arc(n) };
        Guard {
            // `as_ptr` keeps the provenance of the whole `Arc` allocation, which `upgrade`
            // needs for its strong-count increment.
            value: as_non_null(arc),
            pin: Some((rec, i)),
            owned: None,
            _marker: PhantomData,
        }
    }

    fn owned(arc: Arc<T>) -> Self {
        Guard {
            value: as_non_null(&arc),
            pin: None,
            owned: Some(arc),
            _marker: PhantomData,
        }
    }

    /// An owned `Arc` to the same value (one reference-count increment), for long holds.
    pub fn upgrade(this: &Self) -> Arc<T> {
        match &this.owned {
            Some(a) => a.clone(),
            None => {
                // SAFETY: `value` points into an `Arc<T>` allocation kept alive by the pinned
                // slot: taking one more strong count on it is sound.
                unsafe {
                    Arc::increment_strong_count(this.value.as_ptr());
                    Arc::from_raw(this.value.as_ptr())
                }
            }
        }
    }

    /// Turns the guard into an owned `Arc`, releasing the slot's pin.
    pub fn into_arc(this: Self) -> Arc<T> {
        let mut this = this;
        match this.owned.take() {
            Some(a) => a,
            None => Self::upgrade(&this),
        }
    }

    /// Whether this guard is a lazy slot read (true) or an owned `Arc` (the fallback).
    pub fn is_lazy(this: &Self) -> bool {
        this.pin.is_some()
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
        // SAFETY: kept alive by the pinned slot or by `owned` for the guard's life.
        unsafe { self.value.as_ref() }
    }
}

impl<T> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Some((rec, i)) = self.pin {
            rec.set_pins(i, rec.pins(i) - 1);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Guard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
