//! The oracle: a KASAN for the model (issue deliverable 5, spec §1.7).
//!
//! Shadow state lives here, outside the modelled shared words (std atomics and a mutex), so
//! the oracle observes without synchronising. Violations:
//!
//! - **use-after-free**: any dereference of a freed mm through a stale handle (scheduler, NMI,
//!   EFI restore, flush handler, `mmdrop` on a freed mm…);
//! - **freed-while-loaded**: `__mmdrop` frees an mm that some CPU's MMU (`loaded_mm`) still has
//!   loaded — the §1.7 safety invariant;
//! - **double free**; **refcount underflow** (`mm_count` or `mm_users` below zero);
//! - **leak**: after quiesce (every CPU has unlazied), an mm with no users and no pins that
//!   was never freed. An mm that was only pinned by lazy CPUs when the workload ended is a
//!   **zombie**, not a leak: it is recorded (`MmShadow::zombie`, "pinned by cpuN until …")
//!   and quiesce must free it; **mm_users leak**: users left with no holder;
//! - **grab of a dead mm** (`mmgrab` at `mm_count == 0`); **page tables freed while walked**
//!   (a freeing flush that skipped a CPU with the mm loaded); **sleep in atomic** (PREEMPT_RT
//!   `__mmdrop` from `finish_task_switch` or with preemption off); **hazard invariant** (H's
//!   per-rq `lazy_mm` cleared by every unlazy);
//! - **membarrier**: a CPU returned to a membarrier-registered user mm after storing `rq->curr`
//!   without a full barrier in between (§4.6, scenario 12);
//! - **kernel BUG/WARN** the kernel itself would hit (e.g. `WARN_ON_ONCE(mm == current->mm)`).
//!
//! Every violation names the scenario, scheme, arch, CPU, path (function chain) and step.

use crate::ids::{CpuId, MmRef};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// The kind of a violation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Hash)]
pub enum ViolationKind {
    /// Dereference of a freed mm.
    UseAfterFree,
    /// An mm freed while a CPU's MMU still had it loaded.
    FreedWhileLoaded,
    /// `__mmdrop` ran twice for one mm.
    DoubleFree,
    /// `mm_count` or `mm_users` went below zero.
    RefcountUnderflow,
    /// An unreferenced mm never freed by quiesce.
    Leak,
    /// No full barrier between the `rq->curr` store and the return to a registered user mm.
    Membarrier,
    /// A kernel `BUG_ON`/`WARN_ON` the model reproduces.
    KernelWarn,
    /// The engine found every CPU waiting (a deadlock, e.g. IPI to a CPU with IRQs off).
    Deadlock,
    /// `mmgrab` on an mm whose `mm_count` was already 0 (resurrecting a dying mm).
    GrabOfDeadMm,
    /// An mm whose `mm_users` never reached 0 although no task, kthread or workload holder
    /// owns a user reference any more.
    UsersLeak,
    /// Page tables freed (`free_pgtables` + `tlb_finish_mmu(freed_tables)`) while a CPU whose
    /// MMU has the mm loaded was not flushed: it may still walk the freed tables.
    PgtablesFreedWhileWalked,
    /// A path that may sleep ran in atomic context (PREEMPT_RT `__mmdrop` from the scheduler
    /// tail or with preemption off), as `might_sleep()`/lockdep would report.
    SleepInAtomic,
    /// H's per-rq invariant broken where the kernel relies on it: `rq->lazy_mm` still set
    /// after `unlazy_mm_irqs_off` (an unlazied rq must publish nothing).
    HazardInvariant,
}

