//! Cross-CPU function calls: `smp_call_function_many`, `on_each_cpu_mask`,
//! `smp_call_function_single` and the IPI/NMI entry points engines call.
//!
//! The csd queue is kernel state; the engine only decides when a CPU with IRQs enabled takes
//! its interrupt ([`Kernel::irq_entry`]). A synchronous sender spins in `csd_lock_wait` until
//! every target has run the function — with its own IRQs enabled, as the kernel requires, so
//! two CPUs calling each other do not deadlock.

use crate::ids::{CpuId, CpuSet, MmRef};
use crate::machine::{Access, Cpu, Event, Line};
use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::Kernel;
use std::sync::Arc;

/// The functions the model sends across CPUs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IpiFunc {
    /// `do_shoot_lazy_tlb(mm)` (S, L residuals, MD retire).
    ShootLazy(MmRef),
    /// `do_check_lazy_tlb(mm)` (MD's second call; WARN if still lazy).
    CheckLazy(MmRef),
    /// x86 `flush_tlb_func` for `mm`.
    FlushTlb {
        /// The flushed mm.
        mm: MmRef,
        /// Page tables were freed (lazy CPUs must be flushed too).
        freed_tables: bool,
        /// This is exit_mmap's final flush.
        exit: bool,
        /// `flush_tlb_info.new_tlb_gen`: the mm's `tlb_gen` this flush brought it to.
        new_tlb_gen: u64,
    },
    /// powerpc radix `do_exit_flush_lazy_tlb(mm)` (`exit_lazy_flush_tlb`).
    PpcExitLazyFlush(MmRef),
    /// membarrier's `ipi_mb`: `smp_mb()`.
    MembarrierMb,
    /// `smp_send_reschedule`'s `scheduler_ipi()`: the target's idle loop or return from the
    /// interrupt then sees `TIF_NEED_RESCHED` (asynchronous: nobody waits for it).
    Resched,
}

/// Why an IPI was sent (which counter it goes to). Engines read it inside [`Cpu::kick`] from
/// [`Trace::kick_class`](crate::machine::Trace::kick_class).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IpiClass {
    /// Lazy-mm handling.
    Lazy,
    /// TLB flushing.
    Flush,
    /// membarrier's `ipi_mb`: not counted in the lazy or flush columns.
    Membarrier,
    /// `smp_send_reschedule`'s `scheduler_ipi`: not counted in the lazy or flush columns.
    Resched,
}

/// A queued call (`call_single_data`).
#[derive(Debug)]
pub struct Csd {
    func: IpiFunc,
    /// The sending CPU (whose `csd_lock_wait` the completion releases).
    from: CpuId,
    pending: Arc<AtomicU32>,
}

impl Kernel {
    /// `smp_call_function_many(mask, func, wait=1)`: the calling CPU is excluded; offline
    /// CPUs are skipped. Returns the number of IPIs sent.
    pub fn smp_call_function_many(
        &self,
        c: &dyn Cpu,
        targets: &CpuSet,
        func: IpiFunc,
        class: IpiClass,
    ) -> usize {
        let _t = c.trace().enter("smp_call_function_many");
        self.smp_call_function_many_cond(c, targets, func, class, false)
    }

    /// `smp_call_function_many_cond()`: queue `func` on every online target but us and kick
    /// it; with `run_local` and us among the targets, run `func` here (IRQs off) — after the
    /// IPIs went out and before waiting, so the local call overlaps the remote handlers —
    /// then wait for every target (`csd_lock_wait`).
    fn smp_call_function_many_cond(
        &self,
        c: &dyn Cpu,
        targets: &CpuSet,
        func: IpiFunc,
        class: IpiClass,
        run_local: bool,
    ) -> usize {
        let me = c.id();
        let pending = Arc::new(AtomicU32::new(0));
        let mut sent = 0;
        for t in targets.iter().filter(|&t| t != me && t < self.ncpus()) {
            if !self.cpu_online(t) {
                continue;
            }
            // Relaxed: the counter is published to the target with the csd (queue mutex).
            pending.fetch_add(1, Relaxed);
            touch!(self, c, Line::CsdLock(me as u32), Access::Store);
            touch!(self, c, Line::CsdQueue(t as u32), Access::Rmw);
            self.cpu(t).csd.lock().unwrap().push_back(Csd {
                func,
                from: me,
                pending: pending.clone(),
            });
            match class {
                IpiClass::Lazy => self.ev(c, Event::LazyIpi),
                IpiClass::Flush => self.ev(c, Event::FlushIpi),
                IpiClass::Membarrier | IpiClass::Resched => {}
            }
            let _k = c.trace().kicking(class);
            c.kick(t);
            sent += 1;
        }
        if run_local && targets.contains(me) {
            self.local_irq_disable(c);
            self.run_func(c, func);
            self.local_irq_enable(c);
        }
        // csd_lock_wait: Acquire pairs with the Release decrement after each target ran func,
        // so everything the handlers did (switching away from the mm) happens-before our
        // return — the "wait=1 gives completion ordering" of §3.b.
        while {
            touch!(self, c, Line::CsdLock(me as u32), Access::Load);
            pending.load(Acquire) != 0
        } {
            c.wait(self, "csd_lock_wait");
        }
        sent
    }

    /// `smp_send_reschedule(cpu)`: an asynchronous IPI whose handler only makes the target
    /// notice `TIF_NEED_RESCHED` (a wakeup of a non-polling idle CPU, §benchmarks.md).
    pub fn smp_send_reschedule(&self, c: &dyn Cpu, cpu: CpuId) {
        if cpu == c.id() || !self.cpu_online(cpu) {
            return;
        }
        touch!(self, c, Line::CsdQueue(cpu as u32), Access::Rmw);
        self.cpu(cpu).csd.lock().unwrap().push_back(Csd {
            func: IpiFunc::Resched,
            from: c.id(),
            // Nobody waits: the count is released by the handler like any other.
            pending: Arc::new(AtomicU32::new(1)),
        });
        let _k = c.trace().kicking(IpiClass::Resched);
        c.kick(cpu);
    }

