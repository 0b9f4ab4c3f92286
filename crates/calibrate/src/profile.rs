//! A calibration as a simulator profile: every value measured here, derived from measurements
//! (the arithmetic stated), or estimated from `hardware-costs.md` figures (cited).

use lazymm_profile::{Coherence, Param, Profile, Tlb, Topology};

use crate::{Calibration, Distance, Measurement};

/// Molnar's CR3 reload, cycles (hardware-costs.md §5 and part 2 "Local flush primitives").
const CR3_RELOAD_CYCLES: f64 = 96.0;
/// Molnar's INVLPG, cycles (same rows).
const INVLPG_CYCLES: f64 = 260.0;
/// Lutomirski: PCID "saves about 100 ns … per context switch" (hardware-costs.md part 2 §6).
const PCID_SAVING_NS: f64 = 100.0;
const MOLNAR: &str = "I. Molnar, linux-mm 2015-06-08, msg-id 20150608195237.GA15429@gmail.com";

/// Rounds to 0.1 ns: the TOML stays readable and noise digits are not pretended.
pub(crate) fn r(v: f64) -> f64 {
    (v.max(0.0) * 10.0).round() / 10.0
}

/// The profile's arch name for this build target.
fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "powerpc64" => "ppc-radix",
        _ => "x86",
    }
}

