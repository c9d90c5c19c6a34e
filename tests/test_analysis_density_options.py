"""Options of the CATHODE-style method: logit preprocessing of the flow, SR mass sampling modes."""

from __future__ import annotations

import numpy as np
import pytest

from l1ad.analysis import density
from tests.analysis_helpers import one_thread  # noqa: F401


def test_logit_flow_respects_bounds_and_normalises():
    rng = np.random.default_rng(0)
    n = 3000
    m = rng.uniform(0, 1, n)
    x = np.column_stack([rng.beta(2, 5, n) * (1 + 0.3 * m), rng.beta(5, 2, n)])  # bounded, skewed features
    flow = density.fit_flow(x, m, epochs=15, preprocess="logit", seed=1)
    s = flow.sample(m, rng)
    assert (s >= flow.lo).all() and (s <= flow.hi).all()
    assert np.all(flow.lo < x.min(0)) and np.all(flow.hi > x.max(0))
    assert np.abs(s.mean(0) - x.mean(0)).max() < 0.1
    # log p(x | m) integrates to ~1 over the box at one m (grid quadrature)
    g0, g1 = np.meshgrid(np.linspace(flow.lo[0], flow.hi[0], 120), np.linspace(flow.lo[1], flow.hi[1], 120))
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    p = np.exp(flow.log_prob(grid, np.full(len(grid), 0.5)))
    cell = (flow.hi[0] - flow.lo[0]) / 119 * (flow.hi[1] - flow.lo[1]) / 119
    assert p.sum() * cell == pytest.approx(1.0, abs=0.1)
    with pytest.raises(ValueError, match="preprocess"):
        density.fit_flow(x, m, epochs=1, preprocess="boxcox")


def test_sr_mass_sampling_modes():
    rng = np.random.default_rng(1)
    m_sr = rng.uniform(3300, 3700, 500)
    exact = density.sample_sr_masses(m_sr, 1200, 3300, 3700, rng, mode="data")
    assert np.isin(exact, m_sr).all() and len(exact) == 1200
    assert np.bincount(np.searchsorted(np.sort(m_sr), exact)).min() >= 2  # every SR mass used twice or more
    uni = density.sample_sr_masses(m_sr, 1000, 3300, 3700, rng, mode="uniform")
    assert (uni >= 3300).all() and (uni < 3700).all()
    with pytest.raises(ValueError, match="m sampling"):
        density.sample_sr_masses(m_sr, 10, 3300, 3700, rng, mode="histogram")


def test_quantile_preprocessing_samples_in_the_data_support():
    from l1ad.analysis.cwola import Window

    rng = np.random.default_rng(2)
    n = 4000
    m = rng.uniform(2900, 4100, n)
    x = np.column_stack([rng.beta(2, 8, n), rng.poisson(40, n).astype(float)])  # bounded and discrete features
    window = Window.around(3500, 200, 400)
    kw = {"epochs": 10, "max_events": None}
    s, ms, _ = density.background_samples(x, m, window, oversample=2, seed=1, flow_kw={**kw, "preprocess": "quantile"})
    n_sr = int(((m >= 3300) & (m < 3700)).sum())
    assert s.shape == (2 * n_sr, 2) and ((ms >= 3300) & (ms < 3700)).all()
    sb = (m < 3300) | (m >= 3700)
    # mapped back through the sideband quantiles: inside the sidebands' range, unlike a standard flow's tails
    assert (s.min(0) >= x[sb].min(0) - 1e-9).all() and (s.max(0) <= x[sb].max(0) + 1e-9).all()
    assert abs(np.median(s[:, 0]) - np.median(x[sb, 0])) < 0.03
