//! # lazymm-profile — machine profiles for the simulator
//!
//! A profile is a TOML file (`profiles/*.toml` at the repository root) describing one real
//! machine: its topology and the costs the simulator charges — cache-line transfers by
//! distance, atomics and fences, MMU switches and TLB flushes, IPIs, idle exit, and the
//! scheme-independent kernel work of a context switch, a wakeup and a syscall. Every number
//! is a [`Param`] that carries either a `source` (a precise pointer to a published figure,
//! mostly rows of `shared/research/hardware-costs.md`) or an `estimate` (what it is derived
//! from, and how). `profiles/README.md` lists every estimate.
//!
//! ```no_run
//! let p = lazymm_profile::find("intel-icx-2s").unwrap();
//! let d = p.distance(0, 64); // CPU 64 is on the other socket
//! println!("{} CPUs; a cross-socket transfer costs {} ns", p.cpus(), p.coherence.transfer(d));
//! ```
//!
//! Modules: `schema` (the structs), `parse` (TOML in and out), `validate` (the checks serde
//! cannot express), `locate` (fields ↔ positions in the text, for errors), `error`,
//! `topology` (CPU numbering, [`Place`], [`Distance`]), `builtin` (the embedded profiles,
//! [`find`]).
#![forbid(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod builtin;
mod error;
mod locate;
mod parse;
mod schema;
mod topology;
mod validate;

pub use builtin::{builtin, builtin_names, estimates_table, find, BUILTIN};
pub use error::{ErrorKind, ProfileError};
pub use schema::{Coherence, Idle, Ipi, Param, Profile, Sched, Tlb, Topology};
pub use topology::{Distance, Place};
pub use validate::{ARCHES, MAX_COUNT, MAX_CPUS};
