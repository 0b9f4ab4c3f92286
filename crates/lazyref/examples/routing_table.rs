//! A routing table swapped under load.
//!
//! Lookups read the table through a guard; the updater builds a new table from the current
//! one (copy, modify) and swaps it in; a long-running operation upgrades its guard to an
//! `Arc` so it does not pin a slot. `cargo run --release -p lazyref --example routing_table`

use lazyref::{Guard, LazyArc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

#[derive(Clone, Default)]
struct Routes {
    generation: u64,
    by_prefix: HashMap<String, String>,
}

impl Routes {
    fn route(&self, path: &str) -> Option<&str> {
        let prefix = path.split('/').nth(1)?;
        self.by_prefix.get(prefix).map(String::as_str)
    }
}

fn main() {
    let table = Arc::new(LazyArc::from_pointee(Routes::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let (hits, misses) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let lookups: Vec<_> = (0..3)
        .map(|t| {
            let (table, stop, hits, misses) =
                (table.clone(), stop.clone(), hits.clone(), misses.clone());
            thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let path = format!("/svc{}/item/{i}", (i + t) % 64);
                    let routes = table.load();
                    match routes.route(&path) {
                        Some(backend) => {
                            std::hint::black_box(backend);
                            hits.fetch_add(1, Ordering::Relaxed)
                        }
                        None => misses.fetch_add(1, Ordering::Relaxed),
                    };
                    i += 1;
                }
            })
        })
        .collect();

    // The updater: copy the current table, change it, swap it in.
    for generation in 1..=64u64 {
        let mut next = Routes::clone(&table.load());
        next.generation = generation;
        next.by_prefix.insert(
            format!("svc{}", generation - 1),
            format!("10.0.0.{generation}:8080"),
        );
        table.store(Arc::new(next));
    }

    // A long operation (say, a health check of every backend) holds an owned snapshot.
    let snapshot: Arc<Routes> = Guard::into_arc(table.load());
    stop.store(true, Ordering::Relaxed);
    for l in lookups {
        l.join().unwrap();
    }
    println!(
        "generation {} with {} routes; {} lookups routed, {} unrouted (before their service was added)",
        snapshot.generation,
        snapshot.by_prefix.len(),
        hits.load(Ordering::Relaxed),
        misses.load(Ordering::Relaxed)
    );
}
