#!/usr/bin/env python
"""Benchmark: events/s of rate emulation with the golden model, in-process stream vs Dask local schedulers.

    python scripts/bench_rates.py                       # random 57-32-16-(3+3) fixed-point VAE encoder, KL score
    python scripts/bench_rates.py --run runs/demo       # the golden model of a run (fixed/<score>/)
    python scripts/bench_rates.py --events 400000 --files 8 --workers 2

Events are random ADC2021-layout events (structure only) written to --workdir. Every backend must give the
identical histogram (checked); the figures printed are wall-clock events/s of the whole histogramming pass
(read + validate + preprocess + golden score + menu + histogram).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from l1ad.data.adc2021 import EGAMMA_ROWS, JET_ROWS, MUON_ROWS, ROW_CLASS, to_flat, write_particles
from l1ad.data.preprocess import InputFormat
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.model import DenseLayer, FixedPointModel
from l1ad.fixed.scores import make_score
from l1ad.pipeline import open_run, trigger
from l1ad.rates.menu import BaselineMenu
from l1ad.rates.stream import dask_histograms, stream_histograms
from l1ad.trigger import Trigger


def random_events(n: int, rng: np.random.Generator) -> np.ndarray:
    """Random events in the ADC2021 layout: exponential pT, uniform eta/phi, Poisson multiplicities."""
    out = np.zeros((n, 19, 4), np.float32)
    out[:, 0] = np.c_[rng.exponential(30, n), np.zeros(n), rng.uniform(-np.pi, np.pi, n), np.ones(n)]
    for rows, mean, scale in ((EGAMMA_ROWS, 0.5, 15), (MUON_ROWS, 0.4, 12), (JET_ROWS, 3.0, 40)):
        slots = rows.stop - rows.start
        count = np.minimum(rng.poisson(mean, n), slots)
        pts = np.sort(rng.exponential(scale, (n, slots)), axis=1)[:, ::-1]  # pT-ordered inside the type
        for k in range(slots):
            filled = count > k
            out[filled, rows.start + k] = np.c_[
                pts[:, k],
                rng.uniform(-2.5, 2.5, n),
                rng.uniform(-np.pi, np.pi, n),
                np.full(n, ROW_CLASS[rows.start + k]),
            ][filled]
    return out


def random_golden_scorer(events: np.ndarray, seed: int = 0) -> Trigger:
    """The published DNN VAE encoder shape (57 -> 32 -> 16 -> 3+3) with random integer weights, KL score."""
    rng = np.random.default_rng(seed)
    w, b, hidden_out, out_fmt = FixedFormat(8, 1), FixedFormat(8, 3), FixedFormat(8, 3, signed=False), FixedFormat(9, 4)
    layers, n_in = [], 57
    for i, n in enumerate((32, 16)):
        layers.append(
            DenseLayer(f"d{i}", rng.integers(-20, 20, (n_in, n)), w, rng.integers(-64, 64, n), b, "relu", hidden_out)
        )
        n_in = n
    layers.append(
        DenseLayer("out", rng.integers(-20, 20, (n_in, 6)), w, rng.integers(-64, 64, 6), b, "linear", out_fmt)
    )
    fmt = InputFormat.fit(to_flat(events[:20_000]), width=16, integer=6)
    model = FixedPointModel("bench", FixedFormat(16, 6), layers, 3, True, make_score("kl", 3, out_fmt))
    return Trigger(model, fmt)


def timed(label: str, n_events: int, fn):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<28} {seconds:8.2f} s  {n_events / seconds:12,.0f} events/s")
    return result, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="run directory with fixed/<score>/ (default: random encoder)")
    parser.add_argument("--score", default=None, help="score kind of the run (kl, rz, mu2)")
    parser.add_argument("--events", type=int, default=200_000, help="total background events")
    parser.add_argument("--files", type=int, default=4, help="number of files the events are split into")
    parser.add_argument("--chunk-size", type=int, default=25_000)
    parser.add_argument("--workers", type=int, default=2, help="Dask local workers")
    parser.add_argument("--schedulers", nargs="+", default=["threads", "processes"])
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the event files (temp dir)")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="l1ad_bench_rates_"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        rng = np.random.default_rng(1)
        per_file = -(-args.events // args.files)
        paths, sample = [], None
        for i in range(args.files):
            events = random_events(min(per_file, args.events - i * per_file), rng)
            sample = events if sample is None else sample
            paths.append(write_particles(workdir / f"bkg_{i}.h5", events))
        scorer = trigger(open_run(args.run), args.score) if args.run else random_golden_scorer(sample)
        menu = BaselineMenu()
        print(
            f"{args.events} events in {args.files} files, chunk {args.chunk_size}, score {scorer.kind} "
            f"({'run ' + str(args.run) if args.run else 'random 57-32-16-6 encoder'}), {args.workers} Dask workers"
        )
        reference, _ = timed(
            "in-process stream",
            args.events,
            lambda: stream_histograms(paths, scorer, menu, args.chunk_size, progress=False),
        )
        for scheduler in args.schedulers:
            result, _ = timed(
                f"dask.bag ({scheduler})",
                args.events,
                lambda s=scheduler: dask_histograms(
                    paths, scorer, menu, args.chunk_size, scheduler=s, num_workers=args.workers
                ),
            )
            if result != reference:
                print(f"MISMATCH: dask ({scheduler}) histogram differs from the in-process one", file=sys.stderr)
                return 1
        print("all backends gave identical histograms")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
