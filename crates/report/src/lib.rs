//! The main job's report: what `lazymm` with no subcommand shows.
//!
//! The binary runs the pieces (the scenario catalogue and the mutants on the step engine,
//! sweeps on the sim engine, a short torture on the threads engine, trace replays) and hands
//! their results to this crate as one [`ReportData`]. From it this crate derives:
//!
//! - [`safety`]: which variant is safe where, aggregated from the catalogue rows and
//!   classified against the catalogue's findings (a violation a finding lists is a
//!   *catalogued finding*, any other is *new*);
//! - [`metrics`]: the cost figures, each defined once (cost per context switch, per exit,
//!   IPIs and shared-line RMWs per exit, free latency) — the definitions are printed in the
//!   verdict's footer and in the report ([`metrics::DEFINITIONS`]);
//! - [`verdict`]: the one-screen text verdict;
//! - [`charts`]: SVG charts drawn with plotters' SVG backend (no font files: the browser
//!   lays out the text, so nothing depends on fonts installed on the machine that draws);
//! - [`html`]: one self-contained `index.html` (inline SVG and CSS, no script, no network).
//!
//! Nothing here runs a simulation: the crate is a pure function of its input, so its tests
//! can feed it the real catalogue rows or a handful of small simulations.

#![forbid(unsafe_code)]

pub mod charts;
pub mod data;
pub mod html;
pub mod metrics;
pub mod safety;
mod tables;
pub mod verdict;

pub use data::{FindingRow, ReplayCost, ReplayResult, ReportData, SweepRun, ThreadsRun, Timing};
