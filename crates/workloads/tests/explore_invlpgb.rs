//! Random exploration with INVLPGB global ASIDs (`Knobs::invlpgb`, 7.2's policy) on x86, for
//! the mainline rows that run it on such a machine (R and L; generic S was never enabled on
//! x86). The general exploration (`explore.rs`) cannot reach a global ASID: its processes
//! have at most three threads on four CPUs, and `consider_global_asid` needs more than three
//! CPUs running the mm. Here six CPUs start on five threads of one process, whose first
//! thread is pid 32 (`32 & 0x1f == jiffies & 0x1f`, the step engine's jiffies being 0), and
//! that thread flushes first, while the other four wait for it. Then every CPU runs random kernel entry points — switches,
//! exits, exec, fork, munmap with and without freed tables, NMIs, EFI, text_poke, hotplug,
//! kthread_use_mm — while the transition's IPIs and the broadcasts run. The oracle checks
//! every free and every freeing flush (no CPU left walking freed page tables).

use lazymm_engines::step::Step;
use lazymm_model::era;
use lazymm_model::{ArchId, Kernel, Knobs, SysOp, TaskId, TaskRef};
use lazymm_workloads::explore::random_sysop;
use lazymm_workloads::run::{run_one, Built, Named};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const NCPUS: usize = 6;
const STEPS: usize = 30;

fn build(k: &Kernel, seed: u64) -> Built {
    // Task numbers start at NCPUS (the idle tasks): pad up to 32.
    k.create_process(32 - NCPUS).expect("capacity");
    let (_m, ts) = k.create_process(5).expect("capacity");
    assert_eq!(ts[0], TaskId(32));
    k.create_process(2).expect("capacity");
    k.create_kthread().expect("capacity");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let scripts = (0..NCPUS)
        .map(|cpu| {
            let mut s = vec![];
            if cpu < ts.len() {
                s.push(Step::Op(SysOp::Switch(TaskRef::Task(ts[cpu]))));
            }
            if cpu == 0 {
                s.extend((1..ts.len()).map(|i| Step::WaitMark(format!("on{i}"))));
                s.push(Step::Op(SysOp::Munmap {
                    freed_tables: false,
                }));
                s.push(Step::Mark("flushed".into()));
            } else if cpu < ts.len() {
                s.push(Step::Mark(format!("on{cpu}")));
                s.push(Step::WaitMark("flushed".into()));
            }
            s.extend((0..STEPS).map(|_| Step::Op(random_sysop(&mut rng, cpu, NCPUS))));
            s
        })
        .collect();
    Built {
        scripts,
        ..Default::default()
    }
}

#[test]
fn explore_invlpgb_global_asid_transitions_keep_mainline_schemes_safe() {
    let seeds = std::env::var("LAZYMM_EXPLORE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64u64);
    for name in ["refcount", "mmput-flush"] {
        let v = era::variant(name).expect("variant");
        let knobs = Knobs {
            invlpgb: true,
            ..v.knobs(ArchId::X86)
        };
        let mut broadcasts = 0;
        for seed in 0..seeds {
            let o = run_one(
                &format!("explore-invlpgb(seed={seed})"),
                Named::variant(&v),
                ArchId::X86,
                NCPUS,
                knobs.clone(),
                &|k: &Kernel| build(k, seed),
                seed,
                0.02,
                0.05,
            );
            assert!(
                o.row.violations.is_empty(),
                "{name} seed {seed}: {:?}",
                o.row.violations
            );
            broadcasts += o.counters.broadcast_flushes;
        }
        // The first flush gives the mm a global ASID (5 CPUs on it, none lazy yet), so the
        // exploration does reach the broadcasts and the transition.
        assert!(broadcasts >= seeds, "{name}: {broadcasts} broadcasts");
    }
}
