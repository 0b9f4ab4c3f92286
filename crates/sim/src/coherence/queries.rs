//! Read-only queries on the line table: what the relaxed-causality window asks before it
//! lets a CPU run ahead ([`Coherence::hits`], [`Coherence::quiet_since`],
//! [`Coherence::other_user`], [`Coherence::mixed_since`]) and what the timeline asks to draw a transfer
//! ([`Coherence::source`]). None of them changes a line's state.

use super::{key, Coherence, LineKey, FEW_SHARERS, NONE};
use lazymm_model::machine::{Access, Line};

impl Coherence {
    /// Whether an access of `kind` to `line` by `cpu` would hit: a load of a line `cpu`
    /// owns or shares, a store or RMW of a line it owns. A hit changes no line state and
    /// waits for no other CPU, which is what lets the engine run it ahead of other CPUs'
    /// clocks ([`crate::SimConfig::window_ns`]).
    #[inline]
    pub fn hits(&self, cpu: usize, line: Line, kind: Access) -> bool {
        self.hits_key(cpu, key(line), kind)
    }

    /// [`Coherence::hits`] of the line at `k`.
    #[inline]
    pub(crate) fn hits_key(&self, cpu: usize, k: LineKey, kind: Access) -> bool {
        (self.lines[k.table].get(k.i)).is_some_and(|st| st.held_by(cpu as u32, kind))
    }

    /// Whether a transfer of `line` completed after `since` while the line had three or
    /// more recent users (see [`Coherence::other_user`]): several CPUs use it lately.
    #[inline]
    pub fn mixed_since(&self, line: Line, since: f64) -> bool {
        self.mixed_since_key(key(line), since)
    }

    /// [`Coherence::mixed_since`] of the line at `k`.
    #[inline]
    pub(crate) fn mixed_since_key(&self, k: LineKey, since: f64) -> bool {
        (self.lines[k.table].get(k.i)).is_some_and(|st| st.mixed_at > since)
    }

    /// For the window: whether an access of `kind` by `cpu` to the line at `k` hits
    /// ([`Coherence::hits`]), and if so whether the line was mixed since `since`
    /// ([`Coherence::mixed_since`]), in one lookup. `None`: not a hit.
    #[inline]
    pub(crate) fn hit_mixed_key(
        &self,
        cpu: usize,
        k: LineKey,
        kind: Access,
        since: f64,
    ) -> Option<bool> {
        let st = self.lines[k.table].get(k.i)?;
        st.held_by(cpu as u32, kind).then_some(st.mixed_at > since)
    }

    /// Whether `line` has been touched and no transfer of it has been in flight or queued
    /// since `since`.
    #[inline]
    pub fn quiet_since(&self, line: Line, since: f64) -> bool {
        self.quiet_since_key(key(line), since)
    }

    /// [`Coherence::quiet_since`] of the line at `k`.
    #[inline]
    pub(crate) fn quiet_since_key(&self, k: LineKey, since: f64) -> bool {
        (self.lines[k.table].get(k.i)).is_some_and(|st| st.home != NONE && st.busy_until <= since)
    }

    /// When a touched `line`'s recent users — its owner, its sharers (at most
    /// [`FEW_SHARERS`]) and its last three writers — are `cpu` and exactly one other CPU,
    /// and have been since `since` (no transfer completed after `since` while the line had
    /// three or more users): that CPU, and until when the line is busy. `None` otherwise.
    ///
    /// The second condition matters where two CPUs hand a line to each other among many
    /// that also use it: two SMT siblings taking turns at a contended `mm_count` leave only
    /// themselves in its last three writers, though the other CPUs take it between their
    /// turns.
    #[inline]
    pub fn other_user(&self, cpu: usize, line: Line, since: f64) -> Option<(usize, f64)> {
        self.other_user_key(cpu, key(line), since)
    }

    /// [`Coherence::other_user`] of the line at `k`.
    #[inline]
    pub(crate) fn other_user_key(
        &self,
        cpu: usize,
        k: LineKey,
        since: f64,
    ) -> Option<(usize, f64)> {
        let st = self.lines[k.table].get(k.i).filter(|st| st.home != NONE)?;
        if st.sharers.len() > FEW_SHARERS || st.mixed_at > since {
            return None;
        }
        let me = cpu as u32;
        let mut other = NONE;
        let users = [st.owner, st.prev_owner[0], st.prev_owner[1]];
        for u in users.into_iter().chain(st.sharers.iter().copied()) {
            if u == NONE || u == me || u == other {
                continue;
            }
            if other != NONE {
                return None;
            }
            other = u;
        }
        (other != NONE).then_some((other as usize, st.busy_until))
    }

    /// Number of distinct lines touched so far.
    pub fn lines(&self) -> usize {
        self.touched
    }

    /// The CPU an access of `kind` by `cpu` would take `line` from (as [`Coherence::access`]
    /// chooses: the owner, else the nearest sharer for a load and the farthest for a write),
    /// and until when the line is busy; `None` for a hit or a first touch. Read-only: the
    /// timeline's transfer flows.
    pub fn source(&self, cpu: usize, line: Line, kind: Access) -> Option<(usize, f64)> {
        let k = key(line);
        let st = self.lines[k.table].get(k.i)?;
        let me = cpu as u32;
        let cost = |s: &&u32| self.transfer_homed(cpu, **s as usize, st.home);
        let from = match kind {
            _ if st.owner == me => return None,
            Access::Load if st.sharers.contains(&me) => return None,
            _ if st.owner != NONE => st.owner,
            Access::Load => *st
                .sharers
                .iter()
                .min_by(|a, b| cost(a).total_cmp(&cost(b)))?,
            _ => *st
                .sharers
                .iter()
                .filter(|&&s| s != me)
                .max_by(|a, b| cost(a).total_cmp(&cost(b)))?,
        };
        Some((from as usize, st.busy_until))
    }
}
