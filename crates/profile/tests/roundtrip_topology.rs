//! `to_toml` round trips; CPU placement and distances.

use lazymm_profile::{builtin, find, Distance, Param, Place, Profile};

#[test]
fn to_toml_round_trips_every_builtin() {
    for p in builtin().unwrap() {
        let text = p.to_toml();
        let back = Profile::parse(&text, "round-trip").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, p);
        assert_eq!(back.to_toml(), text);
    }
}

#[test]
fn to_toml_escapes_strings() {
    let mut p = find("altra-1s").unwrap();
    p.description = "quotes \" backslash \\ tab \t newline \n unicode é §".into();
    p.coherence.local = Param::estimated(0.1, "a \"quoted\" why\\");
    p.coherence.smt = Param::sourced(1e-3, "src");
    let back = Profile::parse(&p.to_toml(), "escapes").unwrap();
    assert_eq!(back, p);
}

/// 2 threads × 2 cores × 2 clusters × 2 sockets × 2 nodes = 32 CPUs.
fn small() -> Profile {
    let mut p = find("intel-icx-2s").unwrap();
    let t = &mut p.topology;
    for c in [
        &mut t.smt,
        &mut t.cores_per_cluster,
        &mut t.clusters_per_socket,
        &mut t.sockets_per_node,
        &mut t.nodes,
    ] {
        *c = Param::estimated(2.0, "test");
    }
    p
}

fn place(node: usize, socket: usize, cluster: usize, core: usize, thread: usize) -> Place {
    Place {
        node,
        socket,
        cluster,
        core,
        thread,
    }
}

#[test]
fn contiguous_numbering() {
    let p = small();
    assert_eq!(p.cpus(), 32);
    assert_eq!(p.place(0), place(0, 0, 0, 0, 0));
    assert_eq!(p.place(1), place(0, 0, 0, 0, 1));
    assert_eq!(p.place(5), place(0, 0, 1, 2, 1));
    assert_eq!(p.place(9), place(0, 1, 2, 4, 1));
    assert_eq!(p.place(17), place(1, 2, 4, 8, 1));
    assert_eq!(p.place(31), place(1, 3, 7, 15, 1));
    // Beyond the machine: more sockets and nodes in the same numbering.
    assert!(!p.extrapolated(32));
    assert!(p.extrapolated(33));
    assert_eq!(p.place(32), place(2, 4, 8, 16, 0));
}

#[test]
fn distances() {
    let p = small();
    let cases = [
        (0, 0, Distance::Same),
        (0, 1, Distance::Smt),
        (0, 2, Distance::Cluster),
        (0, 4, Distance::Socket),
        (0, 8, Distance::CrossSocket),
        (0, 16, Distance::CrossNode),
        (17, 16, Distance::Smt),
        (31, 24, Distance::Socket),
        (40, 0, Distance::CrossNode),
    ];
    for (a, b, d) in cases {
        assert_eq!(p.distance(a, b), d, "{a} {b}");
        assert_eq!(p.distance(b, a), d, "{b} {a}");
    }
    let c = &p.coherence;
    assert_eq!(c.transfer(Distance::Same), c.local.get());
    assert_eq!(c.transfer(Distance::Smt), c.smt.get());
    assert_eq!(c.transfer(Distance::Cluster), c.cluster.get());
    assert_eq!(c.transfer(Distance::Socket), c.socket.get());
    assert_eq!(c.transfer(Distance::CrossSocket), c.cross_socket.get());
    assert_eq!(c.transfer(Distance::CrossNode), c.cross_node.get());
}

#[test]
fn builtin_machine_sizes() {
    let sizes = [
        ("intel-icx-2s", 128),
        ("amd-genoa-2s", 384),
        ("amd-genoa-2s-invlpgb", 384),
        ("power9-2s-radix", 128),
        ("power9-2s-hash", 128),
        ("power8-16s", 1536),
        ("altra-1s", 80),
        ("altra-2s", 160),
    ];
    for (name, cpus) in sizes {
        assert_eq!(find(name).unwrap().cpus(), cpus, "{name}");
    }
    let icx = find("intel-icx-2s").unwrap();
    assert_eq!(icx.distance(0, 1), Distance::Smt);
    assert_eq!(icx.distance(0, 63), Distance::Cluster);
    assert_eq!(icx.distance(0, 64), Distance::CrossSocket);
    let genoa = find("amd-genoa-2s").unwrap();
    assert_eq!(genoa.distance(0, 15), Distance::Cluster);
    assert_eq!(genoa.distance(0, 16), Distance::Socket);
    assert_eq!(genoa.distance(0, 192), Distance::CrossSocket);
    let p8 = find("power8-16s").unwrap();
    assert_eq!(p8.distance(0, 8), Distance::Socket);
    assert_eq!(p8.distance(0, 96), Distance::CrossSocket);
    assert_eq!(p8.distance(0, 384), Distance::CrossNode);
}

/// The two Genoa profiles differ only in name, description and `tlb.invlpgb`.
#[test]
fn genoa_variants_differ_only_in_invlpgb() {
    let a = find("amd-genoa-2s").unwrap();
    let mut b = find("amd-genoa-2s-invlpgb").unwrap();
    assert_eq!((a.tlb.invlpgb.get(), b.tlb.invlpgb.get()), (0.0, 1.0));
    b.name = a.name.clone();
    b.description = a.description.clone();
    b.tlb.invlpgb = a.tlb.invlpgb.clone();
    for ((t, k, pa), (_, _, pb)) in a.params().into_iter().zip(b.params()) {
        assert_eq!(pa.get(), pb.get(), "{t}.{k}");
    }
}

/// A hand-built profile that bypasses validation still numbers CPUs without panicking.
#[test]
fn unvalidated_topology_does_not_panic() {
    let mut p = small();
    p.topology.smt = Param::estimated(0.0, "bad");
    p.topology.nodes = Param::estimated(f64::NAN, "bad");
    p.topology.cores_per_cluster = Param::estimated(1e300, "bad");
    let _ = (p.cpus(), p.place(usize::MAX), p.distance(0, usize::MAX));
}
