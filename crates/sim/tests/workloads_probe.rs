use lazymm_engines::driver::Driver;
use lazymm_model::era;
use lazymm_profile::Profile;
use lazymm_sim::{simulate, SimConfig, SimReport, SimSpec};
use lazymm_workloads::drivers::*;

fn toy(arch: &str) -> Profile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/toy-machine.toml");
    let mut p = Profile::load(std::path::Path::new(path)).unwrap();
    p.arch = arch.into();
    p
}
fn run(v: &str, arch: &str, cpus: usize, d: Box<dyn Driver>) -> SimReport {
    simulate(SimSpec {
        profile: toy(arch),
        variant: era::variant(v).unwrap(),
        ncpus: cpus,
        driver: d,
        cfg: SimConfig {
            switches: None,
            duration_ns: None,
            ..SimConfig::default()
        },
        knobs: None,
    })
}
#[test]
fn probe() {
    for (v, arch) in [
        ("refcount", "x86"),
        ("mmput-flush", "x86"),
        ("hazard+fixes", "x86"),
        ("hazard-md+fixes", "x86"),
        ("shootdown-ppc", "ppc-radix"),
        ("refcount", "ppc-radix"),
        ("shootdown", "ppc-radix"),
    ] {
        for n in [1usize, 2, 4] {
            let r = run(
                v,
                arch,
                n,
                Box::new(TlbFlush::new(n, Bind::Pu, n, 2).regions(1)),
            );
            println!(
                "tlb {v} {arch} n={n}: {:?} ops {} flush {} lazy {} local {} viol {}",
                r.stop,
                r.ops,
                r.counters.flush_ipis,
                r.counters.lazy_ipis,
                r.counters.local_flushes,
                r.violations.len()
            );
            let r = run(v, arch, n, Box::new(WideExit::new(n, n).rounds(5)));
            println!("wide {v} {arch} n={n}: {:?} ops {} flush {} lazy {} scan {} ctx {} viol {} fl {:?}", r.stop, r.ops, r.counters.flush_ipis, r.counters.lazy_ipis, r.counters.scan_loads, r.context_switches, r.violations.len(), r.free_latency.freed);
            let r = run(
                v,
                arch,
                n,
                Box::new(KthreadIo::new(n, Bind::Pu, n, 2).requests(10)),
            );
            println!(
                "kio {v} {arch} n={n}: {:?} ops {} ctx {} mmu {} rmw {} viol {}",
                r.stop,
                r.ops,
                r.context_switches,
                r.counters.mmu_switches,
                r.counters.mm_count_rmw,
                r.violations.len()
            );
            let r = run(
                v,
                arch,
                n,
                Box::new(
                    ExecStorm::new(n, Bind::Pu, n, 2, 7)
                        .limit(10)
                        .multithreaded(0),
                ),
            );
            println!("exec1 {v} {arch} n={n}: {:?} ops {} ctx {} mmu {} wake {} flush {} lazy {} viol {}", r.stop, r.ops, r.context_switches, r.counters.mmu_switches, r.counters.wakeups, r.counters.flush_ipis, r.counters.lazy_ipis, r.violations.len());
            let r = run(
                v,
                arch,
                n,
                Box::new(ExecStorm::new(n, Bind::Pu, n, 2, 7).limit(20)),
            );
            println!(
                "execmt {v} {arch} n={n}: {:?} ops {} ctx {} flush {} lazy {} viol {:?}",
                r.stop,
                r.ops,
                r.context_switches,
                r.counters.flush_ipis,
                r.counters.lazy_ipis,
                r.violations
            );
        }
    }
}
