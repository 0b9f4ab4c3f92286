//! The report on real data: the whole scenario catalogue, the mutants, and a few small
//! simulations (ctxsw and exec-storm at 2 and 4 CPUs) — the verdict's aggregation, the text
//! verdict's shape, and the HTML page's structure.

use lazymm_report::safety::{self, RowState};
use lazymm_report::{charts, html, verdict};
use lazymm_report::{FindingRow, ReplayCost, ReplayResult, ReportData, SweepRun, ThreadsRun};
use lazymm_sim::{simulate, SimConfig, SimReport, SimSpec};
use lazymm_workloads::drivers::{self, Bind, Params};
use lazymm_workloads::{mutants, scenarios};
use std::sync::OnceLock;

fn sim(workload: &str, variant: &str, cpus: usize) -> SimReport {
    let profile = lazymm_profile::find("intel-icx-2s").expect("built-in profile");
    let smt = profile.topology.smt.get() as usize;
    let driver = drivers::build(
        workload,
        Params {
            ncpus: cpus,
            smt,
            threads: (cpus / smt).max(1),
            bind: Bind::Core,
            seed: 0,
        },
    )
    .expect("driver");
    simulate(SimSpec {
        profile,
        variant: lazymm_model::era::variant(variant).expect("variant"),
        ncpus: cpus,
        driver,
        cfg: SimConfig {
            switches: Some(400),
            warmup_switches: Some(8 * cpus as u64),
            ..SimConfig::default()
        },
        knobs: None,
    })
}

fn sweep(workload: &str) -> SweepRun {
    let mut reports = Vec::new();
    for v in ["refcount", "shootdown", "hazard+fixes"] {
        for n in [2, 4] {
            reports.push(sim(workload, v, n));
        }
    }
    SweepRun {
        workload: workload.into(),
        command: format!("lazymm sweep --workload {workload} --cpus 2,4 --switches 400"),
        reports,
    }
}

/// The catalogue, the mutants and the small sweeps, computed once for every test.
fn data() -> &'static ReportData {
    static D: OnceLock<ReportData> = OnceLock::new();
    D.get_or_init(|| ReportData {
        rows: scenarios::all_rows(),
        findings: FindingRow::catalogue(),
        mutants: mutants::run_all(),
        sweeps: vec![sweep("ctxsw"), sweep("exec-storm")],
        threads: ThreadsRun {
            command: "lazymm torture --engine threads --scheme all --cpus 4 --seconds 1".into(),
            reports: Vec::new(),
            notes: Vec::new(),
        },
        replay: Vec::new(),
        timings: Vec::new(),
    })
}

#[test]
fn refcount_and_the_fixed_hazard_variants_are_safe_on_every_arch_they_run_on() {
    let d = data();
    let vs = safety::by_variant(&d.rows, &d.findings);
    let get = |n: &str| vs.iter().find(|v| v.variant == n).expect(n);
    assert_eq!(
        get("refcount").safe_arches(),
        ["x86", "ppc-radix", "ppc-hash", "arm64"]
    );
    assert!(get("refcount").first_finding.is_none());
    assert_eq!(
        get("hazard+fixes").safe_arches(),
        ["x86", "ppc-radix", "ppc-hash", "arm64"]
    );
    assert_eq!(get("hazard-x86+fixes").safe_arches(), ["x86"]);
    // No variant shows a violation the catalogue does not list.
    for v in &vs {
        assert!(v.no_new(), "{}: {:?}", v.variant, v.first_new);
    }
}

#[test]
fn shootdown_is_reported_with_its_catalogued_x86_finding_and_safe_elsewhere() {
    let d = data();
    let vs = safety::by_variant(&d.rows, &d.findings);
    let s = vs.iter().find(|v| v.variant == "shootdown").unwrap();
    assert_eq!(s.era, "mainline");
    let x86 = s.arches.iter().find(|a| a.arch == "x86").unwrap();
    assert_eq!(x86.state(), RowState::Finding);
    assert_eq!(x86.findings, 2, "text-poke-while-lazy and efi-while-lazy");
    let f = s.first_finding.as_ref().expect("a finding");
    assert_eq!((f.arch.as_str(), f.kind()), ("x86", "freed-while-loaded"));
    assert!(f.finding.as_deref().unwrap().starts_with("§4.4"), "{f:?}");
    assert_eq!(s.safe_arches(), ["ppc-radix", "ppc-hash"]);
    // As-posted H leaks every exited mm on every arch: a finding everywhere it runs.
    let h = vs.iter().find(|v| v.variant == "hazard").unwrap();
    assert!(h.arches.iter().all(|a| a.state() == RowState::Finding));
    assert_eq!(h.first_finding.as_ref().unwrap().kind(), "leak");
}

#[test]
fn a_violation_no_finding_explains_is_new_and_fails_the_verdict() {
    let d = data();
    let mut bad = d.clone();
    let r = bad
        .rows
        .iter_mut()
        .find(|r| r.scheme == "refcount" && r.arch == "arm64" && r.infeasible.is_none())
        .unwrap();
    r.violations
        .push("use-after-free of mm#3.1 [injected] on cpu0".into());
    assert_eq!(safety::row_state(r, &bad.findings), RowState::New);
    let vs = safety::by_variant(&bad.rows, &bad.findings);
    let rc = vs.iter().find(|v| v.variant == "refcount").unwrap();
    assert_eq!(rc.first_new.as_ref().unwrap().arch, "arm64");
    assert!(
        verdict::problems(d).is_empty(),
        "{:?}",
        verdict::problems(d)
    );
    let p = verdict::problems(&bad);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(verdict::render(&bad).contains("FAIL: 1 problem(s)"));
    assert!(verdict::render(&bad).contains("NEW1"));
}

