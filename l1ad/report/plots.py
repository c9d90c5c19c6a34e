"""Report figures in mplhep's CMS style, from saved score histograms (integer codes + summed weights).

Each function draws one figure and writes it atomically as PNG; ``hists`` maps a sample name to
``{"codes": int (K,), "sumw": float (K,), ...}`` (see :func:`l1ad.rates.summary.load_histograms`), the
first entry being the background.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep as hep  # noqa: E402
import numpy as np  # noqa: E402

from l1ad.analysis.metrics import auc, roc_curve  # noqa: E402
from l1ad.plotting import label, save_figure, use_style  # noqa: E402

__all__ = ["score_distributions", "roc_curves", "rate_vs_threshold", "efficiency_vs_rate"]

Hist = Mapping[str, np.ndarray]


def _style() -> None:
    use_style()


def _save(fig: plt.Figure, path: str | os.PathLike) -> Path:
    return save_figure(fig, path, dpi=80)


def _heavy_tailed(values: np.ndarray) -> bool:
    """Non-negative values spanning more than 3 decades above their smallest positive value: use a log axis."""
    positive = values[values > 0]
    return bool(values.min() >= 0 and positive.size and positive.max() / positive.min() > 1e3)


def _tail_fraction(h: Hist) -> tuple[np.ndarray, np.ndarray]:
    """(codes, weighted fraction of events with code > each code)."""
    w = np.asarray(h["sumw"], np.float64)
    above = np.cumsum(w[::-1])[::-1] - w  # weight strictly above codes[i]
    return np.asarray(h["codes"]), above / w.sum()


def score_distributions(
    hists: Mapping[str, Hist],
    path: str | os.PathLike,
    lsb: float = 1.0,
    n_bins: int = 60,
    xlabel: str = "anomaly score",
) -> Path:
    """Normalized score distributions, background vs signals (score value = code x lsb)."""
    _style()
    values = {name: np.asarray(h["codes"], np.float64) * lsb for name, h in hists.items()}
    everything = np.concatenate(list(values.values()))
    lo, hi = float(everything.min()), float(everything.max())
    log_x = _heavy_tailed(everything)  # e.g. KL: log bins
    if log_x:
        edges = np.geomspace(float(everything[everything > 0].min()), hi * 1.001, n_bins + 1)
    else:
        edges = np.linspace(lo, hi if hi > lo else lo + lsb, n_bins + 1)
    fig, ax = plt.subplots(figsize=(10, 8))
    for i, (name, h) in enumerate(hists.items()):
        v = np.clip(values[name], edges[0], edges[-1])  # zeros / edges into the first / last bin
        counts, _ = np.histogram(v, edges, weights=h["sumw"])
        hep.histplot(
            counts / counts.sum(),
            edges,
            ax=ax,
            label=name,
            histtype="fill" if i == 0 else "step",
            alpha=0.4 if i == 0 else 1.0,
        )
    if log_x:
        ax.set_xscale("log")
        xlabel += " (first bin includes 0)"
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of events")
    ax.legend()
    label(ax)
    return _save(fig, path)


def roc_curves(
    hists: Mapping[str, Hist],
    path: str | os.PathLike,
    reference: Mapping[str, Hist] | None = None,
    reference_name: str = "",
) -> Path:
    """ROC curves (signal vs background efficiency, log x) of each signal, with AUC; ``reference`` (same sample
    names, e.g. the best simple baseline) is drawn dashed in the same colour."""
    _style()
    (bkg_name, bkg), *signals = hists.items()
    fig, ax = plt.subplots(figsize=(10, 8))
    xmin = 1.0
    for i, (name, h) in enumerate(signals):
        curves = [(h, bkg, f"{name}", "-")]
        if reference is not None and name in reference and bkg_name in reference:
            curves.append((reference[name], reference[bkg_name], f"{name}: {reference_name}", "--"))
        for sig_h, bkg_h, text, style in curves:
            args = (bkg_h["codes"], sig_h["codes"], bkg_h["sumw"], sig_h["sumw"])
            fpr, tpr, _ = roc_curve(*args)
            keep = fpr > 0
            xmin = min(xmin, float(fpr[keep].min()))
            ax.plot(fpr[keep], tpr[keep], style, color=f"C{i}", label=f"{text} (AUC = {auc(*args):.3f})")
    diagonal = np.geomspace(xmin, 1, 50)
    ax.plot(diagonal, diagonal, "k:", lw=1, label="random")
    ax.set_xscale("log")
    ax.set_xlim(xmin, 1)
    ax.set_xlabel(f"{bkg_name} efficiency (false positive rate)")
    ax.set_ylabel("signal efficiency")
    ax.legend(loc="upper left")
    label(ax)
    return _save(fig, path)


def rate_vs_threshold(
    background: Hist,
    f_coll_hz: float,
    path: str | os.PathLike,
    targets: Sequence[tuple[float, int]] = (),
    lsb: float = 1.0,
) -> Path:
    """L1 rate (kHz, log) vs threshold value, with the chosen (target, threshold) points."""
    _style()
    codes, frac = _tail_fraction(background)
    w2 = np.asarray(background.get("sumw2", background["sumw"]), np.float64)
    w2_above = np.cumsum(w2[::-1])[::-1] - w2
    total = float(np.sum(background["sumw"]))
    err = np.sqrt(np.maximum((1 - frac) ** 2 * w2_above + frac**2 * (w2.sum() - w2_above), 0)) / total
    rate, rate_err = frac * f_coll_hz / 1e3, err * f_coll_hz / 1e3
    x_all = codes * lsb
    log_x = _heavy_tailed(x_all)
    keep = (rate > 0) & ((x_all > 0) if log_x else True)
    fig, ax = plt.subplots(figsize=(10, 8))
    x = x_all[keep]
    ax.step(x, rate[keep], where="post", label="background rate")
    ax.fill_between(x, (rate - rate_err)[keep], (rate + rate_err)[keep], step="post", alpha=0.3)
    for i, (target_hz, threshold) in enumerate(targets):
        color = f"C{i + 1}"
        ax.axhline(target_hz / 1e3, color=color, ls=":", lw=1)
        ax.axvline(threshold * lsb, color=color, ls="--", lw=1, label=f"{target_hz / 1e3:g} kHz: code {threshold}")
    ax.set_yscale("log")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("threshold (score > threshold)")
    ax.set_ylabel("L1 rate [kHz]")
    ax.legend(fontsize="small", title=f"$f_{{coll}}$ = {f_coll_hz / 1e6:.4g} MHz", title_fontsize="small")
    label(ax)
    return _save(fig, path)


def efficiency_vs_rate(
    hists: Mapping[str, Hist],
    f_coll_hz: float,
    path: str | os.PathLike,
    target_rates_hz: Sequence[float] = (),
    reference: Mapping[str, Hist] | None = None,
    reference_name: str = "",
) -> Path:
    """Signal efficiency vs background L1 rate (kHz, log) for every signal; target rates as lines;
    ``reference`` (same sample names, e.g. the best simple baseline) dashed in the same colour."""
    _style()
    (bkg_name, bkg), *signals = hists.items()
    fig, ax = plt.subplots(figsize=(10, 8))
    for n, (name, h) in enumerate(signals):
        curves = [(h, bkg, name, "-")]
        if reference is not None and name in reference and bkg_name in reference:
            curves.append((reference[name], reference[bkg_name], f"{name}: {reference_name}", "--"))
        for sig_h, bkg_h, text, style in curves:
            codes, bkg_frac = _tail_fraction(bkg_h)
            s_codes, s_frac = _tail_fraction(sig_h)
            i = np.searchsorted(s_codes, codes, side="right")  # signal efficiency at threshold = each bkg code
            eff = np.r_[1.0, s_frac][i]  # fraction of signal with code > t (1 below all codes)
            keep = bkg_frac > 0
            ax.step(bkg_frac[keep] * f_coll_hz / 1e3, eff[keep], style, where="post", color=f"C{n}", label=text)
    for r in target_rates_hz:
        ax.axvline(r / 1e3, color="gray", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("L1 rate [kHz]")
    ax.set_ylabel("signal efficiency")
    ax.set_ylim(0, 1.05)
    ax.legend(loc="upper left")
    label(ax)
    return _save(fig, path)
