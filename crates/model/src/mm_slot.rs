//! `mm_struct` storage (spec §1.1): slots with generation-checked handles, so a use after
//! free, a double free or a stale pointer is a reported violation, never undefined
//! behaviour; allocation, release, the liveness check every dereference goes through, and
//! the counters' snapshots.

use crate::ids::MmRef;
use crate::machine::Cpu;
use crate::oracle::ViolationKind;
use crate::sync::atomic::{AtomicBool, AtomicI64, AtomicU16, AtomicU32, AtomicU64, Ordering::*};
use crate::sync::PageTables;
use crate::Kernel;
use crossbeam_utils::CachePadded;

/// One `mm_struct` slot (cache-line aligned: separate allocations in the kernel).
#[derive(Debug)]
#[repr(align(128))]
pub struct MmSlot {
    /// Generation: bumped when the mm is freed, so stale handles are detectable.
    pub gen: AtomicU32,
    /// Whether the slot holds a live mm.
    pub live: AtomicBool,
    /// `mm_users`.
    pub users: AtomicI64,
    /// `mm_count`, on its own cache line as in `struct mm_struct`.
    pub count: CachePadded<AtomicI64>,
    /// `mm_cpumask(mm)`.
    pub mask: Vec<AtomicU64>,
    /// Registered for membarrier PRIVATE_EXPEDITED.
    pub membarrier: AtomicBool,
    /// Static mm (init_mm, efi_mm, poking_mm): never freed.
    pub special: AtomicBool,
    /// The page-table memory, for the loom race detector.
    pub pgd: PageTables,
    /// x86 `mm->context.next_trim_cpumask` (jiffies), 6db2526c1d69.
    pub next_trim: AtomicU64,
    /// x86 `mm->context.tlb_gen`: bumped by every flush of the mm (`inc_mm_tlb_gen`); a CPU
    /// whose own generation for the mm is older has stale TLB entries (see [`crate::tlb`]).
    pub tlb_gen: AtomicU64,
    /// x86 `mm->context.global_asid` (INVLPGB; 0: none): see [`crate::global_asid`].
    pub global_asid: AtomicU16,
    /// x86 `mm->context.asid_transition`: some CPU may still run the mm on a dynamic ASID.
    pub asid_transition: AtomicBool,
}

impl Kernel {
    pub(crate) fn mm_alloc_special(&self) -> MmRef {
        let mm = self
            .mm_alloc(1, 1, 0)
            .expect("mm table too small for static mms");
        // Relaxed: boot-time, published with the kernel.
        self.mms[mm.idx()].special.store(true, Relaxed);
        mm
    }

    /// Allocates an mm with the given `mm_users` and `mm_count` (`mm_alloc`), at `jiffies`.
    pub fn mm_alloc(&self, users: i64, count: i64, jiffies: u64) -> Option<MmRef> {
        let idx = match self.mm_free.lock().unwrap().pop() {
            Some(i) => i,
            None => {
                // Relaxed: a unique index is all we need; the slot is published by `live`.
                let i = self.mm_next.fetch_add(1, Relaxed);
                if i as usize >= self.mms.len() {
                    return None;
                }
                i
            }
        };
        let s = &self.mms[idx as usize];
        // Relaxed: initialisation of a slot nobody can reach yet; the Release store of `live`
        // below publishes all of it.
        s.users.store(users, Relaxed);
        s.count.store(count, Relaxed);
        for w in &s.mask {
            w.store(0, Relaxed);
        }
        s.membarrier.store(false, Relaxed);
        s.special.store(false, Relaxed);
        // x86 init_new_context: next_trim_cpumask = jiffies + HZ; atomic64_set(&tlb_gen, 0).
        // Relaxed: initialisation, published by the Release store of `live` below, like the
        // fields above.
        s.next_trim.store(
            (self.cfg.knobs.trim_interval).map_or(u64::MAX, |iv| jiffies.saturating_add(iv)),
            Relaxed,
        );
        s.tlb_gen.store(0, Relaxed);
        // mm_init_global_asid. Relaxed: initialisation too, published by `live` below.
        s.global_asid.store(0, Relaxed);
        s.asid_transition.store(false, Relaxed);
        s.pgd.init();
        // Release: publishes the initialised fields to whoever receives the handle (fork's
        // publication of the new task->mm; pairs with the Acquire in `mm_live`).
        s.live.store(true, Release);
        let mm = MmRef::new(idx, s.gen.load(Relaxed));
        self.oracle.born(mm);
        Some(mm)
    }

