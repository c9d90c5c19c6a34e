"""Offline analysis as pipeline steps: metrics of score files, the resonant benchmark and its weakly supervised
searches (the registered methods of :mod:`l1ad.analysis.search`), and the L1 hook (pair-mass searches on
ADC2021 events). Results are JSON-ready dicts; :func:`write_json` writes them atomically."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.atomic import write_text_atomic

__all__ = [
    "add_density_options",
    "BENCH_FEATURES",
    "bench_features",
    "benchmark_dataset",
    "check_windows",
    "SIMULATION_MISMODEL",
    "read_scores",
    "write_json",
    "metrics",
    "make_benchmark",
    "resonant_search",
    "l1_search",
]


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


def add_density_options(group: argparse._ActionsContainer) -> None:
    """The CATHODE-style method's model options, for ``l1ad analyze`` and ``scripts/bench_analysis/run.py``."""
    from l1ad.analysis import cwola, density, search

    group.add_argument(
        "--density-estimator",
        default=search.SearchConfig.density_estimator,
        choices=density.ESTIMATORS,
        help="density method: TFP masked autoregressive flow (default) or conditional mixture",
    )
    group.add_argument(
        "--density-calibration",
        default=search.SearchConfig.density_calibration,
        choices=density.CALIBRATIONS,
        help="density method: sideband calibration of the model samples (classifier weights; default %(default)s)",
    )
    group.add_argument(
        "--density-models",
        type=int,
        default=search.SearchConfig.density_models,
        help="density method: models fitted with different seeds and sideband subsamples, sampled as a mixture",
    )
    group.add_argument(
        "--density-classifier",
        default=search.SearchConfig.density_classifier,
        choices=sorted(cwola.CLASSIFIERS),
        help="density method: boosted trees of its classifier and tree calibration (default %(default)s; "
        "'trees' = CWoLa's)",
    )


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
    """``payload`` as standard JSON (NaN/inf -> null), written atomically."""
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


#: Documented mis-modelling of the simulated background (``Dataset.simulation``) of the benchmark: jet masses
#: x 1.03 and tau21 x 0.97 (before the jet masses are divided by m_jj), so that a simulation-assisted method
#: (SALAD-style) has a data/simulation difference to correct. ``benchmark_dataset(mismodel=False)`` turns it off.
SIMULATION_MISMODEL = {"mj1": 1.03, "mj2": 1.03, "tau21_j1": 0.97, "tau21_j2": 0.97}


def _check_columns(path: Path, cols: tuple[str, ...], expected: tuple[str, ...], what: str) -> None:
    if tuple(cols) != tuple(expected):
        missing = [c for c in expected if c not in cols]
        extra = [c for c in cols if c not in expected]
        raise ValueError(
            f"{path}: {what} file has other features than the benchmark "
            f"(missing {missing}, unexpected {extra}; expected columns {list(expected)})"
        )


