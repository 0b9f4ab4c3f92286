//! Script shorthands the scenario builders share.

use lazymm_engines::step::{Gate, Step};
use lazymm_model::{Kernel, Knobs, SysOp, TaskId, TaskRef};

pub(super) fn op(o: SysOp) -> Step {
    Step::Op(o)
}
pub(super) fn sw(t: TaskId) -> Step {
    op(SysOp::Switch(TaskRef::Task(t)))
}
pub(super) fn idle() -> Step {
    op(SysOp::Switch(TaskRef::Idle))
}
pub(super) fn exit() -> Step {
    op(SysOp::Exit {
        then: TaskRef::Idle,
    })
}
pub(super) fn mark(s: &str) -> Step {
    Step::Mark(s.into())
}
pub(super) fn wait(s: &str) -> Step {
    Step::WaitMark(s.into())
}
pub(super) fn proc1(k: &Kernel) -> (lazymm_model::MmRef, TaskId) {
    let (m, t) = k.create_process(1).expect("capacity");
    (m, t[0])
}
pub(super) fn none(_: &mut Knobs) {}
pub(super) fn gate(cpu: usize, at: &'static str, until: &str) -> Gate {
    Gate {
        cpu,
        at,
        nth: 1,
        until: until.into(),
    }
}
/// A gated window's other half: B waits until cpu0 reaches point `at`, takes `t` over and
/// exits it, then marks "exited"; cpu0 is held at `at` until that mark.
pub(super) fn exit_while_cpu0_held(t: TaskId, at: &'static str) -> (Vec<Step>, Gate) {
    let b = vec![wait(&format!("cpu0@{at}")), sw(t), exit(), mark("exited")];
    (b, gate(0, at, "exited"))
}
