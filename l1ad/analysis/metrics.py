"""Classification metrics for anomaly scores: ROC, AUC, TPR at fixed FPR, SIC, selection overlap of two scores.

Convention: larger score = more anomalous; an event is selected when ``score > threshold`` (strictly).
All functions accept per-event weights (``None`` = unit weights). Bad input (empty arrays, NaN/inf scores,
weights of the wrong length, negative or NaN weights, zero total weight) raises ``ValueError``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "roc_curve",
    "auc",
    "tpr_at_fpr",
    "threshold_at_fpr",
    "tpr_ratio",
    "selection_overlap",
    "sic_curve",
    "max_sic",
    "selection_efficiency",
]


def _checked(scores: np.ndarray, weights: np.ndarray | None, name: str) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores)
    if s.ndim != 1:
        s = s.reshape(-1) if s.ndim == 2 and 1 in s.shape else s
    if s.ndim != 1:
        raise ValueError(f"{name} scores must be 1-D, got shape {np.shape(scores)}")
    if s.size == 0:
        raise ValueError(f"{name} scores are empty")
    if not np.issubdtype(s.dtype, np.number) or np.issubdtype(s.dtype, np.complexfloating):
        raise ValueError(f"{name} scores must be real numbers, got dtype {s.dtype}")
    s = s.astype(np.float64)
    bad = ~np.isfinite(s)
    if bad.any():
        raise ValueError(
            f"{name} scores contain {int(bad.sum())} NaN/inf value(s), first at index {int(np.flatnonzero(bad)[0])}"
        )
    if weights is None:
        return s, np.ones_like(s)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != s.shape:
        raise ValueError(f"{name} weights have {w.size} entries for {s.size} scores")
    if not np.isfinite(w).all():
        raise ValueError(f"{name} weights contain NaN/inf")
    if (w < 0).any():
        raise ValueError(f"{name} weights contain negative values")
    if w.sum() <= 0:
        raise ValueError(f"{name} weights sum to zero")
    return s, w


def selection_efficiency(
    scores: np.ndarray, threshold: float, weights: np.ndarray | None = None
) -> tuple[float, float]:
    """Weighted fraction of events with ``score > threshold`` and its uncertainty.

    Unweighted: binomial sqrt(eps (1 - eps) / N). Weighted: sqrt(eps^2 sum w_fail^2 + (1-eps)^2 sum w_pass^2) / W,
    the propagated error of the ratio of correlated weighted sums (reduces to the binomial one for unit weights).
    """
    s, w = _checked(scores, weights, "input")
    passed = s > threshold
    total = w.sum()
    eff = float(w[passed].sum() / total)
    var = (eff**2 * np.sum(w[~passed] ** 2) + (1.0 - eff) ** 2 * np.sum(w[passed] ** 2)) / total**2
    return eff, float(np.sqrt(var))


def _passing_fraction(s: np.ndarray, w: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Weighted fraction of events with score > t for each t in thresholds (vectorized)."""
    order = np.argsort(s, kind="mergesort")
    s_sorted, w_sorted = s[order], w[order]
    cum_from_top = np.concatenate([np.cumsum(w_sorted[::-1])[::-1], [0.0]])
    idx = np.searchsorted(s_sorted, thresholds, side="right")  # first index with score > t
    return cum_from_top[idx] / w.sum()


