//! The one-screen text verdict: one row per variant for safety, one row per variant and
//! profile for cost, the replays, what failed (if anything) and the definitions.

use crate::data::ReportData;
use crate::metrics::{self, fmt_ns, point};
use crate::safety::{self, RowState, VariantSafety};
use std::fmt::Write;

/// The CPU counts the verdict shows cost at.
pub const CPUS: [usize; 3] = [2, 64, 1024];

/// Everything that makes the main job fail: new catalogue violations, missed mutants or
/// dirty controls, new violations in a simulation of a variant expected clean, torture
/// violations or deadlocks.
pub fn problems(d: &ReportData) -> Vec<String> {
    let mut out = Vec::new();
    for v in safety::by_variant(&d.rows, &d.findings) {
        if let Some(i) = &v.first_new {
            out.push(format!(
                "catalogue: {} on {} in {}: {}",
                v.variant, i.arch, i.scenario, i.violation
            ));
        }
    }
    for m in &d.mutants {
        if !m.caught {
            out.push(format!("mutant {} missed ({})", m.mutant, m.scenario));
        }
        if !m.control_clean {
            out.push(format!(
                "mutant {}: the clean variant shows it too",
                m.mutant
            ));
        }
    }
    let sims = d.sweeps.iter().flat_map(|s| &s.reports);
    for r in sims.chain(d.replay.iter().flat_map(|x| &x.reports)) {
        if r.expected_clean && !r.violations.is_empty() {
            out.push(format!(
                "sim {} {} {} {} CPUs: {}",
                r.workload, r.profile, r.scheme, r.cpus, r.violations[0]
            ));
        }
    }
    for t in &d.threads.reports {
        if !t.violations.is_empty() || t.deadlock {
            let what = t.violations.first().map_or("deadlock", String::as_str);
            out.push(format!("threads {} {}: {what}", t.scheme, t.arch));
        }
    }
    out
}

