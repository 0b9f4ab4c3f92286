//! Thread registration, the per-thread retire batch, and thread exit (TLS teardown).

use crate::barrier;
use crate::raw::{self, Header, Record, Registry, Retired, SLOTS};
use std::cell::{Cell, RefCell};
use std::ptr;

/// Every thread's record, for every `LazyArc` of every type.
pub(crate) static REGISTRY: Registry = Registry::new();

/// Retired nodes per batch: one heavy barrier and one scan per this many `store`s.
pub const RETIRE_BATCH: usize = if cfg!(miri) { 4 } else { 64 };

/// `RECORD` before this thread registers.
static UNREGISTERED: Record = Record::placeholder();
/// `RECORD` after this thread's exit handler ran: later reads take the temporary path.
static EXITED: Record = Record::placeholder();

fn is_placeholder(r: &Record) -> bool {
    ptr::eq(r, &UNREGISTERED) || ptr::eq(r, &EXITED)
}

thread_local! {
    /// This thread's record, or a placeholder (`UNREGISTERED`, `EXITED`) whose slots are
    /// null. A `const` cell with no destructor, so the fast path's access is a TLS load.
    static RECORD: Cell<&'static Record> = const { Cell::new(&UNREGISTERED) };
    /// Round-robin victim for slot replacement.
    static VICTIM: Cell<usize> = const { Cell::new(0) };
    /// The retire batch and pending re-checks; its destructor is the thread-exit hook.
    static LOCAL: Local = const { Local { retired: RefCell::new(Retired::new()) } };
}

struct Local {
    retired: RefCell<Retired<'static>>,
}

/// Reclaims `r` fully: the batch, then a barrier for the hand-offs still to re-check.
fn reclaim_now(r: &mut Retired<'static>) {
    // SAFETY: `Retired` batches hold retired nodes with one count each (`retire`).
    unsafe { raw::reclaim(&REGISTRY, r) };
    raw::settle(r);
}

impl Drop for Local {
    fn drop(&mut self) {
        let rec = RECORD.with(|c| c.replace(&EXITED));
        let mut r = std::mem::take(&mut *self.retired.borrow_mut());
        reclaim_now(&mut r);
        if is_placeholder(rec) {
            return;
        }
        if (0..SLOTS).all(|i| !rec.pinned(i)) {
            REGISTRY.release(rec);
        }
        // Else a guard outlives this handler (kept in another thread-local that is destroyed
        // later): the record stays in use, with its objects, for the rest of the process.
    }
}

/// This thread's record or a placeholder with null slots: the fast path.
#[inline]
pub(crate) fn current() -> &'static Record {
    RECORD.with(Cell::get)
}

/// This thread's record, if registered and not exited.
pub(crate) fn record() -> Option<&'static Record> {
    let r = current();
    (!is_placeholder(r)).then_some(r)
}

/// Registers this thread (first read), or `None` during or after its TLS teardown.
#[cold]
pub(crate) fn register() -> Option<&'static Record> {
    if ptr::eq(current(), &EXITED) {
        return None;
    }
    // Touching LOCAL registers its destructor (the exit hook); it fails during teardown.
    LOCAL.try_with(|_| ()).ok()?;
    barrier::register();
    let rec = REGISTRY.acquire();
    RECORD.with(|c| c.set(rec));
    Some(rec)
}

/// A slot of `rec` with no live guard to (re)use for source `tag`: its home slot if that is
/// empty or already this source's, else a slot that last held this source's (now replaced)
/// object, else an empty one, else the home slot, else round-robin. Two sources that share a
/// home slot thus end up in different slots instead of evicting each other.
pub(crate) fn victim(rec: &Record, tag: usize, home: usize) -> Option<usize> {
    let free = |i: &usize| !rec.pinned(*i);
    if free(&home) && (rec.tag(home) == tag || rec.slot(home).is_null()) {
        return Some(home);
    }
    if let Some(i) = (0..SLOTS).filter(free).find(|&i| rec.tag(i) == tag) {
        return Some(i);
    }
    if let Some(i) = (0..SLOTS).filter(free).find(|&i| rec.slot(i).is_null()) {
        return Some(i);
    }
    if free(&home) {
        return Some(home);
    }
    let start = VICTIM.with(|v| {
        let s = v.get();
        v.set(s.wrapping_add(1));
        s
    });
    (0..SLOTS)
        .map(|k| (start + k) % SLOTS)
        .find(|&i| !rec.pinned(i))
}

/// Retires `n` into this thread's batch, reclaiming the batch when full.
///
/// # Safety
/// `n` was just swapped out of its source, and the caller gives up the source's count.
pub(crate) unsafe fn retire(n: *mut Header) {
    let full = LOCAL.try_with(|l| {
        let mut r = l.retired.borrow_mut();
        r.batch.push(n);
        (r.batch.len() >= RETIRE_BATCH).then(|| std::mem::take(&mut *r))
    });
    match full {
        Ok(None) => {}
        Ok(Some(mut r)) => {
            // Outside the RefCell borrow: frees run user `Drop`s, which may retire again.
            // SAFETY: retired nodes, one count each.
            unsafe { raw::reclaim(&REGISTRY, &mut r) };
            // This reclaim's hand-offs are re-checked at the next one (or flush, or exit).
            if LOCAL
                .try_with(|l| l.retired.borrow_mut().absorb(&mut r))
                .is_err()
            {
                reclaim_now(&mut r);
            }
        }
        Err(_) => {
            // During TLS teardown: reclaim alone.
            let mut r = Retired::new();
            r.batch.push(n);
            reclaim_now(&mut r);
        }
    }
}

/// Drops what this thread holds lazily and reclaims its retire batch.
///
/// Clears every slot that no live [`Guard`](crate::Guard) uses, drops any object handed to
/// it, then runs the heavy barrier and scan for the pending retire batch and re-checks its
/// earlier hand-offs, so everything this thread retired and nobody else holds is freed now. Call it from a thread that is about to
/// stop reading for a long time (a parked worker) — that is the cure for the bound described
/// in the crate docs — or before checking that memory was released.
pub fn flush() {
    if let Some(rec) = record() {
        for i in 0..SLOTS {
            if !rec.pinned(i) {
                raw::unpublish(rec, i);
            }
        }
    }
    if let Ok(mut r) = LOCAL.try_with(|l| std::mem::take(&mut *l.retired.borrow_mut())) {
        reclaim_now(&mut r);
    }
}

/// Records in the global registry (in use or free): for tests of record reuse.
#[doc(hidden)]
pub fn record_count() -> usize {
    REGISTRY.iter().count()
}
