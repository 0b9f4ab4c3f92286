//! The host as Linux describes it (`/proc/cpuinfo`, `/sys/devices/system/cpu`), CPU pinning, and
//! the runner that starts two pinned benchmark threads.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;

use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};

use crate::CalibrateError;

const CPU_SYS: &str = "/sys/devices/system/cpu";

/// Reads a sysfs/procfs file as trimmed text; `None` if it is absent or unreadable.
pub(crate) fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// Parses a kernel CPU list such as `0-3,8,10-11` into CPU numbers (ascending as written).
pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi): (usize, usize) = (lo.parse().ok()?, hi.parse().ok()?);
                if hi < lo {
                    return None;
                }
                cpus.extend(lo..=hi);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

fn cpu_list_file(path: impl AsRef<Path>) -> Option<Vec<usize>> {
    parse_cpu_list(&read_trimmed(path)?)
}

/// The CPUs sharing a core with `cpu` (its `thread_siblings_list`), `cpu` alone if unknown.
pub(crate) fn smt_siblings(cpu: usize) -> Vec<usize> {
    cpu_list_file(format!("{CPU_SYS}/cpu{cpu}/topology/thread_siblings_list"))
        .unwrap_or_else(|| vec![cpu])
}

/// The CPUs sharing the last-level (level 3) cache with `cpu`, if sysfs says.
pub(crate) fn llc_cpus(cpu: usize) -> Option<Vec<usize>> {
    let dir = format!("{CPU_SYS}/cpu{cpu}/cache/index3");
    if read_trimmed(format!("{dir}/level")).as_deref() != Some("3") {
        return None;
    }
    cpu_list_file(format!("{dir}/shared_cpu_list"))
}

fn package_id(cpu: usize) -> Option<String> {
    read_trimmed(format!("{CPU_SYS}/cpu{cpu}/topology/physical_package_id"))
}

/// How far apart two CPUs are in the cache hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distance {
    /// SMT siblings: one core.
    Smt,
    /// Different cores sharing the last-level cache.
    Cluster,
    /// Same socket (package), different last-level caches.
    Socket,
    /// Different sockets.
    CrossSocket,
}

impl Distance {
    /// The distance class of `a` and `b` from their sysfs topology.
    pub fn between(a: usize, b: usize) -> Distance {
        if smt_siblings(a).contains(&b) {
            Distance::Smt
        } else if llc_cpus(a).is_some_and(|l| l.contains(&b)) {
            Distance::Cluster
        } else if package_id(a) == package_id(b) {
            Distance::Socket
        } else {
            Distance::CrossSocket
        }
    }

    /// A short phrase for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Distance::Smt => "SMT siblings (one core)",
            Distance::Cluster => "different cores sharing the last-level cache",
            Distance::Socket => "same socket, different last-level caches",
            Distance::CrossSocket => "different sockets",
        }
    }
}

/// The host's topology as sysfs reports it (counts of online CPUs).
#[derive(Clone, Debug, PartialEq)]
pub struct HostTopology {
    /// Online CPUs (`/sys/devices/system/cpu/online`).
    pub cpus: usize,
    /// Hardware threads per core: size of cpu0's `thread_siblings_list`.
    pub smt: usize,
    /// CPUs sharing cpu0's last-level (L3) cache, if sysfs lists it.
    pub llc_cpus: Option<usize>,
    /// Distinct `physical_package_id` values.
    pub sockets: usize,
    /// NUMA nodes (`/sys/devices/system/node/node*`), at least 1.
    pub nodes: usize,
    /// cpu0's `thread_siblings_list`, as written.
    pub siblings_text: String,
}

