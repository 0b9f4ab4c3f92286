//! `hot_path`: the cost of one user → idle → user lazy round trip for each scheme, on one
//! CPU and on two CPUs running threads of the same mm, next to the unprotected baseline
//! (no lazy protection at all; unsafe by design, benchmark only) measured in the same run.
//!
//! `cargo bench -p lazymm-engines --bench hot_path`. After criterion's own report, prints
//! each scheme's median time per round trip and its ratio to the baseline's median in the
//! same configuration. The kernel model runs unchanged on OS threads (threads engine,
//! `round_trips`); x86 for every scheme but shootdown-ppc (ppc-radix), so the round trip
//! makes no MMU switch (same mm, §7 #4) and what differs is the scheme.

use criterion::{BenchmarkId, Criterion};
use lazymm_engines::threads::round_trips;
use lazymm_model::{Arch, ArchId, Config, Kernel, Knobs, SchemeId};
use std::path::PathBuf;
use std::time::Duration;

const CONFIGS: [(&str, usize); 2] = [("1cpu", 1), ("2cpu-same-mm", 2)];

fn schemes() -> Vec<SchemeId> {
    let mut v = vec![SchemeId::Unprotected];
    v.extend(SchemeId::ALL);
    v
}

fn kernel(s: SchemeId, ncpus: usize) -> (Kernel, Vec<lazymm_model::TaskId>) {
    let arch = if s == SchemeId::ShootdownPpc {
        ArchId::PpcRadix
    } else {
        ArchId::X86
    };
    let k = Kernel::boot(
        Config {
            ncpus,
            arch: Arch::profile(arch),
            // The scheme's clean variant in its era (the unprotected baseline: mainline).
            knobs: if s == SchemeId::Unprotected {
                Knobs::mainline(arch)
            } else {
                lazymm_model::era::clean_variant(s).knobs(arch)
            },
            max_mms: 8,
            max_tasks: 8,
            label: "hot_path".into(),
            topo: Default::default(),
        },
        if s == SchemeId::Unprotected {
            s.build()
        } else {
            lazymm_model::era::clean_variant(s).build()
        },
    );
    let (_mm, ts) = k.create_process(ncpus).expect("capacity");
    (k, ts)
}

fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion")
}

fn main() {
    let mut c = Criterion::default()
        .output_directory(&out_dir())
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    for (cfg, ncpus) in CONFIGS {
        let mut g = c.benchmark_group(format!("hot_path/{cfg}"));
        for s in schemes() {
            let (k, ts) = kernel(s, ncpus);
            g.bench_function(BenchmarkId::from_parameter(s.name()), |b| {
                b.iter_custom(|iters| round_trips(&k, &ts, iters))
            });
            assert!(
                k.oracle.violations().is_empty(),
                "{}: {:?}",
                s.name(),
                k.oracle.violations()
            );
        }
        g.finish();
    }
    c.final_summary();
    report();
}

/// Median ns per round trip from criterion's estimates of this run, and ratios.
fn report() {
    println!("\nhot_path: median ns per user→idle→user round trip (ratio to unprotected)");
    for (cfg, _) in CONFIGS {
        let median = |s: SchemeId| -> Option<f64> {
            let p = out_dir()
                .join(format!("hot_path_{cfg}"))
                .join(s.name())
                .join("new/estimates.json");
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
            v["median"]["point_estimate"].as_f64()
        };
        let Some(base) = median(SchemeId::Unprotected) else {
            println!("  {cfg}: no baseline estimate (filtered out?)");
            continue;
        };
        println!("  {cfg}:");
        for s in schemes() {
            if let Some(m) = median(s) {
                println!("    {:<14} {:>8.1} ns  x{:.2}", s.name(), m, m / base);
            }
        }
    }
}
