//! Reused pids in a replayed trace: a pid that a fork hands out again after its task exited
//! names a new task (a new process, or a new thread of whichever process forked it), never
//! the dead one. The kernel frees a pid in `release_task`, which for an autoreaped task (a
//! thread, or a child whose parent ignores SIGCHLD) runs inside `do_exit` (`exit_notify`),
//! and for a zombie when its parent reaps it — possibly on another CPU — so a fork may reuse
//! the pid before the exiting task's final `schedule()` is traced. Counts are derived from
//! the events as the kernel runs them, on every clean x86 variant, and the scan pass must
//! agree with what the replay played.

use lazymm_sim::SimReport;
use lazymm_trace::{Event, EventKind};
use lazymm_workloads::drivers::replay::scan::{scan, Scan};
use lazymm_workloads::drivers::replay::ReplayStats;

mod replay_common;
mod replay_events;

use replay_common::replay;
use replay_events::{clean_x86, ev, numbered, sw, t};

fn fork(parent: (&str, u32), child: (&str, u32)) -> EventKind {
    EventKind::Fork {
        parent: t(parent.0, parent.1),
        child: t(child.0, child.1),
    }
}

fn exit(task: (&str, u32)) -> EventKind {
    EventKind::Exit {
        task: t(task.0, task.1),
        prio: 120,
    }
}

fn exec(pid: u32) -> EventKind {
    EventKind::Exec {
        filename: "/bin/true".into(),
        pid,
        old_pid: pid,
    }
}

/// The same trace as `trace-cmd report` or `perf script` without tgids would give it.
fn without_tgids(evs: &[Event]) -> Vec<Event> {
    evs.iter()
        .cloned()
        .map(|mut e| {
            e.tgid = None;
            e
        })
        .collect()
}

