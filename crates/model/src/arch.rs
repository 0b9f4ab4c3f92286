//! Architecture profiles (spec §1.4–§1.5, §4.4, §4.10) and era knobs.
//!
//! Arch differences are data plus a few small hooks in `tlb.rs`, never forks of the paths:
//!
//! | profile   | exit/munmap flush            | `mm_cpumask`                                        | `active_mm` vs MMU |
//! |-----------|------------------------------|-----------------------------------------------------|--------------------|
//! | x86       | IPIs to `mm_cpumask` (all of it when `freed_tables`, else non-lazy CPUs) | set on switch-in; since 2024 (Rik, 209954cbc7d0) left set on switch-out and cleared when a flush IPI finds `loaded_mm != mm`; before, cleared on switch-out | may diverge: `loaded_mm` is the truth (§4.4) |
//! | ppc-radix | broadcast `tlbie`, no IPIs (S-ppc/L: `exit_flush_lazy_tlbs` IPIs at exit) | set on switch-in, trimmed only by `exit_lazy_flush_tlb` and hotplug | in sync |
//! | ppc-hash  | hypervisor flush, no IPIs    | set on switch-in, cleared by hotplug               | in sync |
//! | arm64     | broadcast TLBI, no IPIs      | not maintained                                     | in sync |
//!
//! Era knobs ([`Knobs`]) say how the paths the thread argued about look in a named era
//! (`crate::era`): today's mainline, or a series on the kernel it was posted against.

use serde::Serialize;

/// Architecture id.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Hash, Serialize, PartialOrd, Ord)]
pub enum ArchId {
    /// x86-64 with IPI TLB shootdowns.
    X86,
    /// powerpc book3s64 radix MMU.
    PpcRadix,
    /// powerpc book3s64 hash MMU (PAPR guest: hypervisor flushes).
    PpcHash,
    /// arm64: broadcast TLBI, no mm_cpumask.
    Arm64,
}

impl ArchId {
    /// All arch ids, in table order.
    pub const ALL: [ArchId; 4] = [
        ArchId::X86,
        ArchId::PpcRadix,
        ArchId::PpcHash,
        ArchId::Arm64,
    ];

    /// CLI / JSON name.
    pub fn name(self) -> &'static str {
        match self {
            ArchId::X86 => "x86",
            ArchId::PpcRadix => "ppc-radix",
            ArchId::PpcHash => "ppc-hash",
            ArchId::Arm64 => "arm64",
        }
    }

    /// Parses a CLI / JSON name.
    pub fn parse(s: &str) -> Option<ArchId> {
        ArchId::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// How the final/munmap TLB flush reaches remote CPUs.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum FlushKind {
    /// IPIs to CPUs in `mm_cpumask` (x86).
    Ipi,
    /// Hardware broadcast (tlbie / TLBI / INVLPGB): no IPIs, lazy CPUs untouched.
    Broadcast,
    /// Hypervisor flush (PAPR hash, PV flush): no IPIs.
    Hypervisor,
}

/// How `mm_cpumask` is maintained.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum MaskPolicy {
    /// x86 since 2024: set on switch-in, left set on switch-out, cleared by a flush IPI that
    /// finds `loaded_mm != mm`.
    X86Lazy,
    /// x86 before 2024: set on switch-in, cleared on switch-out of the loaded mm.
    X86ClearOnSwitch,
    /// powerpc: set on switch-in, cleared only by explicit trimming and hotplug.
    Sticky,
    /// arm64: no mm_cpumask at all.
    None,
}

/// An architecture profile: data, not code.
#[derive(Clone, Debug)]
pub struct Arch {
    /// Which arch.
    pub id: ArchId,
    /// How exit/munmap flushes reach remote CPUs.
    pub flush: FlushKind,
    /// How `mm_cpumask` is maintained.
    pub mask: MaskPolicy,
    /// Whether `loaded_mm` can diverge from `current->active_mm` (x86, §4.4).
    pub loaded_mm_separate: bool,
    /// Whether `__cpu_disable` clears the dying CPU from every mm_cpumask (ppc
    /// `cleanup_cpu_mmu_context`, §1.5).
    pub hotplug_clears_masks: bool,
    /// Whether `smp_mb__after_atomic()`, `smp_mb__after_spinlock()` and
    /// `smp_mb__after_switch_mm()` emit a full barrier: `smp_mb()` on powerpc and arm64
    /// (their void atomics, lock acquires and `switch_mm` are not full barriers); nothing on
    /// x86, whose locked RMWs and CR3 writes already are.
    pub after_barriers_are_mb: bool,
    /// What gives membarrier its full barrier after a switch changed the mm of `rq->curr`.
    pub membarrier_switch: MembarrierSwitch,
    /// Selects `ARCH_HAS_HW_PTE_YOUNG`, so that `CONFIG_LRU_GEN_WALKS_MMU` can be on: x86
    /// and arm64, not powerpc (6.12 `mm/Kconfig`, `arch/*/Kconfig`).
    pub hw_pte_young: bool,
}

