//! The node a `LazyArc` points to: a type-erased header in front of the user's `Arc<T>`.
//!
//! Slots and drop cells hold `*mut Header`, so one registry serves every `T`: whoever ends up
//! with the last count frees the node through `Header::free` without knowing `T`. The node's
//! count (`refs`) is the kernel's `mm_count`: one for the `LazyArc` (then for the retire
//! batch), one per hand-off.

use crate::sync::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Type-erased node header; the first field of every [`Node`].
#[repr(C)]
pub struct Header {
    /// Counts: the source's (later the batch's), plus one per drop cell holding the node.
    refs: AtomicUsize,
    /// Frees the node this header heads; called once, by whoever drops the last count.
    free: unsafe fn(*mut Header),
    /// Loom only: false once freed. Readers check it through loom's cell, so a use that is not
    /// ordered before the free is a causality violation and one after it a failed assert.
    #[cfg(loom)]
    alive: loom::cell::UnsafeCell<bool>,
}

/// A node: the header, then the user's `Arc<T>`.
#[repr(C)]
pub struct Node<T> {
    header: Header,
    arc: Arc<T>,
}

impl<T> Node<T> {
    /// Allocates a node holding `arc`, with one count (the caller's), as a header pointer.
    pub fn alloc(arc: Arc<T>) -> *mut Header {
        let node = Node {
            header: Header {
                refs: AtomicUsize::new(1),
                free: free_node::<T>,
                #[cfg(loom)]
                alive: loom::cell::UnsafeCell::new(true),
            },
            arc,
        };
        #[cfg(not(loom))]
        {
            let block = blocks::take::<T>();
            // SAFETY: `take` returns memory with `Node<T>`'s layout, owned by us.
            unsafe { block.write(node) };
            block.cast::<Header>()
        }
        #[cfg(loom)]
        Box::into_raw(Box::new(node)).cast::<Header>()
    }

    /// The node's `Arc`.
    ///
    /// # Safety
    /// `h` came from `Node::<T>::alloc` and the node is protected (a validated slot, or a
    /// count held by the caller) for `'a`.
    #[inline]
    pub unsafe fn arc<'a>(h: *mut Header) -> &'a Arc<T> {
        // SAFETY: `Node` is repr(C) with the header first, so the cast recovers the node; it is
        // live for 'a by the caller's contract.
        unsafe { &(*h.cast::<Node<T>>()).arc }
    }
}

/// Frees a `Node<T>`.
///
/// # Safety
/// `h` came from `Node::<T>::alloc` and its count just dropped to zero.
unsafe fn free_node<T>(h: *mut Header) {
    let node = h.cast::<Node<T>>();
    #[cfg(loom)]
    {
        // SAFETY: the count is zero: we are the only user. Loom builds leak the node's memory
        // (its header stays readable) so a mutant's late reader hits the cell, not freed memory.
        unsafe {
            (*node).header.alive.with_mut(|a| {
                assert!(*a, "double free of a lazyref node");
                *a = false;
            });
            std::ptr::drop_in_place(&mut (*node).arc);
        }
    }
    #[cfg(not(loom))]
    // SAFETY: the count is zero: nobody else holds the node; `alloc` wrote it into a block
    // from `blocks::take`, which we return after dropping the node in place.
    unsafe {
        std::ptr::drop_in_place(node);
        blocks::give::<T>(node);
    }
}

/// A per-thread cache of node-sized blocks. Every `Node<T>` has the same layout (a header and
/// one thin pointer), so one cache serves every `T`: a store reuses the memory of the nodes
/// its thread's reclaims freed, instead of a `malloc` / `free` pair per store.
#[cfg(not(loom))]
mod blocks {
    use super::Node;
    use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
    use std::cell::RefCell;

    /// Blocks kept per thread; the rest go back to the allocator.
    const KEEP: usize = 128;

    struct Blocks(RefCell<Vec<*mut u8>>);

