//! One simulated CPU as the kernel model sees it (the [`Cpu`] seam), and the state the
//! engine shares with every CPU: clocks, pending IPIs and wakeups, the coherence model, the
//! time breakdown. See [`crate::engine`] for the scheduling of CPUs.

use crate::coherence::{key, LineKey, Price};
use crate::cost::{Breakdown, Cat, Prices};
use crate::timeline::Recorder;
use crate::Coherence;
use corosensei::Yielder;
use lazymm_engines::driver::Driver;
use lazymm_model::ids::CpuId;
use lazymm_model::machine::{Access, Cpu, Event, Line, Trace};
use lazymm_model::Kernel;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Run,
    Drain,
    Quiesce,
    Over,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Deliver {
    Nothing,
    Ipi,
}

#[derive(Copy, Clone, Debug)]
pub(crate) enum Yielded {
    Point,
    Wait(&'static str),
    Park,
    /// Before a shared access, this CPU's clock is ahead of another runnable CPU's: let
    /// that one catch up first (no interrupt is taken here).
    Sync,
}

/// One simulated CPU's engine state, in one cache line: at 1024 CPUs the CPU that runs next
/// is usually cold in the host's caches, and these are read together on every resume.
#[repr(align(64))]
pub(crate) struct CpuState {
    /// Virtual clock (ns).
    pub(crate) clock: Cell<f64>,
    /// When the earliest IPI sent to it arrives (∞: none).
    pub(crate) ipi_at: Cell<f64>,
    /// Since when it idles, parked (`None`: not parked).
    pub(crate) parked: Cell<Option<f64>>,
    /// Until when it does work outside the model (`Next::Busy`; 0 when it does not).
    pub(crate) busy_until: Cell<f64>,
    /// Whether it has quiesced.
    pub(crate) quiesced: Cell<bool>,
}

impl CpuState {
    pub(crate) fn new() -> CpuState {
        CpuState {
            clock: Cell::new(0.0),
            ipi_at: Cell::new(f64::INFINITY),
            parked: Cell::new(None),
            busy_until: Cell::new(0.0),
            quiesced: Cell::new(false),
        }
    }
}

pub(crate) struct Shared {
    /// Per-CPU engine state.
    pub(crate) cpus: Vec<CpuState>,
    pub(crate) coh: RefCell<Coherence>,
    pub(crate) prices: Prices,
    pub(crate) wakes: RefCell<Vec<(CpuId, f64)>>,
    pub(crate) bd: RefCell<Breakdown>,
    pub(crate) driver: RefCell<Box<dyn Driver>>,
    /// The driver watches points (scenario gates, point markers, directed preemptions).
    pub(crate) watch_points: bool,
    pub(crate) phase: Cell<Phase>,
    /// How far the running CPU may run unsynchronised: the earliest clock of the other
    /// runnable CPUs (and of the stop time, and of a parked CPU it woke); past it, points
    /// and cache hits may run on for the relaxed-causality window
    /// ([`crate::SimConfig::window_ns`]).
    pub(crate) horizon: Cell<f64>,
    /// [`crate::SimConfig::window_ns`].
    pub(crate) window: f64,
    /// Points the running CPU may still pass without yielding.
    pub(crate) inline: Cell<u32>,
    /// Context switches so far (the stop condition; the kernel's counters agree).
    pub(crate) switches: Cell<u64>,
    /// Until when the machine's broadcast-invalidation resource is busy.
    pub(crate) broadcast_busy: Cell<f64>,
    /// The timeline recorder, when one is asked for (`SimConfig::timeline`).
    pub(crate) tl: Option<RefCell<Recorder>>,
}

/// Points a CPU passes without yielding at most, while it is the earliest.
pub(crate) const INLINE_POINTS: u32 = 64;

impl Shared {
    pub(crate) fn counting(&self) -> bool {
        self.phase.get() == Phase::Run
    }
    /// The recorder, while the workload runs (not in the drain and quiesce).
    #[inline]
    pub(crate) fn recording(&self) -> Option<std::cell::RefMut<'_, Recorder>> {
        match &self.tl {
            Some(r) if self.counting() => Some(r.borrow_mut()),
            _ => None,
        }
    }
    pub(crate) fn add(&self, cpu: CpuId, cat: Cat, ns: f64) {
        let c = &self.cpus[cpu].clock;
        c.set(c.get() + ns);
        if self.counting() {
            self.bd.borrow_mut().add(cat, ns);
        }
    }
}

pub(crate) struct SimCpu<'y> {
    pub(crate) id: CpuId,
    pub(crate) yielder: &'y Yielder<Deliver, Yielded>,
    pub(crate) sh: Rc<Shared>,
    pub(crate) trace: Trace,
}

