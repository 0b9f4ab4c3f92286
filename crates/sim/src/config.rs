//! What a simulation is asked to do ([`SimConfig`]) and what it measured ([`SimOutcome`]).

use lazymm_model::counters::CounterSnapshot;

use crate::cost::Breakdown;

/// When a simulation stops.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Stop after this many measured context switches (over all CPUs, after the warm-up).
    pub switches: Option<u64>,
    /// Context switches of warm-up before measuring (will-it-scale discards its first five
    /// one-second samples the same way): the first switch of every CPU out of its idle task
    /// and the first `mm_cpumask` sets are start-up, not steady state. `None`: no warm-up,
    /// measure from time 0. `Some(k)`: at least `k` switches and the workload's own
    /// start-up ([`Driver::warmed_up`](lazymm_engines::driver::Driver::warmed_up)).
    pub warmup_switches: Option<u64>,
    /// Stop at this virtual time (ns).
    pub duration_ns: Option<f64>,
    /// Safety bound on coroutine resumes.
    pub max_resumes: u64,
    /// Virtual time of one spin-wait iteration when no other CPU acts sooner (ns).
    pub spin_ns: f64,
    /// Record a timeline ([`crate::timeline`]; [`crate::simulate_with_timeline`]).
    pub timeline: Option<crate::timeline::TimelineOpts>,
    /// Relaxed causality (ns; 0: exact). Exactly, a CPU yields before a shared access or at
    /// a point as soon as its clock passes the earliest other runnable CPU's (the horizon),
    /// so shared state is touched in virtual-time order. With a window W, a CPU past the
    /// horizon h (by at most W) runs on through points and through three kinds of access:
    /// a hit (it changes no line state and waits for no one); a miss on a line with no
    /// transfer since h − W; and an access to a line whose recent users are this CPU and
    /// one other that cannot act before this CPU's time (parked with no wakeup due sooner,
    /// or already later). A hit and the last kind also need the line to have had no third
    /// user since h − W. Every other access — above all one to a line several CPUs
    /// use, such as R's contended `mm_count`, whose order of handoffs decides what it costs
    /// — still waits until it is the earliest. What may be out of order, by up to W: a hit
    /// that another CPU's earlier miss would have turned into a miss, and values other CPUs
    /// read from lines a CPU wrote while ahead. Every interleaving is still one the model
    /// allows (the oracle stays on); only timing is approximate. Validated on `ctxsw` only
    /// (`docs/simulator.md` gives the error against the exact engine on every profile; on
    /// `exec-storm` IPI counts and free latencies move well beyond the exact engine's own
    /// sensitivity, so use the exact engine there).
    pub window_ns: f64,
    /// The simulated kernel is built with `CONFIG_LRU_GEN_WALKS_MMU`
    /// ([`lazymm_model::Knobs::lru_gen_walks_mmu`]): a distro config rather than the era's
    /// defconfig. Infeasible on powerpc and on a v5.16-based series.
    pub lru_gen_walks_mmu: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            switches: Some(100_000),
            warmup_switches: None,
            duration_ns: None,
            max_resumes: u64::MAX,
            spin_ns: 10.0,
            timeline: None,
            window_ns: 0.0,
            lru_gen_walks_mmu: false,
        }
    }
}

/// How a simulation ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SimStop {
    /// Reached its bound, quiesced, checked.
    Completed,
    /// Every CPU waited with nothing that could wake it.
    Deadlock,
    /// The resume bound was hit.
    ResumeBound,
}

/// What a simulation measured, at the moment the workload stopped.
#[derive(Clone, Debug)]
pub struct SimOutcome {
    /// How it ended.
    pub stop: SimStop,
    /// Virtual time measured: from the end of the warm-up to the stop (ns).
    pub virtual_ns: f64,
    /// Virtual time at which the measurement started (the end of the warm-up).
    pub measured_from_ns: f64,
    /// The kernel's counters at the stop.
    pub counters: CounterSnapshot,
    /// Where the CPUs' time went, at the stop.
    pub breakdown: Breakdown,
    /// Workload ops completed at the stop.
    pub ops: u64,
    /// Coroutine resumes (simulated scheduling steps), whole run.
    pub resumes: u64,
    /// Distinct cache lines touched.
    pub lines: usize,
    /// The timeline, when [`SimConfig::timeline`] asked for one.
    pub timeline: Option<crate::timeline::Timeline>,
}
