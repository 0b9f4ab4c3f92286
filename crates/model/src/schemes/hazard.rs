//! H — Andy Lutomirski's lightweight hazard pointers, patch 16/23 (spec §3.c).
//!
//! **Per-rq state.** `lazy_mm`: a hazard pointer, written only by the owning CPU; setting it
//! keeps that mm from being freed. `drop_mm`: one deferred `mm_count` reference handed to this
//! rq by a remote freer, released by the owner when it no longer uses that mm.
//!
//! **Going lazy** (user→kernel, `exit_mm`, `kthread_unuse_mm`): `WRITE_ONCE(rq->lazy_mm, mm)`
//! with no barrier — "we still hold an explicit (mm_users) reference. __mmput() can't be
//! called until we call mmput() to drop our reference, and __mmput() is a release barrier".
//!
//! **Un-lazying** (kernel→user, exec, `kthread_use_mm`, `unlazy_mm_irqs_off`):
//! `smp_store_release(&rq->lazy_mm, NULL)` — every use of the old page tables happens-before.
//! Every context switch then runs `mmdrop_lazy(rq)`: release `drop_mm` unless it is still the
//! rq's `lazy_mm`.
//!
//! **Free side** — `__mmput`, after `exit_mmap` (whose x86 flush already unlazied most CPUs):
//! ```text
//!  mm_unlazy_mm_count(mm):                       remote rq (owner)
//!   for cpu in for_each_possible_lazymm_cpu:
//!     if load_acquire(rq->lazy_mm) != mm: skip    ── lazy_mm = M (WRITE_ONCE)
//!     batch: atomic_add(nr_cpus) once             ── ... switch to user:
//!     __try_mm_drop_rq_ref(rq, mm):                   store_release(lazy_mm, NULL)
//!       old = load_acquire(rq->drop_mm)               mmdrop_lazy: drop_mm != lazy_mm →
//!       old == NULL: cmpxchg(drop_mm, NULL, mm)         cmpxchg(drop_mm, old, NULL); mmdrop
//!       re-load lazy_mm (MUST: §3.c race) != mm: mmdrop(mm)   (our ref is not needed)
//!       else steal: cmpxchg(drop_mm, old, mm); mmdrop(old)
//!   atomic_sub(unused part of the batch)         ⇒ ≤ 2 atomics on mm_count, no IPIs
//! ```
//!
//! **`exit_mm`'s grab (§3.c open question).** As posted, `exit_mm()` still takes a real
//! `mmgrab(mm)` (patch 05 only changes the `->mm` store), while patch 16 deletes the
//! `rq->prev_mm` → `mmdrop` path that used to pay it back, and sets no `lazy_mm` for the dying
//! task: nothing releases that reference, so every exited mm leaks (`exit_mm_grabs`, the
//! as-posted rows; the oracle reports the leak). The `+fixes` variants make the grab what
//! "lazy" means under H — the hazard-pointer publication, `rq->lazy_mm = mm` on the exiting
//! CPU, found by the scan of the `__mmput` the same `exit_mm` may run — so the mm is freed by
//! the exiting CPU's `mmdrop_lazy` at its next switch (scenario 1).
//!
//! **Decision — kthread_use_mm callers holding only mm_count (§4.3, §7 #8).** Patch 15 makes
//! "caller holds mm_users" the rule. The correct scheme enforces it inside the API:
//! `kthread_use_mm` takes `mm_users` itself (`mmget_not_zero`, refusing an mm with no users
//! left) and `kthread_unuse_mm` publishes `lazy_mm` before its `mmput`, so the hazard pointer
//! always exists before the scan that could miss it. A plain "`mm_users > 0`?" check would race
//! with a concurrent exit (the threads engine finds that). Mutant (f) trusts the caller.
//!
//! Variants: `reload_lazy_mm = false` is the Dec-2020 mockup (mutant a, §7 #18); `iter =
//! Cpumask` is H-x86 (patch 22, hazard_x86.rs).

use crate::arch::{Arch, ArchId};
use crate::ids::{CpuId, MmRef};
use crate::machine::{Access, Cpu, Event, Line};
use crate::scheme::{KthreadRef, Scheme, SchemeId, Site};
use crate::sync::atomic::Ordering::{self, *};
use crate::Kernel;

