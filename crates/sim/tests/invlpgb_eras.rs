//! INVLPGB on the simulated machine is a property of the kernel as well as of the CPU: a
//! profile with `tlb.invlpgb = 1` gives global ASIDs (v6.15) only to rows whose base kernel
//! has them. The as-posted series (v5.16, v6.11.1) flush by IPI there, exactly as on the same
//! machine without INVLPGB; mainline rows do not.

use lazymm_model::era;
use lazymm_sim::{simulate, SimConfig, SimReport, SimSpec};
use lazymm_workloads::drivers::{Bind, TlbFlush};

/// tlb-flush (16 threads, one per core) on 32 CPUs of `profile`, for 200 µs of virtual time.
/// Task numbers start at 32 (the idle tasks come first), so the first thread is pid 32.
fn run(variant: &str, profile: &str) -> SimReport {
    let p = lazymm_profile::find(profile).expect("built-in profile");
    let smt = p.topology.smt.get() as usize;
    simulate(SimSpec {
        profile: p,
        variant: era::variant(variant).expect("variant"),
        ncpus: 32,
        driver: Box::new(TlbFlush::new(16, Bind::Core, 32, smt)),
        cfg: SimConfig {
            switches: None,
            duration_ns: Some(200_000.0),
            ..SimConfig::default()
        },
        knobs: None,
    })
}

#[test]
fn invlpgb_profile_gives_global_asids_to_mainline_rows_only() {
    for v in ["hazard", "hazard+fixes", "hazard-md", "hazard-md+fixes"] {
        let on = run(v, "amd-genoa-2s-invlpgb");
        let off = run(v, "amd-genoa-2s");
        assert_eq!(on.invlpgb, Some(false), "{v}");
        assert_eq!(off.invlpgb, None, "{v}");
        assert_eq!(
            on.counters, off.counters,
            "{v}: the same kernel, the same flushes"
        );
        assert_eq!(on.counters.broadcast_flushes, 0, "{v}");
    }
    for v in ["refcount", "mmput-flush"] {
        let on = run(v, "amd-genoa-2s-invlpgb");
        let off = run(v, "amd-genoa-2s");
        assert_eq!(on.invlpgb, Some(true), "{v}");
        // Sixteen threads flushing: the process is active on more than 3 CPUs, so a flush by
        // pid 32 in the first millisecond (32 & 0x1f == 0 == jiffies & 0x1f) gives it a
        // global ASID, and later flushes broadcast.
        assert!(on.counters.broadcast_flushes > 0, "{v}");
        // The transition (IPIs to the mask until every CPU reloads the global ASID) and the
        // broadcasts leave no CPU unflushed and nothing freed while loaded: the oracle's.
        assert!(on.violations.is_empty(), "{v}: {:?}", on.violations);
        assert!(on.counters.flush_ipis < off.counters.flush_ipis, "{v}");
    }
}
