//! Reclamation, every scheme in one run: `cargo bench -p lazyref --bench reclaim`.
//!
//! 1. Throughput and retire-to-free latency: one writer replaces the value `WRITES` times
//!    as fast as it can while one reader reads it in a loop (median of `REPS` runs, interleaved across schemes); prints
//!    writes/s and the
//!    retire-to-free latency percentiles (log2 buckets: upper edges) of every payload
//!    retired during the run, including those freed by the final flush.
//! 2. Memory with a stalled reader: one reader takes a read (guard, pin, hazard pointer)
//!    and stalls while the writer replaces the value `STALL_WRITES` times; prints the peak
//!    number of live payloads.

mod common;

use common::{reset_counters, Scheme, CREATED, DROPPED, LATENCY};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

const WRITES: u64 = 500_000;
/// Throughput runs per scheme; the table shows the median.
const REPS: usize = 5;
const STALL_WRITES: u64 = 100_000;

fn live() -> usize {
    CREATED.load(SeqCst) - DROPPED.load(SeqCst)
}

fn pct(q: f64) -> String {
    let counts: Vec<u64> = LATENCY.iter().map(|c| c.load(Relaxed)).collect();
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return "–".into();
    }
    let want = (((total as f64) * q).ceil() as u64).max(1);
    let mut seen = 0;
    for (b, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= want {
            let ns = 1u64 << (b + 1);
            return if ns >= 1_000_000 {
                format!("{} ms", ns / 1_000_000)
            } else if ns >= 1_000 {
                format!("{} µs", ns / 1_000)
            } else {
                format!("{ns} ns")
            };
        }
    }
    "–".into()
}

/// Returns (writes per second, latency row).
fn throughput<S: Scheme>() -> (f64, String) {
    reset_counters();
    let s = Arc::new(S::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let go = Arc::new(Barrier::new(2));
    let (rs, rstop, rgo) = (s.clone(), stop.clone(), go.clone());
    let reader = thread::spawn(move || {
        let mut l = rs.local();
        rgo.wait();
        let mut acc = 0u64;
        while !rstop.load(Relaxed) {
            acc = acc.wrapping_add(rs.read(&mut l));
        }
        black_box(acc);
        rs.flush();
    });
    let mut l = s.local();
    go.wait();
    let t0 = Instant::now();
    for i in 0..WRITES {
        s.write(&mut l, i);
    }
    let dt = t0.elapsed();
    let freed_in_run = DROPPED.load(SeqCst) as f64 / WRITES as f64;
    stop.store(true, Relaxed);
    reader.join().unwrap();
    s.flush();
    drop(l);
    drop(s);
    let row = format!(
        "{} | {} | {} | {} | {:.1}%",
        pct(0.5),
        pct(0.99),
        pct(0.999),
        pct(1.0),
        100.0 * freed_in_run
    );
    (WRITES as f64 / dt.as_secs_f64(), row)
}

/// Peak live payloads while one reader stalls inside a read.
fn stalled<S: Scheme>() -> usize {
    reset_counters();
    let s = Arc::new(S::new(0));
    let release = Arc::new(AtomicBool::new(false));
    let held = Arc::new(Barrier::new(2));
    let (rs, rrel, rheld) = (s.clone(), release.clone(), held.clone());
    let reader = thread::spawn(move || {
        let mut l = rs.local();
        rs.hold(&mut l, &mut || {
            rheld.wait();
            while !rrel.load(Relaxed) {
                thread::yield_now();
            }
        });
        rs.flush();
    });
    held.wait();
    let mut l = s.local();
    let mut peak = 0;
    for i in 0..STALL_WRITES {
        s.write(&mut l, i);
        if i % 256 == 0 {
            peak = peak.max(live());
        }
    }
    peak = peak.max(live());
    release.store(true, Relaxed);
    reader.join().unwrap();
    s.flush();
    peak
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return; // `cargo test --benches` smoke mode: nothing to measure
    }
    println!(
        "lazyref {} (barrier: {:?}), {} CPUs, {} writes with 1 concurrent reader; stalled reader: {} writes\n",
        env!("CARGO_PKG_VERSION"),
        lazyref::strategy(),
        thread::available_parallelism().map_or(0, |n| n.get()),
        WRITES,
        STALL_WRITES
    );
    let n = 2000;
    let t0 = Instant::now();
    for _ in 0..n {
        lazyref::raw::heavy_barrier();
    }
    println!(
        "heavy barrier alone: {:.0} ns per call ({} calls)\n",
        t0.elapsed().as_nanos() as f64 / n as f64,
        n
    );
    println!("| scheme | writes/s (ratio to lazyref) | retire→free p50 | p99 | p99.9 | max | retired objects freed by the end of the writes | peak live payloads, stalled reader |");
    println!("|---|---|---|---|---|---|---|---|");
    common::TRACK.store(true, SeqCst);
    // Warm-up, discarded: thread creation, the allocator's arenas, membarrier registration.
    throughput::<common::Lazy>();
    throughput::<common::MutexArc>();
    // `RECLAIM_ONLY=name` measures one scheme (for profiling).
    let only = std::env::var("RECLAIM_ONLY").ok();
    let wanted = |n: &str| only.as_deref().map_or(true, |o| o == n);
    // Repetitions interleave the schemes (rep 1 of every scheme, then rep 2, ...), so a noisy
    // phase of the machine hits every scheme alike; the table shows each scheme's median.
    let mut runs: Vec<(&'static str, Vec<(f64, String)>)> = Vec::new();
    for _ in 0..REPS {
        let mut k = 0;
        macro_rules! rep {
            ($t:ty, $n:expr) => {{
                if wanted($n) {
                    if runs.len() <= k {
                        runs.push(($n, Vec::new()));
                    }
                    runs[k].1.push(throughput::<$t>());
                    k += 1;
                }
            }};
        }
        for_each_scheme!(rep);
        let _ = k; // the last scheme's increment is not read
    }
    let mut peaks = Vec::new();
    macro_rules! stall {
        ($t:ty, $n:expr) => {{
            if wanted($n) {
                peaks.push(stalled::<$t>());
            }
        }};
    }
    for_each_scheme!(stall);
    let mut base = 0.0;
    for ((name, mut reps), peak) in runs.into_iter().zip(peaks) {
        reps.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        let (wps, row) = reps.swap_remove(REPS / 2);
        if base == 0.0 {
            base = wps;
        }
        println!(
            "| {} | {:.2} M ({:.2}×) | {} | {} |",
            name,
            wps / 1e6,
            wps / base,
            row,
            peak
        );
    }
}
