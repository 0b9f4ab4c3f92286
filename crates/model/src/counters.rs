//! Per-run counters (issue deliverable 6). `std` atomics: observation only, never part of a
//! protocol (style-anchors §3).

use crate::machine::Event;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters, bumped by the model as events happen.
#[derive(Default, Debug)]
pub struct Counters {
    lazy_ipis: AtomicU64,
    flush_ipis: AtomicU64,
    mm_count_rmw: AtomicU64,
    drop_mm_rmw: AtomicU64,
    barriers: AtomicU64,
    scan_loads: AtomicU64,
    mmu_switches: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Serialize)]
pub struct CounterSnapshot {
    /// IPIs sent because of lazy handling (shootdowns, hazard retires, residual unlazies).
    pub lazy_ipis: u64,
    /// TLB-flush IPIs (exit_mmap's final flush, munmap, ppc exit_flush_lazy_tlbs).
    pub flush_ipis: u64,
    /// RMWs on `mm_count` (any mm, init_mm included).
    pub mm_count_rmw: u64,
    /// RMWs on `rq->drop_mm`.
    pub drop_mm_rmw: u64,
    /// Explicit `smp_mb()`s.
    pub barriers: u64,
    /// Remote loads by hazard scans (one per CPU examined).
    pub scan_loads: u64,
    /// MMU switches (CR3 / PID writes).
    pub mmu_switches: u64,
}

impl Counters {
    /// Counts one event.
    pub fn bump(&self, ev: Event) {
        let c = match ev {
            Event::MmCountRmw => &self.mm_count_rmw,
            Event::DropMmRmw => &self.drop_mm_rmw,
            Event::FullBarrier => &self.barriers,
            Event::ScanLoad => &self.scan_loads,
            Event::LazyIpi => &self.lazy_ipis,
            Event::FlushIpi => &self.flush_ipis,
            Event::MmuSwitch => &self.mmu_switches,
        };
        // Relaxed: a statistic; nothing is ordered by it.
        c.fetch_add(1, Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> CounterSnapshot {
        // Relaxed: statistics, read after the run or as an approximate live figure.
        CounterSnapshot {
            lazy_ipis: self.lazy_ipis.load(Relaxed),
            flush_ipis: self.flush_ipis.load(Relaxed),
            mm_count_rmw: self.mm_count_rmw.load(Relaxed),
            drop_mm_rmw: self.drop_mm_rmw.load(Relaxed),
            barriers: self.barriers.load(Relaxed),
            scan_loads: self.scan_loads.load(Relaxed),
            mmu_switches: self.mmu_switches.load(Relaxed),
        }
    }
}

impl std::ops::Sub for CounterSnapshot {
    type Output = CounterSnapshot;
    fn sub(self, o: CounterSnapshot) -> CounterSnapshot {
        CounterSnapshot {
            lazy_ipis: self.lazy_ipis - o.lazy_ipis,
            flush_ipis: self.flush_ipis - o.flush_ipis,
            mm_count_rmw: self.mm_count_rmw - o.mm_count_rmw,
            drop_mm_rmw: self.drop_mm_rmw - o.drop_mm_rmw,
            barriers: self.barriers - o.barriers,
            scan_loads: self.scan_loads - o.scan_loads,
            mmu_switches: self.mmu_switches - o.mmu_switches,
        }
    }
}
