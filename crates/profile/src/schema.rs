//! The profile schema: one struct per TOML table, every number a [`Param`] that says where it
//! comes from.

use serde::{Deserialize, Serialize};

/// One parameter: its value and where it comes from (exactly one of `source` / `estimate`,
/// non-empty).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// The value (ns for times; a count or a 0/1 flag where the field says so).
    pub value: f64,
    /// A precise pointer to the published figure the value is (the row of
    /// `hardware-costs.md` and the original source it names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// What the value is derived from, and how, when no figure for this machine exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<String>,
}

impl Param {
    /// The value.
    pub fn get(&self) -> f64 {
        self.value
    }

    /// A value taken from a published figure or a measurement.
    pub fn sourced(value: f64, source: &str) -> Param {
        Param {
            value,
            source: Some(source.to_string()),
            estimate: None,
        }
    }

    /// A value estimated, with why.
    pub fn estimated(value: f64, why: &str) -> Param {
        Param {
            value,
            source: None,
            estimate: Some(why.to_string()),
        }
    }

    /// True if the value is an estimate.
    pub fn is_estimate(&self) -> bool {
        self.estimate.is_some()
    }

    /// The source or the estimate's reasoning, whichever the parameter has.
    pub fn provenance(&self) -> &str {
        self.source
            .as_deref()
            .or(self.estimate.as_deref())
            .unwrap_or("")
    }
}

/// A machine: topology and the costs the simulator charges (times in ns).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name, e.g. `intel-icx-2s` (the file stem of a builtin).
    pub name: String,
    /// The machine in words.
    pub description: String,
    /// One of `x86`, `arm64`, `ppc-radix`, `ppc-hash`.
    pub arch: String,
    /// `[topology]`.
    pub topology: Topology,
    /// `[coherence]`.
    pub coherence: Coherence,
    /// `[tlb]`.
    pub tlb: Tlb,
    /// `[ipi]`.
    pub ipi: Ipi,
    /// `[idle]`.
    pub idle: Idle,
    /// `[sched]`.
    pub sched: Sched,
}

/// The machine's shape; every count a whole number ≥ 1. CPUs are numbered contiguously:
/// threads of a core, cores of a cluster, clusters of a socket, sockets of a node.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Hardware threads per core.
    pub smt: Param,
    /// Cores sharing one LLC / CCX / cluster (the scheduler's LLC domain).
    pub cores_per_cluster: Param,
    /// Clusters per socket.
    pub clusters_per_socket: Param,
    /// Sockets per node / drawer (POWER8 E880 drawers); all of them on a machine without
    /// drawers.
    pub sockets_per_node: Param,
    /// Nodes / drawers in the real machine.
    pub nodes: Param,
}

/// Cache-line costs, ns. One transfer = the c2c round trip / 2 (hardware-costs.md convention).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Coherence {
    /// Access to a line this CPU already holds (L1 hit).
    pub local: Param,
    /// Transfer between SMT siblings.
    pub smt: Param,
    /// Transfer within one CCX / cluster / LLC.
    pub cluster: Param,
    /// Transfer within a socket, between clusters.
    pub socket: Param,
    /// Transfer to another socket of the same node.
    pub cross_socket: Param,
    /// Transfer to another node / drawer.
    pub cross_node: Param,
    /// 1: latency depends on the line's home socket (the AMD anomaly, hardware-costs.md §1);
    /// else 0.
    pub home_aware: Param,
    /// Uncontended atomic RMW on an owned line (`lock xadd`, `LDADD`, `lwarx`/`stwcx.`).
    pub rmw: Param,
    /// `smp_mb()`: the arch's full barrier.
    pub fence: Param,
}

