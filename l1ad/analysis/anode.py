"""ANODE: anomaly detection with two conditional density estimators (method ``"anode"``).

1. Background density p_bkg(x | m): the conditional masked autoregressive flow of :mod:`l1ad.analysis.density`
   fit on the sideband (SB) events and interpolated into the signal region (SR) through its smooth
   dependence on m.
2. Data density p_data(x | m): the same flow fit on the SR events themselves (signal included), started from
   the sideband flow's weights and standardisation and fine-tuned (Adam 3e-4, early stopping with patience 5):
   the two densities then differ only where the SR data ask for it, so estimation noise of two independent
   fits does not swamp a small signal (``warm_start=False``: an independent fit, the original ANODE).
3. Score: the log likelihood ratio log R(x | m) = log p_data(x | m) - log p_bkg(x | m); in the SR it ranks
   events by (background + signal) / background density. Events outside the SR are scored at a mass drawn from
   the SR mass distribution (the KDE of :func:`l1ad.analysis.density.sample_sr_masses`; the SR density is
   only defined there): clipping them to the nearest SR edge made the selection efficiency jump at the edges,
   and a bump hunt then saw a local Z of 3.5 at the true mass with no signal selected (600k benchmark).

Settings (from :class:`l1ad.analysis.search.SearchConfig`): the features are first mapped to standard normals by
their sideband quantiles (``preprocess="quantile"``, as the CURTAINS-style method; the map's Jacobian cancels in
the ratio; ``"none"`` fits the raw features); the sideband flow has 4 MADE layers of (64, 64)
tanh units, Adam 1e-3, batch 256, early stopping (patience 10, 10 % validation), seed ``cfg.seed``, on at most
``cfg.flow_max_events`` events (30k by default); the SR fine-tune uses all SR events (at most
``SR_MAX_EVENTS``, 100k), seed ``cfg.seed + 1``.

Measured (scripts/bench_analysis/true_window.py, 600k benchmark, SR 3.3-3.7 TeV, seed 1), 620 injected signal
events (S/B 0.50 % in the SR): max SIC 2.2 (SR AUC 0.77), local Z 2.5 of the 1 % selection, 122 s on one shared
core; null (no signal) Z 1.0. Without the quantile map: SIC 1.0 (AUC 0.57), Z 1.0, null Z 0.7; at S/B 2.0 %
(2500 injected) SIC 3.4, AUC 0.82, Z 11. The likelihood ratio of two flow fits stays noisier than a classifier
at S/B of a few per mille (CATHODE-style: SIC 7.7, CURTAINS-style: 11.3 on the same data).

:func:`background_sample` (the registered method's ``background_model``): one sample of the sideband flow at
each SR event's m (the interpolated background the ratio is taken against), for the closure test.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import QuantileTransformer

from l1ad.analysis import curtains, cwola, density

__all__ = ["AnodeFit", "fit", "fit_background", "fine_tune", "anode_scores", "background_sample", "MIN_EVENTS"]

MIN_EVENTS = 50  # fewest events a flow is fit on (sidebands and signal region each)
SR_MAX_EVENTS = 100_000  # SR events the data density is fine-tuned on (a random subsample beyond)
PREPROCESSORS = ("none", "quantile")
PREPROCESS = "quantile"


class AnodeFit:
    """The two conditional flows of ANODE and the signal region they refer to."""

    def __init__(
        self,
        background: density.ConditionalFlow,
        data: density.ConditionalFlow,
        window: cwola.Window,
        transform: QuantileTransformer | None = None,
    ):
        self.background, self.data, self.window, self.transform = background, data, window, transform

    def log_ratio(self, x: np.ndarray, m: np.ndarray, m_sr: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
        """log p_data(x | m') - log p_bkg(x | m'): m' = m in the signal region, elsewhere a mass drawn from the
        KDE of ``m_sr`` (the SR events' masses; default: the SR values of ``m``)."""
        m = np.asarray(m, dtype=np.float64).reshape(-1)
        w = self.window
        in_sr = (m >= w.sr_lo) & (m < w.sr_hi)
        mc = m.copy()
        if (~in_sr).any():
            ref = m[in_sr] if m_sr is None else np.asarray(m_sr, dtype=np.float64)
            rng = np.random.default_rng(seed + 104729)
            mc[~in_sr] = density.sample_sr_masses(ref, int((~in_sr).sum()), w.sr_lo, w.sr_hi, rng)
        z = self.transform.transform(np.asarray(x, dtype=np.float64)) if self.transform is not None else x
        return self.data.log_prob(z, mc) - self.background.log_prob(z, mc)  # the map's Jacobian cancels


def _regions(m: np.ndarray, window: cwola.Window) -> tuple[np.ndarray, np.ndarray]:
    return cwola.checked_regions(m, window, MIN_EVENTS, "ANODE")


def _arrays(x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64).reshape(-1)


def fit_background(
    x: np.ndarray, m: np.ndarray, window: cwola.Window, seed: int = 0, max_events: int | None = 30_000
) -> density.ConditionalFlow:
    """The sideband flow p_bkg(x | m) (the same fit as the CATHODE-style method's)."""
    x, m = _arrays(x, m)
    _, in_sb = _regions(m, window)
    return density.fit_flow(x[in_sb], m[in_sb], seed=seed, max_events=max_events)


def fine_tune(
    start: density.ConditionalFlow,
    x: np.ndarray,
    m: np.ndarray,
    seed: int = 0,
    epochs: int = 100,
    batch_size: int = 256,
    learning_rate: float = 3e-4,
    patience: int = 5,
    validation_fraction: float = 0.1,
) -> density.ConditionalFlow:
    """A copy of ``start`` (weights and standardisation) trained further by maximum likelihood on (x, m)."""
    n_layers = len(start._names)
    hidden = tuple(int(v.shape[-1]) for v in start._made[0].trainable_variables if v.shape.rank == 1)[:-1]
    flow = density.ConditionalFlow(start.n_features, n_layers, hidden or (64, 64), seed, start.preprocess)
    for var, value in zip(flow.trainable_variables, start.trainable_variables, strict=True):
        var.assign(value)
    flow.mean, flow.scale = start.mean.copy(), start.scale.copy()
    flow.lo, flow.hi = start.lo.copy(), start.hi.copy()
    zj = flow.standardized(x, m)
    return flow.train(zj, epochs, batch_size, learning_rate, patience, validation_fraction, seed, start_counts=True)


def fit(
    x: np.ndarray,
    m: np.ndarray,
    window: cwola.Window,
    seed: int = 0,
    max_events: int | None = 30_000,
    warm_start: bool = True,
    preprocess: str = PREPROCESS,
) -> AnodeFit:
    """Both flows: background in the sidebands, data in the signal region (fine-tuned from the background
    flow with ``warm_start``, else an independent fit on at most ``max_events`` events); with ``preprocess``
    "quantile" both are fit to the features mapped to normals by their sideband quantiles."""
    x, m = _arrays(x, m)
    in_sr, in_sb = _regions(m, window)
    qt = _transform(x[in_sb], seed, preprocess)
    z = qt.transform(x) if qt is not None else x
    bkg = fit_background(z, m, window, seed, max_events)
    z_sr, m_sr = z[in_sr], m[in_sr]
    if not warm_start:
        return AnodeFit(bkg, density.fit_flow(z_sr, m_sr, seed=seed + 1, max_events=max_events), window, qt)
    if len(m_sr) > SR_MAX_EVENTS:
        pick = np.random.default_rng(seed + 1).choice(len(m_sr), SR_MAX_EVENTS, replace=False)
        z_sr, m_sr = z_sr[pick], m_sr[pick]
    return AnodeFit(bkg, fine_tune(bkg, z_sr, m_sr, seed=seed + 1), window, qt)


def _transform(x_sb: np.ndarray, seed: int, preprocess: str) -> QuantileTransformer | None:
    if preprocess not in PREPROCESSORS:
        raise ValueError(f"preprocess must be one of {PREPROCESSORS}, got {preprocess!r}")
    return curtains.quantile_map(x_sb, seed) if preprocess == "quantile" else None


def anode_scores(
    x: np.ndarray,
    m: np.ndarray,
    window: cwola.Window,
    seed: int = 0,
    max_events: int | None = 30_000,
    model: AnodeFit | None = None,
) -> np.ndarray:
    """log p_data / p_bkg of every event (``model``: an existing :func:`fit`); non-finite values (flow
    overflow) are set to the lowest finite one."""
    x, m = _arrays(x, m)
    scores = (model or fit(x, m, window, seed, max_events)).log_ratio(x, m, seed=seed)
    bad = ~np.isfinite(scores)
    if bad.any():
        scores[bad] = np.nanmin(np.where(bad, np.nan, scores)) if (~bad).any() else 0.0
    return scores


def background_sample(
    x: np.ndarray,
    m: np.ndarray,
    window: cwola.Window,
    seed: int = 0,
    max_events: int | None = 30_000,
    preprocess: str = PREPROCESS,
    model: AnodeFit | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(features, masses): one sideband-flow sample at each SR event's m (``model``: use its sideband flow and
    feature map instead of fitting them)."""
    x, m = _arrays(x, m)
    in_sr, in_sb = _regions(m, window)
    if model is not None:
        flow, qt = model.background, model.transform
    else:
        qt = _transform(x[in_sb], seed, preprocess)
        flow = fit_background(qt.transform(x) if qt is not None else x, m, window, seed, max_events)
    m_sr = m[in_sr]
    xs = flow.sample(m_sr, np.random.default_rng(seed))
    ok = np.isfinite(xs).all(axis=1)
    xs, m_sr = xs[ok], m_sr[ok]
    return (qt.inverse_transform(xs) if qt is not None else xs), m_sr
