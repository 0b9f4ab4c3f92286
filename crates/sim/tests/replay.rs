//! The replay driver on the toy profile (tests/data/toy-machine.toml, x86): hand-written
//! traces as `Event` lists and as ftrace text, with counts derived from the kernel paths as
//! modelled (`crates/model/src/sched.rs`, `exit.rs`, `exec.rs`, `schemes/refcount.rs`).
//!
//! Each CPU's task at trace start is placed at setup (boot context, not counted), so the
//! measured counts are the trace's own steps.

use lazymm_model::era;
use lazymm_trace::{Event, EventKind};

mod replay_common;
mod replay_events;

use replay_common::{replay, toy};
use replay_events::{clean_x86, ev, numbered, sw, t};

const BASH: (&str, u32) = ("bash", 100);
const APP: (&str, u32) = ("app", 200);
const APP_T: (&str, u32) = ("app", 201);
const CHILD: (&str, u32) = ("app", 202);
const TRUE: (&str, u32) = ("true", 202);
const KW: (&str, u32) = ("kworker/1:0", 30);
const IDLE0: (&str, u32) = ("swapper/0", 0);
const IDLE1: (&str, u32) = ("swapper/1", 0);

/// Two CPUs; bash (alive at start) on CPU 0; app (tgid 200) forks a thread 201 on CPU 1,
/// which runs on CPU 0, then migrates back to CPU 1 and forks a process 202, which execs
/// /bin/true and exits; a kworker (by name) and the idle tasks.
fn mixed() -> Vec<Event> {
    numbered(vec![
        ev(0, 0, BASH, Some(100), sw(BASH, "S", IDLE0)),
        ev(0, 1, IDLE1, None, sw(IDLE1, "R", APP)),
        ev(
            10,
            1,
            APP,
            Some(200),
            EventKind::Fork {
                parent: t(APP.0, APP.1),
                child: t(APP_T.0, APP_T.1),
            },
        ),
        ev(20, 1, APP, Some(200), sw(APP, "S", KW)),
        ev(30, 0, IDLE0, None, sw(IDLE0, "R", APP_T)),
        ev(40, 0, APP_T, Some(200), sw(APP_T, "S", IDLE0)),
        ev(50, 1, KW, Some(30), sw(KW, "I", APP_T)),
        ev(
            60,
            1,
            APP_T,
            Some(200),
            EventKind::Fork {
                parent: t(APP_T.0, APP_T.1),
                child: t(CHILD.0, CHILD.1),
            },
        ),
        ev(70, 1, APP_T, Some(200), sw(APP_T, "S", CHILD)),
        ev(
            80,
            1,
            CHILD,
            Some(202),
            EventKind::Exec {
                filename: "/bin/true".into(),
                pid: 202,
                old_pid: 202,
            },
        ),
        ev(
            90,
            1,
            TRUE,
            Some(202),
            EventKind::Exit {
                task: t(TRUE.0, TRUE.1),
                prio: 120,
            },
        ),
        ev(100, 1, TRUE, Some(202), sw(TRUE, "X", IDLE1)),
    ])
}

/// The mixed trace, every clean x86 variant: the 8 sched_switch lines are the measured
/// context switches (bash's placement on CPU 0 is setup); one exit; one exec; forks:
/// one thread (201: its tgid 200 is app's), one process (202); tasks alive at start: bash
/// and app (processes), the kworker (by name). Lazy switches (user → kthread or idle):
/// bash→idle, app→kworker, 201→idle = 3. IPIs: none — /bin/true's mm (the exec's) and the
/// forked copy were only ever on CPU 1, so exit_mmap's flush finds no other CPU in
/// mm_cpumask, and no CPU is lazy on them elsewhere.
#[test]
fn mixed_trace_switches_forks_exec_exit_on_every_scheme() {
    for v in clean_x86() {
        let Some((r, st)) = replay(v, &mixed()) else {
            continue;
        };
        let n = v.name;
        assert_eq!(r.context_switches, 8, "{n}");
        assert_eq!(st.switches, 8, "{n}");
        assert_eq!(st.placed, 1, "{n}");
        assert_eq!(st.exits, 1, "{n}");
        assert_eq!(st.execs, 1, "{n}");
        assert_eq!(
            (st.forked_threads, st.forked_processes, st.forked_kthreads),
            (1, 1, 0),
            "{n}"
        );
        assert_eq!((st.initial_processes, st.initial_kthreads), (2, 1), "{n}");
        assert_eq!(st.kthreads_by_name, 1, "{n}");
        assert_eq!(st.lazy_switches, 3, "{n}");
        assert_eq!((st.mismatches, st.not_applied), (0, 0), "{n}");
        assert_eq!(r.counters.lazy_ipis + r.counters.flush_ipis, 0, "{n}");
    }
}

