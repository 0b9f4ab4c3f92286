//! Runs a full calibration and will-it-scale-style `context_switch1` here, and prints both.
//!
//! `cargo run --release -p lazymm-calibrate --example calibrate [--quick] [--toml] [SECONDS]`
//! (`--toml`: also print the profile).

use lazymm_calibrate::{calibrate, real_ctxsw, Bind, Options};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let seconds: f64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(2.0);
    let cal = match calibrate(&Options { quick, cpus: None }) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("calibrate: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "host: {} (cpu MHz {:?}); CPUs {:?}: {}",
        cal.host,
        cal.mhz,
        cal.cpus,
        cal.distance.describe()
    );
    println!("idle: {}", cal.idle.describe());
    for m in cal.measurements() {
        println!("{m}\n    {}", m.method);
    }
    if let Some(note) = &cal.membarrier_note {
        println!("membarrier: {note}");
    }
    if args.iter().any(|a| a == "--toml") {
        let command = "cargo run --release -p lazymm-calibrate --example calibrate";
        println!("{}", cal.to_profile(command).to_toml());
    }
    for bind in [Bind::Pu, Bind::Core] {
        for pairs in [1, 2, 4] {
            match real_ctxsw(pairs, bind, seconds) {
                Ok(r) => println!(
                    "context_switch1_threads {bind:?} pairs={pairs}: {:.0} switches/s ({:.0} round trips/s over {:.2} s; masks {:?})",
                    r.switches_per_sec, r.round_trips_per_sec, r.seconds, r.masks
                ),
                Err(e) => println!("context_switch1_threads {bind:?} pairs={pairs}: error: {e}"),
            }
        }
    }
}
