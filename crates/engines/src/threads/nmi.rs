//! One model CPU's NMI line, latched as on x86.
//!
//! The injector raises the line; the CPU takes the NMI at its next point, in any IRQ state.
//! NMIs do not nest: while the handler runs, a newly raised NMI stays latched (the line stays
//! set) and is taken as soon as the handler returns, as x86 holds one NMI pending until the
//! handler's IRET. Several raises during one handler collapse into that one latched NMI.

use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// The line (one cache line per CPU: every point polls it).
pub(super) struct NmiLine(CachePadded<AtomicBool>);

impl NmiLine {
    pub(super) fn new() -> NmiLine {
        NmiLine(CachePadded::new(AtomicBool::new(false)))
    }

    /// Raises the line (the injector).
    pub(super) fn raise(&self) {
        // Release: pairs with the Acquire swap in `service`.
        self.0.store(true, Ordering::Release);
    }

    /// At a point: runs `handler` for a pending NMI, then for the one latched while it ran, and
    /// so on; returns how many were taken. Inside the handler (`in_nmi` set) the line is left
    /// alone, so an NMI raised meanwhile is not lost but taken after the handler returns.
    pub(super) fn service(&self, in_nmi: &Cell<bool>, mut handler: impl FnMut()) -> u64 {
        let mut taken = 0;
        // Relaxed peek (an idle line costs a read, not an RMW), then the Acquire swap that
        // pairs with `raise`'s Release.
        while !in_nmi.get()
            && self.0.load(Ordering::Relaxed)
            && self.0.swap(false, Ordering::Acquire)
        {
            in_nmi.set(true);
            handler();
            in_nmi.set(false);
            taken += 1;
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nmi_raised_during_the_handler_is_latched_and_taken_after_it_returns() {
        let line = NmiLine::new();
        let in_nmi = Cell::new(false);
        line.raise();
        let mut nested = Vec::new();
        let mut first = true;
        let taken = line.service(&in_nmi, || {
            if std::mem::take(&mut first) {
                // A second NMI arrives while the first handler runs; the handler passes a
                // point (which polls the line): no nesting, and the NMI must stay pending.
                line.raise();
                nested.push(line.service(&in_nmi, || panic!("NMI nested in an NMI")));
                assert!(line.0.load(Ordering::Relaxed), "latched NMI was lost");
            }
        });
        assert_eq!(nested, vec![0]);
        assert_eq!(
            taken, 2,
            "the latched NMI is taken after the handler returns"
        );
        assert!(!line.0.load(Ordering::Relaxed));
        assert!(!in_nmi.get());
    }

    #[test]
    fn nmis_raised_during_one_handler_collapse_into_one() {
        let line = NmiLine::new();
        let in_nmi = Cell::new(false);
        line.raise();
        let mut first = true;
        let taken = line.service(&in_nmi, || {
            if std::mem::take(&mut first) {
                line.raise();
                line.raise();
            }
        });
        assert_eq!(taken, 2);
    }
}
