//! Workload drivers for engines that run to a time or count bound (the sim engine): each is
//! a generator of the model's operations, reacting to what the kernel decided (which task a
//! CPU now runs, whether its runqueue has work). See `lazymm_engines::driver`.

pub mod common;
pub mod ctxsw;
pub mod execstorm;
pub mod kthreadio;
pub mod replay;
pub mod tlbflush;
pub mod wideexit;

pub use ctxsw::{Bind, Ctxsw};
pub use execstorm::ExecStorm;
pub use kthreadio::KthreadIo;
pub use tlbflush::TlbFlush;
pub use wideexit::WideExit;

use lazymm_engines::driver::Driver;

/// The parameters every driver is built from (what `lazymm sim` takes).
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Simulated CPUs.
    pub ncpus: usize,
    /// Hardware threads per core (the profile's).
    pub smt: usize,
    /// The workload's task count (its meaning is per workload; ctxsw: testcase tasks;
    /// tlb-flush: threads; exec-storm: make job slots; kthread-io: processes, each with a
    /// worker kthread; wide-exit: threads of each wide process).
    pub threads: usize,
    /// Binding of tasks (core or PU).
    pub bind: Bind,
    /// Seed of randomised workloads.
    pub seed: u64,
}

/// The workloads [`build`] knows.
pub const NAMES: &[&str] = &[
    "ctxsw",
    "tlb-flush",
    "exec-storm",
    "kthread-io",
    "wide-exit",
];

/// Builds workload `name`.
pub fn build(name: &str, p: Params) -> Result<Box<dyn Driver>, String> {
    match name {
        "ctxsw" => Ok(Box::new(Ctxsw::new(p.threads, p.bind, p.ncpus, p.smt))),
        "tlb-flush" => Ok(Box::new(TlbFlush::new(p.threads, p.bind, p.ncpus, p.smt))),
        "exec-storm" => Ok(Box::new(ExecStorm::new(
            p.threads, p.bind, p.ncpus, p.smt, p.seed,
        ))),
        "kthread-io" => Ok(Box::new(KthreadIo::new(p.threads, p.bind, p.ncpus, p.smt))),
        "wide-exit" => Ok(Box::new(WideExit::new(p.threads, p.ncpus))),
        _ => Err(format!(
            "--workload {name:?}: unknown (known: {})",
            NAMES.join(", ")
        )),
    }
}
