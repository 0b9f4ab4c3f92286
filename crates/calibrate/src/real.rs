//! The real kernel's will-it-scale `context_switch1_threads` here, for the real-vs-simulated
//! check.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::os::{echo, pipe_pair, read_byte, write_byte};
use crate::sys::{allowed_cpus, pin_current, smt_siblings};
use crate::CalibrateError;

/// How each ping-pong pair is bound, as will-it-scale binds its tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bind {
    /// Both tasks of pair `i` on PU `i % PUs` (will-it-scale `-m`).
    Pu,
    /// Both tasks of pair `i` on core `i % cores`, allowed on all its SMT siblings (the
    /// default). Where each PU is its own core this is the same as [`Bind::Pu`].
    Core,
}

/// The result of [`real_ctxsw`].
#[derive(Clone, Debug, PartialEq)]
pub struct RealCtxsw {
    /// Ping-pong pairs (will-it-scale `-t`).
    pub pairs: usize,
    /// How the pairs were bound.
    pub bind: Bind,
    /// The CPU set each pair was allowed, by pair.
    pub masks: Vec<Vec<usize>>,
    /// Context switches per second, all pairs: 2 × round trips (two blocking reads each).
    pub switches_per_sec: f64,
    /// Round trips per second, all pairs.
    pub round_trips_per_sec: f64,
    /// Seconds actually measured (after the warm-up).
    pub seconds: f64,
}

/// A counter alone on its cache line pair.
#[repr(C, align(128))]
#[derive(Default)]
struct Counter(AtomicU64);

/// The allowed CPU set of each of `pairs` pairs under `bind`, from this process's mask.
pub fn pair_masks(pairs: usize, bind: Bind) -> Result<Vec<Vec<usize>>, CalibrateError> {
    let allowed = allowed_cpus()?;
    if allowed.is_empty() {
        return Err(CalibrateError::Thread(
            "the affinity mask holds no CPU".into(),
        ));
    }
    let units: Vec<Vec<usize>> = match bind {
        Bind::Pu => allowed.iter().map(|&c| vec![c]).collect(),
        Bind::Core => {
            let mut cores: Vec<Vec<usize>> = Vec::new();
            for &cpu in &allowed {
                if !cores.iter().any(|c| c.contains(&cpu)) {
                    let sibs = smt_siblings(cpu)
                        .into_iter()
                        .filter(|c| allowed.contains(c));
                    cores.push(sibs.collect());
                }
            }
            cores
        }
    };
    Ok((0..pairs).map(|i| units[i % units.len()].clone()).collect())
}

/// Runs `pairs` pipe ping-pong pairs of threads of this process (will-it-scale
/// `context_switch1_threads`), each pair bound per `bind`, for `seconds` after a short warm-up,
/// and counts round trips.
pub fn real_ctxsw(pairs: usize, bind: Bind, seconds: f64) -> Result<RealCtxsw, CalibrateError> {
    if pairs == 0 || !(seconds.is_finite() && seconds > 0.0) {
        return Err(CalibrateError::Thread(format!(
            "real_ctxsw needs pairs >= 1 and seconds > 0 (got {pairs}, {seconds})"
        )));
    }
    let masks = pair_masks(pairs, bind)?;
    let counters: Vec<Counter> = (0..pairs).map(|_| Counter::default()).collect();
    let stop = AtomicBool::new(false);
    let barrier = Barrier::new(2 * pairs + 1);
    let warmup = Duration::from_secs_f64((seconds / 4.0).min(0.5));
    // All pipes first: no thread may be left waiting on the barrier by a later failure.
    let pipes = (0..pairs)
        .map(|_| pipe_pair())
        .collect::<Result<Vec<_>, _>>()?;
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for ((mask, counter), (r1, w1, r2, w2)) in masks.iter().zip(&counters).zip(pipes) {
            let (barrier, stop) = (&barrier, &stop);
            // The child: inherits the pair's mask (will-it-scale's new_task), echoes.
            handles.push(s.spawn(move || {
                let pinned = pin_current(mask);
                barrier.wait();
                pinned?;
                echo(r1, w2)
            }));
            handles.push(s.spawn(move || {
                let pinned = pin_current(mask);
                barrier.wait();
                pinned?;
                let mut trips = 0u64;
                // Relaxed: pairs with the main thread's stop store; a bare stop signal.
                while !stop.load(Ordering::Relaxed) {
                    write_byte(&w1, "write(ping pipe)")?;
                    if !read_byte(&r2, "read(pong pipe)")? {
                        return Err(CalibrateError::Thread("echo thread hung up".into()));
                    }
                    trips += 1;
                    // Relaxed: read by the main thread's samples; a lone counter, the scope's
                    // join orders everything after.
                    counter.0.store(trips, Ordering::Relaxed);
                }
                Ok(())
            }));
        }
        barrier.wait();
        // Relaxed (here and below): the counters are sampled, not synchronised with.
        let sample = || {
            counters
                .iter()
                .map(|c| c.0.load(Ordering::Relaxed))
                .sum::<u64>()
        };
        std::thread::sleep(warmup);
        let (t0, n0) = (Instant::now(), sample());
        std::thread::sleep(Duration::from_secs_f64(seconds));
        let (elapsed, n1) = (t0.elapsed().as_secs_f64(), sample());
        // Relaxed: pairs with the parents' loads; a bare stop signal.
        stop.store(true, Ordering::Relaxed);
        let mut first_err = None;
        for h in handles {
            let r = h.join().unwrap_or_else(|_| {
                Err(CalibrateError::Thread("ping-pong thread panicked".into()))
            });
            if let (Err(e), None) = (r, &first_err) {
                first_err = Some(e);
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        let rtps = (n1 - n0) as f64 / elapsed;
        Ok(RealCtxsw {
            pairs,
            bind,
            masks: masks.clone(),
            switches_per_sec: 2.0 * rtps,
            round_trips_per_sec: rtps,
            seconds: elapsed,
        })
    })
}