#[test]
fn the_text_verdict_fits_one_screen_with_a_row_per_variant_and_per_profile() {
    let d = data();
    let text = verdict::render(d);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() <= 60, "{} lines:\n{text}", lines.len());
    for l in &lines {
        assert!(l.chars().count() <= 140, "too wide: {l}");
    }
    for v in lazymm_model::era::variants() {
        let n = lines
            .iter()
            .filter(|l| !l.starts_with(' ') && l.split_whitespace().next() == Some(v.name))
            .count();
        assert_eq!(n, 1, "one safety row for {}:\n{text}", v.name);
    }
    // Cost rows: one per simulated variant, indented, with a figure for 2 CPUs.
    for v in ["refcount", "shootdown*", "hazard+fixes"] {
        let row = lines
            .iter()
            .find(|l| l.starts_with("  ") && l.split_whitespace().next() == Some(v))
            .unwrap_or_else(|| panic!("cost row {v}:\n{text}"));
        assert!(row.contains("µs") || row.contains("ns"), "{row}");
    }
    assert!(text.contains("REPLAY: no trace replayed"));
    assert!(text.contains("PASS"));
}

#[test]
fn a_given_replay_is_shown_in_the_verdict_and_the_page() {
    let mut d = data().clone();
    d.replay.push(ReplayResult {
        trace: "sample.trace".into(),
        command: "lazymm replay sample.trace".into(),
        stats: vec![("events".into(), "1234".into())],
        reports: vec![sim("ctxsw", "refcount", 2)],
        costs: vec![ReplayCost {
            lazy_switches: 7,
            exits: 2,
            lazy_ns: 1500.0,
            time_share: 0.000_125,
            ipis_per_exit: 0.5,
        }],
    });
    let text = verdict::render(&d);
    assert!(text.contains("REPLAY sample.trace: events 1234"), "{text}");
    assert!(!text.contains("no trace replayed"));
    assert!(text.contains("IPIs/exit 0.50"), "{text}");
    assert!(text.contains("(0.0125% of CPU time)"), "{text}");
    let page = html::page(&d, &[]);
    assert!(page.contains("lazymm replay sample.trace"));
    assert!(
        page.contains("<td>0.0125%</td>"),
        "the time share is in the table"
    );
    assert!(!page.contains("No trace replayed"));
}

#[test]
fn the_page_is_self_contained_every_chart_closes_and_names_its_command() {
    let d = data();
    let cs = charts::all(d).expect("charts draw");
    // Per profile: throughput of both workloads, both breakdowns, traffic, free latency.
    assert_eq!(
        cs.len(),
        6,
        "{:?}",
        cs.iter().map(|c| &c.id).collect::<Vec<_>>()
    );
    for c in &cs {
        assert!(c.svg.starts_with("<svg"), "{}", c.id);
        assert!(c.svg.trim_end().ends_with("</svg>"), "{}", c.id);
        assert!(c.command.starts_with("lazymm "), "{}", c.id);
        assert!(c.svg.contains("<text"), "{}: a chart with no text", c.id);
    }
    let page = html::page(d, &cs);
    assert_eq!(page.matches("<svg").count(), cs.len());
    assert_eq!(page.matches("</svg>").count(), cs.len());
    assert_eq!(page.matches("<figure").count(), cs.len());
    assert_eq!(page.matches("Reproduce: <code>lazymm ").count(), cs.len());
    assert!(!page.contains("<script"));
    assert!(!page.contains("src="));
    assert!(!page.contains("href="));
    // The safety matrix: every row a cell, violations in the title.
    assert!(page.contains("<table class=\"matrix\">"));
    let cells = page.matches("<td class=\"ok\" title=").count()
        + page.matches("<td class=\"fnd\" title=").count()
        + page.matches("<td class=\"inf\" title=").count();
    assert_eq!(cells, d.rows.len());
    assert!(page.contains("text-poke-while-lazy / shootdown / x86: freed-while-loaded"));
    assert!(page.contains("No trace replayed."));
}

#[test]
fn charts_without_data_are_left_out_instead_of_failing_the_report() {
    let mut d = data().clone();
    // Only ctxsw ran: no exec-storm charts (cost per exit, traffic, free latency).
    d.sweeps.retain(|s| s.workload == "ctxsw");
    let ids: Vec<String> = charts::all(&d).unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        ["throughput-ctxsw-intel-icx-2s", "switch-cost-intel-icx-2s"]
    );
    // No mm freed in the window: no free-latency chart, the others still drawn.
    let mut d = data().clone();
    for r in d.sweeps.iter_mut().flat_map(|s| &mut s.reports) {
        r.free_latency.freed = 0;
    }
    let ids: Vec<String> = charts::all(&d).unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(!ids.iter().any(|i| i.starts_with("free-latency")));
    let page = html::page(&d, &charts::all(&d).unwrap());
    assert!(page.contains("No sweep produced data for these charts."));
}
