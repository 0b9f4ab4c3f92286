//! The main job's command lines and its atomic report directory.

use super::*;
use crate::sweep_cmd::grid;
use clap::Parser;

#[test]
fn each_sweep_command_parses_back_to_the_same_grid() {
    for a in default_sweeps() {
        let cmd = sweep_command(&a);
        let words: Vec<&str> = cmd.split_whitespace().collect();
        assert_eq!(words[0], "lazymm");
        let cli = crate::Cli::try_parse_from(&words).expect("the command parses");
        let Some(crate::Cmd::Sweep(b)) = cli.cmd else {
            panic!("{cmd} is not a sweep");
        };
        let (ga, gb) = (grid(&a).unwrap(), grid(&b).unwrap());
        assert_eq!(ga.len(), gb.len(), "{cmd}");
        for (x, y) in ga.iter().zip(&gb) {
            assert_eq!(
                (
                    &x.workload,
                    x.variant.name,
                    &x.profile.name,
                    x.cpus,
                    x.threads
                ),
                (
                    &y.workload,
                    y.variant.name,
                    &y.profile.name,
                    y.cpus,
                    y.threads
                )
            );
            assert_eq!(x.cfg.switches, y.cfg.switches, "{cmd}");
            assert_eq!(x.cfg.warmup_switches, y.cfg.warmup_switches, "{cmd}");
        }
    }
}

#[test]
fn write_dir_replaces_an_existing_report_and_leaves_no_temporary() {
    let base = std::env::temp_dir().join(format!("lazymm-verdict-test-{}", std::process::id()));
    std::fs::create_dir_all(&base).unwrap();
    let out = base.join("report");
    write_dir(&out, &[("a.txt".into(), "one".into())]).unwrap();
    write_dir(
        &out,
        &[
            ("index.html".into(), "two".into()),
            ("charts/x.svg".into(), "<svg/>".into()),
        ],
    )
    .unwrap();
    assert!(!out.join("a.txt").exists(), "the old report is gone");
    assert_eq!(
        std::fs::read_to_string(out.join("index.html")).unwrap(),
        "two"
    );
    assert!(out.join("charts/x.svg").exists());
    let left: Vec<_> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("report")]);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn the_main_job_takes_its_options_without_a_subcommand() {
    let cli = crate::Cli::try_parse_from(["lazymm", "--quiet", "--out", "r"]).unwrap();
    assert!(cli.cmd.is_none());
    assert!(cli.verdict.quiet && !cli.verdict.json);
    assert_eq!(cli.verdict.out, PathBuf::from("r"));
    let cli = crate::Cli::try_parse_from(["lazymm", "verdict", "--json"]).unwrap();
    assert!(matches!(cli.cmd, Some(crate::Cmd::Verdict(ref a)) if a.json));
    assert!(crate::Cli::try_parse_from(["lazymm", "--quiet", "scenario", "--all"]).is_err());
}
