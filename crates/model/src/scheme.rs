//! The scheme seam: the only place where R, S, S-ppc, L, H, H-x86 and MD differ (spec §3).
//!
//! The common paths (sched.rs, exit.rs, exec.rs, kthread.rs, hotplug.rs, tlb.rs) call these
//! hooks at exactly the points where the kernel calls `mmgrab_lazy_tlb`, `mmdrop_lazy_tlb`,
//! `cleanup_lazy_tlbs`, … (§1.6, §2). Each scheme lives in one file under `schemes/`.

use crate::arch::{Arch, LazyFlush};
use crate::ids::MmRef;
use crate::machine::Cpu;
use crate::sync::atomic::Ordering::*;
use crate::Kernel;
use serde::Serialize;

/// Where a lazy grab/drop happens (the call sites of the §1.6 wrappers).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Site {
    /// `sched_init` / CPU online: idle starts lazily on init_mm.
    Boot,
    /// `context_switch` user→kernel (GRAB) .
    Switch,
    /// `finish_task_switch` (DROP_SCHED of `rq->prev_mm`).
    FinishTaskSwitch,
    /// `exit_mm` (GRAB: the dying task becomes lazy on its own mm).
    ExitMm,
    /// `kthread_use_mm` (DROP of the old lazy active_mm).
    KthreadUse,
    /// `kthread_unuse_mm` (GRAB: the kthread stays lazy on the mm).
    KthreadUnuse,
    /// `exec_mmap` from a kthread (DROP of the lazy active_mm).
    Exec,
    /// `unlazy_mm_irqs_off` / `sched_force_init_mm`: switch to init_mm (GRAB init, DROP old).
    Unlazy,
    /// `finish_cpu` on the control CPU (DROP of the dead idle's active_mm).
    FinishCpu,
    /// powerpc `exit_lazy_flush_tlb` (and L's exit-flush unlazy): GRAB(init_mm), DROP(mm).
    ExitLazyFlush,
}

/// The reference a kthread holds between `kthread_use_mm` and `kthread_unuse_mm`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KthreadRef {
    /// Mainline: a real `mmgrab`, dropped by `mmdrop` after going lazy.
    MmCount,
    /// H with patch 15's rule enforced inside the API: `mmget_not_zero` (refuse if the mm has
    /// no users left), `mmput` after the lazy hazard pointer is published.
    MmUsers,
    /// H as posted: no reference at all; the caller is trusted to hold `mm_users` (mutant f).
    None,
}

/// Scheme ids (CLI / JSON names).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub enum SchemeId {
    /// R: classic refcounting.
    Refcount,
    /// S: Nick Piggin's shoot-lazies.
    Shootdown,
    /// S-ppc: shoot-lazies plus the powerpc combined exit flush.
    ShootdownPpc,
    /// L: Linus's drop-lazies-at-last-mmput.
    MmputFlush,
    /// H: Andy's hazard pointers, generic iterator (online CPUs).
    Hazard,
    /// H-x86: H iterating `mm_cpumask` (patch 22).
    HazardX86,
    /// MD: Mathieu Desnoyers' per-CPU hazard-pointer slots.
    HazardMd,
    /// Benchmark baseline with no protection at all (unsafe; not in [`SchemeId::ALL`]).
    Unprotected,
}

impl SchemeId {
    /// All schemes, in table order.
    pub const ALL: [SchemeId; 7] = [
        SchemeId::Refcount,
        SchemeId::Shootdown,
        SchemeId::ShootdownPpc,
        SchemeId::MmputFlush,
        SchemeId::Hazard,
        SchemeId::HazardX86,
        SchemeId::HazardMd,
    ];

    /// CLI / JSON name.
    pub fn name(self) -> &'static str {
        match self {
            SchemeId::Refcount => "refcount",
            SchemeId::Shootdown => "shootdown",
            SchemeId::ShootdownPpc => "shootdown-ppc",
            SchemeId::MmputFlush => "mmput-flush",
            SchemeId::Hazard => "hazard",
            SchemeId::HazardX86 => "hazard-x86",
            SchemeId::HazardMd => "hazard-md",
            SchemeId::Unprotected => "unprotected",
        }
    }

    /// The short name the docs use (R, S, S-ppc, L, H, H-x86, MD).
    pub fn short(self) -> &'static str {
        match self {
            SchemeId::Refcount => "R",
            SchemeId::Shootdown => "S",
            SchemeId::ShootdownPpc => "S-ppc",
            SchemeId::MmputFlush => "L",
            SchemeId::Hazard => "H",
            SchemeId::HazardX86 => "H-x86",
            SchemeId::HazardMd => "MD",
            SchemeId::Unprotected => "unprotected",
        }
    }

    /// Parses a CLI / JSON name.
    pub fn parse(s: &str) -> Option<SchemeId> {
        SchemeId::ALL.into_iter().find(|x| x.name() == s)
    }

    /// The correct (as-posted/merged) implementation of this scheme.
    pub fn build(self) -> Box<dyn Scheme> {
        use crate::schemes::*;
        match self {
            SchemeId::Refcount => Box::new(refcount::Refcount),
            SchemeId::Shootdown => Box::new(shootdown::Shootdown::default()),
            SchemeId::ShootdownPpc => Box::new(shootdown_ppc::ShootdownPpc),
            SchemeId::MmputFlush => Box::new(mmput_flush::MmputFlush),
            SchemeId::Hazard => Box::new(hazard::Hazard::default()),
            SchemeId::HazardX86 => Box::new(hazard_x86::hazard_x86()),
            SchemeId::HazardMd => Box::new(hazard_md::HazardMd::default()),
            SchemeId::Unprotected => Box::new(unprotected::Unprotected),
        }
    }
}

