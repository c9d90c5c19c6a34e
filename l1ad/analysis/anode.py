"""ANODE: anomaly detection with two conditional density estimators (method ``"anode"``).

1. Background density p_bkg(x | m): the conditional masked autoregressive flow of :mod:`l1ad.analysis.density`
   fit on the sideband (SB) events and interpolated into the signal region (SR) through its smooth
   dependence on m.
2. Data density p_data(x | m): the same flow architecture fit on the SR events themselves (signal included).
3. Score: the log likelihood ratio log R(x | m) = log p_data(x | m) - log p_bkg(x | m); in the SR it ranks
   events by (background + signal) / background density. Events outside the SR are scored at m clipped to the
   nearest SR edge (the SR density is only defined there), so a selection does not extrapolate the data flow.

Settings (from :class:`l1ad.analysis.search.SearchConfig`): both flows have 4 MADE layers of (64, 64) tanh
units, Adam 1e-3, batch 256, early stopping (patience 10, 10 % validation), seed ``cfg.seed``; each fit sample
is subsampled to ``cfg.flow_max_events`` events (30k by default). The SR flow gets the seed ``cfg.seed + 1``.

``background_model``: one sample of the sideband flow at each SR event's m (the interpolated background the
ratio is taken against), for the closure test.
"""

from __future__ import annotations

import numpy as np

from l1ad.analysis import cwola, density, search

__all__ = ["AnodeFit", "fit", "log_ratio", "anode_scores", "background_model", "MIN_EVENTS"]

MIN_EVENTS = 50  # fewest events a flow is fit on (sidebands and signal region each)


class AnodeFit:
    """The two conditional flows of ANODE and the signal region they refer to."""

    def __init__(self, background: density.ConditionalFlow, data: density.ConditionalFlow, window: cwola.Window):
        self.background, self.data, self.window = background, data, window

    def log_ratio(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """log p_data(x | m') - log p_bkg(x | m') with m' = m clipped into the signal region."""
        mc = np.clip(np.asarray(m, dtype=np.float64), self.window.sr_lo, np.nextafter(self.window.sr_hi, 0))
        return self.data.log_prob(x, mc) - self.background.log_prob(x, mc)


def _regions(data: search.Dataset, window: cwola.Window) -> tuple[np.ndarray, np.ndarray]:
    in_win, label = cwola.window_labels(data.m, window)
    in_sr, in_sb = in_win & (label == 1), in_win & (label == 0)
    for name, mask in (("sideband", in_sb), ("signal-region", in_sr)):
        if mask.sum() < MIN_EVENTS:
            raise ValueError(f"ANODE: only {int(mask.sum())} {name} events (need >= {MIN_EVENTS}) in {window}")
    return in_sr, in_sb


def fit_background(data: search.Dataset, cfg: search.SearchConfig) -> density.ConditionalFlow:
    """The sideband flow p_bkg(x | m) (the same fit as the CATHODE-style method's)."""
    _, in_sb = _regions(data, cfg.window)
    return density.fit_flow(data.x[in_sb], data.m[in_sb], seed=cfg.seed, max_events=cfg.flow_max_events)


def fit(data: search.Dataset, cfg: search.SearchConfig) -> AnodeFit:
    """Both flows: background in the sidebands, data in the signal region."""
    in_sr, _ = _regions(data, cfg.window)
    bkg = fit_background(data, cfg)
    sr = density.fit_flow(data.x[in_sr], data.m[in_sr], seed=cfg.seed + 1, max_events=cfg.flow_max_events)
    return AnodeFit(bkg, sr, cfg.window)


def log_ratio(model: AnodeFit, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """ANODE score log R(x | m) of events (m clipped into the SR)."""
    return model.log_ratio(x, m)


def anode_scores(data: search.Dataset, cfg: search.SearchConfig, model: AnodeFit | None = None) -> np.ndarray:
    """log p_data / p_bkg of every event (``model``: an existing :func:`fit`); non-finite values (flow
    overflow) are set to the lowest finite one."""
    scores = (model or fit(data, cfg)).log_ratio(data.x, data.m)
    bad = ~np.isfinite(scores)
    if bad.any():
        scores[bad] = np.nanmin(np.where(bad, np.nan, scores)) if (~bad).any() else 0.0
    return scores


def background_model(
    data: search.Dataset, cfg: search.SearchConfig, flow: density.ConditionalFlow | None = None
) -> search.Sample:
    """One sideband-flow sample at each SR event's m (``flow``: an existing sideband fit)."""
    in_sr, _ = _regions(data, cfg.window)
    flow = flow or fit_background(data, cfg)
    m_sr = data.m[in_sr]
    x = flow.sample(m_sr, np.random.default_rng(cfg.seed))
    ok = np.isfinite(x).all(axis=1)
    return search.Sample(x[ok], m_sr[ok])


search.register_method(
    search.Method(
        "anode",
        "ANODE: log p_data(x|m) / p_bkg(x|m), flows fit in the signal region and in the sidebands",
        anode_scores,
        search._selected("anode"),
        uses_tensorflow=True,
        background_model=background_model,
    )
)
