"""Conditional mixture (CATHODE-style) and QUAK loss space on synthetic data with known answers."""

import numpy as np
import pytest
from scipy import stats

from l1ad.analysis import cwola, density, metrics, quak
from analysis_helpers import light_classifier, one_thread  # noqa: F401 (one_thread: autouse fixture)


def test_conditional_gaussian_matches_closed_form():
    # (x, m) bivariate normal, unit variances, correlation 0.6: x | m ~ N(0.6 m, 1 - 0.36)
    rng = np.random.default_rng(0)
    joint = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], 20_000)
    model = density.fit_conditional(joint[:, :1], joint[:, 1], n_components=1)
    samples = model.sample(np.full(20_000, 1.5), rng)[:, 0]
    assert samples.mean() == pytest.approx(0.9, abs=0.03)
    assert samples.std() == pytest.approx(0.8, abs=0.02)
    lp = model.log_prob(np.array([[0.5], [1.0]]), np.array([1.5, -1.0]))
    expected = stats.norm.logpdf([0.5, 1.0], loc=[0.9, -0.6], scale=0.8)
    assert lp == pytest.approx(expected, abs=0.03)


def test_conditional_mixture_interpolates_between_sidebands():
    # x ~ N(m / 1000, 0.3): fitted on m outside [3300, 3700], asked inside
    rng = np.random.default_rng(1)
    m = rng.uniform(2800, 4200, 20_000)
    x = rng.normal(m / 1000, 0.3)[:, None]
    sb = (m < 3300) | (m > 3700)
    model = density.fit_conditional(x[sb], m[sb], n_components=4)
    s = model.sample(np.full(10_000, 3500.0), rng)[:, 0]
    assert s.mean() == pytest.approx(3.5, abs=0.05)
    assert s.std() == pytest.approx(0.3, abs=0.04)


def test_cathode_scores_find_signal_in_sr():
    rng = np.random.default_rng(2)
    n = 16_000
    m = rng.uniform(2800, 4200, n)
    x = rng.normal(0, 1, (n, 2))
    x[:, 0] += (m - 3500) / 1000  # mild correlation with m, learnt from the sidebands
    m_sig = rng.normal(3500, 60, 200)
    x_sig = rng.normal([2.5, 2.5], 0.3, (200, 2))
    xs, ms = np.concatenate([x, x_sig]), np.concatenate([m, m_sig])
    truth = np.concatenate([np.zeros(n, bool), np.ones(200, bool)])
    window = cwola.Window(2800, 3300, 3700, 4200)
    scores, _ = density.cathode_scores(xs, ms, window, n_components=4, oversample=2, n_folds=3,
                                       classifier=light_classifier())
    in_sr = (ms >= 3300) & (ms < 3700)
    auc = metrics.auc(scores[in_sr & ~truth], scores[in_sr & truth])
    assert auc > 0.85


def test_quak_loss_space_and_lda_separate_classes():
    rng = np.random.default_rng(3)
    bkg = rng.normal(0, 1, (5000, 3))
    proxy = rng.normal([2, 2, 0], 0.5, (1000, 3))
    losses = quak.fit_class_losses({"bkg": bkg, "proxy": proxy}, n_components=2)
    test_b = rng.normal(0, 1, (2000, 3))
    test_s = rng.normal([2, 2, 0], 0.5, (2000, 3))
    lb, ls = quak.loss_space(losses, test_b), quak.loss_space(losses, test_s)
    assert lb.shape == (2000, 2)
    # the background loss is the negative log density: compare with the true N(0, 1) density
    assert np.mean(lb[:, 0]) == pytest.approx(np.mean(-stats.norm.logpdf(test_b).sum(1)), abs=0.05)
    lda = quak.lda_discriminant(quak.loss_space(losses, bkg), quak.loss_space(losses, proxy))
    assert metrics.auc(lda.decision_function(lb), lda.decision_function(ls)) > 0.97
    box = quak.cut_box(np.concatenate([lb, ls]), bkg_min=np.quantile(lb[:, 0], 0.9),
                       sig_max=[np.quantile(ls[:, 1], 0.9)])
    assert box[2000:].mean() > 0.5 > 0.05 > box[:2000].mean()


def test_equal_population_categories():
    scores = np.arange(100.0)
    cat = quak.equal_population(scores, scores >= 70, 3)
    assert [(cat == c).sum() for c in range(3)] == [10, 10, 10]
    assert (cat[90:] == 0).all() and (cat[:70] == -1).all()


def test_category_hunt_combines_categories():
    rng = np.random.default_rng(4)
    m_b = 2000 + rng.exponential(600.0, 60_000)
    m_b = m_b[m_b < 5000][:30_000]
    s_b = rng.normal(0, 1, len(m_b))
    m_s = rng.normal(3500, 150, 200)
    s_s = rng.normal(3.0, 0.5, 200)
    scores, mres = np.concatenate([s_b, s_s]), np.concatenate([m_b, m_s])
    edges = np.linspace(2000, 5000, 31)
    res = quak.category_hunt(scores, mres, 0.02, 2, edges, 3500.0, model="dijet3")
    assert sum(res.n_categories) == pytest.approx(0.02 * len(scores), abs=2)
    assert res.z_categories[0] > res.z_categories[1]
    assert res.z_combined > 3
    null = quak.category_hunt(s_b, m_b, 0.02, 2, edges, 3500.0, model="dijet3")
    assert null.z_combined < 3


def test_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        quak.fit_class_losses({"b": np.full((100, 2), np.nan)}, n_components=2)
    with pytest.raises(ValueError, match="columns"):
        quak.cut_box(np.ones((5, 3)), 0.0, [1.0])
    with pytest.raises(ValueError, match="do not match"):
        density.fit_conditional(np.ones((10, 2)), np.ones(9))
    with pytest.raises(ValueError, match="constant"):
        density.fit_conditional(np.ones((100, 1)), np.arange(100.0), n_components=2)
