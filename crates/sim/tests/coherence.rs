//! The coherence model on the toy profile (tests/data/toy-machine.toml: 16 CPUs, 2 sockets
//! of 2 clusters of 2 cores of 2 threads; transfer 10 ns SMT, 20 ns cluster, 50 ns socket,
//! 100 ns cross-socket; local access and RMW cost 0, so every time below is transfers only).

use lazymm_model::machine::{Access, Line};
use lazymm_profile::Profile;
use lazymm_sim::Coherence;

fn toy() -> Profile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/toy-machine.toml");
    Profile::load(std::path::Path::new(path)).expect("toy profile parses")
}

const L: Line = Line::MmCount(0);

#[test]
fn two_cpus_rmw_one_line_each_rmw_pays_one_transfer() {
    let mut c = Coherence::new(&toy(), 16);
    // CPU 0 touches the line first: no other holder, no transfer.
    assert_eq!(c.access(0, 0.0, L, Access::Rmw).total, 0.0);
    // CPU 8 (other socket) then CPU 0 alternate, each long after the previous transfer
    // finished: each RMW takes the line from the other CPU: one cross-socket transfer.
    let mut t = 1000.0;
    for i in 0..10 {
        let cpu = if i % 2 == 0 { 8 } else { 0 };
        let p = c.access(cpu, t, L, Access::Rmw);
        assert_eq!(p.total, 100.0, "rmw {i}");
        assert_eq!(p.stall, 100.0);
        t += 1000.0;
    }
    // The owner's own RMW is local.
    assert_eq!(c.access(0, t, L, Access::Rmw).total, 0.0);
}

#[test]
fn rmws_on_one_line_queue_behind_each_other() {
    let mut c = Coherence::new(&toy(), 16);
    c.access(0, 0.0, L, Access::Rmw);
    // CPUs 2, 4, 6 (same socket as 0, other cores; 2 is in 0's cluster: 20 ns; 4 and 6 in
    // the other cluster: 50 ns) all RMW at t = 100. Each waits for the transfer before it:
    // 2 takes it from 0 (20 ns, done at 120); 4 waits until 120 and takes it from 2 (50 ns:
    // other cluster, done at 170, 70 ns after it asked); 6 waits until 170 and takes it from
    // 4 (same cluster: 20 ns, done at 190: 90 ns).
    assert_eq!(c.access(2, 100.0, L, Access::Rmw).total, 20.0);
    assert_eq!(c.access(4, 100.0, L, Access::Rmw).total, 70.0);
    assert_eq!(c.access(6, 100.0, L, Access::Rmw).total, 90.0);
}

#[test]
fn loads_share_a_line_until_the_next_write() {
    let mut c = Coherence::new(&toy(), 16);
    c.access(0, 0.0, L, Access::Store);
    // CPU 1 (SMT sibling) loads the modified line: 10 ns; it now shares it with 0.
    assert_eq!(c.access(1, 100.0, L, Access::Load).total, 10.0);
    // A second load by 1 hits.
    assert_eq!(c.access(1, 200.0, L, Access::Load).total, 0.0);
    // CPU 8 loads: from the nearest sharer, across the socket: 100 ns.
    assert_eq!(c.access(8, 300.0, L, Access::Load).total, 100.0);
    // CPU 0 writes: it must invalidate 1 and 8; the farthest (8) bounds it: 100 ns.
    assert_eq!(c.access(0, 1000.0, L, Access::Rmw).total, 100.0);
}

