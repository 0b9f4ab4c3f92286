//! Which variant is safe where: the catalogue rows aggregated per variant × arch, each
//! violation classified as a catalogued finding (one of [`FindingRow`]s explains it) or new.
//!
//! A variant is *safe on an arch* when every scenario it can run there ends without a
//! violation. A row whose violations a finding explains is a *finding*: expected (as-posted
//! code, S on x86) and documented with its source; a row with any other violation is *new*,
//! and the main job fails on it.

use crate::data::FindingRow;
use lazymm_workloads::run::Row;
use serde::Serialize;

/// The state of one catalogue row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RowState {
    /// The variant cannot run on the arch.
    Infeasible,
    /// No violation.
    Clean,
    /// Violations, every one explained by a catalogued finding.
    Finding,
    /// At least one violation no finding explains.
    New,
}

/// Classifies a row against the findings.
pub fn row_state(r: &Row, findings: &[FindingRow]) -> RowState {
    if r.infeasible.is_some() {
        RowState::Infeasible
    } else if r.violations.is_empty() {
        RowState::Clean
    } else if r
        .violations
        .iter()
        .all(|v| explained(r, v, findings).is_some())
    {
        RowState::Finding
    } else {
        RowState::New
    }
}

/// The finding that explains violation `v` of row `r`, if any.
pub fn explained<'a>(r: &Row, v: &str, findings: &'a [FindingRow]) -> Option<&'a FindingRow> {
    findings
        .iter()
        .find(|f| f.explains(&r.scenario, &r.scheme, &r.arch, v))
}

/// A violation, where it showed, and the finding that explains it.
#[derive(Clone, Debug, Serialize)]
pub struct Issue {
    /// Scenario.
    pub scenario: String,
    /// Arch.
    pub arch: String,
    /// The violation text.
    pub violation: String,
    /// The explaining finding's source, if catalogued.
    pub finding: Option<String>,
}

impl Issue {
    /// The violation's kind (the text's first word).
    pub fn kind(&self) -> &str {
        self.violation.split(' ').next().unwrap_or("")
    }
}

/// One variant on one arch, over every scenario.
#[derive(Clone, Debug, Serialize)]
pub struct ArchSafety {
    /// Arch.
    pub arch: String,
    /// Scenarios the variant could run there.
    pub feasible: usize,
    /// Rows by state.
    pub clean: usize,
    /// Rows whose violations are all catalogued findings.
    pub findings: usize,
    /// Rows with a new violation.
    pub new: usize,
}

impl ArchSafety {
    /// The worst state over the scenarios.
    pub fn state(&self) -> RowState {
        if self.new > 0 {
            RowState::New
        } else if self.findings > 0 {
            RowState::Finding
        } else if self.feasible > 0 {
            RowState::Clean
        } else {
            RowState::Infeasible
        }
    }
}

/// One variant over the catalogue.
#[derive(Clone, Debug, Serialize)]
pub struct VariantSafety {
    /// Variant name.
    pub variant: String,
    /// Era ("mainline", "as-posted").
    pub era: String,
    /// Per arch, in the rows' order.
    pub arches: Vec<ArchSafety>,
    /// The first new violation, in catalogue order.
    pub first_new: Option<Issue>,
    /// The first catalogued finding, in catalogue order.
    pub first_finding: Option<Issue>,
}

impl VariantSafety {
    /// Arches where every scenario the variant can run is clean.
    pub fn safe_arches(&self) -> Vec<&str> {
        self.arches
            .iter()
            .filter(|a| a.state() == RowState::Clean)
            .map(|a| a.arch.as_str())
            .collect()
    }

    /// No new violation anywhere.
    pub fn no_new(&self) -> bool {
        self.first_new.is_none()
    }
}

/// Aggregates the rows per variant (in the rows' order of first appearance).
pub fn by_variant(rows: &[Row], findings: &[FindingRow]) -> Vec<VariantSafety> {
    let mut out: Vec<VariantSafety> = Vec::new();
    for r in rows {
        let i = match out.iter().position(|v| v.variant == r.scheme) {
            Some(i) => i,
            None => {
                out.push(VariantSafety {
                    variant: r.scheme.clone(),
                    era: r.era.clone(),
                    arches: Vec::new(),
                    first_new: None,
                    first_finding: None,
                });
                out.len() - 1
            }
        };
        let v = &mut out[i];
        let a = match v.arches.iter().position(|a| a.arch == r.arch) {
            Some(a) => a,
            None => {
                v.arches.push(ArchSafety {
                    arch: r.arch.clone(),
                    feasible: 0,
                    clean: 0,
                    findings: 0,
                    new: 0,
                });
                v.arches.len() - 1
            }
        };
        let state = row_state(r, findings);
        let a = &mut v.arches[a];
        match state {
            RowState::Infeasible => {}
            RowState::Clean => a.clean += 1,
            RowState::Finding => a.findings += 1,
            RowState::New => a.new += 1,
        }
        if state != RowState::Infeasible {
            a.feasible += 1;
        }
        for viol in &r.violations {
            let f = explained(r, viol, findings);
            let issue = || Issue {
                scenario: r.scenario.clone(),
                arch: r.arch.clone(),
                violation: viol.clone(),
                finding: f.map(|f| f.why.clone()),
            };
            if f.is_none() && v.first_new.is_none() {
                v.first_new = Some(issue());
            }
            if f.is_some() && v.first_finding.is_none() {
                v.first_finding = Some(issue());
            }
        }
    }
    out
}
