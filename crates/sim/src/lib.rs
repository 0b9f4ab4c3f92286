//! # lazymm-sim — the simulated many-CPU machine
//!
//! The sim engine runs the **same kernel-model code** as the step and threads engines, on a
//! machine described by a profile (`profiles/*.toml`, crate `lazymm-profile`), with a virtual
//! clock per CPU. Throughput, per-switch cost and free latency emerge from the model's own
//! shared-line accesses, barriers, MMU switches, flushes and IPIs, each priced by the
//! profile ([`cost`], [`Coherence`]); no scheme is ever replaced by a formula.
//!
//! - `cpu`: one simulated CPU behind the `Cpu` seam (what each access, event and IPI costs);
//! - [`engine`]: virtual clocks, earliest-clock-first scheduling, IPIs, idle, quiesce;
//! - [`coherence`]: owner/sharers per line, transfers by topology distance, serialised RMWs;
//! - [`cost`]: event prices and the time breakdown;
//! - [`simulate`]: one run (workload × variant × profile × CPUs) to a [`SimReport`];
//! - [`timeline`]: a Perfetto trace of a run ([`simulate_with_timeline`]);
//! - [`lazy_cost`]: what lazy-mm handling cost over a replayed trace ([`LazyCost`]).

#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod coherence;
mod config;
pub mod cost;
mod cpu;
pub mod engine;
pub mod lazy_cost;
mod report;
pub mod timeline;

pub use coherence::Coherence;
pub use engine::{SimConfig, SimOutcome, SimStop};
pub use lazy_cost::LazyCost;
pub use report::{simulate, simulate_with_timeline, FreeLatency, SimReport, SimSpec};
pub use timeline::{Timeline, TimelineOpts};
