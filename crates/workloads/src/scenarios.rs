//! The 25 scenarios of spec §7 and three gated windows (#26–#28) as data: CPU scripts, gates
//! and the subject mm.
//!
//! CPUs A, B, C, D are cpu0..cpu3. Each scenario is run for every scheme × arch; the
//! expected outcomes (§7) are asserted scheme by scheme in `tests/scenarios.rs`.

use crate::run::Built;
use lazymm_engines::step::{Gate, Preempt, Step};
use lazymm_model::era::{clean_variant, variants};
use lazymm_model::oracle::ViolationKind;
use lazymm_model::{ArchId, Kernel, Knobs, SchemeId, SysOp, TaskId, TaskRef, Variant};

/// A catalogue entry.
pub struct Scenario {
    /// §7 number.
    pub num: u32,
    /// Name.
    pub name: &'static str,
    /// CPUs.
    pub ncpus: usize,
    /// Knob changes (on top of the variant's era knobs, `Variant::knobs`).
    pub knobs: fn(&mut Knobs),
    /// Builds the scripts on a booted kernel.
    pub build: fn(&Kernel) -> Built,
}

fn op(o: SysOp) -> Step {
    Step::Op(o)
}
fn sw(t: TaskId) -> Step {
    op(SysOp::Switch(TaskRef::Task(t)))
}
fn idle() -> Step {
    op(SysOp::Switch(TaskRef::Idle))
}
fn exit() -> Step {
    op(SysOp::Exit {
        then: TaskRef::Idle,
    })
}
fn mark(s: &str) -> Step {
    Step::Mark(s.into())
}
fn wait(s: &str) -> Step {
    Step::WaitMark(s.into())
}
fn proc1(k: &Kernel) -> (lazymm_model::MmRef, TaskId) {
    let (m, t) = k.create_process(1).expect("capacity");
    (m, t[0])
}
fn none(_: &mut Knobs) {}
fn gate(cpu: usize, at: &'static str, until: &str) -> Gate {
    Gate {
        cpu,
        at,
        nth: 1,
        until: until.into(),
    }
}

