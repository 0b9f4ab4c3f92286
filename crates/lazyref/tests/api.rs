//! The public API's behaviour: values, lazy slots, hand-off to holders, thread exit, the
//! fallbacks. Each test counts frees with a payload that records its drop.
#![cfg(not(loom))]

use lazyref::{flush, Guard, LazyArc, RETIRE_BATCH};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::thread;

/// A value that counts its drops.
struct Counted {
    v: usize,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn counted(v: usize, drops: &Arc<AtomicUsize>) -> Arc<Counted> {
    Arc::new(Counted {
        v,
        drops: drops.clone(),
    })
}

/// Enough stores to fill a retire batch, so that one reclaim certainly ran.
fn churn(x: &LazyArc<Counted>, drops: &Arc<AtomicUsize>) {
    for v in 0..RETIRE_BATCH {
        x.store(counted(1000 + v, drops));
    }
}

#[test]
fn load_sees_the_latest_store_and_swap_returns_the_previous() {
    let x = LazyArc::from_pointee(1);
    assert_eq!(*x.load(), 1);
    x.store(Arc::new(2));
    assert_eq!(*x.load(), 2);
    assert_eq!(*x.swap(Arc::new(3)), 2);
    assert_eq!(*x.load_full(), 3);
}

#[test]
fn repeated_read_of_an_unchanged_object_stays_lazy_and_nests() {
    let x = LazyArc::from_pointee(7);
    let a = x.load();
    let b = x.load();
    assert!(Guard::is_lazy(&a) && Guard::is_lazy(&b));
    assert_eq!(*a + *b, 14);
}

#[test]
fn retired_objects_nobody_holds_are_freed_by_flush() {
    let drops = Arc::new(AtomicUsize::new(0));
    let x = LazyArc::new(counted(0, &drops));
    for v in 1..=3 {
        x.store(counted(v, &drops));
    }
    flush();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    drop(x);
    flush();
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[test]
fn live_guard_keeps_its_object_across_retire_and_reclaim() {
    let drops = Arc::new(AtomicUsize::new(0));
    let x = LazyArc::new(counted(0, &drops));
    let g = x.load();
    churn(&x, &drops);
    flush();
    assert_eq!(g.v, 0, "the guarded object is still readable");
    let freed_before = drops.load(Ordering::SeqCst);
    drop(g);
    flush();
    assert_eq!(drops.load(Ordering::SeqCst), freed_before + 1);
}

#[test]
fn lazily_held_object_is_handed_to_its_holder_who_drops_it_at_its_next_read() {
    let drops = Arc::new(AtomicUsize::new(0));
    let x = Arc::new(LazyArc::new(counted(0, &drops)));
    let (to_reader, reader_rx) = channel::<()>();
    let (to_main, main_rx) = channel::<()>();
    let xr = x.clone();
    let reader = thread::spawn(move || {
        assert_eq!(xr.load().v, 0); // guard dropped, slot stays published
        to_main.send(()).unwrap();
        reader_rx.recv().unwrap();
        assert_ne!(xr.load().v, 0); // the next read of another object drops the hand-off
        to_main.send(()).unwrap();
        reader_rx.recv().unwrap();
    });
    main_rx.recv().unwrap();
    x.store(counted(1, &drops));
    flush();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "object 0 is held lazily by the reader"
    );
    to_reader.send(()).unwrap();
    main_rx.recv().unwrap();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the reader dropped the hand-off"
    );
    to_reader.send(()).unwrap();
    reader.join().unwrap();
}

#[test]
fn thread_exit_drops_what_the_thread_held_and_recycles_its_record() {
    let drops = Arc::new(AtomicUsize::new(0));
    let x = Arc::new(LazyArc::new(counted(0, &drops)));
    let xr = x.clone();
    thread::spawn(move || assert_eq!(xr.load().v, 0))
        .join()
        .unwrap();
    let records = lazyref::record_count();
    x.store(counted(1, &drops));
    flush();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    for _ in 0..8 {
        let xr = x.clone();
        thread::spawn(move || assert_eq!(xr.load().v, 1))
            .join()
            .unwrap();
    }
    assert!(lazyref::record_count() <= records + 1, "records are reused");
}

#[test]
fn exited_thread_is_not_handed_objects_that_linger() {
    let drops = Arc::new(AtomicUsize::new(0));
    let x = Arc::new(LazyArc::new(counted(0, &drops)));
    let xr = x.clone();
    let t = thread::spawn(move || {
        let _ = xr.load().v;
    });
    x.store(counted(1, &drops));
    t.join().unwrap();
    flush();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn more_live_guards_than_slots_fall_back_to_owned_arcs() {
    let xs: Vec<LazyArc<usize>> = (0..lazyref::raw::SLOTS + 2)
        .map(LazyArc::from_pointee)
        .collect();
    let guards: Vec<_> = xs.iter().map(|x| x.load()).collect();
    let lazy = guards.iter().filter(|g| Guard::is_lazy(g)).count();
    assert_eq!(lazy, lazyref::raw::SLOTS);
    for (i, g) in guards.iter().enumerate() {
        assert_eq!(**g, i);
    }
}

#[test]
fn upgraded_arc_outlives_the_lazy_arc_and_reclamation() {
    let drops = Arc::new(AtomicUsize::new(0));
    let x = LazyArc::new(counted(5, &drops));
    let held = Guard::into_arc(x.load());
    churn(&x, &drops);
    drop(x);
    flush();
    assert_eq!(held.v, 5);
    assert_eq!(Arc::strong_count(&held), 1);
}

#[test]
fn reads_and_stores_from_a_tls_destructor_work() {
    struct ReadsOnExit(Arc<LazyArc<usize>>, std::sync::mpsc::Sender<usize>);
    impl Drop for ReadsOnExit {
        fn drop(&mut self) {
            self.0.store(Arc::new(9));
            let _ = self.1.send(*self.0.load());
        }
    }
    thread_local! {
        static ON_EXIT: std::cell::RefCell<Option<ReadsOnExit>> = const { std::cell::RefCell::new(None) };
    }
    let x = Arc::new(LazyArc::from_pointee(1));
    let (tx, rx) = channel();
    let xr = x.clone();
    thread::spawn(move || {
        assert_eq!(*xr.load(), 1);
        ON_EXIT.with(|c| *c.borrow_mut() = Some(ReadsOnExit(xr, tx)));
    })
    .join()
    .unwrap();
    assert_eq!(rx.recv().unwrap(), 9);
}
