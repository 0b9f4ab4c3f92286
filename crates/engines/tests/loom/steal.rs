//! H: the drop_mm hand-off and steal race (spec §7 #18), in its two-CPU form (A plays F2).

use crate::common::*;
use lazymm_engines::loom::{LoomCpu, LoomMachine};
use lazymm_model::oracle::ViolationKind;
use lazymm_model::schemes::hazard::Hazard;
use lazymm_model::{ArchId, Knobs, SysOp, TaskRef};
use loom::sync::Arc;

fn hazard(reload_lazy_mm: bool) -> Box<Hazard> {
    Box::new(Hazard {
        reload_lazy_mm,
        mutant: (!reload_lazy_mm).then_some("hazard-dec2020-mockup"),
        ..Hazard::default()
    })
}

/// The mockup's failure: F1's steal drops A's reference to M2 (`mmdrop(old)` in
/// `__try_mm_drop_rq_ref`), and M2 is freed while A still has it loaded.
const STEAL_FREED_M2: Caught = Caught::OracleAt(
    ViolationKind::FreedWhileLoaded,
    "__try_mm_drop_rq_ref > mmdrop > __mmdrop",
);

fn steal_race(reload_lazy_mm: bool) {
    let k = Arc::new(boot(
        hazard(reload_lazy_mm),
        ArchId::Arm64,
        2,
        Knobs::fixed(),
    ));
    let m = Arc::new(LoomMachine::new(2));
    let (_m1, t1) = k.create_process(1).unwrap();
    let (_m2, t2) = k.create_process(1).unwrap();
    let (t1, t2) = (t1[0], t2[0]);
    // Setup: A ran T1 and is lazy on M1.
    let a = LoomCpu::new(0, &m);
    op(&k, &a, SysOp::Switch(TaskRef::Task(t1)));
    op(&k, &a, SysOp::Switch(TaskRef::Idle));
    let (k1, m1) = (k.clone(), m.clone());
    let f1 = loom::thread::spawn(move || {
        // F1 exits M1's last thread: its scan may load rq_A->lazy_mm == M1 ...
        let c = LoomCpu::new(1, &m1);
        op(&k1, &c, SysOp::Switch(TaskRef::Task(t1)));
        exit(&k1, &c);
        c.finish(&k1);
    });
    // ... while A runs T2 (user M2) and T2 exits on A: A goes lazy on M2 and M2's scan hands
    // A's rq the drop_mm reference for M2 (the role of F2 in §7 #18, played by A itself).
    op(&k, &a, SysOp::Switch(TaskRef::Task(t2)));
    exit(&k, &a);
    a.finish(&k);
    f1.join().unwrap();
    assert_clean(settle(&k, &m));
}

#[test]
fn hazard_drop_mm_steal_race_scenario_18() {
    explore(|| steal_race(true)).unwrap();
}

#[test]
fn hazard_dec2020_mockup_steal_without_reload_is_caught() {
    assert_caught(|| steal_race(false), &[STEAL_FREED_M2]);
}
