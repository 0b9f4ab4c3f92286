//! The coherence model: every shared cache line the kernel model touches has an owner or a
//! set of sharers, a home socket, and a time until which it is busy in a transfer.
//!
//! ```text
//!  load   by c: c holds it (owner or sharer)      → local
//!               another CPU o holds it modified   → transfer(c, o); o and c share it;
//!                                                   waits for, and occupies, the line
//!               shared by others                  → transfer(c, nearest sharer); c shares
//!  store/ by c: c owns it                         → local (+ rmw)
//!  rmw          else                              → transfer(c, owner or farthest sharer),
//!                                                   starting when the line is free; the line
//!                                                   is busy for the transfer; c owns it alone
//! ```
//! Serialisation is what makes a contended line expensive: N CPUs RMW-ing one `mm_count`
//! queue behind each other, each waiting for the previous transfer to finish — the cost R
//! pays comes out of this queue, not out of a formula.
//!
//! Transfer latency is the profile's by topology distance between the requester and the
//! CPU it takes the line from. On profiles with `home_aware` (AMD: hardware-costs.md §1
//! "latency depends on where the line is homed"), a transfer requested from a socket other
//! than the line's home goes through the home: it costs at least the requester's distance
//! to the home socket. The home is the socket of the CPU that first touched the line.

use lazymm_model::machine::{Access, Line};
use lazymm_profile::{Distance, Place, Profile};
use smallvec::SmallVec;

mod queries;

const NONE: u32 = u32::MAX;

/// A CPU's [`Place`] in 10 bytes (the simulator allows 4096 CPUs), so that 1024 CPUs' places
/// fit in a few KiB of host cache: a transfer's price reads two of them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Spot {
    node: u16,
    socket: u16,
    cluster: u16,
    core: u16,
    thread: u16,
}

impl Spot {
    fn of(p: &Place) -> Spot {
        let n = |x: usize| u16::try_from(x).expect("topology ids below 65536");
        Spot {
            node: n(p.node),
            socket: n(p.socket),
            cluster: n(p.cluster),
            core: n(p.core),
            thread: n(p.thread),
        }
    }
}

#[derive(Debug)]
#[repr(align(64))]
struct LineState {
    owner: u32,
    /// The two CPUs that took the line for writing before its current owner, latest first
    /// (`NONE`: none yet): with `owner`, its last three writers ([`Coherence::other_user`]).
    prev_owner: [u32; 2],
    /// Up to four inline: the common case (a pair's lines, a CPU's own) takes no pointer
    /// chase to another cache line.
    sharers: SmallVec<[u32; 4]>,
    busy_until: f64,
    /// When a transfer last completed while the line's recent users (as
    /// [`Coherence::other_user`] counts them) and the CPU taking it were three or more
    /// CPUs: a line several CPUs use lately is not a pair's, whatever its last three
    /// writers say (two siblings handing a contended `mm_count` to each other).
    mixed_at: f64,
    home: u32,
}

impl LineState {
    /// Whether an access of `kind` by `me` hits: a load of a line `me` owns or shares, a
    /// store or RMW of a line it owns.
    #[inline]
    fn held_by(&self, me: u32, kind: Access) -> bool {
        self.owner == me || (kind == Access::Load && self.sharers.contains(&me))
    }

    /// Whether the line's recent users and `me` are more than two CPUs.
    #[inline]
    fn mixes(&self, me: u32) -> bool {
        let sharers = self.sharers.as_slice();
        if sharers.len() > FEW_SHARERS {
            return true;
        }
        let mut other = NONE;
        let mut third = |u: u32| {
            if u == NONE || u == me || u == other {
                return false;
            }
            if other != NONE {
                return true;
            }
            other = u;
            false
        };
        third(self.owner)
            || third(self.prev_owner[0])
            || third(self.prev_owner[1])
            || sharers.iter().any(|&u| third(u))
    }
}

/// The price of one access.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Price {
    /// Time the access takes on the requesting CPU, waiting included (ns).
    pub total: f64,
    /// The part of `total` spent waiting for the line (queueing and transfer), beyond a
    /// local access.
    pub stall: f64,
}

/// Latencies by distance, and the line table.
#[derive(Debug)]
pub struct Coherence {
    /// Where each CPU sits, packed ([`Spot`]): read on every transfer.
    spots: Vec<Spot>,
    /// Node of each socket.
    socket_node: Vec<usize>,
    lat: [f64; 6],
    home_aware: bool,
    rmw: f64,
    /// Line states, one dense table per line kind (see [`key`]).
    lines: [Vec<LineState>; NKINDS],
    touched: usize,
    /// Keep `LineState::mixed_at` (only the relaxed-causality window reads it).
    track_mixed: bool,
}

pub(crate) const NKINDS: usize = 15;

