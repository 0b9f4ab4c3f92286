//! What a replay reports beyond the kernel's counters, and the tables it needs.

/// What the replay did, beyond the kernel's counters (shared with the caller: the engine
/// owns the driver).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ReplayStats {
    /// Steps played (switches, exits, forks, execs).
    pub steps: u64,
    /// Trace switches played (exits included).
    pub switches: u64,
    /// Lazy switches: a user task to a kernel thread or idle (the CPU keeps the user mm).
    pub lazy_switches: u64,
    /// Exits played (`SysOp::Exit`).
    pub exits: u64,
    /// Execs played.
    pub execs: u64,
    /// Forks played: new processes, threads, kernel threads.
    pub forked_processes: u64,
    /// Threads forked.
    pub forked_threads: u64,
    /// Kernel threads forked.
    pub forked_kthreads: u64,
    /// Forks classified thread or process without a tgid (the trace records none): a thread
    /// unless the child execs within the look-ahead.
    pub forks_by_exec_rule: u64,
    /// Tasks alive at trace start, created at first use: user processes.
    pub initial_processes: u64,
    /// Tasks alive at trace start: threads joined to a live process.
    pub initial_threads: u64,
    /// Tasks alive at trace start: kernel threads (by name: `kthreads_by_name`).
    pub initial_kthreads: u64,
    /// Kernel threads classified by their name only.
    pub kthreads_by_name: u64,
    /// User tasks whose tgid the trace never recorded (each taken as its own process).
    pub unknown_tgid: u64,
    /// CPUs switched to their task at trace start (at setup, not measured).
    pub placed: u64,
    /// Steps that did not fit the model's state (lost events) — played anyway.
    pub mismatches: u64,
    /// Switches out of the idle task the trace lacks, inferred from the next line's task
    /// (`plan` module doc).
    pub inferred_from_idle: u64,
    /// Other switches the trace lacks, inferred likewise.
    pub inferred_other: u64,
    /// Ops the model did not apply (a switch to a task running elsewhere).
    pub not_applied: u64,
    /// Task or mm creations that failed (tables full).
    pub create_failed: u64,
    /// Most steps queued at once (the look-ahead).
    pub peak_queued: usize,
    /// Trace time of the last event (ns from the first).
    pub trace_ns: u64,
    /// The input error that stopped the replay early, if any.
    pub error: Option<String>,
}

/// Tables a replay needs (from a [`Scan`](super::scan::Scan) of the trace).
#[derive(Clone, Copy, Debug)]
pub struct Capacity {
    /// Task slots.
    pub tasks: usize,
    /// mm slots.
    pub mms: usize,
}
