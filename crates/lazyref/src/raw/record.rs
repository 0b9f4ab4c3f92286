//! Per-thread records, the registry that lists them, and the reader's side of the protocol.

use super::reclaim::drain;
use super::{mutant, Header, Mutant};
use crate::barrier;
use crate::sync::{AtomicBool, AtomicPtr, Ordering};
use std::cell::Cell;
use std::ptr;

/// Lazy slots per thread: a thread holds at most this many objects lazily (one per
/// `LazyArc` it reads, round-robin past that).
pub const SLOTS: usize = 4;

/// One thread's slots and drop cells (the kernel's per-rq `lazy_mm` / `drop_mm`), padded to
/// its own cache lines. Records are never freed while their registry lives; a thread that
/// exits returns its record for the next thread to reuse.
#[repr(align(128))]
pub struct Record {
    /// `slot[i]`: the object this thread uses or last used through slot i. Owner writes only.
    slots: [AtomicPtr<Header>; SLOTS],
    /// `drop[i]`: a count handed to this thread for the object in `slot[i]`.
    drops: [AtomicPtr<Header>; SLOTS],
    /// Live guards on slot i. Owner only.
    pins: [Pins; SLOTS],
    /// Address of the source slot i last protected from: the slot to reuse when that source
    /// changes (so one `LazyArc` occupies one slot). Owner only; a tag, never dereferenced.
    tags: [Cell<usize>; SLOTS],
    /// Owned by a thread (or a temporary reader).
    in_use: AtomicBool,
    /// Next record; written before the record is published, immutable after.
    next: *const Record,
}

// SAFETY: `next` is immutable once published; `pins` and `tags` are touched only by the
// record's owner thread (`Guard` is `!Send`), and ownership passes between threads through
// `in_use`'s Release store and Acquire CAS, which order one owner's accesses before the next
// one's. Every other field is atomic.
unsafe impl Sync for Record {}
// SAFETY: as above; a record holds no thread-bound state.
unsafe impl Send for Record {}

impl Record {
    /// A record in no registry, whose slots stay null: a thread's placeholder before it
    /// registers and after it exits, so that the read fast path needs no null check (a
    /// source pointer never equals a null slot).
    #[cfg(not(loom))]
    pub const fn placeholder() -> Record {
        Record {
            slots: [const { AtomicPtr::new(ptr::null_mut()) }; SLOTS],
            drops: [const { AtomicPtr::new(ptr::null_mut()) }; SLOTS],
            pins: [const { Pins::new() }; SLOTS],
            tags: [const { Cell::new(0) }; SLOTS],
            in_use: AtomicBool::new(true),
            next: ptr::null(),
        }
    }

    fn new() -> Record {
        Record {
            slots: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            drops: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            pins: std::array::from_fn(|_| Pins::new()),
            tags: std::array::from_fn(|_| Cell::new(0)),
            in_use: AtomicBool::new(true),
            next: ptr::null(),
        }
    }

    /// The owner's view of slot i.
    #[inline]
    pub fn slot(&self, i: usize) -> *mut Header {
        // Relaxed: only the owner writes the slot, and the owner calls this.
        self.slots[i].load(Ordering::Relaxed)
    }

    /// The source slot i last protected from (owner only).
    #[inline]
    pub fn tag(&self, i: usize) -> usize {
        self.tags[i].get()
    }

    /// Records the source slot i protects from (owner only).
    #[inline]
    pub fn set_tag(&self, i: usize, tag: usize) {
        self.tags[i].set(tag)
    }

    pub(crate) fn slot_acquire(&self, i: usize) -> *mut Header {
        // Acquire: pairs with the owner's Release slot stores (`protect`, `unpublish`): the
        // owner's uses of whatever the slot held before happen-before our reading a later value.
        self.slots[i].load(Ordering::Acquire)
    }

    pub(crate) fn drop_cell(&self, i: usize) -> &AtomicPtr<Header> {
        &self.drops[i]
    }

    /// Whether slot i has live guards (owner only).
    #[inline]
    pub fn pinned(&self, i: usize) -> bool {
        self.pins[i].held.get()
    }

    /// The guard count of slot i (owner only: the caller must own the record).
    #[inline]
    pub fn pins(&self, i: usize) -> &Pins {
        &self.pins[i]
    }
}

/// A slot's live-guard count, split so that the common case (one guard at a time) stores
/// constants: taking and dropping the only guard reads a flag only to branch on it, so
/// back-to-back reads form no store-to-load dependency chain through the count.
pub struct Pins {
    /// At least one guard.
    held: Cell<bool>,
    /// Guards beyond the first.
    extra: Cell<usize>,
}

impl Pins {
    const fn new() -> Pins {
        Pins {
            held: Cell::new(false),
            extra: Cell::new(0),
        }
    }

    /// One more guard.
    #[inline]
    pub fn pin(&self) {
        if self.held.get() {
            self.pin_nested();
        } else {
            self.held.set(true);
        }
    }

