//! The sample test's own reading of the kernel's rules over a trace (see
//! `replay_sample.rs`'s module doc for the rules and the driver conventions it shares).

use lazymm_trace::{Event, EventKind};
use std::collections::{BTreeSet, HashMap, HashSet};

/// `init_mm` in the interpretation's numbering (never freed, never counted as lazy).
const INIT: usize = 0;

/// Kernel-thread names that occur in the sample (a subset of the driver's list).
const KTHREADS: &[&str] = &["rcu_", "migration/", "ksoftirqd/", "kworker/"];

struct Task {
    kthread: bool,
    mm: Option<usize>,
}

#[derive(Default)]
struct Mm {
    users: i64,
    /// R's `mm_count` (1 for the users, +1 per lazy reference).
    count: i64,
}

/// The figures the replay must report (fields: see the test).
#[derive(Debug, Default)]
pub struct Derived {
    pub switches: u64,
    /// Switches the trace lacks, inferred (the driver's `plan.rs` rule): out of idle, other.
    pub inferred_from_idle: u64,
    pub inferred_other: u64,
    pub context_switches: u64,
    pub mismatches: u64,
    pub lazy_switches: u64,
    pub placed: u64,
    pub initial_kthreads: u64,
    pub execs: u64,
    pub exits: u64,
    pub forked_processes: u64,
    pub forked_threads: u64,
    pub forked_kthreads: u64,
    /// `__mmput` runs (an mm's `mm_users` reached 0: at exec or at exit).
    pub mmputs: u64,
    /// R: `mm_count` RMWs.
    pub r_rmw: u64,
    /// R: mms whose `mm_count` reached 0.
    pub r_freed: u64,
    /// Exit-flush IPIs with mainline's lazy `mm_cpumask` (R, S, L): the other CPUs that ever
    /// loaded the mm (only a flush IPI clears a bit, and the only flushes are exit flushes).
    pub mask_ipis: u64,
    /// Exit-flush IPIs with v5.16/v6.11's mask cleared on switch-out (H, H-x86, MD): the
    /// other CPUs that have the mm loaded at `__mmput`.
    pub loaded_ipis: u64,
    /// Other CPUs lazy on the mm (running a kernel thread or idle with it as `active_mm`) at
    /// `__mmput`.
    pub lazy_remote: u64,
    /// User → kernel switches (R's `mmgrab_lazy_tlb` in `context_switch`).
    pub to_kernel: u64,
    /// Kernel → user switches (R's `mmdrop_lazy_tlb_sched` in `finish_task_switch`).
    pub to_user: u64,
    /// CR3 writes: `switch_mm_irqs_off` to an mm other than the loaded one.
    pub mmu_switches: u64,
}

pub struct Interp {
    tgid: HashMap<u32, u32>,
    tasks: HashMap<u32, Task>,
    procs: HashMap<u32, usize>,
    mms: Vec<Mm>,
    cur: Vec<Option<u32>>,
    /// By CPU: the pid of its last switch's prev until a line shows next running.
    window: Vec<Option<u32>>,
    active: Vec<usize>,
    loaded: Vec<usize>,
    ever: HashMap<usize, BTreeSet<usize>>,
    dying: HashSet<u32>,
    d: Derived,
}

impl Interp {
    fn new(evs: &[Event], ncpus: usize) -> Interp {
        let mut tgid = HashMap::new();
        for e in evs {
            if let Some(g) = e.tgid {
                tgid.entry(e.current.pid).or_insert(g);
            }
        }
        Interp {
            tgid,
            tasks: HashMap::new(),
            procs: HashMap::new(),
            mms: vec![Mm::default()],
            cur: vec![None; ncpus],
            window: vec![None; ncpus],
            active: vec![INIT; ncpus],
            loaded: vec![INIT; ncpus],
            ever: HashMap::new(),
            dying: HashSet::new(),
            d: Derived::default(),
        }
    }

    fn new_mm(&mut self) -> usize {
        self.mms.push(Mm { users: 1, count: 1 });
        self.mms.len() - 1
    }

    /// A task alive at trace start, created at first use (see the module doc).
    fn ensure(&mut self, pid: u32, comm: &str) {
        if self.tasks.contains_key(&pid) {
            return;
        }
        let g = self.tgid.get(&pid).copied().unwrap_or(pid);
        let task = if g == pid && KTHREADS.iter().any(|k| comm.starts_with(k)) {
            self.d.initial_kthreads += 1;
            Task {
                kthread: true,
                mm: None,
            }
        } else {
            let mm = match self.procs.get(&g) {
                Some(&m) if self.mms[m].users > 0 => {
                    self.mms[m].users += 1;
                    m
                }
                _ => {
                    let m = self.new_mm();
                    self.procs.insert(g, m);
                    m
                }
            };
            Task {
                kthread: false,
                mm: Some(mm),
            }
        };
        self.tasks.insert(pid, task);
    }