impl ViolationKind {
    /// Short name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::UseAfterFree => "use-after-free",
            ViolationKind::FreedWhileLoaded => "freed-while-loaded",
            ViolationKind::DoubleFree => "double-free",
            ViolationKind::RefcountUnderflow => "refcount-underflow",
            ViolationKind::Leak => "leak",
            ViolationKind::Membarrier => "membarrier",
            ViolationKind::KernelWarn => "kernel-warn",
            ViolationKind::Deadlock => "deadlock",
            ViolationKind::GrabOfDeadMm => "grab-of-dead-mm",
            ViolationKind::UsersLeak => "mm-users-leak",
            ViolationKind::PgtablesFreedWhileWalked => "pgtables-freed-while-walked",
            ViolationKind::SleepInAtomic => "sleep-in-atomic",
            ViolationKind::HazardInvariant => "hazard-invariant",
        }
    }
}

/// One reported violation.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    /// What went wrong.
    pub kind: ViolationKind,
    /// Scenario / workload label of the run.
    pub scenario: String,
    /// Scheme name (mutant name for mutants).
    pub scheme: String,
    /// Arch name.
    pub arch: String,
    /// CPU on which it was detected.
    pub cpu: CpuId,
    /// Function chain on that CPU.
    pub path: String,
    /// The mm involved (NULL if none).
    pub mm: MmRef,
    /// Engine step.
    pub step: u64,
    /// Free-form detail.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {:?} [{} / {} / {}] on cpu{} at step {} in {}: {}",
            self.kind.name(),
            self.mm,
            self.scenario,
            self.scheme,
            self.arch,
            self.cpu,
            self.step,
            self.path,
            self.detail
        )
    }
}

/// Where and when an mm was freed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FreeRecord {
    /// CPU that ran `__mmdrop`'s free.
    pub cpu: CpuId,
    /// Outermost function that led to the free (e.g. `finish_task_switch`, `exit_mm`);
    /// interned ([`Oracle::intern`]): a long replay frees millions of mms along a few paths.
    pub via: Arc<str>,
    /// Full function chain (interned).
    pub path: Arc<str>,
    /// Engine step.
    pub step: u64,
    /// Freed by the harness's end-of-run quiesce, not by the workload.
    pub during_quiesce: bool,
}

/// Shadow record of one mm.
#[derive(Clone, Debug, Default)]
pub struct MmShadow {
    /// Free record, once freed.
    pub freed: Option<FreeRecord>,
    /// Engine time at which `mm_users` reached 0 (the process's last `mmput`).
    pub exited: Option<u64>,
    /// Explicit (non-lazy) pins a workload holds (driver `mmgrab`, `mmget_not_zero` holders).
    pub pins: i64,
    /// At the end of the workload (before quiesce): not freed, no users and no pins, kept
    /// alive only by lazy references — what pins it ("zombie: …").
    pub zombie: Option<String>,
}

/// The oracle's shadow state and violation log.
#[derive(Default, Debug)]
pub struct Oracle {
    violations: Mutex<Vec<Violation>>,
    dropped: std::sync::atomic::AtomicU64,
    shadows: Mutex<HashMap<MmRef, MmShadow>>,
    /// Distinct strings of free records ([`Oracle::intern`]).
    interned: Mutex<HashSet<Arc<str>>>,
    /// Labels stamped on every violation: (scenario, scheme, arch).
    labels: Mutex<(String, String, String)>,
}

impl Oracle {
    /// Sets the labels stamped on violations.
    pub fn set_labels(&self, scenario: &str, scheme: &str, arch: &str) {
        *self.labels.lock().unwrap() = (scenario.into(), scheme.into(), arch.into());
    }

    /// Most distinct violations kept; later ones are only counted ([`Oracle::dropped`]).
    pub const KEEP: usize = 256;