def benchmark_dataset(
    path: Path,
    proxies: list[Path],
    n_inject: int,
    seed: int,
    edges: np.ndarray,
    scale_masses: bool = True,
    reference: Path | None = None,
    mismodel: bool = True,
    reference_seed: int = 20260,
    reference_fraction: float = 0.5,
):
    """Search dataset from a benchmark file: background plus ``n_inject`` random signal events
    (features: :func:`bench_features`), events in the fit range ``edges``.

    The signal events not injected become ``Dataset.signal`` (the supervised reference). With ``reference`` (a
    file of further independent background, e.g. ``qcd_reference.h5``) a random ``reference_fraction`` (half by
    default; ``reference_seed``) becomes ``Dataset.reference`` (truth background of the idealized detector and the
    closure test) and the rest ``Dataset.simulation``, mis-modelled by :data:`SIMULATION_MISMODEL` unless
    ``mismodel`` is False (None when the fraction is 1). Proxy and reference files must have the benchmark's
    columns (a clear error names the file and the difference)."""
    from l1ad.analysis import cwola, resonant, search

    x, y, cols = resonant.read_benchmark(path)
    if "mjj" not in cols or any(c not in cols for c in BENCH_FEATURES):
        raise ValueError(
            f"{path}: benchmark file lacks columns {[c for c in ('mjj', *BENCH_FEATURES) if c not in cols]}"
        )
    sig = x[y == 1]
    rows, truth = cwola.inject(x[y == 0], sig, n_inject, seed)
    injected = np.random.default_rng(seed).choice(len(sig), size=n_inject, replace=False)  # as cwola.inject
    rest = np.delete(sig, injected, axis=0)
    lo, hi = float(edges[0]), float(edges[-1])

    def sample(r: np.ndarray):
        mr = r[:, cols.index("mjj")]
        k = (mr >= lo) & (mr < hi)
        return search.Sample(bench_features(r[k], cols, scale_masses), mr[k])

    m = rows[:, cols.index("mjj")]
    keep = (m >= lo) & (m < hi)
    if not keep.any():
        raise ValueError(f"{path}: no events in the fit range [{lo:g}, {hi:g}) (m_jj from {m.min():g} to {m.max():g})")
    prox = {}
    for p in proxies:
        px, _, pcols = resonant.read_benchmark(p)
        _check_columns(p, pcols, cols, "proxy")
        prox[p.stem] = bench_features(px, pcols, scale_masses)
    ref = sim = None
    if reference is not None:
        rx, ry, rcols = resonant.read_benchmark(reference)
        _check_columns(reference, rcols, cols, "reference")
        rx = rx[ry == 0]
        order = np.random.default_rng(reference_seed).permutation(len(rx))
        if not 0 < reference_fraction <= 1:
            raise ValueError(f"reference_fraction must be in (0, 1], got {reference_fraction}")
        half = int(round(reference_fraction * len(rx)))
        ref_rows, sim_rows = rx[order[:half]], rx[order[half:]].copy()
        if mismodel:
            for c, factor in SIMULATION_MISMODEL.items():
                sim_rows[:, cols.index(c)] *= factor
        ref = sample(ref_rows)
        sim = sample(sim_rows) if len(sim_rows) else None
    return search.Dataset(
        bench_features(rows[keep], cols, scale_masses),
        m[keep],
        truth[keep],
        proxies=prox,
        reference=ref,
        simulation=sim,
        signal=sample(rest),
    )


def check_windows(
    data, centres: np.ndarray, sr_half_width: float, sb_width: float, min_sideband_events: int = 500
) -> None:
    """Clear errors before a scan: every signal region inside the data's resonant-variable range, every
    sideband pair with at least ``min_sideband_events`` events to train on."""
    from l1ad.analysis import cwola

    lo, hi = float(np.min(data.m)), float(np.max(data.m))
    for c in np.atleast_1d(centres):
        w = cwola.Window.around(float(c), sr_half_width, sb_width)
        if w.sr_lo < lo or w.sr_hi > hi:
            raise ValueError(
                f"signal region [{w.sr_lo:g}, {w.sr_hi:g}) (centre {c:g}) lies outside the data's m range "
                f"[{lo:g}, {hi:g}]"
            )
        in_win, label = cwola.window_labels(data.m, w)
        n_sb = int((in_win & (label == 0)).sum())
        if n_sb < min_sideband_events:
            raise ValueError(
                f"the sidebands [{w.sb_lo:g}, {w.sr_lo:g}) + [{w.sr_hi:g}, {w.sb_hi:g}) of the window at {c:g} hold "
                f"only {n_sb} events, too few to train on (at least {min_sideband_events})"
            )