/// `for_each_possible_lazymm_cpu` flavour.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LazyIter {
    /// Generic: every online CPU.
    Online,
    /// x86 patch 22: `mm_cpumask(mm)`.
    Cpumask,
}

/// The hazard-pointer scheme and its variants.
pub struct Hazard {
    /// Which CPUs the free side examines.
    pub iter: LazyIter,
    /// Re-load `rq->lazy_mm` after loading `rq->drop_mm` (false: Dec-2020 mockup).
    pub reload_lazy_mm: bool,
    /// Reference held by `kthread_use_mm` ([`KthreadRef::MmUsers`]: patch 15's rule
    /// enforced; [`KthreadRef::None`]: as posted, mutant f).
    pub kthread_ref: KthreadRef,
    /// Ordering of the scan's `rq->lazy_mm` load: `Acquire` (the patch's
    /// `smp_load_acquire`), or `Relaxed` for the loom mutant "a relaxed where an acquire is
    /// needed".
    pub lazy_load: Ordering,
    /// As posted: `exit_mm`'s GRAB is a real `mmgrab` that nothing releases (see the module
    /// doc); false: it publishes `rq->lazy_mm` (the `+fixes` variants).
    pub exit_mm_grabs: bool,
    /// On PREEMPT_RT, release `drop_mm` with `mmdrop_sched` (deferred through `call_rcu`, as
    /// mainline does in `finish_task_switch`) rather than patch 16's plain `mmdrop` (§7 #24).
    pub rt_mmdrop_sched: bool,
    /// Ordering of the un-lazy `smp_store_release(&rq->lazy_mm, NULL)` stores (kernel→user
    /// switch, exec / `kthread_use_mm`, `unlazy_mm_irqs_off`): `Release` (the patch), or
    /// `Relaxed` for the loom mutant that breaks H's own pair with the scan's acquire.
    pub unlazy_store: Ordering,
    /// Mutant name, if any.
    pub mutant: Option<&'static str>,
}

impl Default for Hazard {
    fn default() -> Self {
        Hazard {
            iter: LazyIter::Online,
            reload_lazy_mm: true,
            // As posted: patch 15 takes no reference (the caller must hold mm_users).
            kthread_ref: KthreadRef::None,
            lazy_load: Acquire,
            exit_mm_grabs: true,
            rt_mmdrop_sched: false,
            unlazy_store: Release,
            mutant: None,
        }
    }
}

impl Hazard {
    /// `mmdrop_lazy(rq)`: release `rq->drop_mm` if this CPU no longer uses it.
    pub fn mmdrop_lazy(&self, k: &Kernel, c: &dyn Cpu) {
        let _t = c.trace().enter("mmdrop_lazy");
        let me = touch_this_cpu!(k, c, Line::RqLazy, Access::Load);
        let rq = k.cpu(me);
        // READ_ONCE(rq->drop_mm): Relaxed — a stale value only delays the drop, and the
        // cmpxchg below decides.
        let mut old = MmRef(rq.drop_mm.load(Relaxed));
        loop {
            // Relaxed: lazy_mm is our own field.
            if old.is_null() || old.0 == rq.lazy_mm.load(Relaxed) {
                return;
            }
            // try_cmpxchg_relaxed: ordering comes from the mmdrop's full barrier that follows,
            // and our own lazy_mm release store already ordered our last use of `old`.
            touch!(k, c, Line::RqLazy(rq.cpu), Access::Rmw);
            match rq.drop_mm.compare_exchange(old.0, 0, Relaxed, Relaxed) {
                Ok(_) => {
                    k.ev(c, Event::DropMmRmw);
                    break;
                }
                Err(x) => {
                    k.ev(c, Event::DropMmRmw);
                    old = MmRef(x);
                }
            }
        }
        if self.rt_mmdrop_sched {
            k.mmdrop_sched(c, old);
        } else {
            k.mmdrop(c, old);
        }
    }

    fn candidates(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef) -> Vec<CpuId> {
        match self.iter {
            LazyIter::Online => (0..k.ncpus()).filter(|&x| k.cpu_online(x)).collect(),
            LazyIter::Cpumask => k.mm_cpumask(c, mm).iter().collect(),
        }
    }

