//! # lazymm-model — the kernel model of lazy-TLB `mm_struct` handling
//!
//! A CPU that switches from a user task to a kernel thread keeps the user's page tables loaded
//! ("lazy TLB"). This crate models what keeps that borrowed `mm_struct` alive under each scheme
//! of the January-2022 linux-mm thread and its successors (spec: `shared/research/kernel-spec.md`):
//!
//! | id | scheme | file |
//! |----|--------|------|
//! | `refcount` | R: `mmgrab`/`mmdrop` per lazy switch (§3.a) | `schemes/refcount.rs` |
//! | `shootdown` | S: IPI `mm_cpumask` at `__mmdrop` (§3.b) | `schemes/shootdown.rs` |
//! | `shootdown-ppc` | S-ppc: folded into the exit flush (§3.b) | `schemes/shootdown_ppc.rs` |
//! | `mmput-flush` | L: exit flush unlazies (§3.d) | `schemes/mmput_flush.rs` |
//! | `hazard` | H: per-rq `lazy_mm`/`drop_mm` (§3.c) | `schemes/hazard.rs` |
//! | `hazard-x86` | H-x86: scan `mm_cpumask` (§3.c, A22) | `schemes/hazard_x86.rs` |
//! | `hazard-md` | MD: per-CPU HP slots (§3.e) | `schemes/hazard_md.rs` |
//!
//! Layers: this crate knows nothing of engines. Engines implement [`machine::Cpu`] and call
//! [`Kernel::do_op`], [`Kernel::irq_entry`], [`Kernel::nmi_entry`]. Kernel files mirror kernel
//! concepts: `mm.rs` (mm lifetime), `sched.rs` (context switch), `exit.rs`, `exec.rs`,
//! `kthread.rs`, `tlb.rs` + `arch.rs` (arch TLB/MMU), `smp.rs` (IPIs), `hotplug.rs`, `nmi.rs`,
//! `temp_mm.rs`. The model is safe Rust: mm objects are generation-checked handles
//! ([`ids::MmRef`]) checked by the [`oracle`].

#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Reports an access to a shared cache line (`touch!(kernel, cpu, line, kind)`): the line
/// expression is evaluated only when the engine prices accesses
/// ([`Kernel::with_access_hooks`]), so an engine without a cost model pays one test of a
/// flag per access and nothing else (see [`Kernel::touch`] for how call sites keep it so).
macro_rules! touch {
    ($k:expr, $c:expr, $line:expr, $kind:expr) => {
        if $k.access_hooks() {
            $k.touch($c, $line, $kind)
        }
    };
}

/// `touch_this_cpu!(kernel, cpu, Line::Variant, kind)`: reports an access to the running
/// CPU's line `Line::Variant(c.id())`, like `touch!`, and evaluates to `c.id()` for the path
/// to use next. With the hooks off it is that one `c.id()` call and the flag test; with them
/// on, the cold call makes it, so neither `c` nor the id has to outlive a call just for the
/// report (see [`Kernel::touch`]).
macro_rules! touch_this_cpu {
    ($k:expr, $c:expr, $line:path, $kind:expr) => {
        if $k.access_hooks() {
            $k.touch_this_cpu($c, $line, $kind)
        } else {
            $c.id()
        }
    };
}

pub mod arch;
pub mod counters;
mod cpumask;
pub mod era;
mod exec;
mod exit;
mod global_asid;
mod hotplug;
pub mod ids;
pub mod kernel;
mod kthread;
mod lru_gen;
pub mod machine;
mod membarrier;
mod mm;
mod mm_cid;
mod mm_slot;
mod nmi;
pub mod ops;
pub mod oracle;
mod percpu;
mod quiesce;
mod sched;
pub mod scheme;
pub mod schemes;
pub mod smp;
pub mod sync;
mod task;
mod temp_mm;
mod tlb;
mod tlb_flush;
pub mod wake;

pub use arch::{Arch, ArchId, Knobs};
pub use era::{Era, Variant};
pub use ids::{CpuId, MmRef, TaskId, TaskRef};
pub use kernel::{Config, Kernel};
pub use ops::SysOp;
pub use scheme::{Scheme, SchemeId};
