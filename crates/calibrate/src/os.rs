//! Kernel-path microbenchmarks: a bare syscall, `membarrier` (an IPI round trip) and pipe
//! ping-pong (context switches and cross-CPU wakeups).

use std::hint::black_box;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rustix::io::{read, write, Errno};
use rustix::thread::{membarrier, membarrier_query, MembarrierCommand};

use crate::stats::{summarize, Plan};
use crate::sys::{pinned, pinned_pair};
use crate::{CalibrateError, Measurement};

fn ns_per(start: Instant, ops: usize) -> f64 {
    start.elapsed().as_nanos() as f64 / ops as f64
}

fn sys_err(call: &str) -> impl Fn(Errno) -> CalibrateError + '_ {
    move |errno| CalibrateError::Sys {
        call: call.to_string(),
        errno,
    }
}

/// The cost of a syscall that does nothing: `getppid()`.
pub(crate) fn syscall(plan: &Plan, cpu: usize) -> Result<Measurement, CalibrateError> {
    let calls = plan.iters(5_000);
    let samples = pinned(cpu, || {
        let mut samples = Vec::with_capacity(plan.total());
        for _ in 0..plan.total() {
            let t = Instant::now();
            for _ in 0..calls {
                black_box(rustix::process::getppid());
            }
            samples.push(ns_per(t, calls));
        }
        Ok(samples)
    })?;
    let method = format!(
        "getppid() (raw syscall through rustix, no libc caching) in a loop on CPU {cpu}, ns per \
         call: kernel entry and exit with the mitigations this kernel runs; {} samples of {calls} \
         calls",
        plan.samples
    );
    summarize("syscall", &samples, plan.warmup, method)
}

/// Why `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` cannot be measured here, if it cannot.
pub(crate) fn membarrier_unavailable() -> Option<String> {
    let query = membarrier_query();
    for cmd in [
        MembarrierCommand::RegisterPrivateExpedited,
        MembarrierCommand::PrivateExpedited,
    ] {
        if !query.contains_command(cmd) {
            return Some(format!(
                "membarrier({cmd:?}) unavailable: not in MEMBARRIER_CMD_QUERY's answer \
                 ({:#x}; 0 means no membarrier syscall)",
                query.bits()
            ));
        }
    }
    None
}

/// Sets `flag` when dropped: releases a spinning partner on every exit path.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        // Relaxed: pairs with the partner's spin load of the stop flag; a bare stop signal.
        self.0.store(true, Ordering::Relaxed);
    }
}

/// `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` while a thread of this process spins on the
/// other CPU, so each call sends one IPI and waits for its handler.
pub(crate) fn membarrier_ipi(
    plan: &Plan,
    cpus: (usize, usize),
) -> Result<Measurement, CalibrateError> {
    membarrier(MembarrierCommand::RegisterPrivateExpedited).map_err(sys_err(
        "membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)",
    ))?;
    let calls = plan.iters(20);
    let (spinning, stop) = (AtomicBool::new(false), AtomicBool::new(false));
    let (samples, ()) = pinned_pair(
        cpus,
        || {
            let _release = SetOnDrop(&stop);
            // Relaxed: pairs with B's store of `spinning`; only "B is running" is learnt.
            while !spinning.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
            let mut samples = Vec::with_capacity(plan.total());
            for _ in 0..plan.total() {
                let t = Instant::now();
                for _ in 0..calls {
                    membarrier(MembarrierCommand::PrivateExpedited)
                        .map_err(sys_err("membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)"))?;
                }
                samples.push(ns_per(t, calls));
            }
            Ok(samples)
        },
        || {
            // Relaxed: read by A's wait above; a bare "running" signal.
            spinning.store(true, Ordering::Relaxed);
            // Relaxed: pairs with SetOnDrop's store in A; a bare stop signal.
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
            Ok(())
        },
    )?;
    let method = format!(
        "membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) called on CPU {} while a thread of this \
         process spins on CPU {} (one IPI, the caller waits for its handler), after \
         MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED; ns per call, syscall entry/exit included; \
         {} samples of {calls} calls",
        cpus.0, cpus.1, plan.samples
    );
    summarize("membarrier", &samples, plan.warmup, method)
}

/// Reads one byte, retrying on EINTR; `Ok(false)` at end of file.
pub(crate) fn read_byte(fd: &OwnedFd, what: &str) -> Result<bool, CalibrateError> {
    let mut buf = [0u8; 1];
    loop {
        match read(fd, &mut buf) {
            Ok(n) => return Ok(n == 1),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(sys_err(what)(e)),
        }
    }
}

/// Writes one byte, retrying on EINTR.
pub(crate) fn write_byte(fd: &OwnedFd, what: &str) -> Result<(), CalibrateError> {
    loop {
        match write(fd, &[0u8]) {
            Ok(_) => return Ok(()),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(sys_err(what)(e)),
        }
    }
}

