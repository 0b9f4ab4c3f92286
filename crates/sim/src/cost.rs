//! Prices of the events the kernel model emits, from a machine profile, and the breakdown of
//! where the CPUs' virtual time went.
//!
//! The cost model prices what the model does; it never replaces a scheme by a formula. Each
//! price is one profile parameter (whose source the profile names):
//!
//! | event | price |
//! |---|---|
//! | `SchemeBarrier`, `PathBarrier` | `coherence.fence` |
//! | `MmuSwitch` | `tlb.mmu_switch` with ASIDs/PCID, else `tlb.mmu_switch_flush` |
//! | `LocalFlush` | `tlb.local_flush` |
//! | `BroadcastFlush` | `tlb.broadcast_base + tlb.broadcast_per_cpu × CPUs`, after the broadcasts already in flight (one machine-wide resource) |
//! | `HypervisorFlush` | `tlb.hypervisor_flush` |
//! | `ContextSwitch`, `Wakeup`, `Syscall` | `sched.context_switch`, `sched.wakeup`, `sched.syscall` |
//! | an IPI (`Cpu::kick`) | `ipi.send` on the sender; `ipi.delivery`, then `ipi.handler` on the target |
//! | waking an idle CPU | `idle.exit_latency` (IPI); transfer + `idle.poll_wake` (polling) |
//!
//! Line accesses are priced by [`crate::Coherence`]. The counted events that are themselves
//! accesses (`MmCountRmw`, `DropMmRmw`, `ScanLoad`) and the IPI counters are priced through
//! their accesses and kicks, not twice.

use lazymm_model::machine::Event;
use lazymm_model::machine::Line;
use lazymm_profile::Profile;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// A category of virtual time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Cat {
    /// Shared-line accesses at local (L1) cost.
    Access,
    /// Full barriers.
    Barrier,
    /// MMU switches.
    Mmu,
    /// TLB flushes (local, broadcast, hypervisor).
    Flush,
    /// Sending IPIs.
    IpiSend,
    /// Waiting for synchronous IPIs to complete (`csd_lock_wait`).
    IpiWait,
    /// Taking interrupts.
    IpiHandler,
    /// Other spin-waits (`on_cpu`, hazard busy-waits).
    Spin,
    /// Context-switch base work.
    Sched,
    /// Wakeup base work.
    Wakeup,
    /// Syscall base work.
    Syscall,
    /// Idle (parked, nothing to run; or a replayed trace's idle gap).
    Idle,
    /// Work outside the model: a replayed trace's gaps between events on a busy CPU
    /// ([`lazymm_engines::driver::Next::Busy`]).
    Work,
    /// Leaving the idle state after a wakeup.
    IdleExit,
}

/// Where the CPUs' virtual time went (ns, summed over CPUs).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Breakdown {
    /// Shared-line accesses at local cost.
    pub access: f64,
    /// Coherence stalls (queueing + transfer beyond a local access), per line kind.
    pub coherence: Stalls,
    /// Full barriers.
    pub barrier: f64,
    /// MMU switches.
    pub mmu: f64,
    /// TLB flushes.
    pub flush: f64,
    /// Sending IPIs.
    pub ipi_send: f64,
    /// Waiting for IPI completion.
    pub ipi_wait: f64,
    /// Interrupt handling.
    pub ipi_handler: f64,
    /// Other spin-waits.
    pub spin: f64,
    /// Context-switch base work.
    pub sched: f64,
    /// Wakeup base work.
    pub wakeup: f64,
    /// Syscall base work.
    pub syscall: f64,
    /// Idle.
    pub idle: f64,
    /// Idle exit latency.
    pub idle_exit: f64,
    /// Work outside the model (a replayed trace's gaps on busy CPUs); not in [`Breakdown::busy`].
    pub work: f64,
}

