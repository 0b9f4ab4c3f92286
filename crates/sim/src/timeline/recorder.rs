//! The recorder behind the `SimCpu` hooks: one small state machine per CPU that turns
//! points, events, kicks, spins, interrupts and accesses into slices, instants and flows.
//!
//! ```text
//!  point                → what the CPU runs (rq->curr, its mm and active_mm); a change
//!                         ends the open slice and starts one (not inside a switch or an
//!                         interrupt: there the state is half-updated)
//!  ContextSwitch event  → the switch starts: at the point "context_switch:switch_to", the
//!                         old slice ends and the new one starts at the event's time, with a
//!                         nested "context_switch" slice up to switch_to
//!  kick                 → "<caller> IPI" slice (of the class the model gives the kick:
//!                         lazy, flush, reschedule or membarrier's ipi_mb), a flow to the
//!                         target's next handler
//!  interrupt            → "IPI: <func>" slice, ending the flows of the csds it ran
//!  wait                 → consecutive spins on one thing merge into one slice
//!  access to mm_count   → a transfer from another CPU: "mm_count transfer" slice and a flow
//!                         from the line's previous holder
//! ```
//! A slice begin known only at its end (switch, interrupt, spin) takes sequence numbers
//! reserved when its time was current, so events of equal time sort as they happened.

mod ipi;

use super::{Arg, Extra, Kind, Timeline, TimelineOpts};
use ipi::Kick;
use lazymm_model::ids::{CpuId, MmRef};
use lazymm_model::machine::{Access, Event, Line, Trace};
use lazymm_model::Kernel;
use std::collections::{HashMap, VecDeque};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Open {
    State,
    Switch,
}

struct Spin {
    on: &'static str,
    t0: f64,
    seq0: u64,
    t1: f64,
    seq1: u64,
}

#[derive(Default)]
struct CpuRec {
    stack: Vec<Open>,
    key: Option<(u8, u64)>,
    task: u32,
    /// A switch in progress: (time of the ContextSwitch event, reserved seqs, prev task).
    switch: Option<(f64, u64, u32)>,
    spin: Option<Spin>,
    /// An interrupt in progress: (start, reserved seq, function it ran).
    irq: Option<(f64, u64, Option<String>)>,
    last: f64,
}

/// The recorder (see the module doc).
pub(crate) struct Recorder {
    tl: Timeline,
    cpus: Vec<CpuRec>,
    /// Kicks not yet handled, per target: (flow id or 0, class).
    ipi_q: Vec<VecDeque<Kick>>,
    state_names: HashMap<(u8, u64), (u32, u32)>,
}

