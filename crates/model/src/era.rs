//! Eras and named variants: every row of every table runs one of these, and says which.
//!
//! A scheme is never run on an invented mixture of kernels. Each [`Variant`] names its
//! [`Era`] — today's **mainline**, or a series **as posted** on the kernel it was posted
//! against — and builds the era's [`Knobs`] for an arch. Where the as-posted code is unsafe,
//! the fix is a separately named variant ("+fixes"), and the catalogue shows the as-posted
//! row's finding next to the fixed row.
//!
//! | variant | era | base kernel | what differs from mainline's common paths |
//! |---|---|---|---|
//! | `refcount`, `shootdown`, `shootdown-ppc` | mainline | v6.18 | — |
//! | `mmput-flush` | mainline | v6.18 (L was never posted) | L's own exit flush and flush unlazy |
//! | `hazard`, `hazard-x86` | as-posted | v5.16 + Andy's 23 patches | no mm_cid (v6.4); `flush_tlb_func` without the `new_tlb_gen` shortcut (2022); patch 10 NMI, 12 hotplug in `do_idle`, 14 exec switch with IRQs off, 15 no kthread ref, 18–22 x86 unlazy; v5.16 mask cleared on switch-out, before the CR3 write |
//! | `hazard+fixes`, `hazard-x86+fixes` | as-posted + fixes | same | `exit_mm`'s grab publishes `lazy_mm` (as posted it is a real `mmgrab` nothing releases); `kthread_use_mm` enforces `mmget_not_zero`; 2024 hotplug order; `mmdrop_sched` for `drop_mm` on RT; H-x86 only: the mask bit cleared at the end of `switch_mm_irqs_off` (after the CR3 write and `switch_ldt`) |
//! | `hazard-md` | as-posted | v6.11.1 + Mathieu's RFC v2 | v6.11 hotplug (`finish_cpu` drop on the control CPU), init_mm published, old EFI, pre-patch-10 NMI reader, mask cleared on switch-out, before the CR3 write |
//! | `hazard-md+fixes` | as-posted + fixes | same | 2024 hotplug order; init_mm never published or cleared; EFI via temporary mm (e7021e2fe0b4) |
//!
//! `shootdown` on ppc radix is generic S, which mainline radix has not run since v6.6: it
//! folds the shootdown into its exit flush (e43c0a0c3c28), which is `shootdown-ppc`. The
//! row stays (it shows what the fold saves) and tables mark it ([`Variant::superseded`]).

use crate::arch::{ArchId, HotplugOrder, Knobs, LazyFlush, MaskPolicy, TempMm};
use crate::scheme::{KthreadRef, Scheme, SchemeId};
use crate::schemes::{hazard::Hazard, hazard_md::HazardMd, hazard_x86::hazard_x86};
use serde::Serialize;

/// Which kernel a row runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Era {
    /// Mainline, pinned at v6.18: the last release with the v6.4 mm_cid barriers
    /// (`Knobs::mm_cid`; Thomas Gleixner's mm_cid rewrite was queued for v6.19,
    /// kernel-2023-2026.md, and the model does not follow it). It has Rik's lazy `mm_cpumask` with once-a-second trimming, EFI
    /// through the temporary-mm machinery, the 2024 hotplug order, x86
    /// `ARCH_WANT_IRQS_OFF_ACTIVATE_MM`, x86 `use_temporary_mm` and cpuidle `leave_mm()`.
    Mainline,
    /// A series as posted, on the kernel it was posted against.
    AsPosted,
}

impl Era {
    /// Table / JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Era::Mainline => "mainline",
            Era::AsPosted => "as-posted",
        }
    }
}

/// `jiffies` per second used for the mask trim interval (`HZ`, a common x86 config).
pub const HZ: u64 = 1000;

