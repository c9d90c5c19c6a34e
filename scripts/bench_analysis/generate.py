#!/usr/bin/env python
"""Generate the resonant benchmark in parallel: QCD, signal and the QUAK proxy signals, one Pythia process per job.

Each job writes its own resumable file under ``DIR/parts`` (``l1ad.analysis.resonant.generate``, a fresh seed per
job). With ``--time-limit`` the jobs are stopped after that many seconds; their last checkpoint (every 2,000
events, written atomically) is kept, so the sample is whatever was finished. Then the parts are merged:

- ``DIR/lhco.h5``: QCD of the first ``--data-jobs`` jobs + the signal (the data sample of the searches);
- ``DIR/qcd_reference.h5``: QCD of the remaining jobs (independent background: the idealized detector's reference);
- ``DIR/proxy_<mW>_<mX>_<mY>.h5``: the proxy signals (QUAK), never the true signal's masses.

The benchmark of docs/analysis.md came from two time-limited runs on a 16-core machine (~72 events/s per job):

    python scripts/bench_analysis/generate.py OUT1 --qcd-jobs 14 --data-jobs 11 --n-qcd 60000 \
        --n-signal 20000 --n-proxy 2000 --time-limit 420 --float32            # 340k + 94k QCD, signal, proxies
    python scripts/bench_analysis/generate.py OUT2 --seed 2 --qcd-jobs 16 --n-qcd 60000 --n-signal 2 \
        --n-proxy 1 --time-limit 315 --float32                                 # 390k QCD

then ``resonant.merge``: lhco.h5 = OUT1/lhco.h5 + the first 260k QCD of OUT2 (600k QCD + 20k signal),
qcd_reference.h5 = OUT1/qcd_reference.h5 + the other 130k (224k). About the same by count (600k + 200k QCD,
other seeds; ~12 minutes on 16 cores, 1-2 hours on 2 at 70-140 events/s per core):

    python scripts/bench_analysis/generate.py data/analysis --qcd-jobs 16 --data-jobs 12 --n-qcd 50000 \
        --n-signal 20000 --n-proxy 2000 --float32
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from l1ad.analysis import resonant

#: (m_W', m_X, m_Y) of the proxy signals: other W' and daughter masses than the true signal (3500, 500, 100).
PROXY_MASSES = (
    (3000.0, 200.0, 200.0),
    (3000.0, 400.0, 400.0),
    (4000.0, 100.0, 300.0),
    (4000.0, 300.0, 100.0),
    (4500.0, 600.0, 200.0),
    (2800.0, 150.0, 400.0),
    (5000.0, 250.0, 250.0),
)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--qcd-jobs", type=int, default=2)
    p.add_argument("--data-jobs", type=int, default=None, help="QCD jobs in lhco.h5 (default: all)")
    p.add_argument("--n-qcd", type=int, default=10000, help="QCD events per job")
    p.add_argument("--n-signal", type=int, default=5000)
    p.add_argument("--n-proxy", type=int, default=2000, help="events per proxy signal")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--time-limit", type=float, default=None, help="stop the jobs after this many seconds")
    p.add_argument("--float32", action="store_true", help="merged features as float32 (half the size)")
    return p.parse_args()


def job_commands(args: argparse.Namespace, parts: Path) -> list[tuple[str, list[str]]]:
    """(name, command) of every job; all jobs of one process share nothing but the seed base."""
    run = [sys.executable, "-m", "l1ad.analysis.resonant"]
    jobs = []
    for i in range(args.qcd_jobs):
        name = f"qcd_{i:02d}"
        jobs.append((name, [*run, str(parts / f"{name}.h5"), str(args.n_qcd), "0", str(args.seed * 100 + i)]))
    jobs.append(("signal", [*run, str(parts / "signal.h5"), "0", str(args.n_signal), str(args.seed * 100 + 99)]))
    for k, masses in enumerate(PROXY_MASSES):
        name = "proxy_" + "_".join(f"{m:.0f}" for m in masses)
        cmd = [*run, str(parts / f"{name}.h5"), "0", str(args.n_proxy), str(args.seed * 100 + 50 + k)]
        jobs.append((name, cmd + [f"{m:g}" for m in masses]))
    return jobs


def run_jobs(jobs: list[tuple[str, list[str]]], parts: Path, time_limit: float | None) -> None:
    """Run the QCD and signal jobs at once and the proxies one after the other (in one slot)."""
    parts.mkdir(parents=True, exist_ok=True)
    start = time.time()
    main = [(n, c) for n, c in jobs if not n.startswith("proxy_")]
    proxies = [(n, c) for n, c in jobs if n.startswith("proxy_")]
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=open(parts / f"{n}.log", "w")) for n, c in main]
    proxy_chain = " && ".join(" ".join(c) + f" 2> {parts / n}.log" for n, c in proxies)
    if proxies:
        procs.append(subprocess.Popen(["bash", "-c", proxy_chain], stdout=subprocess.DEVNULL))
    while any(p.poll() is None for p in procs):
        if time_limit is not None and time.time() - start > time_limit:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait()
            break
        time.sleep(2)
    print(f"jobs ran {time.time() - start:.0f} s", flush=True)


def main() -> int:
    args = parse()
    parts = args.out / "parts"
    jobs = job_commands(args, parts)
    run_jobs(jobs, parts, args.time_limit)
    dtype = np.float32 if args.float32 else np.float64
    n_data = args.qcd_jobs if args.data_jobs is None else args.data_jobs
    have = {n: parts / f"{n}.h5" for n, _ in jobs if (parts / f"{n}.h5").is_file()}
    qcd = [have[f"qcd_{i:02d}"] for i in range(args.qcd_jobs) if f"qcd_{i:02d}" in have]
    data_parts, ref_parts = qcd[:n_data], qcd[n_data:]
    if "signal" not in have or not data_parts:
        print(f"no signal or no QCD part finished: {sorted(have)}", file=sys.stderr)
        return 1
    n_qcd, n_sig = resonant.merge([*data_parts, have["signal"]], args.out / "lhco.h5", dtype)
    print(f"lhco.h5: {n_qcd} QCD + {n_sig} signal events from {len(data_parts)} jobs")
    if ref_parts:
        n_ref, _ = resonant.merge(ref_parts, args.out / "qcd_reference.h5", dtype)
        print(f"qcd_reference.h5: {n_ref} QCD events from {len(ref_parts)} jobs")
    for name in sorted(n for n in have if n.startswith("proxy_")):
        _, n_p = resonant.merge([have[name]], args.out / f"{name}.h5", dtype)
        print(f"{name}.h5: {n_p} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
