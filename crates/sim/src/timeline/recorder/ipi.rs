//! The IPI half of the recorder: a kick is a `"<caller> IPI"` slice with a flow out; the
//! target's next interrupt is an `"IPI: <func>"` slice ending the flows of the csds it ran
//! (the kicks queued to it, oldest first, less those still queued when it returns).

use super::Recorder;
use crate::timeline::{Arg, Extra};
use lazymm_model::ids::CpuId;
use lazymm_model::machine::Trace;
use lazymm_model::smp::IpiClass;
use lazymm_model::Kernel;

/// The timeline category of an IPI of `class`.
fn cat(class: IpiClass) -> &'static str {
    match class {
        IpiClass::Flush => "ipi.flush",
        IpiClass::Lazy => "ipi.lazy",
        IpiClass::Resched => "ipi.resched",
        IpiClass::Membarrier => "ipi.membarrier",
    }
}

/// A kick not yet handled: its flow (0 if not recorded), class, and the interned name of
/// the function that sent it.
#[derive(Copy, Clone, Debug)]
pub(super) struct Kick {
    flow: u64,
    class: IpiClass,
    caller: u32,
}

/// The cross-CPU call plumbing between a caller and its kick.
const PLUMBING: &[&str] = &[
    "smp_call_function_many",
    "on_each_cpu_mask",
    "smp_call_function_single",
];

impl Recorder {
    pub(crate) fn kick(&mut self, cpu: CpuId, target: CpuId, t0: f64, t1: f64, trace: &Trace) {
        self.enter(cpu, t0, trace, true);
        let path = trace.path();
        // The model names the class of every IPI it raises; a kick without one (none today)
        // is drawn as a reschedule.
        let class = trace.kick_class().unwrap_or(IpiClass::Resched);
        let caller = match class {
            IpiClass::Resched => "smp_send_reschedule",
            _ => (path.rsplit(" > ").find(|f| !PLUMBING.contains(f)))
                .unwrap_or("smp_call_function_many"),
        };
        let caller_id = self.tl.intern(caller);
        let mut flow = 0;
        if self.tl.accepts(t0) {
            let name = match class {
                IpiClass::Resched => caller.to_string(),
                _ => format!("{caller} IPI"),
            };
            flow = self.tl.flow();
            let x = Extra {
                args: vec![("target", Arg::U(target as u64))],
                ends: vec![],
            };
            self.slice(cpu as u32, t0, None, t1, None, &name, cat(class), flow, x);
        }
        self.ipi_q[target].push_back(Kick {
            flow,
            class,
            caller: caller_id,
        });
    }

    pub(crate) fn irq_begin(&mut self, cpu: CpuId, t: f64, trace: &Trace) {
        self.enter(cpu, t, trace, true);
        self.cpus[cpu].irq = Some((t, self.tl.reserve(1), None));
    }

    pub(crate) fn irq_end(&mut self, k: &Kernel, cpu: CpuId, t: f64) {
        self.cpus[cpu].last = t;
        self.close_spin(cpu);
        let Some((t0, seq, func)) = self.cpus[cpu].irq.take() else {
            return;
        };
        let left = k.cpu(cpu).csd.lock().map_or(0, |q| q.len());
        let q = &mut self.ipi_q[cpu];
        let ran: Vec<Kick> = q.drain(..q.len().saturating_sub(left)).collect();
        self.emit_irq(cpu, t0, seq, t, func, &ran);
        self.sample(k, cpu, t);
    }

    pub(super) fn emit_irq(
        &mut self,
        cpu: CpuId,
        t0: f64,
        seq: u64,
        t: f64,
        f: Option<String>,
        ran: &[Kick],
    ) {
        if !self.tl.accepts(t0) {
            return;
        }
        // The function the handler ran, if it entered one; else what the first csd was
        // (a reschedule runs nothing but scheduler_ipi; membarrier's ipi_mb is a barrier),
        // or who sent it.
        let name = match (f, ran.first()) {
            (Some(f), _) => format!("IPI: {f}"),
            (None, Some(k)) if k.class == IpiClass::Membarrier => "IPI: ipi_mb".into(),
            (None, Some(k)) if k.class != IpiClass::Resched => {
                format!("IPI from {}", self.tl.names[k.caller as usize])
            }
            _ => "IPI: scheduler_ipi".into(),
        };
        let x = Extra {
            args: vec![("csds", Arg::U(ran.len() as u64))],
            ends: ran.iter().map(|r| r.flow).filter(|&f| f != 0).collect(),
        };
        self.slice(cpu as u32, t0, Some(seq), t, None, &name, "ipi", 0, x);
    }
}
