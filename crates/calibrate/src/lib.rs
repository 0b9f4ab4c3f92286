//! Calibration: microbenchmarks of this machine (core-to-core line transfer, atomic RMW, fence,
//! an IPI as `membarrier` shows it, syscall, context switch and cross-CPU wakeup) that become a
//! simulator profile ([`Calibration::to_profile`]), and the real kernel's will-it-scale
//! `context_switch1_threads` ([`real_ctxsw`]) for the real-vs-simulated check.
//!
//! Every measurement is many samples; each reports the median and p10/p90 and a one-line
//! method that says what was timed and how. Linux only.
#![deny(unsafe_op_in_unsafe_fn)]

mod derive;
mod fsio;
mod mem;
mod os;
mod profile;
mod real;
mod stats;
mod sys;

use std::fmt;

pub use fsio::write_atomically;
pub use real::{pair_masks, real_ctxsw, Bind, RealCtxsw};
pub use sys::{allowed_cpus, parse_cpu_list, Distance, HostTopology, IdleInfo, IdleState};

/// What to measure.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Fewer samples and iterations (for tests); the numbers are noisier.
    pub quick: bool,
    /// The two CPUs to pin to; default: 0 and 1 if allowed, else the first two in the
    /// process's affinity mask.
    pub cpus: Option<(usize, usize)>,
}

/// One benchmark's result, in nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// The benchmark's name.
    pub name: &'static str,
    /// The median sample.
    pub value_ns: f64,
    /// The 10th-percentile sample.
    pub p10_ns: f64,
    /// The 90th-percentile sample.
    pub p90_ns: f64,
    /// Samples kept (after warm-up).
    pub samples: usize,
    /// One line: what was timed, how, and the iteration counts.
    pub method: String,
}

impl fmt::Display for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<22} median {:>9.1} ns  p10 {:>9.1}  p90 {:>9.1}  (n={})",
            self.name, self.value_ns, self.p10_ns, self.p90_ns, self.samples
        )
    }
}

/// Everything measured on this machine.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// `/proc/cpuinfo` model name and the number of CPUs.
    pub host: String,
    /// `cpu MHz` of `/proc/cpuinfo`'s first processor, if given.
    pub mhz: Option<f64>,
    /// The CPU feature flags of `/proc/cpuinfo`'s first processor (`flags` or `Features`).
    pub cpu_flags: Vec<String>,
    /// Whether the kernel command line disables PCID (`nopcid`).
    pub nopcid: bool,
    /// The two CPUs pinned to.
    pub cpus: (usize, usize),
    /// How far apart those two CPUs are.
    pub distance: Distance,
    /// The host topology from sysfs.
    pub topology: HostTopology,
    /// The idle configuration from sysfs.
    pub idle: IdleInfo,
    /// One line transfer between the two CPUs (round trip / 2).
    pub c2c: Measurement,
    /// `fetch_add` on a private line.
    pub rmw_uncontended: Measurement,
    /// Aggregate interval between `fetch_add`s of two CPUs on one line.
    pub rmw_contended: Measurement,
    /// A dependent load that hits L1 (pointer chase in 4 KiB).
    pub l1_load: Measurement,
    /// A full fence after a store, net of the store loop.
    pub fence: Measurement,
    /// MFENCE after a store, net of the store loop (x86_64 only; `fence` is what `smp_mb()`
    /// costs there, this is `mb()`).
    pub mfence: Option<Measurement>,
    /// A null syscall (`getppid`).
    pub syscall: Measurement,
    /// `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` with one other CPU to interrupt; `None`
    /// where the kernel lacks it (see `membarrier_note`).
    pub membarrier: Option<Measurement>,
    /// Why `membarrier` is `None`.
    pub membarrier_note: Option<String>,
    /// A pipe `write()` or `read()` that neither blocks nor wakes anyone.
    pub pipe_syscall: Measurement,
    /// The `write()` that wakes a reader blocked on the other (idle) CPU.
    pub wake_write_cross_cpu: Measurement,
    /// Pipe ping-pong with both threads on one CPU: one context switch.
    pub ctxsw_pinned_same_cpu: Measurement,
    /// Pipe ping-pong across the two CPUs: one cross-CPU wakeup through idle.
    pub ctxsw_cross_cpu: Measurement,
    /// The same-CPU ping-pong, quick, on each allowed CPU in turn (at most
    /// [`SPREAD_CPUS`], evenly spaced): (CPU, median ns per switch). The profile takes
    /// `ctxsw_pinned_same_cpu` (the first CPU's); this says how far the others are from it.
    pub ctxsw_same_cpu_by_cpu: Vec<(usize, f64)>,
}