impl Calibration {
    /// This calibration as the profile "this-machine"; `command` (the command line that ran
    /// it) goes into every measured parameter's source.
    pub fn to_profile(&self, command: &str) -> Profile {
        let measured = |m: &Measurement| format!("measured here: {command} ({})", m.method);
        let src = |m: &Measurement| Param::sourced(r(m.value_ns), &measured(m));
        let mhz = self.mhz.filter(|m| *m > 0.0);
        let (ns_per_cycle, clock) = match mhz {
            Some(m) => (
                1000.0 / m,
                format!("this machine's {m:.0} MHz (/proc/cpuinfo)"),
            ),
            None => (
                1.0 / 3.0,
                "an assumed 3 GHz (/proc/cpuinfo gives no MHz)".into(),
            ),
        };
        let has_flag = |f: &str| self.cpu_flags.iter().any(|x| x == f);
        let x86 = arch() == "x86";
        let in_vm = has_flag("hypervisor");

        // Topology: counts from sysfs, whole numbers >= 1.
        let t = &self.topology;
        let per_socket = (t.cpus / t.sockets).max(1);
        let llc = t.llc_cpus.unwrap_or(per_socket).clamp(1, per_socket);
        let topo_src = format!(
            "measured here: /sys/devices/system/cpu ({} online CPUs; cpu0 thread_siblings_list \
             = {}; cpu0 L3 shared by {}; {} package(s); {} NUMA node(s))",
            t.cpus,
            t.siblings_text,
            t.llc_cpus
                .map_or("(no index3 cache listed)".into(), |n| format!("{n} CPUs")),
            t.sockets,
            t.nodes
        );
        let count = |v: usize| Param::sourced(v.max(1) as f64, &topo_src);
        let topology = Topology {
            smt: count(t.smt),
            cores_per_cluster: count(llc / t.smt.max(1)),
            clusters_per_socket: count(per_socket / llc),
            sockets_per_node: count(t.sockets / t.nodes),
            nodes: count(t.nodes),
        };

        // Coherence: the pinned pair's class is measured; the others take its value.
        let c2c = &self.c2c;
        let pair = format!("CPUs {} and {}", self.cpus.0, self.cpus.1);
        let class = |d: Distance, exists: bool, why_not: &str| {
            if d == self.distance {
                src(c2c)
            } else if !exists {
                Param::estimated(
                    r(c2c.value_ns),
                    &format!(
                        "not measurable on this machine ({why_not}); set to the measured c2c \
                         of {pair}, {}",
                        self.distance.describe()
                    ),
                )
            } else {
                Param::estimated(
                    r(c2c.value_ns),
                    &format!(
                        "not measured: the calibrated pair ({pair}) is {}; set to its measured \
                         c2c (rerun with other --cpus to measure this class)",
                        self.distance.describe()
                    ),
                )
            }
        };
        let clusters = per_socket / llc;
        let coherence = Coherence {
            local: src(&self.l1_load),
            smt: class(Distance::Smt, t.smt > 1, "no SMT: each CPU is its own core"),
            cluster: class(Distance::Cluster, llc > t.smt, "one core per LLC"),
            socket: class(Distance::Socket, clusters > 1, "one LLC per socket"),
            cross_socket: class(Distance::CrossSocket, t.sockets > 1, "1 socket"),
            cross_node: Param::estimated(
                r(c2c.value_ns),
                &format!(
                    "not measurable on this machine ({} NUMA node(s), no drawers); set to the \
                     measured c2c of {pair}",
                    t.nodes
                ),
            ),
            home_aware: Param::estimated(
                0.0,
                &if t.sockets == 1 {
                    "one socket here, so a line's home socket never differs; 0".to_string()
                } else {
                    "not measured (needs lines homed on each socket); 0".to_string()
                },
            ),
            rmw: src(&self.rmw_uncontended),
            fence: src(&self.fence),
        };

        // TLB: not measurable from user space; hardware-costs.md figures at this clock.
        let cr3 = CR3_RELOAD_CYCLES * ns_per_cycle;
        let invlpg = INVLPG_CYCLES * ns_per_cycle;
        let asid_on = !x86 || (has_flag("pcid") && !self.nopcid);
        let no_broadcast = !x86 || !has_flag("invlpgb");
        let tlb = Tlb {
            mmu_switch: Param::estimated(
                r(cr3),
                &format!(
                    "not measurable from user space; no figure for a switch that keeps tagged \
                     entries (hardware-costs.md §6/§7: not found); taken as the 96-cycle CR3 \
                     reload ({MOLNAR}, hardware-costs.md §5) at {clock}"
                ),
            ),
            mmu_switch_flush: Param::estimated(
                r(cr3 + PCID_SAVING_NS),
                &format!(
                    "not measurable from user space; the 96-cycle CR3 reload ({MOLNAR}) at \
                     {clock} plus the ~100 ns per switch that PCID saves (A. Lutomirski, PCID \
                     v4 cover letter, msg-id cover.1498751203.git.luto@kernel.org; \
                     hardware-costs.md part 2 §6)"
                ),
            ),
            asid: Param::sourced(
                if asid_on { 1.0 } else { 0.0 },
                &if x86 {
                    format!(
                        "measured here: /proc/cpuinfo flags {} pcid; kernel command line {} \
                         nopcid",
                        if has_flag("pcid") { "include" } else { "lack" },
                        if self.nopcid { "has" } else { "lacks" }
                    )
                } else {
                    format!("{} always tags TLB entries (ASID / PID)", arch())
                },
            ),
            local_flush: Param::estimated(
                r(invlpg),
                &format!(
                    "not measurable from user space; INVLPG 260 cycles ({MOLNAR}; \
                     hardware-costs.md §5) at {clock}; D. Hansen's 'about 100 ns each' \
                     (commit a5102476a24b) agrees"
                ),
            ),
            broadcast_base: Param::estimated(
                r(invlpg),
                &format!(
                    "no published INVLPGB+TLBSYNC latency (hardware-costs.md §5: not found){}; \
                     set to local_flush",
                    if no_broadcast {
                        "; unused here: no hardware broadcast flush (/proc/cpuinfo has no invlpgb)"
                    } else {
                        ""
                    }
                ),
            ),
            broadcast_per_cpu: Param::estimated(
                0.0,
                "no published per-CPU term for a hardware broadcast flush (hardware-costs.md \
                 §5: not found); 0",
            ),
            invlpgb: Param::sourced(
                if no_broadcast { 0.0 } else { 1.0 },
                &format!(
                    "measured here: /proc/cpuinfo flags {} invlpgb",
                    if no_broadcast { "lack" } else { "include" }
                ),
            ),
            hypervisor_flush: self.hypervisor_flush(in_vm),
        };

        let (ipi, send_plus_delivery) = self.ipi();
        let idle = self.idle_params(send_plus_delivery, in_vm);
        let sched = self.sched_params(&measured);
        Profile {
            name: "this-machine".into(),
            description: format!(
                "{}; measured by `{command}` on CPUs {} and {} ({}){}",
                self.host,
                self.cpus.0,
                self.cpus.1,
                self.distance.describe(),
                if in_vm {
                    "; a virtual machine (cpuinfo flag hypervisor)"
                } else {
                    ""
                }
            ),
            arch: arch().into(),
            topology,
            coherence,
            tlb,
            ipi,
            idle,
            sched,
        }
    }
}
