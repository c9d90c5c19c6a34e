#!/usr/bin/env python
"""Benchmark: filtered events per second for each process with 1 and 2 worker processes.

Example: python scripts/bench_generate.py --events 200 --processes wlnu zll ttbar ato4l
Prints one line per (process, workers): events, seconds, events/s, filter efficiency. Each job holds
--job-size events; use at least 2 jobs per run so that 2 workers can share the work.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from l1ad.data import generate, processes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--job-size", type=int, default=50)
    ap.add_argument("--processes", nargs="+", default=[p for p in processes.PROCESSES if p != "qcd"],
                    choices=processes.ALL_NAMES)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"{'process':<12} {'workers':>7} {'events':>7} {'seconds':>8} {'events/s':>9} {'filter eff':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.processes:
            for w in args.workers:
                s = generate.generate_to_file(name, args.events, Path(tmp) / f"{name}.h5", seed=args.seed,
                                              workers=w, job_size=args.job_size)
                eff = s.filter_efficiency
                print(f"{name:<12} {w:>7} {s.events:>7} {s.seconds:>8.1f} {s.events / s.seconds:>9.2f} "
                      f"{eff:>10.4g}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