    fn user_on(&self, cpu: usize) -> bool {
        self.cur[cpu].is_some_and(|p| self.tasks[&p].mm.is_some())
    }

    /// R's `mmgrab` / `mmgrab_lazy_tlb`: one RMW.
    fn grab(&mut self, mm: usize) {
        self.d.r_rmw += 1;
        self.mms[mm].count += 1;
    }

    /// R's `mmdrop` / `mmdrop_lazy_tlb_sched`: one RMW; the last one frees (not init_mm).
    fn drop_ref(&mut self, mm: usize) {
        self.d.r_rmw += 1;
        self.mms[mm].count -= 1;
        if mm != INIT && self.mms[mm].count == 0 {
            self.d.r_freed += 1;
        }
    }

    /// `switch_mm_irqs_off` to `mm` on `cpu`.
    fn load(&mut self, cpu: usize, mm: usize) {
        self.d.mmu_switches += u64::from(self.loaded[cpu] != mm);
        self.loaded[cpu] = mm;
        self.active[cpu] = mm;
        self.ever.entry(mm).or_default().insert(cpu);
    }

    /// `context_switch` + `finish_task_switch` from `cur[cpu]` to `next` (None: idle).
    fn switch(&mut self, cpu: usize, next: Option<u32>) {
        let prev_user = self.user_on(cpu);
        match next.and_then(|n| self.tasks[&n].mm) {
            // To a kernel thread or idle: next->active_mm = prev->active_mm; user→kernel
            // grabs it (mmgrab_lazy_tlb), kernel→kernel moves the reference.
            None if prev_user => {
                self.d.to_kernel += 1;
                self.grab(self.active[cpu]);
            }
            None => {}
            // To a user task; kernel→user: rq->prev_mm = prev->active_mm, dropped in
            // finish_task_switch (mmdrop_lazy_tlb_sched) — init_mm included.
            Some(m) => {
                if !prev_user {
                    self.d.to_user += 1;
                    self.drop_ref(self.active[cpu]);
                }
                self.load(cpu, m);
            }
        }
        self.cur[cpu] = next;
    }

    /// `mmput(mm)` on `cpu`; the last one runs `__mmput`: `exit_mmap`'s flush, then `mmdrop`.
    fn mmput(&mut self, cpu: usize, mm: usize) {
        self.mms[mm].users -= 1;
        if self.mms[mm].users > 0 {
            return;
        }
        self.d.mmputs += 1;
        let others = |s: &Interp, f: &dyn Fn(usize) -> bool| {
            (0..s.cur.len()).filter(|&c| c != cpu && f(c)).count() as u64
        };
        self.d.mask_ipis += others(self, &|c| self.ever[&mm].contains(&c));
        self.d.loaded_ipis += others(self, &|c| self.loaded[c] == mm);
        self.d.lazy_remote += others(self, &|c| !self.user_on(c) && self.active[c] == mm);
        // The fullmm flush reaches every CPU with the mm loaded (lazy ones: leave_mm or
        // unlazy; the exiting CPU itself locally): their MMU moves to init_mm.
        for c in 0..self.loaded.len() {
            if self.loaded[c] == mm {
                self.loaded[c] = INIT;
                self.d.mmu_switches += 1;
            }
        }
        self.drop_ref(mm);
    }

    /// `do_exit` → `exit_mm` of `cur[cpu]`: `mmgrab(mm)` (the task goes lazy on its own
    /// mm: active_mm stays), `current->mm = NULL`, `mmput(mm)`.
    fn exit(&mut self, cpu: usize) {
        let p = self.cur[cpu].expect("a user task");
        let mm = self.tasks.get_mut(&p).unwrap().mm.take().unwrap();
        self.d.exits += 1;
        self.grab(mm);
        self.mmput(cpu, mm);
    }

    /// `exec_mmap` by `cur[cpu]`: a fresh mm, `activate_mm`, then `mmput(old)` (a kthread's
    /// exec drops its lazy active_mm instead).
    fn exec(&mut self, cpu: usize) {
        let p = self.cur[cpu].expect("exec by a task");
        let new = self.new_mm();
        let lazy = self.active[cpu];
        let t = self.tasks.get_mut(&p).unwrap();
        let old = t.mm.replace(new);
        t.kthread = false;
        self.load(cpu, new);
        match old {
            Some(o) => self.mmput(cpu, o),
            None => self.drop_ref(lazy),
        }
        let g = self.tgid.get(&p).copied().unwrap_or(p);
        self.procs.insert(g, new);
        self.d.execs += 1;
    }

