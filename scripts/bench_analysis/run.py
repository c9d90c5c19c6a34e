#!/usr/bin/env python
"""Resonant benchmark: the registered search methods (inclusive bump hunt, CWoLa hunting, QUAK, CATHODE-style
density, single-model baseline, and any method registered later) beside two references on the same features,
folds and signal regions: the idealized anomaly detector (SR data vs independent true SR background) and the
fully supervised classifier (SR signal vs SR background by truth). For each injected signal amount (0 = null
test) it prints and writes (JSON) per method:

- local Z: asymptotic sqrt(q0) of the bump hunt of the selected events in the best window (QUAK: Fisher
  combination of its categories); global Z: the best window's local p-value corrected for the scan,
  p_glob = 1 - (1 - p_loc)^n_eff, n_eff = (highest - lowest centre) / SR width + 1 independent windows;
- SIC max and the SIC curve (SIC vs signal efficiency) of the method's score in the true SR (3.5 TeV window),
  from truth labels (used for these figures only, never to choose anything); one SIC figure per injection;
- S/sqrt(B) of the selected events in the best window's SR, from truth (the selection's figure of merit, free of
  the bump-hunt fit's fluctuations, which move the local Z of one injection by about +-1);
- the two parts of the local Z, from truth (``bumphunt.truth_split_significance``): the signal-only Z (the selected
  signal on the smooth fit of the selected background) and the background-only Z (the bump the selection sculpts
  into, or the fluctuation it picks from, the background alone);
- closure AUC (null sample only, methods with a background model of the SR, e.g. the CATHODE-style flow
  samples): out-of-fold AUC of a boosted-tree classifier of model vs true SR background (half of the reference
  file), ideally 0.5 within its null spread;
- wall time of the method's scan (and of its closure test).

    python scripts/bench_analysis/run.py --benchmark data/analysis/lhco.h5 --proxy data/analysis/proxy_*.h5 \
        --reference data/analysis/qcd_reference.h5 --inject 0 370 610 860 \
        --methods cwola density idealized supervised --method-centres density=3300:4300:400 --out /tmp/bench

``--method-centres NAME=LO:HI:STEP`` scans an expensive method over fewer window centres (down to the true window
alone); its global Z still applies the trials factor of the full ``--centres`` scan (conservative; its best window
is then no mass measurement). The true mass must be among the centres so that its SIC is measured. The
references need ``--reference``.
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
from l1ad.analysis import bumphunt, closure, cwola, density, plots, search
from l1ad.data.atomic import atomic_path
from l1ad.pipeline.analysis import add_density_options, benchmark_dataset, check_windows, write_json

TRUE_MASS = 3500.0
REFERENCES = ("idealized", "supervised")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--proxy", type=Path, nargs="*", default=[], help="proxy-signal files for QUAK")
    p.add_argument("--reference", type=Path, help="independent background (idealized detector, closure test)")
    p.add_argument(
        "--reference-fraction",
        type=float,
        default=0.5,
        help="fraction of --reference that is truth background (the rest: simulation); 1 = all for the references",
    )
    p.add_argument("--no-mismodel", action="store_true", help="simulation half of --reference as is")
    p.add_argument("--inject", type=int, nargs="+", default=[0, 150, 200, 300])
    p.add_argument("--methods", nargs="+", default=None, help=f"registered: {', '.join(search.method_names())}")
    p.add_argument("--centres", type=float, nargs=3, default=[3300, 4300, 200], metavar=("LO", "HI", "STEP"))
    p.add_argument(
        "--method-centres",
        nargs="*",
        default=[],
        metavar="NAME=LO:HI:STEP",
        help="other window centres for a method (expensive ones), e.g. density=3300:4300:400",
    )
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
    p.add_argument("--n-ensemble", type=int, default=3, help="classifiers averaged per fold (all k-fold methods)")
    p.add_argument("--raw-jet-masses", action="store_true", help="features m_j instead of m_j / m_jj")
    p.add_argument("--quak-model", default="vae", choices=("vae", "gmm"))
    p.add_argument("--density-oversample", type=float, default=4.0, help="CATHODE-style: flow samples per SR event")
    p.add_argument(
        "--flow-max-events", type=int, default=30_000, help="CATHODE-style: sideband events the flow is fit on (0: all)"
    )
    p.add_argument(
        "--flow-preprocess",
        default=search.SearchConfig.flow_preprocess,
        choices=density.SAMPLE_PREPROCESSING,
        help="CATHODE-style: flow feature preprocessing (default %(default)s)",
    )
    p.add_argument(
        "--density-ensemble",
        type=int,
        default=None,
        help="CATHODE-style: classifiers averaged per fold (default: --n-ensemble)",
    )
    add_density_options(p)
    p.add_argument("--no-closure", action="store_true", help="skip the closure test on the null sample")
    p.add_argument(
        "--save-scores",
        action="store_true",
        help="also write scores_S<inj>_<method>.npz (m, truth, true-window score of every event) to redo the hunt",
    )
    p.add_argument("--out", type=Path, default=Path("/tmp/analysis/bench"))
    args = p.parse_args(argv)
    known = search.method_names()
    args.methods = args.methods or [m for m in known if m not in REFERENCES or args.reference is not None]
    for name in args.methods:
        if name not in known:
            p.error(f"unknown method {name!r} (registered: {', '.join(known)})")
        if name in REFERENCES and args.reference is None:
            p.error(f"method {name!r} needs --reference (independent background)")
    return args


def centres_of(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Window centres per method (``--centres``, or ``--method-centres``); the true mass must be scanned."""

    def grid(lo: float, hi: float, step: float) -> np.ndarray:
        return np.arange(lo, hi + 0.5 * step, step)

    default = grid(*args.centres)
    out = {m: default for m in args.methods}
    for item in args.method_centres:
        try:
            name, spec = item.split("=")
            lo, hi, step = (float(v) for v in spec.split(":"))
        except ValueError:
            raise SystemExit(f"--method-centres: expected NAME=LO:HI:STEP, got {item!r}") from None
        if name not in out:
            raise SystemExit(f"--method-centres: {name!r} is not among --methods {args.methods}")
        out[name] = grid(lo, hi, step)
    for name, c in out.items():
        if not np.any(np.isclose(c, TRUE_MASS)):
            raise SystemExit(f"the centres of {name} ({c.tolist()}) must include the true mass {TRUE_MASS:g}")
    return out


