#!/usr/bin/env python3
"""Compare two `lazymm sweep` JSON outputs point by point (the relaxed-causality window's error
against the exact engine, or the exact engine's sensitivity to a profile change).

    lazymm sweep --workload ctxsw --out exact
    lazymm sweep --workload ctxsw --window 2us --out relaxed
    tools/compare-sweeps.py exact.json relaxed.json

Points are joined on (workload, profile, scheme, cpus); infeasible points are skipped. Prints,
for R (refcount) and for the other variants apart, the median, 90th percentile and maximum of
|B/A - 1| for throughput (context switches per second of virtual time) and busy time per
switch, with the point of the maximum, and whether any point's violations differ.
"""
import json
import sys


def load(path):
    with open(path) as f:
        return {(x["workload"], x["profile"], x["scheme"], x["cpus"]): x for x in json.load(f)}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare-sweeps.py A.json B.json")
    a, b = load(sys.argv[1]), load(sys.argv[2])
    keys = [k for k in b if k in a and not a[k]["infeasible"] and not b[k]["infeasible"]]
    if not keys:
        sys.exit("no common feasible points")
    metrics = [("throughput", lambda r: r["switches_per_sec"]), ("busy/switch", lambda r: r["busy_ns_per_switch"])]
    for group, keep in [("R", lambda k: k[2] == "refcount"), ("others", lambda k: k[2] != "refcount")]:
        ks = [k for k in keys if keep(k)]
        if not ks:
            continue
        for name, get in metrics:
            errs = sorted((abs(get(b[k]) / get(a[k]) - 1), k) for k in ks if get(a[k]) > 0)
            med, p90, mx = errs[len(errs) // 2], errs[int(0.9 * len(errs))], errs[-1]
            print(f"{group:6} {name:11} n={len(errs):3}  median {100 * med[0]:.3f}%  p90 {100 * p90[0]:.2f}%  "
                  f"max {100 * mx[0]:.2f}% at {mx[1][1]} {mx[1][2]} {mx[1][3]} CPUs")
    changed = [k for k in keys if len(a[k]["violations"]) != len(b[k]["violations"])]
    print(f"points whose violations differ: {len(changed)}")


if __name__ == "__main__":
    main()