/// MMU switch and TLB flush costs, ns.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tlb {
    /// An MMU switch that keeps TLB entries (PCID / ASID / PID).
    pub mmu_switch: Param,
    /// An MMU switch that flushes (no ASID), e.g. a CR3 write without PCID.
    pub mmu_switch_flush: Param,
    /// 1 if the machine and kernel tag TLB entries (PCID / ASID / PID), else 0.
    pub asid: Param,
    /// Local flush of one mm's entries (`INVLPG` / `tlbiel` / local `TLBI`).
    pub local_flush: Param,
    /// Hardware broadcast flush (`tlbie`, `TLBI IS`, `INVLPGB`+`TLBSYNC`): fixed part.
    pub broadcast_base: Param,
    /// The broadcast flush's part per CPU in the machine.
    pub broadcast_per_cpu: Param,
    /// 1: x86 AMD uses `INVLPGB` broadcast for processes on ≥ 4 CPUs; else 0.
    pub invlpgb: Param,
    /// A hypervisor flush call (ppc-hash LPAR / paravirt).
    pub hypervisor_flush: Param,
}

/// Inter-processor interrupt costs, ns.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ipi {
    /// Sender's cost per target (ICR write / SGI / `msgsnd`).
    pub send: Param,
    /// From the send to the handler's first instruction on the target.
    pub delivery: Param,
    /// Interrupt entry + exit on the target, excluding the function it runs.
    pub handler: Param,
}

/// Idle, ns and flags.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Idle {
    /// 1 if idle polls `TIF_POLLING_NRFLAG` (x86 mwait/poll, ppc snooze) so a wakeup needs no
    /// IPI; else 0.
    pub polling: Param,
    /// Exit latency of the shallow idle state a busy benchmark's CPUs sit in (C1, nap, WFI).
    pub exit_latency: Param,
    /// A polling idle CPU noticing `need_resched` (beyond the line transfer).
    pub poll_wake: Param,
}

/// Scheme-independent kernel work, ns.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sched {
    /// `__schedule` + `context_switch`, minus the MMU switch and lazy-mm work.
    pub context_switch: Param,
    /// `try_to_wake_up`: `select_task_rq` + enqueue (minus line transfers).
    pub wakeup: Param,
    /// Syscall entry + exit + a pipe read's or write's own work.
    pub syscall: Param,
}

impl Profile {
    /// Every parameter with its table and key, in file order.
    pub fn params(&self) -> Vec<(&'static str, &'static str, &Param)> {
        let (t, c, l, i, d, s) = (
            &self.topology,
            &self.coherence,
            &self.tlb,
            &self.ipi,
            &self.idle,
            &self.sched,
        );
        vec![
            ("topology", "smt", &t.smt),
            ("topology", "cores_per_cluster", &t.cores_per_cluster),
            ("topology", "clusters_per_socket", &t.clusters_per_socket),
            ("topology", "sockets_per_node", &t.sockets_per_node),
            ("topology", "nodes", &t.nodes),
            ("coherence", "local", &c.local),
            ("coherence", "smt", &c.smt),
            ("coherence", "cluster", &c.cluster),
            ("coherence", "socket", &c.socket),
            ("coherence", "cross_socket", &c.cross_socket),
            ("coherence", "cross_node", &c.cross_node),
            ("coherence", "home_aware", &c.home_aware),
            ("coherence", "rmw", &c.rmw),
            ("coherence", "fence", &c.fence),
            ("tlb", "mmu_switch", &l.mmu_switch),
            ("tlb", "mmu_switch_flush", &l.mmu_switch_flush),
            ("tlb", "asid", &l.asid),
            ("tlb", "local_flush", &l.local_flush),
            ("tlb", "broadcast_base", &l.broadcast_base),
            ("tlb", "broadcast_per_cpu", &l.broadcast_per_cpu),
            ("tlb", "invlpgb", &l.invlpgb),
            ("tlb", "hypervisor_flush", &l.hypervisor_flush),
            ("ipi", "send", &i.send),
            ("ipi", "delivery", &i.delivery),
            ("ipi", "handler", &i.handler),
            ("idle", "polling", &d.polling),
            ("idle", "exit_latency", &d.exit_latency),
            ("idle", "poll_wake", &d.poll_wake),
            ("sched", "context_switch", &s.context_switch),
            ("sched", "wakeup", &s.wakeup),
            ("sched", "syscall", &s.syscall),
        ]
    }
}
