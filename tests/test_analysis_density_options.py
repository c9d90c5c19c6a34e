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


def _skewed_background(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    m = rng.uniform(2900, 4100, n)
    x = np.column_stack([rng.exponential(1.0, n), rng.normal(0, 1, n) + 0.5 * (m - 3500) / 600])
    return x, m


def test_sideband_weights_undo_a_shift_of_the_model_in_the_signal_region():
    """Model samples with tau21-like feature shifted by the same amount in the sidebands and in the SR: the
    weights learnt in the sidebands bring the SR closure AUC back towards 0.5 (x only and with m)."""
    from l1ad.analysis import closure
    from l1ad.analysis.samples import Sample

    rng = np.random.default_rng(5)
    x, m = _skewed_background(rng, 60_000)
    xs, ms = _skewed_background(rng, 60_000)
    xs[:, 0] *= 0.8  # the "flow" puts too much weight at low values, everywhere
    sb, sr = (m < 3300) | (m >= 3700), (m >= 3300) & (m < 3700)
    sb_s, sr_s = (ms < 3300) | (ms >= 3700), (ms >= 3300) & (ms < 3700)
    truth = Sample(x[sr], m[sr])
    plain = closure.closure_auc(Sample(xs[sr_s], ms[sr_s]), truth, n_folds=3)["auc"]
    assert plain > 0.53
    for calibration in ("trees", "trees_m"):
        weights = density.sideband_weights(x[sb], m[sb], xs[sb_s], ms[sb_s], calibration, seed=1)
        w = weights(xs[sr_s], ms[sr_s])
        assert np.isfinite(w).all() and (w > 0).all()
        assert w[xs[sr_s, 0] < 0.2].mean() < w[xs[sr_s, 0] > 1.0].mean()  # low values down-weighted
        calibrated = closure.closure_auc(Sample(xs[sr_s], ms[sr_s], w), truth, n_folds=3)["auc"]
        assert calibrated < 0.515 and plain - calibrated > 0.02
    with pytest.raises(ValueError, match="calibration"):
        density.sideband_weights(x[sb], m[sb], xs[sb_s], ms[sb_s], "none")


def test_calibrated_background_weights_the_same_samples_and_checks_its_inputs():
    """A one-component GMM cannot follow the exponential feature: calibration lowers the closure AUC of the SR
    samples, which are those of the uncalibrated model; weights have mean 1; bad settings raise."""
    from l1ad.analysis import closure
    from l1ad.analysis.cwola import Window
    from l1ad.analysis.samples import Sample

    rng = np.random.default_rng(6)
    window = Window.around(3500, 200, 400)
    x, m = _skewed_background(rng, 40_000)
    kw = {"n_components": 1, "oversample": 2, "seed": 1, "estimator": "gmm"}
    s0, ms0, _ = density.background_samples(x, m, window, **kw)
    s, ms, w, _ = density.calibrated_background(x, m, window, **kw, calibration="trees")
    assert np.array_equal(s, s0) and np.array_equal(ms, ms0)
    assert w is not None and w.shape == (len(s),) and w.mean() == pytest.approx(1.0)
    xr, mr = _skewed_background(rng, 40_000)
    sr = (mr >= 3300) & (mr < 3700)
    truth = Sample(xr[sr], mr[sr])
    plain = closure.closure_auc(Sample(s, ms), truth, n_folds=3)["auc"]
    calibrated = closure.closure_auc(Sample(s, ms, w), truth, n_folds=3)["auc"]
    assert plain > 0.6 and calibrated < plain - 0.05
    assert density.calibrated_background(x, m, window, **kw, calibration="none")[2] is None
    with pytest.raises(ValueError, match="calibration must be one of"):
        density.calibrated_background(x, m, window, **kw, calibration="isotonic")
    with pytest.raises(ValueError, match="sample weights"):
        density.cathode_scores(x, m, window, samples=s, sample_weights=w[:-1])


def test_density_method_uses_the_calibrated_background_model():
    """``SearchConfig.density_calibration`` reaches the registered method: weighted background model (closure
    test) and weighted classifier scores; the scores still rank injected signal first."""
    from l1ad.analysis import closure, cwola, metrics, search

    rng = np.random.default_rng(7)
    xb, mb = _skewed_background(rng, 30_000)
    xsig = np.column_stack([rng.normal(3.0, 0.2, 300), rng.normal(2.0, 0.2, 300)])
    x, m = np.concatenate([xb, xsig]), np.concatenate([mb, rng.normal(3500, 50, 300)])
    truth = np.concatenate([np.zeros(len(xb), bool), np.ones(300, bool)])
    xr, mr = _skewed_background(rng, 30_000)
    data = search.Dataset(x, m, truth, reference=search.Sample(xr, mr))
    cfg = search.SearchConfig(
        window=cwola.Window.around(3500, 200, 400),
        edges=np.arange(2900, 4101, 100.0),
        n_folds=3,
        density_estimator="gmm",
        gmm_components=1,  # on raw features (no quantile map): cannot follow the exponential feature
        flow_preprocess="standard",
        density_oversample=2,
        density_calibration="trees",
    )
    assert search.SearchConfig(cfg.window, cfg.edges).density_calibration == density.DEFAULT_CALIBRATION
    method = search.get_method("density")
    model = method.background_model(data, cfg)
    assert model.weights is not None and len(model.weights) == len(model.x)
    plain_cfg = search.SearchConfig(**{**cfg.__dict__, "density_calibration": "none"})
    assert method.background_model(data, plain_cfg).weights is None
    assert closure.closure_test(data, cfg, "density")["auc"] < closure.closure_test(data, plain_cfg, "density")["auc"]
    scores = method.scores(data, cfg)
    sr = (m >= 3300) & (m < 3700)
    assert metrics.auc(scores[sr & ~truth], scores[sr & truth]) > 0.9


class _ConstantModel:
    """A conditional 'model' that always samples ``value`` and has log density ``log_p``."""

    n_features = 2

    def __init__(self, value: float, log_p: float):
        self.value, self.log_p = value, log_p

    def sample(self, m, rng):
        return np.full((len(m), 2), self.value)

    def log_prob(self, x, m):
        return np.full(len(x), self.log_p)


def test_model_mixture_samples_each_event_from_one_member_and_averages_densities():
    mix = density.ModelMixture([_ConstantModel(0.0, np.log(0.2)), _ConstantModel(1.0, np.log(0.6))])
    m = np.linspace(3300, 3700, 4000)
    s = mix.sample(m, np.random.default_rng(0))
    assert s.shape == (4000, 2) and (s[:, 0] == s[:, 1]).all() and np.isin(s, [0.0, 1.0]).all()
    assert 0.45 < s[:, 0].mean() < 0.55  # members drawn with equal probability
    np.testing.assert_array_equal(s, mix.sample(m, np.random.default_rng(0)))  # reproducible from the rng
    np.testing.assert_allclose(mix.log_prob(np.zeros((3, 2)), m[:3]), np.log(0.4))
    with pytest.raises(ValueError, match="at least one model"):
        density.ModelMixture([])


def test_fit_mixture_fits_independent_models_with_consecutive_seeds():
    rng = np.random.default_rng(3)
    m = rng.uniform(0, 1, 2000)
    x = np.column_stack([rng.normal(m, 1.0), rng.normal(-m, 0.5)])
    single = density.fit_mixture(x, m, 1, "gmm", n_components=2, seed=4)
    assert isinstance(single, density.ConditionalGMM)
    mix = density.fit_mixture(x, m, 3, "gmm", n_components=2, seed=4)
    assert isinstance(mix, density.ModelMixture) and len(mix.models) == 3
    first = density.fit_conditional(x, m, "gmm", n_components=2, seed=5)
    np.testing.assert_array_equal(mix.models[1].gmm.means_, first.gmm.means_)
    with pytest.raises(ValueError, match="n_models"):
        density.fit_mixture(x, m, 0, "gmm")


def test_density_models_setting_reaches_the_sideband_fit(monkeypatch):
    """``SearchConfig.density_models`` (``--density-models``) is the number of models the density method fits."""
    from l1ad.analysis import cwola, search

    rng = np.random.default_rng(8)
    x, m = _skewed_background(rng, 8_000)
    window = cwola.Window.around(3500, 200, 400)
    fitted: list[int] = []
    real_fit = density.fit_mixture

    def recording_fit(*args, **kw):
        model = real_fit(*args, **kw)
        fitted.append(len(model.models) if isinstance(model, density.ModelMixture) else 1)
        return model

    monkeypatch.setattr(density, "fit_mixture", recording_fit)
    cfg = search.SearchConfig(
        window=window,
        edges=np.arange(2900, 4101, 100.0),
        density_estimator="gmm",
        gmm_components=2,
        density_calibration="none",
        density_models=3,
    )
    model = search.get_method("density").background_model(search.Dataset(x, m), cfg)
    assert fitted == [3] and len(model.x) == round(4 * ((m >= 3300) & (m < 3700)).sum())
    _, _, _, mix = density.calibrated_background(x, m, window, 2, 1, seed=0, estimator="gmm", n_models=2)
    assert isinstance(mix, density.ModelMixture) and len(mix.models) == 2


def test_density_classifier_setting_reaches_the_classifier_and_the_calibration(monkeypatch):
    """``SearchConfig.density_classifier`` (``--density-classifier``) names the boosted trees of the density
    method's classifier and of its tree calibration; ``SearchConfig.classifier`` overrides the classifier only."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from l1ad.analysis import cwola, search

    assert search.SearchConfig.density_classifier == "trees_regularized"
    window = cwola.Window.around(3500, 200, 400)
    cfg = search.SearchConfig(window=window, edges=np.arange(2900, 4101, 100.0), seed=3)
    chosen = search.density_classifier(cfg)
    assert chosen.get_params()["min_samples_leaf"] == 200 and chosen.get_params()["random_state"] == 3
    plain = search.density_classifier(search.SearchConfig(**{**cfg.__dict__, "density_classifier": "trees"}))
    assert plain.get_params() == cwola.default_classifier(3).get_params()
    own = HistGradientBoostingClassifier(max_iter=5)
    assert search.density_classifier(search.SearchConfig(**{**cfg.__dict__, "classifier": own})) is own
    with pytest.raises(ValueError, match="density_classifier must be one of"):
        search.density_classifier(search.SearchConfig(**{**cfg.__dict__, "density_classifier": "forest"}))

    asked: list[str] = []
    for name, factory in list(cwola.CLASSIFIERS.items()):
        monkeypatch.setitem(cwola.CLASSIFIERS, name, lambda seed, n=name, f=factory: (asked.append(n), f(seed))[1])
    rng = np.random.default_rng(9)
    x, m = _skewed_background(rng, 8_000)
    calibrated = search.SearchConfig(
        **{**cfg.__dict__, "density_estimator": "gmm", "gmm_components": 1, "density_calibration": "trees"}
    )
    assert search.get_method("density").background_model(search.Dataset(x, m), calibrated).weights is not None
    assert asked == ["trees_regularized"]  # the calibration's trees
    with pytest.raises(ValueError, match="trees must be one of"):
        density.sideband_weights(x[:100], m[:100], x[:100], m[:100], "trees", trees="forest")


def test_density_options_declare_the_classifier_choice():
    """``add_density_options`` (``l1ad analyze``, ``run.py``): --density-classifier takes the names of
    ``cwola.CLASSIFIERS`` and defaults to the SearchConfig default."""
    import argparse

    from l1ad.analysis import search
    from l1ad.pipeline.analysis import add_density_options

    parser = argparse.ArgumentParser()
    add_density_options(parser)
    assert parser.parse_args([]).density_classifier == search.SearchConfig.density_classifier
    assert parser.parse_args(["--density-classifier", "trees"]).density_classifier == "trees"
    with pytest.raises(SystemExit):
        parser.parse_args(["--density-classifier", "forest"])