def metrics(bkg_scores: Path, sig_scores: Path, out: Path, fpr: list[float], dataset: str = "scores") -> dict:
    """ROC/AUC, max SIC and TPR at each FPR of background vs signal score files; ROC/SIC figure in ``out``."""
    from l1ad.analysis import metrics as m
    from l1ad.analysis import plots

    bkg, sig = read_scores(bkg_scores, dataset), read_scores(sig_scores, dataset)
    result: dict[str, Any] = {
        "method": "metrics",
        "n_bkg": int(bkg.size),
        "n_sig": int(sig.size),
        "auc": m.auc(bkg, sig),
        "max_sic": list(m.max_sic(bkg, sig)),
        "working_points": [],
    }
    for rate in fpr:
        tpr, err, thr = m.tpr_at_fpr(bkg, sig, rate)
        result["working_points"].append({"fpr": rate, "tpr": tpr, "tpr_err": err, "threshold": thr})
    plots.roc_and_sic({sig_scores.stem: (bkg, sig)}, out / "roc_sic.png")
    return result


def make_benchmark(path: Path, n_qcd: int, n_signal: int, seed: int) -> dict:
    """Generate (or extend, resumably) the resonant benchmark file with Pythia 8 + fastjet."""
    from l1ad.analysis import resonant

    resonant.generate(path, n_qcd, n_signal, seed=seed)
    _, y, _ = resonant.read_benchmark(path)
    return {"method": "benchmark", "file": str(path), "n_qcd": int((y == 0).sum()), "n_signal": int((y == 1).sum())}


def resonant_search(
    method: str,
    benchmark: Path,
    out: Path,
    proxies: list[Path],
    inject: int,
    centres: np.ndarray,
    sr_half_width: float,
    sb_width: float,
    edges: np.ndarray,
    raw_jet_masses: bool = False,
    **config: Any,
) -> dict:
    """A registered search ``method`` scanned over signal-region ``centres`` on the benchmark with ``inject``
    signal events; ``config``: further :class:`l1ad.analysis.search.SearchConfig` fields (efficiency, folds,
    seed, quak_model, ...). Writes the scan figure into ``out``."""
    from threadpoolctl import threadpool_limits

    from l1ad.analysis import cwola, plots, search

    seed = int(config.get("seed", 0))
    data = benchmark_dataset(benchmark, proxies, inject, seed, edges, scale_masses=not raw_jet_masses)
    check_windows(data, centres, sr_half_width, sb_width)
    window = cwola.Window.around(float(centres[0]), sr_half_width, sb_width)
    cfg = search.SearchConfig(window=window, edges=edges, **config)
    if search.get_method(method).uses_tensorflow:
        from l1ad import keras_compat

        keras_compat.limit_threads(1)
    with threadpool_limits(1):
        result = search.scan_windows(data, cfg, method, centres, sr_half_width, sb_width)
    result.update({"benchmark": str(benchmark), "n_injected": inject, "n_events": int(len(data.m))})
    plots.window_scan(
        {method: (result["scan_centres"], result["scan_z"])}, out / f"scan_{method}.png", true_mass=3500.0
    )
    return result


def l1_search(
    method: str,
    background: Path,
    pair: str,
    window: Any,
    edges: np.ndarray,
    efficiency: float,
    fit_model: str = "bernstein",
    signal: Path | None = None,
    inject: int = 0,
    proxies: list[Path] | None = None,
    seed: int = 0,
    folds: int = 5,
) -> dict:
    """CWoLa or QUAK on the mass of an object pair of ADC2021 events, optionally with injected signal."""
    from threadpoolctl import threadpool_limits

    from l1ad.analysis import cwola, l1
    from l1ad.data.adc2021 import read_particles

    if method not in ("cwola", "quak"):
        raise ValueError(f"L1 searches support method cwola or quak, not {method}")
    bkg = read_particles(background)
    truth = None
    if inject:
        if signal is None:
            raise ValueError("injecting signal into L1 events needs a signal file")
        sig = read_particles(signal)
        rows, truth = cwola.inject(bkg.reshape(len(bkg), -1), sig.reshape(len(sig), -1), inject, seed)
        bkg = rows.reshape(-1, *bkg.shape[1:])
    proxy_events = {p.stem: read_particles(p) for p in proxies or []}
    with threadpool_limits(1):
        return l1.run_l1_search(
            bkg,
            method,
            pair,
            window,
            edges,
            efficiency,
            fit_model,
            proxy_events or None,
            truth,
            seed=seed,
            n_folds=folds,
        )
