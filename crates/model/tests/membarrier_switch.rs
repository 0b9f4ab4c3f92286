//! What gives membarrier its full barrier when a switch changes `rq->curr`'s mm, per arch
//! (`Arch::membarrier_switch`; 6.12 `__schedule`'s comment: "mm ? switch_mm() : mmdrop() for
//! x86 … switch_mm() relies on membarrier_arch_switch_mm() on PowerPC … switch_to() for
//! arm64"). `switch_mm_irqs_off` alone, on one CPU, with the membarrier obligation set as
//! `context_switch` sets it after its `rq->curr` store.

mod common;

use common::Rec;
use lazymm_model::machine::{Access, Line};
use lazymm_model::{ArchId, Kernel, Knobs, MmRef};

fn boot(arch: ArchId) -> Kernel {
    common::boot(arch, Knobs::mainline(arch), "membarrier-switch")
}

/// One switch of CPU 0 from `prev` to `next` after a `rq->curr` store that changed the mm:
/// (path barriers counted, loads of `next`'s `mm_users` line, obligation left).
fn switch(k: &Kernel, c: &Rec, prev: MmRef, next: MmRef) -> (u64, usize, bool) {
    let before = k.counters.snapshot().path_barriers;
    c.take(|_| false);
    k.cpu(0).set_mb_pending(true);
    k.switch_mm_irqs_off(c, prev, next);
    let loads = (c.take(|l| l == Line::MmUsers(next.idx() as u32)).iter())
        .filter(|(_, a)| *a == Access::Load)
        .count();
    (
        k.counters.snapshot().path_barriers - before,
        loads,
        k.cpu(0).mb_pending(),
    )
}

/// powerpc: the PID write is no barrier. A first switch to an mm on this CPU sets its
/// `mm_cpumask` bit and issues `smp_mb()` (new_on_cpu); a later one calls
/// `membarrier_arch_switch_mm()`, which reads `next->membarrier_state` and issues `smp_mb()`
/// only if `next` is registered.
#[test]
fn ppc_membarrier_arch_switch_mm_barriers_only_registered_mms() {
    for arch in [ArchId::PpcRadix, ArchId::PpcHash] {
        let k = boot(arch);
        let c = Rec::default();
        let (x, _) = k.create_process(1).expect("room");
        let (y, _) = k.create_process(1).expect("room");
        k.membarrier_register(y);
        let init = k.init_mm;
        // init_mm → X, X → Y: new on this CPU, the mask path's smp_mb (no state read).
        assert_eq!(switch(&k, &c, init, x), (1, 0, false), "{arch:?}");
        assert_eq!(switch(&k, &c, x, y), (1, 0, false), "{arch:?}");
        // Y → X: X is not registered: one read, no barrier, the obligation stays.
        assert_eq!(switch(&k, &c, y, x), (0, 1, true), "{arch:?}");
        // X → Y: Y is registered: one read and smp_mb().
        assert_eq!(switch(&k, &c, x, y), (1, 1, false), "{arch:?}");
    }
}

/// x86: the CR3 write is serialising and discharges the obligation; no barrier instruction,
/// no read of the membarrier state. arm64: the TTBR write is no barrier; `__switch_to()`'s
/// `dsb(ish)` comes later, in `context_switch` (counted there: scenario #25).
#[test]
fn x86_cr3_write_discharges_membarrier_and_arm64_switch_mm_does_not() {
    let k = boot(ArchId::X86);
    let c = Rec::default();
    let (x, _) = k.create_process(1).expect("room");
    k.membarrier_register(x);
    assert_eq!(switch(&k, &c, k.init_mm, x), (0, 0, false));
    let k = boot(ArchId::Arm64);
    let (x, _) = k.create_process(1).expect("room");
    k.membarrier_register(x);
    assert_eq!(switch(&k, &c, k.init_mm, x), (0, 0, true));
}