impl Knobs {
    /// Today's mainline on `arch`.
    pub fn mainline(arch: ArchId) -> Knobs {
        Knobs {
            nmi_uses_mm: true,
            efi_temp_mm: true,
            temp_mm: TempMm::LeaveMm,
            ppc_text_poke_temp_mm: true,
            hotplug: HotplugOrder::Mainline2024,
            exec_mb_after_spinlock: false,
            exec_irqs_off: true,
            // x86 since 2025, powerpc since 2020; arm64 does not select it.
            irqs_off_activate_mm: matches!(arch, ArchId::X86 | ArchId::PpcRadix | ArchId::PpcHash),
            mm_cid: true,
            ppc_online_lazy_grab: true,
            x86_mask: MaskPolicy::X86Lazy,
            x86_clear_after_cr3: false,
            x86_flush_skips_covered_gen: true,
            x86_lazy_flush: LazyFlush::LeaveMm,
            x86_leave_mm_in_idle: true,
            trim_interval: Some(HZ),
            pv_flush_skips: Vec::new(),
            broadcast_flush: false,
            invlpgb: false,
            preempt_rt: false,
            lru_gen_walks_mmu: false,
            mmdrop_unordered: false,
            ttwu_on_cpu_relaxed: false,
            kthread_unuse_put_first: false,
        }
    }

    /// Andy Lutomirski's 23-patch series as posted (8-Jan-2022, on v5.16) on `arch`.
    pub fn hazard_as_posted(arch: ArchId) -> Knobs {
        Knobs {
            // Patch 10 removes the active_mm readers; patch 19 routes EFI through
            // use_temporary_mm, which patches 18/20/22 make unlazy first.
            nmi_uses_mm: true,
            efi_temp_mm: true,
            temp_mm: TempMm::Unlazy,
            // v5.16 powerpc patched text through a vmalloc'd area, not a temporary mm.
            ppc_text_poke_temp_mm: false,
            hotplug: HotplugOrder::AsPostedDoIdle,
            // Patch 09: smp_mb__after_spinlock() before exec's switch, not smp_mb().
            exec_mb_after_spinlock: true,
            exec_irqs_off: true,
            // Patch 14's __change_current_mm (exec's switch, and kthread_use_mm's) runs the
            // whole switch under local_irq_disable(), as kthread_use_mm always did, whatever
            // the arch selects — so no flush IPI lands between tsk->mm = mm and the switch
            // (which patch 21's unlazy would WARN on).
            irqs_off_activate_mm: true,
            // mm_cid came in v6.3, its switch/exec/exit barriers in v6.4 (223baf9d17f2).
            mm_cid: false,
            // The lazy-tlb helpers came with S's series (v6.3 cycle).
            ppc_online_lazy_grab: false,
            // v5.16 cleared a CPU's bit when it switched its loaded mm away.
            x86_mask: MaskPolicy::X86ClearOnSwitch,
            // aa44284960d5 (2022) came after v5.16.
            x86_flush_skips_covered_gen: false,
            // Patch 21: flush IPIs unlazy through the scheduler; patch 20: no leave_mm().
            x86_lazy_flush: LazyFlush::Unlazy,
            x86_leave_mm_in_idle: false,
            trim_interval: None,
            ..Knobs::mainline(arch)
        }
    }

    /// Mathieu Desnoyers' RFC v2 as posted (Oct-2024), on its base v6.11.1, on `arch`.
    pub fn hazard_md_as_posted(arch: ArchId) -> Knobs {
        Knobs {
            nmi_uses_mm: false,
            efi_temp_mm: false,
            temp_mm: TempMm::LeaveMm,
            hotplug: HotplugOrder::Legacy,
            irqs_off_activate_mm: matches!(arch, ArchId::PpcRadix | ArchId::PpcHash),
            x86_mask: MaskPolicy::X86ClearOnSwitch,
            trim_interval: None,
            ..Knobs::mainline(arch)
        }
    }
}

