//! Unit tests of the coherence model's private parts (kind table, packed places).

use super::*;

/// The stall table's names are the model's line kinds: a kind renamed or added in the
/// model without its slot here would misfile its stalls.
#[test]
fn kind_names_are_the_models_line_kinds() {
    let lines = Line::ONE_OF_EACH;
    let mut seen = [false; NKINDS];
    for l in lines {
        assert_eq!(KIND_NAMES[kind_no(l)], l.kind(), "{l:?}");
        seen[kind_no(l)] = true;
    }
    assert!(seen.iter().all(|&s| s), "every kind number has a line");
}

/// The packed places give the profile's distances, on machines with SMT, clusters,
/// sockets and nodes (extrapolated sockets included).
#[test]
fn packed_places_give_the_profiles_distances() {
    for name in ["amd-genoa-2s", "power8-16s", "intel-icx-2s"] {
        let p = lazymm_profile::find(name).expect("built-in profile");
        let n = 600;
        let c = Coherence::new(&p, n);
        let places: Vec<Place> = (0..n).map(|x| p.place(x)).collect();
        for a in (0..n).step_by(7) {
            for b in 0..n {
                assert_eq!(
                    c.distance(a, b),
                    places[a].distance_to(&places[b]),
                    "{name} {a} {b}"
                );
            }
        }
    }
}
