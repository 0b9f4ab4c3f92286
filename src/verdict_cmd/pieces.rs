//! The main job's pieces: the catalogue and the simulation points in parallel (rayon), the
//! threads-engine torture, each with an indicatif bar.

use super::sweep_command;
use crate::sim_cmd::Point;
use crate::sweep_cmd::{grid, SweepArgs};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use lazymm_model::{ArchId, SchemeId};
use lazymm_report::{SweepRun, ThreadsRun, Timing};
use lazymm_workloads::scenarios;
use lazymm_workloads::torture::{torture, TortureConfig};
use rayon::prelude::*;
use std::time::{Duration, Instant};

fn bar(mp: &MultiProgress, len: u64, what: &str) -> ProgressBar {
    let b = mp.add(ProgressBar::new(len));
    b.set_style(
        ProgressStyle::with_template("{prefix:>10} {bar:36} {pos}/{len} {elapsed} {msg}")
            .expect("progress template")
            .progress_chars("=> "),
    );
    b.set_prefix(what.to_string());
    b
}

pub(super) fn timed<T>(timings: &mut Vec<Timing>, what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let v = f();
    timings.push(Timing {
        what: what.into(),
        secs: t.elapsed().as_secs_f64(),
    });
    v
}

/// Runs the catalogue in parallel, in `all_rows` order.
pub(super) fn catalogue(mp: &MultiProgress) -> Vec<lazymm_workloads::run::Row> {
    let mut jobs = Vec::new();
    for s in scenarios::catalogue() {
        for v in lazymm_model::era::variants() {
            for a in ArchId::ALL {
                jobs.push((s.num, v, a));
            }
        }
    }
    let b = bar(mp, jobs.len() as u64, "catalogue");
    let cat = scenarios::catalogue();
    let rows = jobs
        .par_iter()
        .map(|(num, v, a)| {
            let s = cat.iter().find(|s| s.num == *num).expect("scenario");
            let r = scenarios::run_variant(s, v, *a).row;
            b.inc(1);
            r
        })
        .collect();
    b.finish();
    rows
}

/// Runs every point of the sweeps in one parallel pool, the slowest-looking first.
pub(super) fn sims(mp: &MultiProgress, sweeps: &[SweepArgs]) -> Result<Vec<SweepRun>, String> {
    let grids: Vec<Vec<Point>> = sweeps.iter().map(grid).collect::<Result<_, _>>()?;
    let mut order: Vec<(usize, usize)> = grids
        .iter()
        .enumerate()
        .flat_map(|(g, pts)| (0..pts.len()).map(move |i| (g, i)))
        .collect();
    // exec-storm's cost grows with CPUs × exits; ctxsw is cheap everywhere.
    let weight = |&(g, i): &(usize, usize)| {
        let p = &grids[g][i];
        p.cpus * if p.workload == "ctxsw" { 1 } else { 16 }
    };
    order.sort_by_key(|k| std::cmp::Reverse(weight(k)));
    let b = bar(mp, order.len() as u64, "sim");
    let done: Vec<((usize, usize), lazymm_sim::SimReport)> = order
        .par_iter()
        .map(|&(g, i)| {
            let r = grids[g][i].run().map(|r| ((g, i), r));
            b.inc(1);
            r
        })
        .collect::<Result<_, String>>()?;
    b.finish();
    let mut runs: Vec<SweepRun> = sweeps
        .iter()
        .zip(&grids)
        .map(|(a, pts)| SweepRun {
            workload: a.workload.clone(),
            command: sweep_command(a),
            reports: Vec::with_capacity(pts.len()),
        })
        .collect();
    let mut done = done;
    done.sort_by_key(|(k, _)| *k);
    for ((g, _), r) in done {
        runs[g].reports.push(r);
    }
    Ok(runs)
}

/// One torture run per scheme's clean variant, on x86 or its first arch where it is clean.
pub(super) fn threads(mp: &MultiProgress, seconds: f64) -> ThreadsRun {
    let cfg = TortureConfig {
        ncpus: 4,
        duration: Duration::from_secs_f64(seconds),
        seed: 0,
        nmi_per_sec: 2000.0,
        jitter: 0.01,
        max_ops_per_cpu: None,
        vcpu_preempt: 1e-4,
    };
    let b = bar(mp, SchemeId::ALL.len() as u64, "threads");
    let mut reports = Vec::new();
    let mut notes = Vec::new();
    for id in SchemeId::ALL {
        let v = lazymm_model::era::clean_variant(id);
        let s = v.build();
        let Some(on) = std::iter::once(ArchId::X86)
            .chain(ArchId::ALL)
            .find(|x| s.infeasible(&lazymm_model::Arch::profile(*x)).is_none() && v.clean_on(*x))
        else {
            continue;
        };
        if on != ArchId::X86 {
            let why = if s
                .infeasible(&lazymm_model::Arch::profile(ArchId::X86))
                .is_some()
            {
                "cannot run on x86"
            } else {
                "is not a clean variant on x86 (never ported there: a catalogued finding)"
            };
            notes.push(format!("{} {why}; ran on {}", v.name, on.name()));
        }
        b.set_message(v.name.to_string());
        let mut r = torture(s, on, v.knobs(on), &cfg);
        r.scheme = v.name.to_string();
        reports.push(r);
        b.inc(1);
    }
    b.finish();
    ThreadsRun {
        command: format!(
            "lazymm torture --engine threads --scheme all --cpus {} --seconds {seconds}",
            cfg.ncpus
        ),
        reports,
        notes,
    }
}
