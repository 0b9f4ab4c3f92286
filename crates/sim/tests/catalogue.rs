//! The scenario catalogue on the sim engine gives the same counts as on the step engine.
//!
//! Each scenario whose scripts need no gate, directed preemption or point marker (those need
//! the step engine's scheduler) is played by `ScriptDriver` on the sim engine, for every
//! variant on every arch where it is clean, and its counters must equal the step engine's
//! row: the counts are the kernel's, whichever engine runs it.

use lazymm_model::{ArchId, Config, Kernel};
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

fn supported(s: &scenarios::Scenario, v: &lazymm_model::Variant, arch: ArchId) -> bool {
    let mut knobs = v.knobs(arch);
    (s.knobs)(&mut knobs);
    let k = Kernel::boot(
        Config {
            ncpus: s.ncpus,
            arch: lazymm_model::Arch::profile(arch),
            knobs,
            max_mms: 512,
            max_tasks: 512,
            label: "probe".into(),
            topo: Default::default(),
        },
        v.build(),
    );
    ScriptDriver::supports(&(s.build)(&k))
}

#[test]
fn catalogue_on_the_sim_engine_counts_as_on_the_step_engine() {
    let mut compared = 0;
    let mut skipped = vec![];
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
                if !supported(&s, &v, arch) {
                    skipped.push(s.name);
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
                assert_eq!(
                    key(a),
                    key(b),
                    "{} {} {}: step {:?} vs sim {:?}",
                    s.name,
                    v.name,
                    arch.name(),
                    a,
                    b
                );
                assert_eq!(
                    step.row.violations.len(),
                    sim.violations.len(),
                    "{} {}",
                    s.name,
                    v.name
                );
                compared += 1;
            }
        }
    }
    skipped.sort();
    skipped.dedup();
    eprintln!(
        "compared {compared} rows; scenarios needing the step engine's scheduler: {skipped:?}"
    );
    assert!(compared > 100, "only {compared} rows compared");
}
