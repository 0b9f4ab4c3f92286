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

/// Frees or hands off every node in `batch` (each carrying one count the batch owns), then
/// empties it. One heavy barrier, one scan of every slot, and a second heavy barrier only if
/// some node was handed off.
///
/// # Safety
/// Every node in `batch` is retired (no source points to it) and the batch owns one count on
/// each.
pub unsafe fn reclaim(reg: &Registry, batch: &mut Vec<*mut Header>) {
    if batch.is_empty() {
        return;
    }
    // Pairs with `barrier::light` in `protect`: a reader either published its slot before
    // this point (the scan below sees it) or re-loads its source after it (and sees the swap).
    barrier::heavy();
    batch.sort_unstable();
    let mut installed: Vec<(&Record, usize, *mut Header)> = Vec::new();
    for rec in reg.iter() {
        for i in 0..SLOTS {
            let s = rec.slot_acquire(i);
            if s.is_null() || batch.binary_search(&s).is_err() {
                continue;
            }
            // SAFETY: the batch holds a count on `s`; the new count goes to `hand_off`.
            unsafe { Header::acquire(s) };
            // SAFETY: we give `hand_off` the count just taken; `s` is retired.
            if unsafe { hand_off(rec, i, s, s) } == HandOff::Installed {
                installed.push((rec, i, s));
            }
        }
    }
    if !installed.is_empty() && !mutant(Mutant::NoRecheck) {
        // Pairs with `barrier::light` in `protect` / `unpublish` before the holder's `drain`:
        // either the holder's drain sees our hand-off or we see its slot move on.
        barrier::heavy();
        for (rec, i, n) in installed {
            if rec.slot_acquire(i) != n
                // Acquire: the take-back gets the count we installed (our own Release).
                && rec
                    .drop_cell(i)
                    .compare_exchange(n, ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                // SAFETY: taken back: ours again; the holder left `n` (slot_acquire above).
                unsafe { Header::release(n) };
            }
        }
    }
    for n in batch.drain(..) {
        // SAFETY: the batch's own count.
        unsafe { Header::release(n) };
    }
}