    fn fork(&mut self, parent: u32, child: u32) {
        let pt = &self.tasks[&parent];
        let (pk, pmm) = (pt.kthread, pt.mm);
        let task = if pk {
            self.d.forked_kthreads += 1;
            Task {
                kthread: true,
                mm: None,
            }
        } else {
            let pg = self.tgid.get(&parent).copied().unwrap_or(parent);
            let cg = self.tgid.get(&child).copied();
            let mm = match pmm {
                Some(m) if cg == Some(pg) => {
                    self.d.forked_threads += 1;
                    self.mms[m].users += 1;
                    m
                }
                _ => {
                    self.d.forked_processes += 1;
                    let m = self.new_mm();
                    self.procs.insert(cg.unwrap_or(child), m);
                    m
                }
            };
            Task {
                kthread: false,
                mm: Some(mm),
            }
        };
        self.tasks.insert(child, task);
    }

    /// A line whose current task is not the CPU's current task shows a switch the trace
    /// lacks (the driver's `plan.rs` rule): played as a switch to the line's task, before the
    /// line. Not on `switch_mm_irqs_off`'s `tlb_flush` "flush on task switch" (reason 0)
    /// lines of the switch just traced, whose current is still its prev.
    fn unseen_switch(&mut self, e: &Event) {
        let cpu = e.cpu as usize;
        let now = (e.current.pid != 0).then_some(e.current.pid);
        if now == self.cur[cpu] {
            self.window[cpu] = None;
            return;
        }
        let in_switch = matches!(e.kind, EventKind::TlbFlush { reason: 0, .. })
            && self.window[cpu] == Some(e.current.pid);
        if in_switch {
            return;
        }
        self.window[cpu] = None;
        if self.cur[cpu].is_none() {
            self.d.inferred_from_idle += 1;
        } else {
            self.d.inferred_other += 1;
        }
        if let Some(n) = now {
            self.ensure(n, &e.current.comm);
        }
        let to_kernel = now.is_none_or(|n| self.tasks[&n].mm.is_none());
        if self.user_on(cpu) && to_kernel {
            self.d.lazy_switches += 1;
        }
        self.d.context_switches += 1;
        self.switch(cpu, now);
    }

    /// Derives the figures of a replay of `evs` on `ncpus` CPUs.
    pub fn run(evs: &[Event], ncpus: usize) -> Derived {
        let mut s = Interp::new(evs, ncpus);
        // Setup: each CPU in the current task of its first line (not measured).
        for cpu in 0..ncpus {
            let at = evs.iter().position(|e| e.cpu as usize == cpu).expect("cpu");
            let first = &evs[at];
            let p = first.current.pid;
            // A task forked before that line was not running here at trace start: idle.
            let forked = evs[..at]
                .iter()
                .any(|e| matches!(&e.kind, EventKind::Fork { child, .. } if child.pid == p));
            if p != 0 && !forked {
                s.ensure(p, &first.current.comm);
                s.d.placed += 1;
                if let Some(m) = s.tasks[&p].mm {
                    s.load(cpu, m);
                }
                s.cur[cpu] = Some(p);
            }
        }
        // Setup runs in a boot context before the engine's baseline: not measured.
        s.d.mmu_switches = 0;
        let pid = |p: u32| (p != 0).then_some(p);
        for e in evs {
            let cpu = e.cpu as usize;
            s.unseen_switch(e);
            match &e.kind {
                EventKind::Switch {
                    prev,
                    prev_state,
                    next,
                    ..
                } => {
                    s.d.switches += 1;
                    let (p, n) = (pid(prev.pid), pid(next.pid));
                    let last =
                        p.is_some_and(|p| s.dying.contains(&p)) && !prev_state.starts_with('R');
                    if p != s.cur[cpu] {
                        s.d.mismatches += 1;
                    }
                    if let Some(n) = n {
                        s.ensure(n, &next.comm);
                    }
                    let user = s.user_on(cpu);
                    let to_kernel = n.is_none_or(|n| s.tasks[&n].mm.is_none());
                    if user && to_kernel && !last {
                        s.d.lazy_switches += 1;
                    }
                    if last && user && p == s.cur[cpu] {
                        s.exit(cpu);
                    }
                    // schedule() to the task already running is no context switch.
                    if n != s.cur[cpu] {
                        s.d.context_switches += 1;
                        s.switch(cpu, n);
                    }
                    if let (true, Some(p)) = (last, p) {
                        s.tasks.remove(&p);
                        s.dying.remove(&p);
                    }
                    s.window[cpu] = Some(prev.pid);
                }
                EventKind::Fork { parent, child } => s.fork(parent.pid, child.pid),
                EventKind::Exec { pid, old_pid, .. } => {
                    assert_eq!(pid, old_pid, "the sample has no exec by a non-leader");
                    if s.cur[cpu] == Some(*old_pid) {
                        s.exec(cpu);
                    } else {
                        s.d.mismatches += 1;
                    }
                }
                EventKind::Exit { task, .. } => {
                    s.dying.insert(task.pid);
                }
                _ => {}
            }
        }
        s.d
    }
}
