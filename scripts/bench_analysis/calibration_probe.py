#!/usr/bin/env python
"""Sideband calibration of the CATHODE-style flow samples: SR closure AUC (weighted flow samples vs the reference
file's SR background) of calibration variants, from one flow fit (the density method's defaults: 30k sideband
events, seed 1) on the 600k benchmark with ``INJECT`` signal events (0: null sample); also the closure in the
sidebands, weights fit on one half of the sideband events and tested on the other.

    L1AD_ANALYSIS_DATA=data/analysis PYTHONPATH=$PWD nice python scripts/bench_analysis/calibration_probe.py \
        0 logit trees,trees:200000,trees_m,trees_m:200000,mlp_m [N_MODELS]

VARIANT is a :data:`l1ad.analysis.density.CALIBRATIONS` name, optionally with :MAX_EVENTS per class (default
100000). N_MODELS (default 1) flows with different seeds and fit subsamples are sampled as a mixture
(:class:`l1ad.analysis.density.ModelMixture`). Flow samples are cached in /tmp/calibration_probe.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from l1ad import keras_compat
from l1ad.analysis import closure, cwola, density, search
from l1ad.pipeline.analysis import benchmark_dataset

keras_compat.limit_threads(1)
DATA = Path(os.environ.get("L1AD_ANALYSIS_DATA", "data/analysis"))  # lhco.h5 and qcd_reference.h5
inject, preprocess, variants = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
n_models = int(sys.argv[4]) if len(sys.argv) > 4 else 1
edges = np.arange(2800, 6000.1, 100)
data = benchmark_dataset(DATA / "lhco.h5", [], inject, 1, edges, reference=DATA / "qcd_reference.h5")
assert data.reference is not None
win = cwola.Window.around(3500, 200, 400)
cache = Path(f"/tmp/calibration_probe/flow_{inject}_{preprocess}{'' if n_models == 1 else f'_x{n_models}'}.npz")
cache.parent.mkdir(parents=True, exist_ok=True)
with threadpool_limits(1):
    if cache.exists():
        z = np.load(cache)
        s, ms, sb_s, sb_m, sb_x = z["s"], z["ms"], z["sb_s"], z["sb_m"], z["sb_x"]
    else:
        t = time.time()
        draw, _, in_sr, in_sb = density._fit_sampler(
            data.x, data.m, win, 10, 1, "flow", {"max_events": 30_000, "preprocess": preprocess}, n_models
        )
        rng = np.random.default_rng(1)
        m_sr = density.sample_sr_masses(data.m[in_sr], 4 * int(in_sr.sum()), win.sr_lo, win.sr_hi, rng)
        s, ms = draw(m_sr, rng)
        sb_x = data.x[in_sb]
        sb_s, sb_m = draw(data.m[in_sb], rng)
        np.savez(cache, s=s, ms=ms, sb_s=sb_s, sb_m=sb_m, sb_x=sb_x)
        print(f"flow fit and samples: {time.time() - t:.0f} s", flush=True)
    ref = data.reference
    r_sr = (ref.m >= win.sr_lo) & (ref.m < win.sr_hi)
    truth = search.Sample(ref.x[r_sr], ref.m[r_sr])

    def sr_closure(w):
        return closure.closure_auc(search.Sample(s, ms, w), truth, 5, 1)["auc"]

    order = np.random.default_rng(3).permutation(len(sb_x))
    a, b = order[: len(order) // 2], order[len(order) // 2 :]
    plain_sb = closure.closure_auc(search.Sample(sb_s[b], sb_m[b]), search.Sample(sb_x[b], sb_m[b]), 5, 1)["auc"]
    print(json.dumps({"variant": "none", "sr_closure": sr_closure(None), "sb_closure_halves": plain_sb}), flush=True)
    for variant in variants:
        t = time.time()
        name, _, n_max = variant.partition(":")
        n_max_events = int(n_max) if n_max else 100_000
        w = density.sideband_weights(sb_x, sb_m, sb_s, sb_m, name, 1, n_max_events)(s, ms)
        w_a = density.sideband_weights(sb_x[a], sb_m[a], sb_s[a], sb_m[a], name, 1, n_max_events)
        sb_closure = closure.closure_auc(
            search.Sample(sb_s[b], sb_m[b], w_a(sb_s[b], sb_m[b])), search.Sample(sb_x[b], sb_m[b]), 5, 1
        )["auc"]
        result = {
            "variant": variant,
            "sr_closure": sr_closure(w / w.mean()),
            "sb_closure_halves": sb_closure,
            "w_range": [float(w.min() / w.mean()), float(w.max() / w.mean())],
            "kish_fraction": float(w.sum() ** 2 / (w**2).sum() / len(w)),
            "wall_s": time.time() - t,
        }
        print(json.dumps(result), flush=True)
