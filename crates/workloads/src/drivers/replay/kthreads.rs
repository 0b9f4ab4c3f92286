//! Kernel threads alive at trace start, known by name: a task first seen without a fork
//! whose `comm` is a kernel thread's (see [`super::tasks`]).

/// `comm` prefixes of kernel threads (mainline's `kthread_create` names).
pub const KTHREAD_PREFIXES: &[&str] = &[
    "kworker/",
    "ksoftirqd/",
    "migration/",
    "rcu_",
    "rcub/",
    "rcuc/",
    "rcuop/",
    "rcuos/",
    "cpuhp/",
    "idle_inject/",
    "kthreadd",
    "kswapd",
    "kcompactd",
    "khugepaged",
    "ksmd",
    "kauditd",
    "khungtaskd",
    "kdevtmpfs",
    "kblockd",
    "kintegrityd",
    "kthrotld",
    "kstrp",
    "oom_reaper",
    "writeback",
    "watchdog",
    "watchdogd",
    "irq/",
    "jbd2/",
    "ext4-",
    "xfs",
    "scsi_eh_",
    "scsi_tmf_",
    "nvme-",
    "mm_percpu_wq",
    "pool_workqueue_",
    "ipv6_addrconf",
    "netns",
    "zswap",
    "hwrng",
    "kvm",
    "card",
    "ttm",
    "tpm_",
    "md",
    "edac-poller",
    "devfreq_wq",
    "blkcg_punt_bio",
    "inet_frag_wq",
    "psimon",
];

/// Whether `comm` is a kernel thread's name (see [`KTHREAD_PREFIXES`]). `md`, `card`, `kvm`
/// and `xfs` match only with a digit, `-`, `/` or `_` right after the prefix (`md0_raid1`,
/// `xfs-buf/sda1`), so that `mdadm`, `cardinal` or `xfsprogs` stay user tasks.
pub fn kthread_name(comm: &str) -> bool {
    KTHREAD_PREFIXES.iter().any(|p| {
        let Some(rest) = comm.strip_prefix(p) else {
            return false;
        };
        match *p {
            "md" | "card" | "kvm" | "xfs" => rest
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '/' || c == '_'),
            _ => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kthread_names_match_kernel_threads_only() {
        for k in [
            "kworker/3:1",
            "ksoftirqd/0",
            "migration/1",
            "rcu_sched",
            "md0_raid1",
        ] {
            assert!(kthread_name(k), "{k}");
        }
        for u in [
            "bash", "make", "mdadm", "cargo", "xfsprogs", "cc1", "cardinal",
        ] {
            assert!(!kthread_name(u), "{u}");
        }
    }
}
