//! `TRACEPOINTS` is the one list of what lazymm records and reads: every event kind renders
//! to a listed name, and the field parser knows every listed name (and nothing else).

use lazymm_trace::fields::{parse, Fields};
use lazymm_trace::render::name;
use lazymm_trace::{EventKind, TaskName, WakeKind, TRACEPOINTS};

/// One event of each kind (and each wakeup flavour).
fn one_of_each() -> Vec<EventKind> {
    let t = || TaskName::new("a", 1);
    let wake = |which| EventKind::Wakeup {
        which,
        task: t(),
        prio: 120,
        target_cpu: 0,
    };
    vec![
        EventKind::switch(t(), "S", t()),
        wake(WakeKind::Wakeup),
        wake(WakeKind::WakeupNew),
        wake(WakeKind::Waking),
        EventKind::Fork {
            parent: t(),
            child: t(),
        },
        EventKind::Exec {
            filename: "/bin/true".into(),
            pid: 1,
            old_pid: 1,
        },
        EventKind::Exit {
            task: t(),
            prio: 120,
        },
        EventKind::Free {
            task: t(),
            prio: 120,
        },
        EventKind::TlbFlush {
            pages: -1,
            reason: 4,
        },
    ]
}

#[test]
fn every_event_kind_is_a_listed_tracepoint_and_every_listed_one_is_parsed() {
    let names: Vec<&str> = TRACEPOINTS.iter().map(|(_, e)| *e).collect();
    let rendered: Vec<&str> = one_of_each().iter().map(name).collect();
    let mut a = names.clone();
    let mut b = rendered.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "TRACEPOINTS vs render::name");
    for n in names {
        // Empty fields do not parse, but a known tracepoint says what form it wants.
        assert!(matches!(parse(n, "", false), Fields::Bad(_)), "{n}");
    }
    assert!(matches!(
        parse("sched_stat_runtime", "", false),
        Fields::Other
    ));
}
