//! Temporary mms: `text_poke`'s `use_temporary_mm(poking_mm)` and EFI runtime calls
//! (spec §4.2, scenarios 14–15).
//!
//! ```text
//!  old EFI:   efi_enter_mm: prev = active_mm; active_mm = &efi_mm; switch_mm(prev, efi_mm)
//!             ... EFI call, IRQs on: a shootdown IPI sees active_mm != M and skips ...
//!             efi_leave_mm: active_mm = prev; switch_mm(efi_mm, prev)   ← prev may be freed
//!  mainline:  use_temporary_mm(mm): if (is_lazy) leave_mm(); prev = loaded_mm;
//!             switch_mm(NULL, mm) ... unuse: switch_mm(NULL, prev)   (EFI too, e7021e2fe0b4)
//!  H (x86):   use_temporary_mm unlazies first (A18/A22) instead of leave_mm()
//!  ppc radix: start_using_temp_mm: switch_mm_irqs_off(active_mm, mm) and back, nothing
//!             else (since the v6.2 cycle, from memory; v5.16 switched no mm, `Knobs::ppc_text_poke_temp_mm`)
//! ```

use crate::arch::{ArchId, TempMm};
use crate::ids::MmRef;
use crate::machine::Cpu;
use crate::Kernel;

impl Kernel {
    /// `use_temporary_mm(mm)`; returns the mm to restore.
    pub fn use_temporary_mm(&self, c: &dyn Cpu, mm: MmRef) -> MmRef {
        let _t = c.trace().enter("use_temporary_mm");
        let cpu = c.id();
        let cur = self.task(self.curr(cpu));
        match self.cfg.knobs.temp_mm {
            // Andy's patches 18/22 change x86's use_temporary_mm only; powerpc's
            // start_using_temp_mm just switches (its mask is sticky).
            TempMm::Unlazy
                if self.cfg.arch.id == ArchId::X86
                    && cur.mm().is_null()
                    && cur.active_mm() != self.init_mm =>
            {
                // "once we switch mms, for_each_possible_lazymm_cpu() will no longer report
                // this CPU, so a lazymm pin wouldn't work" [A22].
                self.unlazy_mm_irqs_off(c);
            }
            TempMm::LeaveMm if self.cpu(cpu).is_lazy() => {
                // Mainline: "Make sure not to be in TLB lazy mode, as otherwise we'll end up
                // with a stale address space WITHOUT being in lazy mode after restoring the
                // previous mm": if (is_lazy) leave_mm().
                let loaded = self.cpu(cpu).loaded_mm();
                self.leave_mm(c, loaded);
            }
            _ => {}
        }
        let prev = self.cpu(cpu).loaded_mm();
        self.switch_mm_irqs_off(c, prev, mm);
        prev
    }

    /// `unuse_temporary_mm(prev)`.
    pub fn unuse_temporary_mm(&self, c: &dyn Cpu, mm: MmRef, prev: MmRef) {
        let _t = c.trace().enter("unuse_temporary_mm");
        self.switch_mm_irqs_off(c, mm, prev);
    }

    /// `text_poke()`: IRQs off around the temporary mm. Returns false where patching text
    /// switches no mm: arm64 (fixmap), ppc hash, and ppc radix before its temporary mm
    /// (`Knobs::ppc_text_poke_temp_mm`: about v6.2).
    pub fn text_poke(&self, c: &dyn Cpu) -> bool {
        let arch = self.cfg.arch.id;
        if !(arch == ArchId::X86
            || arch == ArchId::PpcRadix && self.cfg.knobs.ppc_text_poke_temp_mm)
        {
            return false;
        }
        let _t = c.trace().enter("text_poke");
        self.local_irq_disable(c);
        let prev = self.use_temporary_mm(c, self.poking_mm);
        c.point(self, "text_poke:poking");
        self.unuse_temporary_mm(c, self.poking_mm, prev);
        self.local_irq_enable(c);
        true
    }

    /// An EFI runtime call on this CPU (IRQs on, preemption off). Returns false on powerpc,
    /// which has no EFI runtime services (OPAL/RTAS calls do not switch mms). arm64's
    /// `efi_virtmap_load` switches to efi_mm without touching `active_mm`: the temporary-mm
    /// shape.
    pub fn efi_call(&self, c: &dyn Cpu) -> bool {
        if matches!(self.cfg.arch.id, ArchId::PpcRadix | ArchId::PpcHash) {
            return false;
        }
        let _t = c.trace().enter("efi_call_virt");
        let cpu = c.id();
        if self.cfg.arch.id == ArchId::Arm64 {
            // arm64 efi_virtmap_load(): efi_set_pgd(&efi_mm) with active_mm untouched, and
            // efi_virtmap_unload(): efi_set_pgd(current->active_mm) — whatever it is by then.
            let cur = self.task(self.curr(cpu));
            self.local_irq_disable(c);
            let prev = self.cpu(cpu).loaded_mm();
            self.switch_mm_irqs_off(c, prev, self.efi_mm);
            self.local_irq_enable(c);
            c.point(self, "efi_call:firmware");
            c.point(self, "efi_call:firmware_return");
            self.local_irq_disable(c);
            self.switch_mm_irqs_off(c, self.efi_mm, cur.active_mm());
            self.local_irq_enable(c);
        } else if self.cfg.knobs.efi_temp_mm {
            self.local_irq_disable(c);
            let prev = self.use_temporary_mm(c, self.efi_mm);
            self.local_irq_enable(c);
            c.point(self, "efi_call:firmware");
            c.point(self, "efi_call:firmware_return");
            self.local_irq_disable(c);
            self.unuse_temporary_mm(c, self.efi_mm, prev);
            self.local_irq_enable(c);
        } else {
            let cur = self.task(self.curr(cpu));
            let prev = {
                let _t = c.trace().enter("efi_enter_mm");
                let prev = cur.active_mm();
                cur.set_active_mm(self.efi_mm);
                self.local_irq_disable(c);
                self.switch_mm_irqs_off(c, prev, self.efi_mm);
                self.local_irq_enable(c);
                prev
            };
            c.point(self, "efi_call:firmware");
            c.point(self, "efi_call:firmware_return");
            let _t = c.trace().enter("efi_leave_mm");
            cur.set_active_mm(prev);
            self.local_irq_disable(c);
            self.switch_mm_irqs_off(c, self.efi_mm, prev);
            self.local_irq_enable(c);
        }
        true
    }
}
