//! The schemes compared, behind one trait, with the same payload and the same operations:
//! `read` dereferences the current value and returns a field, `write` replaces it and
//! retires the old one (setting its `retired_at`, for the latency histogram).
#![allow(dead_code)]

use arc_swap::{ArcSwap, Cache};
use crossbeam_epoch as epoch;
use lazyref::LazyArc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Instant;

/// Whether payloads count themselves and record retire times (the reclamation bench); off
/// for the throughput bench, where shared counters and clock reads would dominate writes.
pub static TRACK: AtomicBool = AtomicBool::new(false);
/// Only payloads of the current run count (deferred frees of an earlier run arrive late).
pub static RUN: AtomicUsize = AtomicUsize::new(0);
pub static CREATED: AtomicUsize = AtomicUsize::new(0);
pub static DROPPED: AtomicUsize = AtomicUsize::new(0);
pub static LATENCY: [AtomicU64; 48] = [const { AtomicU64::new(0) }; 48];

/// Stamps a just-retired payload with the time (when tracking).
pub fn stamp(retired_at: &AtomicU64) {
    if TRACK.load(Relaxed) {
        retired_at.store(now_ns(), Relaxed);
    }
}

pub fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

/// The shared value: a cache line of data; counts creations and drops, records latency.
pub struct Payload {
    pub v: u64,
    run: usize,
    _pad: [u64; 5],
    pub retired_at: AtomicU64,
}

impl Payload {
    pub fn new(v: u64) -> Payload {
        if TRACK.load(Relaxed) {
            CREATED.fetch_add(1, Relaxed);
        }
        Payload {
            v,
            run: RUN.load(Relaxed),
            _pad: [v; 5],
            retired_at: AtomicU64::new(0),
        }
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        if !TRACK.load(Relaxed) || self.run != RUN.load(Relaxed) {
            return;
        }
        let r = self.retired_at.load(Relaxed);
        if r != 0 {
            let d = now_ns().saturating_sub(r).max(1);
            LATENCY[63 - d.leading_zeros() as usize].fetch_add(1, Relaxed);
        }
        DROPPED.fetch_add(1, Relaxed);
    }
}

pub fn reset_counters() {
    RUN.fetch_add(1, SeqCst);
    CREATED.store(0, Relaxed);
    DROPPED.store(0, Relaxed);
    for b in &LATENCY {
        b.store(0, Relaxed);
    }
}

/// A shared pointer to `Payload` under one reclamation scheme.
pub trait Scheme: Send + Sync + 'static {
    /// Per-thread state (a hazard pointer, a cache) or `()`.
    type Local;
    fn new(v: u64) -> Self;
    fn local(&self) -> Self::Local;
    fn read(&self, l: &mut Self::Local) -> u64;
    fn write(&self, l: &mut Self::Local, v: u64);
    /// Holds a read for as long as the closure runs (the stalled reader).
    fn hold(&self, l: &mut Self::Local, f: &mut dyn FnMut());
    /// Reclaims whatever this thread has pending, where the scheme has such a call.
    fn flush(&self) {}
}

pub struct Lazy(LazyArc<Payload>);
impl Scheme for Lazy {
    type Local = ();
    fn new(v: u64) -> Self {
        Lazy(LazyArc::from_pointee(Payload::new(v)))
    }
    fn local(&self) {}
    #[inline]
    fn read(&self, _: &mut ()) -> u64 {
        self.0.load().v
    }
    fn write(&self, _: &mut (), v: u64) {
        if TRACK.load(Relaxed) {
            let old = self.0.swap(Arc::new(Payload::new(v)));
            stamp(&old.retired_at);
        } else {
            self.0.store(Arc::new(Payload::new(v)));
        }
    }
    fn hold(&self, _: &mut (), f: &mut dyn FnMut()) {
        let _g = self.0.load();
        f()
    }
    fn flush(&self) {
        lazyref::flush()
    }
}