impl HostTopology {
    /// Reads the topology from sysfs.
    pub fn read() -> HostTopology {
        let online = cpu_list_file(format!("{CPU_SYS}/online")).unwrap_or_else(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            (0..n).collect()
        });
        let mut packages: Vec<String> = online.iter().filter_map(|&c| package_id(c)).collect();
        packages.sort();
        packages.dedup();
        let nodes = fs::read_dir("/sys/devices/system/node")
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| {
                        let name = e.file_name();
                        let name = name.to_string_lossy();
                        name.strip_prefix("node")
                            .is_some_and(|n| n.parse::<u32>().is_ok())
                    })
                    .count()
            })
            .unwrap_or(0);
        HostTopology {
            cpus: online.len().max(1),
            smt: smt_siblings(0).len().max(1),
            llc_cpus: llc_cpus(0).map(|l| l.len()),
            sockets: packages.len().max(1),
            nodes: nodes.max(1),
            siblings_text: read_trimmed(format!("{CPU_SYS}/cpu0/topology/thread_siblings_list"))
                .unwrap_or_else(|| "unknown".into()),
        }
    }
}

/// One cpuidle state of cpu0.
#[derive(Clone, Debug, PartialEq)]
pub struct IdleState {
    /// `name`.
    pub name: String,
    /// `latency`: the driver's declared exit latency, µs.
    pub latency_us: Option<u64>,
    /// `usage`: times entered since boot.
    pub usage: Option<u64>,
}

/// What sysfs says about idle: the cpuidle driver and cpu0's states.
#[derive(Clone, Debug, PartialEq)]
pub struct IdleInfo {
    /// `/sys/devices/system/cpu/cpuidle/current_driver`, or "none".
    pub driver: String,
    /// cpu0's cpuidle states, in order.
    pub states: Vec<IdleState>,
    /// `/sys/module/haltpoll/parameters/guest_halt_poll_ns`, where the haltpoll driver is loaded.
    pub guest_halt_poll_ns: Option<u64>,
}

impl IdleInfo {
    /// Reads the idle configuration from sysfs.
    pub fn read() -> IdleInfo {
        let mut states = Vec::new();
        for i in 0.. {
            let dir = format!("{CPU_SYS}/cpu0/cpuidle/state{i}");
            let Some(name) = read_trimmed(format!("{dir}/name")) else {
                break;
            };
            let num = |f: &str| read_trimmed(format!("{dir}/{f}")).and_then(|s| s.parse().ok());
            states.push(IdleState {
                name,
                latency_us: num("latency"),
                usage: num("usage"),
            });
        }
        IdleInfo {
            driver: read_trimmed(format!("{CPU_SYS}/cpuidle/current_driver"))
                .unwrap_or_else(|| "none".into()),
            states,
            guest_halt_poll_ns: read_trimmed("/sys/module/haltpoll/parameters/guest_halt_poll_ns")
                .and_then(|s| s.parse().ok()),
        }
    }

    /// Whether idle CPUs poll (so a remote wakeup needs no IPI): a `POLL` state has been used.
    pub fn polls(&self) -> bool {
        self.states
            .iter()
            .any(|s| s.name == "POLL" && s.usage.unwrap_or(0) > 0)
            || self.guest_halt_poll_ns.unwrap_or(0) > 0
    }

    /// One line: driver and states with declared latencies and use counts.
    pub fn describe(&self) -> String {
        let states: Vec<String> = self
            .states
            .iter()
            .map(|s| {
                let lat = s.latency_us.map_or("?".into(), |l| l.to_string());
                let used = s.usage.map_or("?".into(), |u| u.to_string());
                format!("{} (latency {lat} us, entered {used}x)", s.name)
            })
            .collect();
        let poll = self
            .guest_halt_poll_ns
            .map_or(String::new(), |ns| format!(", guest_halt_poll_ns={ns}"));
        format!(
            "cpuidle driver {}; cpu0 states: {}{poll}",
            self.driver,
            states.join(", ")
        )
    }
}

/// `model name`, `cpu MHz` and the feature flags of the first processor in `/proc/cpuinfo`.
pub(crate) fn cpuinfo() -> (Option<String>, Option<f64>, Vec<String>) {
    let text = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let flags = field("flags")
        .or_else(|| field("Features"))
        .unwrap_or_default();
    (
        field("model name"),
        field("cpu MHz").and_then(|m| m.parse().ok()),
        flags.split_whitespace().map(str::to_string).collect(),
    )
}

