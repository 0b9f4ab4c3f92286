#!/bin/bash
# Fourth device check: real traces of cross-CPU pipe ping-pong on 16 CPUs (8 pairs, every
# hand-off through idle): threads of one process, then processes.
export PATH=$PWD/.dev:$PATH
t0=$(date +%s)
gcc -O2 -Wall -pthread -o /tmp/pingpong .dev/pingpong.c > $OUT/build.txt 2>&1 || exit 1
for m in t p; do
  { /usr/bin/time -f "%e s wall" /tmp/pingpong $m 8 10000; } >> $OUT/build.txt 2>&1
  lazymm record -o /tmp/pp-$m.ftrace -- /tmp/pingpong $m 8 10000 > $OUT/record-pp-$m.txt 2>&1; echo "rc=$?" >> $OUT/record-pp-$m.txt
  gzip -6 -c /tmp/pp-$m.ftrace > $OUT/pingpong-$m.ftrace.gz
  echo "== $m $(($(date +%s)-t0))s"
done
ls -la $OUT
