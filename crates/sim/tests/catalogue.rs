//! The scenario catalogue on the sim engine gives the same counts as on the step engine.
//!
//! Every scenario (its scripts, marks, point markers, gates and directed preemptions) is
//! played by `ScriptDriver` on the sim engine, for every variant on every arch where it is
//! clean, and its counters must equal the step engine's row: the counts are the kernel's,
//! whichever engine runs it. Every scenario pins the interleavings its counts depend on with
//! marks and gates (#18 and #27 hold CPU 1's exit until CPU 0 has left M1 where no hazard
//! gate does), so neither engine's own order decides a count.

use lazymm_model::ArchId;
use lazymm_profile::Profile;
use lazymm_sim::{simulate, SimConfig, SimSpec, SimStop};
use lazymm_workloads::scenarios;
use lazymm_workloads::script_driver::ScriptDriver;

fn toy(arch: ArchId) -> Profile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/toy-machine.toml");
    let mut p = Profile::load(std::path::Path::new(path)).expect("toy profile parses");
    p.arch = arch.name().into();
    p
}

#[test]
fn catalogue_on_the_sim_engine_counts_as_on_the_step_engine() {
    let mut compared = 0;
    let mut mismatches = vec![];
    for s in scenarios::catalogue() {
        for v in lazymm_model::era::variants() {
            for arch in ArchId::ALL {
                if !v.clean_on(arch)
                    || v.build()
                        .infeasible(&lazymm_model::Arch::profile(arch))
                        .is_some()
                {
                    continue;
                }
                let step = scenarios::run_variant(&s, &v, arch);
                let mut knobs = v.knobs(arch);
                (s.knobs)(&mut knobs);
                let sim = simulate(SimSpec {
                    profile: toy(arch),
                    variant: v,
                    ncpus: s.ncpus,
                    driver: Box::new(ScriptDriver::new(s.name, s.build)),
                    cfg: SimConfig {
                        switches: None,
                        duration_ns: None,
                        ..SimConfig::default()
                    },
                    knobs: Some(knobs),
                });
                assert_eq!(
                    sim.stop,
                    SimStop::Completed,
                    "{} {} {:?}",
                    s.name,
                    v.name,
                    arch
                );
                let (a, b) = (step.counters, sim.counters);
                let key = |c: lazymm_model::counters::CounterSnapshot| {
                    (
                        c.lazy_ipis,
                        c.flush_ipis,
                        c.mm_count_rmw,
                        c.drop_mm_rmw,
                        c.scheme_barriers,
                        c.path_barriers,
                        c.scan_loads,
                        c.mmu_switches,
                    )
                };
                let differs = key(a) != key(b) || step.row.violations.len() != sim.violations.len();
                if differs {
                    mismatches.push(format!(
                        "{} {} {}: step {:?} vs sim {:?}; violations {} vs {}",
                        s.name,
                        v.name,
                        arch.name(),
                        key(a),
                        key(b),
                        step.row.violations.len(),
                        sim.violations.len()
                    ));
                }
                compared += 1;
            }
        }
    }
    eprintln!("compared {compared} rows");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    // 30 scenarios × the clean variants on each arch where they are feasible.
    assert!(compared > 400, "only {compared} rows compared");
}
