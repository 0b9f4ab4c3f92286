//! A scenario's per-CPU scripts as a [`Driver`], so the catalogue runs on engines driven by
//! a driver (the sim engine) as it does on the step engine.
//!
//! Everything the step engine plays: `Op`, `Mark`, `WaitMark`, `Retry`, point markers
//! (`cpuN@point`, set when CPU N arrives at `point`), gates (hold a CPU at its nth arrival at
//! a point until a marker is set; released, as on the step engine, when every CPU has only
//! spun for a while) and directed preemptions.

use crate::run::Built;
use lazymm_engines::driver::{Driver, Next};
use lazymm_engines::step::{Gate, Preempt, Step};
use lazymm_model::ids::{CpuId, TaskRef};
use lazymm_model::{Kernel, MmRef, SysOp};
use std::collections::{HashMap, HashSet};

/// Plays a scenario's scripts.
pub struct ScriptDriver {
    name: String,
    build: fn(&Kernel) -> Built,
    scripts: Vec<Vec<Step>>,
    pc: Vec<usize>,
    retry_failed: Vec<bool>,
    markers: HashSet<String>,
    gates: Vec<Gate>,
    preempts: Vec<Option<Preempt>>,
    watched: HashSet<(CpuId, &'static str)>,
    arrivals: HashMap<(CpuId, &'static str), u32>,
    released: bool,
    ops: u64,
    /// The scenario's subject mm (after setup).
    pub subject: MmRef,
}

impl ScriptDriver {
    /// The driver for scenario `name` built by `build`.
    pub fn new(name: &str, build: fn(&Kernel) -> Built) -> ScriptDriver {
        ScriptDriver {
            name: name.into(),
            build,
            scripts: vec![],
            pc: vec![],
            retry_failed: vec![],
            markers: HashSet::new(),
            gates: vec![],
            preempts: vec![],
            watched: HashSet::new(),
            arrivals: HashMap::new(),
            released: false,
            ops: 0,
            subject: MmRef::NULL,
        }
    }

    /// The point markers (`cpuN@point`) that scripts and gates wait for.
    fn watched(b: &Built) -> HashSet<(CpuId, &'static str)> {
        let wanted =
            b.gates
                .iter()
                .map(|g| g.until.as_str())
                .chain(b.scripts.iter().flatten().filter_map(|s| match s {
                    Step::WaitMark(m) => Some(m.as_str()),
                    _ => None,
                }));
        wanted
            .filter_map(|m| {
                let (c, at) = m.strip_prefix("cpu")?.split_once('@')?;
                // Point names are &'static str in the model: leak each watched one once.
                let at: &'static str = Box::leak(at.to_string().into_boxed_str());
                Some((c.parse().ok()?, at))
            })
            .collect()
    }
}

impl Driver for ScriptDriver {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn capacity(&self) -> (usize, usize) {
        // The scenarios' own tables (run.rs boots them with 512 of each).
        (512, 512)
    }
    fn setup(&mut self, k: &Kernel) {
        let b = (self.build)(k);
        self.subject = b.subject;
        self.pc = vec![0; b.scripts.len()];
        self.retry_failed = vec![false; b.scripts.len()];
        self.watched = Self::watched(&b);
        self.gates = b.gates;
        self.preempts = b.preempts.into_iter().map(Some).collect();
        self.scripts = b.scripts;
    }
    fn next(&mut self, _k: &Kernel, cpu: CpuId) -> Next {
        loop {
            let Some(step) = self.scripts.get(cpu).and_then(|s| s.get(self.pc[cpu])) else {
                return Next::Done;
            };
            match step {
                Step::Op(op) => return Next::Op(op.clone()),
                Step::Retry(op) => {
                    if std::mem::take(&mut self.retry_failed[cpu]) {
                        return Next::Spin;
                    }
                    return Next::Op(op.clone());
                }
                Step::Mark(m) => {
                    self.markers.insert(m.clone());
                    self.pc[cpu] += 1;
                }
                Step::WaitMark(m) => {
                    if !self.markers.contains(m) {
                        return Next::Spin;
                    }
                    self.pc[cpu] += 1;
                }
            }
        }
    }
    fn done_op(&mut self, _k: &Kernel, cpu: CpuId, _op: &SysOp, applied: bool) {
        let retry = matches!(self.scripts[cpu][self.pc[cpu]], Step::Retry(_));
        if retry && !applied {
            self.retry_failed[cpu] = true;
            return;
        }
        self.ops += 1;
        self.pc[cpu] += 1;
    }
    fn ops(&self) -> u64 {
        self.ops
    }
    fn watches_points(&self) -> bool {
        true
    }
    fn at_point(&mut self, cpu: CpuId, at: &'static str) -> bool {
        // A CPU moving on is progress: gates hold again.
        self.released = false;
        let n = self.arrivals.entry((cpu, at)).or_insert(0);
        *n += 1;
        if self.watched.contains(&(cpu, at)) {
            self.markers.insert(format!("cpu{cpu}@{at}"));
        }
        self.held(cpu, at)
    }
    fn held(&self, cpu: CpuId, at: &'static str) -> bool {
        !self.released
            && self.gates.iter().any(|g| {
                g.cpu == cpu
                    && g.at == at
                    && self.arrivals.get(&(cpu, at)).copied() == Some(g.nth)
                    && !self.markers.contains(&g.until)
            })
    }
    fn release_gates(&mut self) {
        self.released = true;
    }
    fn preempt(&mut self, cpu: CpuId, at: &'static str) -> Option<Vec<TaskRef>> {
        self.preempts
            .iter_mut()
            .find(|p| p.as_ref().is_some_and(|p| p.cpu == cpu && p.at == at))
            .and_then(|p| p.take())
            .map(|p| p.plan)
    }
    fn op_name(&self) -> &'static str {
        "script op"
    }
}