fn cell(a: &safety::ArchSafety) -> String {
    match a.state() {
        RowState::Infeasible => "-".into(),
        RowState::Clean => "ok".into(),
        RowState::Finding => format!("F{}", a.findings),
        RowState::New => format!("NEW{}", a.new),
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn note(v: &VariantSafety) -> String {
    if let Some(i) = &v.first_new {
        format!("NEW {} {}: {}", i.arch, i.scenario, i.violation)
    } else if let Some(i) = &v.first_finding {
        let why = i.finding.as_deref().unwrap_or("");
        format!("{} {}: {} ({why})", i.arch, i.scenario, i.kind())
    } else {
        String::new()
    }
}

fn safety_table(d: &ReportData, out: &mut String) {
    let vs = safety::by_variant(&d.rows, &d.findings);
    let arches: Vec<String> = vs
        .first()
        .map(|v| v.arches.iter().map(|a| a.arch.clone()).collect())
        .unwrap_or_default();
    let _ = write!(out, "{:<17} {:<9}", "SAFETY", "era");
    for a in &arches {
        let short = a.strip_prefix("ppc-").unwrap_or(a);
        let _ = write!(out, " {short:<5}");
    }
    let _ = writeln!(out, " {:<7} first violation or finding", "threads");
    let mut daggers: Vec<String> = Vec::new();
    for v in &vs {
        let _ = write!(out, "{:<17} {:<9}", v.variant, v.era);
        for a in &v.arches {
            let mut c = cell(a);
            if let Some(why) = superseded(&v.variant, &a.arch) {
                c.push('†');
                push_note(&mut daggers, &v.variant, &a.arch, why);
            }
            let _ = write!(out, " {c:<5}");
        }
        let thr = d
            .threads
            .reports
            .iter()
            .find(|t| t.scheme == v.variant)
            .map_or(String::new(), |t| {
                if t.violations.is_empty() && !t.deadlock {
                    "ok".into()
                } else {
                    "VIOL".into()
                }
            });
        let _ = writeln!(out, " {thr:<7} {}", clip(&note(v), 62));
    }
    out.push_str(
        "  ok: every scenario clean · Fn: n scenarios show a catalogued finding · NEWn: n with \
         an uncatalogued violation · -: cannot run there\n",
    );
    dagger_note(&daggers, out);
}

/// Why the row of `variant` on `arch` is not what the era's kernel runs there
/// ([`Variant::superseded_on`](lazymm_model::Variant::superseded_on)), if so.
fn superseded(variant: &str, arch: &str) -> Option<&'static str> {
    let arch = lazymm_model::ArchId::parse(arch)?;
    lazymm_model::era::variant(variant)?.superseded_on(arch)
}

/// Adds "`variant` on `arch`: `why`" to the dagger footnote's `notes`, once.
fn push_note(notes: &mut Vec<String>, variant: &str, arch: &str, why: &str) {
    let n = format!("{variant} on {arch}: {why}");
    if !notes.contains(&n) {
        notes.push(n);
    }
}

/// The dagger footnote under a table, if any row was marked.
fn dagger_note(notes: &[String], out: &mut String) {
    if !notes.is_empty() {
        let _ = writeln!(out, "  † not the era's kernel: {}", notes.join("; "));
    }
}

fn free(r: Option<&lazymm_sim::SimReport>) -> String {
    match r {
        Some(r) if r.free_latency.freed > 0 => format!(
            "{}/{}",
            fmt_ns(r.free_latency.p50_ns),
            fmt_ns(r.free_latency.p99_ns)
        ),
        _ => "-".into(),
    }
}

fn cost_tables(d: &ReportData, out: &mut String) {
    let ctx = d.sweep("ctxsw").map_or(&[][..], |s| &s.reports[..]);
    let ex = d.sweep("exec-storm").map_or(&[][..], |s| &s.reports[..]);
    // Variants starred in some table (not expected clean on that profile's arch).
    let mut starred: Vec<&str> = Vec::new();
    let mut daggers: Vec<String> = Vec::new();
    for prof in d.profiles() {
        let arch = ctx
            .iter()
            .chain(ex)
            .find(|r| r.profile == prof)
            .map_or("", |r| r.arch.as_str());
        let _ = writeln!(out, "\nCOST on {prof} ({arch}), sim engine");
        let _ = writeln!(
            out,
            "{:<18}{:<25}{:<25}{:<29}  IPIs/exit",
            "", "  per switch (ctxsw)", "  per exit (exec-storm)", "  free p50/p99 (exec-storm)"
        );
        let _ = write!(out, "{:<18}", "  CPUs");
        for _ in 0..2 {
            for n in CPUS {
                let _ = write!(out, "{n:>8}");
            }
            out.push(' ');
        }
        let _ = writeln!(out, "{:>14}{:>14} {:>6}{:>6}", 64, 1024, 64, 1024);
        let mut variants: Vec<&str> = Vec::new();
        for r in ctx.iter().chain(ex).filter(|r| r.profile == prof) {
            if r.infeasible.is_none() && !variants.contains(&r.scheme.as_str()) {
                variants.push(&r.scheme);
            }
        }
        for v in variants {
            let star = ctx
                .iter()
                .chain(ex)
                .any(|r| r.profile == prof && r.scheme == v && !r.expected_clean);
            if star && !starred.contains(&v) {
                starred.push(v);
            }
            // The simulation's own record (SimReport::not_the_kernel, from the variant).
            let dag = ctx
                .iter()
                .chain(ex)
                .find(|r| r.profile == prof && r.scheme == v)
                .and_then(|r| r.not_the_kernel.as_deref());
            if let Some(why) = dag {
                push_note(&mut daggers, v, arch, why);
            }
            let name = format!(
                "{v}{}{}",
                if star { "*" } else { "" },
                if dag.is_some() { "†" } else { "" }
            );
            let _ = write!(out, "  {name:<16}");
            for n in CPUS {
                let c = point(ctx, &prof, v, n).map(metrics::switch_cost_ns);
                let _ = write!(out, "{:>8}", c.map_or("-".into(), fmt_ns));
            }
            out.push(' ');
            for n in CPUS {
                let c = point(ex, &prof, v, n).and_then(metrics::exit_cost_ns);
                let _ = write!(out, "{:>8}", c.map_or("-".into(), fmt_ns));
            }
            out.push(' ');
            for n in [64, 1024] {
                let _ = write!(out, "{:>14}", free(point(ex, &prof, v, n)));
            }
            out.push(' ');
            for n in [64, 1024] {
                let i = point(ex, &prof, v, n).and_then(metrics::ipis_per_op);
                let _ = write!(out, "{:>6}", i.map_or("-".into(), |x| format!("{x:.2}")));
            }
            out.push('\n');
        }
    }
    if !starred.is_empty() {
        let _ = writeln!(
            out,
            "  * not expected clean on this arch{}; its violations are the catalogued finding",
            unported_note(&starred)
        );
    }
    dagger_note(&daggers, out);
}

/// " (S on x86: mainline never enabled it)": for each of the `starred` variants the era's
/// kernel never ported to some arches ([`Variant::unported`](lazymm_model::Variant)), the
/// scheme, those arches and why; empty if none is.
fn unported_note(starred: &[&str]) -> String {
    let mut notes: Vec<String> = Vec::new();
    let vs = lazymm_model::era::variants();
    for v in vs.iter().filter(|v| starred.contains(&v.name)) {
        if v.unported.is_empty() {
            continue;
        }
        let arches: Vec<&str> = v.unported.iter().map(|a| a.name()).collect();
        let note = format!(
            "{} on {}: {}",
            v.scheme.short(),
            arches.join(", "),
            v.unported_why
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    }
}

/// The text verdict.
pub fn render(d: &ReportData) -> String {
    let mut out = String::new();
    let vs = safety::by_variant(&d.rows, &d.findings);
    let feasible = d.rows.iter().filter(|r| r.infeasible.is_none()).count();
    let scenarios = {
        let s: std::collections::BTreeSet<&str> =
            d.rows.iter().map(|r| r.scenario.as_str()).collect();
        s.len()
    };
    let arches: std::collections::BTreeSet<&str> = d.rows.iter().map(|r| r.arch.as_str()).collect();
    let caught = d.mutants.iter().filter(|m| m.caught).count();
    let controls = d.mutants.iter().filter(|m| m.control_clean).count();
    let points: usize = d.sweeps.iter().map(|s| s.reports.len()).sum();
    let _ = writeln!(
        out,
        "lazymm verdict: {scenarios} scenarios × {} variants × {} arches ({feasible} feasible \
         rows, step engine); mutants {caught}/{} caught, {controls} controls clean;\n{} sim \
         points ({}); threads engine {} schemes",
        vs.len(),
        arches.len(),
        d.mutants.len(),
        points,
        d.sweeps
            .iter()
            .map(|s| s.workload.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        d.threads.reports.len()
    );
    out.push('\n');
    safety_table(d, &mut out);
    cost_tables(d, &mut out);
    out.push('\n');
    if d.replay.is_empty() {
        out.push_str("REPLAY: no trace replayed\n");
    }
    for r in &d.replay {
        let stats: Vec<String> = r.stats.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "REPLAY {}: {}", r.trace, stats.join(", "));
        for (i, s) in r.reports.iter().enumerate() {
            let c = &s.counters;
            let cost = r.costs.get(i).map_or(String::new(), |x| {
                format!(
                    "  IPIs/exit {:.2}  lazy-mm {} ({:.4}% of CPU time)",
                    x.ipis_per_exit,
                    fmt_ns(x.lazy_ns),
                    x.time_share * 100.0
                )
            });
            let _ = writeln!(
                out,
                "  {:<18} {:<15} mm_count RMW {:>5}  IPIs {:>3}/{:<3}  free p99 {:>7}{cost}",
                s.scheme,
                s.profile,
                c.mm_count_rmw,
                c.lazy_ipis,
                c.flush_ipis,
                fmt_ns(s.free_latency.p99_ns)
            );
        }
    }
    let probs = problems(d);
    if probs.is_empty() {
        out.push_str("PASS: no new violation, every mutant caught\n");
    } else {
        let _ = writeln!(out, "FAIL: {} problem(s)", probs.len());
        for p in probs.iter().take(8) {
            let _ = writeln!(out, "  ! {}", clip(p, 110));
        }
    }
    for def in metrics::SHORT_DEFINITIONS {
        let _ = writeln!(out, "  {def}");
    }
    // Rows padded for columns that stay empty end in spaces; a terminal does not need them.
    let mut trimmed: String = out
        .lines()
        .map(|l| l.trim_end().to_string() + "\n")
        .collect();
    trimmed.shrink_to_fit();
    trimmed
}

#[cfg(test)]
mod tests {
    use super::{superseded, unported_note};

    #[test]
    fn the_dagger_marks_generic_shootdown_on_radix_only() {
        // Mainline radix runs S through its combined exit flush (S-ppc); hash runs generic S.
        let why = superseded("shootdown", "ppc-radix").expect("S on radix is marked");
        assert!(
            why.contains("e43c0a0c3c28") && why.contains("shootdown-ppc"),
            "{why}"
        );
        assert_eq!(superseded("shootdown", "ppc-hash"), None);
        assert_eq!(superseded("shootdown-ppc", "ppc-radix"), None);
        assert_eq!(superseded("refcount", "ppc-radix"), None);
        assert_eq!(superseded("no-such-variant", "ppc-radix"), None);
    }

    #[test]
    fn the_footnote_names_unported_arches_from_the_variants() {
        // Only S is unported (on x86); the other starred variants add nothing to the note.
        assert_eq!(
            unported_note(&["refcount", "shootdown", "hazard"]),
            " (S on x86: mainline never enabled it)"
        );
        assert_eq!(unported_note(&["hazard-md"]), "");
    }
}