impl SimCpu<'_> {
    pub(crate) fn suspend(&self, k: &Kernel, y: Yielded) {
        if self.yielder.suspend(y) == Deliver::Ipi {
            self.irq(k);
        }
    }

    /// Takes the interrupt: `ipi.handler`, then the model's handler.
    fn irq(&self, k: &Kernel) {
        let sh = &self.sh;
        if sh.tl.is_some() {
            return self.irq_recorded(k);
        }
        sh.add(self.id, Cat::IpiHandler, sh.prices.ipi_handler);
        k.irq_entry(self);
    }

    #[cold]
    #[inline(never)]
    fn irq_recorded(&self, k: &Kernel) {
        let sh = &self.sh;
        if let Some(mut tl) = sh.recording() {
            tl.irq_begin(self.id, sh.cpus[self.id].clock.get(), &self.trace);
        }
        sh.add(self.id, Cat::IpiHandler, sh.prices.ipi_handler);
        k.irq_entry(self);
        if let Some(mut tl) = sh.recording() {
            tl.irq_end(k, self.id, sh.cpus[self.id].clock.get());
        }
    }

    /// Prices an access at `now` and charges it.
    #[inline(always)]
    fn price(&self, now: f64, k: LineKey, kind: Access) -> Price {
        let sh = &self.sh;
        let p = sh.coh.borrow_mut().access_key(self.id, now, k, kind);
        sh.cpus[self.id].clock.set(now + p.total);
        if sh.counting() {
            let mut bd = sh.bd.borrow_mut();
            bd.add(Cat::Access, p.total - p.stall);
            bd.stall_kind(k.table, p.stall);
        }
        p
    }

    /// Within the window, whether an access at `t` may run ahead of the horizon `h` (see
    /// [`SimConfig::window_ns`]): a hit; a miss on a line with no transfer since `h - W`; or
    /// an access to a line used by exactly one other CPU since `h - W`, which cannot touch it
    /// before `t` (it is parked with no wakeup due before `t`, or already past `t`). A hit
    /// and the one-other-CPU case also need the line to have had no third user since
    /// `h - W`.
    ///
    /// Why `h - W` and not `t - W`: what the engine knows of a line is what the CPUs did up
    /// to their clocks, that is up to about `h`; the CPUs behind `t` have not yet done what
    /// they will do between `h` and `t`. Looking back a whole window from `h` is what tells a
    /// line several CPUs use (R's `mm_count`) from a pair's. With `t - W`, a CPU near `h + W`
    /// looked back over almost nothing, and under R's contention two SMT siblings handed
    /// `mm_count` to each other as hits and pair transfers ahead of the 62 CPUs that take it
    /// in between: from a 3 µs window on, R's queue was gone at 64 CPUs (`intel-icx-2s`:
    /// 31 ns of stall per switch against 1,006 exact; `crates/sim/tests/window.rs`).
    ///
    /// [`SimConfig::window_ns`]: crate::SimConfig::window_ns
    #[inline]
    fn may_run_ahead(&self, t: f64, k: LineKey, kind: Access) -> bool {
        let sh = &self.sh;
        let coh = sh.coh.borrow();
        let since = sh.horizon.get() - sh.window;
        if let Some(mixed) = coh.hit_mixed_key(self.id, k, kind, since) {
            return !mixed;
        }
        if coh.quiet_since_key(k, since) {
            return true;
        }
        match coh.other_user_key(self.id, k, since) {
            Some((o, busy)) if busy <= t => {
                let st = &sh.cpus[o];
                st.clock.get() >= t
                    || (st.parked.get().is_some()
                        && !sh.wakes.borrow().iter().any(|&(c, at)| c == o && at < t))
            }
            _ => false,
        }
    }

    #[cold]
    #[inline(never)]
    fn point_recorded(&self, k: &Kernel, at: &'static str) {
        let sh = &self.sh;
        if let Some(mut tl) = sh.recording() {
            tl.point(k, self.id, sh.cpus[self.id].clock.get(), at, &self.trace);
        }
    }

    #[cold]
    #[inline(never)]
    fn charge_recorded(&self, ev: Event) {
        let sh = &self.sh;
        if let Some(mut tl) = sh.recording() {
            tl.charge(self.id, sh.cpus[self.id].clock.get(), ev, &self.trace);
        }
    }

    #[cold]
    #[inline(never)]
    fn access_recorded(&self, now: f64, line: Line, kind: Access) {
        let sh = &self.sh;
        let src = match line {
            Line::MmCount(_) if sh.counting() => sh.coh.borrow().source(self.id, line, kind),
            _ => None,
        };
        let p = self.price(now, key(line), kind);
        if let Some(mut tl) = sh.recording() {
            tl.access(self.id, line, kind, now, p.total, src, &self.trace);
        }
    }
}

