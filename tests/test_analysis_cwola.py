"""CWoLa on Gaussian mixtures with known signal fractions, and a small synthetic resonant hunt."""

import numpy as np
import pytest
from analysis_helpers import light_classifier, one_thread  # noqa: F401 (one_thread: autouse fixture)
from scipy import stats

from l1ad.analysis import cwola, metrics


def mixture(n: int, frac: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """2-D: background N(0, 1), signal N((2, 2), 0.5^2); ``frac`` of the events are signal."""
    is_sig = rng.uniform(size=n) < frac
    x = rng.normal(0.0, 1.0, (n, 2))
    x[is_sig] = rng.normal(2.0, 0.5, (is_sig.sum(), 2))
    return x, is_sig


def log_lr(x: np.ndarray) -> np.ndarray:
    """log p_S(x) / p_B(x) of the generating densities."""
    return stats.multivariate_normal([2, 2], 0.25).logpdf(x) - stats.multivariate_normal([0, 0], 1.0).logpdf(x)


def test_classifier_learns_likelihood_ratio_from_mixed_samples():
    rng = np.random.default_rng(0)
    x_sr, s_sr = mixture(4000, 0.15, rng)  # "signal region": 15 % signal
    x_sb, s_sb = mixture(4000, 0.01, rng)  # "sidebands": 1 % signal
    x = np.concatenate([x_sr, x_sb])
    y = np.concatenate([np.ones(4000), np.zeros(4000)])
    is_sig = np.concatenate([s_sr, s_sb])
    scores, _ = cwola.kfold_scores(x, y, n_folds=3, seed=1, classifier=light_classifier())
    # CWoLa theorem: the optimal SR-vs-SB classifier is P(SR|x) = p_SR / (p_SR + p_SB) (equal sample sizes),
    # a monotonic function of the signal/background likelihood ratio; compare in bins of that known function
    lr = np.exp(log_lr(x))
    p_sr, p_sb = 0.15 * lr + 0.85, 0.01 * lr + 0.99
    optimal = p_sr / (p_sr + p_sb)
    which = np.digitize(optimal, np.linspace(0.45, 0.95, 6))
    for i in range(1, 6):
        sel = which == i
        assert abs(scores[sel].mean() - optimal[sel].mean()) < 0.05
    assert stats.pearsonr(scores, optimal).statistic > 0.85
    # and signal vs background separation close to the optimal (likelihood-ratio) one
    auc_cwola = metrics.auc(scores[~is_sig], scores[is_sig])
    auc_opt = metrics.auc(log_lr(x)[~is_sig], log_lr(x)[is_sig])
    assert auc_cwola > auc_opt - 0.05
    # the top 5 % is enriched: signal fraction far above the 5.5 % average
    thr = cwola.select_top(scores, 0.05)
    assert is_sig[scores > thr].mean() > 0.5


def test_no_signal_gives_no_separation():
    rng = np.random.default_rng(2)
    x, _ = mixture(4000, 0.0, rng)
    y = np.arange(4000) % 2
    scores, _ = cwola.kfold_scores(x, y, n_folds=3, seed=1, classifier=light_classifier())
    assert abs(metrics.auc(scores[y == 0], scores[y == 1]) - 0.5) < 0.05


def test_select_top_fraction():
    s = np.arange(1000.0)
    thr = cwola.select_top(s, 0.01)
    assert (s > thr).sum() == 10
    assert cwola.select_top(s, 1.0) == -np.inf
    with pytest.raises(ValueError, match="efficiency"):
        cwola.select_top(s, 0.0)


def synthetic_resonant(n_bkg: int, n_sig: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """m: falling spectrum on [2000, 5000]; signal Gaussian at 3500 (width 150) with shifted 2-D features."""
    m_b = 2000 + rng.exponential(600.0, 4 * n_bkg)
    m_b = m_b[m_b < 5000][:n_bkg]
    m_s = rng.normal(3500, 150, n_sig)
    x_b = rng.normal(0, 1, (n_bkg, 2))
    x_s = rng.normal(2.5, 0.4, (n_sig, 2))
    truth = np.concatenate([np.zeros(n_bkg, bool), np.ones(n_sig, bool)])
    return np.concatenate([x_b, x_s]), np.concatenate([m_b, m_s]), truth


def test_hunt_finds_injected_resonance_and_beats_inclusive():
    rng = np.random.default_rng(3)
    x, m, _ = synthetic_resonant(20_000, 120, rng)
    edges = np.linspace(2000, 5000, 31)
    window = cwola.Window.around(3500, 250, 400)
    res = cwola.hunt(
        x, m, window, edges, efficiencies=(0.01,), n_folds=3, seed=0, model="dijet3", classifier=light_classifier()
    )
    inclusive, selected = res
    assert inclusive.efficiency == 1.0 and selected.efficiency == 0.01
    assert selected.z > 3 and selected.z > inclusive.z + 1
    assert abs(selected.fitted_mass - 3500) < 200


def test_hunt_null_has_no_excess():
    rng = np.random.default_rng(4)
    x, m, _ = synthetic_resonant(20_000, 0, rng)
    edges = np.linspace(2000, 5000, 31)
    res = cwola.hunt(
        x,
        m,
        cwola.Window.around(3500, 250, 400),
        edges,
        efficiencies=(0.01,),
        n_folds=3,
        seed=0,
        model="dijet3",
        classifier=light_classifier(),
    )
    assert all(r.z < 3 for r in res)


def test_bad_inputs():
    with pytest.raises(ValueError, match="window edges"):
        cwola.Window(1, 3, 2, 4)
    with pytest.raises(ValueError, match="feature rows"):
        cwola.hunt(np.ones((5, 2)), np.ones(4), cwola.Window(0, 1, 2, 3), np.linspace(0, 3, 4))
    with pytest.raises(ValueError, match="NaN"):
        cwola.hunt(np.full((5, 2), np.nan), np.ones(5), cwola.Window(0, 1, 2, 3), np.linspace(0, 3, 4))
    with pytest.raises(ValueError, match="both classes"):
        cwola.kfold_scores(np.ones((10, 2)), np.ones(10))
    with pytest.raises(ValueError, match="inject"):
        cwola.inject(np.ones((5, 2)), np.ones((2, 2)), 3)


def test_ensemble_of_fold_classifiers_is_at_least_as_good():
    rng = np.random.default_rng(5)
    x_sr, s_sr = mixture(3000, 0.1, rng)
    x_sb, s_sb = mixture(3000, 0.0, rng)
    x = np.concatenate([x_sr, x_sb])
    y = np.concatenate([np.ones(3000), np.zeros(3000)])
    truth = np.concatenate([s_sr, s_sb])
    x_other = rng.normal(0, 1, (500, 2))
    one, other1 = cwola.kfold_scores(x, y, 3, 0, light_classifier(), x_other)
    ens, other3 = cwola.kfold_scores(x, y, 3, 0, light_classifier(), x_other, n_ensemble=3)
    assert not np.allclose(one, ens)  # really different models averaged
    auc1 = metrics.auc(one[~truth], one[truth])
    auc3 = metrics.auc(ens[~truth], ens[truth])
    assert auc3 > 0.9 and auc3 > auc1 - 0.01
    # averaging narrows the spread of background scores (variance reduction)
    assert np.std(other3) < np.std(other1)
    with pytest.raises(ValueError, match="n_ensemble"):
        cwola.kfold_scores(x, y, 3, 0, light_classifier(), n_ensemble=0)