def roc_curve(
    bkg: np.ndarray, sig: np.ndarray, bkg_weights: np.ndarray | None = None, sig_weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve: ``(fpr, tpr, thresholds)``, thresholds decreasing, fpr/tpr increasing.

    The thresholds are +inf followed by every distinct score; at each, fpr/tpr are the weighted fractions of
    background/signal with score > threshold, and the curve is closed at (1, 1) with threshold -inf.
    """
    b, wb = _checked(bkg, bkg_weights, "background")
    s, ws = _checked(sig, sig_weights, "signal")
    distinct = np.unique(np.concatenate([b, s]))[::-1]
    thresholds = np.concatenate([[np.inf], distinct, [-np.inf]])
    fpr = _passing_fraction(b, wb, thresholds)
    tpr = _passing_fraction(s, ws, thresholds)
    return fpr, tpr, thresholds


def auc(
    bkg: np.ndarray, sig: np.ndarray, bkg_weights: np.ndarray | None = None, sig_weights: np.ndarray | None = None
) -> float:
    """Area under the ROC curve (trapezoidal; equals P(score_sig > score_bkg) + 0.5 P(tie))."""
    fpr, tpr, _ = roc_curve(bkg, sig, bkg_weights, sig_weights)
    return float(np.trapezoid(tpr, fpr))


def tpr_at_fpr(
    bkg: np.ndarray,
    sig: np.ndarray,
    fpr: float,
    bkg_weights: np.ndarray | None = None,
    sig_weights: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """Signal efficiency at a background efficiency ``fpr``: ``(tpr, tpr_err, threshold)``.

    ``threshold`` is the smallest background score value such that the weighted background fraction strictly
    above it is <= ``fpr`` (the loosest cut meeting the rate budget). ``tpr_err`` is binomial for unit weights
    and from sums of squared weights otherwise (see :func:`selection_efficiency`).
    """
    threshold = threshold_at_fpr(bkg, fpr, bkg_weights)
    tpr, err = selection_efficiency(sig, threshold, sig_weights)
    return tpr, err, threshold


def threshold_at_fpr(bkg: np.ndarray, fpr: float, bkg_weights: np.ndarray | None = None) -> float:
    """The smallest background score such that the weighted background fraction strictly above it is <= ``fpr``."""
    if not (0.0 <= float(fpr) <= 1.0) or not np.isfinite(fpr):
        raise ValueError(f"fpr must be in [0, 1], got {fpr}")
    b, wb = _checked(bkg, bkg_weights, "background")
    candidates = np.unique(b)
    frac = _passing_fraction(b, wb, candidates)  # non-increasing in candidates
    ok = np.flatnonzero(frac <= fpr + 1e-12 * max(fpr, 1e-300))
    return float(candidates[ok[0]])  # the maximum score always qualifies (fraction above it is 0)


def selection_overlap(
    bkg_ref: np.ndarray, bkg_new: np.ndarray, fpr: float, bkg_weights: np.ndarray | None = None
) -> float:
    """Of the background events a reference score selects at ``fpr``, the weighted fraction that a new score,
    cut at the same ``fpr`` on the same events, selects too (1 = the two triggers keep the same events).

    A low-variance measure of how faithfully e.g. a quantized model reproduces the float model's tail: TPR
    ratios of signals that sit near the threshold fall with it, and it needs no signal sample.
    """
    ref, w = _checked(bkg_ref, bkg_weights, "reference background")
    new, _ = _checked(bkg_new, bkg_weights, "new background")
    if ref.shape != new.shape:
        raise ValueError(f"reference and new scores must be on the same events: {ref.shape} vs {new.shape}")
    kept_ref = ref > threshold_at_fpr(ref, fpr, w)
    if not kept_ref.any():
        return float("nan")
    kept_new = new > threshold_at_fpr(new, fpr, w)
    return float(w[kept_ref & kept_new].sum() / w[kept_ref].sum())


def tpr_ratio(
    bkg_ref: np.ndarray,
    sig_ref: np.ndarray,
    bkg_new: np.ndarray,
    sig_new: np.ndarray,
    fpr: float,
    bkg_weights: np.ndarray | None = None,
    sig_weights: np.ndarray | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> tuple[float, float, float]:
    """TPR of a new score over that of a reference score at the same ``fpr``, both evaluated on the SAME events
    (e.g. quantized vs float model): ``(ratio, lo, hi)`` with the central 68 % interval from ``n_boot`` paired
    bootstrap resamplings of background and signal events (the two scores share each resampling, so their
    correlated fluctuations cancel). Resamplings where the reference TPR is 0 are skipped; NaN if all are.
    """
    bkg_ref, bkg_new, sig_ref, sig_new = (np.asarray(a) for a in (bkg_ref, bkg_new, sig_ref, sig_new))
    if bkg_ref.shape != bkg_new.shape or sig_ref.shape != sig_new.shape:
        raise ValueError(
            f"reference and new scores must be on the same events: background {bkg_ref.shape} vs "
            f"{bkg_new.shape}, signal {sig_ref.shape} vs {sig_new.shape}"
        )
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    _, wb = _checked(bkg_ref, bkg_weights, "background")
    _, ws = _checked(sig_ref, sig_weights, "signal")

    def ratio(ib: np.ndarray | slice, isg: np.ndarray | slice) -> float:
        ref = tpr_at_fpr(bkg_ref[ib], sig_ref[isg], fpr, wb[ib], ws[isg])[0]
        new = tpr_at_fpr(bkg_new[ib], sig_new[isg], fpr, wb[ib], ws[isg])[0]
        return new / ref if ref > 0 else float("nan")

    central = ratio(slice(None), slice(None))
    rng = np.random.default_rng(seed)
    boots = np.array(
        [ratio(rng.integers(0, wb.size, wb.size), rng.integers(0, ws.size, ws.size)) for _ in range(n_boot)]
    )
    boots = boots[np.isfinite(boots)]
    if boots.size == 0:
        return central, float("nan"), float("nan")
    lo, hi = np.percentile(boots, [16.0, 84.0])
    return central, float(lo), float(hi)


def sic_curve(
    bkg: np.ndarray, sig: np.ndarray, bkg_weights: np.ndarray | None = None, sig_weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Significance improvement characteristic: ``(eff_s, sic)`` with sic = eff_S / sqrt(eff_B), where eff_B > 0."""
    fpr, tpr, _ = roc_curve(bkg, sig, bkg_weights, sig_weights)
    keep = fpr > 0
    return tpr[keep], tpr[keep] / np.sqrt(fpr[keep])


def max_sic(
    bkg: np.ndarray,
    sig: np.ndarray,
    bkg_weights: np.ndarray | None = None,
    sig_weights: np.ndarray | None = None,
    min_bkg_events: int = 10,
) -> tuple[float, float]:
    """Maximum of the SIC curve over working points keeping at least ``min_bkg_events`` background events.

    The guard avoids the spurious divergence of eff_S / sqrt(eff_B) when eff_B is estimated from a handful of
    events. Returns ``(value, err)``; ``err`` propagates the efficiency uncertainties at the maximum:
    (err/sic)^2 = (d eff_S / eff_S)^2 + (d eff_B / (2 eff_B))^2.
    """
    if min_bkg_events < 1:
        raise ValueError(f"min_bkg_events must be >= 1, got {min_bkg_events}")
    b, wb = _checked(bkg, bkg_weights, "background")
    s, ws = _checked(sig, sig_weights, "signal")
    if b.size < min_bkg_events:
        raise ValueError(f"only {b.size} background events, fewer than min_bkg_events={min_bkg_events}")
    fpr, tpr, thr = roc_curve(b, s, wb, ws)
    # number of (raw) background events passing each threshold
    n_pass = _passing_fraction(b, np.ones_like(b), thr) * b.size
    keep = (fpr > 0) & (n_pass >= min_bkg_events)
    sic = np.where(keep, tpr / np.sqrt(np.where(fpr > 0, fpr, 1.0)), -np.inf)
    i = int(np.argmax(sic))
    value = float(sic[i])
    eff_s, err_s = selection_efficiency(s, thr[i], ws)
    eff_b, err_b = selection_efficiency(b, thr[i], wb)
    if eff_s <= 0:
        return value, float(err_s / np.sqrt(eff_b))
    rel = np.hypot(err_s / eff_s, err_b / (2.0 * eff_b))
    return value, float(value * rel)
