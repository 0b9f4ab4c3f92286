//! Loom models of each handshake of the protocol, each with a mutant loom must catch.
//!
//! `RUSTFLAGS="--cfg loom" cargo test --release -p lazyref --test loom` (`.ci/run` does, with
//! its own target directory). The heavy and light barriers are both `fence(SeqCst)` under
//! loom (the symmetric protocol); the asymmetric refinement is argued in `raw`'s module doc.
//! A use after free shows as loom's "Causality violation" on the node's `alive` cell (the use
//! is not ordered before the free) or as our "use after free" assert (ordered after it); a
//! lingering object shows as a wrong free count after every thread finished.
//!
//! | model | handshake | mutant caught |
//! |---|---|---|
//! | `read_vs_retire_scan` | slot store + light barrier + re-load vs swap + heavy barrier + scan | no light barrier |
//! | `hand_off_vs_holders_next_read` | hand-off CAS vs the holder's slot change and drain | Relaxed slot store; no re-check |
//! | `steal_race_aba_spec_7_18` | two freers hand off to one holder that moved on | no slot re-load (Dec-2020 mockup) |
//! | `thread_exit_vs_scan` | record release (clear, barrier, drain) vs hand-off | no barrier in unpublish |
//! | `recheck_at_next_reclaim` | a hand-off re-checked by the freer's next reclaim | no re-check |
#![cfg(loom)]

use lazyref::raw::{self, set_mutant, Header, Mutant, Node, Record, Registry, Retired};
use loom::sync::atomic::{AtomicPtr, AtomicUsize as LoomUsize};
use loom::thread;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Arc;

/// A payload that counts its frees (std counter: observation only, outside the model).
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

struct World {
    reg: Registry,
    frees: Arc<AtomicUsize>,
    srcs: Vec<AtomicPtr<Header>>,
    done: LoomUsize,
}

impl World {
    fn new(sources: usize) -> Arc<World> {
        let frees = Arc::new(AtomicUsize::new(0));
        let srcs = (0..sources)
            .map(|_| AtomicPtr::new(Node::alloc(Arc::new(Tracked(frees.clone())))))
            .collect();
        Arc::new(World {
            reg: Registry::new(),
            frees,
            srcs,
            done: LoomUsize::new(0),
        })
    }

    /// A record for a model thread (taken on the model's main thread to keep the state small).
    fn record(&self) -> usize {
        self.reg.acquire() as *const Record as usize
    }

    /// A reader's `LazyArc::load` through slot `i`: the fast path, else `protect`.
    fn read(&self, rec: usize, i: usize, src: usize) -> *mut Header {
        let rec = rec_ref(rec);
        let cur = self.srcs[src].load(Acquire);
        if rec.slot(i) == cur {
            cur
        } else {
            raw::protect(rec, i, &self.srcs[src], cur)
        }
    }

    /// A writer's `store`, the reclaim of a batch of one, and the writer's `flush` (the heavy
    /// barrier after which it re-checks its hand-offs).
    fn replace_and_reclaim(&self, src: usize) {
        let new = Node::alloc(Arc::new(Tracked(self.frees.clone())));
        let old = self.srcs[src].swap(new, AcqRel);
        let mut r = Retired::new();
        r.batch.push(old);
        // SAFETY: swapped out; the batch takes the source's count.
        unsafe { raw::reclaim(&self.reg, &mut r) };
        raw::settle(&mut r);
    }

    /// After every model thread joined: release records, retire the current nodes, and
    /// return how many payloads were freed before that cleanup.
    fn settle(&self, recs: &[usize]) -> usize {
        let before = self.frees.load(SeqCst);
        for &r in recs {
            self.reg.release(rec_ref(r));
        }
        for s in &self.srcs {
            let mut r = Retired::new();
            r.batch.push(s.swap(std::ptr::null_mut(), AcqRel));
            // SAFETY: as in `replace_and_reclaim`.
            unsafe { raw::reclaim(&self.reg, &mut r) };
            raw::settle(&mut r);
        }
        before
    }
}

fn rec_ref(r: usize) -> &'static Record {
    // SAFETY: records live as long as the model's registry, which outlives every use here.
    unsafe { &*(r as *const Record) }
}