/// Sharers [`Coherence::other_user`] examines at most.
pub const FEW_SHARERS: usize = 4;

/// [`Line::kind`] of each kind number ([`kind_no`]).
pub(crate) const KIND_NAMES: [&str; NKINDS] = [
    "mm_count",
    "mm_users",
    "mm_cpumask",
    "mm_context",
    "rq",
    "rq_lazy_mm",
    "hp_slot",
    "tlbstate",
    "csd_queue",
    "csd_lock",
    "task",
    "pipe",
    "tif",
    "mm_lru_gen",
    "mm_list",
];

/// The kind number of a line: its table in the coherence model, its slot in
/// [`crate::cost::Stalls`].
#[inline]
pub(crate) fn kind_no(line: Line) -> usize {
    key(line).table
}

/// Where a line's state is: its table (the kind number) and its index in it. The engine
/// computes it once per access and passes it down: the hit test, the window's queries, the
/// access and the stall account all need it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct LineKey {
    pub(crate) table: usize,
    i: usize,
}

/// A line's table and index: mm, CPU, task or pipe number (mm_cpumask: 8 lines per mm,
/// 4096 CPUs at most).
#[inline]
pub(crate) fn key(line: Line) -> LineKey {
    let (t, n, sub) = match line {
        Line::MmCount(n) => (0, n, 0),
        Line::MmUsers(n) => (1, n, 0),
        Line::MmMask(n, l) => (2, n, l),
        Line::MmContext(n) => (3, n, 0),
        Line::Rq(n) => (4, n, 0),
        Line::RqLazy(n) => (5, n, 0),
        Line::HpSlot(n) => (6, n, 0),
        Line::TlbState(n) => (7, n, 0),
        Line::CsdQueue(n) => (8, n, 0),
        Line::CsdLock(n) => (9, n, 0),
        Line::Task(n) => (10, n, 0),
        Line::Pipe(n) => (11, n, 0),
        Line::Tif(n) => (12, n, 0),
        Line::MmLruGen(n) => (13, n, 0),
        Line::MmList(n) => (14, n, 0),
    };
    let per = if t == 2 { 8 } else { 1 };
    LineKey {
        table: t,
        i: n as usize * per + sub as usize,
    }
}

fn idx(d: Distance) -> usize {
    match d {
        Distance::Same => 0,
        Distance::Smt => 1,
        Distance::Cluster => 2,
        Distance::Socket => 3,
        Distance::CrossSocket => 4,
        Distance::CrossNode => 5,
    }
}

impl Coherence {
    /// Whether to keep, per line, when it last had three or more users
    /// ([`Coherence::mixed_since`]; on by default). Only the relaxed-causality window asks,
    /// so the exact engine turns it off: it costs each miss a scan of the line's users.
    pub fn set_track_mixed(&mut self, on: bool) {
        self.track_mixed = on;
    }

    /// The coherence model of `ncpus` CPUs of `p`.
    pub fn new(p: &Profile, ncpus: usize) -> Coherence {
        let c = &p.coherence;
        let places: Vec<Place> = (0..ncpus).map(|x| p.place(x)).collect();
        let spots = places.iter().map(Spot::of).collect();
        let nsockets = places.iter().map(|p| p.socket + 1).max().unwrap_or(1);
        let mut socket_node = vec![0; nsockets];
        for pl in &places {
            socket_node[pl.socket] = pl.node;
        }
        Coherence {
            spots,
            socket_node,
            lat: [
                c.local.get(),
                c.smt.get(),
                c.cluster.get(),
                c.socket.get(),
                c.cross_socket.get(),
                c.cross_node.get(),
            ],
            home_aware: c.home_aware.get() != 0.0,
            rmw: c.rmw.get(),
            lines: Default::default(),
            touched: 0,
            track_mixed: true,
        }
    }

    /// Topology distance between two CPUs (as [`Place::distance_to`]).
    pub fn distance(&self, a: usize, b: usize) -> Distance {
        let ids = |s: &Spot| [s.core, s.thread, s.cluster, s.socket, s.node];
        Distance::between(ids(&self.spots[a]), ids(&self.spots[b]))
    }

    /// One line transfer from `src` to `req` (no queueing).
    pub fn transfer(&self, req: usize, src: usize) -> f64 {
        self.lat[idx(self.distance(req, src))]
    }

    fn transfer_homed(&self, req: usize, src: usize, home: u32) -> f64 {
        let base = self.transfer(req, src);
        let pr = &self.spots[req];
        if !self.home_aware || pr.socket as u32 == home {
            return base;
        }
        // The requester's distance to the home socket: another socket of its node, or
        // another node (homes are sockets; compare by the home socket's first CPU's node).
        let home_node = self
            .socket_node
            .get(home as usize)
            .copied()
            .unwrap_or(pr.node as usize);
        let via_home = if home_node == pr.node as usize {
            self.lat[idx(Distance::CrossSocket)]
        } else {
            self.lat[idx(Distance::CrossNode)]
        };
        base.max(via_home)
    }

