#!/usr/bin/env python3
"""astroz's conjunction screening on an element-set file, for node/benches/screen.rs.

astroz (https://github.com/ATTron/astroz, SIMD SGP4 in Zig, WGS72 for TLEs) screens every pair
on a grid of --step-min minutes (its published figure uses 0.5, a 30 s grid) and refines each
candidate interval. This script runs `astroz.screen` once on the file and prints one JSON
object: the astroz version, the wall time of loading plus screening in seconds, and every event
as {"a", "b" (catalogue numbers), "t_s" (seconds after --start), "miss_km", "speed_km_s"}.

Usage: python3 bench/astroz_screen.py FILE --start 2023-03-31T00:00:00Z
           [--window-s 86400] [--threshold-km 5] [--step-min 0.5]
Installs astroz 0.17.0 with pip first if it is missing.
"""

import argparse
import datetime
import importlib
import importlib.util
import json
import subprocess
import sys
import time

ASTROZ = "astroz==0.17.0"


def ensure_astroz():
    if importlib.util.find_spec("astroz") is None:
        print(f"installing {ASTROZ} with pip", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", ASTROZ],
            check=True,
            stdout=sys.stderr,
        )
        importlib.invalidate_caches()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--start", required=True, help="ISO 8601 UTC start of the window")
    parser.add_argument("--window-s", type=float, default=86400.0)
    parser.add_argument("--threshold-km", type=float, default=5.0)
    parser.add_argument("--step-min", type=float, default=0.5, help="astroz grid step, minutes")
    args = parser.parse_args()

    ensure_astroz()
    import astroz

    start = datetime.datetime.fromisoformat(args.start.replace("Z", "+00:00"))
    if start.tzinfo is None:
        start = start.replace(tzinfo=datetime.timezone.utc)

    began = time.perf_counter()
    constellation = astroz.Constellation(args.file)
    events = astroz.screen(
        constellation,
        args.window_s / 60.0,
        threshold=args.threshold_km,
        step=args.step_min,
        start_time=start,
    )
    seconds = time.perf_counter() - began

    satnums = constellation.satnums
    out = {
        "version": astroz.__version__,
        "file": args.file,
        "objects": constellation.num_satellites,
        "step_min": args.step_min,
        "seconds": seconds,
        "events": [
            {
                "a": int(satnums[i]),
                "b": int(satnums[j]),
                "t_s": float(t) * 60.0,
                "miss_km": float(d),
                "speed_km_s": float(v),
            }
            for i, j, t, d, v in zip(events.i, events.j, events.time, events.distance, events.speed)
        ],
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
