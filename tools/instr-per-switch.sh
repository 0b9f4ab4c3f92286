#!/usr/bin/env bash
# Host instructions — and, with --cache, simulated host cache misses — per simulated context
# switch (ctxsw on intel-icx-2s). Deterministic, unlike host time on a shared VM: callgrind
# counts instructions; cachegrind simulates a 32 KiB 8-way L1d and, as its last level, a
# 512 KiB 8-way L2 (the per-core L2 of the guest these counts were first taken on; kept fixed
# so that counts compare across hosts). Two run lengths (50,000 and 100,000
# switches) are differenced so that start-up (boot, warm-up, quiesce) cancels.
#
#   tools/instr-per-switch.sh [--cache] [SCHEME…]     default: refcount shootdown
#
# Needs valgrind and a release build (cargo build --release). One line per scheme × window
# (0 = exact, 2us) × CPU count (1, 64, 1024).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/lazymm
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
cache=0
if [ "${1:-}" = "--cache" ]; then cache=1; shift; fi
schemes=("$@")
[ ${#schemes[@]} -gt 0 ] || schemes=(refcount shootdown)
# Prints "instructions [L1d-misses L2d-misses]" for one run.
count() { # scheme cpus window switches
  local run=("$bin" sim --workload ctxsw --scheme "$1" --arch x86 --profile intel-icx-2s
    --cpus "$2" --window "$3" --switches "$4")
  if [ $cache = 1 ]; then
    valgrind --tool=cachegrind --cache-sim=yes --D1=32768,8,64 --LL=524288,8,64 \
      --cachegrind-out-file=/dev/null "${run[@]}" 2>&1 |
      awk '/ I +refs:/ {i=$4} / D1 +misses:/ {d=$4} / LLd misses:/ {l=$4}
           END {gsub(",","",i); gsub(",","",d); gsub(",","",l); print i, d, l}'
  else
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "${run[@]}" 2>&1 |
      awk '/Collected/ {print $4}'
  fi
}
if [ $cache = 1 ]; then
  printf '%-10s %6s %7s %14s %12s %12s\n' scheme cpus window instr/switch L1d-miss/sw L2d-miss/sw
else
  printf '%-10s %6s %7s %14s\n' scheme cpus window instr/switch
fi
for s in "${schemes[@]}"; do
  for w in 0 2us; do
    for n in 1 64 1024; do
      read -r -a a <<<"$(count "$s" "$n" "$w" 50000)"
      read -r -a b <<<"$(count "$s" "$n" "$w" 100000)"
      per() { echo $(( (b[$1] - a[$1]) / 50000 )); }
      if [ $cache = 1 ]; then
        printf '%-10s %6d %7s %14d %12d %12d\n' "$s" "$n" "$w" "$(per 0)" "$(per 1)" "$(per 2)"
      else
        printf '%-10s %6d %7s %14d\n' "$s" "$n" "$w" "$(per 0)"
      fi
    done
  done
done
