//! What the step engine runs (CPU scripts, gates, directed preemptions, [`StepConfig`]) and
//! what it returns ([`StepResult`]).

use lazymm_model::ids::{CpuId, TaskRef};
use lazymm_model::SysOp;

/// One step of a CPU script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A kernel entry point.
    Op(SysOp),
    /// Set a marker.
    Mark(String),
    /// Spin until a marker is set.
    WaitMark(String),
    /// Retry an op until it applies.
    Retry(SysOp),
}

/// Hold `cpu` at its `nth` (1-based) arrival at point `at` until marker `until` is set.
#[derive(Clone, Debug)]
pub struct Gate {
    /// The gated CPU.
    pub cpu: CpuId,
    /// Point name.
    pub at: &'static str,
    /// Which arrival (1-based).
    pub nth: u32,
    /// Marker that releases the gate.
    pub until: String,
}

/// Preempt `cpu` the `nth` time it reaches preemptible point `at`, running `plan` first.
#[derive(Clone, Debug)]
pub struct Preempt {
    /// CPU.
    pub cpu: CpuId,
    /// Preemptible point name.
    pub at: &'static str,
    /// Tasks to run before returning.
    pub plan: Vec<TaskRef>,
}

/// Engine configuration.
#[derive(Clone, Debug)]
pub struct StepConfig {
    /// RNG seed (interleaving, NMIs, preemption).
    pub seed: u64,
    /// Step bound.
    pub max_steps: u64,
    /// Probability of an NMI per resume.
    pub nmi_prob: f64,
    /// Probability of preempting at a preemptible point.
    pub preempt_prob: f64,
    /// Gates.
    pub gates: Vec<Gate>,
    /// Directed preemptions.
    pub preempts: Vec<Preempt>,
    /// Engine steps per kernel jiffy for `Cpu::jiffies` (0: jiffies stay 0, the default — a
    /// scenario lasts microseconds of kernel time). Tests of once-a-second events set it.
    pub steps_per_jiffy: u64,
}

impl Default for StepConfig {
    fn default() -> Self {
        StepConfig {
            seed: 0,
            max_steps: 200_000,
            nmi_prob: 0.0,
            preempt_prob: 0.0,
            gates: Vec::new(),
            preempts: Vec::new(),
            steps_per_jiffy: 0,
        }
    }
}

/// How a run ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every script finished and every CPU quiesced.
    Completed,
    /// The step bound was hit.
    StepBound,
    /// Every CPU was waiting.
    Deadlock,
}

/// Result of a run.
#[derive(Clone, Debug)]
pub struct StepResult {
    /// How it ended.
    pub stop: Stop,
    /// Steps taken.
    pub steps: u64,
    /// Per CPU, per script op: whether it applied.
    pub applied: Vec<Vec<bool>>,
}
