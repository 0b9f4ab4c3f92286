//! One file per scheme (spec §3).

pub mod hazard;
pub mod hazard_md;
pub mod hazard_x86;
pub mod mmput_flush;
pub mod refcount;
pub mod shootdown;
pub mod shootdown_ppc;
pub mod unprotected;
