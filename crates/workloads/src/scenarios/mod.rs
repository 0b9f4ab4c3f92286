//! The 25 scenarios of spec §7 and four gated windows (#26–#29) as data: CPU scripts, gates
//! and the subject mm.
//!
//! CPUs A, B, C, D are cpu0..cpu3. Each scenario is run for every scheme × arch; the
//! expected outcomes (§7) are asserted in `tests/scenarios{,_paths,_arch}.rs`. The builders
//! are in `paths.rs` (#1–#12) and `arch.rs` (#13–#28), their script shorthands in `steps.rs`.

mod arch;
mod paths;
mod steps;

use crate::run::Built;
use arch::*;
use lazymm_model::era::{clean_variant, variants};
use lazymm_model::oracle::ViolationKind;
use lazymm_model::{ArchId, Kernel, Knobs, SchemeId, Variant};
use paths::*;
use steps::none;

/// A catalogue entry.
pub struct Scenario {
    /// §7 number.
    pub num: u32,
    /// Name.
    pub name: &'static str,
    /// CPUs.
    pub ncpus: usize,
    /// Knob changes (on top of the variant's era knobs, `Variant::knobs`).
    pub knobs: fn(&mut Knobs),
    /// Builds the scripts on a booted kernel.
    pub build: fn(&Kernel) -> Built,
}

/// The catalogue, in §7 order, then the gated windows (#26–#29) and a directed preemption
/// (#30).
pub fn catalogue() -> Vec<Scenario> {
    macro_rules! s {
        ($num:expr, $name:expr, $n:expr, $k:expr, $b:expr) => {
            Scenario {
                num: $num,
                name: $name,
                ncpus: $n,
                knobs: $k,
                build: $b,
            }
        };
    }
    vec![
        s!(1, "basic-lazy-idle-exit", 4, none, basic),
        s!(2, "hot-path-scale", 4, none, hot_path),
        s!(3, "kthread-chain", 4, none, kthread_chain),
        s!(4, "lazy-back-to-same-mm", 4, none, same_mm),
        s!(5, "last-users-outsider", 4, none, outsider),
        s!(6, "final-mmdrop-preempt-off", 4, none, khugepaged),
        s!(7, "kthread-use-mm-lifecycle", 4, none, kthread_lifecycle),
        s!(8, "kthread-use-mm-count-only", 4, none, kthread_count_only),
        s!(9, "kthread-use-mm-same-active", 4, none, kthread_same),
        s!(10, "exec-kthread-preempt", 4, none, exec_kthread),
        s!(11, "exec-multithreaded", 4, none, exec_mt),
        s!(12, "membarrier-litmus", 4, none, membarrier),
        s!(13, "nmi-stale-active-mm", 4, none, nmi),
        s!(14, "text-poke-while-lazy", 4, none, text_poke),
        s!(15, "efi-while-lazy", 4, none, efi),
        s!(16, "cpu-offline-while-lazy", 4, none, offline),
        s!(17, "offline-online-cycles", 4, none, online_cycles),
        s!(18, "drop-mm-steal-race", 4, none, steal_race),
        s!(19, "two-exits-one-rq", 4, none, two_exits),
        s!(20, "wide-process-exit", 32, none, wide),
        s!(21, "pv-flush-preempted-vcpus", 4, pv_knobs, pv_flush),
        s!(22, "broadcast-flush", 4, broadcast_knobs, broadcast),
        s!(23, "munmap-lazy-cpus", 4, none, munmap),
        s!(24, "preempt-rt-sched-tail", 4, rt_knobs, rt),
        s!(25, "mm-cid-ordering", 4, none, mm_cid),
        s!(
            26,
            "exit-flush-during-kthread-use",
            4,
            none,
            exit_flush_during_kthread_use
        ),
        s!(
            27,
            "drop-mm-handoff-after-unlazy",
            4,
            none,
            handoff_after_unlazy
        ),
        s!(
            28,
            "exec-flush-ipi-before-activate-mm",
            4,
            none,
            exec_flush_before_activate
        ),
        s!(
            29,
            "switch-away-before-cr3",
            4,
            none,
            switch_away_before_cr3
        ),
        s!(30, "exit-mmput-elsewhere", 4, none, exit_mmput_elsewhere),
    ]
}

/// Finds a scenario by name or number.
pub fn find(key: &str) -> Option<Scenario> {
    catalogue()
        .into_iter()
        .find(|s| s.name == key || s.num.to_string() == key)
}

/// Runs one scenario with `variant` on `arch` (seed 0): the variant's era knobs, then the
/// scenario's own knob changes.
pub fn run_variant(s: &Scenario, variant: &Variant, arch: ArchId) -> crate::run::Outcome {
    run_named_on(s, crate::run::Named::variant(variant), variant, arch)
}

/// Runs one scenario with `named` (a variant's scheme changed in one place) on the era knobs
/// of `era_of`, then the scenario's own knob changes (seed 0).
pub fn run_named_on(
    s: &Scenario,
    named: crate::run::Named,
    era_of: &Variant,
    arch: ArchId,
) -> crate::run::Outcome {
    let mut knobs = era_of.knobs(arch);
    (s.knobs)(&mut knobs);
    crate::run::run_one(s.name, named, arch, s.ncpus, knobs, &s.build, 0, 0.0, 0.0)
}

