"""Bump hunt on toys with a known smooth background and an injected Gaussian (fixed seeds)."""

import numpy as np
import pytest
from scipy import stats

from l1ad.analysis import bumphunt as bh

EDGES = np.linspace(1500.0, 5000.0, 36)
MASS, WIDTH = 3000.0, 150.0


def true_background(total: float = 50_000.0) -> np.ndarray:
    """Expected counts of f(x) = (1-x)^10 / x^5 normalised to ``total`` (computed by direct integration)."""
    fine = np.linspace(EDGES[0], EDGES[-1], 35 * 200 + 1)
    x = fine / 13000.0
    dens = (1 - x) ** 10 / x**5
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(fine))])
    per_bin = np.diff(cum[::200])
    return total * per_bin / per_bin.sum()


def signal_fraction() -> np.ndarray:
    return np.diff(stats.norm.cdf(EDGES, MASS, WIDTH))


def test_background_fit_matches_truth_without_signal():
    b = true_background()
    n = np.random.default_rng(10).poisson(b).astype(float)
    fit = bh.fit_background(n, EDGES)
    # goodness of fit: Pearson chi2 close to the number of degrees of freedom (35 bins - 4)
    chi2 = np.sum((n - fit.expected) ** 2 / fit.expected)
    assert chi2 < stats.chi2.isf(0.001, 31)
    assert fit.expected.sum() == pytest.approx(n.sum(), rel=1e-3)  # Poisson ML conserves the total


def test_fit_recovers_injected_gaussian_yield_and_mass():
    b, s = true_background(), signal_fraction()
    injected = 400.0
    n = np.random.default_rng(11).poisson(b + injected * s).astype(float)
    # independent expectation of the yield error with the background known: 1/sqrt(sum s_i^2 / b_i)
    sigma_known = 1.0 / np.sqrt(np.sum(s**2 / b))
    z, fit = bh.local_significance(n, EDGES, MASS, WIDTH, with_error=True)
    assert abs(fit.mu - injected) < 3 * 1.5 * sigma_known  # floating background inflates the error <~1.5x
    assert sigma_known <= fit.mu_err < 2.5 * sigma_known
    free = bh.fit_mass(n, EDGES, resolution=WIDTH / MASS)
    # mass resolution of a Gaussian peak of N events: WIDTH / sqrt(N) (plus background dilution)
    assert abs(free.mass - MASS) < 5 * WIDTH / np.sqrt(injected)
    # the median significance with known background is an upper bound; the fitted one is of the same order
    z_asimov = bh.asimov_significance(injected * s, b)
    assert 0.4 * z_asimov < z < z_asimov + 3


def test_significance_ordering_and_null():
    b, s = true_background(), signal_fraction()
    rng = np.random.default_rng(12)
    zs = []
    for injected in (0.0, 150.0, 600.0):
        n = rng.poisson(b + injected * s).astype(float)
        zs.append(bh.local_significance(n, EDGES, MASS, WIDTH)[0])
    assert zs[0] < 3.0
    assert zs[0] < zs[1] < zs[2]
    scan = bh.scan(rng.poisson(b + 600 * s).astype(float), EDGES, np.arange(2000, 4600, 100), resolution=0.05)
    assert abs(scan.best_mass - MASS) <= 200
    assert scan.best_z > 5


def test_bernstein_on_gentle_window():
    edges = np.linspace(0.0, 1.0, 31)
    mid = 0.5 * (edges[1:] + edges[:-1])
    b = 2000 * (1.5 - mid) ** 2 * np.diff(edges)
    s = np.diff(stats.norm.cdf(edges, 0.5, 0.04))
    rng = np.random.default_rng(13)
    n0 = rng.poisson(b).astype(float)
    n1 = rng.poisson(b + 150 * s).astype(float)
    z0, _ = bh.local_significance(n0, edges, 0.5, 0.04, model="bernstein", degree=3, sqrt_s=1.0)
    z1, fit = bh.local_significance(n1, edges, 0.5, 0.04, model="bernstein", degree=3, sqrt_s=1.0)
    assert z0 < 3 < z1
    assert abs(fit.mu - 150) < 3 * np.sqrt(150 + np.sum(b * s) * 4)


def test_fisher_combination_closed_form():
    # -2 sum ln p ~ chi2(2k); for k = 2 the survival is exp(-T/2)(1 + T/2)
    p = [0.01, 0.2]
    t = -2 * np.log(p).sum()
    combined, z = bh.fisher_combination(p)
    assert combined == pytest.approx(np.exp(-t / 2) * (1 + t / 2), rel=1e-10)
    assert z == pytest.approx(stats.norm.isf(combined), rel=1e-10)
    # a single p-value is returned unchanged
    assert bh.fisher_combination([0.03])[0] == pytest.approx(0.03, rel=1e-10)
    # k = 3 closed form: exp(-T/2)(1 + T/2 + T^2/8)
    p3 = [0.05, 0.5, 0.3]
    t3 = -2 * np.log(p3).sum()
    assert bh.fisher_combination(p3)[0] == pytest.approx(np.exp(-t3 / 2) * (1 + t3 / 2 + t3**2 / 8), rel=1e-10)


