#!/bin/bash
# Generates N C files (each ~0.1 s of gcc -O2 on one core) and a Makefile: a kernel-build-like
# stream of short processes (make → gcc → cc1, as) for `make -jN`.
n=${1:-160}; d=${2:-/tmp/b}; mkdir -p $d; cd $d
for i in $(seq $n); do
  { echo "#include <string.h>"; for f in $(seq 60); do
      echo "int f${f}_$i(int *a, int n) { int s = 0; for (int k = 0; k < n; k++) { s += a[k] * $f ^ (s >> 3); if (s & 1) s = memcmp(a, a + k, 4) + s; } return s; }"; done; } > f$i.c
done
{ echo "SRC := \$(wildcard f*.c)"; echo "all: \$(SRC:.c=.o)"; echo "%.o: %.c"; printf '\tgcc -O2 -c $< -o $@\n'; } > Makefile
