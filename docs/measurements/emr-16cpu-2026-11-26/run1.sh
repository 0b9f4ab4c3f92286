#!/bin/bash
# Device check (16-core machine): host facts, calibrate + real-vs-sim ctxsw, simulator speed,
# threads-engine torture on 16 real cores (schemes and mutants), the verdict, the ctxsw sweep.
export PATH=$PWD/.dev:$PATH
t0=$(date +%s)
{ date; uname -a; nproc; lscpu; grep -m1 'model name' /proc/cpuinfo; cat /proc/cmdline;
  for f in /sys/devices/system/cpu/cpu{0,1,8,15}/topology/{physical_package_id,core_id,thread_siblings_list,cluster_cpus_list}; do echo "$f: $(cat $f 2>/dev/null)"; done
  cat /sys/devices/system/cpu/cpuidle/current_driver /sys/devices/system/cpu/cpuidle/current_governor 2>&1
  ls /sys/devices/system/cpu/cpu0/cpuidle 2>&1; cat /sys/devices/system/cpu/cpu0/cache/index3/shared_cpu_list 2>&1
  grep -E 'LRU_GEN|PREEMPT|MEMBARRIER|HZ=' /boot/config-$(uname -r) 2>&1 | head; zcat /proc/config.gz 2>/dev/null | grep -E 'LRU_GEN|PREEMPT_(NONE|VOLUNTARY|DYNAMIC)|^CONFIG_HZ=' ; } > $OUT/host.txt 2>&1
echo "== calibrate $(($(date +%s)-t0))s"
lazymm calibrate --out $OUT/device-this-machine.toml > $OUT/calibrate.txt 2>&1; echo "rc=$?" >> $OUT/calibrate.txt
echo "== speed $(($(date +%s)-t0))s"
speed --repeat 3 > $OUT/speed.txt 2>&1; echo "rc=$?" >> $OUT/speed.txt
echo "== torture $(($(date +%s)-t0))s"
{ /usr/bin/time -v lazymm torture --engine threads --scheme all --cpus 16 --seconds 4; echo "rc=$?";
  for m in a b c d e f g h i j k l; do lazymm torture --mutant $m --cpus 16 --seconds 3 2>&1 | tail -4; echo "mutant $m rc=$?"; done; } > $OUT/torture.txt 2>&1
echo "== verdict $(($(date +%s)-t0))s"
{ time lazymm verdict --out /tmp/rep; echo "rc=$?"; } > $OUT/verdict.txt 2>&1
echo "== sweep $(($(date +%s)-t0))s"
{ time lazymm sweep --workload ctxsw --scheme all --profile all --out /tmp/sw --quiet; echo "rc=$?"; } > $OUT/sweep.txt 2>&1
cp /tmp/sw.csv $OUT/sweep-ctxsw.csv
echo "== done $(($(date +%s)-t0))s"
