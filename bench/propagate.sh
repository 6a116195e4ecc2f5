#!/usr/bin/env bash
# Propagation benchmark in one run: the Rust batch propagator (one thread and every core) and
# python-sgp4's SatrecArray on the same catalogue and times, with the ratios and the goals.
# Usage: bench/propagate.sh   (env: PROPAGATE_BENCH_REPEATS, PROPAGATE_BENCH_PYTHON; see
# orbit/benches/propagate.rs). Run it on a quiet machine: the load average is printed first.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
exec cargo bench -p commons-orbit --bench propagate
