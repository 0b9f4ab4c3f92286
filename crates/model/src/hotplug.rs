//! CPU hotplug (spec §2.8, §4.7, scenarios 16–17).
//!
//! ```text
//!  dying CPU (AP states)                              control CPU
//!  \[Mainline2024\] sched_cpu_wait_empty → sched_force_init_mm (GRAB init_mm, switch, DROP mm)
//!  __cpu_disable: offline; ppc clears the CPU from every mm_cpumask
//!  ----- window: Legacy / AsPostedDoIdle still run on the lazy mm, out of the online mask
//!        (and, on ppc, out of every mask) -----
//!  [Legacy] idle_task_exit: switch to init_mm (active_mm left for finish_cpu)
//!  [AsPostedDoIdle] do_idle: cpu_is_offline → unlazy_mm_irqs_off (A12)
//!  cpuhp_report_idle_dead                              finish_cpu: idle->active_mm = NULL;
//!                                                               DROP(mm) (not in A12)
//!  ... later, CPU online: idle->active_mm = &init_mm; GRAB(&init_mm)
//! ```

use crate::arch::{ArchId, HotplugOrder};
use crate::ids::{CpuId, MmRef};
use crate::machine::Cpu;
use crate::scheme::Site;
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

impl Kernel {
    /// `sched_force_init_mm()` (HP-2024), from `sched_cpu_wait_empty()` on the dying CPU:
    /// ```c
    /// if (mm != &init_mm) {
    ///         mmgrab_lazy_tlb(&init_mm);
    ///         local_irq_disable();
    ///         current->active_mm = &init_mm;
    ///         switch_mm_irqs_off(mm, &init_mm, current);
    ///         local_irq_enable();
    ///         finish_arch_post_lock_switch();
    ///         mmdrop_lazy_tlb(mm);
    /// }
    /// ```
    /// The grab and the drop run with IRQs on (on PREEMPT_RT a final `__mmdrop` is allowed
    /// there). `finish_arch_post_lock_switch()` does nothing on the modelled arches. In the
    /// kernel this runs in the dying CPU's cpuhp thread; the model runs it in the idle task,
    /// which holds the same lazy reference (kernel → kernel switches pass it along). A
    /// scheme with its own unlazy (H) calls it under `local_irq_disable()` instead.
    fn sched_force_init_mm(&self, c: &dyn Cpu) {
        let _t = c.trace().enter("sched_force_init_mm");
        if self.scheme.own_unlazy() {
            self.local_irq_disable(c);
            self.unlazy_mm_irqs_off(c);
            self.local_irq_enable(c);
            return;
        }
        let cur = self.task(self.curr(c.id()));
        let mm = cur.active_mm();
        if mm == self.init_mm {
            return;
        }
        self.scheme
            .mmgrab_lazy_tlb(self, c, self.init_mm, Site::Unlazy);
        self.local_irq_disable(c);
        cur.set_active_mm(self.init_mm);
        self.switch_mm_irqs_off(c, mm, self.init_mm);
        self.local_irq_enable(c);
        self.scheme.mmdrop_lazy_tlb(self, c, mm, Site::Unlazy);
    }

    /// The dying CPU's side of `cpu_down`. The current task must be the idle task. Returns
    /// once the CPU is back online.
    /// With `self_online`, the control CPU's `finish_cpu` and online are run right after
    /// the CPU died, on its behalf (the attribution of those two steps is the only departure).
    pub fn cpu_offline_ap(&self, c: &dyn Cpu, self_online: bool) -> bool {
        let cpu = c.id();
        if self.curr(cpu) != self.cpu(cpu).idle {
            return false;
        }
        let online_cpus = (0..self.ncpus()).filter(|&x| self.cpu_online(x)).count();
        if online_cpus <= 1 {
            return false;
        }
        let _t = c.trace().enter("cpu_offline");
        let order = self.cfg.knobs.hotplug;
        if order == HotplugOrder::Mainline2024 {
            self.sched_force_init_mm(c);
        }
        self.local_irq_disable(c);
        {
            let _t = c.trace().enter("__cpu_disable");
            // Release: pairs with the Acquire in cpu_online(): senders that see us offline
            // skip us; those that saw us online already queued work we still run below.
            self.cpu(cpu).online.store(false, Release);
            if self.cfg.arch.hotplug_clears_masks {
                // cleanup_cpu_mmu_context(): clear from all mm_cpumasks.
                for mm in self.live_mms() {
                    self.mask_clear(c, mm, cpu);
                }
            }
        }
        // Still executing (stop_machine, IRQs off) on whatever the MMU has loaded.
        c.point(self, "cpu_offline:after_cpu_disable");
        // Drain calls queued before we went offline (flush_smp_call_function_queue).
        // Relaxed: CPU-local IRQ state (see local_irq_disable); open a window for the drain.
        self.cpu(cpu).irq_depth.fetch_sub(1, Relaxed);
        if self.ipi_pending(cpu) {
            self.irq_entry(c);
        }
        self.cpu(cpu).irq_depth.fetch_add(1, Relaxed);
        match order {
            HotplugOrder::Legacy => {
                // idle_task_exit(): switch_mm to init_mm, active_mm left for finish_cpu.
                let _t = c.trace().enter("idle_task_exit");
                let loaded = self.cpu(cpu).loaded_mm();
                if loaded != self.init_mm {
                    self.switch_mm_irqs_off(c, loaded, self.init_mm);
                }
            }
            HotplugOrder::AsPostedDoIdle => {
                // do_idle(): if (cpu_is_offline(cpu)) { local_irq_disable();
                // unlazy_mm_irqs_off(); cpuhp_report_idle_dead(); } — after __cpu_disable.
                let _t = c.trace().enter("do_idle");
                self.unlazy_mm_irqs_off(c);
            }
            HotplugOrder::Mainline2024 => {}
        }
        // cpuhp_report_idle_dead(): the CPU is dead; its MMU holds nothing of interest.
        self.cpu(cpu).dead.store(true, Release);
        if self_online {
            let ctl = crate::kernel::BootCpu::new((cpu + 1) % self.ncpus());
            self.finish_cpu(&ctl, cpu);
            self.cpu_online_bp(&ctl, cpu);
        }
        while !self.cpu_online(cpu) {
            c.wait(self, "cpu_dead");
        }
        self.local_irq_enable(c);
        true
    }

