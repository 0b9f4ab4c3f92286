//! Random exploration: seeded random workloads (fork, exec and exit of multi-threaded
//! processes, kthread_use_mm workers — some of which sleep and migrate while they use the mm
//! —, drivers holding only mm_count, membarrier registration and calls, NMIs, EFI and
//! text_poke calls, hotplug, munmap, /proc readers) run on the step engine with random NMIs
//! and preemption at the kernel's preemptible points (exec, and an exiting task between
//! exit_mm and its final schedule), checked by the oracle.

use crate::run::{run_one, Built, Outcome};
use lazymm_engines::step::Step;
use lazymm_model::era::clean_variant;
use lazymm_model::{ArchId, Kernel, SchemeId, SysOp, TaskRef, Variant};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Exploration parameters.
#[derive(Clone, Debug)]
pub struct ExploreConfig {
    /// CPUs.
    pub ncpus: usize,
    /// Ops per CPU.
    pub steps: usize,
    /// Seed.
    pub seed: u64,
}

/// One random kernel entry point for `cpu` (shared by exploration and threads torture).
/// Ops whose preconditions fail at run time are skipped by the model.
pub fn random_sysop(rng: &mut impl Rng, cpu: usize, ncpus: usize) -> SysOp {
    let r = rng.gen_range(0..100u32);
    let n = rng.gen::<u32>();
    match r {
        0..=34 => SysOp::SwitchPick(n),
        35..=44 => SysOp::Switch(TaskRef::Idle),
        45..=51 => SysOp::Exit {
            then: TaskRef::Idle,
        },
        52..=55 => SysOp::Exec,
        56..=59 => SysOp::Fork,
        60..=62 => SysOp::CloneThread,
        63..=64 => SysOp::KthreadWorkPick(n),
        65 => SysOp::KthreadWorkBegin(n),
        66 => SysOp::KthreadWorkEnd,
        67 => SysOp::DriverPinPick(n),
        68 => SysOp::DriverWork(n),
        69..=72 => SysOp::ProcMemPick(n),
        73..=77 => SysOp::Munmap {
            freed_tables: rng.gen(),
        },
        78..=80 => SysOp::TextPoke,
        81..=83 => SysOp::EfiCall,
        84..=87 => SysOp::Nmi,
        88..=90 => SysOp::IdleLeaveMm,
        91..=92 if cpu != 0 && ncpus > 1 => SysOp::CpuOfflineCycle,
        93 => SysOp::Spawn { threads: 1 + n % 3 },
        94 => SysOp::SpawnKthread,
        95 => SysOp::MembarrierRegister,
        96..=97 => SysOp::Membarrier,
        _ => SysOp::Idle(1 + n % 3),
    }
}

/// Builds a random workload for `seed`.
pub fn workload(k: &Kernel, cfg: &ExploreConfig) -> Built {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    for _ in 0..3 {
        let threads = rng.gen_range(1..=3);
        k.create_process(threads).expect("capacity");
    }
    for _ in 0..2 {
        k.create_kthread().expect("capacity");
    }
    let scripts: Vec<Vec<Step>> = (0..cfg.ncpus)
        .map(|cpu| {
            (0..cfg.steps)
                .map(|_| Step::Op(random_sysop(&mut rng, cpu, cfg.ncpus)))
                .collect()
        })
        .collect();
    Built {
        scripts,
        ..Default::default()
    }
}

/// Runs one exploration with the clean variant of `scheme` (mainline, or as-posted + fixes).
pub fn explore(scheme: SchemeId, arch: ArchId, cfg: &ExploreConfig) -> Outcome {
    explore_variant(&clean_variant(scheme), arch, cfg)
}

/// Runs one exploration with `v` on its era's knobs.
pub fn explore_variant(v: &Variant, arch: ArchId, cfg: &ExploreConfig) -> Outcome {
    let c = cfg.clone();
    let build = move |k: &Kernel| workload(k, &c);
    run_one(
        &format!("explore(seed={})", cfg.seed),
        crate::run::Named::variant(v),
        arch,
        cfg.ncpus,
        v.knobs(arch),
        &build,
        cfg.seed,
        0.02,
        0.05,
    )
}
