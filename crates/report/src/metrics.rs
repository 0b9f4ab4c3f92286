//! The cost figures, each defined once, from a [`SimReport`].
//!
//! A sim report's breakdown (`per_switch_ns`) is CPU time summed over every simulated CPU,
//! divided by the context switches measured; multiplying by the switches gives the run's
//! total, and dividing by the workload's ops gives a figure per op. In exec-storm an op is
//! one process exit (a child's `exit`), so the per-exit figures below charge an exit with
//! everything every CPU spent while the stream ran — the exiting CPU's `exit_mm`/`__mmput`,
//! the CPUs its IPIs interrupt, the CPU that later frees the mm — not only the exit path.

use lazymm_sim::SimReport;

/// The definitions, as printed under the verdict and in the report.
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "cost per switch",
        "ctxsw (will-it-scale context_switch1_threads: task pairs ping-ponging through \
         pipes, one pair per core): busy CPU time per context switch, summed over all \
         simulated CPUs (everything but idle: scheduler, wakeup and syscall base prices, \
         line transfers and coherence stalls, barriers, MMU switches, flushes, IPIs, spins)",
    ),
    (
        "cost per exit",
        "exec-storm (a make -j stream of fork, exec, short work, exit): the lazy-mm work per \
         process exit — coherence stalls on every shared line, barriers, MMU switches, TLB \
         flushes, IPI send/wait/handler time and spin-waits, summed over all CPUs (the \
         exiting CPU, its IPI targets, whoever frees the mm) — divided by the process \
         exits; the scheme-independent scheduler/wakeup/syscall base prices, local \
         accesses and idle exit are left out",
    ),
    (
        "IPIs per exit",
        "exec-storm: lazy-handling IPIs (shootdowns, hazard retires, unlazies) plus TLB-flush \
         IPIs, divided by process exits",
    ),
    (
        "shared-line RMWs",
        "RMWs on mm_count (any mm, init_mm included) and on rq->drop_mm",
    ),
    (
        "free latency",
        "exec-storm: time from an mm's mm_users reaching 0 to its free (__mmdrop), over the \
         mms freed within the measured window (freed/exited says how many were)",
    ),
];

/// One line per definition, for the verdict's footer.
pub const SHORT_DEFINITIONS: &[&str] = &[
    "per switch: ctxsw, busy CPU time of all CPUs per context switch (idle excluded)",
    "per exit: exec-storm, lazy-mm work of all CPUs per process exit: line stalls, barriers,",
    "  MMU switches, flushes, IPIs, spins (not the scheduler/wakeup/syscall base)",
    "free: exec-storm, mm_users = 0 to __mmdrop; IPIs/exit: lazy + flush IPIs per process exit",
];

/// Busy CPU time per context switch (ns).
pub fn switch_cost_ns(r: &SimReport) -> f64 {
    r.busy_ns_per_switch
}

/// Lazy-mm work per context switch (ns): the breakdown less its scheme-independent base —
/// the sweeps' figure, wider than `lazymm replay`'s lazy-mm time ([`lazymm_sim::LazyCost`]:
/// lazy-state line stalls, scheme barriers and IPI time only), because on a synthetic
/// workload every scheme runs the same operations and the difference is the scheme's.
pub fn lazy_mm_ns_per_switch(r: &SimReport) -> f64 {
    let b = &r.per_switch_ns;
    b.coherence.values().sum::<f64>()
        + b.barrier
        + b.mmu
        + b.flush
        + b.ipi_send
        + b.ipi_wait
        + b.ipi_handler
        + b.spin
}

/// Converts a per-switch figure of `r` into a per-op figure (None without ops).
pub fn per_op(r: &SimReport, per_switch: f64) -> Option<f64> {
    (r.ops > 0).then(|| per_switch * r.context_switches as f64 / r.ops as f64)
}

/// Lazy-mm work per process exit (ns), exec-storm.
pub fn exit_cost_ns(r: &SimReport) -> Option<f64> {
    per_op(r, lazy_mm_ns_per_switch(r))
}

/// Lazy-handling plus flush IPIs per op.
pub fn ipis_per_op(r: &SimReport) -> Option<f64> {
    (r.ops > 0).then(|| (r.counters.lazy_ipis + r.counters.flush_ipis) as f64 / r.ops as f64)
}

/// Shared-line RMWs (`mm_count`, `drop_mm`) per op.
pub fn rmws_per_op(r: &SimReport) -> Option<f64> {
    (r.ops > 0).then(|| (r.counters.mm_count_rmw + r.counters.drop_mm_rmw) as f64 / r.ops as f64)
}

/// The named parts of the breakdown per op (ns), in drawing order: the figures of the
/// stacked bars. `lazy_only` leaves out the scheme-independent base.
pub fn breakdown_per_op(r: &SimReport, lazy_only: bool) -> Vec<(&'static str, f64)> {
    let scale = if r.ops > 0 {
        r.context_switches as f64 / r.ops as f64
    } else {
        0.0
    };
    breakdown_parts(r, lazy_only)
        .into_iter()
        .map(|(k, v)| (k, v * scale))
        .collect()
}

/// The named parts of the breakdown per context switch (ns), in drawing order.
pub fn breakdown_parts(r: &SimReport, lazy_only: bool) -> Vec<(&'static str, f64)> {
    let b = &r.per_switch_ns;
    let line = |k: &str| b.coherence.get(k).copied().unwrap_or(0.0);
    let mm_count = line("mm_count");
    let mask = line("mm_cpumask");
    let slots = line("rq_lazy_mm") + line("hp_slot");
    let other_lines = b.coherence.values().sum::<f64>() - mm_count - mask - slots;
    let mut v = vec![
        ("mm_count stall", mm_count),
        ("mm_cpumask stall", mask),
        ("lazy_mm/HP slot stall", slots),
        ("other line stalls", other_lines),
        ("barriers", b.barrier),
        ("MMU switches", b.mmu),
        ("TLB flushes", b.flush),
        ("IPI send+handler", b.ipi_send + b.ipi_handler),
        ("IPI wait", b.ipi_wait),
        ("spin", b.spin),
    ];
    if !lazy_only {
        v.extend([
            ("sched/wakeup/syscall", b.sched + b.wakeup + b.syscall),
            ("local access", b.access),
            ("idle exit", b.idle_exit),
        ]);
    }
    v
}

/// Formats nanoseconds compactly: `850ns`, `1.54µs`, `99.2µs`, `1.2ms`.
pub fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "-".into();
    }
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if unit == "ns" || v >= 100.0 {
        format!("{v:.0}{unit}")
    } else if v >= 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.2}{unit}")
    }
}

/// Finds the point of `workload` × `profile` × `variant` × `cpus` among `reports`.
pub fn point<'a>(
    reports: &'a [SimReport],
    profile: &str,
    variant: &str,
    cpus: usize,
) -> Option<&'a SimReport> {
    reports
        .iter()
        .find(|r| r.profile == profile && r.scheme == variant && r.cpus == cpus)
}

#[cfg(test)]
mod tests {
    use super::fmt_ns;

    #[test]
    fn fmt_ns_picks_a_unit_and_three_significant_digits() {
        assert_eq!(fmt_ns(850.4), "850ns");
        assert_eq!(fmt_ns(1540.0), "1.54µs");
        assert_eq!(fmt_ns(99_200.0), "99.2µs");
        assert_eq!(fmt_ns(1_230_000.0), "1.23ms");
        assert_eq!(fmt_ns(f64::NAN), "-");
    }
}
