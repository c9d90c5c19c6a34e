"""Distance correlation (exact, against known cases), mass-sculpting figures and the DisCo-decorrelated VAE."""

import numpy as np
import pytest
from analysis_helpers import one_thread  # noqa: F401 (autouse fixture)

from l1ad.analysis import disco


def _gaussian_dcor2(rho: float) -> float:
    """Population dCor^2 of a bivariate normal with correlation rho (Szekely, Rizzo, Bakirov 2007)."""
    num = rho * np.arcsin(rho) + np.sqrt(1 - rho**2) - rho * np.arcsin(rho / 2) - np.sqrt(4 - rho**2) + 1
    return num / (1 + np.pi / 3 - np.sqrt(3))


def _brute_force(a, b):
    def centred(v):
        d = np.abs(v[:, None] - v[None, :])
        return d - d.mean(0) - d.mean(1)[:, None] + d.mean()

    da, db = centred(a), centred(b)
    return np.sqrt((da * db).mean() / np.sqrt((da * da).mean() * (db * db).mean()))


def test_distance_correlation_known_cases():
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    assert disco.distance_correlation(x, x) == pytest.approx(1.0, abs=1e-9)
    assert disco.distance_correlation(x, -3 * x + 2) == pytest.approx(1.0, abs=1e-9)
    assert disco.distance_correlation(x, rng.normal(size=2000)) < 0.08  # independent: O(1/sqrt(n)) bias only
    # y = x^2 is uncorrelated (Pearson ~ 0) but dependent: dCor sees it
    assert abs(np.corrcoef(x, x**2)[0, 1]) < 0.1
    assert disco.distance_correlation(x, x**2) > 0.3
    for rho in (0.3, 0.7):
        xy = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], 3000)
        assert disco.distance_correlation(xy[:, 0], xy[:, 1]) ** 2 == pytest.approx(_gaussian_dcor2(rho), abs=0.03)
    # blocks give the brute-force value; a 2-D rotated copy is perfectly dependent
    a, b = rng.normal(size=300), rng.exponential(size=300) + rng.normal(size=300)
    assert disco.distance_correlation(a, b, block=7) == pytest.approx(_brute_force(a, b), rel=1e-10)
    v = rng.normal(size=(500, 2))
    rot = v @ np.array([[0.6, -0.8], [0.8, 0.6]])
    assert disco.distance_correlation(v, rot) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="a has 3 events, b 2"):
        disco.distance_correlation(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="NaN"):
        disco.distance_correlation(np.array([1.0, np.nan]), np.ones(2))


def test_sculpting_of_independent_and_mass_correlated_scores():
    rng = np.random.default_rng(1)
    m = 2800 + rng.exponential(600, 200_000)
    edges = np.arange(2800, 6001, 100.0)
    flat = disco.sculpting(m, rng.normal(size=len(m)), 0.01, edges)
    assert flat["n_selected"] == 2000
    assert flat["chi2_ndf"] == pytest.approx(1.0, abs=0.5)
    assert flat["jsd"] < 0.01 and flat["ks_pvalue"] > 1e-3
    sculpted = disco.sculpting(m, m + rng.normal(0, 300, len(m)), 0.01, edges)  # the score tracks m
    assert sculpted["chi2_ndf"] > 50 and sculpted["jsd"] > 0.3 and sculpted["ks"] > 0.5
    with pytest.raises(ValueError, match="3 masses but 2 scores"):
        disco.sculpting(m[:3], m[:2], 0.5, edges)


def test_disco_penalty_decorrelates_vae_score_from_mass():
    # the spread of x1 grows with m, so the plain VAE's loss (large in the tails) grows with m; the DisCo
    # penalty removes that dependence
    rng = np.random.default_rng(2)
    n = 8000
    m = rng.uniform(0, 1, n)
    x = rng.normal(size=(n, 3))
    x[:, 1] *= 0.2 + 2 * m
    x[:, 2] += 0.5 * x[:, 0]
    kw = {"epochs": 15, "seed": 0}
    plain = disco.fit_disco_vae(x[:6000], m[:6000], lam=0.0, **kw)
    decor = disco.fit_disco_vae(x[:6000], m[:6000], lam=50.0, **kw)
    d_plain = disco.distance_correlation(plain(x[6000:]), m[6000:])
    d_decor = disco.distance_correlation(decor(x[6000:]), m[6000:])
    # measured: 0.28 (lambda = 0) and 0.04 (lambda = 50)
    assert d_plain > 0.2
    assert d_decor < 0.5 * d_plain
    with pytest.raises(ValueError, match="100 events but 99 masses"):
        disco.fit_disco_vae(x[:100], m[:99])
