//! The replay planner (`drivers::replay::plan`): which step each trace event becomes and
//! which earlier step it waits for.

use lazymm_trace::{Event, EventKind, TaskName};
use lazymm_workloads::drivers::replay::plan::{Planner, StepKind};

fn t(comm: &str, pid: u32) -> TaskName {
    TaskName::new(comm, pid)
}

fn ev(line: u64, cpu: u32, cur: (&str, u32), kind: EventKind) -> Result<Event, String> {
    Ok(Event {
        line,
        ts_ns: line * 1000,
        cpu,
        current: t(cur.0, cur.1),
        tgid: Some(cur.1),
        kind,
    })
}

fn sw(prev: (&str, u32), state: &str, next: (&str, u32)) -> EventKind {
    EventKind::switch(t(prev.0, prev.1), state, t(next.0, next.1))
}

/// A switch in depends on the task's last switch out (on any CPU), a forked child's
/// first switch in on its fork; the exit's final switch is marked.
#[test]
fn dependencies_point_at_the_last_switch_out_or_the_fork() {
    let (a, b, idle) = (("a", 10), ("b", 11), ("swapper", 0));
    let evs = vec![
        ev(1, 0, a, sw(a, "S", idle)),
        ev(
            2,
            1,
            b,
            EventKind::Fork {
                parent: t("b", 11),
                child: t("c", 12),
            },
        ),
        ev(3, 1, b, sw(b, "S", a)),
        ev(4, 0, idle, sw(idle, "R", ("c", 12))),
        ev(
            5,
            0,
            ("c", 12),
            EventKind::Exit {
                task: t("c", 12),
                prio: 120,
            },
        ),
        ev(6, 0, ("c", 12), sw(("c", 12), "X", idle)),
    ];
    let mut p = Planner::new(evs.into_iter(), 2);
    while p.pump() {}
    assert!(p.error.is_none());
    let deps = |p: &mut Planner<_>, cpu| {
        let mut v = vec![];
        while let Some(s) = p.pop(cpu) {
            v.push((s.line, s.dep, s.kind));
        }
        v
    };
    let c1 = deps(&mut p, 1);
    assert_eq!(c1[0].1, None, "fork");
    assert_eq!(
        c1[1].1,
        Some((0, 0)),
        "a switched in on 1 after its switch out on 0"
    );
    let c0 = deps(&mut p, 0);
    assert_eq!(
        c0[1].1,
        Some((1, 0)),
        "the child runs after its fork on cpu 1"
    );
    assert!(matches!(c0[2].2, StepKind::Switch { exit: true, .. }));
    assert_eq!(p.queued(), 0);
}