/// What provides the full barrier membarrier needs "after updating rq->curr, before
/// returning to user-space", per arch (6.12 `__schedule`'s comment: "mm ? switch_mm() :
/// mmdrop() for x86, s390, sparc, PowerPC, RISC-V. switch_mm() relies on
/// membarrier_arch_switch_mm() on PowerPC and on RISC-V … switch_to() for arm64").
/// Where the mm does not change (`prev->active_mm == next->mm`), `finish_task_switch`'s
/// `mmdrop_lazy_tlb_sched` provides it on every arch (§2.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MembarrierSwitch {
    /// x86: the CR3 write in `switch_mm_irqs_off` is serialising; no barrier instruction.
    MmuSwitch,
    /// powerpc: the PID write is no memory barrier. `switch_mm_irqs_off` calls
    /// `membarrier_arch_switch_mm()` when it changes mm and did not just set its
    /// `mm_cpumask` bit (that path has its own `smp_mb()`): it reads
    /// `next->membarrier_state` and issues `smp_mb()` iff `next` is registered for expedited
    /// membarrier (6.12 arch/powerpc/include/asm/membarrier.h, mm/mmu_context.c:98).
    ArchSwitchMm,
    /// arm64: `__switch_to()`'s `dsb(ish)` on every context switch, "also required by the
    /// membarrier system call" (6.12 arch/arm64/kernel/process.c:592); the TTBR write is not
    /// a memory barrier.
    SwitchTo,
}

impl Arch {
    /// The profile of `id` as of current mainline.
    pub fn profile(id: ArchId) -> Arch {
        match id {
            ArchId::X86 => Arch {
                id,
                flush: FlushKind::Ipi,
                mask: MaskPolicy::X86Lazy,
                loaded_mm_separate: true,
                hotplug_clears_masks: false,
                after_barriers_are_mb: false,
                membarrier_switch: MembarrierSwitch::MmuSwitch,
                hw_pte_young: true,
            },
            ArchId::PpcRadix => Arch {
                id,
                flush: FlushKind::Broadcast,
                mask: MaskPolicy::Sticky,
                loaded_mm_separate: false,
                hotplug_clears_masks: true,
                after_barriers_are_mb: true,
                membarrier_switch: MembarrierSwitch::ArchSwitchMm,
                hw_pte_young: false,
            },
            ArchId::PpcHash => Arch {
                id,
                flush: FlushKind::Hypervisor,
                mask: MaskPolicy::Sticky,
                loaded_mm_separate: false,
                hotplug_clears_masks: true,
                after_barriers_are_mb: true,
                membarrier_switch: MembarrierSwitch::ArchSwitchMm,
                hw_pte_young: false,
            },
            ArchId::Arm64 => Arch {
                id,
                flush: FlushKind::Broadcast,
                mask: MaskPolicy::None,
                loaded_mm_separate: false,
                hotplug_clears_masks: false,
                after_barriers_are_mb: true,
                membarrier_switch: MembarrierSwitch::SwitchTo,
                hw_pte_young: true,
            },
        }
    }
}

/// What x86 `flush_tlb_func()` does when the flush IPI finds the CPU lazy on the flushed mm.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum LazyFlush {
    /// Mainline: `switch_mm_irqs_off(NULL, &init_mm, NULL)`: `loaded_mm` moves, `active_mm` stays
    /// (the §4.4 divergence).
    LeaveMm,
    /// Andy's patch 21: `unlazy_mm_irqs_off()`, so the scheduler knows.
    Unlazy,
}

/// CPU-offline order (spec §2.8, §4.7).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HotplugOrder {
    /// Before the 2024 fix (and on v6.11.1, MD's base): `__cpu_disable` (ppc clears the CPU
    /// from every mm_cpumask), then `idle_task_exit` switches the MMU to init_mm leaving
    /// `active_mm`, and the control CPU's `finish_cpu` drops it.
    Legacy,
    /// Mainline since the 2024 fix (HP-2024): `sched_force_init_mm` at
    /// CPUHP_AP_SCHED_WAIT_EMPTY, before `__cpu_disable`: GRAB(init_mm), switch, DROP(mm).
    Mainline2024,
    /// Andy's patch 12 as posted: `do_idle()` calls `unlazy_mm_irqs_off()` once
    /// `cpu_is_offline()` — i.e. *after* `__cpu_disable` took the CPU out of the online mask
    /// (his own "XXX … hot-unplugging" in patch 16).
    AsPostedDoIdle,
}

