//! Spec §7 expectations over the whole catalogue: every row clean but the catalogued
//! findings, infeasible rows explained, the mutants caught, R safe under every legacy knob
//! set, the quiesce not counted. Per-scenario counts: `scenarios_paths.rs` (#1–#12) and
//! `scenarios_arch.rs` (#13–#29).
//!
//! Every count asserted here is the workload's alone (the end-of-run quiesce is not
//! counted) and carries its derivation from the kernel paths. Unless a test says otherwise
//! a row is the clean variant of its scheme: mainline for R, S, S-ppc, L; as posted plus
//! the named fixes for H, H-x86 and MD (`lazymm_model::era`).

mod scenario_rows;

use lazymm_model::era::variant;
use lazymm_model::{ArchId, SchemeId};
use lazymm_workloads::run::Named;
use lazymm_workloads::scenarios::{all_rows, find, findings, run_scenario};
use scenario_rows::*;

#[test]
fn every_row_is_clean_except_the_catalogued_findings_which_show_their_kind() {
    let fs = findings();
    for r in all_rows() {
        if r.infeasible.is_some() {
            continue;
        }
        assert!(r.era == "mainline" || r.era == "as-posted", "{r:?}");
        let matching: Vec<_> = fs
            .iter()
            .filter(|f| f.covers(&r.scenario, &r.scheme, &r.arch))
            .collect();
        // A finding named for this scenario must show its kind.
        for f in matching.iter().filter(|f| f.scenario != "*") {
            assert!(
                r.violations.iter().any(|v| v.starts_with(f.kind.name())),
                "finding {} / {} / {} should show {}: {:?}",
                r.scenario,
                r.scheme,
                r.arch,
                f.kind.name(),
                r.violations
            );
        }
        // Every violation is of a kind the row's findings list.
        for v in &r.violations {
            assert!(
                matching.iter().any(|f| v.starts_with(f.kind.name())),
                "{} {} {}: unexpected {v}",
                r.scenario,
                r.scheme,
                r.arch
            );
        }
    }
}

#[test]
fn infeasible_rows_carry_the_spec_reason() {
    let r = row("1", SchemeId::Shootdown, ArchId::Arm64);
    assert!(r.infeasible.as_deref().unwrap().contains("mm_cpumask"));
    assert!(row("1", SchemeId::HazardX86, ArchId::PpcRadix)
        .infeasible
        .is_some());
    assert!(row("1", SchemeId::ShootdownPpc, ArchId::X86)
        .infeasible
        .is_some());
}

#[test]
fn mutants_a_to_l_are_caught_by_their_expected_kind_and_controls_are_free_of_the_bug() {
    let res = lazymm_workloads::mutants::run_all();
    assert_eq!(res.len(), 12);
    for r in res {
        assert!(
            r.caught,
            "{} not caught by {} at {:?}: {:?}",
            r.mutant, r.expected_kind, r.expected_at, r.kinds
        );
        assert!(r.control_clean, "{}: {:?}", r.mutant, r.correct_violations);
    }
}

#[test]
fn refcount_is_safe_under_every_legacy_knob_set() {
    // §7 #13–#16, §4.4: "R: safe" with the pre-fix x86 flush, NMI, EFI, text_poke, hotplug
    // and cpuidle paths: the refcount pins whatever those paths leave behind.
    let r = variant("refcount").unwrap();
    for m in lazymm_workloads::mutants::all() {
        if m.base == "refcount" {
            continue; // (e) is a bug in R's own exec path.
        }
        let o = m.run_with(Named::variant(&r), m.knob_set());
        assert!(
            o.row.violations.is_empty(),
            "{}: {:?}",
            m.name,
            o.row.violations
        );
    }
}

#[test]
fn quiesce_is_not_counted_and_zombies_are_named() {
    // §7 #2 again, R: the run ends with every CPU lazy on M (4 lazy references). Settling
    // them takes 4 more mmdrops in the quiesce, which the row must not contain: 80, not 84.
    let o = run_scenario(&find("2").unwrap(), SchemeId::Refcount, ArchId::X86);
    assert_eq!(o.row.mm_count_rmw, 80);
    // And the mm is live, not freed and not a zombie (its threads still exist).
    assert_eq!(o.row.freed_at, "not freed");
    // #1 with A never running a user task again is what R calls a zombie: see #5 above;
    // every row carries its era and MMU switches.
    let r = row("5", SchemeId::Refcount, ArchId::X86);
    assert_eq!(r.era, "mainline");
    assert!(r.mmu_switches > 0);
    assert_eq!(vrow("5", "hazard", ArchId::X86).era, "as-posted");
}
