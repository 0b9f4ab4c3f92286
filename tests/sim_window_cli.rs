//! `--window` from the command line: accepted on ctxsw (and said so in the report), refused
//! with a reason on a workload it has not been validated on, and on a malformed duration —
//! exit 2, nothing run.

mod common;

use common::lazymm;

#[test]
fn window_on_ctxsw_runs_and_the_report_says_timing_is_approximate() {
    let out = lazymm(&["sim", "--cpus", "4", "--switches", "500", "--window", "1us"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("relaxed causality: window 1000 ns"), "{text}");
    let json = lazymm(&[
        "sim",
        "--cpus",
        "4",
        "--switches",
        "500",
        "--window",
        "1us",
        "--json",
    ]);
    assert!(String::from_utf8_lossy(&json.stdout).contains("\"window_ns\": 1000.0"));
}

#[test]
fn window_on_a_workload_not_validated_is_refused() {
    for args in [
        &["sim", "--workload", "exec-storm", "--window", "1us"][..],
        &[
            "sweep",
            "--workload",
            "ctxsw,exec-storm",
            "--cpus",
            "2",
            "--window",
            "1us",
        ][..],
    ] {
        let out = lazymm(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--window \"1us\": validated on ctxsw only, not exec-storm"),
            "{err}"
        );
    }
}

#[test]
fn malformed_window_is_refused() {
    let out = lazymm(&["sim", "--window", "2 furlongs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--window \"2 furlongs\""));
}
