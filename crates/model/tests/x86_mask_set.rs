//! x86 `switch_mm_irqs_off` sets this CPU's bit in `mm_cpumask(next)` when it switches to a
//! different mm. How it does so depends on the era's mask policy, and the simulator prices
//! what the model reports: a load of the mask line costs a transfer of its own when another
//! CPU holds it modified, so a test the kernel does not make is a cost the kernel does not pay.
//!
//! - v5.16–v6.12 (`MaskPolicy::X86ClearOnSwitch`; H's and MD's bases): `if (prev !=
//!   &init_mm) cpumask_clear_cpu(cpu, mm_cpumask(prev))`, then `if (next != &init_mm)
//!   cpumask_set_cpu(cpu, mm_cpumask(next))` — one locked RMW each, no load (6.12
//!   arch/x86/mm/tlb.c:622–630; the `VM_WARN_ON_ONCE(!cpumask_test_cpu(...))` before the
//!   clear is compiled out without `CONFIG_DEBUG_VM`).
//! - Mainline (Rik van Riel's lazy mask, `MaskPolicy::X86Lazy`): `if (next != &init_mm &&
//!   !cpumask_test_cpu(cpu, mm_cpumask(next))) cpumask_set_cpu(...)`; the bit stays set
//!   when the CPU switches away, so coming back is a load and no RMW.

mod common;

use common::{boot, Rec};
use lazymm_model::machine::{Access, Line};
use lazymm_model::{ArchId, Knobs, MmRef};

/// The accesses to `mm`'s mask lines since the last call.
fn mask_accesses(c: &Rec, mm: MmRef) -> Vec<Access> {
    let slot = mm.idx() as u32;
    (c.take(|l| matches!(l, Line::MmMask(n, _) if n == slot))
        .into_iter())
    .map(|(_, a)| a)
    .collect()
}

/// Switches CPU 0 init_mm → X → init_mm → X under `knobs` and returns the accesses to X's
/// mask lines at each of the three switches.
fn switches(knobs: Knobs) -> [Vec<Access>; 3] {
    let k = boot(ArchId::X86, knobs, "x86-mask-set");
    let (x, _) = k.create_process(1).expect("room for one process");
    let c = Rec::default();
    let init = k.init_mm;
    k.switch_mm_irqs_off(&c, init, x);
    let to_x = mask_accesses(&c, x);
    k.switch_mm_irqs_off(&c, x, init);
    let away = mask_accesses(&c, x);
    k.switch_mm_irqs_off(&c, init, x);
    let back = mask_accesses(&c, x);
    [to_x, away, back]
}

#[test]
fn x86_v5_16_to_v6_12_sets_and_clears_mm_cpumask_without_testing_first() {
    let arch = ArchId::X86;
    for knobs in [
        Knobs::hazard_as_posted(arch),
        Knobs::hazard_md_as_posted(arch),
    ] {
        let [to_x, away, back] = switches(knobs);
        assert_eq!(to_x, [Access::Rmw], "cpumask_set_cpu only");
        assert_eq!(away, [Access::Rmw], "cpumask_clear_cpu(prev) only");
        assert_eq!(back, [Access::Rmw], "cpumask_set_cpu only");
    }
}

#[test]
fn x86_mainline_tests_the_lazy_mask_bit_before_setting_it() {
    let [to_x, away, back] = switches(Knobs::mainline(ArchId::X86));
    assert_eq!(to_x, [Access::Load, Access::Rmw], "test, then set");
    assert_eq!(away, [], "the lazy mask keeps the bit");
    assert_eq!(back, [Access::Load], "the bit is still set: no RMW");
}
