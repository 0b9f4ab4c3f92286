//! `tlb-flush`: will-it-scale `tlb_flush2_threads` (tests/tlb_flush2.c), as
//! ../shared/research/benchmarks.md ("tlb_flush2") describes it; spec §7 #23.
//!
//! ```text
//!  T testcase threads of ONE process; thread i bound like ctxsw (core i % cores, or with
//!  `--bind pu` PU i % CPUs); no helper task, no blocking. Each loops:
//!     mmap 1 MiB anonymous private                      (no flush: not modelled)
//!     for each of its 256 pages:
//!         write one byte                                 (a page fault: not modelled)
//!         madvise(page, MADV_DONTNEED)  → SysOp::Munmap { freed_tables: false }   ops += 1
//!         read it back as 0                              (a fault of the zero page)
//!     munmap 1 MiB                      → SysOp::Munmap { freed_tables: true }
//! ```
//! Every `madvise` zaps one PTE and flushes the mm (`flush_tlb_mm_range`): on x86 an IPI to
//! every other CPU in `mm_cpumask` that has the mm loaded and is not lazy, plus the stale ones
//! when a once-a-second (virtual jiffies) trim is due (6db2526c1d69); ppc radix and arm64
//! broadcast instead. The closing `munmap` finds no PTE left (all were zapped), but
//! `free_pgtables` frees the region's PTE page when no neighbouring mapping shares its
//! 2 MiB span, which the model takes as always (an estimate: it depends on the address
//! layout); a freed-tables flush reaches lazy CPUs in the mask too.
//!
//! The threads never block, so CPUs beyond T stay in the idle loop (on init_mm: they never
//! ran the mm) and the run has no context switches after the start: a run bounded by a
//! context-switch count would never end, so each thread stops (`Next::Done`) after
//! [`TlbFlush::regions`] regions; bound a shorter run by virtual time.

use super::common::{bind_mask, idle_next};
use super::Bind;
use lazymm_engines::driver::{Driver, Next};
use lazymm_model::ids::{CpuId, TaskId};
use lazymm_model::{Kernel, SysOp};
use std::collections::HashMap;

/// Pages of one 1 MiB region (4 KiB pages).
pub const PAGES: u32 = 256;
/// Regions each thread does by default.
pub const DEFAULT_REGIONS: u32 = 16;

#[derive(Debug, Clone, Copy)]
struct Prog {
    /// Pages of the current region done (0..=PAGES; PAGES: the munmap is next).
    page: u32,
    /// Regions done.
    regions: u32,
}

/// The `tlb-flush` workload.
#[derive(Debug)]
pub struct TlbFlush {
    threads: usize,
    bind: Bind,
    smt: usize,
    ncpus: usize,
    regions: u32,
    progs: Vec<Prog>,
    by_task: HashMap<TaskId, usize>,
    issued: Vec<Option<usize>>,
    pages: u64,
}

impl TlbFlush {
    /// `threads` testcase threads on `ncpus` CPUs with `smt` threads per core.
    pub fn new(threads: usize, bind: Bind, ncpus: usize, smt: usize) -> TlbFlush {
        TlbFlush {
            threads: threads.max(1),
            bind,
            smt: smt.max(1),
            ncpus: ncpus.max(1),
            regions: DEFAULT_REGIONS,
            progs: Vec::new(),
            by_task: HashMap::new(),
            issued: vec![None; ncpus.max(1)],
            pages: 0,
        }
    }

    /// Each thread stops after `n` regions (`n` × 256 pages and `n` munmaps; at least 1).
    pub fn regions(mut self, n: u32) -> TlbFlush {
        self.regions = n.max(1);
        self
    }
}

impl Driver for TlbFlush {
    fn name(&self) -> String {
        "tlb-flush".into()
    }

    fn capacity(&self) -> (usize, usize) {
        (self.threads + 8, 8)
    }

    fn setup(&mut self, k: &Kernel) {
        let (_, tasks) = k
            .create_process(self.threads)
            .expect("task table sized by capacity()");
        // wake_up_new_task places each new thread on the least loaded allowed CPU.
        let mut load = vec![0usize; self.ncpus];
        for (i, &t) in tasks.iter().enumerate() {
            let (lo, n) = bind_mask(self.bind, i, self.ncpus, self.smt);
            k.set_affinity(t, lo, n);
            let cpu = (lo..lo + n).min_by_key(|&c| load[c]).unwrap_or(lo);
            load[cpu] += 1;
            k.wake_up_new_task(t, cpu);
            self.by_task.insert(t, self.progs.len());
            self.progs.push(Prog {
                page: 0,
                regions: 0,
            });
        }
    }

    fn next(&mut self, k: &Kernel, cpu: CpuId) -> Next {
        self.issued[cpu] = None;
        let Some(&i) = self.by_task.get(&k.curr(cpu)) else {
            return idle_next(k, cpu);
        };
        let p = self.progs[i];
        if p.regions >= self.regions {
            return Next::Done;
        }
        self.issued[cpu] = Some(i);
        Next::Op(SysOp::Munmap {
            freed_tables: p.page == PAGES,
        })
    }

    fn done_op(&mut self, _k: &Kernel, cpu: CpuId, _op: &SysOp, applied: bool) {
        let Some(i) = self.issued[cpu].take() else {
            return;
        };
        if !applied {
            return;
        }
        let p = &mut self.progs[i];
        if p.page == PAGES {
            p.page = 0;
            p.regions += 1;
        } else {
            p.page += 1;
            self.pages += 1;
        }
    }

    fn ops(&self) -> u64 {
        self.pages
    }

    fn op_name(&self) -> &'static str {
        "page flushed (madvise DONTNEED)"
    }
}
