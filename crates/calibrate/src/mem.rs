//! Memory-system microbenchmarks: core-to-core line transfer, atomic RMW, fence.

use std::hint::black_box;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::time::Instant;

use crate::stats::{summarize, Plan};
use crate::sys::{pinned, pinned_pair, Distance};
use crate::{CalibrateError, Measurement};

/// One cache line, alone in a 128-byte block so that neither it nor its adjacent-line
/// prefetch partner holds anything else.
#[repr(C, align(128))]
#[derive(Default)]
struct Line {
    v: AtomicU64,
}

fn ns_per(start: Instant, ops: usize) -> f64 {
    start.elapsed().as_nanos() as f64 / ops as f64
}

/// Core-to-core latency: one line ping-ponged between threads pinned to `cpus`.
pub(crate) fn c2c(plan: &Plan, cpus: (usize, usize)) -> Result<Measurement, CalibrateError> {
    let rounds = plan.iters(1000);
    let total = plan.total();
    let line = Line::default();
    let (samples, ()) = pinned_pair(
        cpus,
        || {
            let mut samples = Vec::with_capacity(total);
            let mut v = 0u64;
            for _ in 0..total {
                let t = Instant::now();
                for _ in 0..rounds {
                    // Relaxed: pairs with nothing; the value itself is the message, and no
                    // other memory is published with it.
                    while line.v.load(Ordering::Relaxed) != v {}
                    // Relaxed: the partner's load above (on its side) reads this value; nothing
                    // else is published.
                    line.v.store(v + 1, Ordering::Relaxed);
                    v += 2;
                }
                samples.push(ns_per(t, rounds) / 2.0);
            }
            Ok(samples)
        },
        || {
            let mut v = 1u64;
            for _ in 0..total * rounds {
                // Relaxed: as on A's side; the value is the whole message.
                while line.v.load(Ordering::Relaxed) != v {}
                // Relaxed: read by A's spin load; nothing else is published.
                line.v.store(v + 1, Ordering::Relaxed);
                v += 2;
            }
            Ok(())
        },
    )?;
    let method = format!(
        "one 64-byte line (AtomicU64 in a 128-byte-aligned block) ping-ponged between threads \
         pinned to CPUs {} and {} ({}; cpu{} thread_siblings_list = {}): A waits for an even \
         value and stores the next odd one, B the reverse (plain load/store spin, no PAUSE); \
         reported: round trip / 2 (in a VM the value is for wherever the host runs the two \
         vCPUs during the run); {} samples of {rounds} round trips",
        cpus.0,
        cpus.1,
        Distance::between(cpus.0, cpus.1).describe(),
        cpus.0,
        crate::sys::smt_siblings(cpus.0)
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(","),
        plan.samples
    );
    summarize("c2c", &samples, plan.warmup, method)
}

/// A dependent load chain through 512 `usize`s (4 KiB, in L1): the L1 load-to-use latency.
pub(crate) fn l1_load(plan: &Plan, cpu: usize) -> Result<Measurement, CalibrateError> {
    const N: usize = 512;
    let loads = plan.iters(20_000);
    let samples = pinned(cpu, || {
        // One cycle through all slots with a stride of 67 (coprime with 512), so the chain is
        // not a simple sequential walk.
        let chain: Vec<usize> = (0..N).map(|i| (i + 67) % N).collect();
        let mut at = 0usize;
        let mut samples = Vec::with_capacity(plan.total());
        for _ in 0..plan.total() {
            let t = Instant::now();
            for _ in 0..loads {
                at = black_box(chain[at]);
            }
            samples.push(ns_per(t, loads));
        }
        black_box(at);
        Ok(samples)
    })?;
    let method = format!(
        "pointer chase (each load's address is the previous load's value) through 512 words \
         (4 KiB, L1-resident) on CPU {cpu}, ns per load, bounds check included; {} samples of \
         {loads} loads",
        plan.samples
    );
    summarize("l1_load", &samples, plan.warmup, method)
}

/// `fetch_add` on a line no other thread touches.
pub(crate) fn rmw_uncontended(plan: &Plan, cpu: usize) -> Result<Measurement, CalibrateError> {
    let ops = plan.iters(20_000);
    let samples = pinned(cpu, || {
        let line = Line::default();
        let mut samples = Vec::with_capacity(plan.total());
        for _ in 0..plan.total() {
            let t = Instant::now();
            for _ in 0..ops {
                // SeqCst: pairs with nothing (private line); the strongest ordering is what the
                // kernel's atomic_inc_return-style RMWs cost (LOCK XADD on x86 either way).
                black_box(&line).v.fetch_add(1, Ordering::SeqCst);
            }
            samples.push(ns_per(t, ops));
        }
        Ok(samples)
    })?;
    let method = format!(
        "fetch_add(1, SeqCst) on a private 128-byte-aligned AtomicU64 in a tight loop on CPU \
         {cpu}, ns per op (loop overhead included); {} samples of {ops} ops",
        plan.samples
    );
    summarize("rmw_uncontended", &samples, plan.warmup, method)
}

