//! Throughput against CPUs (log-log lines) and free-latency ranges (log axis).

use super::variant_color;
use crate::metrics::fmt_ns;
use lazymm_sim::SimReport;
use plotters::coord::Shift;
use plotters::prelude::*;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Draws into an SVG string of `w`×`h` pixels.
pub(super) fn svg(w: u32, h: u32, f: impl FnOnce(&Area) -> DrawResult) -> Result<String, String> {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        f(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(s)
}

/// Variants in first-seen order.
pub(super) fn variants<'a>(reps: &[&'a SimReport]) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    for r in reps {
        if !v.contains(&r.scheme.as_str()) {
            v.push(&r.scheme);
        }
    }
    v
}

fn si(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.0}G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.0}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// Throughput (switches/s or ops/s) against CPUs, one line per variant, log axes.
pub fn throughput(
    title: &str,
    ylabel: &str,
    reps: &[&SimReport],
    use_ops: bool,
) -> Result<String, String> {
    let y = |r: &SimReport| {
        if use_ops {
            r.ops_per_sec
        } else {
            r.switches_per_sec
        }
    };
    let ys: Vec<f64> = reps.iter().map(|r| y(r)).filter(|v| *v > 0.0).collect();
    let (lo, hi) = ys
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), v| (a.min(*v), b.max(*v)));
    if ys.is_empty() {
        return Err(format!("{title}: no throughput to draw"));
    }
    let xmax = reps.iter().map(|r| r.cpus).max().unwrap_or(1) as f64;
    let xmin = reps.iter().map(|r| r.cpus).min().unwrap_or(1) as f64;
    svg(660, 420, |root| {
        let mut c = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (xmin * 0.8..xmax * 1.25).log_scale(),
                (lo / 1.5..hi * 2.0).log_scale(),
            )?;
        c.configure_mesh()
            .x_desc("simulated CPUs")
            .y_desc(ylabel)
            .y_labels(6)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|v| si(*v))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        for v in variants(reps) {
            let col = variant_color(v);
            let mut pts: Vec<(f64, f64)> = reps
                .iter()
                .filter(|r| r.scheme == v && y(r) > 0.0)
                .map(|r| (r.cpus as f64, y(r)))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            c.draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))?
                .label(v)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(3))
                });
            c.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, col.filled())))?;
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 13))
            .draw()?;
        Ok(())
    })
}

/// Free latency per variant at up to two CPU counts (64 and the largest): p50–p99 bar, p90
/// tick, max whisker, on a log axis.
pub fn free_latency(title: &str, reps: &[&SimReport]) -> Result<String, String> {
    let maxn = reps.iter().map(|r| r.cpus).max().unwrap_or(0);
    let mut counts = vec![64usize, maxn];
    counts.retain(|n| reps.iter().any(|r| r.cpus == *n));
    counts.dedup();
    let mut rows: Vec<&SimReport> = Vec::new();
    for v in variants(reps) {
        for &n in &counts {
            if let Some(r) = reps
                .iter()
                .find(|r| r.scheme == v && r.cpus == n && r.free_latency.freed > 0)
            {
                rows.push(r);
            }
        }
    }
    if rows.is_empty() {
        return Err(format!("{title}: no freed mm to draw"));
    }
    let lo = rows
        .iter()
        .map(|r| r.free_latency.p50_ns)
        .fold(f64::MAX, f64::min)
        .max(1.0);
    let hi = rows
        .iter()
        .map(|r| r.free_latency.max_ns)
        .fold(1.0, f64::max);
    let n = rows.len();
    let labels: Vec<String> = rows
        .iter()
        .map(|r| format!("{} @{}", r.scheme, r.cpus))
        .collect();
    svg(660, 110 + 30 * n as u32, |root| {
        let mut c = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(160)
            .build_cartesian_2d(
                (lo / 2.0..hi * 200.0).log_scale(),
                (0..n - 1).into_segmented(),
            )?;
        c.configure_mesh()
            .disable_y_mesh()
            .x_desc("ns from mm_users = 0 to the free (log)")
            .x_label_formatter(&|x| fmt_ns(*x))
            .y_labels(n)
            .y_label_formatter(&|s| match s {
                SegmentValue::CenterOf(i) if *i < n => labels[*i].clone(),
                _ => String::new(),
            })
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        let band = c.plotting_area().dim_in_pixel().1 / n as u32;
        for (i, r) in rows.iter().enumerate() {
            let col = variant_color(&r.scheme);
            let f = &r.free_latency;
            let mut bar = Rectangle::new(
                [
                    (f.p50_ns, SegmentValue::Exact(i)),
                    (f.p99_ns.max(f.p50_ns * 1.02), SegmentValue::Exact(i + 1)),
                ],
                col.mix(0.55).filled(),
            );
            bar.set_margin(band / 4, band / 4, 0, 0);
            c.draw_series(std::iter::once(bar))?;
            let mid = || SegmentValue::CenterOf(i);
            c.draw_series(std::iter::once(PathElement::new(
                vec![(f.p99_ns, mid()), (f.max_ns, mid())],
                col.stroke_width(2),
            )))?;
            c.draw_series(std::iter::once(Circle::new(
                (f.p90_ns, mid()),
                4,
                BLACK.filled(),
            )))?;
            c.draw_series(std::iter::once(Text::new(
                format!(
                    "p50 {} · p99 {} · {}/{} freed",
                    fmt_ns(f.p50_ns),
                    fmt_ns(f.p99_ns),
                    f.freed,
                    f.exited
                ),
                (f.max_ns * 1.15, mid()),
                ("sans-serif", 11).into_font().color(&BLACK.mix(0.8)),
            )))?;
        }
        Ok(())
    })
}
