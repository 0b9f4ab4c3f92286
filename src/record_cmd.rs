//! `lazymm record`: record a real scheduler trace with ftrace, for replay in lazymm.
//!
//! As root, it finds tracefs (mounting it if need be), saves every setting it changes in a
//! [`state::StateGuard`], enables the scheduler events (and `tlb:tlb_flush`) with
//! `record-tgid`, clears the ring buffer and turns tracing on; then it runs the command (or
//! waits `--seconds`, or until Ctrl-C) while a reader thread streams `trace_pipe` into
//! `FILE.tmp`. At the end it turns tracing off, drains the pipe, reads the per-CPU loss
//! counters, restores tracefs exactly (also on error and on SIGINT/SIGTERM/SIGHUP, which only
//! end the wait) and renames `FILE.tmp` to `FILE`.
//!
//! The file is the kernel's `trace_pipe` text byte for byte
//! (`comm-pid (tgid) [cpu] flags ts: event: fields`), after one `# lazymm record: ...` header
//! line giving the command, CPU count, kernel and settings.

mod state;
mod stream;
mod text;
mod tracefs;
mod workload;

use clap::Args;
use state::{Kind, StateGuard};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use text::header;
pub use text::quote;
use workload::wait;

/// `lazymm record` options.
#[derive(Args, Debug, Clone)]
pub struct RecordArgs {
    /// The trace file to write (ftrace text; written to FILE.tmp, renamed at the end).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Record for this many seconds (without a command; default without one: until Ctrl-C).
    #[arg(long, conflicts_with = "cmd")]
    pub seconds: Option<f64>,
    /// Ring buffer per CPU, in KiB.
    #[arg(long, default_value_t = 16384)]
    pub buffer_kb: u64,
    /// Trace clock (one of tracefs's `trace_clock` choices; `local` is the kernel default
    /// and what perf and trace-cmd use).
    #[arg(long, default_value = "local")]
    pub clock: String,
    /// The command to trace, after `--` (it inherits stdin, stdout and stderr).
    #[arg(last = true, value_name = "CMD")]
    pub cmd: Vec<String>,
}

/// Trace options set for the kernel's standard text: `record-tgid` for the `(tgid)` column,
/// `irq-info` and `context-info` for the flags and the `comm-pid` prefix, none of the
/// alternative formats, no stack traces.
const OPTIONS: [(&str, &str); 9] = [
    ("record-tgid", "1"),
    ("record-cmd", "1"),
    ("irq-info", "1"),
    ("context-info", "1"),
    ("raw", "0"),
    ("hex", "0"),
    ("bin", "0"),
    ("latency-format", "0"),
    ("stacktrace", "0"),
];

/// `saved_cmdlines_size` is raised to at least this so comms of many tasks resolve.
const CMDLINES: u64 = 8192;

/// What ends a recording.
#[derive(Debug, Clone, PartialEq)]
pub enum Until {
    /// The command exiting.
    Command(Vec<String>),
    /// A wall-clock time.
    Seconds(Duration),
    /// Ctrl-C (SIGINT, SIGTERM or SIGHUP).
    Interrupt,
}

/// A checked recording request.
#[derive(Debug, Clone, PartialEq)]
pub struct Opts {
    /// The output file.
    pub output: PathBuf,
    /// What ends the recording.
    pub until: Until,
    /// Per-CPU ring buffer, KiB.
    pub buffer_kb: u64,
    /// Trace clock.
    pub clock: String,
}

/// What a recording did.
#[derive(Debug)]
pub struct Report {
    /// Lines and bytes copied from `trace_pipe` (the header line not counted).
    pub copied: stream::Copied,
    /// Seconds from tracing on to tracing off.
    pub seconds: f64,
    /// The command's exit status, if there was a command.
    pub status: Option<ExitStatus>,
    /// Whether the wait ended on a signal.
    pub interrupted: bool,
    /// Per-CPU loss counters read before restoring.
    pub losses: Vec<tracefs::Loss>,
    /// Events enabled (`system:event`).
    pub enabled: Vec<String>,
    /// Events absent on this kernel.
    pub skipped: Vec<String>,
    /// Settings changed and restored (paths under the tracefs root).
    pub restored: Vec<String>,
}

