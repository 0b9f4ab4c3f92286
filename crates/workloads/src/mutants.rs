//! The thread's historical bugs as scheme variants and era knob flips (issue 2 (a)–(h), the
//! fidelity pass (i)–(l)), each named after its source and caught by the step engine.
//!
//! A mutant is a named variant (`lazymm_model::era`) with one change — a scheme field or a
//! knob flipped back to its historical form — plus the scenario that exposes it and the
//! violation **kind** (and path) that it is about. It counts as caught only by that kind;
//! a mutant caught by something else fails. The clean variant runs on the same scenario and
//! arch as the control.

use crate::run::{run_one, Named};
use crate::scenarios::find;
use lazymm_model::arch::{HotplugOrder, MaskPolicy, TempMm};
use lazymm_model::era::variant;
use lazymm_model::oracle::ViolationKind;
use lazymm_model::scheme::KthreadRef;
use lazymm_model::schemes::{hazard::Hazard, hazard_x86::hazard_x86};
use lazymm_model::{ArchId, Knobs, Scheme};
use serde::Serialize;

/// A mutant: a broken variant or era knob set, and the scenario that must catch it.
pub struct Mutant {
    /// Letter and name.
    pub name: &'static str,
    /// Where the bug comes from (spec key or commit).
    pub source: &'static str,
    /// The named variant it departs from (its era and knobs).
    pub base: &'static str,
    /// The scheme it runs (None: the base variant's own).
    pub scheme: Option<fn() -> Box<dyn Scheme>>,
    /// Arch.
    pub arch: ArchId,
    /// Knob changes on top of the base variant's era knobs.
    pub knobs: fn(&mut Knobs),
    /// Scenario that should catch it.
    pub scenario: &'static str,
    /// The violation kind it is about.
    pub expected_kind: ViolationKind,
    /// A substring of the violation's path or detail that places it.
    pub expected_at: &'static str,
    /// The clean variant compared on the same scenario and arch.
    pub correct: &'static str,
}

/// Result line of `lazymm mutants --json`.
#[derive(Serialize, Debug, Clone)]
pub struct MutantResult {
    /// Mutant name.
    pub mutant: String,
    /// Source of the historical bug.
    pub source: String,
    /// Whether a violation of the expected kind, at the expected place, was reported.
    pub caught: bool,
    /// Scenario that catches it.
    pub scenario: String,
    /// The kind it must be caught by.
    pub expected_kind: String,
    /// Where (path/detail substring).
    pub expected_at: String,
    /// The matching violation, or else the first one.
    pub violation: Option<String>,
    /// Kinds of every violation reported (another kind alone does not count as caught).
    pub kinds: Vec<String>,
    /// Whether the clean variant on the same scenario and arch is free of this bug (no
    /// violation of the expected kind at the expected place).
    pub control_clean: bool,
    /// Every violation of the clean variant there (findings the catalogue lists may appear).
    pub correct_violations: Vec<String>,
}

fn none(_: &mut Knobs) {}