fn use_node(h: *mut Header) {
    // SAFETY: loom builds never free node memory; the cell check is the use.
    unsafe { Header::check_alive(h) };
}

/// Runs `model` under loom with `mutant`; Ok(executions) or Err(panic message).
fn explore(mutant: Mutant, model: impl Fn() + Sync + Send + 'static) -> Result<usize, String> {
    let runs = Arc::new(AtomicUsize::new(0));
    let r2 = runs.clone();
    set_mutant(mutant);
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(2);
    }
    let res = catch_unwind(AssertUnwindSafe(|| {
        b.check(move || {
            r2.fetch_add(1, Relaxed);
            model()
        })
    }));
    set_mutant(Mutant::None);
    let n = runs.load(Relaxed);
    match res {
        Ok(()) => {
            println!("{n} executions explored");
            Ok(n)
        }
        Err(p) => Err(format!(
            "after {n} executions: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

fn assert_caught(res: Result<usize, String>, any_of: &[&str]) {
    match res {
        Ok(n) => panic!("mutant survived {n} executions"),
        Err(msg) => {
            assert!(
                any_of.iter().any(|m| msg.contains(m)),
                "mutant caught, but by an unexpected failure: {msg}"
            );
            println!("caught: {}", msg.lines().next().unwrap_or_default());
        }
    }
}

const UAF: &[&str] = &["Causality violation", "use after free"];
const LINGER: &[&str] = &["lingers"];

fn read_vs_retire_scan() {
    let w = World::new(1);
    let rec = w.record();
    let w2 = w.clone();
    let reader = thread::spawn(move || {
        let n = w2.read(rec, 0, 0);
        use_node(n);
        use_node(w2.read(rec, 0, 0));
    });
    w.replace_and_reclaim(0);
    reader.join().unwrap();
    w.settle(&[rec]);
    assert_eq!(w.frees.load(SeqCst), 2, "every node freed exactly once");
}

#[test]
fn read_vs_retire_scan_is_safe() {
    explore(Mutant::None, read_vs_retire_scan).unwrap();
}

#[test]
fn read_vs_retire_scan_without_light_barrier_is_caught() {
    assert_caught(explore(Mutant::NoLightBarrier, read_vs_retire_scan), UAF);
}

/// The holder reads source 0, then source 1 through the same slot (its next read of another
/// object); the writer replaces source 0 and reclaims it concurrently. Afterwards source 0's
/// first node must be freed: by the writer, by the holder's drain, or by the writer's
/// take-back — not left in the drop cell.
fn hand_off_vs_holders_next_read() {
    let w = World::new(2);
    let rec = w.record();
    let w2 = w.clone();
    // The holder runs on the model's main thread: loom then reaches the window between its
    // slot store and its barrier within the preemption bound.
    let writer = thread::spawn(move || w2.replace_and_reclaim(0));
    use_node(w.read(rec, 0, 0));
    use_node(w.read(rec, 0, 1));
    writer.join().unwrap();
    assert_eq!(
        w.frees.load(SeqCst),
        1,
        "source 0's old node lingers after the holder moved on"
    );
    w.settle(&[rec]);
    assert_eq!(w.frees.load(SeqCst), 3);
}

#[test]
fn hand_off_vs_holders_next_read_is_safe() {
    explore(Mutant::None, hand_off_vs_holders_next_read).unwrap();
}

#[test]
fn hand_off_with_relaxed_slot_store_is_caught() {
    assert_caught(
        explore(Mutant::SlotStoreRelaxed, hand_off_vs_holders_next_read),
        UAF,
    );
}

#[test]
fn hand_off_without_recheck_is_caught() {
    assert_caught(
        explore(Mutant::NoRecheck, hand_off_vs_holders_next_read),
        LINGER,
    );
}

/// The re-check rides on the freer's next reclaim: the writer retires source 0's node (a
/// hand-off to the holder, maybe), then source 1's with the same retire state — that second
/// reclaim's heavy barrier re-checks the first one's hand-offs — and never settles. The
/// holder meanwhile moves its slot from source 0 to source 2, which nobody replaces (so no
/// later hand-off to that slot can steal, and free, what lingers). Source 0's and source 1's
/// old nodes must both be freed by the time both are done.
fn recheck_at_next_reclaim() {
    let w = World::new(3);
    let rec = w.record();
    let w2 = w.clone();
    let writer = thread::spawn(move || {
        let mut r = Retired::new();
        for src in 0..2 {
            let new = Node::alloc(Arc::new(Tracked(w2.frees.clone())));
            r.batch.push(w2.srcs[src].swap(new, AcqRel));
            // SAFETY: swapped out; the batch takes the source's count.
            unsafe { raw::reclaim(&w2.reg, &mut r) };
        }
        // Deliberately no `settle`: the second reclaim's barrier did the first's re-check.
        assert!(
            r.is_empty(),
            "no hand-off in the second reclaim: nothing left to re-check"
        );
    });
    use_node(w.read(rec, 0, 0));
    use_node(w.read(rec, 0, 2));
    writer.join().unwrap();
    assert_eq!(
        w.frees.load(SeqCst),
        2,
        "source 0's old node lingers after the holder moved on"
    );
    w.settle(&[rec]);
    assert_eq!(w.frees.load(SeqCst), 5);
}

#[test]
fn recheck_at_next_reclaim_is_safe() {
    explore(Mutant::None, recheck_at_next_reclaim).unwrap();
}

#[test]
fn recheck_at_next_reclaim_without_recheck_is_caught() {
    assert_caught(explore(Mutant::NoRecheck, recheck_at_next_reclaim), LINGER);
}

/// Spec §7 #18: holder A uses M1 (source 0), F1 starts retiring M1 and scans `slot == M1`;
/// A moves to M2 (source 1) in the same slot; F2 retires M2 and hands it to A; F1 then finds
/// `drop == M2`. F1 must re-load the slot (M2 ≠ M1: drop M1), not steal M2. A keeps using
/// M2 until both freers are done.
fn steal_race_aba() {
    let w = World::new(2);
    let rec = w.record();
    let (w1, w2) = (w.clone(), w.clone());
    let f1 = thread::spawn(move || {
        w1.replace_and_reclaim(0);
        // Release: the holder's final use waits for both freers (scheduling only).
        w1.done.fetch_add(1, Release);
    });
    let f2 = thread::spawn(move || {
        w2.replace_and_reclaim(1);
        // Release: as above.
        w2.done.fetch_add(1, Release);
    });
    // Holder A on the main thread; its yields let loom run a freer in each gap without
    // spending preemptions.
    use_node(w.read(rec, 0, 0));
    thread::yield_now();
    let m2 = w.read(rec, 0, 1);
    use_node(m2);
    while w.done.load(Acquire) < 2 {
        thread::yield_now();
    }
    use_node(m2);
    f1.join().unwrap();
    f2.join().unwrap();
    w.settle(&[rec]);
    assert_eq!(w.frees.load(SeqCst), 4);
}

#[test]
fn steal_race_aba_spec_7_18_is_safe() {
    explore(Mutant::None, steal_race_aba).unwrap();
}

#[test]
fn steal_race_aba_spec_7_18_without_slot_reload_is_caught() {
    assert_caught(explore(Mutant::NoSlotReload, steal_race_aba), UAF);
}

/// A thread reads, then exits (releases its record) while the writer retires what it read.
/// Nothing may linger in the exited thread's drop cell.
fn thread_exit_vs_scan() {
    let w = World::new(1);
    let rec = w.record();
    let w2 = w.clone();
    let t = thread::spawn(move || {
        use_node(w2.read(rec, 0, 0));
        w2.reg.release(rec_ref(rec));
    });
    w.replace_and_reclaim(0);
    t.join().unwrap();
    assert_eq!(
        w.frees.load(SeqCst),
        1,
        "a node lingers in an exited thread's record"
    );
    w.settle(&[]);
    assert_eq!(w.frees.load(SeqCst), 2);
}

#[test]
fn thread_exit_vs_scan_is_safe() {
    explore(Mutant::None, thread_exit_vs_scan).unwrap();
}

#[test]
fn thread_exit_without_unpublish_barrier_is_caught() {
    assert_caught(
        explore(Mutant::NoUnpublishBarrier, thread_exit_vs_scan),
        LINGER,
    );
}
