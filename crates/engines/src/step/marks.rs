//! Markers and gates, as scenario scripts use them (see the [`crate::step`] module doc): one
//! implementation for the step engine and for drivers that play scripts on other engines
//! (`lazymm_workloads::script_driver`), so that a scenario's interleaving means the same on
//! both.
//!
//! A marker is a name that a script's `Mark` sets, or `"cpu{n}@{point}"`, set when CPU n
//! arrives at a point that some `WaitMark` or gate waits for, or `"cpu{n}@{point}#{k}"`, set
//! at its `k`-th arrival there (to wait for a later arrival than the first). A [`Gate`] holds a CPU at its
//! `nth` arrival at a point until its marker is set. Releasing gates that stall everyone
//! is the engine's (or driver's) policy, not this type's.

use super::config::{Gate, Step};
use lazymm_model::ids::CpuId;
use std::collections::{HashMap, HashSet};

/// The markers set so far, the point arrivals counted, and the gates.
#[derive(Default, Debug)]
pub struct Marks {
    set: HashSet<String>,
    watched: HashSet<(CpuId, &'static str)>,
    arrivals: HashMap<(CpuId, &'static str), u32>,
    gates: Vec<Gate>,
}

impl Marks {
    /// The marks of `scripts` with `gates`: the point markers watched are those a
    /// `WaitMark` or a gate's `until` names.
    pub fn new(scripts: &[Vec<Step>], gates: Vec<Gate>) -> Marks {
        let wanted = (gates.iter().map(|g| g.until.as_str())).chain(
            scripts.iter().flatten().filter_map(|s| match s {
                Step::WaitMark(m) => Some(m.as_str()),
                _ => None,
            }),
        );
        let watched = wanted
            .filter_map(|m| {
                let (c, at) = m.strip_prefix("cpu")?.split_once('@')?;
                let c = c.parse().ok()?;
                let at = at.split_once('#').map_or(at, |(at, _)| at);
                // Point names are &'static str in the model: leak each watched one once a run.
                Some((c, &*Box::leak(at.to_string().into_boxed_str())))
            })
            .collect();
        Marks {
            watched,
            gates,
            ..Marks::default()
        }
    }

    /// Sets marker `m`.
    pub fn mark(&mut self, m: &str) {
        self.set.insert(m.to_string());
    }

    /// Whether marker `m` is set.
    pub fn is_set(&self, m: &str) -> bool {
        self.set.contains(m)
    }

    /// `cpu` arrives at point `at` (a new arrival, not a return to a gate after an
    /// interrupt): count it, and set its point marker if anything waits for it.
    pub fn arrive(&mut self, cpu: CpuId, at: &'static str) {
        let n = self.arrivals.entry((cpu, at)).or_insert(0);
        *n += 1;
        if self.watched.contains(&(cpu, at)) {
            self.set.insert(format!("cpu{cpu}@{at}"));
            self.set.insert(format!("cpu{cpu}@{at}#{n}"));
        }
    }

    /// Whether a gate holds `cpu` at point `at`: this is the gate's `nth` arrival there and
    /// its marker is not set yet.
    pub fn holds(&self, cpu: CpuId, at: &'static str) -> bool {
        self.gates.iter().any(|g| {
            g.cpu == cpu
                && g.at == at
                && self.arrivals.get(&(cpu, at)).copied() == Some(g.nth)
                && !self.set.contains(&g.until)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate_at_second_arrival() -> Marks {
        let scripts = vec![vec![], vec![Step::WaitMark("cpu0@p".into())]];
        let gates = vec![Gate {
            cpu: 0,
            at: "p",
            nth: 2,
            until: "go".into(),
        }];
        Marks::new(&scripts, gates)
    }

    #[test]
    fn a_gate_holds_only_its_nth_arrival_until_its_marker() {
        let mut m = gate_at_second_arrival();
        m.arrive(0, "p");
        assert!(!m.holds(0, "p"), "first arrival passes");
        assert!(m.is_set("cpu0@p"), "a watched point sets its marker");
        m.arrive(0, "p");
        assert!(m.holds(0, "p"), "second arrival is held");
        assert!(!m.holds(1, "p"), "only the gated CPU");
        m.mark("go");
        assert!(!m.holds(0, "p"), "released by its marker");
    }

    #[test]
    fn a_numbered_point_marker_waits_for_that_arrival() {
        let scripts = vec![vec![Step::WaitMark("cpu1@p#2".into())], vec![]];
        let mut m = Marks::new(&scripts, vec![]);
        m.arrive(1, "p");
        assert!(m.is_set("cpu1@p") && !m.is_set("cpu1@p#2"));
        m.arrive(1, "p");
        assert!(m.is_set("cpu1@p#2"));
    }

    #[test]
    fn unwatched_points_set_no_marker() {
        let mut m = gate_at_second_arrival();
        m.arrive(1, "p");
        m.arrive(0, "q");
        assert!(!m.is_set("cpu1@p") && !m.is_set("cpu0@q"));
    }
}
