//! The end of a run: what the workload left behind, then the harness's settling.
//!
//! A count is what the kernel would do in the workload, so the harness's own work is not
//! counted: [`Kernel::begin_quiesce`] freezes the counters before any CPU is settled. It
//! also records every **zombie** — an mm with no users and no workload pins, not freed
//! because lazy references still hold it (R: "pinned by cpu0 until it runs a user task", H:
//! a `drop_mm` hand-off not yet released) — so a row reports it as such rather than as a
//! free done by the harness. Quiesce then unlazies every CPU, and the final check tells a
//! zombie (freed by quiesce: the scheme's liveness holds) from a **leak** (still not freed)
//! and reports `mm_users` leaks.
//!
//! ```text
//!  workload ends ── begin_quiesce: freeze counters, record zombies and who pins them
//!                ── quiesce_cpu × N: rcu batch, module unload of driver pins, unlazy
//!                ── final_check: leak (not freed although unreferenced), mm_users leak
//! ```

use crate::ids::{MmRef, TaskId};
use crate::kernel::task_state;
use crate::machine::Cpu;
use crate::oracle::ViolationKind;
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

impl Kernel {
    /// Whether the end-of-run quiesce has begun.
    pub fn in_quiesce(&self) -> bool {
        // std Relaxed: an observation flag, set once by the engine before settling.
        self.quiescing.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The workload is over: stop counting and record the zombies. Idempotent; engines call
    /// it (directly or through the first [`Kernel::quiesce_cpu`]) once every script finished.
    pub fn begin_quiesce(&self) {
        // std Relaxed swap: an observation flag; the engine calls this once every workload
        // script has finished, so no workload event races with it (nothing to pair with).
        if self
            .quiescing
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        self.counters.freeze();
        for mm in self.live_mms() {
            let pins = self.oracle.shadow(mm).map(|s| s.pins).unwrap_or(0);
            if self.mm_users(mm) != 0 || pins > 0 {
                continue;
            }
            let who = self.lazy_pins(mm);
            let why = if who.is_empty() {
                format!(
                    "zombie: mm_count {}, no lazy holder found",
                    self.mm_count(mm)
                )
            } else {
                format!("zombie: pinned by {}", who.join(", "))
            };
            self.oracle.zombie(mm, why);
        }
    }

    /// Who keeps `mm` alive lazily, one phrase per holder.
    pub fn lazy_pins(&self, mm: MmRef) -> Vec<String> {
        let mut who = Vec::new();
        for cpu in 0..self.ncpus() {
            let pc = self.cpu(cpu);
            let cur = self.task(self.curr(cpu));
            // Relaxed reads: the run is over; nothing races with the observation.
            if cur.mm() != mm && cur.active_mm() == mm {
                let until = if pc.dead.load(Relaxed) {
                    "until finish_cpu"
                } else {
                    "until it runs a user task"
                };
                who.push(format!("cpu{cpu} (lazy active_mm) {until}"));
            } else if pc.loaded_mm() == mm && cur.mm() != mm {
                who.push(format!("cpu{cpu} (loaded_mm only)"));
            }
            if pc.lazy_mm.load(Relaxed) == mm.0 {
                who.push(format!("cpu{cpu} rq->lazy_mm"));
            }
            if pc.drop_mm.load(Relaxed) == mm.0 {
                who.push(format!(
                    "cpu{cpu} rq->drop_mm until its next context switch"
                ));
            }
            if pc.hp_slot.load(Relaxed) == mm.0 {
                who.push(format!("cpu{cpu} hazard slot"));
            }
            if pc.prev_mm.load(Relaxed) == mm.0 {
                who.push(format!("cpu{cpu} rq->prev_mm"));
            }
            if pc.rcu_pending.lock().unwrap().contains(&mm) {
                who.push(format!("cpu{cpu} call_rcu (delayed_drop) pending"));
            }
        }
        who
    }

    /// Final oracle check after every CPU quiesced: leaks and `mm_users` leaks.
    pub fn final_check(&self, c: &dyn Cpu) {
        let holders = |mm: MmRef| {
            (0..self.ntasks())
                .filter(|&i| {
                    let t = self.task(TaskId(i as u32));
                    let st = t.state();
                    // A task preempted in do_exit before its mmput still holds mm_users: it
                    // is runnable and puts it when it next runs (exit.rs). The quiesce does
                    // not run it: its __mmput could hand a CPU that already quiesced a
                    // reference (H's drop_mm) that only that CPU's next switch releases.
                    let pending = MmRef(t.exit_mmput.load(Relaxed));
                    st != task_state::UNUSED
                        && st != task_state::DEAD
                        && (t.mm() == mm || pending == mm)
                })
                .count()
        };
        for (mm, sh) in self.oracle.all() {
            // Relaxed reads: the final check runs after every CPU stopped.
            if sh.freed.is_some() || !self.mm_live(mm) || self.slot(mm).special.load(Relaxed) {
                continue;
            }
            let users = self.mm_users(mm);
            let count = self.mm_count(mm);
            if users == 0 && sh.pins <= 0 {
                let was = sh
                    .zombie
                    .map(|z| format!(" (at the end of the workload: {z})"))
                    .unwrap_or_default();
                self.oracle.report(
                    ViolationKind::Leak,
                    c.id(),
                    "quiesce".into(),
                    mm,
                    c.now(),
                    format!("no users, no pins, mm_count {count}, never freed{was}"),
                );
            } else if users > 0 && sh.pins <= 0 && holders(mm) == 0 {
                self.oracle.report(
                    ViolationKind::UsersLeak,
                    c.id(),
                    "quiesce".into(),
                    mm,
                    c.now(),
                    format!("mm_users {users} with no task and no holder left"),
                );
            }
        }
    }
}
