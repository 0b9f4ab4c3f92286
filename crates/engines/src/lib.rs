//! # lazymm-engines — engines that run the kernel model
//!
//! An engine executes the kernel model's own code (`lazymm_model::Kernel`) through the
//! [`lazymm_model::machine::Cpu`] seam; it never re-expresses a scheme. This crate has the
//! deterministic [`step`] engine; the threads and loom engines (issue 3) plug into the same
//! seam.

#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod step;