/// Two pinned threads `fetch_add` one shared line; the aggregate interval between ops.
pub(crate) fn rmw_contended(
    plan: &Plan,
    cpus: (usize, usize),
) -> Result<Measurement, CalibrateError> {
    let ops = plan.iters(20_000);
    let total = plan.total() as u64;
    let (counter, go, done) = (Line::default(), Line::default(), Line::default());
    let (samples, ()) = pinned_pair(
        cpus,
        || {
            let mut samples = Vec::with_capacity(total as usize);
            for s in 1..=total {
                let t = Instant::now();
                // Relaxed: B's spin on `go` reads it; a bare start signal, publishes nothing.
                go.v.store(s, Ordering::Relaxed);
                for _ in 0..ops {
                    // SeqCst: the RMW contends with B's on the same line; no data rides on it.
                    counter.v.fetch_add(1, Ordering::SeqCst);
                }
                // Relaxed: pairs with B's `done` store; a bare finish signal.
                while done.v.load(Ordering::Relaxed) != s {}
                samples.push(ns_per(t, 2 * ops));
            }
            Ok(samples)
        },
        || {
            for s in 1..=total {
                // Relaxed: pairs with A's `go` store; a bare start signal.
                while go.v.load(Ordering::Relaxed) != s {}
                for _ in 0..ops {
                    // SeqCst: contends with A's RMWs on the same line.
                    counter.v.fetch_add(1, Ordering::SeqCst);
                }
                // Relaxed: read by A's spin on `done`; publishes nothing.
                done.v.store(s, Ordering::Relaxed);
            }
            Ok(())
        },
    )?;
    let method = format!(
        "threads pinned to CPUs {} and {} each fetch_add(1, SeqCst) one shared line {ops} times \
         per sample, started together; value = sample wall time / total ops of both threads \
         (the aggregate interval between RMWs, as travisdowns' concurrency-hierarchy-bench); \
         {} samples",
        cpus.0, cpus.1, plan.samples
    );
    summarize("rmw_contended", &samples, plan.warmup, method)
}

/// `fence(SeqCst)`: what Rust atomics (and, as a locked add to the stack, the kernel's
/// `smp_mb()` on x86_64) use as a full barrier.
fn seqcst_fence() {
    // SeqCst: the fence itself is what is measured; it pairs with nothing.
    fence(Ordering::SeqCst);
}

/// The MFENCE instruction (the kernel's `mb()` on x86_64).
#[cfg(target_arch = "x86_64")]
fn mfence() {
    // SAFETY: `_mm_mfence` needs SSE2, which every x86_64 CPU has (it is in the target's
    // baseline features); the instruction touches no memory operand.
    unsafe { std::arch::x86_64::_mm_mfence() }
}

/// A full fence after a store, minus the same loop without the fence.
pub(crate) fn fence_cost(plan: &Plan, cpu: usize) -> Result<Measurement, CalibrateError> {
    let insn = match std::env::consts::ARCH {
        "x86_64" => {
            "LOCK OR to the stack, as LLVM lowers it on x86_64; the kernel's smp_mb() \
                     there is likewise a locked add to the stack"
        }
        "aarch64" => "DMB ISH",
        "powerpc64" => "sync",
        _ => "the target's full fence",
    };
    fenced_loop(
        plan,
        cpu,
        "fence",
        &format!("fence(SeqCst) ({insn})"),
        seqcst_fence,
    )
}

/// MFENCE after a store, minus the same loop without it (x86_64 only).
#[cfg(target_arch = "x86_64")]
pub(crate) fn mfence_cost(plan: &Plan, cpu: usize) -> Result<Measurement, CalibrateError> {
    fenced_loop(
        plan,
        cpu,
        "mfence",
        "MFENCE (the kernel's mb() on x86_64)",
        mfence,
    )
}

fn fenced_loop(
    plan: &Plan,
    cpu: usize,
    name: &'static str,
    what: &str,
    barrier: impl Fn() + Sync,
) -> Result<Measurement, CalibrateError> {
    let iters = plan.iters(20_000);
    let samples = pinned(cpu, || {
        let line = Line::default();
        let mut samples = Vec::with_capacity(plan.total());
        for _ in 0..plan.total() {
            let t = Instant::now();
            for i in 0..iters as u64 {
                // Relaxed: a private line; the store only gives the fence a store to drain.
                black_box(&line).v.store(i, Ordering::Relaxed);
                barrier();
            }
            let fenced = ns_per(t, iters);
            let t = Instant::now();
            for i in 0..iters as u64 {
                // Relaxed: the same private store as above, without the fence.
                black_box(&line).v.store(i, Ordering::Relaxed);
            }
            samples.push(fenced - ns_per(t, iters));
        }
        Ok(samples)
    })?;
    let method = format!(
        "{what} after a store to a private line, in a loop on CPU {cpu}, minus the same loop \
         without it, ns per fence; {} samples of {iters} iterations each way",
        plan.samples
    );
    summarize(name, &samples, plan.warmup, method)
}
