//! Workload drivers for engines that run to a time or count bound (the sim engine): each is
//! a generator of the model's operations, reacting to what the kernel decided (which task a
//! CPU now runs, whether its runqueue has work). See `lazymm_engines::driver`.

pub mod ctxsw;

pub use ctxsw::{Bind, Ctxsw};

use lazymm_engines::driver::Driver;

/// The parameters every driver is built from (what `lazymm sim` takes).
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Simulated CPUs.
    pub ncpus: usize,
    /// Hardware threads per core (the profile's).
    pub smt: usize,
    /// The workload's task count (its meaning is per workload; ctxsw: testcase tasks).
    pub threads: usize,
    /// Binding of tasks (core or PU).
    pub bind: Bind,
    /// Seed of randomised workloads.
    pub seed: u64,
}

/// The workloads [`build`] knows.
pub const NAMES: &[&str] = &["ctxsw"];

/// Builds workload `name`.
pub fn build(name: &str, p: Params) -> Result<Box<dyn Driver>, String> {
    match name {
        "ctxsw" => Ok(Box::new(Ctxsw::new(p.threads, p.bind, p.ncpus, p.smt))),
        _ => Err(format!(
            "--workload {name:?}: unknown (known: {})",
            NAMES.join(", ")
        )),
    }
}
