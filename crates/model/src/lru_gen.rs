//! MGLRU's per-mm hooks under `CONFIG_LRU_GEN_WALKS_MMU` ([`crate::Knobs::lru_gen_walks_mmu`];
//! 6.12 `include/linux/mm_types.h`, `mm/vmscan.c`). Off in every era (the defconfig); a
//! distro kernel's cost when on. Nothing in the model reads the state they keep (page
//! reclaim is not modelled): what they add is shared-line traffic.
//!
//! ```text
//!  context_switch to user, exec_mmap   lru_gen_use_mm(mm): WRITE_ONCE(mm->lru_gen.bitmap, -1)
//!  fork (!CLONE_VM), exec_mmap         lru_gen_add_mm(mm): spin_lock(&mm_list->lock);
//!                                        list_add_tail(&mm->lru_gen.list, &mm_list->fifo);
//!                                        spin_unlock
//!  __mmput                             lru_gen_del_mm(mm): if list_empty: return; spin_lock;
//!                                        list_del_init(&mm->lru_gen.list); spin_unlock
//! ```
//! One memcg (the root's `mm_list`: [`Line::MmList`]`(0)`, its `fifo` head and `lock` in one
//! line). The list operations write the neighbours' `lru_gen.list` lines ([`Line::MmLruGen`])
//! or the head. The lock is priced as the line's RMW and the unlock as a store; the time others
//! spin on a held lock is not modelled (as for every lock here). The per-node
//! `lru_gen_mm_state` head/tail updates (one `lruvec` line per node) are left out.

use crate::ids::MmRef;
use crate::machine::{Access, Cpu, Line};
use crate::Kernel;

/// The root memcg's `lru_gen_mm_list`.
const ROOT_MM_LIST: Line = Line::MmList(0);

impl Kernel {
    fn lru_gen_line(mm: MmRef) -> Line {
        Line::MmLruGen(mm.idx() as u32)
    }

    /// The line of list entry `e` of the fifo (an mm's `lru_gen.list`, or the head).
    fn lru_gen_entry(e: Option<MmRef>) -> Line {
        e.map_or(ROOT_MM_LIST, Self::lru_gen_line)
    }

    /// `lru_gen_use_mm(mm)`: `WRITE_ONCE(mm->lru_gen.bitmap, -1)`, a hint to MGLRU's
    /// page-table walkers that the mm was used, after `switch_mm_irqs_off` on every switch to
    /// a user task and in `exec_mmap`. Every CPU that switches to a task of `mm` takes the
    /// line for writing.
    pub(crate) fn lru_gen_use_mm(&self, c: &dyn Cpu, mm: MmRef) {
        if self.cfg.knobs.lru_gen_walks_mmu {
            touch!(self, c, Self::lru_gen_line(mm), Access::Store);
        }
    }

    /// `lru_gen_add_mm(mm)`: at fork of a new process and at exec.
    pub(crate) fn lru_gen_add_mm(&self, c: &dyn Cpu, mm: MmRef) {
        if !self.cfg.knobs.lru_gen_walks_mmu {
            return;
        }
        touch!(self, c, ROOT_MM_LIST, Access::Rmw);
        let tail = {
            let mut fifo = self.lru_gen_fifo.lock().unwrap();
            let tail = fifo.last().copied();
            fifo.push(mm);
            tail
        };
        // list_add_tail: new->next = head, new->prev = tail; tail->next = new (the head if
        // the list was empty); head->prev = new.
        touch!(self, c, Self::lru_gen_line(mm), Access::Store);
        touch!(self, c, Self::lru_gen_entry(tail), Access::Store);
        touch!(self, c, ROOT_MM_LIST, Access::Store);
    }

    /// `lru_gen_del_mm(mm)`: in `__mmput`, before the users' `mmdrop`.
    pub(crate) fn lru_gen_del_mm(&self, c: &dyn Cpu, mm: MmRef) {
        if !self.cfg.knobs.lru_gen_walks_mmu {
            return;
        }
        // if (list_empty(&mm->lru_gen.list)) return;
        touch!(self, c, Self::lru_gen_line(mm), Access::Load);
        if !self.lru_gen_fifo.lock().unwrap().contains(&mm) {
            return;
        }
        touch!(self, c, ROOT_MM_LIST, Access::Rmw);
        let (prev, next) = {
            let mut fifo = self.lru_gen_fifo.lock().unwrap();
            let i = fifo.iter().position(|&m| m == mm).expect("on the list");
            fifo.remove(i);
            (i.checked_sub(1).map(|j| fifo[j]), fifo.get(i).copied())
        };
        // list_del_init: prev->next = next; next->prev = prev; the entry points to itself.
        touch!(self, c, Self::lru_gen_entry(prev), Access::Store);
        touch!(self, c, Self::lru_gen_entry(next), Access::Store);
        touch!(self, c, Self::lru_gen_line(mm), Access::Store);
        // spin_unlock.
        touch!(self, c, ROOT_MM_LIST, Access::Store);
    }
}
