"""``l1ad analyze``: offline analysis - metrics of score files, resonant weakly supervised searches, L1 hook.

Methods:
  metrics                      ROC/AUC/TPR@FPR/SIC of background vs signal score files
  benchmark                    generate (or extend) the resonant benchmark file with Pythia 8 + fastjet
  inclusive|cwola|quak|density|single_model
                               resonant search on the benchmark (--benchmark) or on L1 events (--l1, cwola|quak)
Writes ``<out>/analysis_<method>.json`` and figures, atomically.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

HELP = "offline analysis: metrics, CWoLa hunting, QUAK, density estimation, bump hunts"
METHODS = ("metrics", "benchmark", "inclusive", "cwola", "quak", "density", "single_model")
BENCH_FEATURES = ("mj1", "mj2", "tau21_j1", "tau21_j2")
#: jet masses divided by m_jj: QCD jet masses scale with the jet pT, so raw masses are correlated with m_jj and
#: a SR-vs-SB classifier learns that correlation and sculpts a bump into the selected spectrum (CWoLa null on
#: the benchmark: local Z 2.7 at 3.9 TeV with raw masses, 2.2 with scaled ones). A narrow signal's m_j / m_jj
#: is still narrow (m_jj resolution 5 %).
SCALED_BY_MJJ = ("mj1", "mj2")


def bench_features(x: np.ndarray, cols: tuple[str, ...], scale_masses: bool = True) -> np.ndarray:
    """Search features (BENCH_FEATURES) of benchmark rows; jet masses divided by m_jj if ``scale_masses``."""
    out = x[:, [cols.index(c) for c in BENCH_FEATURES]].astype(np.float64)
    if scale_masses:
        mjj = x[:, cols.index("mjj")]
        for j, c in enumerate(BENCH_FEATURES):
            if c in SCALED_BY_MJJ:
                out[:, j] = out[:, j] / mjj
    return out


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
    parser.add_argument("--method", required=True, choices=METHODS)
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
    g.add_argument(
        "--density-estimator",
        default="flow",
        choices=("flow", "gmm"),
        help="density method: TFP masked autoregressive flow (default) or conditional mixture",
    )
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


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj)}")


def _clean(obj):
    """NaN/inf -> None so the JSON is standard."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json(path: Path, payload: dict) -> Path:
    from l1ad.data.atomic import write_text_atomic

    text = json.dumps(_clean(json.loads(json.dumps(payload, default=_json_default))), indent=2, allow_nan=False)
    return write_text_atomic(path, text + "\n")


def read_scores(path: Path, dataset: str = "scores") -> np.ndarray:
    """Scores from .npy, .txt/.csv or .h5 (``dataset``); clear errors for missing/bad files."""
    if path is None:
        raise ValueError("a score file is required (--bkg-scores and --sig-scores)")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: score file not found")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
    elif suffix in (".txt", ".csv"):
        arr = np.loadtxt(path, delimiter="," if suffix == ".csv" else None, ndmin=1)
    elif suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "r") as f:
            if dataset not in f:
                raise ValueError(f"{path}: no dataset {dataset!r} (has {sorted(f)})")
            arr = f[dataset][()]
    else:
        raise ValueError(f"{path}: unsupported score file type {suffix!r} (.npy, .txt, .csv, .h5)")
    arr = np.asarray(arr)
    if arr.ndim != 1:
        raise ValueError(f"{path}: scores must be 1-D, got shape {arr.shape}")
    return arr


def run_metrics(args: argparse.Namespace, out: Path) -> dict:
    from l1ad.analysis import metrics, plots

    bkg, sig = read_scores(args.bkg_scores, args.dataset), read_scores(args.sig_scores, args.dataset)
    result = {
        "method": "metrics",
        "n_bkg": int(bkg.size),
        "n_sig": int(sig.size),
        "auc": metrics.auc(bkg, sig),
        "max_sic": list(metrics.max_sic(bkg, sig)),
        "working_points": [],
    }
    for fpr in args.fpr:
        tpr, err, thr = metrics.tpr_at_fpr(bkg, sig, fpr)
        result["working_points"].append({"fpr": fpr, "tpr": tpr, "tpr_err": err, "threshold": thr})
    plots.roc_and_sic({args.sig_scores.stem: (bkg, sig)}, out / "roc_sic.png")
    print(f"AUC {result['auc']:.4f}, max SIC {result['max_sic'][0]:.2f} +- {result['max_sic'][1]:.2f}")
    for wp in result["working_points"]:
        print(f"  FPR {wp['fpr']:.1e}: TPR {wp['tpr']:.4f} +- {wp['tpr_err']:.4f} (threshold {wp['threshold']:.6g})")
    return result


