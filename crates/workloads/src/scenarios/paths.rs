//! Scenarios #1–#12 (spec §7): the common paths — lazy switches and exits, kernel threads
//! and `kthread_use_mm`, exec, membarrier.

use super::steps::*;
use crate::run::Built;
use lazymm_engines::step::Preempt;
use lazymm_model::{Kernel, SysOp, TaskRef};

/// #1: A lazy on M; T exits on B; A and B then run user tasks.
pub(super) fn basic(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let (_, u1) = proc1(k);
    let (_, u2) = proc1(k);
    Built {
        scripts: vec![
            vec![
                sw(t),
                idle(),
                mark("a_lazy"),
                wait("exited"),
                sw(u1),
                mark("a_user"),
            ],
            vec![
                wait("a_lazy"),
                sw(t),
                exit(),
                mark("exited"),
                wait("a_user"),
                sw(u2),
            ],
        ],
        subject: m,
        ..Default::default()
    }
}

/// #2: nproc/2 pairs of threads ping-pong through idle (thread→idle→thread), 10 rounds.
pub(super) fn hot_path(k: &Kernel) -> Built {
    let (m, ts) = k.create_process(4).expect("capacity");
    let scripts = (0..4)
        .map(|i| (0..10).flat_map(|_| [sw(ts[i]), idle()]).collect())
        .collect();
    Built {
        scripts,
        subject: m,
        ..Default::default()
    }
}

/// #3: T(M)→k1→k2→U(M') on A; k1 later runs on B after a user task of M''.
pub(super) fn kthread_chain(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let (_, u) = proc1(k);
    let (_, u2) = proc1(k);
    let k1 = k.create_kthread().unwrap();
    let k2 = k.create_kthread().unwrap();
    Built {
        scripts: vec![
            vec![sw(t), sw(k1), sw(k2), sw(u), mark("a_done")],
            vec![wait("a_done"), sw(u2), sw(k1), idle()],
        ],
        subject: m,
        ..Default::default()
    }
}

/// #4: T1(M)→idle→T2(M): no CR3 write; then a flush while lazy forces a reload.
pub(super) fn same_mm(k: &Kernel) -> Built {
    let (m, ts) = k.create_process(3).expect("capacity");
    Built {
        scripts: vec![
            vec![
                sw(ts[0]),
                idle(),
                sw(ts[1]),
                idle(),
                mark("lazy"),
                wait("flushed"),
                sw(ts[0]),
            ],
            vec![
                wait("lazy"),
                sw(ts[2]),
                op(SysOp::Munmap { freed_tables: true }),
                mark("flushed"),
            ],
        ],
        subject: m,
        ..Default::default()
    }
}

/// #5: the last mm_users is an outsider (/proc/pid/mem on C), whose mem_release also holds
/// the final struct pin.
pub(super) fn outsider(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let (_, u) = proc1(k);
    Built {
        scripts: vec![
            vec![sw(t), idle(), mark("a_lazy")],
            vec![wait("c_holds"), sw(t), exit(), mark("exited")],
            vec![
                wait("a_lazy"),
                op(SysOp::MmGrab(m)),
                op(SysOp::MmGet(m)),
                mark("c_holds"),
                wait("exited"),
                op(SysOp::MmPut(m)),
                op(SysOp::MmDrop(m)),
                sw(u),
            ],
        ],
        subject: m,
        ..Default::default()
    }
}

/// #6: the final mmdrop comes from khugepaged's collect_mm_slot under a spinlock.
pub(super) fn khugepaged(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    Built {
        scripts: vec![
            vec![sw(t), idle(), mark("a_lazy")],
            vec![wait("c_holds"), sw(t), exit(), mark("exited")],
            vec![
                wait("a_lazy"),
                op(SysOp::MmGrab(m)),
                mark("c_holds"),
                wait("exited"),
                op(SysOp::MmDropLocked(m)),
            ],
        ],
        subject: m,
        ..Default::default()
    }
}

/// #7: a vhost-like kthread K (holding mm_users) uses and unuses M on A, leaving A lazy;
/// the owner exits on B, K's holder `mmput`s on A; B then A run user tasks.
pub(super) fn kthread_lifecycle(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let kt = k.create_kthread().unwrap();
    let (_, u) = proc1(k);
    let (_, u2) = proc1(k);
    Built {
        scripts: vec![
            vec![
                op(SysOp::MmGet(m)),
                sw(kt),
                op(SysOp::KthreadUseMm(m)),
                op(SysOp::KthreadUnuseMm),
                mark("k_done"),
                wait("exited"),
                op(SysOp::MmPut(m)),
                mark("put"),
                wait("b_user"),
                sw(u),
            ],
            vec![
                wait("k_done"),
                sw(t),
                exit(),
                mark("exited"),
                wait("put"),
                sw(u2),
                mark("b_user"),
            ],
        ],
        subject: m,
        ..Default::default()
    }
}