/// A named scheme variant: the scheme, its era, and how to build both.
#[derive(Clone, Copy)]
pub struct Variant {
    /// Row name ("hazard", "hazard+fixes", …).
    pub name: &'static str,
    /// Which scheme.
    pub scheme: SchemeId,
    /// Which era.
    pub era: Era,
    /// The kernel the era's common paths come from.
    pub base: &'static str,
    /// Whether that kernel has MGLRU (`CONFIG_LRU_GEN`, v6.1): not v5.16, H's base.
    pub mglru: bool,
    /// Whether that kernel gives x86 mms global ASIDs for AMD INVLPGB (v6.15,
    /// `crate::global_asid`): mainline only; v5.16 and v6.11.1 flush by IPI on such a machine.
    pub invlpgb: bool,
    /// Whether this variant is expected to be clean (every variant except an as-posted one
    /// whose findings the catalogue lists), on every feasible arch but `unported`.
    pub clean: bool,
    /// Arches where the scheme runs but was never ported by the era's kernel, so the
    /// catalogue shows what breaks (S on x86: mainline x86 never selected
    /// MMU_LAZY_TLB_SHOOTDOWN, and its `leave_mm` paths leave a stale `active_mm`, §4.4).
    pub unported: &'static [ArchId],
    /// Why the era's kernel does not run the scheme on the `unported` arches, in a few
    /// words for a table's footnote ("mainline never enabled it"); empty if none.
    pub unported_why: &'static str,
    /// Arches where the era's kernel runs the scheme through an arch hook that another
    /// variant models, so this row is safe there but is not the era's kernel: with why, in
    /// a few words for a table's footnote. Generic S on ppc radix: mainline radix folds the
    /// shootdown into its exit flush (e43c0a0c3c28), which is `shootdown-ppc`.
    pub superseded: &'static [(ArchId, &'static str)],
    build: fn() -> Box<dyn Scheme>,
    knobs: fn(ArchId) -> Knobs,
}

impl Variant {
    /// Whether the variant is expected to be clean on `arch` (exploration and torture run
    /// exactly these).
    pub fn clean_on(&self, arch: ArchId) -> bool {
        self.clean && !self.unported.contains(&arch)
    }

    /// Why this variant's row on `arch` is not what the era's kernel runs there, if so
    /// ([`Variant::superseded`]).
    pub fn superseded_on(&self, arch: ArchId) -> Option<&'static str> {
        self.superseded
            .iter()
            .find(|(a, _)| *a == arch)
            .map(|(_, why)| *why)
    }

    /// A fresh scheme instance.
    pub fn build(&self) -> Box<dyn Scheme> {
        (self.build)()
    }
    /// The era's knobs on `arch`.
    pub fn knobs(&self, arch: ArchId) -> Knobs {
        (self.knobs)(arch)
    }
}

fn hazard_fixed() -> Box<dyn Scheme> {
    Box::new(Hazard {
        kthread_ref: KthreadRef::MmUsers,
        exit_mm_grabs: false,
        rt_mmdrop_sched: true,
        ..Hazard::default()
    })
}
fn hazard_x86_fixed() -> Box<dyn Scheme> {
    Box::new(Hazard {
        kthread_ref: KthreadRef::MmUsers,
        exit_mm_grabs: false,
        rt_mmdrop_sched: true,
        ..hazard_x86()
    })
}
fn hazard_fixed_knobs(arch: ArchId) -> Knobs {
    Knobs {
        hotplug: HotplugOrder::Mainline2024,
        ..Knobs::hazard_as_posted(arch)
    }
}
/// Patch 22 frees by `mm_cpumask` alone, so a CPU must leave the mask only once its MMU has
/// left the mm: v5.16's `switch_mm_irqs_off` clears the bit before its CR3 write, and a last
/// `__mmput` in between frees the pgd that CR3 still points at (and the mm_struct that
/// `switch_ldt` reads after the CR3 write). The fix moves the `cpumask_clear_cpu` to the end
/// of `switch_mm_irqs_off`, after `load_new_mm_cr3` and `switch_ldt` (a flusher that still
/// sees the bit may send one IPI too many; `flush_tlb_func` finds `loaded_mm != mm` and
/// returns).
fn hazard_x86_fixed_knobs(arch: ArchId) -> Knobs {
    Knobs {
        x86_clear_after_cr3: true,
        ..hazard_fixed_knobs(arch)
    }
}
/// L on mainline: Linus's rule 2 ("that TLB flush must make sure that no lazy users exist")
/// needs every x86 path that moves `loaded_mm` behind the scheduler's back to unlazy
/// instead — flush IPIs, cpuidle, temporary mms (what Andy's patches 18/20/21 do, and what
/// Linus took for granted: "That code already clears the lazy status"). Without them a
/// `leave_mm()`'d CPU keeps a stale `active_mm`, and a later flush trims it from the mask,
/// out of reach of the exit flush. L was never posted: these are part of its definition.
fn mmput_flush_knobs(arch: ArchId) -> Knobs {
    Knobs {
        x86_lazy_flush: LazyFlush::Unlazy,
        x86_leave_mm_in_idle: false,
        temp_mm: TempMm::Unlazy,
        ..Knobs::mainline(arch)
    }
}