impl Breakdown {
    /// Adds `ns` to a category.
    pub fn add(&mut self, cat: Cat, ns: f64) {
        let f = match cat {
            Cat::Access => &mut self.access,
            Cat::Barrier => &mut self.barrier,
            Cat::Mmu => &mut self.mmu,
            Cat::Flush => &mut self.flush,
            Cat::IpiSend => &mut self.ipi_send,
            Cat::IpiWait => &mut self.ipi_wait,
            Cat::IpiHandler => &mut self.ipi_handler,
            Cat::Spin => &mut self.spin,
            Cat::Sched => &mut self.sched,
            Cat::Wakeup => &mut self.wakeup,
            Cat::Syscall => &mut self.syscall,
            Cat::Idle => &mut self.idle,
            Cat::IdleExit => &mut self.idle_exit,
            Cat::Work => &mut self.work,
        };
        *f += ns;
    }

    /// Adds a coherence stall on a line of kind `kind`.
    pub fn stall(&mut self, line: Line, ns: f64) {
        self.stall_kind(crate::coherence::kind_no(line), ns);
    }

    /// [`Breakdown::stall`] on the line kind numbered `kind` ([`crate::coherence::kind_no`]).
    #[inline]
    pub(crate) fn stall_kind(&mut self, kind: usize, ns: f64) {
        if ns > 0.0 {
            self.coherence.add(kind, ns);
        }
    }

    /// Busy time of the model's own work: everything but idle and outside work.
    pub fn busy(&self) -> f64 {
        self.access
            + self.coherence.values().sum::<f64>()
            + self.barrier
            + self.mmu
            + self.flush
            + self.ipi_send
            + self.ipi_wait
            + self.ipi_handler
            + self.spin
            + self.sched
            + self.wakeup
            + self.syscall
            + self.idle_exit
    }

    /// This breakdown minus an earlier one of the same run (time since a warm-up).
    pub fn minus(&self, o: &Breakdown) -> Breakdown {
        let mut d = self.clone();
        d.coherence.subtract(&o.coherence);
        d.access -= o.access;
        d.barrier -= o.barrier;
        d.mmu -= o.mmu;
        d.flush -= o.flush;
        d.ipi_send -= o.ipi_send;
        d.ipi_wait -= o.ipi_wait;
        d.ipi_handler -= o.ipi_handler;
        d.spin -= o.spin;
        d.sched -= o.sched;
        d.wakeup -= o.wakeup;
        d.syscall -= o.syscall;
        d.idle -= o.idle;
        d.idle_exit -= o.idle_exit;
        d.work -= o.work;
        d
    }

    /// Every category divided by `n` (per-switch or per-op figures).
    pub fn per(&self, n: f64) -> Breakdown {
        let d = |x: f64| if n > 0.0 { x / n } else { 0.0 };
        Breakdown {
            access: d(self.access),
            coherence: self.coherence.map(d),
            barrier: d(self.barrier),
            mmu: d(self.mmu),
            flush: d(self.flush),
            ipi_send: d(self.ipi_send),
            ipi_wait: d(self.ipi_wait),
            ipi_handler: d(self.ipi_handler),
            spin: d(self.spin),
            sched: d(self.sched),
            wakeup: d(self.wakeup),
            syscall: d(self.syscall),
            idle: d(self.idle),
            idle_exit: d(self.idle_exit),
            work: d(self.work),
        }
    }
}

/// Coherence stalls per line kind (ns): a dense table by the coherence model's kind number
/// (an access that stalls adds to it on the simulator's hottest path), which reads and
/// serialises as a map from [`Line::kind`] to ns over the kinds that stalled, in name order.
#[derive(Clone, Debug, Default)]
pub struct Stalls {
    ns: [f64; crate::coherence::NKINDS],
    /// Kinds that have an entry (bit per kind number).
    seen: u32,
}

impl Stalls {
    fn add(&mut self, no: usize, ns: f64) {
        self.ns[no] += ns;
        self.seen |= 1 << no;
    }

    /// `self - o`, with an entry for every kind either has.
    fn subtract(&mut self, o: &Stalls) {
        for (a, b) in self.ns.iter_mut().zip(o.ns) {
            *a -= b;
        }
        self.seen |= o.seen;
    }

    fn map(&self, f: impl Fn(f64) -> f64) -> Stalls {
        Stalls {
            ns: self.ns.map(f),
            seen: self.seen,
        }
    }

