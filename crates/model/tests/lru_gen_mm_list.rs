//! MGLRU's mm list under `CONFIG_LRU_GEN_WALKS_MMU` (lru_gen.rs; 6.12 mm/vmscan.c
//! `lru_gen_add_mm`/`lru_gen_del_mm`, kernel/fork.c, fs/exec.c): the lines each operation
//! writes, on one CPU. `L` is the root memcg's `lru_gen_mm_list` line (fifo head and lock);
//! `g(m)` is mm `m`'s `lru_gen` line.

mod common;

use common::Rec;
use lazymm_model::machine::{Access, Line};
use lazymm_model::{ArchId, Kernel, Knobs, MmRef, SysOp, TaskRef};

const L: Line = Line::MmList(0);
const RMW: Access = Access::Rmw;
const ST: Access = Access::Store;
const LD: Access = Access::Load;

fn g(m: MmRef) -> Line {
    Line::MmLruGen(m.idx() as u32)
}

fn boot(lru_gen: bool) -> Kernel {
    let knobs = Knobs {
        lru_gen_walks_mmu: lru_gen,
        ..Knobs::mainline(ArchId::X86)
    };
    common::boot(ArchId::X86, knobs, "lru-gen-mm-list")
}

/// Forks from CPU 0's current task; the new process's mm.
fn fork(k: &Kernel, c: &Rec) -> MmRef {
    let before = k.live_mms();
    assert!(k.do_op(c, &SysOp::Fork));
    let mut new = k.live_mms();
    new.retain(|m| !before.contains(m));
    assert_eq!(new.len(), 1, "one new mm");
    new[0]
}

fn mglru(l: Line) -> bool {
    matches!(l, Line::MmList(_) | Line::MmLruGen(_))
}

/// T (a process created before the run, so not on the list) forks twice, then execs twice.
/// - fork → Q: `spin_lock` (RMW L); `list_add_tail`: Q's entry, the old tail's `next` (the
///   head itself on an empty list), the head's `prev`; `spin_unlock` (store L).
/// - fork → R: the same, with Q as the old tail.
/// - exec → N: add N after R, then `lru_gen_use_mm(N)`; the old mm (T's, not on the list)
///   goes in `__mmput`: `lru_gen_del_mm` reads its entry, finds it empty, returns.
/// - exec → N2: add N2 after N, use N2; `__mmput(N)`: read N's entry, lock, `list_del_init`:
///   the previous entry (R) and the next (N2), N's own, unlock.
#[test]
fn lru_gen_mm_list_adds_at_fork_and_exec_and_deletes_at_mmput() {
    let k = boot(true);
    let c = Rec::default();
    let (p, t) = k.create_process(1).expect("room");
    assert!(k.do_op(&c, &SysOp::Switch(TaskRef::Task(t[0]))));
    assert_eq!(
        c.take(mglru),
        [(g(p), ST)],
        "switch to user: lru_gen_use_mm"
    );
    let mm_of = |k: &Kernel| k.task(t[0]).mm();
    let q = fork(&k, &c);
    assert_eq!(c.take(mglru), [(L, RMW), (g(q), ST), (L, ST), (L, ST)]);
    let r = fork(&k, &c);
    assert_eq!(c.take(mglru), [(L, RMW), (g(r), ST), (g(q), ST), (L, ST)]);
    assert!(k.do_op(&c, &SysOp::Exec));
    let n = mm_of(&k);
    assert_eq!(
        c.take(mglru),
        [
            (L, RMW),
            (g(n), ST),
            (g(r), ST),
            (L, ST),
            (g(n), ST),
            (g(p), LD)
        ]
    );
    assert!(k.do_op(&c, &SysOp::Exec));
    let n2 = mm_of(&k);
    assert_eq!(
        c.take(mglru),
        [
            (L, RMW),
            (g(n2), ST),
            (g(n), ST),
            (L, ST),
            (g(n2), ST),
            (g(n), LD),
            (L, RMW),
            (g(r), ST),
            (g(n2), ST),
            (g(n), ST),
            (L, ST),
        ]
    );
}

/// Without the option none of these lines is touched.
#[test]
fn lru_gen_lines_are_untouched_without_the_option() {
    let k = boot(false);
    let c = Rec::default();
    let (_, t) = k.create_process(1).expect("room");
    for op in [
        SysOp::Switch(TaskRef::Task(t[0])),
        SysOp::Fork,
        SysOp::Exec,
        SysOp::Exec,
    ] {
        assert!(k.do_op(&c, &op), "{op:?}");
    }
    assert_eq!(c.take(mglru), []);
}
