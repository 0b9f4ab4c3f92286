//! Hot-reloaded configuration read by every request.
//!
//! Every request reads the current configuration with `CONFIG.load()`: while the
//! configuration is unchanged that is two loads, a compare and a thread-local flag store. A
//! reloader replaces it now and then; requests in flight keep the version they started with;
//! old versions are freed once no worker holds them. `cargo run --release -p lazyref --example hot_config`

use lazyref::LazyArc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::thread;
use std::time::Duration;

#[derive(Debug)]
struct Config {
    version: u64,
    max_body_bytes: usize,
    greeting: String,
}

impl Config {
    /// Stands in for reading and validating a file.
    fn parse(version: u64) -> Config {
        Config {
            version,
            max_body_bytes: 1 << (10 + version % 8),
            greeting: format!("hello from config v{version}"),
        }
    }
}

static CONFIG: LazyLock<LazyArc<Config>> =
    LazyLock::new(|| LazyArc::from_pointee(Config::parse(1)));

/// A request handler: reads the configuration once per request.
fn handle(request_bytes: usize) -> bool {
    let cfg = CONFIG.load(); // a guard: deref to &Config; do not hold it across blocking calls
    request_bytes <= cfg.max_body_bytes && !cfg.greeting.is_empty()
}

fn main() {
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (stop, served) = (stop.clone(), served.clone());
            thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    handle((n as usize * 97 + w) % 200_000);
                    n += 1;
                }
                // A worker about to park for long drops what it holds lazily.
                lazyref::flush();
                served.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    for version in 2..=20 {
        thread::sleep(Duration::from_millis(10));
        CONFIG.store(Arc::new(Config::parse(version))); // the reload
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let cfg = CONFIG.load();
    println!(
        "served {} requests across 19 reloads; now on v{} ({:?}), barrier: {:?}",
        served.load(Ordering::Relaxed),
        cfg.version,
        cfg.greeting,
        lazyref::strategy()
    );
}