/// All mutants (a)–(l).
pub fn all() -> Vec<Mutant> {
    vec![
        Mutant {
            name: "a-hazard-dec2020-no-lazy-reload",
            source: "A-2020 mockup; spec §3.c race, §7 #18",
            base: "hazard+fixes",
            scheme: Some(|| {
                Box::new(Hazard {
                    reload_lazy_mm: false,
                    kthread_ref: KthreadRef::MmUsers,
                    exit_mm_grabs: false,
                    mutant: Some("hazard-dec2020-mockup"),
                    ..Hazard::default()
                })
            }),
            // Generic H on an arch whose exit flush does not unlazy (x86's would unlazy A first).
            arch: ArchId::Arm64,
            knobs: none,
            scenario: "drop-mm-steal-race",
            expected_kind: ViolationKind::FreedWhileLoaded,
            expected_at: "",
            correct: "hazard+fixes",
        },
        Mutant {
            name: "b-shootdown-x86-stale-active-mm",
            source: "§4.1/§4.4 (A-0110, A-0112): S on x86 with the pre-2024 mask",
            base: "shootdown",
            scheme: None,
            arch: ArchId::X86,
            knobs: |k| {
                k.x86_mask = MaskPolicy::X86ClearOnSwitch;
                k.nmi_uses_mm = false;
            },
            scenario: "nmi-stale-active-mm",
            expected_kind: ViolationKind::FreedWhileLoaded,
            expected_at: "current->active_mm",
            correct: "shootdown",
        },
        Mutant {
            name: "c-shootdown-old-efi",
            source: "§4.2, A-EFI (fixed by e7021e2fe0b4)",
            base: "shootdown",
            scheme: None,
            arch: ArchId::X86,
            knobs: |k| k.efi_temp_mm = false,
            scenario: "efi-while-lazy",
            expected_kind: ViolationKind::UseAfterFree,
            expected_at: "efi_leave_mm",
            correct: "shootdown",
        },
        Mutant {
            name: "d-shootdown-ppc-prefix-hotplug",
            source: "§4.7, N-HP-2023 (fixed by sched_force_init_mm, HP-2024)",
            base: "shootdown-ppc",
            scheme: None,
            arch: ArchId::PpcRadix,
            knobs: |k| k.hotplug = HotplugOrder::Legacy,
            scenario: "cpu-offline-while-lazy",
            expected_kind: ViolationKind::FreedWhileLoaded,
            expected_at: "loaded in its MMU",
            correct: "shootdown-ppc",
        },
        Mutant {
            name: "e-exec-without-irqs-off",
            source: "§2.6, §4.5, N-EXEC-2020 (fixed by d53c3dfb23c4); preemptible under task_lock on PREEMPT_RT",
            base: "refcount",
            scheme: None,
            arch: ArchId::X86,
            // PREEMPT_RT: only there is exec_mmap preemptible under task_lock.
            knobs: |k| {
                k.exec_irqs_off = false;
                k.irqs_off_activate_mm = false;
                k.preempt_rt = true;
            },
            scenario: "exec-kthread-preempt",
            expected_kind: ViolationKind::DoubleFree,
            expected_at: "exec_mmap",
            correct: "refcount",
        },
        Mutant {
            name: "f-hazard-kthread-mm-count-only",
            source: "A15 as posted (no kthread_use_mm reference), §4.3, §7 #8",
            base: "hazard+fixes",
            scheme: Some(|| {
                Box::new(Hazard {
                    kthread_ref: KthreadRef::None,
                    exit_mm_grabs: false,
                    mutant: Some("hazard-kthread-count-only"),
                    ..Hazard::default()
                })
            }),
            arch: ArchId::X86,
            knobs: none,
            scenario: "kthread-use-mm-count-only",
            expected_kind: ViolationKind::FreedWhileLoaded,
            expected_at: "",
            correct: "hazard+fixes",
        },
        Mutant {
            name: "g-hazard-x86-leave-mm-behind-scheduler",
            source: "A20/A22: H-x86 without patch 20 (cpuidle leave_mm)",
            base: "hazard-x86+fixes",
            scheme: Some(|| {
                Box::new(Hazard {
                    kthread_ref: KthreadRef::MmUsers,
                    exit_mm_grabs: false,
                    mutant: Some("hazard-x86-with-leave_mm"),
                    ..hazard_x86()
                })
            }),
            arch: ArchId::X86,
            knobs: |k| k.x86_leave_mm_in_idle = true,
            scenario: "cpuidle-leave-mm",
            expected_kind: ViolationKind::FreedWhileLoaded,
            expected_at: "current->active_mm",
            correct: "hazard-x86+fixes",
        },
        Mutant {
            name: "h-text-poke-old-temporary-mm",
            source: "§4.2, A22: use_temporary_mm before leave_mm (pre-2020), pre-2024 mask",
            base: "shootdown",
            scheme: None,
            arch: ArchId::X86,
            knobs: |k| {
                k.x86_mask = MaskPolicy::X86ClearOnSwitch;
                k.temp_mm = TempMm::Plain;
            },
            scenario: "text-poke-while-lazy",
            expected_kind: ViolationKind::UseAfterFree,
            expected_at: "unuse_temporary_mm",
            correct: "shootdown",
        },
        Mutant {
            name: "i-hazard-patch12-hot-unplug",
            source:
                "A12 do_idle placement + A16 generic iterator (Andy's \"XXX ... hot-unplugging\")",
            base: "hazard+fixes",
            scheme: None,
            // x86: the local exit flush unlazies the exiting CPU (A21), so nothing else keeps
            // M alive while the offline CPU is still on it (on arm64 the exiting CPU's own
            // lazy_mm hand-off delays the free past the window).
            arch: ArchId::X86,
            knobs: |k| k.hotplug = HotplugOrder::AsPostedDoIdle,
            scenario: "cpu-offline-while-lazy",
            expected_kind: ViolationKind::FreedWhileLoaded,
            expected_at: "loaded in its MMU",
            correct: "hazard+fixes",
        },
        Mutant {
            name: "j-hazard-md-v6.11-hotplug",
            source:
                "MD-v2-4 on v6.11.1: finish_cpu drop on the control CPU, busy-wait on a dead CPU",
            base: "hazard-md",
            scheme: None,
            arch: ArchId::X86,
            knobs: none,
            scenario: "cpu-offline-while-lazy",
            expected_kind: ViolationKind::Deadlock,
            expected_at: "hp_scan",
            correct: "hazard-md+fixes",
        },
        Mutant {
            name: "k-exec-flush-ipi-before-activate-mm",
            source: "d53c3dfb23c4 (2020), §7 #10: a hybrid — today's S-ppc with only ARCH_WANT_IRQS_OFF_ACTIVATE_MM turned off",
            base: "shootdown-ppc",
            scheme: None,
            arch: ArchId::PpcRadix,
            knobs: |k| k.irqs_off_activate_mm = false,
            scenario: "exec-flush-ipi-before-activate-mm",
            expected_kind: ViolationKind::FreedWhileLoaded,
            expected_at: "loaded in its MMU",
            correct: "shootdown-ppc",
        },
        Mutant {
            name: "l-hazard-x86-clear-before-cr3",
            source: "A22 on v5.16: switch_mm_irqs_off clears mm_cpumask(prev) before load_new_mm_cr3 (as posted; masked there by the exit_mm leak)",
            base: "hazard-x86+fixes",
            scheme: None,
            arch: ArchId::X86,
            knobs: |k| k.x86_clear_after_cr3 = false,
            scenario: "switch-away-before-cr3",
            expected_kind: ViolationKind::FreedWhileLoaded,
            expected_at: "loaded in its MMU",
            correct: "hazard-x86+fixes",
        },
    ]
}

