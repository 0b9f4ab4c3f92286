//! Timelines: a Perfetto trace of one simulation (`lazymm sim --timeline FILE`).
//!
//! When [`SimConfig::timeline`](crate::SimConfig::timeline) is set, the simulated CPUs feed
//! a recorder (`recorder`) from their hooks — every point, event, access, IPI kick, spin
//! and interrupt of a CPU passes through `SimCpu` with its virtual time — and the run
//! returns a [`Timeline`]; [`Timeline::write`] encodes it as native Perfetto protobuf
//! ([`perfetto`]) and writes it atomically. Off (`None`), the recorder costs one branch
//! per hook and the simulation is unchanged.
//!
//! ```text
//!  track "cpu N"   what the CPU runs, one slice per stretch: "user mm#3.0", "idle",
//!                  "idle, lazy mm#3.0" (a borrowed active_mm), "kthread, lazy …",
//!                  "kthread_use_mm …", "exit_mm, lazy …"; nested in them:
//!                  context_switch (ContextSwitch event → switch_to), spins (csd_lock_wait,
//!                  ttwu:on_cpu…), "<caller> IPI" sends, "IPI: <func>" handlers,
//!                  "mm_count transfer" stalls; instants "__mmput (mm_users → 0)", "__mmdrop"
//!  flows           IPI send → handler; mm_count line: previous holder → requester;
//!                  __mmput → __mmdrop of the same mm
//!  track "events"  warm-up end, stop, truncation
//!  counter         mms pending free (mm_users 0, not yet freed)
//! ```
//! Recording covers the workload's run (warm-up and measurement), not the drain and
//! quiesce after the stop. It is bounded by [`TimelineOpts::limit`] events and
//! [`TimelineOpts::until_ns`]: past the bound, the trace stops at a cut time, every slice
//! open then is closed at it, and the cut is named in the trace (an instant on "events"
//! and the description of the machine's track).

pub mod perfetto;
mod recorder;

pub(crate) use recorder::Recorder;

use lazymm_model::Kernel;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// What to record, and how much at most.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineOpts {
    /// Most events kept; past it the trace is cut at the time of the first event refused.
    pub limit: usize,
    /// Keep only events before this virtual time (ns).
    pub until_ns: Option<f64>,
}

impl Default for TimelineOpts {
    fn default() -> Self {
        TimelineOpts {
            limit: 1_000_000,
            until_ns: None,
        }
    }
}

/// What one recorded event is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Begin,
    End,
    Instant,
    Counter(i64),
}

/// A value of an event argument.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Arg {
    U(u64),
    S(String),
}

/// An event's rare parts: arguments and the flows it ends.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Extra {
    pub(crate) args: Vec<(&'static str, Arg)>,
    pub(crate) ends: Vec<u64>,
}

/// One recorded event. `seq` orders events of equal time as they happened on their CPU.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ev {
    pub(crate) ts: f64,
    pub(crate) seq: u64,
    pub(crate) track: u32,
    pub(crate) kind: Kind,
    /// Interned name and category (0: none).
    pub(crate) name: u32,
    pub(crate) cat: u32,
    /// A flow leaving here (0: none).
    pub(crate) flow: u64,
    pub(crate) extra: Option<Box<Extra>>,
}

/// Track numbers: CPUs are `0..ncpus`; these follow.
pub(crate) const TRACK_EVENTS: u32 = u32::MAX - 1;
pub(crate) const TRACK_PENDING: u32 = u32::MAX;

/// A recorded simulation, ready to encode.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    pub(crate) ncpus: usize,
    pub(crate) evs: Vec<Ev>,
    pub(crate) names: Vec<String>,
    pub(crate) name_ids: HashMap<String, u32>,
    pub(crate) seq: u64,
    pub(crate) limit: usize,
    pub(crate) until: f64,
    /// Events at or after this time are dropped (set when the limit is reached).
    pub(crate) cut: Option<f64>,
    pub(crate) title: String,
    /// End of the recorded run (ns).
    pub(crate) end_ns: f64,
    /// Adding the post-run parts (not subject to the limit).
    pub(crate) post_run: bool,
    /// Flow ids handed out so far.
    pub(crate) flows: u64,
    /// `mm_users` RMWs: (mm slot, time after the RMW, ns) → CPU (where `__mmput` ran).
    pub(crate) users_rmw: HashMap<(u32, u64), u32>,
}

impl Timeline {
    pub(crate) fn new(opts: &TimelineOpts, ncpus: usize) -> Timeline {
        let mut t = Timeline {
            ncpus,
            limit: opts.limit.max(1),
            until: opts.until_ns.unwrap_or(f64::INFINITY),
            ..Timeline::default()
        };
        t.intern(""); // id 0: no name
        t
    }

