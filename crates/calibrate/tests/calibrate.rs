//! Quick calibration runs: every benchmark gives a sane summary; errors are values.

use std::sync::Mutex;

use lazymm_calibrate::{
    calibrate, choose_cpus, parse_cpu_list, real_ctxsw, write_atomically, Bind, CalibrateError,
    Options,
};

/// The benchmarks spin on both CPUs: run them one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn quick_calibration_gives_ordered_finite_positive_summaries() {
    let _g = serial();
    let cal = calibrate(&Options {
        quick: true,
        cpus: None,
    })
    .expect("quick calibration");
    assert_ne!(cal.cpus.0, cal.cpus.1);
    // One quick same-CPU ping-pong per allowed CPU, at most SPREAD_CPUS evenly spaced.
    let allowed = lazymm_calibrate::allowed_cpus().unwrap();
    let step = allowed.len().div_ceil(lazymm_calibrate::SPREAD_CPUS).max(1);
    let by_cpu: Vec<usize> = cal.ctxsw_same_cpu_by_cpu.iter().map(|&(c, _)| c).collect();
    assert_eq!(
        by_cpu,
        allowed.iter().copied().step_by(step).collect::<Vec<_>>()
    );
    assert!(cal.ctxsw_same_cpu_by_cpu.iter().all(|&(_, ns)| ns > 0.0));
    assert_eq!(cal.same_cpu_spread().is_some(), allowed.len() >= 2);
    assert!(cal.host.contains("CPUs"), "{}", cal.host);
    assert_eq!(cal.membarrier.is_none(), cal.membarrier_note.is_some());
    let all = cal.measurements();
    assert!(all.len() >= 7, "{} measurements", all.len());
    for m in all {
        assert!(m.value_ns.is_finite() && m.value_ns > 0.0, "{m}");
        assert!(m.p10_ns <= m.value_ns && m.value_ns <= m.p90_ns, "{m}");
        assert!(
            m.samples > 0 && !m.method.is_empty() && !m.method.contains('\n'),
            "{m}"
        );
    }
}

#[test]
fn real_ctxsw_counts_round_trips() {
    let _g = serial();
    for (pairs, bind) in [(1, Bind::Pu), (2, Bind::Core)] {
        let r = real_ctxsw(pairs, bind, 0.2).expect("real_ctxsw");
        assert_eq!((r.pairs, r.bind, r.masks.len()), (pairs, bind, pairs));
        assert!(r.round_trips_per_sec > 0.0 && r.seconds > 0.0, "{r:?}");
        assert_eq!(r.switches_per_sec, 2.0 * r.round_trips_per_sec);
    }
}

#[test]
fn bad_cpus_and_arguments_are_errors_not_panics() {
    let e = calibrate(&Options {
        quick: true,
        cpus: Some((0, 9999)),
    })
    .unwrap_err();
    assert!(
        matches!(e, CalibrateError::InvalidCpu { cpu: 9999, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("CPU 9999"), "{e}");
    let e = choose_cpus(&Options {
        quick: true,
        cpus: Some((0, 0)),
    })
    .unwrap_err();
    assert!(e.to_string().contains("must differ"), "{e}");
    assert!(real_ctxsw(0, Bind::Pu, 1.0).is_err());
    assert!(real_ctxsw(1, Bind::Pu, f64::NAN).is_err());
}

#[test]
fn cpu_lists_parse() {
    assert_eq!(
        parse_cpu_list("0-3,8,10-11"),
        Some(vec![0, 1, 2, 3, 8, 10, 11])
    );
    assert_eq!(parse_cpu_list("1\n"), Some(vec![1]));
    assert_eq!(parse_cpu_list("3-1"), None);
    assert_eq!(parse_cpu_list("x"), None);
}

#[test]
fn write_atomically_replaces_and_leaves_no_temp_file() {
    let dir = std::env::temp_dir().join(format!("lazymm-calibrate-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("profile.toml");
    write_atomically(&path, "old\n").unwrap();
    write_atomically(&path, "new content\n").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new content\n");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("profile.toml")]);
    let err = write_atomically(&dir.join("missing/sub/file"), "x").unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
