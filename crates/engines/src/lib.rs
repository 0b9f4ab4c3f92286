//! # lazymm-engines — engines that run the kernel model
//!
//! An engine executes the kernel model's own code (`lazymm_model::Kernel`) through the
//! [`lazymm_model::machine::Cpu`] seam; it never re-expresses a scheme:
//!
//! - [`step`]: deterministic, seeded, one CPU at a time on coroutines (scenarios, exploration);
//! - [`threads`]: one OS thread per model CPU on real atomics (torture, hot-path benchmark);
//! - `loom` (with `--cfg loom`): model CPUs as loom threads, for the handshake models in
//!   `tests/loom/` (test target `loom`);
//! - the sim engine (crate `lazymm-sim`): virtual clocks and a coherence/IPI cost model,
//!   driven by a [`driver::Driver`].

#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod driver;
pub mod step;
#[cfg(not(loom))]
pub mod threads;

#[cfg(loom)]
pub mod loom;
