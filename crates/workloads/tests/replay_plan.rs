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

fn wakeup(task: (&str, u32), target_cpu: u32) -> EventKind {
    EventKind::Wakeup {
        which: lazymm_trace::WakeKind::Wakeup,
        task: t(task.0, task.1),
        prio: 120,
        target_cpu,
    }
}

fn flush_on_switch() -> EventKind {
    EventKind::TlbFlush {
        reason: 0,
        pages: -1,
    }
}

fn drain(
    p: &mut Planner<impl Iterator<Item = Result<Event, String>>>,
    cpu: usize,
) -> Vec<lazymm_workloads::drivers::replay::plan::Step> {
    let mut v = vec![];
    while let Some(s) = p.pop(cpu) {
        v.push(s);
    }
    v
}

/// The guest kernels here trace no `sched_switch` out of the idle task on CPUs other than 0
/// (traces/README.md): a task's line on a CPU the trace left idle shows the switch. It is
/// inferred at the task's wakeup to that CPU (line 3: later than the CPU's previous line 2,
/// earlier than the line 5 that shows it), waits for the task's switch out on CPU 0, and the
/// task's own switch out (line 6) then fits.
#[test]
fn switch_out_of_idle_the_trace_lacks_is_inferred_at_the_wakeup() {
    let (a, b, idle) = (("a", 10), ("b", 11), ("swapper", 0));
    let evs = vec![
        ev(1, 0, a, sw(a, "S", idle)),
        ev(2, 1, b, sw(b, "S", idle)),
        ev(3, 0, idle, wakeup(a, 1)),
        ev(4, 0, idle, wakeup(b, 0)),
        ev(5, 1, a, flush_on_switch()),
        ev(6, 1, a, sw(a, "S", idle)),
    ];
    let mut p = Planner::new(evs.into_iter(), 2);
    while p.pump() {}
    assert!(p.error.is_none());
    assert_eq!((p.inferred_from_idle, p.inferred_other), (1, 0));
    let c1 = drain(&mut p, 1);
    let kinds: Vec<_> = c1.iter().map(|s| (s.line, s.ts, s.dep, &s.kind)).collect();
    assert_eq!(c1.len(), 3, "{kinds:?}");
    // Uids: a is 0, b is 1 (first sight order); the idle task is tasks::IDLE.
    let idle_uid = lazymm_workloads::drivers::replay::tasks::IDLE;
    assert_eq!(
        c1[1].kind,
        StepKind::Switch {
            prev: idle_uid,
            next: 0,
            exit: false
        }
    );
    assert_eq!((c1[1].line, c1[1].ts, c1[1].dep), (5, 2000, Some((0, 0))));
    assert_eq!(
        c1[2].kind,
        StepKind::Switch {
            prev: 0,
            next: idle_uid,
            exit: false
        }
    );
}

/// `context_switch` traces `sched_switch`, then `switch_mm_irqs_off`'s `tlb_flush` "flush on
/// task switch" with prev still current: no switch is inferred from that line, not even when
/// prev has just exited (its pid names no live task: no task is made up for it).
#[test]
fn flush_on_task_switch_after_an_exit_is_part_of_the_switch() {
    let (a, b) = (("a", 10), ("b", 11));
    let evs = vec![
        ev(
            1,
            0,
            a,
            EventKind::Exit {
                task: t("a", 10),
                prio: 120,
            },
        ),
        ev(2, 0, a, sw(a, "Z", b)),
        ev(3, 0, a, flush_on_switch()),
        ev(4, 0, b, sw(b, "R", a)),
    ];
    let mut p = Planner::new(evs.into_iter(), 1);
    while p.pump() {}
    assert_eq!((p.inferred_from_idle, p.inferred_other), (0, 0));
    let c0 = drain(&mut p, 0);
    assert_eq!(c0.len(), 2);
    assert!(matches!(c0[0].kind, StepKind::Switch { exit: true, .. }));
    // Line 4's `a` is a new task (the pid was free again): uid 2, not one made up at line 3.
    assert_eq!(
        c0[1].kind,
        StepKind::Switch {
            prev: 1,
            next: 2,
            exit: false
        }
    );
}

/// A CPU whose first line shows a task forked earlier in the trace was idle when the trace
/// started (the 6.18.44-fc guests do not trace the switch out of idle): it is not placed in
/// that task at setup, and the switch in is inferred after the fork it depends on.
#[test]
fn forked_task_on_a_cpu_s_first_line_is_switched_in_after_its_fork() {
    let (p, c, idle) = (("p", 10), ("c", 11), ("swapper", 0));
    let evs = vec![
        ev(
            1,
            0,
            p,
            EventKind::Fork {
                parent: t("p", 10),
                child: t("c", 11),
            },
        ),
        ev(2, 0, p, wakeup(c, 1)),
        ev(3, 1, c, flush_on_switch()),
        ev(4, 1, c, sw(c, "S", idle)),
    ];
    let mut p = Planner::new(evs.into_iter(), 2);
    while p.pump() {}
    let idle_uid = lazymm_workloads::drivers::replay::tasks::IDLE;
    assert_eq!(p.resolve_initial(1), Some(idle_uid), "CPU 1 starts idle");
    assert_eq!((p.inferred_from_idle, p.inferred_other), (1, 0));
    let c1 = drain(&mut p, 1);
    // Uids: p is 0, c is 1. The inferred switch waits for the fork (CPU 0's step 0) and is
    // placed at c's wakeup to CPU 1 (line 2).
    assert_eq!(
        (c1[0].line, c1[0].ts, c1[0].dep, &c1[0].kind),
        (
            3,
            1000,
            Some((0, 0)),
            &StepKind::Switch {
                prev: idle_uid,
                next: 1,
                exit: false
            }
        )
    );
    assert_eq!(c1.len(), 2);
}
