//! Where a CPU sits ([`Place`]) and how far apart two CPUs are ([`Distance`]).
//!
//! CPUs are numbered contiguously, threads fastest:
//!
//! ```text
//! cpu = ((socket * clusters_per_socket + cluster_in_socket) * cores_per_cluster
//!        + core_in_cluster) * smt + thread,        node = socket / sockets_per_node
//! ```
//! CPUs at or beyond [`Profile::cpus`] continue the numbering into further sockets and nodes
//! (an extrapolation of the machine: [`Profile::extrapolated`]).

use crate::schema::{Coherence, Param, Profile};

/// A CPU's place in the machine; every index but `thread` is global.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Place {
    /// Node / drawer.
    pub node: usize,
    /// Socket, counted over the whole machine.
    pub socket: usize,
    /// Cluster (LLC domain), counted over the whole machine.
    pub cluster: usize,
    /// Core, counted over the whole machine.
    pub core: usize,
    /// Hardware thread within its core.
    pub thread: usize,
}

/// How far apart two CPUs are, nearest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Distance {
    /// The same CPU.
    Same,
    /// SMT siblings: the same core.
    Smt,
    /// The same cluster (LLC), other core.
    Cluster,
    /// The same socket, other cluster.
    Socket,
    /// Another socket of the same node.
    CrossSocket,
    /// Another node.
    CrossNode,
}

/// A topology count as an integer (at least 1, whatever the parameter holds).
fn count(p: &Param) -> usize {
    let v = p.get();
    if v.is_finite() && v >= 1.0 {
        v as usize
    } else {
        1
    }
}

impl Profile {
    /// CPUs in the real machine: smt × cores_per_cluster × clusters_per_socket ×
    /// sockets_per_node × nodes (saturating).
    pub fn cpus(&self) -> usize {
        let t = &self.topology;
        [
            &t.smt,
            &t.cores_per_cluster,
            &t.clusters_per_socket,
            &t.sockets_per_node,
            &t.nodes,
        ]
        .iter()
        .fold(1usize, |acc, p| acc.saturating_mul(count(p)))
    }

    /// True if `ncpus` CPUs are more than the real machine has, so some of them sit in
    /// sockets or nodes the machine does not have.
    pub fn extrapolated(&self, ncpus: usize) -> bool {
        ncpus > self.cpus()
    }

    /// Where `cpu` sits (contiguous numbering; see the module doc).
    pub fn place(&self, cpu: usize) -> Place {
        let t = &self.topology;
        let core = cpu / count(&t.smt);
        let cluster = core / count(&t.cores_per_cluster);
        let socket = cluster / count(&t.clusters_per_socket);
        Place {
            node: socket / count(&t.sockets_per_node),
            socket,
            cluster,
            core,
            thread: cpu % count(&t.smt),
        }
    }

    /// How far apart CPUs `a` and `b` are.
    pub fn distance(&self, a: usize, b: usize) -> Distance {
        self.place(a).distance_to(&self.place(b))
    }
}

impl Place {
    /// How far this CPU is from the CPU at `other` (core and thread numbers are global, so
    /// equal ones are the same CPU).
    pub fn distance_to(&self, other: &Place) -> Distance {
        let ids = |p: &Place| [p.core, p.thread, p.cluster, p.socket, p.node];
        Distance::between(ids(self), ids(other))
    }
}

impl Distance {
    /// The distance between two CPUs given by their ids `[core, thread, cluster, socket,
    /// node]`, each counted over the whole machine ([`Place`]'s fields, in any integer
    /// width: the simulator keeps them packed).
    pub fn between<T: PartialEq>(a: [T; 5], b: [T; 5]) -> Distance {
        let [core, thread, cluster, socket, node] = a;
        let [core_b, thread_b, cluster_b, socket_b, node_b] = b;
        if core == core_b && thread == thread_b {
            Distance::Same
        } else if core == core_b {
            Distance::Smt
        } else if cluster == cluster_b {
            Distance::Cluster
        } else if socket == socket_b {
            Distance::Socket
        } else if node == node_b {
            Distance::CrossSocket
        } else {
            Distance::CrossNode
        }
    }
}

impl Coherence {
    /// The cost of one line transfer over distance `d` ([`Distance::Same`]: a local access).
    pub fn transfer(&self, d: Distance) -> f64 {
        match d {
            Distance::Same => self.local.get(),
            Distance::Smt => self.smt.get(),
            Distance::Cluster => self.cluster.get(),
            Distance::Socket => self.socket.get(),
            Distance::CrossSocket => self.cross_socket.get(),
            Distance::CrossNode => self.cross_node.get(),
        }
    }
}