pub struct ArcSwapLoad(Arc<ArcSwap<Payload>>);
pub struct ArcSwapFull(Arc<ArcSwap<Payload>>);
pub struct ArcSwapCache(Arc<ArcSwap<Payload>>);

fn arcswap_write(s: &ArcSwap<Payload>, v: u64) {
    if TRACK.load(Relaxed) {
        let old = s.swap(Arc::new(Payload::new(v)));
        stamp(&old.retired_at);
    } else {
        s.store(Arc::new(Payload::new(v)));
    }
}

impl Scheme for ArcSwapLoad {
    type Local = ();
    fn new(v: u64) -> Self {
        Self(Arc::new(ArcSwap::from_pointee(Payload::new(v))))
    }
    fn local(&self) {}
    #[inline]
    fn read(&self, _: &mut ()) -> u64 {
        self.0.load().v
    }
    fn write(&self, _: &mut (), v: u64) {
        arcswap_write(&self.0, v)
    }
    fn hold(&self, _: &mut (), f: &mut dyn FnMut()) {
        let _g = self.0.load();
        f()
    }
}

impl Scheme for ArcSwapFull {
    type Local = ();
    fn new(v: u64) -> Self {
        Self(Arc::new(ArcSwap::from_pointee(Payload::new(v))))
    }
    fn local(&self) {}
    #[inline]
    fn read(&self, _: &mut ()) -> u64 {
        self.0.load_full().v
    }
    fn write(&self, _: &mut (), v: u64) {
        arcswap_write(&self.0, v)
    }
    fn hold(&self, _: &mut (), f: &mut dyn FnMut()) {
        let _g = self.0.load_full();
        f()
    }
}

impl Scheme for ArcSwapCache {
    type Local = Cache<Arc<ArcSwap<Payload>>, Arc<Payload>>;
    fn new(v: u64) -> Self {
        Self(Arc::new(ArcSwap::from_pointee(Payload::new(v))))
    }
    fn local(&self) -> Self::Local {
        Cache::new(self.0.clone())
    }
    #[inline]
    fn read(&self, c: &mut Self::Local) -> u64 {
        c.load().v
    }
    fn write(&self, _: &mut Self::Local, v: u64) {
        arcswap_write(&self.0, v)
    }
    fn hold(&self, c: &mut Self::Local, f: &mut dyn FnMut()) {
        c.load();
        f() // the cache keeps its Arc until its next load
    }
}

pub struct Haphazard(haphazard::AtomicPtr<Payload>);
impl Scheme for Haphazard {
    type Local = haphazard::HazardPointer<'static>;
    fn new(v: u64) -> Self {
        Self(haphazard::AtomicPtr::from(Box::new(Payload::new(v))))
    }
    fn local(&self) -> Self::Local {
        haphazard::HazardPointer::new()
    }
    #[inline]
    fn read(&self, hp: &mut Self::Local) -> u64 {
        self.0.safe_load(hp).expect("non-null").v
    }
    fn write(&self, _: &mut Self::Local, v: u64) {
        let old = self.0.swap(Box::new(Payload::new(v))).expect("non-null");
        // SAFETY: swapped out by us and not yet retired: still live. Then retired once.
        unsafe {
            stamp(&(*old.as_ptr()).retired_at);
            old.retire();
        }
    }
    fn hold(&self, hp: &mut Self::Local, f: &mut dyn FnMut()) {
        let _p = self.0.safe_load(hp);
        f()
    }
}

pub struct Epoch(epoch::Atomic<Payload>);
impl Scheme for Epoch {
    type Local = ();
    fn new(v: u64) -> Self {
        Self(epoch::Atomic::new(Payload::new(v)))
    }
    fn local(&self) {}
    #[inline]
    fn read(&self, _: &mut ()) -> u64 {
        let g = epoch::pin();
        // SAFETY: never null; protected by the pin.
        unsafe { self.0.load(Acquire, &g).deref().v }
    }
    fn write(&self, _: &mut (), v: u64) {
        let g = epoch::pin();
        let old = self.0.swap(epoch::Owned::new(Payload::new(v)), AcqRel, &g);
        // SAFETY: swapped out and never null; destroyed once, after every pin ends.
        unsafe {
            stamp(&old.deref().retired_at);
            g.defer_destroy(old);
        }
    }
    fn hold(&self, _: &mut (), f: &mut dyn FnMut()) {
        let _g = epoch::pin();
        f()
    }
    fn flush(&self) {
        epoch::pin().flush()
    }
}

