//! `lazymm replay` from the command line: a malformed line is an error naming the file, the
//! line and the expected form (exit 2); `--lenient` skips and counts it; `--json` reports
//! every scheme.

fn data(name: &str) -> String {
    format!(
        "{}/crates/sim/tests/data/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

mod common;

use common::lazymm;

#[test]
fn malformed_line_is_an_error_with_file_line_and_expected_form() {
    let bad = data("replay_bad_line.ftrace");
    let out = lazymm(&["replay", &bad, "--scheme", "refcount"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("error: {bad}:11: ")),
        "stderr: {err}"
    );
    assert!(
        err.contains("; expected sched_switch fields"),
        "stderr: {err}"
    );
}

#[test]
fn lenient_skips_and_counts_the_malformed_line() {
    let bad = data("replay_bad_line.ftrace");
    let out = lazymm(&["replay", &bad, "--lenient", "--scheme", "refcount"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("11 events"), "{text}");
    assert!(text.contains("1 skipped"), "{text}");
}

#[test]
fn json_reports_every_clean_scheme_with_the_trace_switch_count() {
    let out = lazymm(&["replay", &data("replay_mixed.ftrace"), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["cpus"], 2);
    assert_eq!(v["parse"]["events"]["switch"], 8);
    let schemes = v["schemes"].as_array().expect("schemes");
    // `--scheme all`: the clean variant of each scheme (S-ppc's row says it is infeasible).
    let clean = lazymm_model::era::variants()
        .iter()
        .filter(|v| v.clean)
        .count();
    assert_eq!(schemes.len(), clean);
    for s in schemes {
        let r = &s["report"];
        if r["infeasible"].is_null() {
            assert_eq!(r["context_switches"], 8, "{}", r["scheme"]);
            assert_eq!(s["replay"]["exits"], 1, "{}", r["scheme"]);
        }
    }
}

#[test]
fn fewer_cpus_than_the_trace_has_is_an_error() {
    let out = lazymm(&["replay", &data("replay_mixed.ftrace"), "--cpus", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--cpus 1: the trace has events on CPU 1"),
        "{err}"
    );
}

#[test]
fn timeline_writes_one_perfetto_file_per_scheme() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("mixed.pftrace");
    let out = lazymm(&[
        "replay",
        &data("replay_mixed.ftrace"),
        "--scheme",
        "all",
        "--timeline",
        base.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One file per variant that runs on x86 (the trace's arch): the clean ones but S-ppc.
    let x86 = lazymm_model::Arch::profile(lazymm_model::ArchId::X86);
    let ran: Vec<_> = lazymm_model::era::variants()
        .into_iter()
        .filter(|v| v.clean && v.build().infeasible(&x86).is_none())
        .collect();
    assert_eq!(ran.len(), 6);
    for v in ran.iter().map(|v| v.name) {
        let f = dir.path().join(format!("mixed.{v}.pftrace"));
        let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let t = lazymm_sim::timeline::perfetto::decode(&bytes).expect("decodes");
        assert!(!t.packet.is_empty(), "{v}: empty trace");
    }
    // One scheme: the file itself.
    let one = dir.path().join("one.pftrace");
    let out = lazymm(&[
        "replay",
        &data("replay_mixed.ftrace"),
        "--scheme",
        "refcount",
        "--timeline",
        one.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(one.exists());
}