/// R (refcount) on the mixed trace: mm_count RMWs, each from refcount.rs's GRAB on a
/// user → kernel switch (context_switch: mmgrab_lazy_tlb(prev->active_mm)) or DROP of
/// rq->prev_mm after a kernel → user switch (finish_task_switch), plus __mmput's mmdrop and
/// exit_mm's grab:
///   bash→idle grab(bash) 1; CPU 1 idle→app drop(init_mm) 1; app→kworker grab(app) 1;
///   CPU 0 idle→201 drop(bash) 1; 201→idle grab(app) 1; kworker→201 drop(app) 1;
///   201→202 user→user 0; exec: mmput(forked copy) → __mmput → mmdrop 1;
///   exit of 202: exit_mm grab 1 + mmput → __mmput → mmdrop 1; final switch: prev->mm is
///   NULL after exit_mm, so no grab.                                       = 9
/// /bin/true's mm is then held only by CPU 1's idle (the exit_mm reference): pending until
/// CPU 1 next runs a user task, which the trace never does: 2 mms reached mm_users 0 (the
/// forked copy, freed at once; /bin/true's), 1 freed.
#[test]
fn mixed_trace_refcount_counts_derived_from_the_paths() {
    let (r, _) = replay(era::variant("refcount").expect("refcount"), &mixed()).expect("x86");
    assert_eq!(r.counters.mm_count_rmw, 9);
    assert_eq!(r.free_latency.exited, 2);
    assert_eq!(r.free_latency.freed, 1);
    assert_eq!(r.peak_pending_free, 1);
}

const P0: (&str, u32) = ("par", 300);
const P1: (&str, u32) = ("par", 301);

/// A process with threads 300 (CPU 0) and 301 (CPU 1), both running at trace start. 301
/// exits first (CPU 1 idles, lazy on the mm: still in its mm_cpumask), then 300, the last
/// user: __mmput → exit_mmap's flush with freed tables → native_flush_tlb_multi IPIs the
/// mask's other CPU: 1 flush IPI, in every x86 scheme (as wide-exit with N = 2).
/// R: each exit_mm grabs (2) and the last mmput's __mmput drops the users' reference (1) = 3;
/// the mm then stays pinned by both idle tasks' lazy references: pending, not freed.
fn two_thread_exit() -> Vec<Event> {
    let exit = |p: (&str, u32)| EventKind::Exit {
        task: t(p.0, p.1),
        prio: 120,
    };
    numbered(vec![
        ev(
            5,
            0,
            P0,
            Some(300),
            EventKind::Wakeup {
                which: lazymm_trace::WakeKind::Waking,
                task: t("x", 7),
                prio: 120,
                target_cpu: 0,
            },
        ),
        ev(6, 1, P1, Some(300), exit(P1)),
        ev(10, 1, P1, Some(300), sw(P1, "X", IDLE1)),
        ev(20, 0, P0, Some(300), exit(P0)),
        ev(21, 0, P0, Some(300), sw(P0, "X", IDLE0)),
    ])
}

#[test]
fn last_thread_exit_ipis_the_cpu_lazy_on_the_mm() {
    for v in clean_x86() {
        let Some((r, st)) = replay(v, &two_thread_exit()) else {
            continue;
        };
        let n = v.name;
        assert_eq!(st.placed, 2, "{n}");
        assert_eq!((st.initial_processes, st.initial_threads), (1, 1), "{n}");
        assert_eq!(r.context_switches, 2, "{n}");
        assert_eq!(st.exits, 2, "{n}");
        assert_eq!(r.counters.flush_ipis, 1, "{n}");
        if n == "refcount" {
            assert_eq!(r.counters.mm_count_rmw, 3);
            assert_eq!((r.free_latency.exited, r.free_latency.freed), (1, 0));
        }
    }
}