/// #1: A lazy on M; T exits on B; A and B then run user tasks.
fn basic(k: &Kernel) -> Built {
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
fn hot_path(k: &Kernel) -> Built {
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
fn kthread_chain(k: &Kernel) -> Built {
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
fn same_mm(k: &Kernel) -> Built {
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
fn outsider(k: &Kernel) -> Built {
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
fn khugepaged(k: &Kernel) -> Built {
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
fn kthread_lifecycle(k: &Kernel) -> Built {
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
fn kthread_count_only(k: &Kernel) -> Built {
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
fn kthread_same(k: &Kernel) -> Built {
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
fn exec_kthread(k: &Kernel) -> Built {
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
fn exec_mt(k: &Kernel) -> Built {
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
fn membarrier(k: &Kernel) -> Built {
    let (m, ts) = k.create_process(2).expect("capacity");
    k.membarrier_register(m);
    let kt = k.create_kthread().unwrap();
    Built {
        scripts: vec![vec![sw(ts[0]), sw(kt), sw(ts[1]), idle(), sw(ts[0])]],
        subject: m,
        ..Default::default()
    }
}

/// The shared shape of #13–#16: A runs T (sole thread of M) and idles lazily on M, then
/// does `a_then`; T migrates to B and exits (marker `exited`).
fn lazy_on_a_exit_on_b(k: &Kernel, a_then: Vec<Step>, gates: Vec<Gate>) -> Built {
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
fn nmi(k: &Kernel) -> Built {
    lazy_on_a_exit_on_b(k, vec![wait("exited"), op(SysOp::Nmi)], vec![])
}

/// #14: A lazy on M runs text_poke while M is released on B; then an NMI on A.
fn text_poke(k: &Kernel) -> Built {
    lazy_on_a_exit_on_b(
        k,
        vec![op(SysOp::TextPoke), op(SysOp::Nmi)],
        vec![gate(0, "text_poke:poking", "exited")],
    )
}

/// #15: A lazy on M makes an EFI runtime call while M is released on B; then an NMI on A.
fn efi(k: &Kernel) -> Built {
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
fn offline(k: &Kernel) -> Built {
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
fn online_cycles(k: &Kernel) -> Built {
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
fn cpu1_scan_match(k: &Kernel, until: &str, left: &str) -> (Vec<Gate>, &'static str) {
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
fn steal_race(k: &Kernel) -> Built {
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
fn two_exits(k: &Kernel) -> Built {
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
fn wide(k: &Kernel) -> Built {
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
fn pv_flush(k: &Kernel) -> Built {
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
fn pv_knobs(k: &mut Knobs) {
    k.pv_flush_skips = vec![0, 2];
}

/// #22: broadcast-invalidate hardware: the exit flush sends no IPIs.
fn broadcast(k: &Kernel) -> Built {
    basic(k)
}
fn broadcast_knobs(k: &mut Knobs) {
    k.broadcast_flush = true;
}

/// #23: munmap / DONTNEED with lazy CPUs: 3 non-freeing flushes and 1 freeing flush.
fn munmap(k: &Kernel) -> Built {
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
fn rt(k: &Kernel) -> Built {
    basic(k)
}
fn rt_knobs(k: &mut Knobs) {
    k.preempt_rt = true;
}

/// #25: user→kernel switches without the refcount atomic (mm_cid ordering): count the full
/// barriers each scheme still executes on that edge.
fn mm_cid(k: &Kernel) -> Built {
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
fn exit_flush_during_kthread_use(k: &Kernel) -> Built {
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
fn handoff_after_unlazy(k: &Kernel) -> Built {
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
fn exec_flush_before_activate(k: &Kernel) -> Built {
    let (m, t) = proc1(k);
    let kt = k.create_kthread().unwrap();
    Built {
        scripts: vec![
            vec![sw(t), sw(kt), mark("a_lazy"), op(SysOp::Exec)],
            vec![
                wait("cpu0@exec_mmap:before_activate_mm"),
                sw(t),
                exit(),
                mark("exited"),
            ],
        ],
        gates: vec![gate(0, "exec_mmap:before_activate_mm", "exited")],
        subject: m,
        ..Default::default()
    }
}

/// The catalogue, in §7 order, then the gated windows (#26–#28).
pub fn catalogue() -> Vec<Scenario> {
    macro_rules! s {
        ($num:expr, $name:expr, $n:expr, $k:expr, $b:expr) => {
            Scenario {
                num: $num,
                name: $name,
                ncpus: $n,
                knobs: $k,
                build: $b,
            }
        };
    }
    vec![
        s!(1, "basic-lazy-idle-exit", 4, none, basic),
        s!(2, "hot-path-scale", 4, none, hot_path),
        s!(3, "kthread-chain", 4, none, kthread_chain),
        s!(4, "lazy-back-to-same-mm", 4, none, same_mm),
        s!(5, "last-users-outsider", 4, none, outsider),
        s!(6, "final-mmdrop-preempt-off", 4, none, khugepaged),
        s!(7, "kthread-use-mm-lifecycle", 4, none, kthread_lifecycle),
        s!(8, "kthread-use-mm-count-only", 4, none, kthread_count_only),
        s!(9, "kthread-use-mm-same-active", 4, none, kthread_same),
        s!(10, "exec-kthread-preempt", 4, none, exec_kthread),
        s!(11, "exec-multithreaded", 4, none, exec_mt),
        s!(12, "membarrier-litmus", 4, none, membarrier),
        s!(13, "nmi-stale-active-mm", 4, none, nmi),
        s!(14, "text-poke-while-lazy", 4, none, text_poke),
        s!(15, "efi-while-lazy", 4, none, efi),
        s!(16, "cpu-offline-while-lazy", 4, none, offline),
        s!(17, "offline-online-cycles", 4, none, online_cycles),
        s!(18, "drop-mm-steal-race", 4, none, steal_race),
        s!(19, "two-exits-one-rq", 4, none, two_exits),
        s!(20, "wide-process-exit", 32, none, wide),
        s!(21, "pv-flush-preempted-vcpus", 4, pv_knobs, pv_flush),
        s!(22, "broadcast-flush", 4, broadcast_knobs, broadcast),
        s!(23, "munmap-lazy-cpus", 4, none, munmap),
        s!(24, "preempt-rt-sched-tail", 4, rt_knobs, rt),
        s!(25, "mm-cid-ordering", 4, none, mm_cid),
        s!(
            26,
            "exit-flush-during-kthread-use",
            4,
            none,
            exit_flush_during_kthread_use
        ),
        s!(
            27,
            "drop-mm-handoff-after-unlazy",
            4,
            none,
            handoff_after_unlazy
        ),
        s!(
            28,
            "exec-flush-ipi-before-activate-mm",
            4,
            none,
            exec_flush_before_activate
        ),
    ]
}

/// Finds a scenario by name or number.
pub fn find(key: &str) -> Option<Scenario> {
    catalogue()
        .into_iter()
        .find(|s| s.name == key || s.num.to_string() == key)
}

/// Runs one scenario with `variant` on `arch` (seed 0): the variant's era knobs, then the
/// scenario's own knob changes.
pub fn run_variant(s: &Scenario, variant: &Variant, arch: ArchId) -> crate::run::Outcome {
    run_named_on(s, crate::run::Named::variant(variant), variant, arch)
}

/// Runs one scenario with `named` (a variant's scheme changed in one place) on the era knobs
/// of `era_of`, then the scenario's own knob changes (seed 0).
pub fn run_named_on(
    s: &Scenario,
    named: crate::run::Named,
    era_of: &Variant,
    arch: ArchId,
) -> crate::run::Outcome {
    let mut knobs = era_of.knobs(arch);
    (s.knobs)(&mut knobs);
    crate::run::run_one(s.name, named, arch, s.ncpus, knobs, &s.build, 0, 0.0, 0.0)
}

/// Runs one scenario with the clean (mainline, or as-posted + fixes) variant of `scheme`.
pub fn run_scenario(s: &Scenario, scheme: SchemeId, arch: ArchId) -> crate::run::Outcome {
    run_variant(s, &clean_variant(scheme), arch)
}

/// Every row: all scenarios × variants × arches (infeasible combinations included, marked).
pub fn all_rows() -> Vec<crate::run::Row> {
    let mut rows = Vec::new();
    for s in catalogue() {
        for v in variants() {
            for arch in ArchId::ALL {
                rows.push(run_variant(&s, &v, arch).row);
            }
        }
    }
    rows
}

/// A finding the catalogue expects: the row of `variant` on `scenario` (on `arches`, or on
/// every feasible arch) shows a violation of `kind`; scenario `"*"` means the variant may show
/// that kind on any scenario (where the workload triggers it). Every violation of a row must
/// be of a kind its findings list; every other feasible row must be clean.
pub struct Finding {
    /// Scenario name.
    pub scenario: &'static str,
    /// Variant name.
    pub variant: &'static str,
    /// The arches it shows on (empty: every feasible arch).
    pub arches: &'static [ArchId],
    /// The violation kind the row shows.
    pub kind: ViolationKind,
    /// Why (the source of the hazard).
    pub why: &'static str,
}

/// Findings of as-posted code (and of S on x86, which mainline never enabled), with their
/// sources. The fixed variants are clean except where a finding says the fix does not reach.
pub fn findings() -> Vec<Finding> {
    let f = |scenario, variant, arches, kind, why| Finding {
        scenario,
        variant,
        arches,
        kind,
        why,
    };
    use ViolationKind::*;
    vec![
        f(
            "*",
            "hazard",
            &[],
            Leak,
            "§3.c open question: as posted, exit_mm() still takes a real mmgrab and patch 16 \
           deleted the rq->prev_mm mmdrop that paid it back — every exited mm leaks (this \
           masks the as-posted hazards, shown by mutants f and i on the +fixes base)",
        ),
        f("*", "hazard-x86", &[], Leak, "as for hazard"),
        f(
            "cpu-offline-while-lazy",
            "hazard-md",
            &[],
            Deadlock,
            "v6.11 hotplug order: finish_cpu's drop clears the control CPU's slot; hp_scan \
           busy-waits on the dead CPU's",
        ),
        f(
            "offline-online-cycles",
            "hazard-md",
            &[],
            KernelWarn,
            "v6.11 hotplug order: the onlined CPU's slot still holds the mm it was lazy on \
           (finish_cpu cleared the control CPU's), so start_secondary's grab finds it busy",
        ),
        f(
            "efi-while-lazy",
            "hazard-md",
            &[ArchId::X86],
            Deadlock,
            "v6.11 efi_enter_mm sets active_mm = &efi_mm: the shoot IPI skips the CPU without \
           clearing its slot, and hp_scan busy-waits until that CPU next runs a user task",
        ),
        f(
            "final-mmdrop-preempt-off",
            "hazard-md",
            &[],
            KernelWarn,
            "§7 #6 / MD-LKP: hazptr_scan from khugepaged's spinlock",
        ),
        f(
            "final-mmdrop-preempt-off",
            "hazard-md+fixes",
            &[],
            KernelWarn,
            "§7 #6 / MD-LKP: the hotplug and EFI fixes do not touch it",
        ),
        f(
            "text-poke-while-lazy",
            "shootdown",
            &[ArchId::X86],
            FreedWhileLoaded,
            "§4.4: mainline x86 never selected SHOOTDOWN; use_temporary_mm's leave_mm and Rik's \
           mask clearing leave a stale active_mm the shootdown cannot see (no reader \
           dereferences it: theoretical, the cleanup Peter's x86/lazy needed)",
        ),
        f(
            "efi-while-lazy",
            "shootdown",
            &[ArchId::X86],
            FreedWhileLoaded,
            "§4.4, as for text-poke-while-lazy (EFI goes through use_temporary_mm)",
        ),
    ]
}
