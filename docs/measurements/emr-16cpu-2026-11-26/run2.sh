#!/bin/bash
# Second device check: is the 16-CPU VM uniform? Per-CPU-pair quick calibrations, then the
# real-vs-sim comparison on CPU subsets, then a full calibration that leaves CPU 0 out.
export PATH=$PWD/.dev:$PATH
t0=$(date +%s)
{ for p in 0,1 2,3 4,5 6,7 8,9 10,11 12,13 14,15; do echo "## taskset -c $p calibrate --quick --seconds 0.5"; taskset -c $p lazymm calibrate --quick --seconds 0.5 --out /tmp/p.toml 2>&1 | grep -E "c2c|pipe_syscall|ctxsw_pinned|ctxsw_cross|membarrier|^ +[124] +pu"; done
  for m in 0-7 8-15 0-15:2 1-15:2; do echo "## taskset -c $m calibrate --quick --seconds 1"; taskset -c $m lazymm calibrate --quick --seconds 1 --out /tmp/m.toml 2>&1 | grep -E "c2c|ctxsw_pinned|^ +[0-9]+ +(pu|core)"; done
} > $OUT/percpu.txt 2>&1
echo "== full 1-15 $(($(date +%s)-t0))s"
taskset -c 1-15 lazymm calibrate --out $OUT/device-cpus1-15.toml > $OUT/calibrate-1-15.txt 2>&1
echo "== again 0-15 $(($(date +%s)-t0))s"
lazymm calibrate --out $OUT/device-again.toml > $OUT/calibrate-again.txt 2>&1
echo "== done $(($(date +%s)-t0))s"
