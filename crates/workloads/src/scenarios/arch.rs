//! Scenarios #13–#28 (spec §7): NMIs, temporary mms, hotplug, the hazard schemes' races,
//! paravirt and broadcast flushes, munmap, PREEMPT_RT, mm_cid, and the four gated windows.

use super::paths::basic;
use super::steps::*;
use crate::run::Built;
use lazymm_engines::step::{Gate, Step};
use lazymm_model::{Kernel, Knobs, SysOp, TaskRef};

/// The shared shape of #13–#16: A runs T (sole thread of M) and idles lazily on M, then
/// does `a_then`; T migrates to B and exits (marker `exited`).
pub(super) fn lazy_on_a_exit_on_b(k: &Kernel, a_then: Vec<Step>, gates: Vec<Gate>) -> Built {
    let (m, t) = proc1(k);
    let mut a = vec![sw(t), idle(), mark("a_lazy")];
    a.extend(a_then);
    Built {
        scripts: vec![a, vec![wait("a_lazy"), sw(t), exit(), mark("exited")]],
        gates,
        subject: m,
        ..Default::default()
    }
}

/// #13: A lazy on M; M exits on B (its flush IPI reaches A); then a perf NMI on A.
pub(super) fn nmi(k: &Kernel) -> Built {
    lazy_on_a_exit_on_b(k, vec![wait("exited"), op(SysOp::Nmi)], vec![])
}

/// #14: A lazy on M runs text_poke while M is released on B; then an NMI on A.
pub(super) fn text_poke(k: &Kernel) -> Built {
    lazy_on_a_exit_on_b(
        k,
        vec![op(SysOp::TextPoke), op(SysOp::Nmi)],
        vec![gate(0, "text_poke:poking", "exited")],
    )
}

/// #15: A lazy on M makes an EFI runtime call while M is released on B; then an NMI on A.
pub(super) fn efi(k: &Kernel) -> Built {
    lazy_on_a_exit_on_b(
        k,
        vec![op(SysOp::EfiCall), op(SysOp::Nmi)],
        vec![
            gate(0, "efi_call:firmware", "exited"),
            gate(0, "efi_call:firmware_return", "exited"),
        ],
    )
}

/// #16: A lazy on M goes offline; M exits on B inside the offline window; C is the control
/// CPU that runs finish_cpu and brings A back.
pub(super) fn offline(k: &Kernel) -> Built {
    let mut b = lazy_on_a_exit_on_b(
        k,
        vec![op(SysOp::CpuOffline)],
        vec![gate(0, "cpu_offline:after_cpu_disable", "exited")],
    );
    b.scripts.push(vec![
        wait("exited"),
        Step::Retry(SysOp::FinishCpu(0)),
        Step::Retry(SysOp::CpuOnline(0)),
    ]);
    b
}

/// #17: three offline/online cycles of A (lazy on M for the first, on init_mm after).
pub(super) fn online_cycles(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let mut a = vec![sw(t), idle()];
    let mut c = vec![];
    for _ in 0..3 {
        a.push(op(SysOp::CpuOffline));
        c.push(Step::Retry(SysOp::FinishCpu(0)));
        c.push(Step::Retry(SysOp::CpuOnline(0)));
    }
    a.push(sw(t));
    a.push(exit());
    Built {
        scripts: vec![a, vec![], c],
        subject: m,
        ..Default::default()
    }
}

/// The marker of cpu1's exit reaching the point where H's scan matched a lazy CPU, and the
/// gate that holds cpu1 there until `until`: only where the scheme's exit scan can match a
/// lazy CPU on this arch ([`lazymm_model::Scheme::exit_scan_matches_lazy`]: H, and not on x86, whose exit
/// flush IPI unlazies the lazy CPU first, patch 21).
///
/// Elsewhere CPU 1 is held at `exit_mm:before_mmput` until CPU 0 has left M1 (`left`): without
/// that gate, whether CPU 0 is still lazy on M1 when M1's exit flush (x86) or MD's `hp_scan`
/// looks at it is a race each engine may order its own way (the step engine by its seed, the
/// sim by its clocks), and the lazy/flush IPI counts would follow the engine, not the scenario.
pub(super) fn cpu1_scan_match(k: &Kernel, until: &str, left: &str) -> (Vec<Gate>, &'static str) {
    if k.scheme.exit_scan_matches_lazy(&k.cfg.arch) {
        (
            vec![gate(1, "mm_unlazy_mm_count:matched", until)],
            "cpu1@mm_unlazy_mm_count:matched",
        )
    } else {
        (
            vec![gate(1, "exit_mm:before_mmput", left)],
            "cpu1@exit_mm:before_mmput",
        )
    }
}