impl Cpu for SimCpu<'_> {
    fn id(&self) -> CpuId {
        self.id
    }
    fn point(&self, k: &Kernel, at: &'static str) {
        let sh = &self.sh;
        if sh.tl.is_some() {
            self.point_recorded(k, at);
        }
        if sh.watch_points && sh.driver.borrow_mut().at_point(self.id, at) {
            // A scenario gate: spin here (taking interrupts) until its marker is set.
            while sh.driver.borrow().held(self.id, at) {
                self.wait(k, "gate");
            }
        }
        let now = sh.cpus[self.id].clock.get();
        let budget = sh.inline.get();
        // Other CPUs need to run only when one of them (or the stop time) is behind us:
        // then yield. Otherwise run on (shared accesses still synchronise, see `access`),
        // taking a due interrupt here, as the engine would on resuming us — but yield every
        // so often anyway so that the stop condition is checked.
        if now > sh.horizon.get() + sh.window || budget == 0 {
            sh.inline.set(INLINE_POINTS);
            return self.suspend(k, Yielded::Point);
        }
        sh.inline.set(budget - 1);
        if sh.cpus[self.id].ipi_at.get() <= now
            && k.irqs_enabled(self.id)
            && k.cpu_online(self.id)
            && k.ipi_pending(self.id)
        {
            sh.cpus[self.id].ipi_at.set(f64::INFINITY);
            self.irq(k);
        }
    }
    fn preempt(&self, at: &'static str) -> Option<Vec<lazymm_model::TaskRef>> {
        if !self.sh.watch_points {
            return None;
        }
        self.sh.driver.borrow_mut().preempt(self.id, at)
    }
    fn wait(&self, k: &Kernel, on: &'static str) {
        let sh = &self.sh;
        if sh.tl.is_none() {
            return self.suspend(k, Yielded::Wait(on));
        }
        let t0 = sh.cpus[self.id].clock.get();
        let d = self.yielder.suspend(Yielded::Wait(on));
        if let Some(mut tl) = sh.recording() {
            tl.wait(self.id, on, t0, sh.cpus[self.id].clock.get());
        }
        if d == Deliver::Ipi {
            self.irq(k);
        }
    }
    fn kick(&self, target: CpuId) {
        let sh = &self.sh;
        let t0 = sh.cpus[self.id].clock.get();
        sh.add(self.id, Cat::IpiSend, sh.prices.ipi_send);
        if sh.tl.is_some() {
            if let Some(mut tl) = sh.recording() {
                let t1 = sh.cpus[self.id].clock.get();
                tl.kick(self.id, target, t0, t1, &self.trace);
            }
        }
        let arrival = sh.cpus[self.id].clock.get() + sh.prices.ipi_delivery;
        let t = &sh.cpus[target].ipi_at;
        t.set(t.get().min(arrival));
        let at = arrival + sh.prices.idle_exit;
        if sh.cpus[target].parked.get().is_some() {
            // The target will act from `at`: we may not run past it unsynchronised.
            sh.horizon.set(sh.horizon.get().min(at));
        }
        sh.wakes.borrow_mut().push((target, at));
    }
    fn resched(&self, target: CpuId) {
        let sh = &self.sh;
        let at = sh.cpus[self.id].clock.get()
            + sh.coh.borrow().transfer(target, self.id)
            + sh.prices.poll_wake;
        if sh.cpus[target].parked.get().is_some() {
            sh.horizon.set(sh.horizon.get().min(at));
        }
        sh.wakes.borrow_mut().push((target, at));
    }
    fn now(&self) -> u64 {
        self.sh.cpus[self.id].clock.get() as u64
    }
    fn jiffies(&self) -> u64 {
        // HZ = 1000: one jiffy per virtual millisecond.
        (self.sh.cpus[self.id].clock.get() / 1e6) as u64
    }
    fn charge(&self, ev: Event) {
        if ev == Event::ContextSwitch {
            self.sh.switches.set(self.sh.switches.get() + 1);
        }
        let sh = &self.sh;
        if sh.tl.is_some() {
            self.charge_recorded(ev);
        }
        if ev == Event::BroadcastFlush {
            // Broadcast invalidations from different CPUs do not overlap: TLBI broadcast
            // latency "increases almost linearly with the number of CPUs trying to send tlbi
            // broadcasts at the same time" (Arcangeli, arm64 "skip tlbi broadcast", 2020,
            // hardware-costs.md second pass §4). One machine-wide resource, busy for each.
            let now = sh.cpus[self.id].clock.get();
            let start = now.max(sh.broadcast_busy.get());
            sh.broadcast_busy.set(start + sh.prices.broadcast);
            sh.add(self.id, Cat::Flush, start - now + sh.prices.broadcast);
            return;
        }
        if let Some((cat, ns)) = sh.prices.event(ev) {
            sh.add(self.id, cat, ns);
        }
    }
    fn access(&self, line: Line, kind: Access) {
        let sh = &self.sh;
        let k = key(line);
        let t = sh.cpus[self.id].clock.get();
        let h = sh.horizon.get();
        if t > h && (t > h + sh.window || !self.may_run_ahead(t, k, kind)) {
            // Causality: another CPU is still behind us in virtual time; its accesses up to
            // our time must happen first (it may, e.g., go idle before our wakeup reaches
            // its runqueue). Within the window, a hit may run ahead (`SimConfig::window_ns`).
            self.yielder.suspend(Yielded::Sync);
        }
        let now = sh.cpus[self.id].clock.get();
        if sh.tl.is_some() {
            return self.access_recorded(now, line, kind);
        }
        self.price(now, k, kind);
    }
    fn trace(&self) -> &Trace {
        &self.trace
    }
}
