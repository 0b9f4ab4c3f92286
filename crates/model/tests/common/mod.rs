//! A recording CPU for tests that check which shared lines a model path touches.

use lazymm_model::machine::{Access, Cpu, Line, Trace};
use lazymm_model::{Arch, ArchId, Config, Kernel, Knobs, SchemeId};
use std::cell::RefCell;

/// CPU 0, recording the accesses the model reports; spins and kicks do nothing.
#[derive(Default)]
pub struct Rec {
    trace: Trace,
    /// Accesses since the last [`Rec::take`].
    pub seen: RefCell<Vec<(Line, Access)>>,
}

impl Cpu for Rec {
    fn id(&self) -> usize {
        0
    }
    fn point(&self, _: &Kernel, _: &'static str) {}
    fn wait(&self, _: &Kernel, _: &'static str) {}
    fn kick(&self, _: usize) {}
    fn now(&self) -> u64 {
        0
    }
    fn trace(&self) -> &Trace {
        &self.trace
    }
    fn access(&self, line: Line, kind: Access) {
        self.seen.borrow_mut().push((line, kind));
    }
}

impl Rec {
    /// The accesses since the last call that `keep` selects.
    pub fn take(&self, keep: impl Fn(Line) -> bool) -> Vec<(Line, Access)> {
        (self.seen.borrow_mut().drain(..))
            .filter(|(l, _)| keep(*l))
            .collect()
    }
}

/// A 2-CPU R kernel on `arch` with `knobs`, reporting its accesses (room for 8 mms and tasks).
pub fn boot(arch: ArchId, knobs: Knobs, label: &str) -> Kernel {
    Kernel::boot(
        Config {
            ncpus: 2,
            knobs,
            arch: Arch::profile(arch),
            max_mms: 8,
            max_tasks: 8,
            label: label.into(),
            topo: Default::default(),
        },
        SchemeId::Refcount.build(),
    )
    .with_access_hooks()
}
