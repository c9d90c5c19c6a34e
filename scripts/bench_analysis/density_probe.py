#!/usr/bin/env python
"""Why does the CATHODE-style method trail the idealized detector? Max SIC (true SR, >= 20 background events) of
variants of the method on one injection (730 signal events, S/B 0.60 % in the 3.3-3.7 TeV SR of the 600k sample,
seed 1), beside the idealized detector (half / all of the reference file) and the supervised classifier, and
closure AUCs of the flow (SR samples vs reference SR events; SB samples vs SB data).

    L1AD_ANALYSIS_DATA=data/analysis PYTHONPATH=$PWD nice -n 10 python scripts/bench_analysis/density_probe.py \
        ideal1,ideal3,ideal_full1,ideal_full3,super,dataclos,sub30k:4:1:kde:c,sub30k:0.19:1:kde,sub30k:10:1:kde,\
        sub30k:4:3:kde,logit:4:1:kde:c:sb,logit:4:1:data:c,logit:4:1:uniform,logit_big:4:1:kde:c:sb,\
        logit_full:4:1:kde:c:sb

Stages: ideal1 / ideal3 (idealized, half reference, 1 / 3 classifiers per fold), ideal_full1 / ideal_full3 (all
of the reference file), super (supervised), dataclos (closure of the data's own SR background: the baseline),
FLOW:OVERSAMPLE:ENSEMBLE:MSAMPLING[:c[:sb]] (FLOW in sub30k, logit, logit_big, logit_full, full; MSAMPLING kde,
data, uniform; c: closure in the SR, sb: also in the sidebands). Results append to /tmp/s19a/probe.jsonl; flow
samples are cached in /tmp/s19a.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from l1ad import keras_compat
from l1ad.analysis import closure, cwola, density, metrics, references, search
from l1ad.pipeline.analysis import benchmark_dataset

keras_compat.limit_threads(1)
DATA = Path(os.environ.get("L1AD_ANALYSIS_DATA", "data/analysis"))  # lhco.h5 and qcd_reference.h5

stages = sys.argv[1].split(",")
out = Path("/tmp/s19a/probe.jsonl")
out.parent.mkdir(parents=True, exist_ok=True)
edges = np.arange(2800, 6000.1, 100)
data = benchmark_dataset(
    DATA / "lhco.h5",
    [],
    730,
    1,
    edges,
    reference=DATA / "qcd_reference.h5",
)
win = cwola.Window.around(3500, 200, 400)
in_sr, in_sb = references.in_window(data.m, search.SearchConfig(window=win, edges=edges))
ref_sr = references.in_window(data.reference.m, search.SearchConfig(window=win, edges=edges))[0]
truth_ref = search.Sample(data.reference.x[ref_sr], data.reference.m[ref_sr])


def sic(scores):
    return metrics.max_sic(scores[in_sr & ~data.truth], scores[in_sr & data.truth], min_bkg_events=20)[0], metrics.auc(
        scores[in_sr & ~data.truth], scores[in_sr & data.truth]
    )


def log(**kw):
    print(json.dumps(kw), flush=True)
    with out.open("a") as f:
        f.write(json.dumps(kw) + "\n")


MODELS = {}


def flow_samples(tag, oversample=10, m_sampling="kde", **kw):
    p = Path(f"/tmp/s19a/samples_{tag}_{m_sampling}.npz")
    if p.exists():
        z = np.load(p)
        return z["x"], z["m"]
    t = time.time()
    if tag in MODELS:
        model = MODELS[tag]
        rng = np.random.default_rng(2)
        m = density.sample_sr_masses(
            data.m[in_sr], int(oversample * in_sr.sum()), win.sr_lo, win.sr_hi, rng, m_sampling
        )
        x = model.sample(m, rng)
        ok = np.isfinite(x).all(1)
        x, m = x[ok], m[ok]
    else:
        x, m, model = density.background_samples(
            data.x, data.m, win, oversample=oversample, seed=1, flow_kw=kw, m_sampling=m_sampling
        )
        MODELS[tag] = model
        h = np.array(model.history)
        log(
            stage="flow",
            tag=tag,
            kw=repr(kw),
            fit_s=time.time() - t,
            epochs=len(model.history),
            best_val=float(h[:, 1].min()),
            best_epoch=int(h[:, 1].argmin()),
            val_last=[round(v, 4) for v in h[-5:, 1]],
        )
    np.savez(p, x=x, m=m)
    return x, m


def cathode(tag, xs, oversample, ens=1):
    n = int(oversample * in_sr.sum())
    t = time.time()
    s, _ = density.cathode_scores(data.x, data.m, win, n_folds=5, seed=1, n_ensemble=ens, samples=xs[:n])
    sm, auc = sic(s)
    log(stage="cathode", tag=tag, oversample=oversample, ens=ens, sic=sm, auc=auc, s=time.time() - t)


def clos(tag, xs, ms):
    t = time.time()
    r = closure.closure_auc(
        search.Sample(xs[: 4 * in_sr.sum()], ms[: 4 * in_sr.sum()]), truth_ref, seed=1, max_events=60_000
    )
    log(stage="closure", tag=tag, auc=r["auc"], err=r["auc_err"], null=r["null_sigma"], s=time.time() - t)


with threadpool_limits(1):
    for st in stages:
        if st.startswith("ideal"):
            ens = int(st[-1])
            cfg = search.SearchConfig(window=win, edges=edges, seed=1, n_ensemble=ens)
            d = data
            if "full" in st:
                from l1ad.analysis import resonant
                from l1ad.pipeline.analysis import bench_features

                rx, _, rc = resonant.read_benchmark(DATA / "qcd_reference.h5")
                d = search.Dataset(
                    data.x, data.m, data.truth, reference=search.Sample(bench_features(rx, rc), rx[:, 0])
                )
            t = time.time()
            s = references.idealized_scores(d, cfg)
            log(stage="idealized", tag=st, ens=ens, sic=sic(s)[0], auc=sic(s)[1], s=time.time() - t)
        elif st.startswith("super"):
            cfg = search.SearchConfig(window=win, edges=edges, seed=1, n_ensemble=1)
            t = time.time()
            s = references.supervised_scores(data, cfg)
            log(stage="supervised", sic=sic(s)[0], auc=sic(s)[1], s=time.time() - t)
        elif st.startswith("cwola"):
            cfg = search.SearchConfig(window=win, edges=edges, seed=1, n_ensemble=int(st[-1]))
            t = time.time()
            s = search.cwola_scores(data, cfg)
            log(stage="cwola", ens=int(st[-1]), sic=sic(s)[0], auc=sic(s)[1], s=time.time() - t)
        elif st.startswith("dataclos"):  # closure of the truth: data SR background vs reference (should be 0.5)
            r = closure.closure_auc(
                search.Sample(data.x[in_sr & ~data.truth], data.m[in_sr & ~data.truth]), truth_ref, seed=1
            )
            log(stage="closure", tag="data_sr_bkg", auc=r["auc"], err=r["auc_err"], null=r["null_sigma"])
        else:  # flowtag:oversample:ens[:closure]
            tag, ov, ens, msamp, *rest = st.split(":")
            kw = {
                "sub30k": {"max_events": 30_000},
                "full": {"max_events": None},
                "logit": {"max_events": 30_000, "preprocess": "logit"},
                "logit_full": {"max_events": None, "preprocess": "logit", "epochs": 30, "batch_size": 1024},
                "logit_big": {"max_events": 30_000, "preprocess": "logit", "n_layers": 8, "hidden": (128, 128)},
            }[tag]
            xs, ms = flow_samples(tag, m_sampling=msamp, **kw)
            if rest:
                clos(tag + "_" + msamp, xs, ms)
            if "sb" in rest:  # the flow where it was trained: samples at the SB masses vs the SB data
                sbm = data.m[in_sb]
                xsb = MODELS[tag].sample(sbm, np.random.default_rng(5))
                r = closure.closure_auc(
                    search.Sample(xsb, sbm), search.Sample(data.x[in_sb], sbm), seed=1, max_events=60_000
                )
                log(stage="closure_sb", tag=tag, auc=r["auc"], err=r["auc_err"], null=r["null_sigma"])
            cathode(tag + "_" + msamp, xs, float(ov), int(ens))