/// Runs one scenario with the clean (mainline, or as-posted + fixes) variant of `scheme`.
pub fn run_scenario(s: &Scenario, scheme: SchemeId, arch: ArchId) -> crate::run::Outcome {
    run_variant(s, &clean_variant(scheme), arch)
}

/// Every row: all scenarios × variants × arches (infeasible combinations included, marked).
pub fn all_rows() -> Vec<crate::run::Row> {
    let mut rows = Vec::new();
    for s in catalogue() {
        for v in variants() {
            for arch in ArchId::ALL {
                rows.push(run_variant(&s, &v, arch).row);
            }
        }
    }
    rows
}

/// A finding the catalogue expects: the row of `variant` on `scenario` (on `arches`, or on
/// every feasible arch) shows a violation of `kind`; scenario `"*"` means the variant may show
/// that kind on any scenario (where the workload triggers it). Every violation of a row must
/// be of a kind its findings list; every other feasible row must be clean.
#[derive(Clone, Debug)]
pub struct Finding {
    /// Scenario name.
    pub scenario: &'static str,
    /// Variant name.
    pub variant: &'static str,
    /// The arches it shows on (empty: every feasible arch).
    pub arches: &'static [ArchId],
    /// The violation kind the row shows.
    pub kind: ViolationKind,
    /// Why (the source of the hazard).
    pub why: &'static str,
}

impl Finding {
    /// Whether this finding is about the row (`scenario`, `variant`, `arch`): its scenario
    /// (or any, for `"*"`), its variant, and one of its arches (or any, when it lists none).
    pub fn covers(&self, scenario: &str, variant: &str, arch: &str) -> bool {
        (self.scenario == scenario || self.scenario == "*")
            && self.variant == variant
            && (self.arches.is_empty() || self.arches.iter().any(|a| a.name() == arch))
    }

    /// Whether this finding explains `violation` on that row: it covers the row and the
    /// violation is of its kind (a violation's text starts with its kind's name).
    pub fn explains(&self, scenario: &str, variant: &str, arch: &str, violation: &str) -> bool {
        self.covers(scenario, variant, arch) && violation.starts_with(self.kind.name())
    }
}

/// Findings of as-posted code (and of S on x86, which mainline never enabled), with their
/// sources. The fixed variants are clean except where a finding says the fix does not reach.
pub fn findings() -> Vec<Finding> {
    let f = |scenario, variant, arches, kind, why| Finding {
        scenario,
        variant,
        arches,
        kind,
        why,
    };
    use ViolationKind::*;
    vec![
        f(
            "*",
            "hazard",
            &[],
            Leak,
            "§3.c open question: as posted, exit_mm() still takes a real mmgrab and patch 16 \
           deleted the rq->prev_mm mmdrop that paid it back — every exited mm leaks (this \
           masks the as-posted hazards, shown by mutants f and i on the +fixes base)",
        ),
        f("*", "hazard-x86", &[], Leak, "as for hazard"),
        f(
            "cpu-offline-while-lazy",
            "hazard-md",
            &[],
            Deadlock,
            "v6.11 hotplug order: finish_cpu's drop clears the control CPU's slot; hp_scan \
           busy-waits on the dead CPU's",
        ),
        f(
            "offline-online-cycles",
            "hazard-md",
            &[ArchId::PpcRadix, ArchId::PpcHash],
            KernelWarn,
            "v6.11 hotplug order: the onlined CPU's slot still holds the mm it was lazy on \
           (finish_cpu cleared the control CPU's), so powerpc start_secondary's \
           mmgrab_lazy_tlb finds it busy (x86 and arm64 take a plain mmgrab of init_mm)",
        ),
        f(
            "efi-while-lazy",
            "hazard-md",
            &[ArchId::X86],
            Deadlock,
            "v6.11 efi_enter_mm sets active_mm = &efi_mm: the shoot IPI skips the CPU without \
           clearing its slot, and hp_scan busy-waits until that CPU next runs a user task",
        ),
        f(
            "final-mmdrop-preempt-off",
            "hazard-md",
            &[],
            KernelWarn,
            "§7 #6 / MD-LKP: hazptr_scan from khugepaged's spinlock",
        ),
        f(
            "final-mmdrop-preempt-off",
            "hazard-md+fixes",
            &[],
            KernelWarn,
            "§7 #6 / MD-LKP: the hotplug and EFI fixes do not touch it",
        ),
        f(
            "text-poke-while-lazy",
            "shootdown",
            &[ArchId::X86],
            FreedWhileLoaded,
            "§4.4: mainline x86 never selected SHOOTDOWN; use_temporary_mm's leave_mm and Rik's \
           mask clearing leave a stale active_mm the shootdown cannot see (no reader \
           dereferences it: theoretical, the cleanup Peter's x86/lazy needed)",
        ),
        f(
            "efi-while-lazy",
            "shootdown",
            &[ArchId::X86],
            FreedWhileLoaded,
            "§4.4, as for text-poke-while-lazy (EFI goes through use_temporary_mm)",
        ),
    ]
}
