//! The tlb-flush, wide-exit, kthread-io and exec-storm drivers on the toy profile
//! (tests/data/toy-machine.toml, x86; `arch` overridden for ppc radix): every run ends by
//! itself (each driver's bound), completes, has no oracle violation on a variant clean on
//! that arch, and the counts below are derived from the kernel paths as modelled.

use lazymm_engines::driver::Driver;
use lazymm_model::era::{self, Variant};
use lazymm_model::ArchId;
use lazymm_profile::Profile;
use lazymm_sim::{simulate, SimConfig, SimReport, SimSpec, SimStop};
use lazymm_workloads::drivers::{self, Bind, ExecStorm, KthreadIo, TlbFlush, WideExit};

fn toy(arch: &str) -> Profile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/toy-machine.toml");
    let mut p = Profile::load(std::path::Path::new(path)).expect("toy profile parses");
    p.arch = arch.into();
    p
}

/// Runs `driver` to its own end (no switch or time bound).
fn run(v: Variant, arch: &str, cpus: usize, driver: Box<dyn Driver>) -> SimReport {
    simulate(SimSpec {
        profile: toy(arch),
        variant: v,
        ncpus: cpus,
        driver,
        cfg: SimConfig {
            switches: None,
            duration_ns: None,
            ..SimConfig::default()
        },
        knobs: None,
    })
}

/// The variants clean on `arch`, with the arch's profile name.
fn clean(arch: &str) -> Vec<Variant> {
    let id = ArchId::parse(arch).expect("arch");
    era::variants()
        .into_iter()
        .filter(|v| v.clean_on(id))
        .collect()
}

/// Runs and checks completion and the oracle; None if the variant cannot run on `arch`.
fn checked(v: Variant, arch: &str, cpus: usize, d: Box<dyn Driver>) -> Option<SimReport> {
    let r = run(v, arch, cpus, d);
    if r.infeasible.is_some() {
        return None;
    }
    assert_eq!(r.stop, SimStop::Completed, "{} {arch}", v.name);
    assert!(
        r.violations.is_empty(),
        "{} {arch}: {:?}",
        v.name,
        r.violations
    );
    Some(r)
}

/// tlb_flush2 on x86: T threads bound to PUs 0..T, one region each (256 madvise + 1 munmap
/// = 257 flushes per thread). The threads never leave their CPUs, so every flush finds the
/// T CPUs in mm_cpumask with the mm loaded and not lazy; no trim is due (next_trim = 1 s of
/// jiffies, the run lasts ms). tlb_finish_mmu → native_flush_tlb_multi: an IPI to each of
/// the T − 1 others (freed_tables or not: nobody is lazy), flush_tlb_func locally and in each
/// handler, which flushes unless the CPU's tlb_gen is already current. ppc radix flushes
/// with one tlbie broadcast and no IPI.
#[test]
fn tlb_flush_ipis_per_flush_are_the_other_threads() {
    for t in 1..=4u64 {
        let n = t as usize;
        for v in clean("x86") {
            let d = Box::new(TlbFlush::new(n, Bind::Pu, n, 2).regions(1));
            let Some(r) = checked(v, "x86", n, d) else {
                continue;
            };
            assert_eq!(r.ops, 256 * t, "{}", v.name);
            assert_eq!(r.counters.flush_ipis, t * 257 * (t - 1), "{}", v.name);
            // One thread: each flush is local only (flush_tlb_func, local_tlb_gen behind by
            // one): 257. With T, the threads run in lockstep on this simulated machine (the
            // same work from time 0), so each round's T flushes have all bumped tlb_gen
            // before any flush_tlb_func runs: the first call on a CPU (its own local call,
            // which smp_call_function_many_cond makes before waiting) catches it up to
            // mm_tlb_gen, and the T − 1 handlers after it return without flushing — since
            // aa44284960d5 because `f->new_tlb_gen <= local_tlb_gen`: one local flush per CPU
            // per round, T × 257 (a timing of this machine, not a kernel constant: CPUs out of
            // step flush more). Before it (H's v5.16) a handler compares with mm_tlb_gen,
            // which the next round may already have bumped: it may flush again, between T ×
            // 257 and T × T × 257 (here T × 257 for T ≤ 3, and 1,284 for T = 4).
            let (once, every) = (t * 257, t * 257 * t);
            if t == 1 || v.knobs(ArchId::X86).x86_flush_skips_covered_gen {
                assert_eq!(r.counters.local_flushes, once, "{}", v.name);
            } else {
                let l = r.counters.local_flushes;
                assert!(l >= once && l <= every, "{}: {l}", v.name);
            }
            assert_eq!(r.counters.lazy_ipis, 0, "{}", v.name);
        }
        for v in clean("ppc-radix") {
            let d = Box::new(TlbFlush::new(n, Bind::Pu, n, 2).regions(1));
            let Some(r) = checked(v, "ppc-radix", n, d) else {
                continue;
            };
            // flush_type_needed(mm, false): one thread — the only CPU in mm_cpumask — flushes
            // with tlbiel; with T > 1 the mask holds T CPUs, mm_users is T (no
            // single-thread trim) and 257 decisions never reach the 1,073rd that tries a
            // trim: a broadcast tlbie each, and no IPI either way.
            assert_eq!(r.counters.flush_ipis, 0, "{}", v.name);
            let (local, global) = if t == 1 { (257, 0) } else { (0, t * 257) };
            assert_eq!(r.counters.local_flushes, local, "{}", v.name);
            assert_eq!(r.counters.broadcast_flushes, global, "{}", v.name);
        }
    }
    // will-it-scale's default binding on 4 CPUs of 2-thread cores: 2 threads, one per core;
    // the idle siblings never ran the mm (not in its mask): 1 IPI per flush.
    for v in clean("x86") {
        let d = Box::new(TlbFlush::new(2, Bind::Core, 4, 2).regions(1));
        let Some(r) = checked(v, "x86", 4, d) else {
            continue;
        };
        assert_eq!(r.counters.flush_ipis, 2 * 257, "{}", v.name);
    }
}

