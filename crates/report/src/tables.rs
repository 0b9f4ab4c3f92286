//! The report's HTML tables: the safety matrix, findings, mutants, threads engine, replays.

use crate::data::ReportData;
use crate::metrics::fmt_ns;
use crate::safety::{explained, row_state, RowState};
use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn first_seen<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    for x in it {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

fn arch_abbrev(a: &str) -> &str {
    match a {
        "x86" => "x",
        "ppc-radix" => "r",
        "ppc-hash" => "h",
        "arm64" => "a",
        other => other,
    }
}

/// Scenario × variant × arch, one coloured cell per row; the violation (or the free point,
/// or why infeasible) in the cell's `title`.
pub fn safety_matrix(d: &ReportData, out: &mut String) {
    let scen = first_seen(d.rows.iter().map(|r| r.scenario.as_str()));
    let vars = first_seen(d.rows.iter().map(|r| r.scheme.as_str()));
    let arches = first_seen(d.rows.iter().map(|r| r.arch.as_str()));
    out.push_str("<table class=\"matrix\">\n<thead><tr><th rowspan=\"2\">scenario</th>");
    for v in &vars {
        let _ = write!(out, "<th colspan=\"{}\">{}</th>", arches.len(), esc(v));
    }
    out.push_str("</tr>\n<tr>");
    for _ in &vars {
        for a in &arches {
            let _ = write!(out, "<th title=\"{}\">{}</th>", esc(a), esc(arch_abbrev(a)));
        }
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for s in &scen {
        let _ = write!(out, "<tr><th class=\"scen\">{}</th>", esc(s));
        for v in &vars {
            for a in &arches {
                let Some(r) = d
                    .rows
                    .iter()
                    .find(|r| r.scenario == *s && r.scheme == *v && r.arch == *a)
                else {
                    out.push_str("<td></td>");
                    continue;
                };
                let (class, mark, title) = match row_state(r, &d.findings) {
                    RowState::Infeasible => (
                        "inf",
                        "·",
                        format!("infeasible: {}", r.infeasible.as_deref().unwrap_or("")),
                    ),
                    RowState::Clean => ("ok", "✓", format!("clean; freed at {}", r.freed_at)),
                    st => {
                        let mut t = String::new();
                        for viol in &r.violations {
                            let why = explained(r, viol, &d.findings)
                                .map_or("NEW (no catalogued finding)".to_string(), |f| {
                                    format!("catalogued: {}", f.why)
                                });
                            let _ = write!(t, "{viol}\n  {why}\n");
                        }
                        if st == RowState::New {
                            ("new", "!", t)
                        } else {
                            ("fnd", "F", t)
                        }
                    }
                };
                let _ = write!(
                    out,
                    "<td class=\"{class}\" title=\"{} / {} / {}: {}\">{mark}</td>",
                    esc(s),
                    esc(v),
                    esc(a),
                    esc(title.trim_end())
                );
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    out.push_str(
        "<p class=\"legend\"><span class=\"ok\">✓</span> clean · <span class=\"fnd\">F</span> \
         catalogued finding · <span class=\"new\">!</span> new violation · <span \
         class=\"inf\">·</span> infeasible on the arch; arches: x = x86, r = ppc-radix, h = \
         ppc-hash, a = arm64. Hover a cell for its violation.</p>\n",
    );
}

/// The catalogue's findings.
pub fn findings(d: &ReportData, out: &mut String) {
    out.push_str("<table><thead><tr><th>scenario</th><th>variant</th><th>arches</th><th>kind</th><th>source</th></tr></thead><tbody>\n");
    for f in &d.findings {
        let arches = if f.arches.is_empty() {
            "every feasible".to_string()
        } else {
            f.arches.join(", ")
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.scenario),
            esc(&f.variant),
            esc(&arches),
            esc(&f.kind),
            esc(&f.why)
        );
    }
    out.push_str("</tbody></table>\n");
}

/// The mutants: caught or missed, by which violation.
pub fn mutants(d: &ReportData, out: &mut String) {
    out.push_str("<table><thead><tr><th>mutant</th><th>result</th><th>scenario</th><th>expected kind</th><th>control</th><th>violation</th></tr></thead><tbody>\n");
    for m in &d.mutants {
        let _ = writeln!(
            out,
            "<tr><td title=\"{}\">{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"small\">{}</td></tr>",
            esc(&m.source),
            esc(&m.mutant),
            if m.caught { "ok" } else { "new" },
            if m.caught { "caught" } else { "MISSED" },
            esc(&m.scenario),
            esc(&m.expected_kind),
            if m.control_clean { "clean" } else { "SHOWS IT TOO" },
            esc(m.violation.as_deref().unwrap_or("-"))
        );
    }
    out.push_str("</tbody></table>\n");
}

/// The threads-engine torture.
pub fn threads(d: &ReportData, out: &mut String) {
    let t = &d.threads;
    let _ = writeln!(out, "<p>Command: <code>{}</code></p>", esc(&t.command));
    for n in t.notes.iter().filter(|n| !n.is_empty()) {
        let _ = writeln!(out, "<p class=\"small\">{}</p>", esc(n));
    }
    out.push_str("<table><thead><tr><th>variant</th><th>arch</th><th>CPUs</th><th>ops/s</th><th>ops</th><th>NMIs</th><th>lazy IPIs</th><th>flush IPIs</th><th>mm_count RMWs</th><th>violations</th></tr></thead><tbody>\n");
    for r in &t.reports {
        let bad = !r.violations.is_empty() || r.deadlock;
        let v = if r.deadlock {
            "deadlock".to_string()
        } else {
            (r.violations.len() as u64 + r.violations_dropped).to_string()
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\" title=\"{}\">{}</td></tr>",
            esc(&r.scheme),
            esc(&r.arch),
            r.cpus,
            r.ops_per_sec,
            r.ops,
            r.nmis,
            r.counters.lazy_ipis,
            r.counters.flush_ipis,
            r.counters.mm_count_rmw,
            if bad { "new" } else { "ok" },
            esc(&r.violations.join("\n")),
            v
        );
    }
    out.push_str("</tbody></table>\n");
}

/// The replays, or a line saying none ran.
pub fn replay(d: &ReportData, out: &mut String) {
    if d.replay.is_empty() {
        out.push_str("<p>No trace replayed.</p>\n");
        return;
    }
    for x in &d.replay {
        let _ = writeln!(
            out,
            "<h3>{}</h3>\n<p>Command: <code>{}</code></p>",
            esc(&x.trace),
            esc(&x.command)
        );
        if !x.stats.is_empty() {
            out.push_str("<p>");
            let parts: Vec<String> = x
                .stats
                .iter()
                .map(|(k, v)| format!("{}: <b>{}</b>", esc(k), esc(v)))
                .collect();
            out.push_str(&parts.join(" · "));
            out.push_str("</p>\n");
        }
        out.push_str("<table><thead><tr><th>variant</th><th>profile</th><th>CPUs</th><th>context switches</th><th>lazy switches</th><th>mm_count RMWs</th><th>drop_mm RMWs</th><th>lazy / flush IPIs</th><th>IPIs per exit</th><th>scheme barriers</th><th>MMU switches</th><th>free p50 / p99</th><th>peak pending free</th><th>lazy-mm time</th><th>time share</th><th>violations</th></tr></thead><tbody>\n");
        for (i, r) in x.reports.iter().enumerate() {
            let c = &r.counters;
            let cost = x.costs.get(i);
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\" title=\"{}\">{}</td></tr>",
                esc(&r.scheme),
                esc(&r.profile),
                r.cpus,
                r.context_switches,
                cost.map_or("-".into(), |c| c.lazy_switches.to_string()),
                c.mm_count_rmw,
                c.drop_mm_rmw,
                c.lazy_ipis,
                c.flush_ipis,
                cost.map_or("-".into(), |c| format!("{:.2}", c.ipis_per_exit)),
                c.scheme_barriers,
                c.mmu_switches,
                fmt_ns(r.free_latency.p50_ns),
                fmt_ns(r.free_latency.p99_ns),
                r.peak_pending_free,
                cost.map_or("-".into(), |c| fmt_ns(c.lazy_ns)),
                cost.map_or("-".into(), |c| format!("{:.4}%", c.time_share * 100.0)),
                if r.violations.is_empty() { "ok" } else { "new" },
                esc(&r.violations.join("\n")),
                r.violations.len()
            );
        }
        out.push_str("</tbody></table>\n");
    }
}
