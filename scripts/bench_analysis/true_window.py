#!/usr/bin/env python
"""Registered search methods once at the true window (SR 3300-3700 GeV, sidebands 400 GeV each side) on the
resonant benchmark with injected signal: signal-region max SIC (truth used for this figure only), AUC, local Z of
the 1 % selection's bump hunt and the wall time per method. Writes one JSON.

SALAD-style methods need simulated background: ``--simulation`` (an independent QCD file) is read with the same
features; ``--sim-distortion a`` mis-models it: the tau21 features are multiplied by 1 + a (1 + (m_jj - 3.5 TeV)
/ 1 TeV), a mass-dependent shift the sideband reweighting has to learn and interpolate. ``salad`` is then run
once per distortion given.

    python scripts/bench_analysis/true_window.py --benchmark lhco.h5 --inject 620 \
        --simulation qcd_reference.h5 --sim-distortion 0 0.05 --methods salad curtains anode disco_vae
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from l1ad import keras_compat
from l1ad.analysis import cwola, metrics, resonant, search
from l1ad.pipeline.analysis import bench_features, benchmark_dataset, write_json


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--inject", type=int, default=620)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--methods", nargs="+", default=["salad", "curtains", "anode", "disco_vae"])
    p.add_argument("--simulation", type=Path, help="independent background file used as the simulation (SALAD)")
    p.add_argument("--sim-distortion", type=float, nargs="+", default=[0.0])
    p.add_argument("--efficiency", type=float, default=0.01)
    p.add_argument("--out", type=Path, default=Path("/tmp/analysis/true_window.json"))
    return p.parse_args()


def simulation(path: Path, distortion: float, edges: np.ndarray) -> search.Sample:
    x, y, cols = resonant.read_benchmark(path)
    x = x[y == 0]
    m = x[:, cols.index("mjj")]
    keep = (m >= edges[0]) & (m < edges[-1])
    feats, m = bench_features(x[keep], cols), m[keep]
    for j in (2, 3):  # tau21_j1, tau21_j2 (BENCH_FEATURES order)
        feats[:, j] *= 1 + distortion * (1 + (m - 3500.0) / 1000.0)
    return search.Sample(feats, m)


def main() -> int:
    args = parse()
    keras_compat.limit_threads(1)
    edges = np.arange(2800.0, 6000.1, 100.0)
    data = benchmark_dataset(args.benchmark, [], args.inject, args.seed, edges)
    window = cwola.Window(2900.0, 3300.0, 3700.0, 4100.0)
    cfg = search.SearchConfig(window=window, edges=edges, efficiency=args.efficiency, seed=args.seed)
    assert data.truth is not None
    in_sr = (data.m >= window.sr_lo) & (data.m < window.sr_hi)
    n_s, n_b = int((in_sr & data.truth).sum()), int((in_sr & ~data.truth).sum())
    print(f"{len(data.m)} events in the fit range, SR: {n_s} signal / {n_b} background (S/B {n_s / n_b:.2%})")
    runs = []
    for name in args.methods:
        for dist in args.sim_distortion if name == "salad" else [None]:
            if dist is not None:
                if args.simulation is None:
                    raise SystemExit("salad needs --simulation")
                data.simulation = simulation(args.simulation, dist, edges)
            t0, c0 = time.time(), time.process_time()
            with threadpool_limits(1):
                result, scores = search.run_method(name, data, cfg)
            assert scores is not None
            result.update(
                {
                    "sim_distortion": dist,
                    "auc_sr": metrics.auc(scores[in_sr & ~data.truth], scores[in_sr & data.truth]) if n_s else None,
                    "wall_s": time.time() - t0,
                    "cpu_s": time.process_time() - c0,
                }
            )
            runs.append(result)
            print(json.dumps({k: result[k] for k in ("method", "sim_distortion", "sic_max", "auc_sr", "z", "wall_s")}))
    summary = {"inject": args.inject, "seed": args.seed, "sr_signal": n_s, "sr_background": n_b}
    write_json(args.out, {**summary, "runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