    /// Interns a name or category.
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.name_ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.to_string());
        self.name_ids.insert(s.to_string(), id);
        id
    }

    /// The next sequence numbers: `n` of them, for events whose time is now but which are
    /// emitted later (a slice begin known only at its end).
    pub(crate) fn reserve(&mut self, n: u64) -> u64 {
        let s = self.seq;
        self.seq += n;
        s
    }

    /// Whether an event at `ts` may still be recorded; reaching the limit cuts the trace
    /// at `ts`. Past 5/4 of the limit (CPUs far behind the cut), the cut moves back.
    pub(crate) fn accepts(&mut self, ts: f64) -> bool {
        if ts >= self.until || self.cut.is_some_and(|c| ts >= c) {
            return false;
        }
        if self.post_run {
            // Frees, exits and counters: bounded by the mms, taken whatever the limit.
            return true;
        }
        if self.evs.len() >= self.limit + self.limit / 4 {
            self.cut = Some(self.cut.map_or(ts, |c| c.min(ts)));
            return false;
        }
        if self.evs.len() >= self.limit && self.cut.is_none() {
            self.cut = Some(ts);
            return false;
        }
        true
    }

    /// Records an event (the caller checked [`Timeline::accepts`] for non-ends).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        ts: f64,
        seq: Option<u64>,
        track: u32,
        kind: Kind,
        name: u32,
        cat: u32,
        flow: u64,
        extra: Option<Box<Extra>>,
    ) {
        let seq = seq.unwrap_or_else(|| self.reserve(1));
        self.evs.push(Ev {
            ts,
            seq,
            track,
            kind,
            name,
            cat,
            flow,
            extra,
        });
    }

    /// A new flow id.
    pub(crate) fn flow(&mut self) -> u64 {
        self.flows += 1;
        self.flows
    }

    /// Records an instant if accepted.
    pub(crate) fn instant(&mut self, track: u32, ts: f64, name: &str, cat: &str, x: Extra) {
        if self.accepts(ts) {
            let (n, c) = (self.intern(name), self.intern(cat));
            self.push(ts, None, track, Kind::Instant, n, c, 0, Some(Box::new(x)));
        }
    }

    /// Events recorded.
    pub fn events(&self) -> usize {
        self.evs.len()
    }

    /// The time (ns) at which the trace was cut by its bound, if it was.
    pub fn truncated_at_ns(&self) -> Option<f64> {
        match self.cut {
            Some(c) => Some(c),
            None if self.until < self.end_ns => Some(self.until),
            None => None,
        }
    }

    /// The post-run parts (frees and exits from the oracle, the pending-free counter,
    /// markers) and the title. Called once by
    /// [`crate::simulate_with_timeline`].
    pub(crate) fn finish(&mut self, k: &Kernel, title: String, from_ns: f64, end_ns: f64) {
        self.title = title;
        self.end_ns = end_ns;
        self.post_run = true;
        let mut edges: Vec<(f64, i64)> = Vec::new();
        let exits = std::mem::take(&mut self.users_rmw);
        for (mm, s) in k.oracle.all() {
            let Some(x) = s.exited else { continue };
            let x = x as f64;
            if x > end_ns {
                continue;
            }
            let freed = s
                .freed
                .as_ref()
                .filter(|f| !f.during_quiesce && (f.step as f64) <= end_ns);
            let flow = match (exits.get(&(mm.idx() as u32, x as u64)), freed) {
                (Some(_), Some(_)) => self.flow(),
                _ => 0,
            };
            let name = format!("{mm:?}");
            if let Some(&cpu) = exits.get(&(mm.idx() as u32, x as u64)) {
                let x_ = Extra {
                    args: vec![("mm", Arg::S(name.clone()))],
                    ends: vec![],
                };
                if self.accepts(x) {
                    let (n, c) = (self.intern("__mmput (mm_users → 0)"), self.intern("mm"));
                    self.push(x, None, cpu, Kind::Instant, n, c, flow, Some(Box::new(x_)));
                }
            }
            edges.push((x, 1));
            if let Some(f) = freed {
                let t = f.step as f64;
                let x_ = Extra {
                    args: vec![("mm", Arg::S(name)), ("via", Arg::S(f.via.to_string()))],
                    ends: if flow != 0 { vec![flow] } else { vec![] },
                };
                self.instant(f.cpu as u32, t, "__mmdrop", "mm", x_);
                edges.push((t, -1));
            }
        }
        edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut cur = 0;
        for (t, d) in edges {
            cur += d;
            if self.accepts(t) {
                self.push(t, None, TRACK_PENDING, Kind::Counter(cur), 0, 0, 0, None);
            }
        }
        let x = Extra::default;
        self.instant(TRACK_EVENTS, from_ns, "warm-up done: measuring", "run", x());
        self.instant(TRACK_EVENTS, end_ns, "stop", "run", x());
        if let Some(c) = self.truncated_at_ns() {
            let why = format!("timeline truncated here (limit {} events)", self.limit);
            let n = self.intern(&why);
            let cat = self.intern("run");
            self.push(c, None, TRACK_EVENTS, Kind::Instant, n, cat, 0, None);
        }
    }

    /// Encodes the trace (native Perfetto protobuf).
    pub fn encode(&self) -> Vec<u8> {
        perfetto::encode(self)
    }

    /// Writes the encoded trace to `path` atomically (a temporary file beside it, then a
    /// rename). Returns the bytes written.
    pub fn write(&self, path: &Path) -> Result<u64, String> {
        let bytes = self.encode();
        let name = path
            .file_name()
            .ok_or_else(|| format!("--timeline {}: not a file name", path.display()))?;
        let tmp = path.with_file_name(format!(
            ".{}.tmp{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let err = |e: std::io::Error| format!("--timeline {}: {e}", path.display());
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(&bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err(e)
        })?;
        Ok(bytes.len() as u64)
    }
}
