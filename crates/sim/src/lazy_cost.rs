//! **Lazy-mm time** of a run: the virtual time, summed over CPUs, of
//! (a) coherence stalls on the lines that hold lazy-TLB reference state, as the model lists
//!     them (`machine::LAZY_MM_LINE_KINDS`: `mm_count`, `mm_cpumask`, H's `lazy_mm`/`drop_mm`
//!     and MD's hazard slots);
//! (b) the scheme's own barriers: `scheme_barriers` × the profile's `coherence.fence`;
//! (c) IPI time — sending, waiting in `csd_lock_wait`, handlers — for the lazy IPIs and for
//!     the flush IPIs (x86 flushes every CPU of `mm_cpumask`, lazy ones included, so on a
//!     replayed trace, where the only flushes are exit and exec teardowns, the flush IPIs'
//!     targets are the CPUs the lazy state left in the mask).
//!
//! **Time share** = lazy-mm time / (CPUs × trace duration): the fraction of the machine the
//! scheme's lazy-mm handling would have taken over the trace. Access costs at L1 latency, MMU
//! switches, the scheduler's base cost and the replayed gaps are not in it. `lazymm replay`
//! reports both, with **IPIs per exit** (lazy + flush IPIs per exit played).
//!
//! The sweeps' charts use a wider figure, `lazymm_report::metrics::lazy_mm_ns_per_switch`:
//! the whole breakdown less the scheduler/wakeup/syscall base (stalls on every line, path
//! barriers and MMU switches included), which the synthetic workloads can afford because
//! every scheme runs the same operations there.

use crate::SimReport;
use serde::Serialize;

/// What lazy-mm handling cost over a replayed trace (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LazyCost {
    /// Lazy-mm time, all CPUs (ns).
    pub lazy_ns: f64,
    /// Lazy-mm time over CPUs × trace duration.
    pub time_share: f64,
    /// IPIs (lazy + flush) per exit played (0 without exits).
    pub ipis_per_exit: f64,
}

impl LazyCost {
    /// The lazy-mm cost of `r`: `fence_ns` is the profile's `coherence.fence`, `span_ns` the
    /// CPUs × trace duration, `exits` the exits played.
    pub fn of(r: &SimReport, fence_ns: f64, span_ns: f64, exits: u64) -> LazyCost {
        // Totals over the run: the report's breakdown is per context switch.
        let b = r.per_switch_ns.per(1.0 / r.context_switches.max(1) as f64);
        let stalls: f64 = lazymm_model::machine::LAZY_MM_LINE_KINDS
            .iter()
            .filter_map(|k| b.coherence.get(k))
            .sum();
        let barriers = r.counters.scheme_barriers as f64 * fence_ns;
        let lazy_ns = stalls + barriers + b.ipi_send + b.ipi_wait + b.ipi_handler;
        let ipis = (r.counters.lazy_ipis + r.counters.flush_ipis) as f64;
        LazyCost {
            lazy_ns,
            time_share: lazy_ns / span_ns.max(1.0),
            ipis_per_exit: if exits > 0 { ipis / exits as f64 } else { 0.0 },
        }
    }
}