    /// The stall time of the line kind named `kind` ([`Line::kind`]), if it has an entry.
    pub fn get(&self, kind: &str) -> Option<&f64> {
        let no = crate::coherence::KIND_NAMES
            .iter()
            .position(|&n| n == kind)?;
        (self.seen & (1 << no) != 0).then(|| &self.ns[no])
    }

    /// (kind name, ns) of every kind with an entry, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &f64)> + '_ {
        let mut nos: Vec<usize> = (0..self.ns.len())
            .filter(|&no| self.seen & (1 << no) != 0)
            .collect();
        nos.sort_by_key(|&no| crate::coherence::KIND_NAMES[no]);
        nos.into_iter()
            .map(|no| (crate::coherence::KIND_NAMES[no], &self.ns[no]))
    }

    /// The stall times of the kinds with an entry.
    pub fn values(&self) -> impl Iterator<Item = &f64> + '_ {
        self.iter().map(|(_, v)| v)
    }
}

impl Serialize for Stalls {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The profile's prices for `ncpus` CPUs (ns).
#[derive(Clone, Debug)]
pub struct Prices {
    /// `smp_mb()`.
    pub fence: f64,
    /// MMU switch (with or without ASID, per the profile).
    pub mmu_switch: f64,
    /// Local flush of one mm.
    pub local_flush: f64,
    /// Broadcast flush at this CPU count.
    pub broadcast: f64,
    /// Hypervisor flush.
    pub hv_flush: f64,
    /// IPI: sender's cost per target.
    pub ipi_send: f64,
    /// IPI: send to handler.
    pub ipi_delivery: f64,
    /// IPI: entry and exit on the target.
    pub ipi_handler: f64,
    /// Idle exit latency.
    pub idle_exit: f64,
    /// Polling idle noticing need_resched.
    pub poll_wake: f64,
    /// Context-switch base.
    pub ctxsw: f64,
    /// Wakeup base.
    pub wakeup: f64,
    /// Syscall base.
    pub syscall: f64,
    /// One spin-wait iteration (engine granularity, not a hardware figure).
    pub spin: f64,
}

impl Prices {
    /// Prices of profile `p` on `ncpus` CPUs; `spin` is the engine's spin granularity.
    pub fn new(p: &Profile, ncpus: usize, spin: f64) -> Prices {
        let t = &p.tlb;
        Prices {
            fence: p.coherence.fence.get(),
            mmu_switch: if t.asid.get() != 0.0 {
                t.mmu_switch.get()
            } else {
                t.mmu_switch_flush.get()
            },
            local_flush: t.local_flush.get(),
            broadcast: t.broadcast_base.get() + t.broadcast_per_cpu.get() * ncpus as f64,
            hv_flush: t.hypervisor_flush.get(),
            ipi_send: p.ipi.send.get(),
            ipi_delivery: p.ipi.delivery.get(),
            ipi_handler: p.ipi.handler.get(),
            idle_exit: p.idle.exit_latency.get(),
            poll_wake: p.idle.poll_wake.get(),
            ctxsw: p.sched.context_switch.get(),
            wakeup: p.sched.wakeup.get(),
            syscall: p.sched.syscall.get(),
            spin,
        }
    }

    /// The price of an event, if it has one of its own (see the module doc).
    pub fn event(&self, ev: Event) -> Option<(Cat, f64)> {
        Some(match ev {
            Event::SchemeBarrier | Event::PathBarrier => (Cat::Barrier, self.fence),
            Event::MmuSwitch => (Cat::Mmu, self.mmu_switch),
            Event::LocalFlush => (Cat::Flush, self.local_flush),
            Event::BroadcastFlush => (Cat::Flush, self.broadcast),
            Event::HypervisorFlush => (Cat::Flush, self.hv_flush),
            Event::ContextSwitch => (Cat::Sched, self.ctxsw),
            Event::Wakeup => (Cat::Wakeup, self.wakeup),
            Event::Syscall => (Cat::Syscall, self.syscall),
            Event::MmCountRmw
            | Event::DropMmRmw
            | Event::ScanLoad
            | Event::LazyIpi
            | Event::FlushIpi => return None,
        })
    }
}
