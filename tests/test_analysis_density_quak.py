"""Conditional density (TFP flow, mixture fallback; CATHODE-style) and QUAK (per-class VAEs, mixture option)
on synthetic data with known answers."""

import numpy as np
import pytest
from analysis_helpers import light_classifier, one_thread  # noqa: F401 (one_thread: autouse fixture)
from scipy import stats

from l1ad.analysis import cwola, density, metrics, quak


def test_conditional_gaussian_matches_closed_form():
    # (x, m) bivariate normal, unit variances, correlation 0.6: x | m ~ N(0.6 m, 1 - 0.36)
    rng = np.random.default_rng(0)
    joint = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], 20_000)
    model = density.fit_conditional(joint[:, :1], joint[:, 1], "gmm", n_components=1)
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
    model = density.fit_conditional(x[sb], m[sb], "gmm", n_components=4)
    s = model.sample(np.full(10_000, 3500.0), rng)[:, 0]
    assert s.mean() == pytest.approx(3.5, abs=0.05)
    assert s.std() == pytest.approx(0.3, abs=0.04)


def test_flow_fit_in_sidebands_follows_linear_conditional_mean():
    # x0 | m ~ N(m / 1000, 0.3), x1 | x0 ~ N(0.5 x0, 1): E[x | m] = (m / 1000, m / 2000), sd(x0 | m) = 0.3.
    # The TFP flow is fit only outside the SR [3300, 3700) and sampled at 9 values of m across the range.
    # Tolerances: the sample means over 3000 draws have a statistical error of 0.3/sqrt(3000) = 0.006
    # (x0) and 0.02 (x1); the fit to ~7000 sideband events adds a model error of a few per cent of the width,
    # measured at 0.06 at most (flow seed 0). We allow 0.1 on x0 (a third of its width) and 0.15 on x1, 20 %
    # on the slope d E[x0 | m] / dm = 1e-3; a flow ignoring m (slope 0) or a wrong width fails.
    rng = np.random.default_rng(1)
    n = 10_000
    m = rng.uniform(2800, 4200, n)
    x0 = rng.normal(m / 1000, 0.3)
    x = np.column_stack([x0, rng.normal(0.5 * x0, 1.0)])
    sb = (m < 3300) | (m >= 3700)
    flow = density.fit_conditional(x[sb], m[sb], "flow", seed=0)
    assert isinstance(flow, density.ConditionalFlow)
    grid = np.linspace(2900, 4100, 9)
    means, sds = [], []
    for mm in grid:
        s = flow.sample(np.full(3000, mm), rng)
        means.append(s.mean(0))
        sds.append(s[:, 0].std())
    means = np.array(means)
    assert np.abs(means[:, 0] - grid / 1000).max() < 0.1
    assert np.abs(means[:, 1] - grid / 2000).max() < 0.15
    assert np.polyfit(grid, means[:, 0], 1)[0] == pytest.approx(1e-3, rel=0.2)
    assert np.polyfit(grid, means[:, 1], 1)[0] == pytest.approx(0.5e-3, rel=0.3)
    assert np.array(sds) == pytest.approx(0.3, abs=0.05)
    # the density itself: log p at the true conditional mean in the SR vs the closed form
    lp = flow.log_prob(np.array([[3.5, 1.75]]), np.array([3500.0]))[0]
    assert lp == pytest.approx(stats.norm.logpdf(0, 0, 0.3) + stats.norm.logpdf(0, 0, 1), abs=0.25)
    # deterministic for a fixed seed
    short = [density.fit_flow(x[:2000], m[:2000], seed=3, epochs=2) for _ in range(2)]
    assert short[0].sample(np.full(5, 3500.0), np.random.default_rng(5)) == pytest.approx(
        short[1].sample(np.full(5, 3500.0), np.random.default_rng(5)), abs=1e-5
    )


def test_sr_mass_sampling_stays_in_sr_and_follows_spectrum():
    rng = np.random.default_rng(7)
    m_sr = 3300 + 400 * rng.beta(1, 3, 5000)  # falling spectrum in [3300, 3700)
    s = density.sample_sr_masses(m_sr, 20_000, 3300, 3700, rng)
    assert s.min() >= 3300 and s.max() < 3700
    assert s.mean() == pytest.approx(m_sr.mean(), abs=5)