fn md_fixed() -> Box<dyn Scheme> {
    Box::new(HazardMd::fixed())
}
fn md_fixed_knobs(arch: ArchId) -> Knobs {
    Knobs {
        hotplug: HotplugOrder::Mainline2024,
        // e7021e2fe0b4: EFI through use_temporary_mm keeps active_mm, so the shootdown IPI
        // reaches a CPU in an EFI call.
        efi_temp_mm: true,
        ..Knobs::hazard_md_as_posted(arch)
    }
}

/// Every variant, in table order.
pub fn variants() -> Vec<Variant> {
    const V618: &str = "mainline v6.18";
    const V516: &str = "v5.16 + luto sched/lazymm (Jan 2022)";
    const V611: &str = "v6.11.1 + hp RFC v2 (Oct 2024)";
    let v = |name, scheme, era, base, clean, build, knobs| {
        // Mainline x86 never selected MMU_LAZY_TLB_SHOOTDOWN (§4.4).
        let (unported, unported_why): (&'static [ArchId], _) = if scheme == SchemeId::Shootdown {
            (&[ArchId::X86], "mainline never enabled it")
        } else {
            (&[], "")
        };
        // Mainline radix runs S through radix__tlb_flush's combined exit flush
        // (e43c0a0c3c28, merged for v6.6; S itself came in the v6.3 cycle): S-ppc's row.
        let superseded: &'static [(ArchId, &'static str)] = if scheme == SchemeId::Shootdown {
            &[(
                ArchId::PpcRadix,
                "mainline radix folds the shootdown into its exit flush (e43c0a0c3c28): \
                 shootdown-ppc",
            )]
        } else {
            &[]
        };
        Variant {
            name,
            scheme,
            era,
            base,
            mglru: base != V516,
            invlpgb: base == V618,
            clean,
            unported,
            unported_why,
            superseded,
            build,
            knobs,
        }
    };
    vec![
        v(
            "refcount",
            SchemeId::Refcount,
            Era::Mainline,
            V618,
            true,
            || SchemeId::Refcount.build(),
            Knobs::mainline,
        ),
        v(
            "shootdown",
            SchemeId::Shootdown,
            Era::Mainline,
            V618,
            true,
            || SchemeId::Shootdown.build(),
            Knobs::mainline,
        ),
        v(
            "shootdown-ppc",
            SchemeId::ShootdownPpc,
            Era::Mainline,
            V618,
            true,
            || SchemeId::ShootdownPpc.build(),
            Knobs::mainline,
        ),
        v(
            "mmput-flush",
            SchemeId::MmputFlush,
            Era::Mainline,
            V618,
            true,
            || SchemeId::MmputFlush.build(),
            mmput_flush_knobs,
        ),
        v(
            "hazard",
            SchemeId::Hazard,
            Era::AsPosted,
            V516,
            false,
            || SchemeId::Hazard.build(),
            Knobs::hazard_as_posted,
        ),
        v(
            "hazard+fixes",
            SchemeId::Hazard,
            Era::AsPosted,
            V516,
            true,
            hazard_fixed,
            hazard_fixed_knobs,
        ),
        v(
            "hazard-x86",
            SchemeId::HazardX86,
            Era::AsPosted,
            V516,
            false,
            || SchemeId::HazardX86.build(),
            Knobs::hazard_as_posted,
        ),
        v(
            "hazard-x86+fixes",
            SchemeId::HazardX86,
            Era::AsPosted,
            V516,
            true,
            hazard_x86_fixed,
            hazard_x86_fixed_knobs,
        ),
        v(
            "hazard-md",
            SchemeId::HazardMd,
            Era::AsPosted,
            V611,
            false,
            || SchemeId::HazardMd.build(),
            Knobs::hazard_md_as_posted,
        ),
        v(
            "hazard-md+fixes",
            SchemeId::HazardMd,
            Era::AsPosted,
            V611,
            true,
            md_fixed,
            md_fixed_knobs,
        ),
    ]
}

/// The variant named `name`.
pub fn variant(name: &str) -> Option<Variant> {
    variants().into_iter().find(|v| v.name == name)
}

/// The clean (fixed, or mainline) variant of `scheme`.
pub fn clean_variant(scheme: SchemeId) -> Variant {
    variants()
        .into_iter()
        .find(|v| v.scheme == scheme && v.clean)
        .expect("every scheme has a clean variant")
}
