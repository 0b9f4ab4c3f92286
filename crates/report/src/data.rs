//! The report's input: every result the main job produced, and the command that reproduces
//! each piece.

use lazymm_sim::SimReport;
use lazymm_workloads::mutants::MutantResult;
use lazymm_workloads::run::Row;
use lazymm_workloads::torture::TortureReport;
use serde::Serialize;

/// Everything the report and the verdict show.
#[derive(Clone, Debug, Serialize)]
pub struct ReportData {
    /// The scenario catalogue: every scenario × variant × arch (step engine).
    pub rows: Vec<Row>,
    /// The catalogue's findings (what as-posted code, and S on x86, are expected to show).
    pub findings: Vec<FindingRow>,
    /// The historical-bug mutants.
    pub mutants: Vec<MutantResult>,
    /// Simulation sweeps (one per workload), each with its reproducing command.
    pub sweeps: Vec<SweepRun>,
    /// The threads-engine torture.
    pub threads: ThreadsRun,
    /// Trace replays; empty when no trace was replayed.
    pub replay: Vec<ReplayResult>,
    /// Host wall time of each piece.
    pub timings: Vec<Timing>,
}

/// One catalogued finding (`lazymm_workloads::scenarios::Finding`, serialisable).
#[derive(Clone, Debug, Serialize)]
pub struct FindingRow {
    /// Scenario name, or `*` for any scenario.
    pub scenario: String,
    /// Variant name.
    pub variant: String,
    /// Arches it shows on; empty: every feasible arch.
    pub arches: Vec<String>,
    /// Violation kind (its short name, as violation texts start with it).
    pub kind: String,
    /// The source of the hazard.
    pub why: String,
    /// The catalogue's finding itself, whose rule [`FindingRow::explains`] applies.
    #[serde(skip)]
    pub finding: lazymm_workloads::scenarios::Finding,
}

impl FindingRow {
    /// The catalogue's findings.
    pub fn catalogue() -> Vec<FindingRow> {
        lazymm_workloads::scenarios::findings()
            .into_iter()
            .map(|f| FindingRow {
                scenario: f.scenario.to_string(),
                variant: f.variant.to_string(),
                arches: f.arches.iter().map(|a| a.name().to_string()).collect(),
                kind: f.kind.name().to_string(),
                why: f.why.to_string(),
                finding: f,
            })
            .collect()
    }

    /// Whether this finding explains `violation` on the row (`scenario`, `variant`, `arch`):
    /// the catalogue's own rule ([`lazymm_workloads::scenarios::Finding::explains`]).
    pub fn explains(&self, scenario: &str, variant: &str, arch: &str, violation: &str) -> bool {
        self.finding.explains(scenario, variant, arch, violation)
    }
}

/// A sweep: one workload on a grid of profiles × variants × CPU counts.
#[derive(Clone, Debug, Serialize)]
pub struct SweepRun {
    /// Workload name (`ctxsw`, `exec-storm`, …).
    pub workload: String,
    /// The `lazymm sweep …` command that reproduces these points.
    pub command: String,
    /// One report per point.
    pub reports: Vec<SimReport>,
}

/// The threads-engine torture: one clean variant per scheme on real OS threads.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadsRun {
    /// The `lazymm torture …` command that reproduces it.
    pub command: String,
    /// One report per scheme.
    pub reports: Vec<TortureReport>,
    /// Per scheme: why it ran on another arch than asked, if it did.
    pub notes: Vec<String>,
}

/// A replayed scheduler trace.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayResult {
    /// The trace (file name or description).
    pub trace: String,
    /// The `lazymm replay …` command that reproduces it.
    pub command: String,
    /// What parsing found (label, value), in the order to show: events, tasks, skipped lines…
    pub stats: Vec<(String, String)>,
    /// One report per variant (and profile) the trace was replayed on.
    pub reports: Vec<SimReport>,
    /// What lazy-mm handling cost in each of `reports` (same order; may be empty).
    pub costs: Vec<ReplayCost>,
}

/// What lazy-mm handling cost on a replayed trace under one variant (`lazymm replay`'s
/// definitions: see its module doc).
#[derive(Clone, Debug, Serialize)]
pub struct ReplayCost {
    /// Switches from a user task to idle or a kernel thread.
    pub lazy_switches: u64,
    /// Exits played.
    pub exits: u64,
    /// Lazy-mm time over all CPUs (ns): stalls on `mm_count`, `mm_cpumask`, `lazy_mm` and
    /// hazard-slot lines, the scheme's barriers, and IPI time.
    pub lazy_ns: f64,
    /// Lazy-mm time over CPUs × trace duration.
    pub time_share: f64,
    /// Lazy and flush IPIs per exit.
    pub ipis_per_exit: f64,
}

/// Host wall time of one piece of the main job.
#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    /// The piece.
    pub what: String,
    /// Seconds.
    pub secs: f64,
}

impl ReportData {
    /// The sweep of `workload`, if one ran.
    pub fn sweep(&self, workload: &str) -> Option<&SweepRun> {
        self.sweeps.iter().find(|s| s.workload == workload)
    }

    /// Profiles that appear in the sweeps, in first-seen order.
    pub fn profiles(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for r in self.sweeps.iter().flat_map(|s| &s.reports) {
            if !v.contains(&r.profile) {
                v.push(r.profile.clone());
            }
        }
        v
    }
}
