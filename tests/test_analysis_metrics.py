"""Metrics on analytic distributions with known tail fractions."""

import numpy as np
import pytest
from scipy import stats

from l1ad.analysis import metrics

N = 200_000


@pytest.fixture(scope="module")
def gauss():
    rng = np.random.default_rng(1)
    return rng.normal(0.0, 1.0, N), rng.normal(1.0, 1.0, N)


def test_auc_gaussians_matches_closed_form(gauss):
    bkg, sig = gauss
    # P(S > B) for N(1,1) vs N(0,1) = Phi(1 / sqrt(2))
    assert metrics.auc(bkg, sig) == pytest.approx(stats.norm.cdf(1 / np.sqrt(2)), abs=0.003)


@pytest.mark.parametrize("fpr", [0.1, 0.01, 0.001])
def test_tpr_at_fpr_gaussians(gauss, fpr):
    bkg, sig = gauss
    tpr, err, thr = metrics.tpr_at_fpr(bkg, sig, fpr)
    t_true = stats.norm.isf(fpr)
    expected = stats.norm.sf(t_true - 1.0)
    assert thr == pytest.approx(t_true, abs=0.05)
    assert abs(tpr - expected) < 4 * np.sqrt(expected * (1 - expected) / N) + 0.002 * (fpr < 0.005)
    assert err == pytest.approx(np.sqrt(tpr * (1 - tpr) / N), rel=1e-9)
    # the rate budget is respected: fraction strictly above thr <= fpr
    assert np.mean(bkg > thr) <= fpr


def test_tpr_at_fpr_exponential_tails():
    rng = np.random.default_rng(2)
    bkg = rng.exponential(1.0, N)  # P(x > t) = exp(-t)
    sig = rng.exponential(3.0, N)  # P(x > t) = exp(-t/3)
    tpr, _, thr = metrics.tpr_at_fpr(bkg, sig, 0.01)
    assert thr == pytest.approx(np.log(100), abs=0.06)
    assert tpr == pytest.approx(100 ** (-1 / 3), abs=0.006)


def test_threshold_definition_discrete():
    bkg = np.arange(1, 11, dtype=float)
    sig = np.array([8.5, 7.0, 11.0])
    tpr, _, thr = metrics.tpr_at_fpr(bkg, sig, 0.2)
    assert thr == 8.0 and tpr == pytest.approx(2 / 3)
    assert metrics.tpr_at_fpr(bkg, sig, 0.25)[2] == 8.0
    assert metrics.tpr_at_fpr(bkg, sig, 0.0)[2] == 10.0
    assert metrics.tpr_at_fpr(bkg, sig, 1.0)[2] == 1.0


def test_weighted_threshold_uses_weights():
    bkg = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 1.0, 1.0, 7.0])  # 70% of the weight sits at score 4
    assert metrics.tpr_at_fpr(bkg, np.array([5.0]), 0.5, bkg_weights=w)[2] == 4.0
    # weight above 3 = 7 (0.7), above 2 = 8 (0.8), above 1 = 9 (0.9)
    assert metrics.tpr_at_fpr(bkg, np.array([5.0]), 0.75, bkg_weights=w)[2] == 3.0
    assert metrics.tpr_at_fpr(bkg, np.array([5.0]), 0.8, bkg_weights=w)[2] == 2.0


def test_roc_endpoints_and_monotonic(gauss):
    bkg, sig = gauss
    fpr, tpr, thr = metrics.roc_curve(bkg[:1000], sig[:1000])
    assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0) and np.all(np.diff(thr) < 0)


def test_sic_uniform_vs_linear_density_has_known_maximum():
    # B ~ U(0,1): eff_B = 1 - t; S has density 2x: eff_S = 1 - t^2. SIC = (1 + t) sqrt(1 - t), max at t = 1/3.
    rng = np.random.default_rng(3)
    bkg = rng.uniform(0, 1, N)
    sig = np.sqrt(rng.uniform(0, 1, N))
    expected = (4 / 3) * np.sqrt(2 / 3)
    value, err = metrics.max_sic(bkg, sig, min_bkg_events=100)
    assert value == pytest.approx(expected, abs=0.01)
    assert 0 < err < 0.01
    eff_s, sic = metrics.sic_curve(bkg, sig)
    assert sic.max() >= value
    assert eff_s.shape == sic.shape


def test_weighted_signal_equals_density_reweighting():
    # The same linear signal density realised as weights 2x on uniform samples
    rng = np.random.default_rng(4)
    bkg = rng.uniform(0, 1, N)
    sig = rng.uniform(0, 1, N)
    value, _ = metrics.max_sic(bkg, sig, sig_weights=2 * sig, min_bkg_events=100)
    assert value == pytest.approx((4 / 3) * np.sqrt(2 / 3), abs=0.015)
    tpr, _, _ = metrics.tpr_at_fpr(bkg, sig, 0.36, sig_weights=2 * sig)
    assert tpr == pytest.approx(1 - 0.64**2, abs=0.01)