impl RecordArgs {
    /// Check the arguments.
    pub fn opts(&self) -> Result<Opts, String> {
        let until = match (self.cmd.is_empty(), self.seconds) {
            (false, _) => Until::Command(self.cmd.clone()),
            (true, Some(s)) if s.is_finite() && s > 0.0 && s <= 1e6 => {
                Until::Seconds(Duration::from_secs_f64(s))
            }
            (true, Some(s)) => return Err(format!("--seconds {s}: must be in (0, 1000000]")),
            (true, None) => Until::Interrupt,
        };
        if !(1..=1 << 20).contains(&self.buffer_kb) {
            return Err(format!(
                "--buffer-kb {}: must be in 1..=1048576 (KiB per CPU)",
                self.buffer_kb
            ));
        }
        if self.clock.is_empty() || self.clock.contains(char::is_whitespace) {
            return Err(format!("--clock {:?}: not a clock name", self.clock));
        }
        let o = &self.output;
        if o.as_os_str().is_empty() || o.is_dir() {
            return Err(format!("-o {}: not a file name", o.display()));
        }
        let parent = o.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(p) = parent.filter(|p| !p.is_dir()) {
            return Err(format!(
                "-o {}: directory {} does not exist",
                o.display(),
                p.display()
            ));
        }
        Ok(Opts {
            output: o.clone(),
            until,
            buffer_kb: self.buffer_kb,
            clock: self.clock.clone(),
        })
    }
}

/// `lazymm record`: exit 0, 1 if the command failed (the trace is still written), 2 on error.
pub fn main(a: &RecordArgs) -> ExitCode {
    let run = || -> Result<Report, String> {
        let opts = a.opts()?;
        tracefs::check_root(tracefs::euid())?;
        let interrupt = Arc::new(AtomicBool::new(false));
        for sig in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            signal_hook::flag::register(sig, interrupt.clone())
                .map_err(|e| format!("installing the signal handler: {e}"))?;
        }
        let mount = tracefs::locate()?;
        record(&mount.root, &opts, &interrupt)
    };
    match run() {
        Ok(r) => {
            print_report(a, &r);
            match r.status {
                Some(s) if !s.success() => ExitCode::from(1),
                _ => ExitCode::SUCCESS,
            }
        }
        Err(e) => {
            eprintln!("error: record: {e}");
            ExitCode::from(2)
        }
    }
}

fn print_report(a: &RecordArgs, r: &Report) {
    let c = &r.copied;
    eprintln!(
        "recorded {}: {} lines, {} bytes ({:.1} MiB), {:.2} s",
        a.output.display(),
        c.lines,
        c.bytes,
        c.bytes as f64 / (1 << 20) as f64,
        r.seconds
    );
    if let Some(s) = r.status {
        eprintln!("command `{}` exited: {s}", quote(&a.cmd));
    }
    if r.interrupted {
        eprintln!("stopped by a signal");
    }
    eprintln!("events: {}", r.enabled.join(" "));
    if !r.skipped.is_empty() {
        eprintln!("absent on this kernel, skipped: {}", r.skipped.join(" "));
    }
    let lost: Vec<_> = r.losses.iter().filter(|l| l.any()).collect();
    if lost.is_empty() && c.lost_lines == 0 {
        eprintln!(
            "lost events: none (per-CPU overrun, commit overrun and dropped events all 0 on {} CPUs)",
            r.losses.len()
        );
    } else {
        eprintln!(
            "LOST EVENTS: {} `[LOST n EVENTS]` lines in the trace",
            c.lost_lines
        );
        for l in lost {
            eprintln!(
                "  cpu{}: overrun {} commit overrun {} dropped {}",
                l.cpu, l.overrun, l.commit_overrun, l.dropped
            );
        }
        eprintln!("  (raise --buffer-kb, or record a shorter run)");
    }
    eprintln!(
        "tracefs restored ({} settings changed: {})",
        r.restored.len(),
        r.restored.join(" ")
    );
}

