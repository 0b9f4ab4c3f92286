//! Workload drivers for engines that run to a time or count bound (the sim engine): each is
//! a generator of the model's operations, reacting to what the kernel decided (which task a
//! CPU now runs, whether its runqueue has work). See `lazymm_engines::driver`.

pub mod ctxsw;

pub use ctxsw::{Bind, Ctxsw};