    /// One guard fewer (any of them: guards drop in any order).
    #[inline]
    pub fn unpin(&self) {
        if self.extra.get() != 0 {
            self.unpin_nested();
        } else {
            self.held.set(false);
        }
    }

    // The nested cases are out of line so that the common case's code falls straight through
    // (taken branches, not loads, bound a back-to-back read loop).
    #[cold]
    #[inline(never)]
    fn pin_nested(&self) {
        self.extra.set(self.extra.get() + 1);
    }

    #[cold]
    #[inline(never)]
    fn unpin_nested(&self) {
        self.extra.set(self.extra.get() - 1);
    }
}

/// Publishes `cur` (a value just loaded from `src`) in slot i, re-validates it against
/// `src`, retries with the newer value until they agree, drains the slot's drop cell, and
/// returns the protected node. The caller must own `rec` and slot i must have no pins.
pub fn protect(
    rec: &Record,
    i: usize,
    src: &AtomicPtr<Header>,
    mut cur: *mut Header,
) -> *mut Header {
    loop {
        let order = if mutant(Mutant::SlotStoreRelaxed) {
            // The mutant: nothing orders our uses of the old object before a scanner.
            Ordering::Relaxed
        } else {
            // Release: our uses of the object this slot held before happen-before a scanner
            // that reads the new value (pairs with `Record::slot_acquire` in `reclaim` and
            // `hand_off`).
            Ordering::Release
        };
        rec.slots[i].store(cur, order);
        if !mutant(Mutant::NoLightBarrier) {
            // Pairs with `barrier::heavy` before the scan in `reclaim` (module doc: either the
            // scan sees this store or the re-load below sees the freer's swap).
            barrier::light();
        }
        // Acquire: pairs with the Release of the writer's swap, so the node's contents are
        // visible before we use them.
        let again = src.load(Ordering::Acquire);
        if again == cur {
            break;
        }
        cur = again;
    }
    drain(rec, i);
    cur
}

/// Clears slot i (no pins) and drops whatever was handed to it: `flush` and thread exit.
pub fn unpublish(rec: &Record, i: usize) {
    if rec.slot(i).is_null() {
        return;
    }
    // Release: our uses of the object happen-before a scanner that reads null (pairs with
    // `Record::slot_acquire`).
    rec.slots[i].store(ptr::null_mut(), Ordering::Release);
    if !mutant(Mutant::NoUnpublishBarrier) {
        // Pairs with the second `barrier::heavy` in `reclaim`: either its re-check sees the
        // null or the drain below sees its hand-off.
        barrier::light();
    }
    drain(rec, i);
}

/// The list of every record: the freer scans it, threads take records from it.
pub struct Registry {
    head: AtomicPtr<Record>,
}

impl Registry {
    /// An empty registry.
    #[cfg(not(loom))]
    pub const fn new() -> Registry {
        Registry {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// An empty registry.
    #[cfg(loom)]
    pub fn new() -> Registry {
        Registry {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Iterates over every record published so far.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Record> {
        // Acquire: pairs with the Release CAS in `acquire` that published the record, so its
        // fields (and `next`) are initialised.
        let mut r = self.head.load(Ordering::Acquire).cast_const();
        std::iter::from_fn(move || {
            // SAFETY: records are published fully initialised and freed only by `Drop`.
            let rec = unsafe { r.as_ref()? };
            r = rec.next;
            Some(rec)
        })
    }

    /// Takes a free record, or allocates and publishes a new one.
    pub fn acquire(&self) -> &Record {
        for rec in self.iter() {
            // Relaxed pre-check: a cheap filter; the CAS decides.
            if !rec.in_use.load(Ordering::Relaxed)
                // Acquire: pairs with the Release in `release`: the previous owner's accesses
                // to the record happen-before ours.
                && rec.in_use.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
            {
                return rec;
            }
        }
        let new = Box::into_raw(Box::new(Record::new()));
        // Relaxed: only a starting guess; the CAS below validates it.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: `new` is ours until the CAS publishes it.
            unsafe { (*new).next = head };
            // Release: publishes the record's initialised fields; pairs with `iter`'s Acquire.
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
            {
                // SAFETY: published records live as long as the registry.
                Ok(_) => return unsafe { &*new },
                Err(h) => head = h,
            }
        }
    }

    /// Returns a record (no pins on any slot): clears its slots, drops what was handed to it,
    /// and marks it free. Thread exit.
    pub fn release(&self, rec: &Record) {
        for i in 0..SLOTS {
            debug_assert!(!rec.pinned(i));
            unpublish(rec, i);
        }
        // Release: pairs with the Acquire CAS in `acquire`: the next owner starts after all of
        // our accesses to this record.
        rec.in_use.store(false, Ordering::Release);
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // Relaxed: `&mut self` excludes every other access.
        let mut r = self.head.load(Ordering::Relaxed);
        while !r.is_null() {
            // SAFETY: `&mut self`: no thread holds a record; each was made by `Box::new`.
            let rec = unsafe { Box::from_raw(r) };
            r = rec.next.cast_mut();
        }
    }
}