    /// Records a violation. Identical (kind, mm, cpu, path) repeats are kept once; past
    /// [`Oracle::KEEP`] distinct ones, further reports are only counted.
    #[allow(clippy::too_many_arguments)]
    pub fn report(
        &self,
        kind: ViolationKind,
        cpu: CpuId,
        path: String,
        mm: MmRef,
        step: u64,
        detail: String,
    ) {
        let (scenario, scheme, arch) = self.labels.lock().unwrap().clone();
        let mut v = self.violations.lock().unwrap();
        if v.len() >= Self::KEEP {
            // Relaxed: a statistic read after the run.
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        if v.iter()
            .any(|x| x.kind == kind && x.mm == mm && x.cpu == cpu && x.path == path)
        {
            return;
        }
        v.push(Violation {
            kind,
            scenario,
            scheme,
            arch,
            cpu,
            path,
            mm,
            step,
            detail,
        });
    }

    /// All violations so far.
    pub fn violations(&self) -> Vec<Violation> {
        self.violations.lock().unwrap().clone()
    }

    /// Reports not kept because [`Oracle::KEEP`] distinct violations were already recorded.
    pub fn dropped(&self) -> u64 {
        // Relaxed: read after the run.
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The shared copy of `s` (free paths repeat: one copy each, not one per freed mm).
    pub fn intern(&self, s: &str) -> Arc<str> {
        let mut set = self.interned.lock().unwrap();
        if let Some(a) = set.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        set.insert(a.clone());
        a
    }

    /// Registers a newly allocated mm.
    pub fn born(&self, mm: MmRef) {
        self.shadows.lock().unwrap().insert(mm, MmShadow::default());
    }

    /// Records the free of `mm`; returns false if it was already freed.
    pub fn freed(&self, mm: MmRef, rec: FreeRecord) -> bool {
        let mut s = self.shadows.lock().unwrap();
        let e = s.entry(mm).or_default();
        if e.freed.is_some() {
            return false;
        }
        e.freed = Some(rec);
        true
    }

    /// Records that the last `mm_users` reference of `mm` was dropped at engine time `at`.
    pub fn exited(&self, mm: MmRef, at: u64) {
        self.shadows.lock().unwrap().entry(mm).or_default().exited = Some(at);
    }

    /// Adjusts the explicit pins a workload holds on `mm`.
    pub fn pin(&self, mm: MmRef, delta: i64) {
        self.shadows.lock().unwrap().entry(mm).or_default().pins += delta;
    }

    /// Records that `mm` outlived the workload as a zombie, pinned as `why` says.
    pub fn zombie(&self, mm: MmRef, why: String) {
        self.shadows.lock().unwrap().entry(mm).or_default().zombie = Some(why);
    }

    /// Shadow record of `mm`.
    pub fn shadow(&self, mm: MmRef) -> Option<MmShadow> {
        self.shadows.lock().unwrap().get(&mm).cloned()
    }

    /// Calls `f` on every mm ever allocated and its shadow, in no particular order, without
    /// copying them (a long replay allocates millions). `f` must not call back into the
    /// oracle.
    pub fn for_each(&self, mut f: impl FnMut(MmRef, &MmShadow)) {
        for (k, s) in self.shadows.lock().unwrap().iter() {
            f(*k, s);
        }
    }

    /// Every mm ever allocated, with its shadow.
    pub fn all(&self) -> Vec<(MmRef, MmShadow)> {
        let mut v: Vec<_> = self
            .shadows
            .lock()
            .unwrap()
            .iter()
            .map(|(k, s)| (*k, s.clone()))
            .collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }
}

#[cfg(test)]
mod intern_tests {
    use super::Oracle;
    use std::sync::Arc;

    #[test]
    fn free_paths_are_interned_one_copy_each() {
        let o = Oracle::default();
        let a = o.intern("do_exit > exit_mm > mmput > __mmput > mmdrop > __mmdrop");
        let b = o.intern(&String::from(
            "do_exit > exit_mm > mmput > __mmput > mmdrop > __mmdrop",
        ));
        let c = o.intern("schedule > finish_task_switch > mmdrop_sched > __mmdrop");
        assert!(Arc::ptr_eq(&a, &b), "the same path must be one shared copy");
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(
            &*c,
            "schedule > finish_task_switch > mmdrop_sched > __mmdrop"
        );
    }
}