/// Five wide exits of N threads on N CPUs. Every worker ran its CPU's share of M, nothing
/// flushed M before its exit (no bit of mm_cpumask was cleared), and every worker's CPU is
/// idle and lazy on M when the last mmput runs exit_mmap. x86: the exit flush has
/// freed_tables, so native_flush_tlb_multi IPIs every other CPU of the mask (N − 1) in every
/// scheme. ppc radix, S-ppc: exit_flush_lazy_tlbs IPIs mm_cpumask \ self (sticky: N − 1),
/// and each target leaves the mask and flushes its PID locally (exit_lazy_flush_tlb's
/// always_flush: _tlbiel_pid), so __flush_all_mm's flush_type_needed finds only the exiting
/// CPU in the mask and flushes locally too: N local flushes and no broadcast per exit; and
/// cleanup_lazy_tlbs at __mmdrop IPIs nobody. Generic S on ppc radix: the exit flush sends
/// no IPI and finds N CPUs in the sticky mask — a broadcast tlbie (fullmm), or a tlbiel when
/// N = 1 — and cleanup_lazy_tlbs IPIs the N − 1 others, which switch to init_mm without a
/// local flush.
/// H (+fixes): one scan of all N CPUs per exit.
#[test]
fn wide_exit_ipis_per_exit_are_the_other_lazy_cpus() {
    for n in [1usize, 2, 4] {
        let others = n as u64 - 1;
        for v in clean("x86") {
            let Some(r) = checked(v, "x86", n, Box::new(WideExit::new(n, n).rounds(5))) else {
                continue;
            };
            assert_eq!(r.ops, 5, "{}", v.name);
            assert_eq!(r.counters.flush_ipis, 5 * others, "{} n={n}", v.name);
            if v.name == "hazard+fixes" {
                assert_eq!(r.counters.scan_loads, 5 * n as u64, "n={n}");
            }
        }
        for v in clean("ppc-radix") {
            let d = Box::new(WideExit::new(n, n).rounds(5));
            let Some(r) = checked(v, "ppc-radix", n, d) else {
                continue;
            };
            assert_eq!(r.ops, 5, "{}", v.name);
            match v.name {
                "shootdown-ppc" => {
                    assert_eq!(r.counters.flush_ipis, 5 * others, "n={n}");
                    assert_eq!(r.counters.lazy_ipis, 0, "n={n}");
                    assert_eq!(r.counters.local_flushes, 5 * n as u64, "n={n}");
                    assert_eq!(r.counters.broadcast_flushes, 0, "n={n}");
                }
                "shootdown" => {
                    assert_eq!(r.counters.flush_ipis, 0, "n={n}");
                    assert_eq!(r.counters.lazy_ipis, 5 * others, "n={n}");
                    let (local, global) = if n == 1 { (5, 0) } else { (0, 5) };
                    assert_eq!(r.counters.local_flushes, local, "n={n}");
                    assert_eq!(r.counters.broadcast_flushes, global, "n={n}");
                }
                _ => {}
            }
        }
    }
}

