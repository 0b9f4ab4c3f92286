//! Identifiers: generation-checked mm handles, task ids, CPU ids and CPU sets.

use serde::Serialize;

/// A CPU number (`smp_processor_id()`).
pub type CpuId = usize;

/// A generation-checked handle to an `mm_struct` slot: the model's stand-in for a pointer.
///
/// The kernel compares `struct mm_struct *` values; the model compares handles. A handle names
/// a slot *and* the generation the slot had when the mm was allocated, so a handle to a freed mm
/// never compares equal to a later mm that reuses the slot, and every dereference of a stale
/// handle is detected by the oracle (a KASAN for the model) instead of reading reused memory.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct MmRef(pub u64);

impl MmRef {
    /// The NULL pointer.
    pub const NULL: MmRef = MmRef(0);

    /// Builds the handle for slot `idx` at generation `gen`.
    pub fn new(idx: u32, gen: u32) -> MmRef {
        MmRef(((gen as u64) << 32) | (idx as u64 + 1))
    }
    /// Slot index (panics on NULL: callers check `is_null` first).
    pub fn idx(self) -> usize {
        ((self.0 & 0xffff_ffff) - 1) as usize
    }
    /// Generation the slot had when this mm was allocated.
    pub fn gen(self) -> u32 {
        (self.0 >> 32) as u32
    }
    /// Whether this is the NULL pointer.
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Debug for MmRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_null() {
            write!(f, "NULL")
        } else {
            write!(f, "mm#{}.{}", self.idx(), self.gen())
        }
    }
}

/// A task (thread) id: index into the kernel's task table.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize)]
pub struct TaskId(pub u32);

/// Which task a script means: a concrete task, or the idle task of the CPU running the script.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum TaskRef {
    /// This CPU's idle task (swapper/N).
    Idle,
    /// A concrete task.
    Task(TaskId),
}

/// A plain (non-atomic) set of CPUs, used for snapshots of `mm_cpumask` and IPI target lists.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub struct CpuSet(Vec<u64>);

impl CpuSet {
    /// An empty set sized for `n` CPUs.
    pub fn with_cpus(n: usize) -> CpuSet {
        CpuSet(vec![0; n.div_ceil(64).max(1)])
    }
    /// Adds `cpu`.
    pub fn insert(&mut self, cpu: CpuId) {
        let w = cpu / 64;
        if w >= self.0.len() {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << (cpu % 64);
    }
    /// Removes `cpu`.
    pub fn remove(&mut self, cpu: CpuId) {
        if let Some(w) = self.0.get_mut(cpu / 64) {
            *w &= !(1 << (cpu % 64));
        }
    }
    /// Whether `cpu` is in the set.
    pub fn contains(&self, cpu: CpuId) -> bool {
        self.0
            .get(cpu / 64)
            .is_some_and(|w| w & (1 << (cpu % 64)) != 0)
    }
    /// The members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = CpuId> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            (0..64)
                .filter(move |b| w & (1u64 << b) != 0)
                .map(move |b| i * 64 + b)
        })
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