@pytest.mark.parametrize("estimator", ["flow", "gmm"])
def test_cathode_scores_find_signal_in_sr(estimator):
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
    scores, _ = density.cathode_scores(
        xs,
        ms,
        window,
        n_components=4,
        oversample=2,
        n_folds=3,
        classifier=light_classifier(),
        estimator=estimator,
        flow_kw={"max_events": 6000},
    )
    in_sr = (ms >= 3300) & (ms < 3700)
    auc = metrics.auc(scores[in_sr & ~truth], scores[in_sr & truth])
    assert auc > 0.85


def test_quak_loss_space_and_lda_separate_classes():
    rng = np.random.default_rng(3)
    bkg = rng.normal(0, 1, (5000, 3))
    proxy = rng.normal([2, 2, 0], 0.5, (1000, 3))
    losses = quak.fit_class_losses({"bkg": bkg, "proxy": proxy}, n_components=2, model="gmm")
    test_b = rng.normal(0, 1, (2000, 3))
    test_s = rng.normal([2, 2, 0], 0.5, (2000, 3))
    lb, ls = quak.loss_space(losses, test_b), quak.loss_space(losses, test_s)
    assert lb.shape == (2000, 2)
    # the background loss is the negative log density: compare with the true N(0, 1) density
    assert np.mean(lb[:, 0]) == pytest.approx(np.mean(-stats.norm.logpdf(test_b).sum(1)), abs=0.05)
    lda = quak.lda_discriminant(quak.loss_space(losses, bkg), quak.loss_space(losses, proxy))
    assert metrics.auc(lda.decision_function(lb), lda.decision_function(ls)) > 0.97
    box = quak.cut_box(
        np.concatenate([lb, ls]), bkg_min=np.quantile(lb[:, 0], 0.9), sig_max=[np.quantile(ls[:, 1], 0.9)]
    )
    assert box[2000:].mean() > 0.5 > 0.05 > box[:2000].mean()


def test_background_vae_gives_lower_loss_to_background_than_shifted_class():
    rng = np.random.default_rng(3)

    def sample(n, shift):
        x = rng.normal(0, 1, (n, 4))
        x[:, 1] += 0.8 * x[:, 0]
        x[:, 0] += shift
        return x

    bkg = sample(5000, 0.0)
    losses = quak.fit_class_losses({"bkg": bkg, "shifted": sample(2000, 2.5)}, seed=0)
    assert all(isinstance(loss, quak.VAELoss) for loss in losses)
    test_b, test_s = sample(2000, 0.0), sample(2000, 2.5)
    lb, ls = quak.loss_space(losses, test_b), quak.loss_space(losses, test_s)
    assert lb.shape == (2000, 2)
    # background VAE: lower loss on background than on the shifted class (and the reverse for its VAE)
    assert lb[:, 0].mean() + 1.0 < ls[:, 0].mean()
    assert ls[:, 1].mean() + 1.0 < lb[:, 1].mean()
    assert metrics.auc(lb[:, 0], ls[:, 0]) > 0.8
    assert metrics.auc(quak.best_proxy_llr(lb), quak.best_proxy_llr(ls)) > 0.95
    # deterministic with a seed
    again = quak.fit_class_losses({"bkg": bkg}, seed=0)[0]
    assert again(test_b) == pytest.approx(lb[:, 0], abs=1e-5)


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
    with pytest.raises(ValueError, match="model must be"):
        quak.fit_class_losses({"b": np.ones((100, 2))}, model="bdt")
    with pytest.raises(ValueError, match="columns"):
        quak.cut_box(np.ones((5, 3)), 0.0, [1.0])
    with pytest.raises(ValueError, match="do not match"):
        density.fit_conditional(np.ones((10, 2)), np.ones(9))
    with pytest.raises(ValueError, match="constant"):
        density.fit_conditional(np.ones((100, 1)), np.arange(100.0), "gmm", n_components=2)
    with pytest.raises(ValueError, match="constant"):
        density.fit_conditional(np.ones((100, 1)), np.arange(100.0), "flow")
    with pytest.raises(ValueError, match="estimator"):
        density.fit_conditional(np.ones((100, 1)), np.arange(100.0), "kde")


def test_best_weights_restores_the_minimum_and_stops_after_patience():
    from l1ad import keras_compat
    from l1ad.analysis.early_stop import BestWeights

    tf = keras_compat.tensorflow()
    var = tf.Variable(0.0)
    stopper = BestWeights([var], patience=2)
    stops = []
    for value, loss in [(1.0, 5.0), (2.0, 3.0), (3.0, 4.0), (4.0, 3.5)]:
        var.assign(value)
        stops.append(stopper.should_stop(loss))
    assert stops == [False, False, False, True]
    stopper.restore()
    assert float(var.numpy()) == 2.0
