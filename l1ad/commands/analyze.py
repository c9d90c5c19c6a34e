"""``l1ad analyze``: offline analysis - metrics of score files, resonant weakly supervised searches, L1 hook.

Methods: ``metrics`` (ROC/AUC/TPR@FPR/SIC of background vs signal score files), ``benchmark`` (generate or
extend the resonant benchmark file), and every registered search method (:mod:`l1ad.analysis.search`) on the
benchmark (``--benchmark``) or on L1 events (``--l1``, cwola | quak). The work is done by
:mod:`l1ad.pipeline.analysis`; this module parses and prints. Writes ``<out>/analysis_<method>.json`` and figures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from l1ad.analysis import search
from l1ad.pipeline.analysis import add_density_options

__all__ = ["HELP", "add_arguments", "run"]

HELP = "offline analysis: metrics, CWoLa hunting, QUAK, density estimation, bump hunts"
METHODS = ("metrics", "benchmark", *search.method_names())


def _range(text: str) -> np.ndarray:
    """'lo:hi:step' -> arange(lo, hi + step/2, step)."""
    try:
        lo, hi, step = (float(v) for v in text.split(":"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected lo:hi:step, got {text!r}") from exc
    if step <= 0 or hi <= lo:
        raise argparse.ArgumentTypeError(f"need hi > lo and step > 0, got {text!r}")
    return np.arange(lo, hi + 0.5 * step, step)


def _window(text: str):
    from l1ad.analysis.cwola import Window

    try:
        return Window(*(float(v) for v in text.split(",")))
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"expected sb_lo,sr_lo,sr_hi,sb_hi, got {text!r} ({exc})") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--method",
        required=True,
        choices=METHODS,
        help="metrics | benchmark | a search method: "
        + "; ".join(f"{m}: {search.get_method(m).description}" for m in search.method_names()),
    )
    parser.add_argument("--out", default="analysis", help="output directory (default: analysis)")
    g = parser.add_argument_group("metrics")
    g.add_argument("--bkg-scores", type=Path, help="background scores: .npy, .txt/.csv (one per line) or .h5")
    g.add_argument("--sig-scores", type=Path, help="signal scores, same formats")
    g.add_argument("--dataset", default="scores", help="dataset name inside .h5 score files (default: scores)")
    g.add_argument("--fpr", type=float, nargs="+", default=[1e-3, 1e-4, 1e-5], help="working points (FPR)")
    g = parser.add_argument_group("resonant benchmark")
    g.add_argument("--benchmark", type=Path, help="benchmark HDF5 file (see l1ad.analysis.resonant)")
    g.add_argument("--n-qcd", type=int, default=100_000, help="benchmark: QCD events to generate")
    g.add_argument("--n-signal", type=int, default=5_000, help="benchmark: signal events to generate")
    g.add_argument("--proxy", type=Path, nargs="*", default=[], help="QUAK proxy-signal files (benchmark layout)")
    g.add_argument("--inject", type=int, default=0, help="signal events injected into the background")
    g.add_argument(
        "--centres",
        type=_range,
        default=_range("3100:4500:200"),
        help="signal-region centres lo:hi:step (default 3100:4500:200)",
    )
    g.add_argument("--sr-half-width", type=float, default=200.0)
    g.add_argument("--sb-width", type=float, default=400.0)
    g.add_argument("--edges", type=_range, default=None, help="bump-hunt bins lo:hi:step (default 2800:6000:100)")
    g.add_argument(
        "--quak-model",
        default="vae",
        choices=("vae", "gmm"),
        help="QUAK / single-model per-class model: dense VAE (default) or Gaussian mixture",
    )
    add_density_options(g)
    g.add_argument("--n-ensemble", type=int, default=1, help="CWoLa: classifiers averaged per fold (default 1)")
    g.add_argument(
        "--raw-jet-masses",
        action="store_true",
        help="use m_j1, m_j2 as features instead of m_j / m_jj (more m_jj-correlated: sculpting)",
    )
    g.add_argument(
        "--inclusive-model",
        default="dijet",
        choices=("dijet", "dijet3", "bernstein_ftest"),
        help="inclusive bump-hunt function (bernstein_ftest: degree from an F-test on the data)",
    )
    g = parser.add_argument_group("L1 events")
    g.add_argument("--l1", type=Path, help="ADC2021-layout background file")
    g.add_argument("--l1-signal", type=Path, help="ADC2021-layout signal file to inject from")
    g.add_argument("--l1-proxy", type=Path, nargs="*", default=[], help="ADC2021 proxy-signal files for QUAK")
    g.add_argument("--pair", default="dimuon", choices=("dimuon", "diegamma", "dijet"))
    g.add_argument("--window", type=_window, help="L1: sb_lo,sr_lo,sr_hi,sb_hi of the pair mass")
    g.add_argument("--fit-model", default=None, choices=("dijet", "dijet3", "bernstein"))
    parser.add_argument("--efficiency", type=float, default=0.01, help="selection efficiency (default 0.01)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)


def _search_config(args: argparse.Namespace) -> dict:
    options = {
        "efficiency": args.efficiency,
        "n_folds": args.folds,
        "seed": args.seed,
        "quak_model": args.quak_model,
        "density_estimator": args.density_estimator,
        "density_calibration": args.density_calibration,
        "density_models": args.density_models,
        "density_classifier": args.density_classifier,
        "n_ensemble": args.n_ensemble,
        "model_inclusive": args.inclusive_model,
    }
    if args.fit_model:
        options["model"] = args.fit_model
    return options


def run(args: argparse.Namespace) -> int:
    from l1ad.pipeline import analysis

    out = Path(args.out)
    if args.method == "metrics":
        result = analysis.metrics(args.bkg_scores, args.sig_scores, out, args.fpr, args.dataset)
        print(f"AUC {result['auc']:.4f}, max SIC {result['max_sic'][0]:.2f} +- {result['max_sic'][1]:.2f}")
        for wp in result["working_points"]:
            print(
                f"  FPR {wp['fpr']:.1e}: TPR {wp['tpr']:.4f} +- {wp['tpr_err']:.4f} (threshold {wp['threshold']:.6g})"
            )
    elif args.method == "benchmark":
        if args.benchmark is None:
            raise ValueError("--method benchmark needs --benchmark FILE")
        result = analysis.make_benchmark(args.benchmark, args.n_qcd, args.n_signal, seed=args.seed + 1)
        print(f"{args.benchmark}: {result['n_qcd']} QCD and {result['n_signal']} signal events")
    elif args.l1 is not None:
        if args.window is None or args.edges is None:
            raise ValueError("--l1 needs --window sb_lo,sr_lo,sr_hi,sb_hi and --edges lo:hi:step")
        result = analysis.l1_search(
            args.method,
            args.l1,
            args.pair,
            args.window,
            args.edges,
            args.efficiency,
            args.fit_model or "bernstein",
            signal=args.l1_signal,
            inject=args.inject,
            proxies=args.l1_proxy,
            seed=args.seed,
            folds=args.folds,
        )
        print(
            f"L1 {args.method} ({args.pair}): Z = {result['z']:.2f} (inclusive {result['inclusive_z']:.2f}), "
            f"{result['n_selected']} selected of {result['n_events']}"
        )
    elif args.benchmark is not None:
        result = analysis.resonant_search(
            args.method,
            args.benchmark,
            out,
            args.proxy,
            args.inject,
            args.centres,
            args.sr_half_width,
            args.sb_width,
            args.edges if args.edges is not None else _range("2800:6000:100"),
            raw_jet_masses=args.raw_jet_masses,
            **_search_config(args),
        )
        print(
            f"{args.method}: best window {result['found_mass']:.0f} GeV, local Z = {result['z']:.2f}, "
            f"global Z = {result['z_global']:.2f} ({result['n_independent_windows']:.1f} independent windows), "
            f"selected {result['n_selected']} (signal {result['n_signal_selected']}), SIC max {result['sic_max']:.2f}"
        )
    else:
        raise ValueError(f"--method {args.method} needs --benchmark FILE or --l1 FILE")
    path = analysis.write_json(out / f"analysis_{args.method}.json", result)
    print(f"wrote {path}")
    return 0
