//! Finding (or mounting) tracefs, and reading and writing its control files.
//!
//! Every function takes the tracefs root as a path so the same code runs on the kernel's
//! tracefs and, in the tests, on a fake tree of plain files in a temporary directory. Writes
//! open with `O_TRUNC`: tracefs ignores it on value files and uses it to mean "clear" on list
//! files (`set_event`, `set_event_pid`), which is what a restore of a list needs; on a plain
//! file it makes the write replace the contents.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where tracefs is looked for, in order; the first is also where it is mounted if missing.
pub const CANDIDATES: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// Whether `dir` looks like a mounted tracefs (it has the control files `record` uses).
pub fn is_tracefs(dir: &Path) -> bool {
    dir.join("tracing_on").is_file() && dir.join("trace_pipe").exists()
}

/// The first of `candidates` that is a mounted tracefs.
pub fn find(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find(|d| is_tracefs(d)).cloned()
}

/// A located tracefs; if `record` mounted it, dropping this unmounts it again.
pub struct Mount {
    /// The tracefs root.
    pub root: PathBuf,
    /// Whether `record` mounted it (and so unmounts it at the end).
    pub mounted_here: bool,
}

impl Drop for Mount {
    fn drop(&mut self) {
        if self.mounted_here {
            match Command::new("umount").arg(&self.root).status() {
                Ok(s) if s.success() => {}
                Ok(s) => eprintln!(
                    "warning: umount {} exited with {s}; tracefs stays mounted",
                    self.root.display()
                ),
                Err(e) => eprintln!("warning: umount {}: {e}", self.root.display()),
            }
        }
    }
}

/// Find tracefs at [`CANDIDATES`], or mount it on the first one (with `mount -t tracefs`).
pub fn locate() -> Result<Mount, String> {
    let cands: Vec<PathBuf> = CANDIDATES.iter().map(PathBuf::from).collect();
    if let Some(root) = find(&cands) {
        return Ok(Mount {
            root,
            mounted_here: false,
        });
    }
    let target = &cands[0];
    let known = fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !known.split_whitespace().any(|w| w == "tracefs") {
        return Err(format!(
            "tracefs missing: not mounted at {} or {}, and this kernel has no tracefs \
             (/proc/filesystems does not list it; CONFIG_TRACING off?)",
            CANDIDATES[0], CANDIDATES[1]
        ));
    }
    if !target.is_dir() {
        return Err(format!(
            "tracefs missing: not mounted at {} or {}, and the mount point {} does not exist",
            CANDIDATES[0],
            CANDIDATES[1],
            target.display()
        ));
    }
    let out = Command::new("mount")
        .args(["-t", "tracefs", "nodev"])
        .arg(target)
        .output()
        .map_err(|e| format!("tracefs missing, and running `mount` failed: {e}"))?;
    // Mounted here unless it was already mounted (a race with another tool): then leave it.
    let mounted_here = out.status.success();
    if !is_tracefs(target) {
        return Err(format!(
            "tracefs missing: `mount -t tracefs nodev {}` failed: {}",
            target.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(Mount {
        root: target.clone(),
        mounted_here,
    })
}

/// Refuse unless `euid` is root's: tracefs control files are root-only.
pub fn check_root(euid: u32) -> Result<(), String> {
    if euid == 0 {
        Ok(())
    } else {
        Err(format!(
            "record needs root (tracefs is root-only); effective uid is {euid}: run it with sudo"
        ))
    }
}

/// This process's effective uid.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Read the control file `rel` under `root`.
pub fn read(root: &Path, rel: &str) -> Result<String, String> {
    let p = root.join(rel);
    fs::read_to_string(&p).map_err(|e| format!("reading {}: {e}", p.display()))
}

/// Write `text` to the control file `rel` under `root` (opened with `O_TRUNC`).
pub fn write(root: &Path, rel: &str, text: &str) -> Result<(), String> {
    let p = root.join(rel);
    let mut f = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&p)
        .map_err(|e| format!("opening {} to write {text:?}: {e}", p.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("writing {text:?} to {}: {e}", p.display()))
}

/// Events lost on one CPU, from `per_cpu/cpuN/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loss {
    /// The CPU.
    pub cpu: usize,
    /// `overrun`: events overwritten before they were read (overwrite mode).
    pub overrun: u64,
    /// `commit overrun`: events lost inside a nested write.
    pub commit_overrun: u64,
    /// `dropped events`: events not written because the buffer was full (no-overwrite mode).
    pub dropped: u64,
}

impl Loss {
    /// Whether this CPU lost any event.
    pub fn any(&self) -> bool {
        self.overrun + self.commit_overrun + self.dropped > 0
    }
}

/// Parse one `per_cpu/cpuN/stats` file.
pub fn parse_stats(cpu: usize, text: &str) -> Loss {
    let mut l = Loss {
        cpu,
        ..Loss::default()
    };
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v: u64 = v.trim().parse().unwrap_or(0);
        match k.trim() {
            "overrun" => l.overrun = v,
            "commit overrun" => l.commit_overrun = v,
            "dropped events" => l.dropped = v,
            _ => {}
        }
    }
    l
}

/// The loss counters of every CPU under `root/per_cpu`, by CPU number.
pub fn losses(root: &Path) -> Result<Vec<Loss>, String> {
    let dir = root.join("per_cpu");
    let rd = fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for ent in rd.flatten() {
        let name = ent.file_name().to_string_lossy().into_owned();
        let Some(cpu) = name.strip_prefix("cpu").and_then(|n| n.parse().ok()) else {
            continue;
        };
        out.push(parse_stats(
            cpu,
            &read(root, &format!("per_cpu/{name}/stats"))?,
        ));
    }
    out.sort_by_key(|l| l.cpu);
    Ok(out)
}

/// The number of online CPUs (`/sys/devices/system/cpu/online`, a range list like `0-3,8`,
/// parsed by calibrate's `parse_cpu_list`, which refuses a reversed range).
pub fn online_cpus() -> usize {
    fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| lazymm_calibrate::parse_cpu_list(&s))
        .map(|v| v.len())
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
}