def sic_curve_points(bkg: np.ndarray, sig: np.ndarray, n: int = 100, min_bkg_events: int = 20) -> dict:
    """The SIC curve at ``n`` signal efficiencies (working points keeping >= ``min_bkg_events`` background events),
    for the JSON (figures combining several runs: ``combine.py``)."""
    from l1ad.analysis import metrics

    fpr, tpr, _ = metrics.roc_curve(bkg, sig)
    keep = (fpr > 0) & (fpr * len(bkg) >= min_bkg_events)
    eff, sic = tpr[keep], tpr[keep] / np.sqrt(fpr[keep])
    grid = np.linspace(eff.min(), eff.max(), n)
    idx = np.clip(np.searchsorted(eff, grid), 0, len(eff) - 1)
    return {"eff_s": eff[idx].tolist(), "sic": sic[idx].tolist()}


def save_scores(path: Path, m: np.ndarray, truth: np.ndarray, scores: np.ndarray) -> None:
    """The true window's score of every event beside its m_jj and truth label (npz, written atomically)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, m=m, truth=truth, score=scores)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    keras_compat.limit_threads(1)
    edges = np.arange(args.fit_range[0], args.fit_range[1] + 0.1, 100.0)
    centres = centres_of(args)
    default_centres = np.arange(args.centres[0], args.centres[1] + 0.5 * args.centres[2], args.centres[2])
    rows: list[dict] = []
    scans: dict[tuple[int, str], tuple[list, list]] = {}
    sic_inputs: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    figures = {}
    t0 = time.time()
    jobs = [(n, m) for n in args.inject for m in args.methods]
    data = None
    with threadpool_limits(1), tqdm(jobs, desc="searches", file=sys.stderr) as bar:
        for n_inj, method in bar:
            bar.set_postfix_str(f"S={n_inj} {method}")
            data = benchmark_dataset(
                args.benchmark,
                args.proxy,
                n_inj,
                args.seed,
                edges,
                scale_masses=not args.raw_jet_masses,
                reference=args.reference,
                mismodel=not args.no_mismodel,
                reference_fraction=args.reference_fraction,
            )
            check_windows(data, centres[method], args.sr_half_width, args.sb_width)
            true_window = cwola.Window.around(TRUE_MASS, args.sr_half_width, args.sb_width)
            cfg = search.SearchConfig(
                window=true_window,
                edges=edges,
                efficiency=args.efficiency,
                n_folds=args.folds,
                seed=args.seed,
                model=args.fit_model,
                model_inclusive=args.inclusive_model,
                n_ensemble=args.n_ensemble,
                quak_model=args.quak_model,
                density_estimator=args.density_estimator,
                density_oversample=args.density_oversample,
                flow_max_events=args.flow_max_events or None,
                flow_preprocess=args.flow_preprocess,
                density_calibration=args.density_calibration,
                density_models=args.density_models,
                density_classifier=args.density_classifier,
                density_ensemble=args.density_ensemble,
            )
            assert data.truth is not None
            in_sr = (data.m >= true_window.sr_lo) & (data.m < true_window.sr_hi)
            s_over_b = float(data.truth[in_sr].sum() / max((~data.truth[in_sr]).sum(), 1))
            c = centres[method]
            t_job = time.time()
            res = search.scan_windows(data, cfg, method, c, args.sr_half_width, args.sb_width, keep_scores=True)
            res["wall_s"] = time.time() - t_job
            if len(c) != len(default_centres) or not np.allclose(c, default_centres):
                # fewer windows (CPU): the trials factor of the full --centres scan, as if it had been scanned
                n_eff = bumphunt.n_independent_windows(default_centres, 2 * args.sr_half_width)
                res.update({"n_independent_windows": n_eff, "z_global": bumphunt.global_significance(res["z"], n_eff)})
            i_true = int(np.argmin(np.abs(c - TRUE_MASS)))
            window_scores = res.pop("scores")
            s_true = window_scores[i_true]
            if args.save_scores and s_true is not None:
                save_scores(args.out / f"scores_S{n_inj}_{method}.npz", data.m, data.truth, s_true)
            if s_true is not None and data.truth[in_sr].any():
                sic_inputs.setdefault(n_inj, {})[method] = (s_true[in_sr & ~data.truth], s_true[in_sr & data.truth])
            if n_inj == max(args.inject) and s_true is not None:
                figures[method] = (data, window_scores[int(np.argmax(res["scan_z"]))], res)
            res["sic_curve"] = (
                sic_curve_points(*sic_inputs[n_inj][method]) if method in sic_inputs.get(n_inj, {}) else None
            )
            res.update(
                {
                    "n_injected": n_inj,
                    "s_over_b_sr": s_over_b,
                    "n_sr": int(in_sr.sum()),
                    "sic_max_true_window": res["scan_sic_max"][i_true],
                    "p_local": float(bumphunt.z_to_p(res["z"])),
                    "closure": None,
                }
            )
            spec = search.get_method(method)
            if n_inj == 0 and spec.background_model is not None and data.reference is not None and not args.no_closure:
                t_cl = time.time()
                res["closure"] = closure.closure_test(data, cfg, method)
                res["closure"]["wall_s"] = time.time() - t_cl
            rows.append(res)
            scans[(n_inj, method)] = (res["scan_centres"], res["scan_z"])
            args.out.mkdir(parents=True, exist_ok=True)
            write_json(args.out / "bench_rows_partial.json", {"rows": rows})  # progress of a long run
            print(
                f"{method} S={n_inj}: local Z {res['z']:.2f}, global {res['z_global']:.2f}, "
                f"SIC {res['sic_max_true_window']:.2f}, {res['wall_s']:.0f} s",
                flush=True,
            )
    elapsed = time.time() - t0
    assert data is not None

    header = (
        f"{'method':<13}{'inj. S':>7}{'S/B(SR)':>9}{'best m':>8}{'local Z':>9}{'global Z':>9}{'SIC max':>9}"
        f"{'closure AUC':>17}{'sel.':>7}{'sig sel.':>9}{'S/vB SR':>8}{'Z sig|bkg':>12}{'time s':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        cl = r["closure"]
        cl_txt = f"{cl['auc']:.3f}+-{max(cl['auc_err'], cl['null_sigma']):.3f}" if cl else "-"
        s_sr, b_sr = r.get("sr_signal_selected"), r.get("sr_background_selected")
        s_sqrt_b = f"{s_sr / np.sqrt(b_sr):.2f}" if s_sr and b_sr else "-"
        z_parts = f"{r['z_signal_only']:.2f}|{r['z_background_only']:.2f}" if "z_signal_only" in r else "-"
        print(
            f"{r['method']:<13}{r['n_injected']:>7d}{100 * r['s_over_b_sr']:>8.2f}%{r['found_mass']:>8.0f}"
            f"{r['z']:>9.2f}{r['z_global']:>9.2f}{r['sic_max_true_window']:>9.2f}{cl_txt:>17}"
            f"{r['n_selected']:>7d}{r['n_signal_selected'] or 0:>9d}{s_sqrt_b:>8}{z_parts:>12}{r['wall_s']:>8.0f}"
        )
    n_bkg = int((~data.truth).sum()) if data.truth is not None else len(data.m)
    print(
        f"background events in fit range: {n_bkg}; windows {centres[args.methods[0]].tolist()} "
        f"(SR +-{args.sr_half_width:g}, {rows[0]['n_independent_windows']:.1f} independent); "
        f"efficiency {args.efficiency}; ensemble {args.n_ensemble}; jet masses "
        f"{'raw' if args.raw_jet_masses else '/ m_jj'}; QUAK {args.quak_model}; density {args.density_estimator} "
        f"(oversample {args.density_oversample:g}, flow on {args.flow_max_events or 'all'} SB events, "
        f"{args.flow_preprocess}, calibration {args.density_calibration}, {args.density_models} flow(s), classifier "
        f"{args.density_classifier}); "
        f"{elapsed:.0f} s"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    write_json(
        args.out / "bench_analysis.json",
        {
            "rows": rows,
            "centres": {m: c.tolist() for m, c in centres.items()},
            "efficiency": args.efficiency,
            "seed": args.seed,
            "n_background": n_bkg,
            "benchmark": str(args.benchmark),
            "reference": None if args.reference is None else str(args.reference),
            "proxies": [str(p) for p in args.proxy],
            "wall_s": elapsed,
        },
    )
    plots.injection_scan(rows, args.out / "injection_scan.png")
    for n_inj in args.inject:
        plots.window_scan(
            {m: scans[(n_inj, m)] for m in args.methods if (n_inj, m) in scans},
            args.out / f"window_scan_S{n_inj}.png",
            true_mass=TRUE_MASS,
        )
        if sic_inputs.get(n_inj):
            sb = next(r["s_over_b_sr"] for r in rows if r["n_injected"] == n_inj)
            plots.sic_curves(
                sic_inputs[n_inj],
                args.out / f"sic_S{n_inj}.png",
                title=f"S = {n_inj} (S/B {100 * sb:.2f} % in SR)",
                references=REFERENCES,
            )
    for method, (fdata, s_best, res) in figures.items():
        win = cwola.Window.around(res["found_mass"], args.sr_half_width, args.sb_width)
        in_win = cwola.window_labels(fdata.m, win)[0]
        keep = s_best > cwola.select_top(s_best[in_win], args.efficiency)
        counts = bumphunt.binned_counts(fdata.m[keep], edges)
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
    print(f"wrote {args.out}/bench_analysis.json and figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