/// #8: a driver holding only mm_count uses M after __mmput (negative test for H).
pub(super) fn kthread_count_only(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let kt = k.create_kthread().unwrap();
    let (_, u) = proc1(k);
    Built {
        scripts: vec![
            vec![
                op(SysOp::MmGrab(m)),
                mark("pinned"),
                wait("exited"),
                sw(kt),
                op(SysOp::KthreadUseMm(m)),
                op(SysOp::KthreadUnuseMm),
                op(SysOp::MmDrop(m)),
                mark("a_dropped"),
                wait("b_user"),
                op(SysOp::Nmi),
            ],
            // B, lazy on M since exit_mm, runs a user task while A is still lazy on M: any
            // reference B's CPU still held (H: its own drop_mm hand-off) goes now.
            vec![
                wait("pinned"),
                sw(t),
                exit(),
                mark("exited"),
                wait("a_dropped"),
                sw(u),
                mark("b_user"),
            ],
        ],
        subject: m,
        ..Default::default()
    }
}

/// #9: K is already lazy on M and calls kthread_use_mm(M).
pub(super) fn kthread_same(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let kt = k.create_kthread().unwrap();
    let (_, u) = proc1(k);
    Built {
        scripts: vec![vec![
            op(SysOp::MmGet(m)),
            sw(t),
            sw(kt),
            op(SysOp::KthreadUseMm(m)),
            op(SysOp::KthreadUnuseMm),
            op(SysOp::MmPut(m)),
            sw(u),
        ]],
        subject: m,
        ..Default::default()
    }
}

/// #10: kernel_execve from a kthread lazy on M, preempted between reading active_mm and
/// publishing the new mm (only possible without the IRQs-off window).
pub(super) fn exec_kthread(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let (_, u) = proc1(k);
    let kt = k.create_kthread().unwrap();
    Built {
        scripts: vec![
            vec![
                sw(t),
                sw(kt),
                op(SysOp::Exec),
                mark("exec"),
                op(SysOp::Exit {
                    then: TaskRef::Idle,
                }),
            ],
            vec![wait("exec"), sw(t), exit()],
        ],
        preempts: vec![Preempt {
            cpu: 0,
            at: "exec_mmap:after_read_active_mm",
            plan: vec![TaskRef::Task(u)],
        }],
        subject: m,
        ..Default::default()
    }
}

/// #11: T1 execs while T2, T3 of M (killed by de_thread) exit on B and C; D is lazy on M.
pub(super) fn exec_mt(k: &Kernel) -> Built {
    let (m, ts) = k.create_process(4).expect("capacity");
    Built {
        scripts: vec![
            vec![
                wait("d_lazy"),
                sw(ts[0]),
                wait("t2"),
                wait("t3"),
                op(SysOp::Exec),
            ],
            vec![wait("d_lazy"), sw(ts[1]), exit(), mark("t2")],
            vec![wait("d_lazy"), sw(ts[2]), exit(), mark("t3")],
            vec![sw(ts[3]), exit(), mark("d_lazy")],
        ],
        subject: m,
        ..Default::default()
    }
}

/// #12: membarrier-registered M: A goes T(M)→kthread→T'(M) without a CR3 change.
pub(super) fn membarrier(k: &Kernel) -> Built {
    let (m, ts) = k.create_process(2).expect("capacity");
    k.membarrier_register(m);
    let kt = k.create_kthread().unwrap();
    Built {
        scripts: vec![vec![sw(ts[0]), sw(kt), sw(ts[1]), idle(), sw(ts[0])]],
        subject: m,
        ..Default::default()
    }
}

/// #30: T, M's only thread, exits on A and is preempted before `exit_mm`'s `mmput` (A's idle
/// is then lazy on M); B takes the dying task over and its `__mmput`/`exit_mmap` run there,
/// while A is still lazy on M. Then A runs a user task of another mm.
pub(super) fn exit_mmput_elsewhere(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let (_, u) = proc1(k);
    Built {
        scripts: vec![
            vec![sw(t), exit(), mark("a_preempted"), wait("b_done"), sw(u)],
            vec![wait("a_preempted"), sw(t), mark("b_done")],
        ],
        preempts: vec![Preempt {
            cpu: 0,
            at: "exit_mm:before_mmput",
            plan: vec![TaskRef::Idle],
        }],
        subject: m,
        ..Default::default()
    }
}