impl Recorder {
    pub(crate) fn new(opts: &TimelineOpts, ncpus: usize) -> Recorder {
        Recorder {
            tl: Timeline::new(opts, ncpus),
            cpus: (0..ncpus).map(|_| CpuRec::default()).collect(),
            ipi_q: (0..ncpus).map(|_| VecDeque::new()).collect(),
            state_names: HashMap::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn open(&mut self, cpu: CpuId, o: Open, ts: f64, seq: Option<u64>, n: u32, c: u32, x: Extra) {
        if self.tl.accepts(ts) {
            let x = Some(Box::new(x));
            self.tl.push(ts, seq, cpu as u32, Kind::Begin, n, c, 0, x);
            self.cpus[cpu].stack.push(o);
        }
    }

    fn close(&mut self, cpu: CpuId, o: Open, ts: f64, seq: Option<u64>) {
        if self.cpus[cpu].stack.last() == Some(&o) {
            self.cpus[cpu].stack.pop();
            self.tl.push(ts, seq, cpu as u32, Kind::End, 0, 0, 0, None);
        }
    }

    /// Emits a finished slice `[t0, t1]` (its begin's seq reserved at `t0` if given).
    #[allow(clippy::too_many_arguments)]
    fn slice(
        &mut self,
        cpu: u32,
        t0: f64,
        s0: Option<u64>,
        t1: f64,
        s1: Option<u64>,
        n: &str,
        c: &str,
        flow: u64,
        x: Extra,
    ) {
        let (n, c) = (self.tl.intern(n), self.tl.intern(c));
        self.tl
            .push(t0, s0, cpu, Kind::Begin, n, c, flow, Some(Box::new(x)));
        self.tl.push(t1, s1, cpu, Kind::End, 0, 0, 0, None);
    }

    fn close_spin(&mut self, cpu: CpuId) {
        if let Some(s) = self.cpus[cpu].spin.take() {
            if self.tl.accepts(s.t0) {
                let x = Extra::default();
                self.slice(
                    cpu as u32,
                    s.t0,
                    Some(s.seq0),
                    s.t1,
                    Some(s.seq1),
                    s.on,
                    "spin",
                    0,
                    x,
                );
            }
        }
    }

    /// Common entry of the hooks: the CPU's time, spins closed, the handler's function
    /// noted. Returns whether an interrupt is in progress.
    fn enter(&mut self, cpu: CpuId, now: f64, trace: &Trace, closes_spin: bool) -> bool {
        let r = &mut self.cpus[cpu];
        r.last = now;
        if let Some((_, _, f @ None)) = &mut r.irq {
            let path = trace.path();
            let mut frames = path.split(" > ").skip_while(|&f| f != "[ipi]").skip(1);
            *f = frames.next().map(str::to_string);
        }
        let irq = r.irq.is_some();
        if closes_spin {
            self.close_spin(cpu);
        }
        irq
    }

    fn state_name(&mut self, key: (u8, u64)) -> (u32, u32) {
        if let Some(&v) = self.state_names.get(&key) {
            return v;
        }
        let mm = MmRef(key.1);
        let lazy = |what: &str| match mm.is_null() {
            true => what.to_string(),
            false => format!("{what}, lazy {mm:?}"),
        };
        let name = match key.0 {
            0 => format!("user {mm:?}"),
            1 => lazy("idle"),
            2 => lazy("kthread"),
            3 => format!("kthread_use_mm {mm:?}"),
            _ => lazy("exit_mm"),
        };
        let lazy = matches!(key.0, 1 | 2 | 4) && !mm.is_null();
        let v = (
            self.tl.intern(&name),
            self.tl.intern(if lazy { "lazy" } else { "cpu" }),
        );
        self.state_names.insert(key, v);
        v
    }

    fn open_state(&mut self, cpu: CpuId, ts: f64, seq: Option<u64>, key: (u8, u64), task: u32) {
        let (n, c) = self.state_name(key);
        self.cpus[cpu].key = Some(key);
        self.cpus[cpu].task = task;
        let x = Extra {
            args: vec![("task", Arg::U(task as u64))],
            ends: vec![],
        };
        self.open(cpu, Open::State, ts, seq, n, c, x);
    }

    pub(crate) fn point(&mut self, k: &Kernel, cpu: CpuId, now: f64, at: &str, trace: &Trace) {
        if self.enter(cpu, now, trace, true) {
            return;
        }
        if let Some((t, seq, prev)) = self.cpus[cpu].switch {
            if at != "context_switch:switch_to" {
                return;
            }
            self.cpus[cpu].switch = None;
            let (key, task) = classify(k, cpu);
            self.close(cpu, Open::State, t, Some(seq));
            self.open_state(cpu, t, Some(seq + 1), key, task);
            let (n, c) = (self.tl.intern("context_switch"), self.tl.intern("sched"));
            let x = Extra {
                args: vec![("prev", Arg::U(prev as u64)), ("next", Arg::U(task as u64))],
                ends: vec![],
            };
            self.open(cpu, Open::Switch, t, Some(seq + 2), n, c, x);
            self.close(cpu, Open::Switch, now, None);
            return;
        }
        self.sample(k, cpu, now);
    }

    fn sample(&mut self, k: &Kernel, cpu: CpuId, now: f64) {
        let (key, task) = classify(k, cpu);
        if self.cpus[cpu].key != Some(key) {
            self.close(cpu, Open::State, now, None);
            self.open_state(cpu, now, None, key, task);
        }
    }

    pub(crate) fn charge(&mut self, cpu: CpuId, now: f64, ev: Event, trace: &Trace) {
        self.enter(cpu, now, trace, true);
        if let Event::ContextSwitch = ev {
            let prev = self.cpus[cpu].task;
            self.cpus[cpu].switch = Some((now, self.tl.reserve(3), prev));
        }
    }

    pub(crate) fn wait(&mut self, cpu: CpuId, on: &'static str, t0: f64, t1: f64) {
        self.cpus[cpu].last = t1;
        if let Some(s) = &mut self.cpus[cpu].spin {
            if s.on == on {
                s.t1 = t1;
                s.seq1 = self.tl.reserve(1);
                return;
            }
        }
        self.close_spin(cpu);
        let seq0 = self.tl.reserve(2);
        self.cpus[cpu].spin = Some(Spin {
            on,
            t0,
            seq0,
            t1,
            seq1: seq0 + 1,
        });
    }

    /// An access priced `total` ns at `now`, whose line came from `src` (CPU, busy-until).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn access(
        &mut self,
        cpu: CpuId,
        line: Line,
        kind: Access,
        now: f64,
        total: f64,
        src: Option<(usize, f64)>,
        trace: &Trace,
    ) {
        self.enter(cpu, now, trace, false);
        match line {
            Line::MmUsers(n) if kind == Access::Rmw => {
                self.tl
                    .users_rmw
                    .insert((n, (now + total) as u64), cpu as u32);
            }
            Line::MmCount(_) => {
                let Some((from, busy)) = src else { return };
                let start = now.max(busy);
                if !(self.tl.accepts(start) && self.tl.accepts(now)) {
                    return;
                }
                let flow = self.tl.flow();
                let x = Extra {
                    args: vec![("to", Arg::U(cpu as u64))],
                    ends: vec![],
                };
                let (n, c) = (
                    self.tl.intern("mm_count line out"),
                    self.tl.intern("coherence"),
                );
                self.tl.push(
                    start,
                    None,
                    from as u32,
                    Kind::Instant,
                    n,
                    c,
                    flow,
                    Some(Box::new(x)),
                );
                let what = if kind == Access::Load { "load" } else { "rmw" };
                let x = Extra {
                    args: vec![
                        ("from", Arg::U(from as u64)),
                        ("access", Arg::S(what.into())),
                    ],
                    ends: vec![flow],
                };
                self.slice(
                    cpu as u32,
                    now,
                    None,
                    now + total,
                    None,
                    "mm_count transfer",
                    "coherence",
                    0,
                    x,
                );
            }
            _ => {}
        }
    }

    /// Closes what is open on every CPU, at `end` or the CPU's last time if later, and
    /// hands the timeline over.
    pub(crate) fn take_timeline(&mut self, end: f64) -> Timeline {
        for cpu in 0..self.cpus.len() {
            let t = end.max(self.cpus[cpu].last);
            self.close_spin(cpu);
            if let Some((t0, seq, f)) = self.cpus[cpu].irq.take() {
                let ran: Vec<_> = self.ipi_q[cpu].drain(..).collect();
                self.emit_irq(cpu, t0, seq, t, f, &ran);
            }
            while let Some(&o) = self.cpus[cpu].stack.last() {
                self.close(cpu, o, t, None);
            }
        }
        std::mem::take(&mut self.tl)
    }
}

/// What `cpu` runs: (kind, mm) and the task. Kinds: 0 user (its mm), 1 idle, 2 kernel
/// thread, 4 a user task past exit_mm (each with the borrowed active_mm, NULL if none or
/// init_mm), 3 a kernel thread in kthread_use_mm (its mm).
fn classify(k: &Kernel, cpu: CpuId) -> ((u8, u64), u32) {
    let t = k.curr(cpu);
    let task = k.task(t);
    let (mm, active) = (task.mm(), task.active_mm());
    let lazy = if active == k.init_mm {
        MmRef::NULL
    } else {
        active
    };
    let key = if k.cpu(cpu).idle == t {
        (1, lazy.0)
    } else if task.is_kthread() {
        if mm.is_null() {
            (2, lazy.0)
        } else {
            (3, mm.0)
        }
    } else if mm.is_null() {
        (4, lazy.0)
    } else {
        (0, mm.0)
    };
    (key, t.0)
}