/// The CPUs this process may run on (the calling thread's affinity mask), ascending.
pub fn allowed_cpus() -> Result<Vec<usize>, CalibrateError> {
    let set = sched_getaffinity(None).map_err(|e| CalibrateError::Sys {
        call: "sched_getaffinity".into(),
        errno: e,
    })?;
    Ok((0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect())
}

/// Checks that `cpu` can be pinned to: below `CPU_SETSIZE` and in `allowed`.
pub(crate) fn check_cpu(cpu: usize, allowed: &[usize]) -> Result<(), CalibrateError> {
    if cpu >= CpuSet::MAX_CPU {
        return Err(CalibrateError::InvalidCpu {
            cpu,
            reason: format!("beyond CPU_SETSIZE ({})", CpuSet::MAX_CPU),
        });
    }
    if !allowed.contains(&cpu) {
        let list: Vec<String> = allowed.iter().map(usize::to_string).collect();
        return Err(CalibrateError::InvalidCpu {
            cpu,
            reason: format!(
                "not in this process's affinity mask (allowed: {})",
                list.join(",")
            ),
        });
    }
    Ok(())
}

/// Restricts the calling thread to `cpus`.
pub(crate) fn pin_current(cpus: &[usize]) -> Result<(), CalibrateError> {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        if cpu >= CpuSet::MAX_CPU {
            return Err(CalibrateError::InvalidCpu {
                cpu,
                reason: format!("beyond CPU_SETSIZE ({})", CpuSet::MAX_CPU),
            });
        }
        set.set(cpu);
    }
    sched_setaffinity(None, &set).map_err(|e| CalibrateError::Sys {
        call: format!("sched_setaffinity({cpus:?})"),
        errno: e,
    })
}

/// Runs `a` on a thread pinned to `cpus.0` and `b` on one pinned to `cpus.1`. Neither closure
/// starts unless both threads are pinned. A closure that may leave its partner waiting must
/// release it on every exit path (drop its pipe ends, set a stop flag).
pub(crate) fn pinned_pair<RA: Send, RB: Send>(
    cpus: (usize, usize),
    a: impl FnOnce() -> Result<RA, CalibrateError> + Send,
    b: impl FnOnce() -> Result<RB, CalibrateError> + Send,
) -> Result<(RA, RB), CalibrateError> {
    let barrier = Barrier::new(2);
    let failed = AtomicBool::new(false);
    let start = |cpu: usize| {
        let pinned = pin_current(&[cpu]);
        if pinned.is_err() {
            // Relaxed: the Barrier below orders this store before the partner's load.
            failed.store(true, Ordering::Relaxed);
        }
        barrier.wait();
        // Relaxed: pairs with the store above through the Barrier's synchronisation.
        let go = !failed.load(Ordering::Relaxed);
        (pinned, go)
    };
    std::thread::scope(|s| {
        let ha = s.spawn(|| match start(cpus.0) {
            (Err(e), _) => Err(e),
            (Ok(()), false) => Err(CalibrateError::PartnerFailed),
            (Ok(()), true) => a(),
        });
        let hb = s.spawn(|| match start(cpus.1) {
            (Err(e), _) => Err(e),
            (Ok(()), false) => Err(CalibrateError::PartnerFailed),
            (Ok(()), true) => b(),
        });
        let ra = ha
            .join()
            .map_err(|_| CalibrateError::Thread("thread A panicked".into()));
        let rb = hb
            .join()
            .map_err(|_| CalibrateError::Thread("thread B panicked".into()));
        // Report the first real failure, not the partner's "partner failed".
        match (ra.and_then(|r| r), rb.and_then(|r| r)) {
            (Ok(x), Ok(y)) => Ok((x, y)),
            (Err(CalibrateError::PartnerFailed), Err(e)) | (Err(e), _) | (_, Err(e)) => Err(e),
        }
    })
}

/// Runs `f` on a thread pinned to `cpu` (leaving the caller's own affinity alone).
pub(crate) fn pinned<R: Send>(
    cpu: usize,
    f: impl FnOnce() -> Result<R, CalibrateError> + Send,
) -> Result<R, CalibrateError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            pin_current(&[cpu])?;
            f()
        })
        .join()
        .map_err(|_| CalibrateError::Thread("benchmark thread panicked".into()))?
    })
}