/// `FILE.tmp`, next to `FILE`.
fn tmp_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Removes the temporary output on drop unless it was renamed.
struct TmpFile(Option<PathBuf>);

impl Drop for TmpFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Record with the tracefs at `root`; `interrupt` ends the wait early.
pub fn record(root: &Path, o: &Opts, interrupt: &AtomicBool) -> Result<Report, String> {
    let tmp = tmp_path(&o.output);
    let file = File::create(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let mut tmp_guard = TmpFile(Some(tmp.clone()));
    let mut g = StateGuard::new(root);
    g.set("tracing_on", Kind::Plain, "0")?;
    g.set("current_tracer", Kind::Plain, "nop")?;
    g.set("set_event", Kind::List, "")?;
    for f in ["set_event_pid", "set_event_notrace_pid"] {
        if root.join(f).exists() {
            g.set(f, Kind::List, "")?;
        }
    }
    for (opt, v) in OPTIONS {
        let rel = format!("options/{opt}");
        if root.join(&rel).exists() {
            g.set(&rel, Kind::Plain, v)?;
        }
    }
    if root.join("saved_cmdlines_size").exists() {
        let cur = tracefs::read(root, "saved_cmdlines_size")?;
        if cur.trim().parse::<u64>().is_ok_and(|n| n < CMDLINES) {
            g.set("saved_cmdlines_size", Kind::Plain, &CMDLINES.to_string())?;
        }
    }
    let clocks = tracefs::read(root, "trace_clock")?;
    let names: Vec<&str> = clocks
        .split_whitespace()
        .map(|w| w.trim_matches(|c| c == '[' || c == ']'))
        .collect();
    if !names.contains(&o.clock.as_str()) {
        return Err(format!(
            "--clock {}: not one of this kernel's clocks: {}",
            o.clock,
            names.join(" ")
        ));
    }
    g.set("trace_clock", Kind::Choice, &o.clock)?;
    g.set("buffer_size_kb", Kind::BufferSize, &o.buffer_kb.to_string())?;
    let (mut enabled, mut skipped) = (Vec::new(), Vec::new());
    // The events recorded (`lazymm_trace::TRACEPOINTS`); absent ones are skipped and reported.
    for (system, event) in lazymm_trace::TRACEPOINTS {
        let ev = format!("{system}/{event}");
        let name = format!("{system}:{event}");
        if !root.join("events").join(&ev).join("enable").exists() {
            skipped.push(name);
            continue;
        }
        let filter = format!("events/{ev}/filter");
        if root.join(&filter).exists() {
            g.set(&filter, Kind::Filter, "0")?;
        }
        g.set(&format!("events/{ev}/enable"), Kind::Plain, "1")?;
        enabled.push(name);
    }
    if enabled.is_empty() {
        return Err(format!(
            "none of the scheduler events exist under {}/events",
            root.display()
        ));
    }
    let mut w = BufWriter::with_capacity(1 << 20, file);
    w.write_all(header(o, &enabled).as_bytes())
        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    tracefs::write(root, "trace", "")?; // clear the ring buffer (and its loss counters)
    let reader = stream::spawn(&root.join("trace_pipe"), w).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let ran = g
        .set("tracing_on", Kind::Plain, "1")
        .and_then(|()| wait(&o.until, interrupt));
    let seconds = start.elapsed().as_secs_f64();
    let off = tracefs::write(root, "tracing_on", "0");
    let drained = reader.finish();
    let losses = tracefs::losses(root);
    let restored = g.saved().iter().map(|s| s.rel.clone()).collect();
    g.restore()?;
    let (status, interrupted) = ran?;
    off?;
    let (copied, w) =
        drained.map_err(|e| format!("copying trace_pipe to {}: {e}", tmp.display()))?;
    let losses = losses?;
    let file = w
        .into_inner()
        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    file.sync_all()
        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &o.output)
        .map_err(|e| format!("renaming {} to {}: {e}", tmp.display(), o.output.display()))?;
    tmp_guard.0 = None;
    Ok(Report {
        copied,
        seconds,
        status,
        interrupted,
        losses,
        enabled,
        skipped,
        restored,
    })
}

#[cfg(test)]
mod tests;
