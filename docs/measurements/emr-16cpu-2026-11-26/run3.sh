#!/bin/bash
# Third device check: real scheduler traces of a kernel-build-like workload on 16 CPUs.
export PATH=$PWD/.dev:$PATH
t0=$(date +%s)
{ gcc --version | head -1; make --version | head -1; ls /sys/kernel/tracing | head -3; mount | grep -E "tracefs|debugfs"; } > $OUT/tools.txt 2>&1
bash .dev/gen.sh 320 /tmp/b
echo "== gen $(($(date +%s)-t0))s"
for j in 16 64; do
  make -s -C /tmp/b clean >/dev/null 2>&1; rm -f /tmp/b/*.o; sync
  lazymm record -o /tmp/make-j$j.ftrace -- make -s -j$j -C /tmp/b > $OUT/record-j$j.txt 2>&1; echo "rc=$?" >> $OUT/record-j$j.txt
  wc -l /tmp/make-j$j.ftrace >> $OUT/record-j$j.txt
  gzip -9 -c /tmp/make-j$j.ftrace > $OUT/make-j$j.ftrace.gz
  echo "== j$j $(($(date +%s)-t0))s"
done