/// One lazy-TLB reference scheme. Default methods are mainline's generic behaviour.
pub trait Scheme: Send + Sync {
    /// Which scheme.
    fn id(&self) -> SchemeId;

    /// Display name (the scheme id, or a mutant's name).
    fn name(&self) -> String {
        self.id().name().to_string()
    }

    /// Why this scheme cannot run on `arch`, quoting the spec; None if it can.
    fn infeasible(&self, arch: &Arch) -> Option<&'static str> {
        let _ = arch;
        None
    }

    /// `mmgrab_lazy_tlb(mm)` at `site` (GRAB of §1.6).
    fn mmgrab_lazy_tlb(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef, site: Site);

    /// `mmdrop_lazy_tlb(mm)` / `mmdrop_lazy_tlb_sched(mm)` at `site` (DROP / DROP_SCHED).
    fn mmdrop_lazy_tlb(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef, site: Site);

    /// `context_switch` kernel→user, after `switch_mm_irqs_off`: what happens to the outgoing
    /// kthread's borrowed mm. Mainline: `rq->prev_mm = prev->active_mm`.
    fn switch_kernel_to_user(&self, k: &Kernel, c: &dyn Cpu, prev_active: MmRef) {
        // Relaxed: rq->prev_mm is private to the owning CPU (set and consumed around switch_to).
        k.cpu(c.id()).prev_mm.store(prev_active.0, Relaxed);
    }

    /// The mm-related tail of `finish_task_switch`. Mainline: drop `rq->prev_mm`.
    fn finish_task_switch(&self, k: &Kernel, c: &dyn Cpu) {
        // Relaxed: owner-private, see switch_kernel_to_user.
        let mm = MmRef(k.cpu(c.id()).prev_mm.swap(0, Relaxed));
        if !mm.is_null() {
            self.mmdrop_lazy_tlb(k, c, mm, Site::FinishTaskSwitch);
        }
    }

    /// `__mmput` after `exit_mmap` (H: `mm_unlazy_mm_count`).
    fn after_exit_mmap(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef) {
        let _ = (k, c, mm);
    }

    /// `cleanup_lazy_tlbs(mm)` at the start of `__mmdrop`.
    fn cleanup_lazy_tlbs(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef) {
        let _ = (k, c, mm);
    }

    /// Called by `do_shoot_lazy_tlb` after it switched this CPU off `mm` (MD clears its slot).
    fn shot_lazy(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef) {
        let _ = (k, c, mm);
    }

    /// What x86 `flush_tlb_func()` must do on a CPU lazy on the flushed mm for this scheme to
    /// hold, if the scheme itself requires it (L's rule 2); None: the era's behaviour.
    fn lazy_flush(&self) -> Option<LazyFlush> {
        None
    }

    /// Whether the exit-time fullmm flush must unlazy every lazy CPU it reaches (S-ppc, L).
    fn exit_flush_unlazies(&self) -> bool {
        false
    }

    /// Whether, on `arch`, the scan of `__mmput` for CPUs still lazy on the exiting mm
    /// (H's `mm_unlazy_mm_count`, run after `exit_mmap`) can find one and stop at the point
    /// `mm_unlazy_mm_count:matched` to hand it a reference. Only H scans; on x86 the exit
    /// flush IPI of `exit_mmap` has already unlazied every lazy CPU it reached (patch 21's
    /// flush through the scheduler), so the scan never matches there. Scenarios gate a CPU at
    /// that point only where this holds.
    fn exit_scan_matches_lazy(&self, arch: &Arch) -> bool {
        let _ = arch;
        false
    }

    /// Which reference `kthread_use_mm` holds while the kthread uses the mm.
    fn kthread_use_mm_ref(&self) -> KthreadRef {
        KthreadRef::MmCount
    }

    /// Whether `context_switch` does `kasan_check_byte(prev->active_mm)` (H).
    fn kasan_check_active_mm(&self) -> bool {
        false
    }

    /// Whether every switch to a user task, and `__change_current_mm` (exec, kthread_use_mm),
    /// issues `membarrier_finish_switch_mm()` (smp_mb iff the mm is registered) — H's
    /// patches 04/14/16, placed outside `if (!prev->mm)`; L adopts it because it has no drop to
    /// carry membarrier's barrier.
    fn membarrier_finish_switch_mm(&self) -> bool {
        false
    }

    /// The scheme's series brings its own `unlazy_mm_irqs_off()` (Andy's patch 12), which
    /// replaces mainline's switches of a kernel thread to init_mm: a dying CPU's
    /// `sched_force_init_mm` (2024 hotplug order) is then that call under
    /// `local_irq_disable()`, not mainline's shape (see `hotplug.rs`).
    fn own_unlazy(&self) -> bool {
        false
    }

    /// `unlazy_mm_irqs_off` tail for schemes that track lazy use per rq (H: `mmdrop_lazy`).
    fn after_unlazy(&self, k: &Kernel, c: &dyn Cpu) {
        let _ = (k, c);
    }
}
