#!/bin/sh
# Seeds each target's corpus with the real fixture traces, cut into 6-line pieces so the
# fuzzer mutates real lines. Run from crates/trace/fuzz.
set -e
for t in ftrace:ftrace trace_cmd:tracecmd perf_script:perf; do
    target=${t%%:*}; prefix=${t##*:}
    mkdir -p corpus/$target
    for f in ../tests/data/${prefix}*.txt; do
        split -l 6 -d -a 3 "$f" "corpus/$target/$(basename "$f" .txt)-"
    done
done
