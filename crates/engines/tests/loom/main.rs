//! Loom models of every handshake of the thread, each with a mutant that loom must catch.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p lazymm-engines --test loom`
//! (`.ci/run` does, with its own target directory). Each model boots a 2–3 CPU kernel inside
//! `loom::model`, runs the kernel model's own entry points on loom threads, and checks both
//! loom's causality verdict on the page-table cell and the oracle. Mutant tests assert that
//! some explored execution fails, and how ([`common::Caught`]: loom's causality violation,
//! an oracle violation kind, or the litmus assertion) — not merely that something panicked.
//!
//! | module | model (correct passes) | handshake | mutant test | caught by |
//! |---|---|---|---|---|
//! | hazard | `hazard_going_lazy_store_vs_mm_unlazy_mm_count_scan` | H: going-lazy WRITE_ONCE, ordered before the scan by the on_cpu hand-off and mmput | none: `hazard_going_lazy_with_a_relaxed_on_cpu_is_covered_by_mmputs_full_barrier` (finding: mmput's leading smp_mb covers a relaxed on_cpu read) | — |
//! | hazard | same model | H's own pair: un-lazy store_release vs the scan's load_acquire | `hazard_unlazy_store_release_vs_scan_acquire_relaxed_store_is_caught`: the store Relaxed (`Hazard::unlazy_store`) | causality |
//! | hazard | same model, `Knobs::mm_cid` on | the same pair with `switch_mm_cid`'s smp_mb() right after the un-lazy store (a barrier after a store orders nothing before it) | `hazard_unlazy_store_relaxed_is_caught_with_mm_cids_barrier_right_after_it`: the store Relaxed; caught only since `sync::mb` precedes every fence with its token | causality |
//! | hazard | `hazard_scan_acquire_is_covered_by_mmdrops_full_barrier` (finding: the scan's load Relaxed still passes) | the same pair, acquire side | — (mmdrop's full barrier covers it) | — |
//! | hazard | `hazard_kthread_unuse_mm_publishes_lazy_mm_before_mmput` | H: kthread_unuse_mm publishes lazy_mm, then mmput (mm_users rule) | `hazard_kthread_unuse_mm_with_mmput_first_is_caught`: mmput first (`Knobs::kthread_unuse_put_first`) | causality (or freed-while-loaded / use-after-free) |
//! | steal | `hazard_drop_mm_steal_race_scenario_18` | H: drop_mm hand-off and steal, A plays F2 | `hazard_dec2020_mockup_steal_without_reload_is_caught`: no lazy_mm re-load (mutant a) | freed-while-loaded in the steal's mmdrop |
//! | steal | `hazard_drop_mm_steal_race_scenario_18_three_cpus` | H: §7 #18, F1 on B, F2 on C | `hazard_dec2020_mockup_steal_three_cpus_is_caught`: mutant a | freed-while-loaded in the steal's mmdrop |
//! | x86 | `hazard_x86_cpumask_scan_vs_flush_ipi_unlazy` (A idles through the exit; A's un-lazy races the flushes, at bound 3) | H-x86: mm_cpumask scan vs patch 21's flush unlazy and v5.16's mask clear on switch | `hazard_x86_flush_leave_mm_behind_the_scheduler_is_caught`, `hazard_x86_flush_leave_mm_with_a_racing_unlazy_is_caught`: pre-patch-21 flush `leave_mm` | use-after-free at kasan_check_byte(prev->active_mm) |
//! | x86 | same model, A's un-lazy racing | H-x86: the scan vs a lazy CPU's own switch away (scenario #29) | `hazard_x86_mask_cleared_before_the_cr3_write_is_caught`: v5.16's clear before the CR3 write (`Knobs::x86_clear_after_cr3` false, mutant l) | causality on M's page tables (or freed-while-loaded) |
//! | others | `shootdown_vs_cpu_going_lazy` | S: going lazy after kthread_use_mm vs the final mmdrop's shootdown | `shootdown_with_unordered_mmdrop_is_caught`: mmdrop's decrement Relaxed | causality |
//! | others | `hazard_md_slot_publish_vs_hp_scan` | MD: slot clear (smp_mb + release) vs hp_scan | `hazard_md_slot_clear_without_barrier_is_caught`, `…_on_ppc_first_use_too`: slot cleared with no barrier, without the mm_cid hooks (with them, switch_mm_cid's smp_mb orders it: clean); on powerpc also when U is new on A, since the first-use smp_mb comes before the PID write that ends the walk of M | causality |
//! | others | `membarrier_litmus_scenario_12` (S, R, H) | membarrier vs T(M)→kthread→T'(M) | `membarrier_litmus_without_the_barrier_is_caught`: S without the smp_mb in mmdrop_lazy_tlb, without the mm_cid hooks (v6.3; with them, v6.4–v6.18, clean) | the litmus assertion |
//!
//! Every full barrier is `lazymm_model::sync::mb`: under loom a `Relaxed` RMW of one global
//! token, then `fence(SeqCst)`. loom 0.7's SeqCst fence joins one global clock in the order
//! the fences run, and a bare fence is neither a preemption point nor an access whose order
//! loom explores, so a fence right after a relaxed store made that store a release and hid
//! the mutant in the `mm_cid` row; the token makes loom try both fence orders (suite: ~5 s →
//! ~20–30 s).
//!
//! "Causality" is loom's causality violation on the page-table cell (`sync::PageTables`, the
//! model's only loom cell): a walk of an mm's page tables not ordered with its free.
#![cfg(loom)]

mod common;
mod hazard;
mod others;
mod steal;
mod x86;