/// What the relaxed-causality window asks of a line: whether an access hits, whether it has
/// been quiet, and whether it is used by one other CPU only (a pair's pipe) or by more (a
/// contended mm_count), which must wait for exact order.
#[test]
fn window_queries_hit_quiet_and_one_other_user() {
    let mut c = Coherence::new(&toy(), 16);
    assert!(!c.hits(0, L, Access::Load), "never touched");
    assert_eq!(c.other_user(0, L, 0.0), None, "never touched");
    c.access(0, 0.0, L, Access::Rmw);
    assert!(c.hits(0, L, Access::Rmw) && c.hits(0, L, Access::Load));
    assert!(!c.hits(1, L, Access::Load));
    assert_eq!(c.other_user(0, L, 0.0), None, "CPU 0 alone");
    // CPU 1 (SMT sibling) takes it at 100 ns: busy until 110 (one 10 ns transfer).
    c.access(1, 100.0, L, Access::Rmw);
    assert_eq!(c.other_user(0, L, 0.0), Some((1, 110.0)));
    assert_eq!(c.other_user(1, L, 0.0), Some((0, 110.0)));
    assert!(c.quiet_since(L, 110.0) && !c.quiet_since(L, 109.0));
    // Ping-pong between the two keeps it a pair; a third writer makes it used by more
    // while the last three writers (owner and the two before) include both others.
    c.access(0, 200.0, L, Access::Rmw);
    assert_eq!(c.other_user(0, L, 0.0), Some((1, 210.0)));
    c.access(2, 300.0, L, Access::Rmw);
    assert_eq!(c.other_user(0, L, 0.0), None);
    assert_eq!(c.other_user(2, L, 0.0), None);
    // Last writers 0, 2, 0: CPU 1 has aged out (cluster transfer 2 → 0: 20 ns).
    // The transfers at 300 and 400 each had three users (0, 1, 2 among the last writers and
    // the taker): the line is a pair's again only for a look-back that starts after 420.
    c.access(0, 400.0, L, Access::Rmw);
    assert!(c.mixed_since(L, 419.0) && !c.mixed_since(L, 420.0));
    assert_eq!(c.other_user(0, L, 0.0), None, "CPU 1 used it since 0");
    assert_eq!(c.other_user(0, L, 420.0), Some((2, 420.0)));
    c.access(2, 500.0, L, Access::Rmw);
    assert_eq!(
        c.other_user(0, L, 420.0),
        Some((2, 520.0)),
        "last writers 2, 0, 2"
    );
    assert!(!c.mixed_since(L, 420.0), "a pair's transfer mixes nothing");
    // Loads make sharers users too: a fourth CPU's load brings a second other user.
    c.access(3, 600.0, L, Access::Load);
    assert_eq!(c.other_user(0, L, 0.0), None);
    assert!(c.mixed_since(L, 600.0));
}

/// Two SMT siblings taking turns at a line that a third CPU also takes (R's `mm_count`
/// under a lazy switch on each sibling): the last three writers name only the siblings, but
/// the line is not theirs alone, so neither may run ahead on it, not even on a hit, until
/// a whole look-back has passed without the third CPU.
#[test]
fn window_queries_a_pair_among_more_users_is_not_a_pair() {
    let mut c = Coherence::new(&toy(), 16);
    c.access(0, 0.0, L, Access::Rmw);
    c.access(1, 100.0, L, Access::Rmw); // 0 → 1 (SMT, 10 ns): a pair, nothing mixed
    assert!(!c.mixed_since(L, f64::NEG_INFINITY));
    c.access(4, 200.0, L, Access::Rmw); // users 1, 0 and the taker 4: mixed
    assert!(c.mixed_since(L, 200.0));
    c.access(1, 300.0, L, Access::Rmw); // users 4, 1, 0: mixed
    c.access(0, 400.0, L, Access::Rmw); // users 1, 4, 1 and the taker 0: mixed
    c.access(1, 500.0, L, Access::Rmw); // users 0, 1, 4: mixed
    let last = 500.0 + c.transfer(1, 0);
    // Last writers 1, 0, 1: only the siblings, yet CPU 4 took the line between them.
    assert!(c.hits(1, L, Access::Rmw));
    assert!(c.mixed_since(L, last - 1.0));
    assert_eq!(c.other_user(0, L, last - 1.0), None);
    assert_eq!(c.other_user(0, L, last), Some((1, last)));
}