    /// `mm_unlazy_mm_count(mm)`: convert every `lazy_mm` reference to mm into an `mm_count`
    /// reference handed to that rq.
    pub fn mm_unlazy_mm_count(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef) {
        let _t = c.trace().enter("mm_unlazy_mm_count");
        if k.mm_users(mm) != 0 {
            k.warn(c, mm, "WARN_ON_ONCE(atomic_read(&mm->mm_users) != 0)");
        }
        let mut drop_count: i64 = 0;
        for cpu in self.candidates(k, c, mm) {
            k.ev(c, Event::ScanLoad);
            touch!(k, c, Line::RqLazy(cpu as u32), Access::Load);
            // smp_load_acquire(&rq->lazy_mm): pairs with the owner's store_release(NULL) on
            // un-lazy (its last use of mm happens-before our seeing NULL); the owner's
            // going-lazy WRITE_ONCE is ordered before us by the mm_users release chain (mmput).
            if k.cpu(cpu).lazy_mm.load(self.lazy_load) != mm.0 {
                continue;
            }
            c.point(k, "mm_unlazy_mm_count:matched");
            if drop_count == 0 {
                drop_count = k.ncpus() as i64;
                k.mm_count_add(c, mm, drop_count);
            }
            drop_count -= 1;
            while !self.try_mm_drop_rq_ref(k, c, cpu, mm) {
                c.point(k, "mm_unlazy_mm_count:retry");
            }
        }
        // atomic_sub(drop_count, &mm->mm_count): the diff issues it unconditionally, even
        // when no CPU matched and drop_count is 0.
        k.mm_count_sub(c, mm, drop_count);
    }

    /// `__try_mm_drop_rq_ref(rq, mm)`: hand one `mm_count` reference to `rq`.
    fn try_mm_drop_rq_ref(&self, k: &Kernel, c: &dyn Cpu, cpu: CpuId, mm: MmRef) -> bool {
        let _t = c.trace().enter("__try_mm_drop_rq_ref");
        let rq = k.cpu(cpu);
        let line = Line::RqLazy(cpu as u32);
        touch!(k, c, line, Access::Load);
        // smp_load_acquire(&rq->drop_mm): pairs with the fully ordered cmpxchg of the remote
        // freer that installed `old` (its leading smp_mb releases that freer's mm_count
        // reference), so a steal below sees it. The owner's emptying cmpxchg is _relaxed and
        // pairs with nothing: whatever the owner did with `old` is ordered before any free by
        // the full barrier of the mmdrop it runs next.
        let old = MmRef(rq.drop_mm.load(Acquire));
        if old == mm {
            k.warn(c, mm, "WARN_ON_ONCE(old == mm) in __try_mm_drop_rq_ref");
        }
        if old.is_null() {
            // try_cmpxchg: fully ordered on success (LKMM). Its leading smp_mb orders our
            // atomic_add of the batch before the hand-off, which the owner's mmdrop (full
            // barrier) then consumes.
            touch!(k, c, line, Access::Rmw);
            let ok = crate::sync::full::cmpxchg(&rq.drop_mm, 0, mm.0).is_ok();
            k.ev(c, Event::DropMmRmw);
            return ok;
        }
        c.point(k, "__try_mm_drop_rq_ref:loaded_drop_mm");
        if self.reload_lazy_mm {
            // "to verify that rq->lazy_mm is not keeping a given mm alive, we must load
            // rq->lazy_mm _after_ we know that mm_users == 0" — and after drop_mm. Acquire
            // pairs with the owner's store_release on un-lazy.
            if rq.lazy_mm.load(Acquire) != mm.0 {
                k.mmdrop(c, mm);
                return true;
            }
        }
        // rq->lazy_mm == mm != old (as far as we know): the rq is done with old; steal.
        // cmpxchg: fully ordered on success, as above; the Acquire load of drop_mm already
        // made the previous freer's hand-off of `old` visible before we mmdrop it.
        touch!(k, c, line, Access::Rmw);
        let ok = crate::sync::full::cmpxchg(&rq.drop_mm, old.0, mm.0).is_ok();
        k.ev(c, Event::DropMmRmw);
        if !ok {
            return false;
        }
        k.mmdrop(c, old);
        true
    }
}

impl Scheme for Hazard {
    fn own_unlazy(&self) -> bool {
        true
    }

