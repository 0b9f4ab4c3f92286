//! Long stress: readers, writers, thread churn, a stalled lazy reader and a stalled guard, on
//! two `LazyArc`s, under a poisoning, counting allocator. Asserts no use after free (canaries
//! in every payload; freed memory is overwritten with a poison pattern before it is returned)
//! and bounded memory (the peak number of live payloads never exceeds the documented bound).
//!
//! `LAZYREF_STRESS_SECS` sets the duration (default 2 s; the README's figures used 60 s):
//! `LAZYREF_STRESS_SECS=60 cargo test --release -p lazyref --test stress -- --nocapture`.
#![cfg(not(loom))]

use lazyref::{flush, Guard, LazyArc, RETIRE_BATCH};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use std::{hint, thread};

/// Counts heap bytes (current, peak) and poisons memory before returning it to the system.
struct Poisoning;

static HEAP: AtomicUsize = AtomicUsize::new(0);
static HEAP_PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to `System`; the poison write covers exactly the block being freed.
unsafe impl GlobalAlloc for Poisoning {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = HEAP.fetch_add(l.size(), Relaxed) + l.size();
        HEAP_PEAK.fetch_max(now, Relaxed);
        // SAFETY: caller's contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        HEAP.fetch_sub(l.size(), Relaxed);
        // SAFETY: `p` is a live block of `l.size()` bytes being freed by its owner.
        unsafe {
            std::ptr::write_bytes(p, 0xA5, l.size());
            System.dealloc(p, l)
        }
    }
}

#[global_allocator]
static GLOBAL: Poisoning = Poisoning;

const MAGIC: u64 = 0x1a2e_0000_0000_0001;
const FREED: u64 = 0xdead_dead_dead_dead;

static CREATED: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);
static LIVE_PEAK: AtomicUsize = AtomicUsize::new(0);
/// Retire-to-free latency, log2 buckets of nanoseconds.
static LATENCY: [AtomicU64; 48] = [const { AtomicU64::new(0) }; 48];
static LATENCY_MAX: AtomicU64 = AtomicU64::new(0);

fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

/// A payload with a canary, a body whose checksum readers verify, and its retire time.
struct Payload {
    canary: u64,
    body: [u64; 6],
    retired_at: AtomicU64,
}

impl Payload {
    fn new(seed: u64) -> Arc<Payload> {
        CREATED.fetch_add(1, Relaxed);
        LIVE_PEAK.fetch_max(LIVE.fetch_add(1, Relaxed) + 1, Relaxed);
        let mut body = [seed; 6];
        body[5] = body[..5].iter().fold(0, |a, b| a ^ b.rotate_left(7));
        Arc::new(Payload {
            canary: MAGIC,
            body,
            retired_at: AtomicU64::new(0),
        })
    }

    /// The use-after-free check: a freed payload reads as poison or `FREED`.
    fn check(&self) -> u64 {
        assert_eq!(
            self.canary, MAGIC,
            "use after free: payload canary clobbered"
        );
        let sum = self.body[..5].iter().fold(0, |a, b| a ^ b.rotate_left(7));
        assert_eq!(sum, self.body[5], "use after free: payload body clobbered");
        sum
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        assert_eq!(self.canary, MAGIC, "double free");
        self.canary = FREED;
        let r = self.retired_at.load(Relaxed);
        if r != 0 {
            let d = now_ns().saturating_sub(r).max(1);
            LATENCY[63 - d.leading_zeros() as usize].fetch_add(1, Relaxed);
            LATENCY_MAX.fetch_max(d, Relaxed);
        }
        DROPPED.fetch_add(1, Relaxed);
        LIVE.fetch_sub(1, Relaxed);
    }
}

fn percentile(q: f64) -> u64 {
    let counts: Vec<u64> = LATENCY.iter().map(|c| c.load(Relaxed)).collect();
    let total: u64 = counts.iter().sum();
    let want = ((total as f64) * q).ceil() as u64;
    let mut seen = 0;
    for (b, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= want.max(1) {
            return 1u64 << (b + 1); // upper edge of the bucket
        }
    }
    0
}