/// Most CPUs the per-CPU same-CPU ping-pong visits.
pub const SPREAD_CPUS: usize = 64;

impl Calibration {
    /// Every measurement, in report order.
    pub fn measurements(&self) -> Vec<&Measurement> {
        let mut all = vec![
            &self.c2c,
            &self.l1_load,
            &self.rmw_uncontended,
            &self.rmw_contended,
            &self.fence,
        ];
        all.extend(self.mfence.as_ref());
        all.push(&self.syscall);
        all.extend(self.membarrier.as_ref());
        all.extend([&self.pipe_syscall, &self.wake_write_cross_cpu]);
        all.extend([&self.ctxsw_pinned_same_cpu, &self.ctxsw_cross_cpu]);
        all
    }
}

/// Why calibration failed.
#[derive(Debug)]
pub enum CalibrateError {
    /// A CPU that cannot be pinned to.
    InvalidCpu {
        /// The CPU asked for.
        cpu: usize,
        /// Why not.
        reason: String,
    },
    /// A system call failed.
    Sys {
        /// The call, with its arguments where they matter.
        call: String,
        /// Its error.
        errno: rustix::io::Errno,
    },
    /// A benchmark thread failed or the setup is unusable.
    Thread(String),
    /// A benchmark's partner thread failed first (reported only if nothing better is known).
    PartnerFailed,
    /// A benchmark kept no finite sample.
    NoSamples(&'static str),
}

impl fmt::Display for CalibrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalibrateError::InvalidCpu { cpu, reason } => {
                write!(f, "cannot pin to CPU {cpu}: {reason}")
            }
            CalibrateError::Sys { call, errno } => {
                write!(f, "{call} failed: {} ({errno})", errno_name(*errno))
            }
            CalibrateError::Thread(msg) => f.write_str(msg),
            CalibrateError::PartnerFailed => f.write_str("a benchmark thread's partner failed"),
            CalibrateError::NoSamples(name) => write!(f, "{name}: no finite sample"),
        }
    }
}

impl std::error::Error for CalibrateError {}

/// The symbolic name of the errnos calibration meets.
fn errno_name(e: rustix::io::Errno) -> &'static str {
    use rustix::io::Errno;
    match e {
        Errno::NOSYS => "ENOSYS",
        Errno::INVAL => "EINVAL",
        Errno::PERM => "EPERM",
        Errno::PIPE => "EPIPE",
        Errno::SRCH => "ESRCH",
        Errno::FAULT => "EFAULT",
        Errno::MFILE => "EMFILE",
        Errno::NOMEM => "ENOMEM",
        Errno::BUSY => "EBUSY",
        _ => "errno",
    }
}

/// Chooses the two CPUs: `opts.cpus` checked against the affinity mask, else 0 and 1, else the
/// first two allowed.
pub fn choose_cpus(opts: &Options) -> Result<(usize, usize), CalibrateError> {
    let allowed = allowed_cpus()?;
    let pair = match opts.cpus {
        Some(p) => p,
        None if allowed.contains(&0) && allowed.contains(&1) => (0, 1),
        None => match allowed[..] {
            [a, b, ..] => (a, b),
            _ => {
                return Err(CalibrateError::Thread(format!(
                    "calibration needs two CPUs; the affinity mask allows {allowed:?}"
                )))
            }
        },
    };
    sys::check_cpu(pair.0, &allowed)?;
    sys::check_cpu(pair.1, &allowed)?;
    if pair.0 == pair.1 {
        return Err(CalibrateError::InvalidCpu {
            cpu: pair.1,
            reason: "the two CPUs must differ".into(),
        });
    }
    Ok(pair)
}