    fn id(&self) -> SchemeId {
        if self.iter == LazyIter::Cpumask {
            SchemeId::HazardX86
        } else {
            SchemeId::Hazard
        }
    }

    fn name(&self) -> String {
        self.mutant
            .map(str::to_string)
            .unwrap_or_else(|| self.id().name().into())
    }

    fn infeasible(&self, arch: &Arch) -> Option<&'static str> {
        match self.iter {
            LazyIter::Online => None,
            LazyIter::Cpumask => crate::schemes::hazard_x86::infeasible(arch),
        }
    }

    /// H's `mm_unlazy_mm_count` matches a CPU still lazy on the exiting mm, except on x86
    /// (the exit flush unlazied it first; H-x86 runs only there).
    fn exit_scan_matches_lazy(&self, arch: &Arch) -> bool {
        arch.id != ArchId::X86
    }

    fn mmgrab_lazy_tlb(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef, site: Site) {
        if mm == k.init_mm || mm.is_null() {
            // init_mm is never freed: no hazard pointer.
            return;
        }
        if site == Site::ExitMm && self.exit_mm_grabs {
            // As posted: exit_mm()'s mmgrab(mm), and no lazy_mm for the dying task.
            k.mmgrab(c, mm);
            return;
        }
        let rq = k.cpu(c.id());
        // Relaxed: our own field.
        if rq.lazy_mm.load(Relaxed) != 0 {
            k.warn(c, mm, "SCHED_WARN_ON(rq->lazy_mm) when going lazy");
        }
        // WRITE_ONCE, no barrier: the caller still holds mm_users, and the release of its
        // mmput (→ __mmput) orders this store before mm_unlazy_mm_count's acquire loads; see
        // the module doc.
        touch!(k, c, Line::RqLazy(rq.cpu), Access::Store);
        rq.lazy_mm.store(mm.0, Relaxed);
    }

    #[inline(always)]
    fn mmdrop_lazy_tlb(&self, k: &Kernel, c: &dyn Cpu, _mm: MmRef, site: Site) {
        let rq = k.cpu(c.id());
        if site != Site::FinishCpu {
            touch!(k, c, Line::RqLazy(rq.cpu), Access::Store);
        }
        match site {
            Site::FinishCpu => {}
            Site::Unlazy => {
                // smp_store_release: all use of the old mm's page tables happens-before; pairs
                // with the acquire loads in mm_unlazy_mm_count / __try_mm_drop_rq_ref.
                rq.lazy_mm.store(0, self.unlazy_store);
            }
            _ => {
                // __change_current_mm (exec / kthread_use_mm): release the hazard pointer; the
                // old lazy mm is NOT mmdropped (there is no count to drop). Release: as above.
                rq.lazy_mm.store(0, self.unlazy_store);
            }
        }
    }

    fn switch_kernel_to_user(&self, k: &Kernel, c: &dyn Cpu, _prev_active: MmRef) {
        // smp_store_release(&rq->lazy_mm, NULL): pairs with the scan's smp_load_acquire.
        let me = touch_this_cpu!(k, c, Line::RqLazy, Access::Store);
        k.cpu(me).lazy_mm.store(0, self.unlazy_store);
    }

    fn finish_task_switch(&self, k: &Kernel, c: &dyn Cpu) {
        self.mmdrop_lazy(k, c);
    }

    fn after_exit_mmap(&self, k: &Kernel, c: &dyn Cpu, mm: MmRef) {
        self.mm_unlazy_mm_count(k, c, mm);
    }

    fn after_unlazy(&self, k: &Kernel, c: &dyn Cpu) {
        // Relaxed: lazy_mm is written only by this CPU.
        let lazy = k.cpu(c.id()).lazy_mm.load(Relaxed);
        if lazy != 0 {
            // The invariant the scan relies on from here: an unlazied rq publishes nothing.
            k.violation(
                c,
                crate::oracle::ViolationKind::HazardInvariant,
                MmRef(lazy),
                "rq->lazy_mm still set after unlazy_mm_irqs_off".into(),
            );
        }
        self.mmdrop_lazy(k, c);
    }

    fn kthread_use_mm_ref(&self) -> KthreadRef {
        self.kthread_ref
    }

    fn kasan_check_active_mm(&self) -> bool {
        true
    }

    fn membarrier_finish_switch_mm(&self) -> bool {
        true
    }
}