    /// Returns the slot back to the allocator after `free_mm`.
    pub(crate) fn mm_release_slot(&self, mm: MmRef) {
        // The table lock stands for the RCU grace period / task_lock that keeps
        // `get_task_mm`-style lookups ([`Kernel::pick_mm_get`]) from racing with the free.
        let mut free = self.mm_free.lock().unwrap();
        let s = &self.mms[mm.idx()];
        // Relaxed: ordered before the Release generation bump below.
        s.live.store(false, Relaxed);
        // Release: the generation bump is what makes every outstanding handle stale.
        s.gen.fetch_add(1, Release);
        free.push(mm.idx() as u32);
    }

    /// A driver pins the `n`-th live mm with users, as a driver registering with a process:
    /// `get_task_mm` (an `mm_users` reference, under the table lock), `mmgrab`, `mmput`. The
    /// struct pin then outlives the process's users. (A bare "users > 0? then mmgrab" would
    /// race with the last `mmput`: the threads engine caught exactly that.)
    pub fn pick_mm_grab(&self, c: &dyn Cpu, n: u32) -> Option<MmRef> {
        let mm = self.pick_mm_get(n)?;
        // Holding mm_users implies the users' mm_count reference: grabbing is safe.
        self.mmgrab(c, mm);
        self.oracle.pin(mm, 1);
        // Outside the table lock: this mmput may run __mmput, which sends IPIs.
        self.mmput(c, mm);
        Some(mm)
    }

    /// `get_task_mm()` on the `n`-th (mod count) live mm that still has users: takes an
    /// `mm_users` reference under the table lock, so the mm cannot be freed and its slot
    /// reused between the choice and the `mmget_not_zero` (the kernel's task_lock/RCU).
    pub fn pick_mm_get(&self, n: u32) -> Option<MmRef> {
        let _free = self.mm_free.lock().unwrap();
        let live: Vec<_> = self
            .live_mms()
            .into_iter()
            .filter(|&m| self.mm_users(m) > 0)
            .collect();
        if live.is_empty() {
            return None;
        }
        let mm = live[n as usize % live.len()];
        self.mmget_not_zero(mm).then_some(mm)
    }

    /// Whether `mm` (non-NULL) still names a live mm. No report.
    pub fn mm_live(&self, mm: MmRef) -> bool {
        if mm.is_null() || mm.idx() >= self.mms.len() {
            return false;
        }
        let s = &self.mms[mm.idx()];
        // Acquire: pairs with the Release generation bump in `mm_release_slot`.
        s.gen.load(Acquire) == mm.gen() && s.live.load(Acquire)
    }

    /// KASAN check: a dereference of `mm` by `what` on `c`. Reports a use-after-free and
    /// returns false if the mm was freed.
    pub fn mm_deref(&self, c: &dyn Cpu, mm: MmRef, what: &str) -> bool {
        if mm.is_null() {
            self.warn(c, mm, &format!("NULL mm dereference in {what}"));
            return false;
        }
        if self.mm_live(mm) {
            return true;
        }
        let freed = self
            .oracle
            .shadow(mm)
            .and_then(|s| s.freed)
            .map(|f| format!(" (freed on cpu{} by {} at step {})", f.cpu, f.via, f.step))
            .unwrap_or_default();
        self.violation(
            c,
            ViolationKind::UseAfterFree,
            mm,
            format!("{what} dereferences a freed mm{freed}"),
        );
        false
    }

    /// All live non-static mms.
    pub fn live_mms(&self) -> Vec<MmRef> {
        let n = (self.mm_next.load(Relaxed) as usize).min(self.mms.len());
        (0..n)
            .filter_map(|i| {
                let s = &self.mms[i];
                // Acquire on `live` pairs with mm_alloc's Release; `special` and `gen` were
                // initialised before it (Relaxed reads of published fields).
                (s.live.load(Acquire) && !s.special.load(Relaxed))
                    .then(|| MmRef::new(i as u32, s.gen.load(Relaxed)))
            })
            .collect()
    }

    /// `mm_users` of a live mm (0 if freed).
    pub fn mm_users(&self, mm: MmRef) -> i64 {
        if self.mm_live(mm) {
            // atomic_read(): Relaxed, a snapshot for WARNs, picks and reports.
            self.slot(mm).users.load(Relaxed)
        } else {
            0
        }
    }

    /// `mm_count` of a live mm (0 if freed).
    pub fn mm_count(&self, mm: MmRef) -> i64 {
        if self.mm_live(mm) {
            // atomic_read(): Relaxed, a snapshot for reports.
            self.slot(mm).count.load(Relaxed)
        } else {
            0
        }
    }
}