def test_weighted_error_matches_toy_spread():
    rng = np.random.default_rng(5)
    tprs, errs = [], []
    bkg = rng.uniform(0, 1, 2000)
    for _ in range(300):
        sig = rng.uniform(0, 1, 400)
        tpr, err, _ = metrics.tpr_at_fpr(bkg, sig, 0.5, sig_weights=rng.exponential(1.0, 400))
        tprs.append(tpr)
        errs.append(err)
    assert np.std(tprs) == pytest.approx(np.mean(errs), rel=0.15)


def test_max_sic_guard_against_tiny_background():
    rng = np.random.default_rng(6)
    bkg = rng.normal(0, 1, 10_000)
    sig = rng.normal(3, 1, 10_000)
    loose, _ = metrics.max_sic(bkg, sig, min_bkg_events=1)
    guarded, _ = metrics.max_sic(bkg, sig, min_bkg_events=100)
    thr_100 = np.sort(bkg)[-100]
    assert guarded == pytest.approx(np.mean(sig >= thr_100) / np.sqrt(0.01), rel=0.02)
    assert loose > guarded


@pytest.mark.parametrize(
    "bkg, sig, kw, match",
    [
        (np.array([]), np.ones(3), {}, "background scores are empty"),
        (np.ones(3), np.array([1.0, np.nan]), {}, "NaN"),
        (np.ones(3), np.array([1.0, np.inf]), {}, "NaN/inf"),
        (np.ones(3), np.ones(2), {"bkg_weights": np.ones(2)}, "background weights have 2 entries for 3"),
        (np.ones(3), np.ones(2), {"sig_weights": -np.ones(2)}, "negative"),
        (np.ones(3), np.ones(2), {"bkg_weights": np.zeros(3)}, "sum to zero"),
        (np.ones((3, 3)), np.ones(2), {}, "1-D"),
    ],
)
def test_bad_input_raises(bkg, sig, kw, match):
    with pytest.raises(ValueError, match=match):
        metrics.auc(bkg, sig, **kw)


def test_bad_fpr_raises():
    with pytest.raises(ValueError, match="fpr"):
        metrics.tpr_at_fpr(np.ones(3), np.ones(3), 1.5)


def test_tpr_ratio_of_equivalent_and_degraded_scores():
    rng = np.random.default_rng(5)
    bkg, sig = rng.normal(0, 1, 20000), rng.normal(2, 1, 4000)
    # a strictly increasing transform ranks events identically: ratio exactly 1 in every resampling
    assert metrics.tpr_ratio(bkg, sig, np.exp(bkg), np.exp(sig), 1e-2, n_boot=50) == (1.0, 1.0, 1.0)
    # adding noise to both samples degrades the score; the analytic ratio at FPR 1e-2 is known
    noisy_b, noisy_s = bkg + rng.normal(0, 1, bkg.size), sig + rng.normal(0, 1, sig.size)
    want = stats.norm.sf(stats.norm.isf(1e-2) * np.sqrt(2) - 2, scale=np.sqrt(2)) / stats.norm.sf(
        stats.norm.isf(1e-2) - 2
    )
    ratio, lo, hi = metrics.tpr_ratio(bkg, sig, noisy_b, noisy_s, 1e-2, n_boot=100)
    assert lo < ratio < hi and lo <= want <= hi and abs(ratio - want) < 0.1
    with pytest.raises(ValueError, match="same events"):
        metrics.tpr_ratio(bkg, sig, bkg[:-1], sig, 1e-2)


def test_selection_overlap_counts_the_reference_selection_kept_by_the_new_score():
    ref = np.arange(100.0)
    assert metrics.selection_overlap(ref, 2.0 * ref + 3.0, 0.05) == 1.0  # same ranking, same events
    assert metrics.selection_overlap(ref, -ref, 0.05) == 0.0
    new = ref.copy()
    new[99] = -1.0  # the top reference event drops out: new keeps 94..98, reference keeps 95..99
    assert metrics.selection_overlap(ref, new, 0.05) == pytest.approx(4 / 5)
    weights = np.ones(100)
    weights[99] = 4.0  # the lost event now carries half of the reference selection's weight
    assert metrics.selection_overlap(ref, new, 0.08, bkg_weights=weights) == pytest.approx(4 / 8)
    assert np.isnan(metrics.selection_overlap(ref, new, 0.0))  # nothing selected
    with pytest.raises(ValueError, match="same events"):
        metrics.selection_overlap(ref, ref[:50], 0.05)
    with pytest.raises(ValueError, match="NaN"):
        metrics.selection_overlap(ref, np.full(100, np.nan), 0.05)