/// A task that migrates: 201 is switched out on CPU 1 and in on CPU 0 at the same trace
/// time, the switch in listed after the switch out. Were CPU 0 to run its switch first, the
/// model's schedule() would find 201 still running on CPU 1 and fail (not applied); the
/// dependency makes CPU 0 wait for CPU 1's switch, so every switch applies.
#[test]
fn migrating_task_runs_on_its_new_cpu_only_after_the_old_one_switched_it_out() {
    let evs = numbered(vec![
        ev(0, 1, APP_T, Some(200), sw(APP_T, "R+", IDLE1)),
        ev(0, 0, IDLE0, None, sw(IDLE0, "R", APP_T)),
        ev(5, 0, APP_T, Some(200), sw(APP_T, "S", IDLE0)),
    ]);
    for v in clean_x86() {
        let Some((r, st)) = replay(v, &evs) else {
            continue;
        };
        assert_eq!(r.context_switches, 3, "{}", v.name);
        assert_eq!((st.mismatches, st.not_applied), (0, 0), "{}", v.name);
    }
}

/// The mixed trace as ftrace text (tests/data/replay_mixed.ftrace, record-tgid layout):
/// the parser gives the same events, and R counts the same 9 mm_count RMWs.
#[test]
fn ftrace_text_of_the_mixed_trace_replays_with_the_same_counts() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/replay_mixed.ftrace"
    );
    let p = lazymm_trace::open(std::path::Path::new(path), None, false).expect("opens");
    let parsed: Vec<Event> = p
        .map(|r| {
            let mut e = r.expect("parses");
            e.line = 0;
            e
        })
        .collect();
    let mut want = mixed();
    for e in &mut want {
        e.line = 0;
    }
    assert_eq!(parsed.len(), want.len());
    for (a, b) in parsed.iter().zip(&want) {
        assert_eq!(
            (a.ts_ns, a.cpu, &a.current, a.tgid),
            (b.ts_ns, b.cpu, &b.current, b.tgid)
        );
        assert_eq!(a.kind, b.kind);
    }
    let (r, st) = replay(era::variant("refcount").expect("refcount"), &parsed).expect("x86");
    assert_eq!((r.context_switches, st.exits, st.execs), (8, 1, 1));
    assert_eq!(r.counters.mm_count_rmw, 9);
}

/// A trace without tgids (trace-cmd report, perf script's default header): a forked child
/// is a thread unless it execs within the look-ahead. P forks 401 (never execs: a thread of
/// P) and 402 (execs /bin/true, exits: a process).
#[test]
fn without_tgids_a_child_that_execs_is_a_process_and_one_that_does_not_a_thread() {
    let (p, a, b) = (("p", 400), ("p", 401), ("p", 402));
    let fork = |c: (&str, u32)| EventKind::Fork {
        parent: t(p.0, p.1),
        child: t(c.0, c.1),
    };
    let evs = numbered(vec![
        ev(10, 0, p, None, fork(a)),
        ev(20, 0, p, None, fork(b)),
        ev(30, 0, p, None, sw(p, "S", a)),
        ev(40, 0, a, None, sw(a, "S", b)),
        ev(
            50,
            0,
            b,
            None,
            EventKind::Exec {
                filename: "/bin/true".into(),
                pid: 402,
                old_pid: 402,
            },
        ),
        ev(
            60,
            0,
            ("true", 402),
            None,
            EventKind::Exit {
                task: t("true", 402),
                prio: 120,
            },
        ),
        ev(70, 0, ("true", 402), None, sw(("true", 402), "Z", p)),
    ]);
    for v in clean_x86() {
        let Some((r, st)) = replay(v, &evs) else {
            continue;
        };
        let n = v.name;
        assert_eq!(st.forks_by_exec_rule, 2, "{n}");
        assert_eq!((st.forked_threads, st.forked_processes), (1, 1), "{n}");
        assert_eq!((r.context_switches, st.exits, st.execs), (3, 1, 1), "{n}");
        assert_eq!((st.mismatches, st.not_applied), (0, 0), "{n}");
    }
}

