//! One self-contained HTML page: inline CSS, the charts as inline SVG, tables; no script,
//! no external resource, so it reads the same offline, in any browser, and in a headless
//! screenshot.

use crate::charts::{Chart, Section};
use crate::data::ReportData;
use crate::metrics::DEFINITIONS;
use crate::tables::{self, esc};
use crate::verdict;
use std::fmt::Write;

const CSS: &str = "
body { font-family: sans-serif; margin: 12px auto; padding: 0 8px; max-width: 1500px; color: #222; }
h1 { font-size: 26px; } h2 { border-bottom: 2px solid #ccc; margin-top: 36px; }
pre.verdict { background: #f6f6f3; border: 1px solid #ddd; padding: 10px; font-size: 12px;
  overflow-x: auto; line-height: 1.3; }
figure { display: inline-block; vertical-align: top; margin: 6px 8px 16px 0; }
figcaption { max-width: 660px; font-size: 13px; margin-top: 4px; }
figcaption code, p code { background: #f0f0f0; padding: 1px 3px; font-size: 12px;
  word-break: break-all; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
table.matrix td, table.matrix th { padding: 0 3px; text-align: center; font-size: 11px; }
table.matrix th.scen { text-align: left; white-space: nowrap; }
td.ok, span.ok { background: #d8f0d2; color: #225522; }
td.fnd, span.fnd { background: #ffe3a8; color: #7a4b00; font-weight: bold; }
td.new, span.new { background: #f7b4b4; color: #800; font-weight: bold; }
td.inf, span.inf { background: #eee; color: #999; }
.small { font-size: 11px; } p.legend span { padding: 0 4px; }
dl dt { font-weight: bold; } dl dd { margin: 0 0 8px 20px; max-width: 1000px; }
";

fn figures(charts: &[Chart], section: Section, out: &mut String) {
    let mut any = false;
    for c in charts.iter().filter(|c| c.section == section) {
        any = true;
        let _ = write!(
            out,
            "<figure id=\"{}\">\n{}\n<figcaption>{}. Reproduce: <code>{}</code></figcaption>\n</figure>\n",
            esc(&c.id),
            c.svg,
            esc(&c.caption),
            esc(&c.command)
        );
    }
    if !any {
        out.push_str("<p>No sweep produced data for these charts.</p>\n");
    }
}

/// The report page.
pub fn page(d: &ReportData, charts: &[Chart]) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<title>lazymm report</title>\n<style>");
    o.push_str(CSS);
    o.push_str("</style>\n</head>\n<body>\n<h1>lazymm: the lazy-TLB mm schemes, measured</h1>\n");
    o.push_str(
        "<p>Written by <code>lazymm</code> (no subcommand; the same as <code>lazymm verdict</code>). \
         Every chart names the command that reproduces its data; the scenario matrix is \
         <code>lazymm scenario --all</code>, the mutants <code>lazymm mutants</code>.</p>\n",
    );
    o.push_str("<h2 id=\"verdict\">Verdict</h2>\n<pre class=\"verdict\">");
    o.push_str(&esc(&verdict::render(d)));
    o.push_str("</pre>\n<h2 id=\"definitions\">Definitions</h2>\n<dl>\n");
    for (k, v) in DEFINITIONS {
        let _ = writeln!(o, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    o.push_str("</dl>\n");
    o.push_str("<h2 id=\"throughput\">Throughput against CPUs</h2>\n");
    figures(charts, Section::Throughput, &mut o);
    o.push_str("<h2 id=\"cost\">Cost breakdown</h2>\n");
    figures(charts, Section::Cost, &mut o);
    o.push_str("<h2 id=\"traffic\">IPIs and shared-line RMWs</h2>\n");
    figures(charts, Section::Traffic, &mut o);
    o.push_str("<h2 id=\"free-latency\">Free latency</h2>\n");
    figures(charts, Section::FreeLatency, &mut o);
    o.push_str("<h2 id=\"safety\">Scenario safety matrix</h2>\n");
    o.push_str(
        "<p>Every scenario × variant × arch on the step engine (<code>lazymm scenario --all</code>).</p>\n",
    );
    tables::safety_matrix(d, &mut o);
    o.push_str("<h3>Catalogued findings</h3>\n");
    tables::findings(d, &mut o);
    o.push_str("<h2 id=\"mutants\">Mutants</h2>\n<p>Each historical bug re-introduced; the oracle must catch it by the violation kind it is about, and the clean variant must not show it (<code>lazymm mutants</code>).</p>\n");
    tables::mutants(d, &mut o);
    o.push_str("<h2 id=\"threads\">Threads engine</h2>\n");
    tables::threads(d, &mut o);
    o.push_str("<h2 id=\"replay\">Trace replay</h2>\n");
    tables::replay(d, &mut o);
    o.push_str("<h2 id=\"timings\">Host time</h2>\n<p>");
    let t: Vec<String> = d
        .timings
        .iter()
        .map(|t| format!("{} {:.1} s", esc(&t.what), t.secs))
        .collect();
    o.push_str(&t.join(" · "));
    o.push_str("</p>\n</body>\n</html>\n");
    o
}
