//! `lazymm torture`: the random workload on real threads, one per model CPU.

use lazymm_model::{ArchId, SchemeId};
use lazymm_workloads::mutants;
use std::process::ExitCode;

#[allow(clippy::too_many_arguments)]
pub fn torture_cmd(
    engine: &str,
    scheme: &str,
    arch: &str,
    cpus: usize,
    seconds: f64,
    seed: u64,
    (nmi_rate, vcpu_preempt): (f64, f64),
    mutant: Option<String>,
    json: bool,
) -> ExitCode {
    use lazymm_workloads::torture::{torture, TortureConfig};
    if engine != "threads" {
        eprintln!("error: --engine: unknown engine {engine:?}; torture runs on `threads`");
        return ExitCode::from(2);
    }
    let Some(a) = crate::arch_arg(arch) else {
        return ExitCode::from(2);
    };
    if !(1..=1024).contains(&cpus) {
        eprintln!("error: --cpus: {cpus} is out of range 1..=1024");
        return ExitCode::from(2);
    }
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
        eprintln!("error: --seconds: {seconds} must be in (0, 86400]");
        return ExitCode::from(2);
    }
    if !(0.0..=1.0).contains(&vcpu_preempt) {
        eprintln!("error: --vcpu-preempt: {vcpu_preempt} must be a probability in [0, 1]");
        return ExitCode::from(2);
    }
    if !(nmi_rate.is_finite() && nmi_rate >= 0.0) {
        eprintln!("error: --nmi-rate: {nmi_rate} must be a non-negative number");
        return ExitCode::from(2);
    }
    let cfg = TortureConfig {
        ncpus: cpus,
        duration: std::time::Duration::from_secs_f64(seconds),
        seed,
        nmi_per_sec: nmi_rate,
        jitter: 0.01,
        max_ops_per_cpu: None,
        vcpu_preempt,
    };
    // (scheme, arch, knobs, note, row name: the variant's or the mutant's)
    type Job = (
        Box<dyn lazymm_model::Scheme>,
        ArchId,
        lazymm_model::Knobs,
        String,
        String,
    );
    let mut jobs: Vec<Job> = Vec::new();
    if let Some(m) = mutant {
        let all = mutants::all();
        let Some(mu) = all
            .iter()
            .find(|x| x.name == m || x.name.split('-').next() == Some(m.as_str()))
        else {
            let names: Vec<_> = all.iter().map(|x| x.name).collect();
            let letter = |x: Option<&mutants::Mutant>| x.map_or("?", |x| &x.name[..1]);
            let (first, last) = (letter(all.first()), letter(all.last()));
            eprintln!(
                "error: --mutant: unknown mutant {m:?}; expected a letter {first}-{last} or one of {names:?}"
            );
            return ExitCode::from(2);
        };
        jobs.push((
            mu.build(),
            mu.arch,
            mu.knob_set(),
            format!("mutant {}", mu.name),
            mu.name.to_string(),
        ));
    } else {
        let ids: Vec<SchemeId> = if scheme == "all" {
            SchemeId::ALL.to_vec()
        } else {
            match SchemeId::parse(scheme) {
                Some(s) => vec![s],
                None => {
                    eprintln!("error: --scheme: unknown scheme {scheme:?}; expected all or one of refcount, shootdown, shootdown-ppc, mmput-flush, hazard, hazard-x86, hazard-md");
                    return ExitCode::from(2);
                }
            }
        };
        for id in ids {
            let v = lazymm_model::era::clean_variant(id);
            let s = v.build();
            let run_on = std::iter::once(a)
                .chain(ArchId::ALL)
                .find(|x| {
                    s.infeasible(&lazymm_model::Arch::profile(*x)).is_none() && v.clean_on(*x)
                })
                .expect("every scheme runs somewhere");
            let note = if run_on == a {
                String::new()
            } else {
                let why = if s.infeasible(&lazymm_model::Arch::profile(a)).is_some() {
                    "cannot run on"
                } else {
                    "is not a clean variant (never ported there: a catalogue finding) on"
                };
                format!("{} {why} {}; ran on {}", v.name, a.name(), run_on.name())
            };
            jobs.push((s, run_on, v.knobs(run_on), note, v.name.to_string()));
        }
    }
    let mut reports = Vec::new();
    let mut bad = false;
    for (s, on, knobs, note, name) in jobs {
        if !json && !note.is_empty() {
            println!("# {note}");
        }
        let mut r = torture(s, on, knobs, &cfg);
        r.scheme = name;
        bad |= !r.violations.is_empty() || r.deadlock;
        if !json {
            println!(
                "{:<28} {:<9} cpus {:<3} {:>10.0} ops/s  ({} ops in {:.1} s, {} NMIs)  violations {}",
                r.scheme,
                r.arch,
                r.cpus,
                r.ops_per_sec,
                r.ops,
                r.seconds,
                r.nmis,
                r.violations.len() as u64 + r.violations_dropped
            );
            let c = &r.counters;
            println!(
                "    lazy IPIs {}  flush IPIs {}  mm_count RMWs {}  drop_mm RMWs {}  smp_mb scheme {} path {}  scan loads {}  MMU switches {}",
                c.lazy_ipis, c.flush_ipis, c.mm_count_rmw, c.drop_mm_rmw, c.scheme_barriers, c.path_barriers, c.scan_loads, c.mmu_switches
            );
            for v in r.violations.iter().take(5) {
                println!("    ! {v}");
            }
            let more = (r.violations.len() as u64 + r.violations_dropped).saturating_sub(5);
            if more > 0 {
                println!("    ! ... {more} more");
            }
        }
        reports.push(r);
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).expect("serialise")
        );
    }
    if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
