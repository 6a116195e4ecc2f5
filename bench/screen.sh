#!/usr/bin/env bash
# Conjunction screening benchmark in one run: the full 2023-03-31 catalogue over 24 h at 5 km on
# every core, astroz (bench/astroz_screen.py) on the same file with the ratio, event counts and
# our recall of its events; one changed object re-screened incrementally, with the caches'
# memory; and the 2026-05-30 Starlink shells. Usage: bench/screen.sh (env: SCREEN_BENCH_ASTROZ,
# SCREEN_BENCH_REPEATS; see node/benches/screen.rs). Run it on a quiet machine: the load average
# is printed before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
exec cargo bench -p commons-node --bench screen
