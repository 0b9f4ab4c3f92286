//! Horizontal bars: stacked cost breakdowns, and IPIs/RMWs per exit.

use super::lines::svg;
use crate::metrics::{self, fmt_ns};
use lazymm_sim::SimReport;
use plotters::prelude::*;

/// Colours of the breakdown's parts, in `metrics::breakdown_parts` order.
fn part_color(i: usize) -> RGBColor {
    const C: [RGBColor; 13] = [
        RGBColor(214, 39, 40),
        RGBColor(23, 190, 207),
        RGBColor(227, 119, 194),
        RGBColor(255, 152, 150),
        RGBColor(148, 103, 189),
        RGBColor(31, 119, 180),
        RGBColor(174, 199, 232),
        RGBColor(255, 127, 14),
        RGBColor(255, 187, 120),
        RGBColor(140, 86, 75),
        RGBColor(127, 127, 127),
        RGBColor(199, 199, 199),
        RGBColor(188, 189, 34),
    ];
    C[i % C.len()]
}

/// One bar per row, stacked by part; the total at the bar's end.
pub fn stacked(
    title: &str,
    xlabel: &str,
    rows: &[(String, Vec<(&'static str, f64)>)],
) -> Result<String, String> {
    let n = rows.len();
    if n == 0 {
        return Err(format!("{title}: nothing to draw"));
    }
    let total = |parts: &[(&str, f64)]| parts.iter().map(|p| p.1.max(0.0)).sum::<f64>();
    let xmax = rows
        .iter()
        .map(|r| total(&r.1))
        .fold(0.0, f64::max)
        .max(1.0);
    let names: Vec<&str> = rows[0].1.iter().map(|p| p.0).collect();
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    svg(W, 150 + 34 * n as u32, |root| {
        let mut c = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .margin_right(LEGEND_W)
            .x_label_area_size(44)
            .y_label_area_size(130)
            .build_cartesian_2d(0.0..xmax * 1.3, (0..n - 1).into_segmented())?;
        c.configure_mesh()
            .disable_y_mesh()
            .x_desc(xlabel)
            .x_labels(6)
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
        for k in 0..names.len() {
            let col = part_color(k);
            let mut rects = Vec::new();
            for (i, (_, parts)) in rows.iter().enumerate() {
                let x0: f64 = parts[..k].iter().map(|p| p.1.max(0.0)).sum();
                let w = parts[k].1.max(0.0);
                if w <= 0.0 {
                    continue;
                }
                let mut r = Rectangle::new(
                    [
                        (x0, SegmentValue::Exact(i)),
                        (x0 + w, SegmentValue::Exact(i + 1)),
                    ],
                    col.filled(),
                );
                r.set_margin(band / 5, band / 5, 0, 0);
                rects.push(r);
            }
            c.draw_series(rects)?;
        }
        c.draw_series(rows.iter().enumerate().map(|(i, (_, parts))| {
            Text::new(
                fmt_ns(total(parts)),
                (total(parts) + xmax * 0.01, SegmentValue::CenterOf(i)),
                ("sans-serif", 12).into_font(),
            )
        }))?;
        let items: Vec<(&str, RGBColor)> = names
            .iter()
            .enumerate()
            .map(|(k, n)| (*n, part_color(k)))
            .collect();
        legend(root, &items)
    })
}

/// Chart width (px): two fit side by side in a 1400-px window.
const W: u32 = 660;
/// Width kept right of the plot for the legend (px).
const LEGEND_W: u32 = 150;

/// Draws a legend in the right margin, outside the plot, so it never hides a bar.
fn legend(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    items: &[(&str, RGBColor)],
) -> Result<(), Box<dyn std::error::Error>> {
    let x = (W - LEGEND_W + 16) as i32;
    for (k, (name, col)) in items.iter().enumerate() {
        let y = 60 + 18 * k as i32;
        root.draw(&Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled()))?;
        root.draw(&Text::new(
            name.to_string(),
            (x + 18, y - 6),
            ("sans-serif", 12).into_font(),
        ))?;
    }
    Ok(())
}

/// Per variant two bars: IPIs per exit (lazy, flush) and shared-line RMWs per exit
/// (`mm_count`, `drop_mm`), stacked.
pub fn traffic(title: &str, reps: &[&SimReport]) -> Result<String, String> {
    let n = reps.len();
    if n == 0 {
        return Err(format!("{title}: nothing to draw"));
    }
    let per = |r: &SimReport, x: u64| {
        if r.ops > 0 {
            x as f64 / r.ops as f64
        } else {
            0.0
        }
    };
    let xmax = reps
        .iter()
        .flat_map(|r| [metrics::ipis_per_op(r), metrics::rmws_per_op(r)])
        .flatten()
        .fold(0.0, f64::max)
        .max(0.5);
    let labels: Vec<String> = reps.iter().map(|r| r.scheme.clone()).collect();
    let parts: [(&str, RGBColor); 4] = [
        ("lazy IPIs", RGBColor(255, 127, 14)),
        ("flush IPIs", RGBColor(255, 187, 120)),
        ("mm_count RMWs", RGBColor(31, 119, 180)),
        ("drop_mm RMWs", RGBColor(174, 199, 232)),
    ];
    svg(W, 150 + 44 * n as u32, |root| {
        let mut c = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .margin_right(LEGEND_W)
            .x_label_area_size(44)
            .y_label_area_size(130)
            .build_cartesian_2d(0.0..xmax * 1.6, (0..n - 1).into_segmented())?;
        c.configure_mesh()
            .disable_y_mesh()
            .x_desc("per process exit")
            .x_labels(8)
            .y_labels(n)
            .y_label_formatter(&|s| match s {
                SegmentValue::CenterOf(i) if *i < n => labels[*i].clone(),
                _ => String::new(),
            })
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        let band = c.plotting_area().dim_in_pixel().1 / n as u32;
        // Sub-bar 0 (IPIs) in the band's upper half, sub-bar 1 (RMWs) in its lower half.
        let margin = |sub: u32| {
            (
                band / 8 + sub * band * 3 / 8,
                band / 8 + (1 - sub) * band * 3 / 8,
            )
        };
        for (k, (_, col)) in parts.iter().enumerate() {
            let sub = (k / 2) as u32;
            let rects: Vec<_> = reps
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    let c = &r.counters;
                    let v = [c.lazy_ipis, c.flush_ipis, c.mm_count_rmw, c.drop_mm_rmw];
                    let x0 = if k % 2 == 1 { per(r, v[k - 1]) } else { 0.0 };
                    let w = per(r, v[k]);
                    (w > 0.0).then(|| {
                        let mut rect = Rectangle::new(
                            [
                                (x0, SegmentValue::Exact(i)),
                                (x0 + w, SegmentValue::Exact(i + 1)),
                            ],
                            col.filled(),
                        );
                        let (t, b) = margin(sub);
                        rect.set_margin(t, b, 0, 0);
                        rect
                    })
                })
                .collect();
            c.draw_series(rects)?;
        }
        for (i, r) in reps.iter().enumerate() {
            let (ipis, rmws) = (
                metrics::ipis_per_op(r).unwrap_or(0.0),
                metrics::rmws_per_op(r).unwrap_or(0.0),
            );
            let text = format!("{ipis:.2} IPIs, {rmws:.1} RMWs");
            c.draw_series(std::iter::once(Text::new(
                text,
                (ipis.max(rmws) + xmax * 0.02, SegmentValue::CenterOf(i)),
                ("sans-serif", 12).into_font(),
            )))?;
        }
        let items: Vec<(&str, RGBColor)> = parts.to_vec();
        legend(root, &items)
    })
}