    /// `smp_call_function_single(cpu, func, wait=1)`; runs locally (IRQs off) if `cpu` is us.
    pub fn smp_call_function_single(
        &self,
        c: &dyn Cpu,
        cpu: CpuId,
        func: IpiFunc,
        class: IpiClass,
    ) {
        if cpu == c.id() {
            self.local_irq_disable(c);
            self.run_func(c, func);
            self.local_irq_enable(c);
        } else {
            let mut s = CpuSet::with_cpus(self.ncpus());
            s.insert(cpu);
            // An offline target is skipped (the kernel returns -ENXIO); callers that need it
            // gone from their data (MD's busy-wait) rely on the CPU clearing it before offline.
            self.smp_call_function_many(c, &s, func, class);
        }
    }

    /// `on_each_cpu_mask(mask, func, wait=1)`: remote CPUs by IPI, the local CPU directly.
    pub fn on_each_cpu_mask(&self, c: &dyn Cpu, mask: &CpuSet, func: IpiFunc, class: IpiClass) {
        let _t = c.trace().enter("on_each_cpu_mask");
        self.smp_call_function_many_cond(c, mask, func, class, true);
    }

    /// Whether `cpu` has queued calls.
    pub fn ipi_pending(&self, cpu: CpuId) -> bool {
        !self.cpu(cpu).csd.lock().unwrap().is_empty()
    }

    /// The IPI handler (`generic_smp_call_function_single_interrupt`). Engines call this on a
    /// CPU with IRQs enabled when it takes its interrupt.
    pub fn irq_entry(&self, c: &dyn Cpu) {
        let _t = c.trace().enter("[ipi]");
        self.local_irq_disable(c);
        loop {
            let me = touch_this_cpu!(self, c, Line::CsdQueue, Access::Rmw);
            let Some(csd) = self.cpu(me).csd.lock().unwrap().pop_front() else {
                break;
            };
            self.run_func(c, csd.func);
            if csd.func != IpiFunc::Resched {
                touch!(self, c, Line::CsdLock(csd.from as u32), Access::Rmw);
            }
            // Release: csd_unlock; pairs with the Acquire in csd_lock_wait.
            csd.pending.fetch_sub(1, Release);
        }
        // Leaving the interrupt: no nested delivery point (irq_exit).
        self.cpu(c.id()).irq_depth.fetch_sub(1, Relaxed);
    }

    fn run_func(&self, c: &dyn Cpu, f: IpiFunc) {
        match f {
            IpiFunc::ShootLazy(mm) => self.do_shoot_lazy_tlb(c, mm),
            IpiFunc::CheckLazy(mm) => self.do_check_lazy_tlb(c, mm),
            IpiFunc::FlushTlb {
                mm,
                exit,
                new_tlb_gen,
                ..
            } => self.flush_tlb_func(c, mm, new_tlb_gen, exit),
            IpiFunc::PpcExitLazyFlush(mm) => self.exit_lazy_flush_tlb(c, mm),
            IpiFunc::MembarrierMb => self.smp_mb_path(c),
            IpiFunc::Resched => {}
        }
    }
}

#[cfg(test)]
mod kick_class_tests {
    use super::{IpiClass, IpiFunc};
    use crate::ids::{CpuId, CpuSet};
    use crate::kernel::BootCpu;
    use crate::machine::{Cpu, Trace};
    use crate::{Arch, ArchId, Config, Kernel, Knobs, SchemeId};
    use std::cell::RefCell;

    /// CPU 0, noting the class its trace gives each kick; its spins run CPU 1's interrupt.
    #[derive(Default)]
    struct Rec {
        trace: Trace,
        kicks: RefCell<Vec<(CpuId, Option<IpiClass>)>>,
    }

    impl Cpu for Rec {
        fn id(&self) -> CpuId {
            0
        }
        fn point(&self, _: &Kernel, _: &'static str) {}
        fn wait(&self, k: &Kernel, _: &'static str) {
            k.irq_entry(&BootCpu::new(1));
        }
        fn kick(&self, target: CpuId) {
            self.kicks
                .borrow_mut()
                .push((target, self.trace.kick_class()));
        }
        fn now(&self) -> u64 {
            0
        }
        fn trace(&self) -> &Trace {
            &self.trace
        }
    }

    #[test]
    fn every_kick_carries_its_class_and_only_during_the_kick() {
        let arch = Arch::profile(ArchId::X86);
        let cfg = Config {
            ncpus: 2,
            knobs: Knobs::mainline(arch.id),
            arch,
            max_mms: 8,
            max_tasks: 8,
            label: "kick-class".into(),
            topo: Default::default(),
        };
        let k = Kernel::boot(cfg, SchemeId::Refcount.build());
        let c = Rec::default();
        let mut one = CpuSet::with_cpus(2);
        one.insert(1);
        k.smp_send_reschedule(&c, 1);
        assert_eq!(c.trace.kick_class(), None);
        for class in [IpiClass::Membarrier, IpiClass::Lazy, IpiClass::Flush] {
            k.smp_call_function_many(&c, &one, IpiFunc::MembarrierMb, class);
            assert_eq!(c.trace.kick_class(), None);
        }
        assert_eq!(
            *c.kicks.borrow(),
            [
                (1, Some(IpiClass::Resched)),
                (1, Some(IpiClass::Membarrier)),
                (1, Some(IpiClass::Lazy)),
                (1, Some(IpiClass::Flush)),
            ]
        );
    }
}
