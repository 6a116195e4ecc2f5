#!/usr/bin/env python3
"""python-sgp4's vectorised SatrecArray on the whole catalogue: ns per propagation.

The same workload as node/benches/propagate.rs: every object of
full-catalog-3le-2023-03-31.txt (WGS72) at the same 1440 instants, 2023-03-31T00:00:00Z
onward in 60 s steps, objects in blocks of 1024 (one SatrecArray each) so the output arrays
stay small. Prints a table, or one JSON object with --json (the Rust bench reads it).

Usage: python3 bench/propagate_python.py [--json] [--repeats N] [--data DIR]
Installs sgp4 and numpy with pip first if they are missing.
"""

import argparse
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import time

CATALOGUE = "catalog/full-catalog-3le-2023-03-31.txt"
# 24 h at 60 s steps: the conjunction-screening workload.
N_TIMES = 1440
STEP_S = 60.0
# Objects per SatrecArray call: its outputs are n_objects x n_times x 3 doubles (r and v)
# plus the error codes, about 35 MB for 1024 objects.
OBJECTS_PER_BLOCK = 1024


def ensure_packages():
    missing = [name for name in ("sgp4", "numpy") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"installing {' '.join(missing)} with pip", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", *missing],
            check=True,
            stdout=sys.stderr,
        )
        importlib.invalidate_caches()


def data_dir(explicit):
    if explicit:
        return explicit
    if os.environ.get("COMMONS_DATA"):
        return os.environ["COMMONS_DATA"]
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "shared", "data"))


def read_pairs(path):
    """(line 1, line 2) of every element set of a 3LE or TLE file."""
    with open(path, encoding="ascii", errors="replace") as f:
        lines = [line.rstrip("\r\n") for line in f]
    pairs = []
    for first, second in zip(lines, lines[1:]):
        if first.startswith("1 ") and second.startswith("2 "):
            pairs.append((first, second))
    return pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument("--data", help="the shared data directory (default $COMMONS_DATA or ../shared/data)")
    args = parser.parse_args()

    path = os.path.join(data_dir(args.data), CATALOGUE)
    if not os.path.exists(path):
        print(f"skipping: {path} is absent", file=sys.stderr)
        return 0
    ensure_packages()
    import numpy as np
    import sgp4
    from sgp4.api import WGS72, Satrec, SatrecArray, accelerated, jday

    pairs = read_pairs(path)
    satrecs = [Satrec.twoline2rv(l1, l2, WGS72) for l1, l2 in pairs]
    blocks = [
        SatrecArray(satrecs[i : i + OBJECTS_PER_BLOCK]) for i in range(0, len(satrecs), OBJECTS_PER_BLOCK)
    ]
    jd0, fr0 = jday(2023, 3, 31, 0, 0, 0.0)
    jd = np.full(N_TIMES, jd0)
    fr = fr0 + np.arange(N_TIMES) * (STEP_S / 86400.0)

    n_propagations = len(satrecs) * N_TIMES
    best_s = float("inf")
    best_cpu_s = float("inf")
    n_failed = 0
    for _ in range(max(1, args.repeats)):
        n_failed = 0
        cpu_started = time.process_time()
        started = time.perf_counter()
        for block in blocks:
            e, r, v = block.sgp4(jd, fr)
            n_failed += int(np.count_nonzero(e))
        elapsed_s = time.perf_counter() - started
        if elapsed_s < best_s:
            best_s = elapsed_s
            best_cpu_s = time.process_time() - cpu_started
    ns = best_s * 1e9 / n_propagations
    result = {
        "implementation": "python-sgp4 SatrecArray",
        "sgp4_version": sgp4.__version__,
        "numpy_version": np.__version__,
        "accelerated": bool(accelerated),
        "n_objects": len(satrecs),
        "n_times": N_TIMES,
        "n_failed_samples": n_failed,
        "seconds": best_s,
        "cpu_seconds": best_cpu_s,
        "ns_per_propagation": ns,
    }
    if args.json:
        print(json.dumps(result))
    else:
        cpu_ns = best_cpu_s * 1e9 / n_propagations
        print(
            f"{'implementation':<40} {'objects':>8} {'times':>6} {'seconds':>9} {'ns/propagation':>15}"
            f" {'CPU ns/prop.':>13}"
        )
        print(
            f"{'python-sgp4 ' + sgp4.__version__ + ' SatrecArray':<40} {len(satrecs):>8} {N_TIMES:>6} "
            f"{best_s:>9.3f} {ns:>15.1f} {cpu_ns:>13.1f}"
        )
        if not accelerated:
            print("warning: python-sgp4 runs without its C++ extension", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
