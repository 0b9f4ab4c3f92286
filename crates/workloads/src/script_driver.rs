//! A scenario's per-CPU scripts as a [`Driver`], so the catalogue runs on engines driven by
//! a driver (the sim engine) as it does on the step engine.
//!
//! Everything the step engine plays: `Op`, `Mark`, `WaitMark`, `Retry`, point markers
//! (`cpuN@point`, set when CPU N arrives at `point`), gates (hold a CPU at its nth arrival at
//! a point until a marker is set; released, as on the step engine, when every CPU has only
//! spun for a while) and directed preemptions.

use crate::run::Built;
use lazymm_engines::driver::{Driver, Next};
use lazymm_engines::step::{Marks, Preempt, Step};
use lazymm_model::ids::{CpuId, TaskRef};
use lazymm_model::{Kernel, MmRef, SysOp};

/// Plays a scenario's scripts.
pub struct ScriptDriver {
    name: String,
    build: fn(&Kernel) -> Built,
    scripts: Vec<Vec<Step>>,
    pc: Vec<usize>,
    retry_failed: Vec<bool>,
    /// Markers and gates: the step engine's own ([`Marks`]).
    marks: Marks,
    preempts: Vec<Option<Preempt>>,
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
            marks: Marks::default(),
            preempts: vec![],
            released: false,
            ops: 0,
            subject: MmRef::NULL,
        }
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
        self.marks = Marks::new(&b.scripts, b.gates);
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
                    self.marks.mark(m);
                    self.pc[cpu] += 1;
                }
                Step::WaitMark(m) => {
                    if !self.marks.is_set(m) {
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
        self.marks.arrive(cpu, at);
        self.held(cpu, at)
    }
    fn held(&self, cpu: CpuId, at: &'static str) -> bool {
        !self.released && self.marks.holds(cpu, at)
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
