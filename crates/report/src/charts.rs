//! The report's charts: SVG strings drawn with plotters' SVG backend.
//!
//! Text goes into the SVG as `<text>` elements in the `sans-serif` family and the browser
//! lays it out; plotters only estimates text extents (its font-less build), which is why label
//! areas are sized generously. Each [`Chart`] carries the command that reproduces its data.

mod bars;
mod lines;

use crate::data::ReportData;
use crate::metrics;
use lazymm_model::{era, SchemeId};
use lazymm_sim::SimReport;
use plotters::style::RGBColor;

/// One chart.
#[derive(Clone, Debug)]
pub struct Chart {
    /// File stem and HTML anchor (`throughput-ctxsw-intel-icx-2s`).
    pub id: String,
    /// Section it belongs to.
    pub section: Section,
    /// One sentence: what it shows.
    pub caption: String,
    /// The command that reproduces its data.
    pub command: String,
    /// The SVG document.
    pub svg: String,
}

/// Report sections that hold charts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Throughput against CPUs.
    Throughput,
    /// Cost breakdowns.
    Cost,
    /// IPIs and shared-line RMWs.
    Traffic,
    /// Free latency.
    FreeLatency,
}

/// The colour of a variant, the same in every chart: its scheme's ([`scheme_color`]), so a
/// scheme's as-posted and `+fixes` rows share one; grey for a name that is no variant.
pub fn variant_color(name: &str) -> RGBColor {
    era::variant(name).map_or(GREY, |v| scheme_color(v.scheme))
}

/// Grey: what is not a scheme of the catalogue.
const GREY: RGBColor = RGBColor(100, 100, 100);

/// The colour of each scheme (matplotlib's tab10 palette).
pub fn scheme_color(id: SchemeId) -> RGBColor {
    match id {
        SchemeId::Refcount => RGBColor(214, 39, 40),
        SchemeId::Shootdown => RGBColor(31, 119, 180),
        SchemeId::ShootdownPpc => RGBColor(23, 190, 207),
        SchemeId::MmputFlush => RGBColor(44, 160, 44),
        SchemeId::Hazard => RGBColor(255, 127, 14),
        SchemeId::HazardX86 => RGBColor(140, 86, 75),
        SchemeId::HazardMd => RGBColor(148, 103, 189),
        SchemeId::Unprotected => GREY,
    }
}

/// The largest CPU count among `reps` (the breakdowns are drawn there: where schemes differ).
fn max_cpus(reps: &[&SimReport]) -> usize {
    reps.iter().map(|r| r.cpus).max().unwrap_or(0)
}

fn feasible<'a>(reps: &'a [SimReport], profile: &str) -> Vec<&'a SimReport> {
    reps.iter()
        .filter(|r| r.profile == profile && r.infeasible.is_none())
        .collect()
}

/// Every chart of the report, in page order. A chart whose data is missing is left out
/// (the page then says the sweep did not run).
pub fn all(d: &ReportData) -> Result<Vec<Chart>, String> {
    let mut out = Vec::new();
    for prof in d.profiles() {
        for s in &d.sweeps {
            let reps = feasible(&s.reports, &prof);
            let use_ops = s.workload != "ctxsw";
            let y = |r: &&SimReport| {
                if use_ops {
                    r.ops_per_sec
                } else {
                    r.switches_per_sec
                }
            };
            if !reps.iter().any(|r| y(r) > 0.0) {
                continue;
            }
            let op = reps[0].op_name.clone();
            let (y, caption) = if s.workload == "ctxsw" {
                (
                    "context switches per second (virtual time)".to_string(),
                    format!("ctxsw on {prof}: context switches per second against CPUs"),
                )
            } else {
                (
                    format!("{op} per second (virtual time)"),
                    format!("{} on {prof}: {op} per second against CPUs", s.workload),
                )
            };
            out.push(Chart {
                id: format!("throughput-{}-{prof}", s.workload),
                section: Section::Throughput,
                caption,
                command: s.command.clone(),
                svg: lines::throughput(&format!("{} — {prof}", s.workload), &y, &reps, use_ops)?,
            });
        }
        if let Some(s) = d.sweep("ctxsw") {
            let reps = feasible(&s.reports, &prof);
            let n = max_cpus(&reps);
            let at: Vec<&SimReport> = reps.into_iter().filter(|r| r.cpus == n).collect();
            if !at.is_empty() {
                let rows: Vec<(String, Vec<(&'static str, f64)>)> = at
                    .iter()
                    .map(|r| (r.scheme.clone(), metrics::breakdown_parts(r, false)))
                    .collect();
                out.push(Chart {
                    id: format!("switch-cost-{prof}"),
                    section: Section::Cost,
                    caption: format!(
                        "ctxsw on {prof} at {n} CPUs: busy CPU time per context switch by \
                         cause, summed over CPUs"
                    ),
                    command: s.command.clone(),
                    svg: bars::stacked(
                        &format!("cost per context switch — ctxsw, {prof}, {n} CPUs"),
                        "ns per context switch (all CPUs)",
                        &rows,
                    )?,
                });
            }
        }
        if let Some(s) = d.sweep("exec-storm") {
            let reps = feasible(&s.reports, &prof);
            let n = max_cpus(&reps);
            let at: Vec<&SimReport> = reps.iter().copied().filter(|r| r.cpus == n).collect();
            if !at.is_empty() {
                let rows: Vec<(String, Vec<(&'static str, f64)>)> = at
                    .iter()
                    .map(|r| (r.scheme.clone(), metrics::breakdown_per_op(r, true)))
                    .collect();
                out.push(Chart {
                    id: format!("exit-cost-{prof}"),
                    section: Section::Cost,
                    caption: format!(
                        "exec-storm on {prof} at {n} CPUs: lazy-mm work per process exit by \
                         cause, summed over CPUs"
                    ),
                    command: s.command.clone(),
                    svg: bars::stacked(
                        &format!("cost per exit — exec-storm, {prof}, {n} CPUs"),
                        "ns of lazy-mm work per process exit (all CPUs)",
                        &rows,
                    )?,
                });
                out.push(Chart {
                    id: format!("ipis-rmws-{prof}"),
                    section: Section::Traffic,
                    caption: format!(
                        "exec-storm on {prof} at {n} CPUs: IPIs and shared-line RMWs per \
                         process exit"
                    ),
                    command: s.command.clone(),
                    svg: bars::traffic(&format!("IPIs and RMWs per exit — {prof}, {n} CPUs"), &at)?,
                });
            }
            if reps.iter().any(|r| r.free_latency.freed > 0) {
                out.push(Chart {
                    id: format!("free-latency-{prof}"),
                    section: Section::FreeLatency,
                    caption: format!(
                        "exec-storm on {prof}: exit-to-free latency, p50 to p99 (bar), p90 \
                         (tick), max (whisker), per CPU count"
                    ),
                    command: s.command.clone(),
                    svg: lines::free_latency(&format!("free latency — exec-storm, {prof}"), &reps)?,
                });
            }
        }
    }
    Ok(out)
}
