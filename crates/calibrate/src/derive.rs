//! The profile parameters that are split out of kernel-path measurements: IPI, idle, sched.

use lazymm_profile::{Idle, Ipi, Param, Sched};

use crate::profile::r;
use crate::{Calibration, Measurement};

fn ns(m: &Measurement) -> f64 {
    m.value_ns
}

impl Calibration {
    /// The IPI's send, delivery and handler, and send + delivery (for the idle split).
    pub(crate) fn ipi(&self) -> (Ipi, f64) {
        let sys = ns(&self.syscall);
        let Some(mb) = &self.membarrier else {
            // No membarrier: the waker's extra cost of waking an idle CPU stands in.
            let rt = (ns(&self.wake_write_cross_cpu) - ns(&self.pipe_syscall)).max(0.0);
            let why =
                format!(
                "membarrier unavailable ({}); from wake_write_cross_cpu − pipe_syscall = {:.1} \
                 ns (the waker's reschedule-IPI cost): handler = the getppid syscall's entry and \
                 exit (an interrupt's entry/exit is alike), send = delivery = the rest / 2",
                self.membarrier_note.as_deref().unwrap_or("no reason recorded"),
                rt
            );
            let handler = sys.min(rt / 3.0);
            let half = (rt - handler) / 2.0;
            let ipi = Ipi {
                send: Param::estimated(r(half), &why),
                delivery: Param::estimated(r(half), &why),
                handler: Param::estimated(r(handler), &why),
            };
            return (ipi, 2.0 * half);
        };
        let rt = (ns(mb) - sys - ns(&self.c2c)).max(0.0);
        let handler = sys.min(rt / 3.0);
        let half = (rt - handler) / 2.0;
        let basis = format!(
            "from membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) with one running target, measured \
             here ({:.1} ns median), minus the getppid syscall ({:.1} ns) and one line transfer \
             (c2c {:.1} ns, the completion flag back) = {rt:.1} ns for one IPI round",
            ns(mb),
            sys,
            ns(&self.c2c)
        );
        let ipi = Ipi {
            send: Param::estimated(
                r(half),
                &format!(
                    "{basis}; user space cannot tell send from delivery: each is (that − \
                     handler) / 2"
                ),
            ),
            delivery: Param::estimated(
                r(half),
                &format!("{basis}; (that − handler) / 2, as for send"),
            ),
            handler: Param::estimated(
                r(handler),
                &format!(
                    "{basis}; handler = the getppid syscall's entry + exit (an interrupt's \
                     entry/exit runs the same mitigations), at most a third of the round"
                ),
            ),
        };
        (ipi, 2.0 * half)
    }

    /// Idle: polling from sysfs; the exit latency from the cross-CPU ping-pong.
    pub(crate) fn idle_params(&self, send_plus_delivery: f64, in_vm: bool) -> Idle {
        let polls = self.idle.polls();
        let vm = if in_vm {
            "; in this VM a non-polling idle is HLT, a VM exit: waking it needs the host to run \
             the vCPU again"
        } else {
            ""
        };
        let (x, s) = (ns(&self.ctxsw_cross_cpu), ns(&self.ctxsw_pinned_same_cpu));
        let exit = (x - s - send_plus_delivery).max(0.0);
        let declared = self
            .idle
            .states
            .iter()
            .rfind(|st| st.name != "POLL")
            .and_then(|st| {
                st.latency_us
                    .map(|l| format!("; the driver declares {l} us for {}", st.name))
            })
            .unwrap_or_default();
        Idle {
            polling: Param::sourced(
                if polls { 1.0 } else { 0.0 },
                &format!("measured here: /sys ({}){vm}", self.idle.describe()),
            ),
            exit_latency: Param::estimated(
                r(exit),
                &format!(
                    "cross-CPU ping-pong half round trip ({x:.1} ns) − same-CPU one ({s:.1} ns: \
                     the syscalls, wakeup and switch both share) − the IPI's send + delivery \
                     ({send_plus_delivery:.1} ns): what is left is the idle CPU's exit and \
                     return to a task, both measured here{declared}{vm}"
                ),
            ),
            poll_wake: Param::estimated(
                0.0,
                if polls {
                    "not separable from the line transfer by a user-space measurement; 0"
                } else {
                    "idle does not poll here (see polling), so no wakeup takes this path; 0"
                },
            ),
        }
    }

    /// Sched: syscall measured; context switch and wakeup split from the same-CPU ping-pong.
    pub(crate) fn sched_params(&self, measured: &dyn Fn(&Measurement) -> String) -> Sched {
        let (s, sys) = (ns(&self.ctxsw_pinned_same_cpu), ns(&self.pipe_syscall));
        let both = (s - 2.0 * sys).max(0.0);
        let basis = format!(
            "the same-CPU pipe ping-pong's time per switch ({s:.1} ns, measured here) is one \
             pipe write + one pipe read (2 × pipe_syscall {sys:.1} ns) + one wakeup + one \
             context switch, so wakeup + context_switch = {both:.1} ns; user space cannot split \
             them (timing the waking write alone is confounded by wakeup preemption), so each \
             is half; threads of one process, so no MMU switch is inside"
        );
        let basis = match self.same_cpu_spread() {
            Some(spread) => format!(
                "{basis}; {spread}: the profile takes CPU {}'s, so the simulator's level is \
                 that CPU's",
                self.cpus.0
            ),
            None => basis,
        };
        Sched {
            context_switch: Param::estimated(r(both / 2.0), &basis),
            wakeup: Param::estimated(
                r(both / 2.0),
                &format!(
                    "{basis}; cross-CPU − same-CPU was not used: that difference is the idle \
                     CPU's exit (idle.exit_latency) and the IPI"
                ),
            ),
            syscall: Param::sourced(r(sys), &measured(&self.pipe_syscall)),
        }
    }

    /// A paravirt flush, for a VM; not applicable on bare metal.
    pub(crate) fn hypervisor_flush(&self, in_vm: bool) -> Param {
        if !in_vm {
            return Param::estimated(0.0, "bare metal (no cpuinfo hypervisor flag): unused; 0");
        }
        let (value, from) = match &self.membarrier {
            Some(mb) => (
                ns(mb) - ns(&self.syscall),
                format!(
                    "membarrier IPI round trip measured here ({:.1} ns) − getppid",
                    ns(mb)
                ),
            ),
            None => (
                ns(&self.wake_write_cross_cpu) - ns(&self.pipe_syscall),
                "wake_write_cross_cpu − pipe_syscall measured here".to_string(),
            ),
        };
        Param::estimated(
            r(value),
            &format!(
                "no published figure for a paravirt TLB flush call (hardware-costs.md: not \
                 found); a VM here, so taken as one IPI round as this VM delivers it: {from}"
            ),
        )
    }
}
