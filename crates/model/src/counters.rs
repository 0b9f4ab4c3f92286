//! Per-run counters (issue deliverable 6). `std` atomics: observation only, never part of a
//! protocol (style-anchors §3). Kept per CPU on separate cache lines, so that counting an
//! event on one CPU never adds a shared-line RMW the kernel would not do (the hot-path
//! benchmark measures exactly that contention).

use crate::ids::CpuId;
use crate::machine::Event;
use crossbeam_utils::CachePadded;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// One CPU's counters, indexed by [`Event`].
#[derive(Default, Debug)]
struct CpuCounters([AtomicU64; NEVENTS]);

const NEVENTS: usize = 14;

/// Live counters, bumped by the model as events happen.
#[derive(Debug)]
pub struct Counters {
    cpus: Vec<CachePadded<CpuCounters>>,
    /// Set when the engine's end-of-run quiesce starts: what the harness does to settle the
    /// kernel is not the workload's cost and is not counted.
    frozen: std::sync::atomic::AtomicBool,
}

/// A snapshot of [`Counters`], summed over CPUs.
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
    /// Explicit `smp_mb()`s the lazy-mm scheme adds (S/MD's `mmdrop_lazy_tlb` barriers,
    /// H/L's `membarrier_finish_switch_mm`, MD's `hp_scan`, S-ppc's exit-flush barrier…).
    pub scheme_barriers: u64,
    /// Explicit `smp_mb()`s the common paths issue whatever the scheme (x86
    /// `switch_mm_irqs_off`'s `tlb_gen` barrier, ppc's first-load barrier, exec's and
    /// membarrier's barriers, ppc `__flush_all_mm`).
    pub path_barriers: u64,
    /// Remote loads by hazard scans (one per CPU examined).
    pub scan_loads: u64,
    /// MMU switches (CR3 / PID writes).
    pub mmu_switches: u64,
    /// Context switches.
    pub context_switches: u64,
    /// Wakeups of blocked tasks.
    pub wakeups: u64,
    /// The workload's system calls.
    pub syscalls: u64,
    /// Local TLB flushes of one mm (`flush_tlb_func`).
    pub local_flushes: u64,
    /// Hardware broadcast invalidations.
    pub broadcast_flushes: u64,
    /// Hypervisor flush calls.
    pub hypervisor_flushes: u64,
}

fn slot(ev: Event) -> usize {
    match ev {
        Event::LazyIpi => 0,
        Event::FlushIpi => 1,
        Event::MmCountRmw => 2,
        Event::DropMmRmw => 3,
        Event::SchemeBarrier => 4,
        Event::ScanLoad => 5,
        Event::MmuSwitch => 6,
        Event::PathBarrier => 7,
        Event::ContextSwitch => 8,
        Event::Wakeup => 9,
        Event::Syscall => 10,
        Event::LocalFlush => 11,
        Event::BroadcastFlush => 12,
        Event::HypervisorFlush => 13,
    }
}

impl Counters {
    /// Counters for `ncpus` CPUs.
    pub fn new(ncpus: usize) -> Counters {
        Counters {
            cpus: (0..ncpus.max(1)).map(|_| CachePadded::default()).collect(),
            frozen: Default::default(),
        }
    }

    /// Stops counting (the engine's quiesce begins). Idempotent.
    pub fn freeze(&self) {
        // Relaxed: a statistics switch; each engine calls it from the CPU context that starts
        // quiesce after every workload script finished (no event of the workload is racing).
        self.frozen.store(true, Relaxed);
    }

    /// Whether counting stopped.
    pub fn frozen(&self) -> bool {
        self.frozen.load(Relaxed)
    }

    /// Counts one event on `cpu`.
    pub fn bump(&self, cpu: CpuId, ev: Event) {
        if self.frozen() {
            return;
        }
        let c = &self.cpus[cpu.min(self.cpus.len() - 1)].0[slot(ev)];
        // Relaxed: a statistic; nothing is ordered by it.
        c.fetch_add(1, Relaxed);
    }

    /// Sums every CPU's counters.
    pub fn snapshot(&self) -> CounterSnapshot {
        let mut t = [0u64; NEVENTS];
        for c in &self.cpus {
            for (i, v) in c.0.iter().enumerate() {
                // Relaxed: statistics, read after the run or as an approximate live figure.
                t[i] += v.load(Relaxed);
            }
        }
        CounterSnapshot {
            lazy_ipis: t[0],
            flush_ipis: t[1],
            mm_count_rmw: t[2],
            drop_mm_rmw: t[3],
            scheme_barriers: t[4],
            scan_loads: t[5],
            mmu_switches: t[6],
            path_barriers: t[7],
            context_switches: t[8],
            wakeups: t[9],
            syscalls: t[10],
            local_flushes: t[11],
            broadcast_flushes: t[12],
            hypervisor_flushes: t[13],
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
            scheme_barriers: self.scheme_barriers - o.scheme_barriers,
            path_barriers: self.path_barriers - o.path_barriers,
            scan_loads: self.scan_loads - o.scan_loads,
            mmu_switches: self.mmu_switches - o.mmu_switches,
            context_switches: self.context_switches - o.context_switches,
            wakeups: self.wakeups - o.wakeups,
            syscalls: self.syscalls - o.syscalls,
            local_flushes: self.local_flushes - o.local_flushes,
            broadcast_flushes: self.broadcast_flushes - o.broadcast_flushes,
            hypervisor_flushes: self.hypervisor_flushes - o.hypervisor_flushes,
        }
    }
}