/// Replays `evs` on every clean x86 variant (each with no violation: `replay` checks) and
/// checks that the scan's counts are what the replay played: every sched_switch line is a
/// switch played, every exec an exec, every sched_process_exit an exit (each exit in these
/// traces has its final switch), and the scan's task incarnations, processes and kernel
/// threads are the tasks the replay created (at trace start or at a fork). Returns the scan
/// and each variant's report and statistics.
fn replay_all(evs: &[Event]) -> (Scan, Vec<(&'static str, SimReport, ReplayStats)>) {
    let sc = scan(evs.iter().cloned().map(Ok)).expect("scan");
    let mut out = Vec::new();
    for v in clean_x86() {
        let Some((r, st)) = replay(v, evs) else {
            continue;
        };
        let n = v.name;
        assert_eq!(st.switches, sc.events.switch, "{n}: switches");
        assert_eq!(st.execs, sc.events.exec, "{n}: execs");
        assert_eq!(st.exits, sc.events.exit, "{n}: exits");
        let (forked, initial) = (
            st.forked_processes + st.forked_threads + st.forked_kthreads,
            st.initial_processes + st.initial_threads + st.initial_kthreads,
        );
        assert_eq!(forked, sc.events.fork, "{n}: forks");
        assert_eq!(forked + initial, sc.tasks, "{n}: tasks");
        assert_eq!(
            st.forked_processes + st.initial_processes,
            sc.processes,
            "{n}: processes"
        );
        assert_eq!(
            st.forked_kthreads + st.initial_kthreads,
            sc.kthreads,
            "{n}: kthreads"
        );
        // No line is lost: each switch's prev is what its CPU runs, each switch in finds
        // its task off every other CPU, and the scan's tables hold every task.
        assert_eq!((st.mismatches, st.not_applied), (0, 0), "{n}");
        assert_eq!(st.create_failed, 0, "{n}");
        out.push((n, r, st));
    }
    // Clean on x86: R, L, H, H-x86, MD (S is not ported to x86; S-ppc cannot run there).
    assert_eq!(out.len(), 5, "the clean x86 variants ran");
    (sc, out)
}

const A: (&str, u32) = ("a", 100);
const SH: (&str, u32) = ("sh", 50);
const B: (&str, u32) = ("b", 100);
const TRUE: (&str, u32) = ("true", 100);
const IDLE0: (&str, u32) = ("swapper/0", 0);
const IDLE1: (&str, u32) = ("swapper/1", 0);

/// Process a (pid 100, alive at trace start on CPU 0) exits; then sh (pid 50, on CPU 1)
/// forks a child that gets pid 100 again (comm `b`: a new program, as after a pid wrap),
/// which runs on CPU 0, execs /bin/true and exits. `reap_first`: a's pid is released before
/// its final switch is traced (the fork comes between a's sched_process_exit and its final
/// switch), else the fork comes after a's final switch and sched_process_free.
fn reuse_after_exit(reap_first: bool) -> Vec<Event> {
    let a_dies = vec![
        ev(0, 0, A, Some(100), exit(A)),
        ev(15, 0, A, Some(100), sw(A, "X", IDLE0)),
        ev(
            16,
            0,
            IDLE0,
            None,
            EventKind::Free {
                task: t(A.0, A.1),
                prio: 120,
            },
        ),
    ];
    let sh_forks = ev(10, 1, SH, Some(50), fork(SH, B));
    let mut evs = if reap_first {
        vec![a_dies[0].clone(), sh_forks, a_dies[1].clone()]
    } else {
        let mut v = a_dies.clone();
        v.push(sh_forks);
        v
    };
    evs.extend([
        ev(20, 1, SH, Some(50), sw(SH, "S", IDLE1)),
        ev(30, 0, IDLE0, None, sw(IDLE0, "R", B)),
        ev(40, 0, B, Some(100), exec(100)),
        ev(50, 0, TRUE, Some(100), exit(TRUE)),
        ev(60, 0, TRUE, Some(100), sw(TRUE, "Z", IDLE0)),
    ]);
    numbered(evs)
}

/// The counts both orders of [`reuse_after_exit`] must give, with and without tgids:
/// - placed 2: CPU 0 starts in a (its first line's current), CPU 1 in sh;
/// - processes alive at start 2 (a: tgid 100 = pid; sh: tgid 50), none forked as threads;
/// - forked processes 1: the new pid 100 — with tgids its tgid (100, shown when it runs)
///   is not sh's (50); without, it execs (the exec rule) — a new mm (a copy of sh's), not
///   a's: a's mm is gone with a;
/// - switches 4 (the 4 sched_switch lines: a's final, sh → idle, idle → b, true's final),
///   all context switches (none switches to the task already running);
/// - exits 2: a's final switch (after its sched_process_exit), /bin/true's (pid 100's
///   second incarnation: a second exit, not a repeat of a's);
/// - execs 1 (b → /bin/true);
/// - lazy switches 1: sh → idle (the two exits leave a dead mm: not lazy);
/// - mms whose users reached 0: 3 — a's (its exit), b's fork copy of sh's mm (its exec's
///   mmput), /bin/true's (its exit);
/// - scan: 3 task incarnations (a, sh, the new pid 100), all 3 processes, no kthread; the
///   pid is reused, so the scan sees pid 100 twice as 2 tasks.
fn check_reuse_after_exit(evs: &[Event]) -> Scan {
    let (sc, runs) = replay_all(evs);
    assert_eq!((sc.tasks, sc.processes, sc.kthreads), (3, 3, 0));
    for (n, r, st) in runs {
        assert_eq!(st.placed, 2, "{n}");
        assert_eq!((st.initial_processes, st.initial_threads), (2, 0), "{n}");
        assert_eq!((st.forked_processes, st.forked_threads), (1, 0), "{n}");
        assert_eq!((st.switches, r.context_switches), (4, 4), "{n}");
        assert_eq!((st.exits, st.execs), (2, 1), "{n}");
        assert_eq!(st.lazy_switches, 1, "{n}");
        assert_eq!(r.free_latency.exited, 3, "{n}");
    }
    sc
}

#[test]
fn reused_pid_after_exit_is_a_new_process() {
    let evs = reuse_after_exit(false);
    for sc in [
        check_reuse_after_exit(&evs),
        check_reuse_after_exit(&without_tgids(&evs)),
    ] {
        // a (line 1) leaves at its final switch (line 2), before sh shows up (line 4) and
        // forks the new 100: at most 2 tasks at once.
        assert_eq!(sc.peak_live, 2);
    }
}

/// As above, but sh's fork takes pid 100 between a's sched_process_exit and a's final switch
/// (a was reaped first): that switch out of pid 100 on CPU 0 is still a's final one — the
/// new pid 100 has not run anywhere yet, and a is what CPU 0 runs.
#[test]
fn reused_pid_before_the_old_task_s_final_switch_still_ends_the_old_task() {
    let evs = reuse_after_exit(true);
    for sc in [
        check_reuse_after_exit(&evs),
        check_reuse_after_exit(&without_tgids(&evs)),
    ] {
        // a (line 1) lives until its final switch (line 3), after sh and the new 100 (line
        // 2): 3 tasks at once, as in the kernel (and the model) between the fork and a's
        // final switch.
        assert_eq!(sc.peak_live, 3);
    }
}

const P0: (&str, u32) = ("p", 300);
const P1: (&str, u32) = ("p", 301);

/// Process p (tgid 300) runs threads 300 (CPU 0) and 301 (CPU 1) at trace start. Thread 301
/// exits; then 300 forks a child that gets pid 301 again — a thread of p (its lines record
/// tgid 300) or, `process`, a new process (tgid 301) — which runs on CPU 1 and sleeps.
/// `reap_first`: the fork comes before old 301's final switch.
fn thread_reuse(reap_first: bool, process: bool) -> Vec<Event> {
    let g = if process { 301 } else { 300 };
    let old_exit = ev(0, 1, P1, Some(300), exit(P1));
    let old_final = ev(15, 1, P1, Some(300), sw(P1, "X", IDLE1));
    let p_forks = ev(10, 0, P0, Some(300), fork(P0, P1));
    let mut evs = if reap_first {
        vec![old_exit, p_forks, old_final]
    } else {
        vec![old_exit, old_final, p_forks]
    };
    evs.extend([
        ev(20, 0, P0, Some(300), sw(P0, "S", IDLE0)),
        ev(30, 1, IDLE1, None, sw(IDLE1, "R", P1)),
        ev(40, 1, P1, Some(g), sw(P1, "S", IDLE1)),
    ]);
    numbered(evs)
}

/// [`thread_reuse`], both orders, with tgids:
/// - placed 2 (300 on CPU 0, old 301 on CPU 1); alive at start: 1 process (300) and
///   1 thread (old 301: tgid 300 ≠ pid);
/// - the new 301: a thread (joins p's mm, which still has 300) when its tgid is 300, a new
///   process (a copy of p's mm) when it is 301 — never the dead thread;
/// - switches 4 (old 301's final, 300 → idle, idle → new 301, new 301 → idle); exits 1
///   (old 301's; its mm keeps 300);
/// - lazy switches 2: 300 → idle and new 301 → idle;
/// - no mm reached mm_users 0: p's mm keeps 300, the new 301 keeps its mm;
/// - scan: 3 incarnations, no kthread; processes: 300, and the new 301 if it leads its group.
#[test]
fn reused_pid_of_an_exited_thread_is_a_new_task_of_its_own_tgid() {
    for (reap_first, process) in [(false, false), (true, false), (false, true), (true, true)] {
        let (sc, runs) = replay_all(&thread_reuse(reap_first, process));
        let procs = 1 + process as u64;
        assert_eq!((sc.tasks, sc.processes, sc.kthreads), (3, procs, 0));
        for (n, r, st) in runs {
            let n = format!("{n} reap_first={reap_first} process={process}");
            assert_eq!(st.placed, 2, "{n}");
            assert_eq!((st.initial_processes, st.initial_threads), (1, 1), "{n}");
            let want = (process as u64, !process as u64);
            assert_eq!((st.forked_processes, st.forked_threads), want, "{n}");
            assert_eq!((st.switches, r.context_switches), (4, 4), "{n}");
            assert_eq!((st.exits, st.execs), (1, 0), "{n}");
            assert_eq!(st.lazy_switches, 2, "{n}");
            assert_eq!(r.free_latency.exited, 0, "{n}");
        }
    }
}