@pytest.mark.parametrize("pvals", [[], [0.0, 0.1], [1.5], [np.nan]])
def test_fisher_bad_input(pvals):
    with pytest.raises(ValueError, match="p-values"):
        bh.fisher_combination(pvals)


def test_bad_counts_and_edges():
    with pytest.raises(ValueError, match="shape"):
        bh.fit_background(np.ones(5), np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match="non-negative"):
        bh.fit_background(-np.ones(4), np.linspace(1000, 2000, 5))
    with pytest.raises(ValueError, match="increasing"):
        bh.fit_background(np.ones(4), np.array([1.0, 3.0, 2.0, 4.0, 5.0]))
    with pytest.raises(ValueError, match="unknown background model"):
        bh.fit_background(np.ones(4), np.linspace(1000, 2000, 5), model="exp")
    with pytest.raises(ValueError, match="width"):
        bh.fit_signal_plus_background(np.ones(4), np.linspace(1000, 2000, 5), 1500, 0.0)


def test_ftest_degree_grows_with_spectrum_complexity():
    rng = np.random.default_rng(11)
    # a straight line needs no more than the lowest degree; a wiggly spectrum needs more
    centres = 0.5 * (EDGES[1:] + EDGES[:-1])
    line = rng.poisson(np.linspace(2000, 1000, centres.size)).astype(float)
    wiggle = rng.poisson(20_000 * np.exp(-(centres - EDGES[0]) / 500.0)).astype(float)  # steeply falling
    d_line = bh.ftest_degree(line, EDGES, degrees=range(2, 9))
    d_wiggle = bh.ftest_degree(wiggle, EDGES, degrees=range(2, 9))
    assert d_line <= 3
    assert d_wiggle > d_line


def test_global_significance_trials_factor():
    # one window: global = local; n independent windows: p_glob = 1 - (1 - p)^n
    assert bh.global_significance(2.5, 1) == pytest.approx(2.5)
    p = stats.norm.sf(3.0)
    assert bh.global_significance(3.0, 4) == pytest.approx(stats.norm.isf(1 - (1 - p) ** 4))
    assert bh.global_significance(3.0, 4) < 3.0
    assert bh.global_significance(0.5, 4) == 0.0  # p_glob > 0.5
    assert bh.n_independent_windows([3300, 3500, 4300], 400) == pytest.approx(3.5)
    with pytest.raises(ValueError):
        bh.global_significance(1.0, 0.5)


def test_truth_split_significance_separates_sculpted_background_from_signal():
    b, s = true_background(), signal_fraction()
    rng = np.random.default_rng(13)
    smooth_bkg = rng.poisson(b).astype(float)
    sculpted_bkg = rng.poisson(b + 500 * s).astype(float)  # a selection that piles background up at MASS
    signal = rng.poisson(400 * s).astype(float)
    z_bkg_smooth, z_sig = bh.truth_split_significance(signal, smooth_bkg, EDGES, MASS, WIDTH)
    z_bkg_sculpted, z_sig_sculpted = bh.truth_split_significance(signal, sculpted_bkg, EDGES, MASS, WIDTH)
    assert z_bkg_smooth < 3.0 < z_bkg_sculpted
    # the signal's own Z does not take credit for the sculpted bump: it is measured on the smooth fit of the
    # background, so it stays near the independent Asimov figure whichever background it sits on
    z_asimov = bh.asimov_significance(400 * s, b)
    for z in (z_sig, z_sig_sculpted):
        assert 0.5 * z_asimov < z < z_asimov + 2
    # the plain local Z of the sum counts the sculpted bump as signal
    z_total = bh.local_significance(signal + sculpted_bkg, EDGES, MASS, WIDTH)[0]
    assert z_total > z_sig_sculpted + 2
    assert bh.truth_split_significance(np.zeros_like(b), smooth_bkg, EDGES, MASS, WIDTH)[1] == 0.0
    with pytest.raises(ValueError, match="signal counts"):
        bh.truth_split_significance(signal[:-1], smooth_bkg, EDGES, MASS, WIDTH)
    with pytest.raises(ValueError, match="signal counts"):
        bh.truth_split_significance(-signal, smooth_bkg, EDGES, MASS, WIDTH)