#[test]
fn readers_writers_churn_and_stalled_readers_stay_bounded_with_no_use_after_free() {
    let secs: f64 = std::env::var("LAZYREF_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(miri) { 0.0 } else { 2.0 });
    let min_iters = if cfg!(miri) { 30 } else { 1000 };
    let (readers, writers) = (6usize, 2usize);
    let srcs: Arc<[LazyArc<Payload>; 2]> =
        Arc::new([LazyArc::new(Payload::new(1)), LazyArc::new(Payload::new(2))]);
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let writes = Arc::new(AtomicU64::new(0));
    let churned = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();

    // Stalled readers: one keeps a slot published (a lazy hold), one keeps a live guard.
    let (s1, st1) = (srcs.clone(), stop.clone());
    handles.push(thread::spawn(move || {
        s1[0].load().check();
        while !st1.load(Relaxed) {
            thread::sleep(Duration::from_millis(5));
        }
    }));
    let (s2, st2) = (srcs.clone(), stop.clone());
    handles.push(thread::spawn(move || {
        let g = s2[1].load();
        while !st2.load(Relaxed) {
            thread::sleep(Duration::from_millis(5));
        }
        g.check();
    }));
    for r in 0..readers {
        let (s, st, n) = (srcs.clone(), stop.clone(), reads.clone());
        handles.push(thread::spawn(move || {
            let mut i = 0u64;
            while !st.load(Relaxed) || i < min_iters {
                let a = s[(i as usize + r) % 2].load();
                let mut acc = a.check();
                if i % 64 == 0 {
                    let b = s[(i as usize + r + 1) % 2].load(); // nested, other source
                    acc ^= b.check();
                    thread::yield_now(); // hold both across a reschedule
                    acc ^= a.check() ^ b.check();
                }
                if i % 1024 == 0 {
                    let owned = Guard::into_arc(a);
                    thread::yield_now();
                    acc ^= owned.check();
                }
                hint::black_box(acc);
                i += 1;
            }
            n.fetch_add(i, Relaxed);
        }));
    }
    for w in 0..writers {
        let (s, st, n) = (srcs.clone(), stop.clone(), writes.clone());
        handles.push(thread::spawn(move || {
            let mut i = 0u64;
            while !st.load(Relaxed) || i < min_iters {
                let old = s[(i as usize + w) % 2].swap(Payload::new(i));
                old.retired_at.store(now_ns(), Relaxed);
                drop(old);
                i += 1;
                if i % 16 == 0 {
                    thread::yield_now();
                }
            }
            n.fetch_add(i, Relaxed);
        }));
    }
    // Churn: short-lived readers, registering and exiting.
    let (s, st, n) = (srcs.clone(), stop.clone(), churned.clone());
    handles.push(thread::spawn(move || {
        let mut k = 0u64;
        while !st.load(Relaxed) || k < 5 {
            let s2 = s.clone();
            thread::spawn(move || {
                for i in 0..50 {
                    s2[i % 2].load().check();
                }
            })
            .join()
            .unwrap();
            k += 1;
        }
        n.fetch_add(k, Relaxed);
    }));

    let start = Instant::now();
    thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    let elapsed = start.elapsed();
    let records = lazyref::record_count();
    // The documented bound: each record holds at most SLOTS objects in its slots plus at most
    // one per slot in its drop cells awaiting a freer's re-check; each writer has at most a
    // full batch in flight plus the `Arc` returned by its swap; readers hold an upgraded Arc
    // each; plus the two current values.
    let bound = records * 2 * lazyref::raw::SLOTS + writers * (RETIRE_BATCH + 1) + readers + 2;
    let peak = LIVE_PEAK.load(Relaxed);
    drop(Arc::try_unwrap(srcs).ok().expect("all threads joined"));
    flush();
    let (created, dropped) = (CREATED.load(Relaxed), DROPPED.load(Relaxed));
    println!(
        "stress: {:.1} s, {} reader + {} writer + 2 stalled + churn threads ({} short-lived), \
         {} records; {} reads, {} writes ({:.2} M ops/s); peak live payloads {} (bound {}), \
         peak heap {} KiB; retire-to-free p50 ≤ {} ns, p99 ≤ {} ns, max {:.3} s (the stalled lazy reader's object); \
         created {}, freed {}",
        elapsed.as_secs_f64(),
        readers,
        writers,
        churned.load(Relaxed),
        records,
        reads.load(Relaxed),
        writes.load(Relaxed),
        (reads.load(Relaxed) + writes.load(Relaxed)) as f64 / elapsed.as_secs_f64() / 1e6,
        peak,
        bound,
        HEAP_PEAK.load(Relaxed) / 1024,
        percentile(0.5),
        percentile(0.99),
        LATENCY_MAX.load(Relaxed) as f64 / 1e9,
        created,
        dropped,
    );
    assert!(
        peak <= bound,
        "unbounded: {peak} live payloads > bound {bound}"
    );
    assert_eq!(
        created, dropped,
        "every payload freed once all holders are gone"
    );
}
