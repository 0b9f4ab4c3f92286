//! Runs `ITERS` user → idle → user round trips of one scheme on one model CPU (threads
//! engine), for instruction counting under `valgrind --tool=callgrind`, where wall-clock
//! timing on a shared VM is too noisy to resolve a 2% difference. Used to measure what the
//! per-access hook (`Cpu::access`) costs: build once normally and once with
//! `--features no-access-hooks`, run each at two `ITERS`, and difference the totals:
//! `cargo run --release -p lazymm-engines --example round_trips -- SCHEME ITERS`. The README's
//! "Hook cost" has the full command and the figures.

use lazymm_engines::threads::round_trips;
use lazymm_model::{Arch, ArchId, Config, Kernel, SchemeId};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scheme = args
        .get(1)
        .and_then(|s| SchemeId::parse(s))
        .unwrap_or(SchemeId::Refcount);
    let iters: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let arch = if scheme == SchemeId::ShootdownPpc {
        ArchId::PpcRadix
    } else {
        ArchId::X86
    };
    let v = lazymm_model::era::clean_variant(scheme);
    let k = Kernel::boot(
        Config {
            ncpus: 1,
            arch: Arch::profile(arch),
            knobs: v.knobs(arch),
            max_mms: 8,
            max_tasks: 8,
            label: "round_trips".into(),
            topo: Default::default(),
        },
        v.build(),
    );
    let (_mm, ts) = k.create_process(1).expect("capacity");
    let d = round_trips(&k, &ts, iters);
    eprintln!("{} {} round trips in {:?}", scheme.name(), iters, d);
}
