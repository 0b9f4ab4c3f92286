//! `mm_cpumask(mm)` (spec §1.1, §1.4): the mask policy in force, and the bit operations with
//! the orderings each arch gives them.

use crate::arch::MaskPolicy;
use crate::ids::{CpuId, CpuSet, MmRef};
use crate::machine::{Access, Cpu, Line};
use crate::sync::atomic::Ordering::*;
use crate::Kernel;

impl Kernel {
    /// The mask policy in force (profile, possibly overridden by a knob).
    pub fn mask_policy(&self) -> MaskPolicy {
        match self.cfg.arch.mask {
            MaskPolicy::X86Lazy | MaskPolicy::X86ClearOnSwitch => self.cfg.knobs.x86_mask,
            p => p,
        }
    }

    /// Snapshot of `mm_cpumask(mm)`, read by `c` (one load per cache line of the mask).
    pub fn mm_cpumask(&self, c: &dyn Cpu, mm: MmRef) -> CpuSet {
        for l in 0..self.cfg.ncpus.div_ceil(512) {
            touch!(
                self,
                c,
                Line::MmMask(mm.idx() as u32, l as u32),
                Access::Load
            );
        }
        self.mm_cpumask_snapshot(mm)
    }

    /// Snapshot of `mm_cpumask(mm)` for inspection (oracle, tests): no access is reported.
    pub fn mm_cpumask_snapshot(&self, mm: MmRef) -> CpuSet {
        let mut s = CpuSet::with_cpus(self.cfg.ncpus);
        for (i, w) in self.slot(mm).mask.iter().enumerate() {
            // A racy snapshot, as cpumask iteration in the kernel: Relaxed, the ordering that
            // makes it sufficient being each scheme's (see shootdown.rs "Why the read is
            // stable") — except on x86, where every load is an acquire (TSO) and H-x86's scan
            // relies on it to pair with the lock-prefixed clear of `mask_clear`.
            let v = w.load(self.mask_load_order());
            for b in 0..64 {
                if v & (1 << b) != 0 && i * 64 + b < self.cfg.ncpus {
                    s.insert(i * 64 + b);
                }
            }
        }
        s
    }

    /// The ordering of a `mm_cpumask` bitop: `set_bit`/`clear_bit` are unordered in the LKMM
    /// (Relaxed), but on x86 they are `lock`-prefixed, i.e. full barriers (AcqRel here).
    fn mask_rmw_order(&self) -> crate::sync::atomic::Ordering {
        if self.cfg.arch.loaded_mm_separate {
            AcqRel
        } else {
            Relaxed
        }
    }

    /// The ordering of a `mm_cpumask` read: plain (Relaxed), an acquire on x86 (TSO).
    fn mask_load_order(&self) -> crate::sync::atomic::Ordering {
        if self.cfg.arch.loaded_mm_separate {
            Acquire
        } else {
            Relaxed
        }
    }

    /// The cache line of `mm_cpumask(mm)` that holds `cpu`'s bit.
    fn mask_line(mm: MmRef, cpu: CpuId) -> Line {
        Line::MmMask(mm.idx() as u32, (cpu / 512) as u32)
    }

    /// `cpumask_set_cpu(cpu, mm_cpumask(mm))` by `c`.
    pub fn mask_set(&self, c: &dyn Cpu, mm: MmRef, cpu: CpuId) {
        if self.mask_policy() == MaskPolicy::None {
            return;
        }
        touch!(self, c, Self::mask_line(mm, cpu), Access::Rmw);
        // Relaxed (x86: AcqRel, a lock-prefixed bitop; see mask_rmw_order).
        self.slot(mm).mask[cpu / 64].fetch_or(1 << (cpu % 64), self.mask_rmw_order());
        if self.cfg.arch.loaded_mm_separate {
            // The lock prefix is a full barrier, and x86 switch_mm_irqs_off relies on it
            // between setting the bit and reading tlb_gen (§4.9; where it skips the RMW,
            // 83b0177a6c48's explicit smp_mb, counted). SeqCst fence: C11's AcqRel RMW does
            // not order the later Relaxed tlb_gen load. Pairs with the fence after
            // tlb_finish_mmu's inc_mm_tlb_gen (store buffering: the flusher sees the bit and
            // IPIs us, or we see its generation and flush ourselves).
            crate::sync::mb();
        }
    }

    /// `cpumask_clear_cpu(cpu, mm_cpumask(mm))` by `c`.
    pub fn mask_clear(&self, c: &dyn Cpu, mm: MmRef, cpu: CpuId) {
        touch!(self, c, Self::mask_line(mm, cpu), Access::Rmw);
        // Relaxed, x86 AcqRel (see mask_rmw_order). On x86 the release half pairs with the
        // acquire (TSO) loads of `mm_cpumask`: H-x86's scan that finds the bit clear also sees
        // the switch away from the mm — if the switch preceded the clear
        // (`Knobs::x86_clear_after_cr3`; v5.16 clears first: scenario #29).
        self.slot(mm).mask[cpu / 64].fetch_and(!(1 << (cpu % 64)), self.mask_rmw_order());
    }

    /// Whether `cpu` is in `mm_cpumask(mm)` (`cpumask_test_cpu` by `c`).
    pub fn mask_test(&self, c: &dyn Cpu, mm: MmRef, cpu: CpuId) -> bool {
        touch!(self, c, Self::mask_line(mm, cpu), Access::Load);
        self.in_mm_cpumask(mm, cpu)
    }

    /// Whether `cpu` is in `mm_cpumask(mm)`, for inspection (no access reported).
    pub fn in_mm_cpumask(&self, mm: MmRef, cpu: CpuId) -> bool {
        // Relaxed (x86: Acquire, TSO): see mask_load_order.
        self.slot(mm).mask[cpu / 64].load(self.mask_load_order()) & (1 << (cpu % 64)) != 0
    }
}