impl Drop for Epoch {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no reader left.
        unsafe { drop(std::mem::take(&mut self.0).into_owned()) }
    }
}

pub struct Seize {
    c: seize::Collector,
    p: AtomicPtr<Payload>,
}
impl Scheme for Seize {
    type Local = ();
    fn new(v: u64) -> Self {
        Seize {
            c: seize::Collector::new(),
            p: AtomicPtr::new(Box::into_raw(Box::new(Payload::new(v)))),
        }
    }
    fn local(&self) {}
    #[inline]
    fn read(&self, _: &mut ()) -> u64 {
        use seize::Guard;
        let g = self.c.enter();
        // SAFETY: never null; protected by the guard.
        unsafe { (*g.protect(&self.p, Acquire)).v }
    }
    fn write(&self, _: &mut (), v: u64) {
        let old = self
            .p
            .swap(Box::into_raw(Box::new(Payload::new(v))), AcqRel);
        // SAFETY: swapped out, from `Box::into_raw`, retired once.
        unsafe {
            stamp(&(*old).retired_at);
            self.c.retire(old, seize::reclaim::boxed);
        }
    }
    fn hold(&self, _: &mut (), f: &mut dyn FnMut()) {
        let _g = self.c.enter();
        f()
    }
}

impl Drop for Seize {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no reader left; the current value was never retired.
        unsafe { drop(Box::from_raw(*self.p.get_mut())) }
    }
}

pub struct RwLockArc(Arc<RwLock<Arc<Payload>>>);
impl Scheme for RwLockArc {
    type Local = ();
    fn new(v: u64) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(Payload::new(v)))))
    }
    fn local(&self) {}
    #[inline]
    fn read(&self, _: &mut ()) -> u64 {
        self.0.read().unwrap().v
    }
    fn write(&self, _: &mut (), v: u64) {
        let old = std::mem::replace(&mut *self.0.write().unwrap(), Arc::new(Payload::new(v)));
        stamp(&old.retired_at);
    }
    fn hold(&self, _: &mut (), f: &mut dyn FnMut()) {
        let _a = self.0.read().unwrap().clone(); // a held read guard would block writers
        f()
    }
}

pub struct MutexArc(Mutex<Arc<Payload>>);
impl Scheme for MutexArc {
    type Local = ();
    fn new(v: u64) -> Self {
        Self(Mutex::new(Arc::new(Payload::new(v))))
    }
    fn local(&self) {}
    #[inline]
    fn read(&self, _: &mut ()) -> u64 {
        self.0.lock().unwrap().v
    }
    fn write(&self, _: &mut (), v: u64) {
        let old = std::mem::replace(&mut *self.0.lock().unwrap(), Arc::new(Payload::new(v)));
        stamp(&old.retired_at);
    }
    fn hold(&self, _: &mut (), f: &mut dyn FnMut()) {
        let _a = self.0.lock().unwrap().clone(); // a held lock would block writers
        f()
    }
}

/// Calls `$body` with each scheme type and its display name, in table order.
#[macro_export]
macro_rules! for_each_scheme {
    ($m:ident) => {
        $m!(common::Lazy, "lazyref");
        $m!(common::ArcSwapLoad, "arc-swap load");
        $m!(common::ArcSwapFull, "arc-swap load_full");
        $m!(common::ArcSwapCache, "arc-swap Cache");
        $m!(common::Haphazard, "haphazard");
        $m!(common::Epoch, "crossbeam-epoch");
        $m!(common::Seize, "seize");
        $m!(common::RwLockArc, "RwLock<Arc<T>>");
        $m!(common::MutexArc, "Mutex<Arc<T>>");
    };
}