/// `lazymm replay`'s lazy-mm cost (`LazyCost`) on the two-thread exit, R on the toy machine
/// (CPUs 0 and 1 are SMT siblings: a line transfer between them is 10 ns). Setup's accesses
/// are not priced, so a line's first access in the trace is a first touch (free).
/// - Stalls on lazy-state lines: `mm_count` only — CPU 1's exit_mm grab touches it first
///   (free), CPU 0's exit_mm grab takes it from CPU 1 (10 ns), CPU 0's `__mmput` mmdrop
///   finds it owned (0). R has no `lazy_mm`/hazard slots; `mm_cpumask` is only read, by CPU
///   0's exit flush, a first touch (0).                                            = 10 ns
/// - Scheme barriers: R adds no `smp_mb()`.                                        = 0
/// - IPI time: the one flush IPI (CPU 0's exit_mmap flush to CPU 1, idle and lazy in the
///   mask): send 70 + handler 200, and CPU 0's `csd_lock_wait`, which spans at least the
///   delivery (1000), CPU 1's exit from its non-polling idle state (2000) and the handler
///   (200) — its handler work and the csd line transfers come on top (read from the run).
/// - IPIs per exit: 1 flush IPI over 2 exits = 0.5. Time share: over 2 CPUs × the trace's
///   16 µs (first line at 5 µs, last at 21 µs).
#[test]
fn replay_lazy_cost_of_the_two_thread_exit_under_refcount() {
    let v = era::variant("refcount").unwrap();
    let (r, st) = replay(v, &two_thread_exit()).unwrap();
    let total = r.per_switch_ns.per(1.0 / r.context_switches as f64);
    let wait = total.ipi_wait;
    assert!(wait >= 1000.0 + 2000.0 + 200.0, "{wait}");
    let span = 2.0 * 16_000.0;
    let c = lazymm_sim::LazyCost::of(&r, toy().coherence.fence.get(), span, st.exits);
    let want = 10.0 + 0.0 + (70.0 + wait + 200.0);
    assert!((c.lazy_ns - want).abs() < 1e-9, "{} vs {want}", c.lazy_ns);
    assert!((c.time_share - want / span).abs() < 1e-15);
    assert_eq!(c.ipis_per_exit, 0.5);
}

/// The same under MD (+fixes): its scheme barriers and lazy IPIs are in the lazy-mm time.
/// Barriers (schemes/hazard_md.rs): each exit_mm goes lazy (`mmgrab_lazy_tlb`: `smp_mb()`,
/// then the slot store) on CPUs 1 and 0, and `__mmdrop`'s `hp_scan` (CPU 0: the last
/// user's `__mmput` drops the last reference) issues one more; `do_shoot_lazy_tlb` clears a
/// slot with no barrier: 3 × fence 30 = 90 ns. The scan finds both slots holding the mm:
/// CPU 0's own is shot by a direct call (smp_call_function_single on the calling CPU sends
/// no IPI), CPU 1's by two synchronous calls (shoot, check) = 2 lazy IPIs, beside the exit
/// flush's 1: IPIs per exit 3 / 2 = 1.5; sends 3 × 70, handlers 3 × 200.
#[test]
fn replay_lazy_cost_counts_md_barriers_and_lazy_ipis() {
    let v = era::variant("hazard-md+fixes").unwrap();
    let (r, st) = replay(v, &two_thread_exit()).unwrap();
    assert_eq!(r.counters.scheme_barriers, 3);
    assert_eq!((r.counters.lazy_ipis, r.counters.flush_ipis), (2, 1));
    let total = r.per_switch_ns.per(1.0 / r.context_switches as f64);
    assert!((total.ipi_send - 210.0).abs() < 1e-9 && (total.ipi_handler - 600.0).abs() < 1e-9);
    let stalls: f64 = ["mm_count", "mm_cpumask", "rq_lazy_mm", "hp_slot"]
        .iter()
        .filter_map(|k| total.coherence.get(k))
        .sum();
    let c = lazymm_sim::LazyCost::of(&r, toy().coherence.fence.get(), 32_000.0, st.exits);
    let want = stalls + 90.0 + 210.0 + total.ipi_wait + 600.0;
    assert!((c.lazy_ns - want).abs() < 1e-9, "{} vs {want}", c.lazy_ns);
    assert_eq!(c.ipis_per_exit, 1.5);
}