/// Runs every benchmark on the chosen pair of CPUs, one after another.
pub fn calibrate(opts: &Options) -> Result<Calibration, CalibrateError> {
    let cpus = choose_cpus(opts)?;
    let plan = stats::Plan::new(opts.quick);
    let topology = HostTopology::read();
    let (model, mhz, cpu_flags) = sys::cpuinfo();
    let nopcid = sys::read_trimmed("/proc/cmdline")
        .is_some_and(|c| c.split_whitespace().any(|w| w == "nopcid"));
    let host = format!(
        "{}, {} CPUs",
        model.unwrap_or_else(|| std::env::consts::ARCH.to_string()),
        topology.cpus
    );
    let membarrier_note = os::membarrier_unavailable();
    let (membarrier, membarrier_note) = match membarrier_note {
        Some(note) => (None, Some(note)),
        None => match os::membarrier_ipi(&plan, cpus) {
            Ok(m) => (Some(m), None),
            Err(e @ CalibrateError::Sys { .. }) => (None, Some(format!("unavailable: {e}"))),
            Err(e) => return Err(e),
        },
    };
    Ok(Calibration {
        host,
        mhz,
        cpu_flags,
        nopcid,
        cpus,
        distance: Distance::between(cpus.0, cpus.1),
        idle: IdleInfo::read(),
        topology,
        c2c: mem::c2c(&plan, cpus)?,
        l1_load: mem::l1_load(&plan, cpus.0)?,
        rmw_uncontended: mem::rmw_uncontended(&plan, cpus.0)?,
        rmw_contended: mem::rmw_contended(&plan, cpus)?,
        fence: mem::fence_cost(&plan, cpus.0)?,
        #[cfg(target_arch = "x86_64")]
        mfence: Some(mem::mfence_cost(&plan, cpus.0)?),
        #[cfg(not(target_arch = "x86_64"))]
        mfence: None,
        syscall: os::syscall(&plan, cpus.0)?,
        membarrier,
        membarrier_note,
        pipe_syscall: os::pipe_syscall(&plan, cpus.0)?,
        wake_write_cross_cpu: os::ctxsw(&plan, cpus, os::Timed::WakingWrite)?,
        ctxsw_pinned_same_cpu: os::ctxsw(&plan, (cpus.0, cpus.0), os::Timed::RoundTrip)?,
        ctxsw_cross_cpu: os::ctxsw(&plan, cpus, os::Timed::RoundTrip)?,
        ctxsw_same_cpu_by_cpu: same_cpu_spread()?,
    })
}

/// The quick same-CPU ping-pong on each allowed CPU in turn ([`SPREAD_CPUS`] at most, evenly
/// spaced): on a VM one CPU can be 2–4× slower than another (docs/simulator.md,
/// "Calibration on a 16-CPU machine"), and the profile's switch cost is one CPU's.
fn same_cpu_spread() -> Result<Vec<(usize, f64)>, CalibrateError> {
    let allowed = allowed_cpus()?;
    let step = allowed.len().div_ceil(SPREAD_CPUS).max(1);
    let quick = stats::Plan::new(true);
    (allowed.iter().step_by(step))
        .map(|&cpu| {
            let m = os::ctxsw(&quick, (cpu, cpu), os::Timed::RoundTrip)?;
            Ok((cpu, m.value_ns))
        })
        .collect()
}

impl Calibration {
    /// [`Calibration::ctxsw_same_cpu_by_cpu`] in one line: median, minimum and maximum over
    /// the CPUs (None with fewer than two).
    pub fn same_cpu_spread(&self) -> Option<String> {
        let v = &self.ctxsw_same_cpu_by_cpu;
        if v.len() < 2 {
            return None;
        }
        let mut ns: Vec<f64> = v.iter().map(|&(_, x)| x).collect();
        ns.sort_by(f64::total_cmp);
        let median = ns[ns.len() / 2];
        let min = v.iter().min_by(|a, b| a.1.total_cmp(&b.1))?;
        let max = v.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
        Some(format!(
            "the same-CPU ping-pong (quick) on each of {} CPUs in turn: median {median:.1} ns, \
             {:.1} ns on CPU {} to {:.1} ns on CPU {}",
            v.len(),
            min.1,
            min.0,
            max.1,
            max.0
        ))
    }
}