/// #18: H drop_mm steal race: F1 (cpu1) scans A lazy on M1; A moves to M2; F2 (cpu2) hands
/// A its M2 reference; F1 continues.
pub(super) fn steal_race(k: &Kernel) -> Built {
    let (_, t1) = proc1(k);
    let (m2, t2) = proc1(k);
    let (_, u) = proc1(k);
    let (gates, f1_loaded) = cpu1_scan_match(k, "f2_done", "a2");
    Built {
        scripts: vec![
            vec![
                sw(t1),
                idle(),
                mark("a1"),
                wait(f1_loaded),
                sw(t2),
                idle(),
                mark("a2"),
            ],
            vec![wait("a1"), sw(t1), exit(), mark("f1_done")],
            vec![
                wait("a2"),
                sw(t2),
                exit(),
                mark("f2_done"),
                wait("f1_done"),
                sw(u),
            ],
        ],
        gates,
        subject: m2,
        ..Default::default()
    }
}

/// #19: drop_A already holds M0 (A no longer uses it) when M1's exit targets A.
pub(super) fn two_exits(k: &Kernel) -> Built {
    let (m0, t0) = proc1(k);
    let kt = k.create_kthread().unwrap();
    let (_, t2) = proc1(k);
    Built {
        scripts: vec![
            vec![
                sw(t0),
                idle(),
                mark("a_lazy0"),
                wait("m0_exited"),
                sw(kt),
                op(SysOp::Exec),
                mark("a_exec"),
                wait("b_lazy"),
                op(SysOp::Exit {
                    then: TaskRef::Idle,
                }),
            ],
            vec![
                wait("a_lazy0"),
                sw(t0),
                exit(),
                mark("m0_exited"),
                wait("a_exec"),
                sw(t2),
                idle(),
                mark("b_lazy"),
            ],
            vec![wait("b_lazy"), sw(t2), exit()],
        ],
        subject: m0,
        ..Default::default()
    }
}

/// #20: a wide process exits: 24 threads on 32 CPUs, lazy on every CPU they ran on.
pub(super) fn wide(k: &Kernel) -> Built {
    let n = 24;
    let (m, ts) = k.create_process(n).expect("capacity");
    let mut scripts: Vec<Vec<Step>> = (0..n)
        .map(|i| vec![sw(ts[i]), idle(), mark(&format!("l{i}"))])
        .collect();
    let mut killer: Vec<Step> = (0..n).map(|i| wait(&format!("l{i}"))).collect();
    for t in ts {
        killer.push(sw(t));
        killer.push(exit());
    }
    scripts.resize(31, vec![]);
    scripts.push(killer);
    Built {
        scripts,
        subject: m,
        ..Default::default()
    }
}

/// #21: preempted vCPUs A and C are lazy on M; the PV flush skips them.
pub(super) fn pv_flush(k: &Kernel) -> Built {
    let (m, ts) = k.create_process(3).expect("capacity");
    Built {
        scripts: vec![
            vec![sw(ts[0]), exit(), mark("a")],
            vec![wait("a"), wait("c"), sw(ts[1]), exit()],
            vec![sw(ts[2]), exit(), mark("c")],
        ],
        subject: m,
        ..Default::default()
    }
}
pub(super) fn pv_knobs(k: &mut Knobs) {
    k.pv_flush_skips = vec![0, 2];
}

/// #22: broadcast-invalidate hardware: the exit flush sends no IPIs.
pub(super) fn broadcast(k: &Kernel) -> Built {
    basic(k)
}
pub(super) fn broadcast_knobs(k: &mut Knobs) {
    k.broadcast_flush = true;
}

/// #23: munmap / DONTNEED with lazy CPUs: 3 non-freeing flushes and 1 freeing flush.
pub(super) fn munmap(k: &Kernel) -> Built {
    let (m, ts) = k.create_process(4).expect("capacity");
    let mut d = vec![wait("l0"), wait("l1"), wait("l2"), sw(ts[3])];
    for _ in 0..3 {
        d.push(op(SysOp::Munmap {
            freed_tables: false,
        }));
    }
    d.push(op(SysOp::Munmap { freed_tables: true }));
    Built {
        scripts: vec![
            vec![sw(ts[0]), idle(), mark("l0")],
            vec![sw(ts[1]), idle(), mark("l1")],
            vec![sw(ts[2]), idle(), mark("l2")],
            d,
        ],
        subject: m,
        ..Default::default()
    }
}

/// #24: PREEMPT_RT: the final drop happens in the scheduler tail.
pub(super) fn rt(k: &Kernel) -> Built {
    basic(k)
}
pub(super) fn rt_knobs(k: &mut Knobs) {
    k.preempt_rt = true;
}

