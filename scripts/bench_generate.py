#!/usr/bin/env python
"""Benchmark: filtered events per second for each process with 1 and 2 worker processes.

Example: python scripts/bench_generate.py --events 200 --qcd-events 20 --workers 1 2
Prints one line per (process, workers): events, wall seconds, events/s, filter efficiency and, for weighted
samples (QCD), the Kish effective number of events per 1000 kept. QCD passes the lepton filter rarely, so it
gets its own (smaller) event count. Each job holds --job-size events; use at least 2 jobs per run so that
2 workers can share the work.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from l1ad.data import generate, processes


def bench_line(name: str, workers: int, summary: generate.GenerationSummary) -> str:
    """One formatted result row."""
    n_eff = summary.metadata.get("n_effective", summary.events)
    return (
        f"{name:<12} {workers:>7} {summary.events:>7} {summary.seconds:>8.1f} "
        f"{summary.events / summary.seconds:>9.3f} {summary.filter_efficiency:>10.4g} "
        f"{1000 * n_eff / summary.events:>13.0f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--qcd-events", type=int, default=20, help="events for qcd (slow: ~20 s CPU per event)")
    ap.add_argument("--job-size", type=int, default=50)
    ap.add_argument("--qcd-job-size", type=int, default=10)
    ap.add_argument("--processes", nargs="+", default=list(processes.PROCESSES), choices=processes.ALL_NAMES)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(
        f"{'process':<12} {'workers':>7} {'events':>7} {'seconds':>8} {'events/s':>9} {'filter eff':>10} "
        f"{'N_eff/1000':>13}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.processes:
            qcd = name == "qcd"
            n, job_size = (args.qcd_events, args.qcd_job_size) if qcd else (args.events, args.job_size)
            for w in args.workers:
                s = generate.generate_to_file(
                    name, n, Path(tmp) / f"{name}.h5", seed=args.seed, workers=w, job_size=job_size
                )
                print(bench_line(name, w, s), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