    impl Drop for Blocks {
        fn drop(&mut self) {
            for b in self.0.get_mut().drain(..) {
                // SAFETY: every cached block came from `alloc(LAYOUT)` and is unused.
                unsafe { dealloc(b, layout()) };
            }
        }
    }

    thread_local! {
        static CACHE: Blocks = const { Blocks(RefCell::new(Vec::new())) };
    }

    fn layout() -> Layout {
        Layout::new::<Node<()>>()
    }

    const fn same_layout<T>() {
        assert!(
            std::mem::size_of::<Node<T>>() == std::mem::size_of::<Node<()>>()
                && std::mem::align_of::<Node<T>>() == std::mem::align_of::<Node<()>>()
        );
    }

    /// A block for a `Node<T>`.
    pub(super) fn take<T>() -> *mut Node<T> {
        const { same_layout::<T>() };
        let cached = CACHE
            .try_with(|c| c.0.try_borrow_mut().ok().and_then(|mut v| v.pop()))
            .ok()
            .flatten();
        let b = cached.unwrap_or_else(|| {
            // SAFETY: the layout has a non-zero size.
            let b = unsafe { alloc(layout()) };
            if b.is_null() {
                handle_alloc_error(layout());
            }
            b
        });
        b.cast()
    }

    /// Returns the block of a dropped `Node<T>`.
    ///
    /// # Safety
    /// `node` came from `take` and its contents were dropped.
    pub(super) unsafe fn give<T>(node: *mut Node<T>) {
        let b = node.cast::<u8>();
        // Poison the dead node (24 bytes), as a poisoning allocator would: a late reader then
        // fails loudly (tests/stress.rs) instead of reading a plausible stale node.
        // SAFETY: the block is ours and `layout().size()` bytes long.
        unsafe { b.write_bytes(0xA5, layout().size()) };
        let kept = CACHE
            .try_with(|c| match c.0.try_borrow_mut() {
                Ok(mut v) if v.len() < KEEP => {
                    v.push(b);
                    true
                }
                _ => false,
            })
            .unwrap_or(false);
        if !kept {
            // SAFETY: from `alloc(layout())` in `take`, no longer used.
            unsafe { dealloc(b, layout()) };
        }
    }
}

impl Header {
    /// Adds one count (a hand-off's).
    ///
    /// # Safety
    /// The caller holds a count on `h` (the retire batch's).
    pub(crate) unsafe fn acquire(h: *mut Header) {
        // Relaxed: the caller's own count keeps the node alive; the new count reaches its
        // owner through the Release of the hand-off CAS (`hand_off`), which is what orders it
        // before that owner's `release`.
        // SAFETY: live by the caller's count.
        unsafe { (*h).refs.fetch_add(1, Ordering::Relaxed) };
    }

    /// Drops one count; the last one frees the node.
    ///
    /// # Safety
    /// The caller owns one count on `h` and does not use `h` afterwards.
    pub unsafe fn release(h: *mut Header) {
        // Release: this owner's uses of the node happen-before the free; pairs with the
        // Acquire load below on whichever thread drops the last count.
        // SAFETY: live by the count we are dropping.
        if unsafe { (*h).refs.fetch_sub(1, Ordering::Release) } == 1 {
            // Acquire: pairs with the Release decrement of every earlier owner (their RMWs
            // form one release sequence ending in ours). A load rather than `fence(Acquire)`
            // so that ThreadSanitizer, which does not model fences, sees the edge too.
            // SAFETY: still live: we held the last count.
            unsafe { (*h).refs.load(Ordering::Acquire) };
            // SAFETY: the count reached zero: nobody else holds or can reach the node.
            unsafe { ((*h).free)(h) }
        }
    }

    /// Loom only: asserts the node was not freed before this use (causality-checked).
    ///
    /// # Safety
    /// `h` came from `Node::alloc` (loom builds never free node memory).
    #[cfg(loom)]
    pub unsafe fn check_alive(h: *mut Header) {
        // SAFETY: loom builds leak node memory, so the header is readable.
        unsafe {
            (*h).alive
                .with(|a| assert!(*a, "use after free of a lazyref node"))
        }
    }
}