/// #25: user→kernel switches without the refcount atomic (mm_cid ordering): count the full
/// barriers each scheme still executes on that edge.
pub(super) fn mm_cid(k: &Kernel) -> Built {
    let (m, ts) = k.create_process(2).expect("capacity");
    Built {
        scripts: vec![
            (0..5).flat_map(|_| [sw(ts[0]), idle()]).collect(),
            (0..5).flat_map(|_| [sw(ts[1]), idle()]).collect(),
        ],
        subject: m,
        ..Default::default()
    }
}

/// #26 (gated window): an exit-flush IPI lands while a kthread that holds only `mm_count`
/// (a driver's pin) is inside `kthread_use_mm`: ppc's `exit_lazy_flush_tlb` must skip it
/// ("current->mm == mm") and the final `__mmdrop` must still find it once it went lazy.
pub(super) fn exit_flush_during_kthread_use(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let kt = k.create_kthread().unwrap();
    let (_, u) = proc1(k);
    let (_, u2) = proc1(k);
    Built {
        scripts: vec![
            vec![
                op(SysOp::MmGrab(m)),
                sw(kt),
                op(SysOp::KthreadUseMm(m)),
                mark("using"),
                // IRQs on while waiting: the exit flush IPI is taken here, mid-use.
                wait("exited"),
                op(SysOp::KthreadUnuseMm),
                mark("a_unused"),
                wait("b_user"),
                op(SysOp::MmDrop(m)),
                sw(u),
            ],
            // B, lazy on M since exit_mm, runs a user task while A is lazy on M (so whatever
            // B's CPU held goes before the driver's final drop).
            vec![
                wait("using"),
                sw(t),
                exit(),
                mark("exited"),
                wait("a_unused"),
                sw(u2),
                mark("b_user"),
            ],
        ],
        subject: m,
        ..Default::default()
    }
}

/// #27 (gated window, H): B's scan matches A (lazy on M) and is held there while A switches
/// to a user task (A un-lazies, finding drop_mm empty); the hand-off then lands in A's
/// drop_mm after A stopped using M. M must stay pinned until A's next context switch
/// releases it there — a delayed release, not a leak and not a use-after-free.
pub(super) fn handoff_after_unlazy(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let (_, u) = proc1(k);
    let (_, u2) = proc1(k);
    let (gates, matched) = cpu1_scan_match(k, "a_user", "a_user");
    Built {
        scripts: vec![
            vec![
                sw(t),
                idle(),
                mark("a_lazy"),
                wait(matched),
                sw(u),
                mark("a_user"),
                wait("b_user"),
                idle(),
            ],
            vec![
                wait("a_lazy"),
                sw(t),
                exit(),
                mark("handed"),
                sw(u2),
                mark("b_user"),
            ],
        ],
        gates,
        subject: m,
        ..Default::default()
    }
}

/// #28 (gated window, §7 #10's second half): a kthread lazy on M execs (kernel_execve) and is
/// held between `tsk->mm = mm` and `activate_mm`; M's exit flush IPI lands there if IRQs are
/// on (no ARCH_WANT_IRQS_OFF_ACTIVATE_MM). ppc's `exit_lazy_flush_tlb` then sees neither
/// `current->mm` nor `current->active_mm` equal to M, trims the CPU from M's mask, and the
/// final shootdown misses a CPU that still has M loaded (d53c3dfb23c4).
pub(super) fn exec_flush_before_activate(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let kt = k.create_kthread().unwrap();
    let (b, held) = exit_while_cpu0_held(t, "exec_mmap:before_activate_mm");
    Built {
        scripts: vec![vec![sw(t), sw(kt), mark("a_lazy"), op(SysOp::Exec)], b],
        gates: vec![held],
        subject: m,
        ..Default::default()
    }
}

/// #29 (gated window): A, lazy on M, switches to a task of another mm and is held inside
/// `switch_mm_irqs_off` before its CR3 write (IRQs off, its MMU still on M) while B takes M's
/// last thread and exits. v5.16–v6.12 x86 has already cleared A from `mm_cpumask(M)` there
/// ("Stop remote flushes for the previous mm"), so a free decided by the mask alone (H-x86's
/// patch 22 scan) frees the pgd A's CR3 still points at. Every other scheme still finds A:
/// by its lazy reference, its `lazy_mm` or hazard slot, or its mask bit.
pub(super) fn switch_away_before_cr3(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let (_, u) = proc1(k);
    let (b, held) = exit_while_cpu0_held(t, "switch_mm_irqs_off:before_cr3");
    Built {
        scripts: vec![vec![sw(t), idle(), sw(u)], b],
        gates: vec![held],
        subject: m,
        ..Default::default()
    }
}
