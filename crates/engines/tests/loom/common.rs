//! What every loom model shares: the budget, booting a kernel, running ops, settling, exploring,
//! and the failure kinds a mutant test may require.

use lazymm_engines::loom::{LoomCpu, LoomMachine};
use lazymm_model::kernel::BootCpu;
use lazymm_model::oracle::ViolationKind;
use lazymm_model::{Arch, ArchId, Config, Kernel, Knobs, Scheme, SysOp, TaskRef};
use loom::sync::Arc;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Loom's budget for these models: preemption bound 2 (crossbeam/haphazard's choice) unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise, at least `min_bound`, and a branch budget large
/// enough for the model's long kernel paths.
fn builder(min_bound: usize) -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(b.preemption_bound.unwrap_or(2).max(min_bound));
    b.max_branches = 1_000_000;
    b
}

/// H as the loom models run it: the clean variant (`hazard+fixes`: patch 15's rule enforced
/// inside kthread_use_mm), on its era's knobs.
pub fn h() -> lazymm_model::schemes::hazard::Hazard {
    lazymm_model::schemes::hazard::Hazard {
        kthread_ref: lazymm_model::scheme::KthreadRef::MmUsers,
        exit_mm_grabs: false,
        rt_mmdrop_sched: true,
        ..lazymm_model::schemes::hazard::Hazard::default()
    }
}

/// The era knobs of H's clean variant on `arch`.
pub fn h_knobs(arch: ArchId) -> Knobs {
    lazymm_model::era::variant("hazard+fixes")
        .expect("variant")
        .knobs(arch)
}

/// The era knobs of H-x86's clean variant on x86 (v5.16's mask, its bit cleared after the
/// CR3 write: `Knobs::x86_clear_after_cr3`).
pub fn h_x86_knobs() -> Knobs {
    lazymm_model::era::variant("hazard-x86+fixes")
        .expect("variant")
        .knobs(ArchId::X86)
}

/// The era knobs of MD's clean variant on `arch`.
pub fn md_knobs(arch: ArchId) -> Knobs {
    lazymm_model::era::variant("hazard-md+fixes")
        .expect("variant")
        .knobs(arch)
}

/// CPU B as a loom thread: take T over (waiting for A to switch away from it), exit it (the
/// last mmput: H scans, MD's and S's final mmdrop runs), then run U2.
pub fn spawn_b_exits(
    k: &Arc<Kernel>,
    m: &Arc<LoomMachine>,
    t: lazymm_model::TaskId,
    u2: lazymm_model::TaskId,
) -> loom::thread::JoinHandle<()> {
    let (k2, m2) = (k.clone(), m.clone());
    loom::thread::spawn(move || {
        let c = LoomCpu::new(1, &m2);
        switch_to(&k2, &c, TaskRef::Task(t));
        exit(&k2, &c);
        op(&k2, &c, SysOp::Switch(TaskRef::Task(u2)));
        c.finish(&k2);
    })
}

pub fn boot(scheme: Box<dyn Scheme>, arch: ArchId, ncpus: usize, knobs: Knobs) -> Kernel {
    Kernel::boot(
        Config {
            ncpus,
            arch: Arch::profile(arch),
            knobs,
            max_mms: 8,
            max_tasks: 6,
            label: "loom".into(),
            topo: Default::default(),
        },
        scheme,
    )
}

pub fn op(k: &Kernel, c: &LoomCpu<'_>, o: SysOp) -> bool {
    k.do_op(c, &o)
}

/// `schedule()` to `t`, retrying until the task is free to run here (its previous CPU may
/// still be switching away from it).
pub fn switch_to(k: &Kernel, c: &LoomCpu<'_>, t: TaskRef) {
    while !op(k, c, SysOp::Switch(t)) {
        loom::thread::yield_now();
    }
}

/// The current user task exits; the CPU goes idle.
pub fn exit(k: &Kernel, c: &LoomCpu<'_>) {
    op(
        k,
        c,
        SysOp::Exit {
            then: TaskRef::Idle,
        },
    );
}

/// After every CPU thread finished: quiesce each CPU, run the final check, and return the
/// oracle's violations.
pub fn settle(k: &Kernel, m: &LoomMachine) -> Vec<String> {
    for cpu in 0..k.ncpus() {
        k.quiesce_cpu(&LoomCpu::new(cpu, m));
    }
    k.final_check(&BootCpu::new(0));
    k.oracle
        .violations()
        .iter()
        .map(|v| v.to_string())
        .collect()
}

pub fn assert_clean(v: Vec<String>) {
    assert!(v.is_empty(), "oracle violations: {v:#?}");
}

/// Runs `model` under loom; Ok(()) if every execution passed, Err(message) if some
/// execution failed (an oracle violation, a loom causality violation, a deadlock).
pub fn explore(model: impl Fn() + Sync + Send + 'static) -> Result<(), String> {
    explore_bound(0, model)
}