/// The pipes of one ping-pong pair: (ping read, ping write, pong read, pong write).
pub(crate) fn pipe_pair() -> Result<(OwnedFd, OwnedFd, OwnedFd, OwnedFd), CalibrateError> {
    let (r1, w1) = rustix::pipe::pipe().map_err(sys_err("pipe"))?;
    let (r2, w2) = rustix::pipe::pipe().map_err(sys_err("pipe"))?;
    Ok((r1, w1, r2, w2))
}

/// The echoing side of a ping-pong: read a byte, write it back, until the other side hangs up.
pub(crate) fn echo(ping_r: OwnedFd, pong_w: OwnedFd) -> Result<(), CalibrateError> {
    while read_byte(&ping_r, "read(ping pipe)")? {
        write_byte(&pong_w, "write(pong pipe)")?;
    }
    Ok(())
}

/// What a ping-pong benchmark times.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timed {
    /// Whole round trips; reported: round trip / 2.
    RoundTrip,
    /// Only the `write()` that wakes the blocked reader; value = ns per write.
    WakingWrite,
}

/// A pipe `write()` of one byte and the `read()` that takes it back, on one thread: syscall
/// entry and exit plus a pipe operation's own work, with no one to wake.
pub(crate) fn pipe_syscall(plan: &Plan, cpu: usize) -> Result<Measurement, CalibrateError> {
    let pairs = plan.iters(2_000);
    let (r, w) = rustix::pipe::pipe().map_err(sys_err("pipe"))?;
    let samples = pinned(cpu, || {
        let mut samples = Vec::with_capacity(plan.total());
        for _ in 0..plan.total() {
            let t = Instant::now();
            for _ in 0..pairs {
                write_byte(&w, "write(pipe)")?;
                read_byte(&r, "read(pipe)")?;
            }
            samples.push(ns_per(t, 2 * pairs));
        }
        Ok(samples)
    })?;
    let method = format!(
        "write() of one byte to a pipe then read() of it back, on one thread on CPU {cpu}, no \
         waiter to wake: ns per syscall (pair / 2); {} samples of {pairs} pairs",
        plan.samples
    );
    summarize("pipe_syscall", &samples, plan.warmup, method)
}

/// Pipe ping-pong between threads pinned to `cpus` (equal: same CPU), timing `timed`.
pub(crate) fn ctxsw(
    plan: &Plan,
    cpus: (usize, usize),
    timed: Timed,
) -> Result<Measurement, CalibrateError> {
    let same = cpus.0 == cpus.1;
    let rounds = plan.iters(if same { 200 } else { 100 });
    let (r1, w1, r2, w2) = pipe_pair()?;
    let (samples, ()) = pinned_pair(
        cpus,
        move || {
            // Owning w1 and r2: returning early closes them, which ends B's echo loop.
            let mut samples = Vec::with_capacity(plan.total());
            for _ in 0..plan.total() {
                let (t, mut writing) = (Instant::now(), 0u128);
                for _ in 0..rounds {
                    if timed == Timed::WakingWrite {
                        let tw = Instant::now();
                        write_byte(&w1, "write(ping pipe)")?;
                        writing += tw.elapsed().as_nanos();
                    } else {
                        write_byte(&w1, "write(ping pipe)")?;
                    }
                    if !read_byte(&r2, "read(pong pipe)")? {
                        return Err(CalibrateError::Thread("echo thread hung up".into()));
                    }
                }
                samples.push(match timed {
                    Timed::RoundTrip => ns_per(t, rounds) / 2.0,
                    Timed::WakingWrite => writing as f64 / rounds as f64,
                });
            }
            Ok(samples)
        },
        move || echo(r1, w2),
    )?;
    let place = if same {
        format!("both threads pinned to CPU {}", cpus.0)
    } else {
        format!("threads pinned to CPUs {} and {}", cpus.0, cpus.1)
    };
    let (name, what) = match (timed, same) {
        (Timed::RoundTrip, true) => (
            "ctxsw_pinned_same_cpu",
            "reported: round trip / 2 = one context switch thread to thread, with one pipe \
             write, one blocking pipe read and the local wakeup",
        ),
        (Timed::RoundTrip, false) => (
            "ctxsw_cross_cpu",
            "reported: round trip / 2 = one cross-CPU wakeup of a blocked reader whose CPU has \
             gone idle, with its pipe write and read and the idle CPU's exit and switch",
        ),
        // Not measured: with the reader on the writer's CPU, wakeup preemption can run the
        // reader inside the write's return, so the write's time is not the wakeup's.
        (Timed::WakingWrite, _) => (
            "wake_write_cross_cpu",
            "value = the write() alone (timed around the call), which wakes the reader blocked \
             on the other, idle CPU (a reschedule IPI unless it polls)",
        ),
    };
    let method = format!(
        "pipe ping-pong of one byte between two threads (as will-it-scale context_switch1 and \
         perf bench sched pipe -T), {place}: {what}; {} samples of {rounds} round trips",
        plan.samples
    );
    summarize(name, &samples, plan.warmup, method)
}