    /// Prices an access of `kind` to `line` by CPU `cpu` at time `now`, and updates the
    /// line's state.
    pub fn access(&mut self, cpu: usize, now: f64, line: Line, kind: Access) -> Price {
        self.access_key(cpu, now, key(line), kind)
    }

    /// [`Coherence::access`] of the line at `k`. A hit (most accesses: a CPU's own
    /// runqueue, its tasks, lines it already holds) changes no state and is answered here;
    /// the rest goes to [`Coherence::miss`].
    #[inline]
    pub(crate) fn access_key(&mut self, cpu: usize, now: f64, k: LineKey, kind: Access) -> Price {
        if self.hits_key(cpu, k, kind) {
            let extra = if kind == Access::Rmw { self.rmw } else { 0.0 };
            return Price {
                total: self.lat[0] + extra,
                stall: 0.0,
            };
        }
        self.miss(cpu, now, k, kind)
    }

    /// An access that is not a hit: a first touch, or a transfer queued behind the line.
    #[inline(never)]
    fn miss(&mut self, cpu: usize, now: f64, k: LineKey, kind: Access) -> Price {
        let local = self.lat[0];
        let me = cpu as u32;
        let home0 = self.spots[cpu].socket as u32;
        let (table_no, i) = (k.table, k.i);
        let track = self.track_mixed;
        let table = &mut self.lines[table_no];
        if table.len() <= i {
            table.resize_with(i + 1, || LineState {
                owner: NONE,
                prev_owner: [NONE; 2],
                sharers: SmallVec::new(),
                busy_until: 0.0,
                mixed_at: f64::NEG_INFINITY,
                home: NONE,
            });
        }
        let st = &mut table[i];
        if st.home == NONE {
            st.home = home0;
            self.touched += 1;
        }
        let home = st.home;
        match kind {
            Access::Load => {
                if st.owner == me || st.sharers.contains(&me) {
                    return Price {
                        total: local,
                        stall: 0.0,
                    };
                }
                let start = now.max(st.busy_until);
                let mixes = track && st.mixes(me);
                if st.owner != NONE {
                    let o = st.owner as usize;
                    st.owner = NONE;
                    st.sharers.clear();
                    st.sharers.push(o as u32);
                    st.sharers.push(me);
                    let cost = self.transfer_homed(cpu, o, home);
                    let st = &mut self.lines[table_no][i];
                    st.busy_until = start + cost;
                    if mixes {
                        st.mixed_at = start + cost;
                    }
                    return Price {
                        total: start - now + cost,
                        stall: start - now + cost - local,
                    };
                }
                if st.sharers.is_empty() {
                    // First touch: the line comes from memory or a cold cache; the model
                    // prices only transfers between CPUs.
                    st.sharers.push(me);
                    return Price {
                        total: local,
                        stall: 0.0,
                    };
                }
                let sharers = std::mem::take(&mut st.sharers);
                let cost = sharers
                    .iter()
                    .map(|&s| self.transfer_homed(cpu, s as usize, home))
                    .fold(f64::INFINITY, f64::min);
                let st = &mut self.lines[table_no][i];
                st.sharers = sharers;
                st.sharers.push(me);
                if mixes {
                    st.mixed_at = start + cost;
                }
                Price {
                    total: start - now + cost,
                    stall: start - now + cost - local,
                }
            }
            Access::Store | Access::Rmw => {
                let extra = if kind == Access::Rmw { self.rmw } else { 0.0 };
                if st.owner == me {
                    return Price {
                        total: local + extra,
                        stall: 0.0,
                    };
                }
                let src: Option<usize> = if st.owner != NONE {
                    Some(st.owner as usize)
                } else {
                    None
                };
                let mixes = track && st.mixes(me);
                let sharers = std::mem::take(&mut st.sharers);
                let busy = st.busy_until;
                let cost = match src {
                    Some(o) => self.transfer_homed(cpu, o, home),
                    None => sharers
                        .iter()
                        .filter(|&&s| s != me)
                        .map(|&s| self.transfer_homed(cpu, s as usize, home))
                        .fold(local, f64::max),
                };
                let start = now.max(busy);
                let st = &mut self.lines[table_no][i];
                st.prev_owner = [src.map_or(NONE, |o| o as u32), st.prev_owner[0]];
                st.owner = me;
                st.sharers = sharers;
                st.sharers.clear();
                st.busy_until = start + cost;
                if mixes {
                    st.mixed_at = start + cost;
                }
                Price {
                    total: start - now + cost + extra,
                    stall: start - now + cost - local,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