def benchmark_dataset(
    path: Path, proxies: list[Path], n_inject: int, seed: int, edges: np.ndarray, scale_masses: bool = True
):
    """Search dataset from a benchmark file: background plus ``n_inject`` random signal events
    (features: :func:`bench_features`)."""
    from l1ad.analysis import cwola, resonant, search

    x, y, cols = resonant.read_benchmark(path)
    rows, truth = cwola.inject(x[y == 0], x[y == 1], n_inject, seed)
    m = rows[:, cols.index("mjj")]
    keep = (m >= edges[0]) & (m < edges[-1])
    prox = {}
    for p in proxies:
        px, _, pcols = resonant.read_benchmark(p)
        prox[p.stem] = bench_features(px, pcols, scale_masses)
    return search.Dataset(bench_features(rows[keep], cols, scale_masses), m[keep], truth[keep], proxies=prox)


def run_resonant(args: argparse.Namespace, out: Path) -> dict:
    from threadpoolctl import threadpool_limits

    from l1ad.analysis import cwola, plots, search

    edges = args.edges if args.edges is not None else _range("2800:6000:100")
    data = benchmark_dataset(
        args.benchmark, args.proxy, args.inject, args.seed, edges, scale_masses=not args.raw_jet_masses
    )
    window = cwola.Window.around(float(args.centres[0]), args.sr_half_width, args.sb_width)
    cfg = search.SearchConfig(
        window=window,
        edges=edges,
        efficiency=args.efficiency,
        n_folds=args.folds,
        seed=args.seed,
        quak_model=args.quak_model,
        density_estimator=args.density_estimator,
        n_ensemble=args.n_ensemble,
        model_inclusive=args.inclusive_model,
        **({"model": args.fit_model} if args.fit_model else {}),
    )
    if args.method in ("quak", "density", "single_model"):
        from l1ad import keras_compat

        keras_compat.limit_threads(1)
    with threadpool_limits(1):
        result = search.scan_windows(data, cfg, args.method, args.centres, args.sr_half_width, args.sb_width)
    result.update({"benchmark": str(args.benchmark), "n_injected": args.inject, "n_events": int(len(data.m))})
    plots.window_scan(
        {args.method: (result["scan_centres"], result["scan_z"])}, out / f"scan_{args.method}.png", true_mass=3500.0
    )
    print(
        f"{args.method}: best window {result['found_mass']:.0f} GeV, local Z = {result['z']:.2f}, "
        f"global Z = {result['z_global']:.2f} ({result['n_independent_windows']:.1f} independent windows), "
        f"selected {result['n_selected']} (signal {result['n_signal_selected']}), SIC max {result['sic_max']:.2f}"
    )
    return result


def run_l1(args: argparse.Namespace, out: Path) -> dict:
    from threadpoolctl import threadpool_limits

    from l1ad.analysis import cwola, l1
    from l1ad.data.adc2021 import read_particles

    if args.method not in ("cwola", "quak"):
        raise ValueError(f"--l1 supports --method cwola or quak, not {args.method}")
    if args.window is None or args.edges is None:
        raise ValueError("--l1 needs --window sb_lo,sr_lo,sr_hi,sb_hi and --edges lo:hi:step")
    bkg = read_particles(args.l1)
    truth = None
    if args.inject:
        if args.l1_signal is None:
            raise ValueError("--inject with --l1 needs --l1-signal")
        sig = read_particles(args.l1_signal)
        rows, truth = cwola.inject(bkg.reshape(len(bkg), -1), sig.reshape(len(sig), -1), args.inject, args.seed)
        bkg = rows.reshape(-1, *bkg.shape[1:])
    proxies = {p.stem: read_particles(p) for p in args.l1_proxy}
    with threadpool_limits(1):
        result = l1.run_l1_search(
            bkg,
            args.method,
            args.pair,
            args.window,
            args.edges,
            args.efficiency,
            args.fit_model or "bernstein",
            proxies or None,
            truth,
            seed=args.seed,
            n_folds=args.folds,
        )
    print(
        f"L1 {args.method} ({args.pair}): Z = {result['z']:.2f} (inclusive {result['inclusive_z']:.2f}), "
        f"{result['n_selected']} selected of {result['n_events']}"
    )
    return result


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.method == "metrics":
        result = run_metrics(args, out)
    elif args.method == "benchmark":
        from l1ad.analysis import resonant

        if args.benchmark is None:
            raise ValueError("--method benchmark needs --benchmark FILE")
        resonant.generate(args.benchmark, args.n_qcd, args.n_signal, seed=args.seed + 1)
        x, y, _ = resonant.read_benchmark(args.benchmark)
        result = {
            "method": "benchmark",
            "file": str(args.benchmark),
            "n_qcd": int((y == 0).sum()),
            "n_signal": int((y == 1).sum()),
        }
        print(f"{args.benchmark}: {result['n_qcd']} QCD and {result['n_signal']} signal events")
    elif args.l1 is not None:
        result = run_l1(args, out)
    elif args.benchmark is not None:
        result = run_resonant(args, out)
    else:
        raise ValueError(f"--method {args.method} needs --benchmark FILE or --l1 FILE")
    path = write_json(out / f"analysis_{args.method}.json", result)
    print(f"wrote {path}")
    return 0
