//! What the scenario test files share: one row or run of a catalogue scenario.
#![allow(dead_code)] // each test file uses some of these

use lazymm_model::era::variant;
use lazymm_model::{ArchId, SchemeId};
use lazymm_workloads::run::Named;
use lazymm_workloads::scenarios::{find, run_named_on, run_scenario, run_variant};

/// The row of scenario `s` with the clean variant of `scheme` on `arch`.
pub fn row(s: &str, scheme: SchemeId, arch: ArchId) -> lazymm_workloads::run::Row {
    run_scenario(&find(s).unwrap(), scheme, arch).row
}

/// The row of scenario `s` with variant `v` on `arch`.
pub fn vrow(s: &str, v: &str, arch: ArchId) -> lazymm_workloads::run::Row {
    run_variant(&find(s).unwrap(), &variant(v).unwrap(), arch).row
}

/// The mutant whose name starts with `prefix`.
pub fn mutant(prefix: &str) -> lazymm_workloads::mutants::Mutant {
    lazymm_workloads::mutants::all()
        .into_iter()
        .find(|m| m.name.starts_with(prefix))
        .unwrap()
}

/// Scenario `s` with `scheme` on the `hazard+fixes` era knobs (one H change at a time).
pub fn on_fixes_base(
    s: &str,
    scheme: Box<dyn lazymm_model::Scheme>,
    arch: ArchId,
) -> lazymm_workloads::run::Outcome {
    let named = Named {
        name: scheme.name(),
        scheme,
        era: lazymm_model::Era::AsPosted,
    };
    run_named_on(
        &find(s).unwrap(),
        named,
        &variant("hazard+fixes").unwrap(),
        arch,
    )
}

/// Scenario `s` played as `named` on `arch` with `knobs` (the caller has applied the
/// scenario's own knob changes and its one change under test), as `run_named_on` plays a
/// row: seed 0, no random NMIs or preemptions.
pub fn run_with_knobs(
    s: &lazymm_workloads::scenarios::Scenario,
    named: Named,
    arch: ArchId,
    knobs: lazymm_model::Knobs,
) -> lazymm_workloads::run::Outcome {
    let (seed, nmi_prob, preempt_prob) = (0, 0.0, 0.0);
    lazymm_workloads::run::run_one(
        s.name,
        named,
        arch,
        s.ncpus,
        knobs,
        &s.build,
        seed,
        nmi_prob,
        preempt_prob,
    )
}
