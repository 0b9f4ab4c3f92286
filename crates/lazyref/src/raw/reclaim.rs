//! The freer's side (scan and hand-off) and the holder's drain.

use super::{mutant, Header, Mutant, Record, Registry, SLOTS};
use crate::barrier;
use crate::sync::Ordering;
use std::ptr;

/// What `hand_off` did with the count it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandOff {
    /// The count is now in the drop cell (the holder, or a stealer, will drop it).
    Installed,
    /// The holder no longer uses the object: the count was dropped.
    NotNeeded,
}

/// Hands one count on `n` to `rec`'s slot `i`, whose scan (before this call) read
/// `scanned == n` (the kernel's `__try_mm_drop_rq_ref`, looped).
///
/// # Safety
/// The caller gives up one count on `n`; `n` is retired (no source points to it).
pub unsafe fn hand_off(rec: &Record, i: usize, n: *mut Header, scanned: *mut Header) -> HandOff {
    let cell = rec.drop_cell(i);
    loop {
        // Acquire: if we steal `old` we take over the count another freer installed with a
        // Release CAS (pairs with the CASes below), so its increment precedes our release.
        let old = cell.load(Ordering::Acquire);
        if old.is_null() {
            // Release: publishes our count to the holder's `drain` (its Acquire). A failure
            // retries from the Acquire load above, so it needs nothing itself (Relaxed).
            match cell.compare_exchange(old, n, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return HandOff::Installed,
                Err(_) => continue,
            }
        }
        debug_assert_ne!(old, n, "a node is retired once, so handed to a cell once");
        // The re-load that closes the steal race (spec §7 #18): the holder may have moved on
        // since the scan, and `old` may be what it uses now.
        let s = if mutant(Mutant::NoSlotReload) {
            scanned
        } else {
            rec.slot_acquire(i)
        };
        if s != n {
            // The slot moved on from `n` (coherence: `s` is at or after the scanned store):
            // the holder is done with `n`, ordered before us by `slot_acquire`.
            // SAFETY: we own this count.
            unsafe { Header::release(n) };
            return HandOff::NotNeeded;
        }
        // slot == n != old: the holder moved from `old` to `n`; it is done with `old`. Steal.
        // AcqRel: Acquire takes over `old`'s count (installed with Release); Release publishes
        // ours to the holder's `drain`.
        if cell
            .compare_exchange(old, n, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // SAFETY: the CAS gave us the count on `old`; the holder's uses of `old`
            // happen-before our `slot_acquire` that read `n`.
            unsafe { Header::release(old) };
            return HandOff::Installed;
        }
    }
}

/// The holder's drop of a handed count (the kernel's `mmdrop_lazy`): if `drop[i]` holds
/// something other than what `slot[i]` holds now, take it and drop it. Owner only.
pub fn drain(rec: &Record, i: usize) {
    let own = rec.slot(i);
    let cell = rec.drop_cell(i);
    // Acquire: pairs with the Release of the hand-off CAS, so the handed count is ours.
    let mut d = cell.load(Ordering::Acquire);
    while !d.is_null() && d != own {
        // Acquire: as above, for the value the CAS takes.
        match cell.compare_exchange(d, ptr::null_mut(), Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => {
                // SAFETY: the CAS moved the handed count to us; our slot no longer holds `d`.
                unsafe { Header::release(d) };
                return;
            }
            Err(x) => d = x,
        }
    }
}

/// A freer's retire state: the batch of retired nodes (one count each), and the hand-offs
/// of its earlier reclaims still to re-check after its next heavy barrier.
pub struct Retired<'r> {
    /// Retired nodes; the batch owns one count on each.
    pub batch: Vec<*mut Header>,
    rechecks: Vec<(&'r Record, usize, *mut Header)>,
}

impl Default for Retired<'_> {
    fn default() -> Self {
        Retired::new()
    }
}

impl<'r> Retired<'r> {
    /// Empty.
    pub const fn new() -> Self {
        Retired {
            batch: Vec::new(),
            rechecks: Vec::new(),
        }
    }

    /// Moves `other`'s nodes and pending re-checks into `self`.
    pub fn absorb(&mut self, other: &mut Retired<'r>) {
        if self.batch.is_empty() && self.batch.capacity() == 0 {
            std::mem::swap(&mut self.batch, &mut other.batch); // keep the allocation
        }
        self.batch.append(&mut other.batch);
        self.rechecks.append(&mut other.rechecks);
    }

    /// Nothing to reclaim or re-check.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty() && self.rechecks.is_empty()
    }
}

/// Frees or hands off every node in `r.batch`, then empties it: one heavy barrier, one scan
/// of every slot. The same barrier also serves the re-check of the previous reclaims'
/// hand-offs (module doc, "Why nothing lingers"); this reclaim's hand-offs wait for the next
/// one, or for [`settle`].
///
/// # Safety
/// Every node in `r.batch` is retired (no source points to it) and the batch owns one count
/// on each.
pub unsafe fn reclaim<'r>(reg: &'r Registry, r: &mut Retired<'r>) {
    if r.is_empty() {
        return;
    }
    // Pairs with `barrier::light` in `protect`: a reader either published its slot before
    // this point (the scan below sees it) or re-loads its source after it (and sees the swap).
    // For the re-checks it pairs with the light barrier before the holder's `drain`.
    barrier::heavy();
    recheck(&mut r.rechecks);
    if r.batch.is_empty() {
        return;
    }
    r.batch.sort_unstable();
    for rec in reg.iter() {
        for i in 0..SLOTS {
            let s = rec.slot_acquire(i);
            if s.is_null() || r.batch.binary_search(&s).is_err() {
                continue;
            }
            // SAFETY: the batch holds a count on `s`; the new count goes to `hand_off`.
            unsafe { Header::acquire(s) };
            // SAFETY: we give `hand_off` the count just taken; `s` is retired.
            if unsafe { hand_off(rec, i, s, s) } == HandOff::Installed {
                r.rechecks.push((rec, i, s));
            }
        }
    }
    for n in r.batch.drain(..) {
        // SAFETY: the batch's own count.
        unsafe { Header::release(n) };
    }
}

/// Re-checks the pending hand-offs now (a heavy barrier if there are any): `flush` and
/// thread exit, so that a freer that stops leaves nothing lingering behind it.
pub fn settle(r: &mut Retired<'_>) {
    if !r.rechecks.is_empty() {
        // Pairs with the light barrier before the holders' `drain`, as in `reclaim`.
        barrier::heavy();
        recheck(&mut r.rechecks);
    }
}

/// After a heavy barrier that follows the hand-offs: where the holder's slot has moved off
/// the object it was handed, take the count back out of the drop cell and drop it. Either the
/// holder's `drain` (after its light barrier) saw the hand-off, or this sees the slot move;
/// the CAS makes exactly one of them drop it. The count in a cell is fungible: if the cell
/// holds an object at this address the holder no longer uses, dropping that count is right
/// whoever installed it.
fn recheck(rechecks: &mut Vec<(&Record, usize, *mut Header)>) {
    if mutant(Mutant::NoRecheck) {
        rechecks.clear();
        return;
    }
    for (rec, i, n) in rechecks.drain(..) {
        if rec.slot_acquire(i) != n
            // Acquire: pairs with the installing CAS's Release, so the count is ours.
            && rec
                .drop_cell(i)
                .compare_exchange(n, ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            // SAFETY: the CAS moved the count to us; the holder left `n` (`slot_acquire`
            // read a later slot value, ordering its uses of `n` before us).
            unsafe { Header::release(n) };
        }
    }
}
