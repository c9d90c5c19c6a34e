#!/usr/bin/env python
"""Mass sculpting of the single-model VAE vs the DisCo-decorrelated VAE on the null (background-only) sample.

Trains the single-model baseline (dense VAE, :func:`l1ad.analysis.quak.fit_class_losses`) and the DisCo VAE
(:mod:`l1ad.analysis.disco`, lambda from ``--lam``, one run per value) on the benchmark's QCD events in the
fit range (each on a random 50k subsample, like the baseline), scores all of them and prints, per model:
dCor(score, m_jj) (exact, on a random subsample of ``--dcor-events`` events: O(n^2)) and the sculpting of the
m_jj spectrum after keeping the top ``--efficiency`` (chi2/ndf against the inclusive shape in 100 GeV bins,
KS statistic and JSD of passing vs failing spectra). Features as the benchmark: m_j1/m_jj, m_j2/m_jj, tau21
(``--raw-jet-masses``: m_j1, m_j2, which correlate with m_jj much more).

    python scripts/bench_analysis/disco.py --benchmark lhco.h5 --lam 10 --out /tmp/analysis/disco.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from l1ad import keras_compat
from l1ad.analysis import disco, quak, resonant
from l1ad.pipeline.analysis import bench_features, write_json


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--lam", type=float, nargs="+", default=[disco.DEFAULT_LAMBDA])
    p.add_argument("--efficiency", type=float, default=0.01)
    p.add_argument("--dcor-events", type=int, default=30_000)
    p.add_argument("--max-events", type=int, default=None, help="use a random subset of the null sample")
    p.add_argument("--raw-jet-masses", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("/tmp/analysis/disco.json"))
    return p.parse_args()


def main() -> int:
    args = parse()
    keras_compat.limit_threads(1)
    edges = np.arange(2800.0, 6000.1, 100.0)
    x, y, cols = resonant.read_benchmark(args.benchmark)
    x = x[y == 0]
    m = x[:, cols.index("mjj")]
    keep = (m >= edges[0]) & (m < edges[-1])
    feats, m = bench_features(x[keep], cols, scale_masses=not args.raw_jet_masses), m[keep]
    rng = np.random.default_rng(args.seed)
    if args.max_events is not None and len(m) > args.max_events:
        pick = rng.choice(len(m), args.max_events, replace=False)
        feats, m = feats[pick], m[pick]
    sub = rng.choice(len(m), min(args.dcor_events, len(m)), replace=False)
    print(f"{len(m)} background events in [{edges[0]:.0f}, {edges[-1]:.0f}) GeV")
    models = [("single_model", None)] + [(f"disco_vae lambda={lam:g}", lam) for lam in args.lam]
    rows = []
    with threadpool_limits(1):
        for name, lam in models:
            t0 = time.time()
            if lam is None:
                model = quak.fit_class_losses({"background": feats}, seed=args.seed)[0]
            else:
                model = disco.fit_disco_vae(feats, m, lam, seed=args.seed)
            scores = model(feats)
            row = {
                "model": name,
                "lambda": lam,
                "dcor": disco.distance_correlation(scores[sub], m[sub]),
                **disco.sculpting(m, scores, args.efficiency, edges),
                "wall_s": time.time() - t0,
            }
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("model", "dcor", "chi2_ndf", "ks", "jsd", "n_selected", "wall_s")}))
    write_json(args.out, {"n_events": int(len(m)), "raw_jet_masses": args.raw_jet_masses, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
