//! # lazymm-workloads — what the engines run
//!
//! - [`scenarios`]: the 25 test scenarios of spec §7, as data-driven CPU scripts;
//! - [`mutants`]: each historical bug of the thread as a scheme variant that must be caught;
//! - [`explore`]: random workloads checked by the oracle.
//!
//! Workloads only compose kernel entry points ([`lazymm_model::SysOp`]); no scheme logic
//! lives here.

#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod drivers;
pub mod explore;
pub mod mutants;
pub mod run;
pub mod scenarios;
pub mod script_driver;
pub mod torture;