/// N processes, each with its worker, on PU i; 10 requests each. Per request: U→K (the
/// worker goes lazy on U's mm), K: get_task_mm, kthread_use_mm(the same mm: no CR3 write),
/// unuse, mmput, K→U (same mm). Context switches: idle→U once, then 2 per request; MMU
/// switches: only idle→U. R's mm_count RMWs: the boot idle's init_mm reference dropped at
/// idle→U (1), then per request: U→K mmgrab_lazy (1), use_mm's mmgrab + mmdrop_lazy (2),
/// unuse's mmgrab_lazy + mmdrop (2), K→U's lazy drop in finish_task_switch (1) = 6.
#[test]
fn kthread_io_switches_and_refcount_rmws() {
    for n in [1usize, 2, 4] {
        let k = n as u64;
        for arch in ["x86", "ppc-radix"] {
            for v in clean(arch) {
                let d = Box::new(KthreadIo::new(n, Bind::Pu, n, 2).requests(10));
                let Some(r) = checked(v, arch, n, d) else {
                    continue;
                };
                assert_eq!(r.ops, 10 * k, "{} {arch}", v.name);
                assert_eq!(r.context_switches, k * (1 + 2 * 10), "{} {arch}", v.name);
                assert_eq!(r.counters.mmu_switches, k, "{} {arch}", v.name);
                if v.name == "refcount" {
                    assert_eq!(r.counters.mm_count_rmw, k * (1 + 6 * 10), "{arch}");
                }
            }
        }
    }
}

/// One make slot on one CPU, 10 single-threaded children. Per child: M→C (context switch,
/// MMU switch to the forked mm), exec (MMU switch to the new mm; the forked mm's teardown
/// finds it not loaded), C's write wakes M (queued here: the only CPU), C exits to idle
/// (context switch), idle→M (context switch, MMU switch). On x86 the exiting CPU is lazy on
/// C's mm when exit_mmap flushes it: flush_tlb_func's lazy case switches it to init_mm (one
/// more MMU switch). Plus idle→M at the start and M's own exit to idle at the end (on x86
/// with the same lazy flush).
#[test]
fn exec_storm_one_cpu_counts() {
    for arch in ["x86", "ppc-radix"] {
        for v in clean(arch) {
            let d = Box::new(
                ExecStorm::new(1, Bind::Pu, 1, 2, 7)
                    .limit(10)
                    .multithreaded(0),
            );
            let Some(r) = checked(v, arch, 1, d) else {
                continue;
            };
            assert_eq!(r.ops, 10, "{} {arch}", v.name);
            assert_eq!(r.context_switches, 1 + 3 * 10 + 1, "{} {arch}", v.name);
            assert_eq!(r.counters.wakeups, 10, "{} {arch}", v.name);
            if arch == "x86" {
                assert_eq!(r.counters.mmu_switches, 1 + 4 * 10 + 1, "{}", v.name);
            } else if v.name == "refcount" {
                assert_eq!(r.counters.mmu_switches, 1 + 3 * 10);
            }
        }
    }
}

/// Multi-threaded children over several CPUs: every child is accounted for.
#[test]
fn exec_storm_multithreaded_completes() {
    for n in [2usize, 4] {
        for arch in ["x86", "ppc-radix"] {
            for v in clean(arch) {
                for seed in [1, 7] {
                    let d = Box::new(ExecStorm::new(n, Bind::Pu, n, 2, seed).limit(20));
                    let Some(r) = checked(v, arch, n, d) else {
                        continue;
                    };
                    assert_eq!(r.ops, 20 * n as u64, "{} {arch} seed {seed}", v.name);
                }
            }
        }
    }
}

/// Every workload through `drivers::build` with degenerate parameters (threads 0, 1 CPU),
/// bounded by virtual time; and determinism for a seed.
#[test]
fn all_workloads_degenerate_params_and_determinism() {
    for &w in drivers::NAMES {
        for (cpus, threads) in [(1usize, 0usize), (3, 5)] {
            let mk = || {
                drivers::build(
                    w,
                    drivers::Params {
                        ncpus: cpus,
                        smt: 2,
                        threads,
                        bind: Bind::Core,
                        seed: 3,
                    },
                )
                .expect("known workload")
            };
            let go = || {
                simulate(SimSpec {
                    profile: toy("x86"),
                    variant: era::variant("refcount").expect("variant"),
                    ncpus: cpus,
                    driver: mk(),
                    cfg: SimConfig {
                        switches: None,
                        duration_ns: Some(200_000.0),
                        ..SimConfig::default()
                    },
                    knobs: None,
                })
            };
            let (a, b) = (go(), go());
            assert_eq!(a.stop, SimStop::Completed, "{w} {cpus}/{threads}");
            assert!(a.violations.is_empty(), "{w}: {:?}", a.violations);
            assert!(a.ops > 0, "{w} {cpus}/{threads}");
            assert_eq!((a.ops, a.counters), (b.ops, b.counters), "{w}");
        }
    }
}
