//! A scenario's per-CPU scripts as a [`Driver`], so the catalogue runs on engines driven by
//! a driver (the sim engine) as it does on the step engine.
//!
//! Supported: `Op`, `Mark`, `WaitMark` on script markers, `Retry`. Not supported: gates,
//! directed preemptions and point markers (`cpuN@point`), which need the step engine's
//! scheduler; [`ScriptDriver::supports`] tells whether a scenario needs none of them.

use crate::run::Built;
use lazymm_engines::driver::{Driver, Next};
use lazymm_engines::step::Step;
use lazymm_model::ids::CpuId;
use lazymm_model::{Kernel, MmRef, SysOp};
use std::collections::HashSet;

/// Plays a scenario's scripts.
pub struct ScriptDriver {
    name: String,
    build: fn(&Kernel) -> Built,
    scripts: Vec<Vec<Step>>,
    pc: Vec<usize>,
    retry_failed: Vec<bool>,
    markers: HashSet<String>,
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
            ops: 0,
            subject: MmRef::NULL,
        }
    }

    /// Whether `b` uses only what this driver plays (no gates, preemptions, point markers).
    pub fn supports(b: &Built) -> bool {
        b.gates.is_empty()
            && b.preempts.is_empty()
            && b.scripts.iter().flatten().all(|s| match s {
                Step::WaitMark(m) => !(m.starts_with("cpu") && m.contains('@')),
                _ => true,
            })
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
    fn op_name(&self) -> &'static str {
        "script op"
    }
}
