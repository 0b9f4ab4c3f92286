//! Read-side and mixed throughput of every scheme in one run, same workload for each:
//! `cargo bench -p lazyref --bench peers`. Prints criterion's lines and then a markdown table
//! of median ns per operation per thread, with each scheme's ratio to `lazyref`.
//!
//! Workloads (each thread runs the same loop; ns = wall time / operations per thread):
//! - `read N`: N threads read the same, unchanged value.
//! - `99% read` / `90% read`: 2 threads; every 100th / 10th operation is a write.
//! - `writer-heavy`: 2 threads, half the operations writes.

mod common;

use common::Scheme;
use criterion::{BenchmarkId, Criterion};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// (workload, scheme) → per-sample ns per op.
static SAMPLES: Mutex<BTreeMap<(usize, &'static str), Vec<f64>>> = Mutex::new(BTreeMap::new());

const WORKLOADS: &[(&str, usize, u64)] = &[
    // (name, threads, write every k-th op; 0 = never)
    ("read 1 thread", 1, 0),
    ("read 2 threads", 2, 0),
    ("read 4 threads", 4, 0),
    ("99% read, 2 threads", 2, 100),
    ("90% read, 2 threads", 2, 10),
    ("writer-heavy (50%), 2 threads", 2, 2),
];

fn run<S: Scheme>(s: &Arc<S>, threads: usize, every: u64, iters: u64) -> Duration {
    let start = Arc::new(Barrier::new(threads + 1));
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let (s, start) = (s.clone(), start.clone());
            thread::spawn(move || {
                let mut l = s.local();
                black_box(s.read(&mut l)); // register / warm the thread's state
                start.wait();
                let t0 = Instant::now();
                let mut acc = 0u64;
                for i in 0..iters {
                    if every != 0 && (i + t as u64) % every == 0 {
                        s.write(&mut l, i);
                    } else {
                        acc = acc.wrapping_add(s.read(&mut l));
                    }
                }
                black_box(acc);
                t0.elapsed()
            })
        })
        .collect();
    start.wait();
    hs.into_iter().map(|h| h.join().unwrap()).max().unwrap()
}

fn bench_scheme<S: Scheme>(c: &mut Criterion, name: &'static str) {
    for (w, &(wname, threads, every)) in WORKLOADS.iter().enumerate() {
        let s = Arc::new(S::new(0));
        c.benchmark_group(wname)
            .bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter_custom(|iters| {
                    let d = run(&s, threads, every, iters);
                    SAMPLES
                        .lock()
                        .unwrap()
                        .entry((w, name))
                        .or_default()
                        .push(d.as_nanos() as f64 / iters as f64);
                    d
                })
            });
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(900))
        .sample_size(10)
        .configure_from_args();
    let mut names = Vec::new();
    macro_rules! one {
        ($t:ty, $n:expr) => {
            names.push($n);
            bench_scheme::<$t>(&mut c, $n);
        };
    }
    for_each_scheme!(one);
    c.final_summary();

    let mut samples = SAMPLES.lock().unwrap();
    let mut med = BTreeMap::new();
    for (k, v) in samples.iter_mut() {
        med.insert(*k, median(v));
    }
    if med.is_empty() {
        return; // filtered out, or `--test`
    }
    println!(
        "\nlazyref {} (barrier: {:?}), {} CPUs; median ns per operation per thread (ratio to lazyref)\n",
        env!("CARGO_PKG_VERSION"),
        lazyref::strategy(),
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    print!("| scheme |");
    for (w, _, _) in WORKLOADS {
        print!(" {w} |");
    }
    print!("\n|---|");
    for _ in WORKLOADS {
        print!("---|");
    }
    println!();
    for n in &names {
        print!("| {n} |");
        for w in 0..WORKLOADS.len() {
            match (med.get(&(w, *n)), med.get(&(w, "lazyref"))) {
                (Some(v), Some(_)) if *n == "lazyref" => print!(" {v:.2} |"),
                (Some(v), Some(base)) => print!(" {v:.2} ({:.1}×) |", v / base),
                _ => print!(" – |"),
            }
        }
        println!();
    }
}