    /// `finish_cpu(cpu)` on a control CPU after `cpu` died.
    pub fn finish_cpu(&self, c: &dyn Cpu, cpu: CpuId) -> bool {
        if cpu == c.id() || cpu >= self.ncpus() || !self.cpu(cpu).dead.load(Acquire) {
            return false;
        }
        let _t = c.trace().enter("finish_cpu");
        let idle = self.task(self.cpu(cpu).idle);
        if self.cfg.knobs.hotplug == HotplugOrder::AsPostedDoIdle {
            // A12 removed finish_cpu's drop: the dead CPU unlazied itself in do_idle.
            return true;
        }
        let mm = idle.active_mm();
        idle.set_active_mm(MmRef::NULL);
        if mm.is_null() {
            return true;
        }
        if self.cfg.knobs.hotplug == HotplugOrder::Mainline2024 && mm != self.init_mm {
            self.warn(c, mm, "WARN_ON(mm != &init_mm) in finish_cpu");
        }
        self.scheme.mmdrop_lazy_tlb(self, c, mm, Site::FinishCpu);
        true
    }

    /// Brings a dead CPU back: its idle starts lazily on init_mm (`start_secondary`).
    pub fn cpu_online_bp(&self, c: &dyn Cpu, cpu: CpuId) -> bool {
        if cpu >= self.ncpus() || !self.cpu(cpu).dead.load(Acquire) {
            return false;
        }
        let idle = self.task(self.cpu(cpu).idle);
        let kept = self.cfg.knobs.hotplug == HotplugOrder::AsPostedDoIdle
            && idle.active_mm() == self.init_mm;
        if !idle.active_mm().is_null() && !kept {
            // finish_cpu has not run yet.
            return false;
        }
        let _t = c.trace().enter("cpu_up");
        if !kept {
            idle.set_active_mm(self.init_mm);
            // The secondary's idle takes init_mm (charged to `c`): powerpc's start_secondary
            // uses mmgrab_lazy_tlb(&init_mm) since S's series (Knobs::ppc_online_lazy_grab);
            // x86 cpu_init(), arm64 secondary_start_kernel() and older powerpc a plain
            // mmgrab(&init_mm), which is the same thing under REFCOUNT, and an mm_count RMW
            // (no hazard-pointer publication) otherwise.
            let secondary = crate::kernel::BootCpu::new(cpu);
            let ppc = matches!(self.cfg.arch.id, ArchId::PpcRadix | ArchId::PpcHash);
            if ppc && self.cfg.knobs.ppc_online_lazy_grab {
                self.scheme
                    .mmgrab_lazy_tlb(self, &secondary, self.init_mm, Site::Boot);
            } else {
                self.mmgrab(&secondary, self.init_mm);
            }
        }
        let pc = self.cpu(cpu);
        pc.set_loaded_mm(self.init_mm);
        pc.set_loaded_asid(0);
        pc.set_is_lazy(false);
        // Relaxed: ordered before the Release store of `online` below.
        pc.dead.store(false, Relaxed);
        // Release: pairs with the Acquire wait in cpu_offline_ap.
        pc.online.store(true, Release);
        true
    }
}
