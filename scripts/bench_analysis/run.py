#!/usr/bin/env python
"""Resonant benchmark: inclusive bump hunt vs CWoLa hunting, QUAK, CATHODE-style density and a single-model
baseline, for several injected signal amounts (0 = null test). Prints the table
(method, injected S, S/B in SR, best window, local Z, global Z, SIC max) and writes JSON + figures.

Local Z: asymptotic sqrt(q0) of the bump hunt in the best window (QUAK: Fisher combination of its categories).
Global Z: the best window's local p-value corrected for the scan, p_glob = 1 - (1 - p_loc)^n_eff with
n_eff = (highest - lowest centre) / SR width + 1 independent windows. SIC max: maximum signal-improvement
characteristic of the method's score in the true SR (truth labels are used for this figure only, never to
choose anything).

    python scripts/bench_analysis.py --benchmark /tmp/analysis/lhco.h5 --proxy /tmp/analysis/proxy_*.h5 \
        --inject 0 330 440 550 660 --out /tmp/analysis/bench

S/B of a few per mille in the SR needs a sample of LHC-Olympics size: with 530k QCD events CWoLa and QUAK find the
3.5 TeV resonance from S/B = 0.41 % (README, "Offline analysis"); with 150k they need about 1 %.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from l1ad import keras_compat
from l1ad.analysis import bumphunt, cwola, plots, search
from l1ad.pipeline.analysis import benchmark_dataset, write_json

TRUE_MASS = 3500.0


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--proxy", type=Path, nargs="+", required=True, help="proxy-signal files for QUAK")
    p.add_argument("--inject", type=int, nargs="+", default=[0, 150, 200, 300])
    p.add_argument("--methods", nargs="+", default=list(search.method_names()), choices=search.method_names())
    p.add_argument("--centres", type=float, nargs=3, default=[3300, 4300, 200], metavar=("LO", "HI", "STEP"))
    p.add_argument("--sr-half-width", type=float, default=200.0, help="SR half width (~ m_jj resolution, 5 %%)")
    p.add_argument("--sb-width", type=float, default=400.0)
    p.add_argument("--efficiency", type=float, default=0.01)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--fit-model",
        default="dijet",
        choices=("dijet", "dijet3", "bernstein"),
        help="background function for the selected spectra (default dijet)",
    )
    p.add_argument(
        "--fit-range",
        type=float,
        nargs=2,
        default=[2800.0, 6000.0],
        metavar=("LO", "HI"),
        help="bump-hunt range; starts above the peak of the trigger turn-on (2.65 TeV)",
    )
    p.add_argument(
        "--inclusive-model",
        default="bernstein_ftest",
        choices=("bernstein_ftest", "dijet", "dijet3"),
        help="inclusive fit: Bernstein polynomial with the degree from an F-test (default) or dijet",
    )
    p.add_argument("--n-ensemble", type=int, default=3, help="CWoLa: classifiers averaged per fold")
    p.add_argument("--raw-jet-masses", action="store_true", help="features m_j instead of m_j / m_jj")
    p.add_argument("--quak-model", default="vae", choices=("vae", "gmm"))
    p.add_argument("--density-estimator", default="flow", choices=("flow", "gmm"))
    p.add_argument("--out", type=Path, default=Path("/tmp/analysis/bench"))
    return p.parse_args()


def main() -> int:
    args = parse()
    keras_compat.limit_threads(1)
    edges = np.arange(args.fit_range[0], args.fit_range[1] + 0.1, 100.0)
    lo, hi, step = args.centres
    centres = np.arange(lo, hi + 0.5 * step, step)
    rows = []
    scans = {}
    figures = {}
    t0 = time.time()
    jobs = [(n, m) for n in args.inject for m in args.methods]
    with threadpool_limits(1), tqdm(jobs, desc="searches", file=sys.stderr) as bar:
        for n_inj, method in bar:
            bar.set_postfix_str(f"S={n_inj} {method}")
            data = benchmark_dataset(
                args.benchmark, args.proxy, n_inj, args.seed, edges, scale_masses=not args.raw_jet_masses
            )
            cfg = search.SearchConfig(
                window=cwola.Window.around(TRUE_MASS, args.sr_half_width, args.sb_width),
                edges=edges,
                efficiency=args.efficiency,
                n_folds=args.folds,
                seed=args.seed,
                model=args.fit_model,
                model_inclusive=args.inclusive_model,
                n_ensemble=args.n_ensemble,
                quak_model=args.quak_model,
                density_estimator=args.density_estimator,
            )
            in_sr = (data.m >= TRUE_MASS - 200) & (data.m < TRUE_MASS + 200)
            s_over_b = float(data.truth[in_sr].sum() / max((~data.truth[in_sr]).sum(), 1))
            t_job = time.time()
            res = search.scan_windows(data, cfg, method, centres, args.sr_half_width, args.sb_width, keep_scores=True)
            res["wall_s"] = time.time() - t_job
            i_true = int(np.argmin(np.abs(centres - TRUE_MASS)))
            window_scores = res.pop("scores")
            if n_inj == max(args.inject) and method != "inclusive":
                figures[method] = (data, window_scores[i_true], window_scores[int(np.argmax(res["scan_z"]))], res)
            res.update(
                {
                    "n_injected": n_inj,
                    "s_over_b_sr": s_over_b,
                    "n_sr": int(in_sr.sum()),
                    "sic_max_true_window": res["scan_sic_max"][i_true],
                    "p_local": float(bumphunt.z_to_p(res["z"])),
                }
            )
            rows.append(res)
            scans[(n_inj, method)] = (res["scan_centres"], res["scan_z"])
    elapsed = time.time() - t0

    header = (
        f"{'method':<13}{'inj. S':>7}{'S/B(SR)':>9}{'best m':>8}{'local Z':>9}{'global Z':>9}{'SIC max':>9}"
        f"{'sel.':>7}{'sig sel.':>9}{'time s':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        sic = r["sic_max_true_window"]
        print(
            f"{r['method']:<13}{r['n_injected']:>7d}{100 * r['s_over_b_sr']:>8.2f}%{r['found_mass']:>8.0f}"
            f"{r['z']:>9.2f}{r['z_global']:>9.2f}{sic:>9.2f}{r['n_selected']:>7d}{r['n_signal_selected']:>9d}"
            f"{r['wall_s']:>8.0f}"
        )
    n_bkg = int((~data.truth).sum())
    print(
        f"background events in fit range: {n_bkg}; windows {centres.tolist()} (SR +-{args.sr_half_width:g}, "
        f"{rows[0]['n_independent_windows']:.1f} independent); efficiency {args.efficiency}; "
        f"CWoLa ensemble {args.n_ensemble}; jet masses {'raw' if args.raw_jet_masses else '/ m_jj'}; "
        f"QUAK {args.quak_model}; density {args.density_estimator}; "
        f"{elapsed:.0f} s"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    write_json(
        args.out / "bench_analysis.json",
        {
            "rows": rows,
            "centres": centres.tolist(),
            "efficiency": args.efficiency,
            "n_background": n_bkg,
            "benchmark": str(args.benchmark),
            "proxies": [str(p) for p in args.proxy],
        },
    )
    plots.injection_scan(rows, args.out / "injection_scan.png")
    for n_inj in args.inject:
        plots.window_scan(
            {m: scans[(n_inj, m)] for m in args.methods if (n_inj, m) in scans},
            args.out / f"window_scan_S{n_inj}.png",
            true_mass=TRUE_MASS,
        )
    curves = {}
    for method, (data, s_true, s_best, res) in figures.items():
        in_sr = (data.m >= TRUE_MASS - 200) & (data.m < TRUE_MASS + 200)
        curves[method] = (s_true[in_sr & ~data.truth], s_true[in_sr & data.truth])
        win = cwola.Window.around(res["found_mass"], 200, 400)
        in_win = cwola.window_labels(data.m, win)[0]
        keep = s_best > cwola.select_top(s_best[in_win], args.efficiency)
        counts = bumphunt.binned_counts(data.m[keep], edges)
        bkg = bumphunt.fit_background(counts, edges, args.fit_model)
        fit = bumphunt.fit_signal_plus_background(
            counts, edges, win.centre, 0.05 * win.centre, args.fit_model, background=bkg, with_error=False
        )
        plots.bump_hunt(
            counts,
            edges,
            fit,
            bkg.expected,
            args.out / f"bump_hunt_{method}.png",
            title=f"{method}, S = {max(args.inject)}, top {100 * args.efficiency:g} %",
        )
    if curves:
        plots.roc_and_sic(curves, args.out / "roc_sic_true_window.png")
    print(f"wrote {args.out}/bench_analysis.json and figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
