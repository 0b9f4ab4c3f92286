//! The thread's historical bugs as scheme variants (issue 2, deliverable 9).

use crate::run::run_one;
use crate::scenarios::find;
use lazymm_model::arch::{LazyFlush, MaskPolicy};
use lazymm_model::schemes::{
    hazard::Hazard, hazard_x86::hazard_x86, refcount::Refcount, shootdown::Shootdown,
};
use lazymm_model::{ArchId, Knobs, Scheme, SchemeId};
use serde::Serialize;

/// A mutant: a broken scheme variant or era knob set, and the scenario that must catch it.
pub struct Mutant {
    /// Letter and name.
    pub name: &'static str,
    /// The scheme variant.
    pub scheme: fn() -> Box<dyn Scheme>,
    /// Arch.
    pub arch: ArchId,
    /// Knob changes.
    pub knobs: fn(&mut Knobs),
    /// Scenario that should catch it.
    pub scenario: &'static str,
    /// The correct scheme to compare against on the same scenario.
    pub correct: SchemeId,
}

/// Result line of `lazymm mutants --json`.
#[derive(Serialize, Debug, Clone)]
pub struct MutantResult {
    /// Mutant name.
    pub mutant: String,
    /// Whether the oracle caught it.
    pub caught: bool,
    /// Scenario that caught it.
    pub scenario: String,
    /// First violation.
    pub violation: Option<String>,
    /// Violations of the correct scheme on the same scenario and arch (must be empty).
    pub correct_violations: Vec<String>,
}

fn old_x86(k: &mut Knobs) {
    k.x86_mask = Some(MaskPolicy::X86ClearOnSwitch);
}

/// All mutants (a)–(h).
pub fn all() -> Vec<Mutant> {
    vec![
        Mutant {
            name: "a-hazard-dec2020-no-lazy-reload",
            scheme: || {
                Box::new(Hazard {
                    reload_lazy_mm: false,
                    mutant: Some("hazard-dec2020-mockup"),
                    ..Hazard::default()
                })
            },
            // Generic H on an arch whose exit flush does not unlazy (x86's would unlazy A first).
            arch: ArchId::Arm64,
            knobs: |_| {},
            scenario: "drop-mm-steal-race",
            correct: SchemeId::Hazard,
        },
        Mutant {
            name: "b-shootdown-x86-stale-active-mm-nmi",
            scheme: || {
                Box::new(Shootdown {
                    mutant: Some("shootdown-x86-naive"),
                    ..Shootdown::default()
                })
            },
            arch: ArchId::X86,
            knobs: |k| {
                old_x86(k);
                k.x86_lazy_flush = Some(LazyFlush::LeaveMm);
                k.nmi_uses_mm = false;
            },
            scenario: "nmi-stale-active-mm",
            correct: SchemeId::Shootdown,
        },
        Mutant {
            name: "c-shootdown-old-efi",
            scheme: || {
                Box::new(Shootdown {
                    mutant: Some("shootdown-old-efi"),
                    ..Shootdown::default()
                })
            },
            arch: ArchId::X86,
            knobs: |k| k.efi_temp_mm = false,
            scenario: "efi-while-lazy",
            correct: SchemeId::Shootdown,
        },
        Mutant {
            name: "d-shootdown-ppc-prefix-hotplug",
            scheme: || SchemeId::ShootdownPpc.build(),
            arch: ArchId::PpcRadix,
            knobs: |k| k.hotplug_unlazy_first = false,
            scenario: "cpu-offline-while-lazy",
            correct: SchemeId::ShootdownPpc,
        },
        Mutant {
            name: "e-exec-without-irqs-off",
            scheme: || Box::new(Refcount),
            arch: ArchId::X86,
            knobs: |k| k.exec_irqs_off = false,
            scenario: "exec-kthread-preempt",
            correct: SchemeId::Refcount,
        },
        Mutant {
            name: "f-hazard-kthread-mm-count-only",
            scheme: || {
                Box::new(Hazard {
                    kthread_ref: lazymm_model::scheme::KthreadRef::None,
                    mutant: Some("hazard-kthread-count-only"),
                    ..Hazard::default()
                })
            },
            arch: ArchId::X86,
            knobs: |_| {},
            scenario: "kthread-use-mm-count-only",
            correct: SchemeId::Hazard,
        },
        Mutant {
            name: "g-hazard-x86-leave-mm-behind-scheduler",
            scheme: || {
                Box::new(Hazard {
                    mutant: Some("hazard-x86-with-leave_mm"),
                    ..hazard_x86()
                })
            },
            arch: ArchId::X86,
            knobs: |k| {
                old_x86(k);
                k.x86_leave_mm_in_idle = true;
            },
            scenario: "cpuidle-leave-mm",
            correct: SchemeId::HazardX86,
        },
        Mutant {
            name: "h-text-poke-old-temporary-mm",
            scheme: || {
                Box::new(Shootdown {
                    mutant: Some("shootdown-old-text-poke"),
                    ..Shootdown::default()
                })
            },
            arch: ArchId::X86,
            knobs: |k| {
                old_x86(k);
                k.temp_mm_unlazies = false;
            },
            scenario: "text-poke-while-lazy",
            correct: SchemeId::Shootdown,
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

    /// The era knobs this mutant runs with.
    pub fn knob_set(&self) -> Knobs {
        let mut knobs = Knobs::fixed();
        (self.knobs)(&mut knobs);
        knobs
    }

    /// Runs `scheme` on this mutant's scenario and arch with `knobs` (seed 0).
    pub fn run_with(&self, scheme: Box<dyn Scheme>, knobs: Knobs) -> crate::run::Outcome {
        let (ncpus, build) = self.scenario_builder();
        run_one(
            self.scenario,
            scheme,
            self.arch,
            ncpus,
            knobs,
            &*build,
            0,
            0.0,
            0.0,
        )
    }
}

/// Runs every mutant and its correct counterpart.
pub fn run_all() -> Vec<MutantResult> {
    all()
        .into_iter()
        .map(|m| {
            let bad = m.run_with((m.scheme)(), m.knob_set());
            let good = m.run_with(m.correct.build(), Knobs::fixed());
            MutantResult {
                mutant: m.name.into(),
                caught: !bad.row.violations.is_empty(),
                scenario: m.scenario.into(),
                violation: bad.row.violations.first().cloned(),
                correct_violations: good.row.violations,
            }
        })
        .collect()
}
