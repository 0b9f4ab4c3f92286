#!/bin/bash
# Fifth device check: calibrate with the per-CPU same-CPU spread (twice, to see it move).
export PATH=$PWD/.dev:$PATH
lazymm calibrate --out $OUT/run5-this-machine.toml > $OUT/run5-calibrate.txt 2>&1; echo "rc=$?" >> $OUT/run5-calibrate.txt
lazymm calibrate --quick --seconds 0.5 --out /tmp/q.toml > $OUT/run5-calibrate-quick.txt 2>&1; echo "rc=$?" >> $OUT/run5-calibrate-quick.txt