/// Extra scenario used by mutant (g): A lazy on M enters a TLB-flushing idle state, then M
/// exits on B and A later runs a user task.
pub fn cpuidle_scenario(k: &lazymm_model::Kernel) -> crate::run::Built {
    use lazymm_engines::step::Step;
    use lazymm_model::{SysOp, TaskRef};
    let (m, t) = k.create_process(1).unwrap();
    let (_, u) = k.create_process(1).unwrap();
    let (_, u2) = k.create_process(1).unwrap();
    crate::run::Built {
        scripts: vec![
            vec![
                Step::Op(SysOp::Switch(TaskRef::Task(t[0]))),
                Step::Op(SysOp::Switch(TaskRef::Idle)),
                Step::Op(SysOp::IdleLeaveMm),
                Step::Mark("a_idle".into()),
                Step::WaitMark("exited".into()),
                Step::Op(SysOp::Switch(TaskRef::Task(u[0]))),
            ],
            vec![
                Step::WaitMark("a_idle".into()),
                Step::Op(SysOp::Switch(TaskRef::Task(t[0]))),
                Step::Op(SysOp::Exit {
                    then: TaskRef::Idle,
                }),
                Step::Op(SysOp::Switch(TaskRef::Task(u2[0]))),
                Step::Mark("exited".into()),
            ],
        ],
        subject: m,
        ..Default::default()
    }
}

/// A scenario builder.
pub type BuildFn = Box<dyn Fn(&lazymm_model::Kernel) -> crate::run::Built>;

impl Mutant {
    /// CPUs and builder of the scenario that must catch this mutant.
    pub fn scenario_builder(&self) -> (usize, BuildFn) {
        if self.scenario == "cpuidle-leave-mm" {
            (4, Box::new(cpuidle_scenario))
        } else {
            let s = find(self.scenario).expect("mutant names a catalogue scenario");
            (s.ncpus, Box::new(s.build))
        }
    }

    /// The era knobs this mutant runs with: its base variant's, then its own changes.
    pub fn knob_set(&self) -> Knobs {
        let mut knobs = variant(self.base)
            .expect("mutant names a variant")
            .knobs(self.arch);
        (self.knobs)(&mut knobs);
        knobs
    }

    /// The mutant's scheme.
    pub fn build(&self) -> Box<dyn Scheme> {
        match self.scheme {
            Some(f) => f(),
            None => variant(self.base).expect("mutant names a variant").build(),
        }
    }

    /// The mutant's scheme, named and with its base variant's era.
    pub fn named(&self) -> Named {
        let scheme = self.build();
        Named {
            name: scheme.name(),
            scheme,
            era: variant(self.base).expect("mutant names a variant").era,
        }
    }

    /// Runs `named` on this mutant's scenario and arch with `knobs` (seed 0).
    pub fn run_with(&self, named: Named, knobs: Knobs) -> crate::run::Outcome {
        let (ncpus, build) = self.scenario_builder();
        run_one(
            self.scenario,
            named,
            self.arch,
            ncpus,
            knobs,
            &*build,
            0,
            0.0,
            0.0,
        )
    }

    /// Runs the mutant and its clean counterpart.
    pub fn run(&self) -> MutantResult {
        let bad = self.run_with(self.named(), self.knob_set());
        let good_v = variant(self.correct).expect("mutant names a clean variant");
        let good = self.run_with(Named::variant(&good_v), good_v.knobs(self.arch));
        let is_bug = |v: &&lazymm_model::oracle::Violation| {
            v.kind == self.expected_kind
                && (v.path.contains(self.expected_at) || v.detail.contains(self.expected_at))
        };
        let hit = bad.violations.iter().find(is_bug);
        let control_clean = !good.violations.iter().any(|v| is_bug(&v));
        MutantResult {
            mutant: self.name.into(),
            source: self.source.into(),
            caught: hit.is_some(),
            scenario: self.scenario.into(),
            expected_kind: self.expected_kind.name().into(),
            expected_at: self.expected_at.into(),
            violation: hit.or(bad.violations.first()).map(|v| v.to_string()),
            kinds: bad
                .violations
                .iter()
                .map(|v| v.kind.name().into())
                .collect(),
            control_clean,
            correct_violations: good.row.violations,
        }
    }
}

/// Runs every mutant and its correct counterpart.
pub fn run_all() -> Vec<MutantResult> {
    all().iter().map(Mutant::run).collect()
}
