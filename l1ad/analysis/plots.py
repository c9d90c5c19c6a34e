"""Figures of the offline analysis (mplhep CMS style); every figure is written atomically."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep as hep  # noqa: E402
import numpy as np  # noqa: E402

from l1ad.analysis import metrics  # noqa: E402
from l1ad.analysis.bumphunt import FitResult  # noqa: E402
from l1ad.plotting import label, save_figure, use_style  # noqa: E402

__all__ = ["save", "roc_and_sic", "sic_curves", "bump_hunt", "window_scan", "injection_scan", "loss_space"]


def save(fig: plt.Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` atomically (format from the suffix) and close it."""
    return save_figure(fig, path, dpi=110)


def _figure(**kw) -> tuple[plt.Figure, plt.Axes]:
    use_style()
    fig, ax = plt.subplots(**kw)
    return fig, ax


def roc_and_sic(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], path: str | os.PathLike, min_bkg_events: int = 10
) -> Path:
    """ROC (background rejection vs signal efficiency) and SIC curves of name -> (bkg scores, sig scores)."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(20, 9))
    for name, (bkg, sig) in curves.items():
        fpr, tpr, _ = metrics.roc_curve(bkg, sig)
        ok = fpr > 0
        ax1.plot(tpr[ok], 1 / fpr[ok], label=f"{name} (AUC {metrics.auc(bkg, sig):.3f})")
        n_above = fpr * len(bkg)
        keep = ok & (n_above >= min_bkg_events)
        ax2.plot(tpr[keep], tpr[keep] / np.sqrt(fpr[keep]), label=name)
    ax1.set(yscale="log", xlabel="Signal efficiency", ylabel="Background rejection 1/$\\epsilon_B$")
    ax2.set(xlabel="Signal efficiency", ylabel="SIC = $\\epsilon_S\\,/\\,\\epsilon_B^{1/2}$")
    for ax in (ax1, ax2):
        ax.legend(fontsize=16)
        label(ax)
    return save(fig, path)


def sic_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike,
    title: str = "",
    min_bkg_events: int = 20,
    references: Sequence[str] = ("idealized", "supervised"),
) -> Path:
    """SIC (eps_S / eps_B^1/2) vs signal efficiency of name -> (bkg scores, sig scores), max SIC in the legend;
    the ``references`` dashed (working points keeping at least ``min_bkg_events`` background events)."""
    fig, ax = _figure(figsize=(9, 7))
    for name, (bkg, sig) in curves.items():
        fpr, tpr, _ = metrics.roc_curve(bkg, sig)
        keep = (fpr > 0) & (fpr * len(bkg) >= min_bkg_events)
        sic = tpr[keep] / np.sqrt(fpr[keep])
        ax.plot(tpr[keep], sic, ls="--" if name in references else "-", label=f"{name} (max {sic.max():.1f})")
    ax.axhline(1, color="gray", lw=1, ls=":")
    ax.set(xlabel="Signal efficiency (true SR)", ylabel="SIC = $\\epsilon_S\\,/\\,\\epsilon_B^{1/2}$", xlim=(0, 1))
    ax.legend(fontsize=13, title=title or None, title_fontsize=13)
    label(ax)
    return save(fig, path)


def bump_hunt(
    counts: np.ndarray,
    edges: np.ndarray,
    fit: FitResult,
    background: np.ndarray,
    path: str | os.PathLike,
    xlabel: str = "$m_{jj}$ [GeV]",
    title: str = "",
) -> Path:
    """Data, background-only and signal+background fits, and pulls."""
    use_style()
    fig, (ax, axp) = plt.subplots(2, 1, figsize=(10, 10), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    centres = 0.5 * (edges[1:] + edges[:-1])
    hep.histplot(counts, edges, yerr=np.sqrt(counts), histtype="errorbar", color="k", label="Selected events", ax=ax)
    ax.stairs(background, edges, color="tab:blue", label="Background fit")
    ax.stairs(fit.expected, edges, color="tab:red", ls="--", label=f"S+B fit, m = {fit.mass:.0f}, S = {fit.mu:.1f}")
    ax.set(yscale="log", ylabel="Events / bin")
    ax.set_ylim(bottom=0.5)
    ax.legend(fontsize=15, title=title or None, title_fontsize=15)
    label(ax)
    pull = (counts - background) / np.sqrt(np.maximum(background, 1e-9))
    axp.bar(centres, pull, width=np.diff(edges), color="tab:gray")
    axp.axhline(0, color="k", lw=1)
    axp.set(xlabel=xlabel, ylabel="Pull")
    return save(fig, path)


def window_scan(
    scans: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: str | os.PathLike,
    true_mass: float | None = None,
    xlabel: str = "Signal-region centre [GeV]",
) -> Path:
    """Local significance versus the signal-region centre for several methods."""
    fig, ax = _figure(figsize=(10, 8))
    for name, (centres, z) in scans.items():
        ax.plot(centres, z, marker="o", label=name)
    if true_mass is not None:
        ax.axvline(true_mass, color="k", ls=":", label="true mass")
    ax.set(xlabel=xlabel, ylabel="Local significance $Z$")
    ax.legend(fontsize=15)
    label(ax)
    return save(fig, path)


def injection_scan(rows: Sequence[Mapping], path: str | os.PathLike) -> Path:
    """Significance versus injected signal (S/B in the signal region) per method."""
    fig, ax = _figure(figsize=(10, 8))
    methods = sorted({r["method"] for r in rows})
    for name in methods:
        sel = sorted((r for r in rows if r["method"] == name), key=lambda r: r["n_injected"])
        ax.plot([100 * r["s_over_b_sr"] for r in sel], [r["z"] for r in sel], marker="o", label=name)
    ax.set(xlabel="Injected S/B in signal region [%]", ylabel="Local significance $Z$")
    ax.legend(fontsize=15)
    label(ax)
    return save(fig, path)


def loss_space(space: np.ndarray, truth: np.ndarray | None, names: Sequence[str], path: str | os.PathLike) -> Path:
    """QUAK loss space: background loss vs first proxy loss, signal events highlighted."""
    fig, ax = _figure(figsize=(10, 9))
    is_sig = np.zeros(len(space), bool) if truth is None else np.asarray(truth, bool)
    ax.scatter(space[~is_sig, 0], space[~is_sig, 1], s=2, alpha=0.3, label="background", color="tab:blue")
    if is_sig.any():
        ax.scatter(space[is_sig, 0], space[is_sig, 1], s=8, label="signal", color="tab:red")
    ax.set(xlabel=f"loss ({names[0]})", ylabel=f"loss ({names[1]})")
    ax.legend(fontsize=15)
    label(ax)
    return save(fig, path)