/// [`explore`] with a preemption bound of at least `min_bound`, for a model whose race needs
/// more preemptions than the suite's default (and small enough to afford them).
pub fn explore_bound(
    min_bound: usize,
    model: impl Fn() + Sync + Send + 'static,
) -> Result<(), String> {
    // std (not loom) counter: observation only.
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r2 = runs.clone();
    let r = catch_unwind(AssertUnwindSafe(|| {
        builder(min_bound).check(move || {
            r2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            model()
        })
    }));
    let n = runs.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("loom: {n} executions explored");
    r.map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "loom execution failed".into())
    })
}

/// How a mutant must fail.
#[derive(Copy, Clone, Debug)]
pub enum Caught {
    /// Loom's causality check on the page-table cell: a walk not ordered with the free.
    Causality,
    /// The oracle reported a violation of this kind.
    Oracle(ViolationKind),
    /// The oracle reported a violation of this kind whose report contains this text (a
    /// function of the offending path, say).
    OracleAt(ViolationKind, &'static str),
    /// A litmus test's own assertion, by its message.
    Litmus(&'static str),
}

impl Caught {
    fn matches(self, e: &str) -> bool {
        match self {
            Caught::Causality => e.starts_with("Causality violation"),
            // `assert_clean` prints each violation quoted, starting with its kind's name.
            Caught::Oracle(k) => e.contains(&format!("\"{} of ", k.name())),
            Caught::OracleAt(k, at) => e
                .lines()
                .any(|l| l.contains(&format!("\"{} of ", k.name())) && l.contains(at)),
            Caught::Litmus(msg) => e.contains(msg),
        }
    }
}

/// Explores a mutant model: some execution must fail, in one of the `kinds` (not any panic).
pub fn assert_caught(model: impl Fn() + Sync + Send + 'static, kinds: &[Caught]) -> String {
    assert_caught_bound(0, model, kinds)
}

/// [`assert_caught`] with a preemption bound of at least `min_bound`.
pub fn assert_caught_bound(
    min_bound: usize,
    model: impl Fn() + Sync + Send + 'static,
    kinds: &[Caught],
) -> String {
    let e = explore_bound(min_bound, model)
        .expect_err("loom explored every execution and found no failure");
    assert!(
        kinds.iter().any(|k| k.matches(&e)),
        "the mutant failed, but not as expected (one of {kinds:?}): {e}"
    );
    let first: Vec<&str> = e.lines().take(2).collect();
    eprintln!("caught: {}", first.join(" "));
    e
}

pub const FREED_WHILE_LOADED: Caught = Caught::Oracle(ViolationKind::FreedWhileLoaded);
pub const USE_AFTER_FREE: Caught = Caught::Oracle(ViolationKind::UseAfterFree);

/// The shared shape of the H and MD models: A runs T (sole thread of M), goes lazy on M,
/// then runs U of another mm (un-lazy); meanwhile B takes T over (on_cpu hand-off), exits
/// it (the last mmput: H scans, MD's final mmdrop runs hp_scan) and runs U2, which releases
/// B's own deferred reference. If the free side misses A, M is freed while A may still be
/// lazy on it, and A's page-table walk at its switch away races with the free.
pub fn lazy_on_a_exit_on_b(scheme: Box<dyn Scheme>, knobs: Knobs) {
    lazy_on_a_exit_on_b_on(ArchId::Arm64, false, scheme, knobs);
}

/// [`lazy_on_a_exit_on_b`] on `arch`; with `u_ran_on_a`, U runs on A once before T, so that
/// A's switch back to U finds its bit already in U's `mm_cpumask` (powerpc: no
/// `new_on_cpu` `smp_mb()` then).
pub fn lazy_on_a_exit_on_b_on(
    arch: ArchId,
    u_ran_on_a: bool,
    scheme: Box<dyn Scheme>,
    knobs: Knobs,
) {
    let k = Arc::new(boot(scheme, arch, 2, knobs));
    let m = Arc::new(LoomMachine::new(2));
    let (_mm, t) = k.create_process(1).unwrap();
    let (_mu, u) = k.create_process(1).unwrap();
    let (_mu2, u2) = k.create_process(1).unwrap();
    let (t, u, u2) = (t[0], u[0], u2[0]);
    // Setup on A (sequential): (U, then) T runs on A.
    if u_ran_on_a {
        assert!(op(
            &k,
            &LoomCpu::new(0, &m),
            SysOp::Switch(TaskRef::Task(u))
        ));
    }
    assert!(op(
        &k,
        &LoomCpu::new(0, &m),
        SysOp::Switch(TaskRef::Task(t))
    ));
    let b = spawn_b_exits(&k, &m, t, u2);
    let a = LoomCpu::new(0, &m);
    op(&k, &a, SysOp::Switch(TaskRef::Idle));
    op(&k, &a, SysOp::Switch(TaskRef::Task(u)));
    a.finish(&k);
    b.join().unwrap();
    assert_clean(settle(&k, &m));
}