/// What `use_temporary_mm()` (text_poke, and EFI since e7021e2fe0b4) does on a lazy CPU.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TempMm {
    /// Before 2020: nothing; the temporary switch clears the lazy CPU from `mm_cpumask`
    /// (pre-2024 x86) and the restore reloads the lazy mm (mutant h).
    Plain,
    /// Mainline: `if (is_lazy) leave_mm()` — `loaded_mm` moves to init_mm, `active_mm` and
    /// every refcount stay (§4.4).
    LeaveMm,
    /// Andy's series (patches 18/20/22): `unlazy_mm_irqs_off()` first, so the scheduler knows.
    Unlazy,
}

/// Era knobs: the paths the thread argued about, as a named era runs them. Built by
/// `crate::era` (mainline, or a series on the kernel it was posted against); scenarios and
/// mutants change single knobs on top of an era and say so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Knobs {
    /// NMI perf `get_segment_base` reads `current->mm` (patch 10, merged 2025) instead of
    /// `current->active_mm`. Both are reached only with `current->mm != NULL` and
    /// `nmi_uaccess_okay()` (the perf path's gates), see nmi.rs.
    pub nmi_uses_mm: bool,
    /// EFI runtime calls go through `use_temporary_mm()` (e7021e2fe0b4; Andy's patch 19)
    /// instead of the old `efi_enter_mm()` that set `current->active_mm = &efi_mm`.
    pub efi_temp_mm: bool,
    /// What `use_temporary_mm()` does on a lazy CPU.
    pub temp_mm: TempMm,
    /// powerpc radix `patch_instruction()` switches to a temporary mm ("powerpc/code-patching:
    /// Use temporary mm for Radix MMU", the v6.2 cycle from memory: version and commit id not
    /// checked here).
    /// Before it (v5.16, H's base) it wrote through a per-CPU vmalloc'd text-poke area and
    /// switched no mm.
    pub ppc_text_poke_temp_mm: bool,
    /// CPU-offline order.
    pub hotplug: HotplugOrder,
    /// Andy's patch 09 ("membarrier: Fix incorrect barrier positions during exec and
    /// kthread_use_mm()"): `exec_mmap`'s barrier before the mm switch is
    /// `smp_mb__after_spinlock()` under `task_lock` (nothing more on x86) instead of
    /// `membarrier_exec_mmap()`'s `smp_mb()`.
    pub exec_mb_after_spinlock: bool,
    /// d53c3dfb23c4 (2020): `exec_mmap` disables IRQs from reading `active_mm` to setting
    /// `tsk->mm`/`active_mm`.
    pub exec_irqs_off: bool,
    /// `ARCH_WANT_IRQS_OFF_ACTIVATE_MM`: IRQs stay off across `activate_mm()` too (ppc since
    /// 2020, x86 since 2025 \[MINGO-2025-7\]; not arm64). Without it a flush IPI can land between
    /// `tsk->mm = mm` and the MMU switch (§7 #10's second half).
    pub irqs_off_activate_mm: bool,
    /// The v6.4–v6.18 mm_cid hooks (223baf9d17f2, and v6.9's `smp_mb__after_switch_mm()`)
    /// and their barriers: `switch_mm_cid()` at the end of `context_switch`,
    /// `sched_mm_cid_{before,after}_execve()` around exec, `sched_mm_cid_exit_signals()` on
    /// exit (see `mm_cid.rs`). Not in v5.16 (H's base); replaced in v6.19 by Thomas
    /// Gleixner's rewrite, which this model does not follow.
    pub mm_cid: bool,
    /// powerpc `start_secondary()` takes `init_mm` for the onlined CPU's idle with
    /// `mmgrab_lazy_tlb()` (S's series, v6.3 cycle, which added the lazy helpers); before it
    /// (v5.16) with a plain `mmgrab()`, as x86 and arm64 still do.
    pub ppc_online_lazy_grab: bool,
    /// x86 `mm_cpumask` policy (ignored on other arches).
    pub x86_mask: MaskPolicy,
    /// With [`MaskPolicy::X86ClearOnSwitch`]: clear this CPU's bit for the previous mm only
    /// at the end of `switch_mm_irqs_off`, after the CR3 write and `switch_ldt`'s read of
    /// `prev->context.ldt`. v5.16–v6.12 `switch_mm_irqs_off` clears it first ("Stop remote
    /// flushes for the previous mm"), then sets next's bit, reads `tlb_gen` and writes CR3, so
    /// for a few instructions the CPU's MMU is on an mm whose mask no longer has it. Only a
    /// scheme that frees by the mask (H-x86, patch 22) needs the other order: it is the fix
    /// of `hazard-x86+fixes`.
    pub x86_clear_after_cr3: bool,
    /// x86 `flush_tlb_func` returns without reading `mm->context.tlb_gen` when this CPU is
    /// already up to date with the flush's own generation (`f->new_tlb_gen <=
    /// local_tlb_gen`; Nadav Amit's aa44284960d5 "x86/mm/tlb: Avoid reading mm_tlb_gen when
    /// possible", 2022, after v5.16 — version from memory). Before it, a CPU behind the mm
    /// (another flush in flight) flushed for this one too.
    pub x86_flush_skips_covered_gen: bool,
    /// What x86 `flush_tlb_func` does on a lazy CPU, unless the scheme requires otherwise.
    pub x86_lazy_flush: LazyFlush,
    /// x86 cpuidle (`CPUIDLE_FLAG_TLB_FLUSHED`), intel_idle, Xen call `leave_mm()` behind the
    /// scheduler's back (mainline; Andy's patch 20 makes them `unlazy_mm_irqs_off()`).
    pub x86_leave_mm_in_idle: bool,
    /// x86 trims stale CPUs from `mm_cpumask` at most once a second (6db2526c1d69): the
    /// interval in jiffies (`HZ`), or None where the era has no lazy mask to trim.
    pub trim_interval: Option<u64>,
    /// CPUs whose flush IPIs a paravirt flush skips (preempted vCPUs, §7 #21).
    pub pv_flush_skips: Vec<usize>,
    /// Exit/munmap flushes are hardware broadcasts (INVLPGB global ASID, §7 #22).
    pub broadcast_flush: bool,
    /// x86 `X86_FEATURE_INVLPGB` with 7.2's global-ASID policy (v6.15; `crate::global_asid`):
    /// an mm a remote flush finds active on more than three CPUs, when the flusher's pid and
    /// `jiffies` agree in their low five bits, gets a global ASID and broadcast flushes.
    pub invlpgb: bool,
    /// PREEMPT_RT: `mmdrop_sched` defers `__mmdrop` through `call_rcu`, and `__mmdrop` in
    /// atomic context is a sleep-in-atomic violation (§7 #24).
    pub preempt_rt: bool,
    /// `CONFIG_LRU_GEN_WALKS_MMU`: `lru_gen_use_mm(next->mm)` in `context_switch`'s
    /// to-user branch, after `switch_mm_irqs_off`, and in `exec_mmap` — an unconditional
    /// `WRITE_ONCE(mm->lru_gen.bitmap, -1)` ([`crate::machine::Line::MmLruGen`]), 6.12 and
    /// 7.2 alike. MGLRU came in v6.1 (not in H's v5.16 base). `def_bool y` when `LRU_GEN`
    /// is on and the arch selects `ARCH_HAS_HW_PTE_YOUNG`: x86 and arm64, not powerpc
    /// (6.12 `mm/Kconfig`, `arch/*/Kconfig`). Off in every era here, as in the upstream
    /// defconfig, which leaves `LRU_GEN` unset; distro configs turn it on (Debian 6.12
    /// amd64: `LRU_GEN=y`, `LRU_GEN_WALKS_MMU=y`). With it, too, `lru_gen_add_mm` at fork
    /// and exec and `lru_gen_del_mm` in `__mmput` take the memcg's `mm_list` lock
    /// (lru_gen.rs).
    pub lru_gen_walks_mmu: bool,
    /// Loom mutant: `mmdrop`'s `atomic_dec_and_test` without its full-barrier semantics
    /// (a Relaxed decrement): the freer may not see what the other droppers did.
    pub mmdrop_unordered: bool,
    /// Loom mutant: `try_to_wake_up`'s `smp_cond_load_acquire(&p->on_cpu, !VAL)` as a
    /// Relaxed load: the CPU taking a task over may not see what its previous CPU did
    /// (H's going-lazy store relies on this hand-off, §3.c).
    pub ttwu_on_cpu_relaxed: bool,
    /// Loom mutant: `kthread_unuse_mm` under H's `mm_users` rule ([`KthreadRef::MmUsers`])
    /// drops its `mm_users` (`mmput`) before publishing `rq->lazy_mm`, so a concurrent last
    /// `mmput`'s scan can miss the hazard pointer (§3.c, §4.3).
    ///
    /// [`KthreadRef::MmUsers`]: crate::scheme::KthreadRef::MmUsers
    pub kthread_unuse_put_first: bool,
}
