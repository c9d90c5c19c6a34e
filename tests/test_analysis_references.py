"""Idealized anomaly detector, supervised reference, closure test and the benchmark's bad-input errors."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from l1ad.analysis import bumphunt, closure, cwola, metrics, references, resonant, search
from l1ad.pipeline.analysis import SIMULATION_MISMODEL, benchmark_dataset, check_windows
from tests.analysis_helpers import light_classifier, one_thread  # noqa: F401

WINDOW = cwola.Window(2800, 3300, 3700, 4200)


def _background(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    m = rng.uniform(2800, 4200, n)
    x = rng.normal(0, 1, (n, 3))
    x[:, 0] += (m - 3500) / 300  # strong correlation with m: SR vs SB differ without any signal
    return x, m


def _planted(seed: int = 3, n_bkg: int = 14_000, n_sig: int = 120):
    rng = np.random.default_rng(seed)
    xb, mb = _background(rng, n_bkg)
    xs = rng.normal([1.5, 1.2, 1.2], 0.3, (n_sig, 3))
    ms = rng.normal(3500, 50, n_sig)
    x, m = np.concatenate([xb, xs]), np.concatenate([mb, ms])
    truth = np.concatenate([np.zeros(n_bkg, bool), np.ones(n_sig, bool)])
    xr, mr = _background(rng, n_bkg)
    xsig = rng.normal([1.5, 1.2, 1.2], 0.3, (2000, 3))
    return search.Dataset(
        x, m, truth, reference=search.Sample(xr, mr), signal=search.Sample(xsig, rng.normal(3500, 50, 2000))
    )


def _cfg(**kw) -> search.SearchConfig:
    return search.SearchConfig(
        window=WINDOW, edges=np.arange(2800, 4201, 100.0), n_folds=3, classifier=light_classifier(), **kw
    )


def _sr_auc(data: search.Dataset, scores: np.ndarray) -> float:
    sr = (data.m >= WINDOW.sr_lo) & (data.m < WINDOW.sr_hi)
    assert data.truth is not None
    return metrics.auc(scores[sr & ~data.truth], scores[sr & data.truth])


def test_idealized_detector_beats_cwola_on_planted_signal():
    data, cfg = _planted(), _cfg()
    ideal = references.idealized_scores(data, cfg)
    cw = search.cwola_scores(data, cfg)
    auc_ideal, auc_cwola = _sr_auc(data, ideal), _sr_auc(data, cw)
    assert auc_ideal > 0.85
    assert auc_ideal > auc_cwola + 0.1
    assert np.isfinite(ideal).all() and ideal.shape == data.m.shape
    supervised = references.supervised_scores(data, cfg)
    assert _sr_auc(data, supervised) > 0.97


def test_references_are_registered_and_hunt():
    assert {"idealized", "supervised"} <= set(search.method_names())
    data, cfg = _planted(), _cfg(efficiency=0.05)
    result, scores = search.run_method("idealized", data, cfg)
    assert result["method"] == "idealized" and scores is not None
    assert result["sic_max"] > 2


def test_hunt_splits_the_local_z_into_signal_and_background_parts():
    data, cfg = _planted(), _cfg(efficiency=0.05)
    result, scores = search.run_method("supervised", data, cfg)
    assert scores is not None and data.truth is not None
    keep = scores > cwola.select_top(scores[references.in_window(data.m, cfg)[0]], cfg.efficiency)
    # the background part is the bump hunt of the selected true background alone, at the window centre
    z_bkg_alone, _ = bumphunt.local_significance(
        bumphunt.binned_counts(data.m[keep & ~data.truth], cfg.edges), cfg.edges, 3500.0, cfg.resolution * 3500.0
    )
    assert result["z_background_only"] == z_bkg_alone
    assert result["z_signal_only"] > 1  # 119 selected signal events at 3.5 TeV among ~590 sculpted background
    null = search.Dataset(data.x, data.m, np.zeros(len(data.m), bool), reference=data.reference)
    assert search.run_method("idealized", null, cfg)[0]["z_signal_only"] == 0.0


def test_references_need_their_inputs():
    data, cfg = _planted(), _cfg()
    with pytest.raises(ValueError, match="Dataset.reference"):
        references.idealized_scores(search.Dataset(data.x, data.m, data.truth), cfg)
    with pytest.raises(ValueError, match="truth labels"):
        references.supervised_scores(search.Dataset(data.x, data.m), cfg)
    no_signal = search.Dataset(data.x, data.m, np.zeros(len(data.m), bool))
    with pytest.raises(ValueError, match="0 signal"):
        references.supervised_scores(no_signal, cfg)
    wrong = search.Dataset(data.x, data.m, data.truth, reference=search.Sample(data.x[:, :2], data.m))
    with pytest.raises(ValueError, match="reference background has features"):
        references.idealized_scores(wrong, cfg)


def test_balanced_weights():
    w = references.balanced_weights(np.array([1, 0, 0, 0]))
    assert w[0] == pytest.approx(2.0) and w[1:].sum() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="class 1"):
        references.balanced_weights(np.zeros(3))


def test_closure_auc_near_half_for_truth_and_above_for_shifted_model():
    rng = np.random.default_rng(5)
    truth = search.Sample(rng.normal(0, 1, (6000, 3)), rng.uniform(3300, 3700, 6000))
    same = search.Sample(rng.normal(0, 1, (12_000, 3)), rng.uniform(3300, 3700, 12_000))
    shifted = search.Sample(rng.normal(0.3, 1, (12_000, 3)), rng.uniform(3300, 3700, 12_000))
    good = closure.closure_auc(same, truth, n_folds=3, classifier=light_classifier())
    bad = closure.closure_auc(shifted, truth, n_folds=3, classifier=light_classifier())
    assert abs(good["auc"] - 0.5) < max(4 * good["null_sigma"], 0.02)
    assert bad["auc"] > 0.6
    assert 0 < good["null_sigma"] < 0.02 and good["auc_err"] >= 0
    # a shifted model importance-weighted back to the truth closes again: the weights are used
    x = rng.normal(0.3, 1, (12_000, 3))
    w = np.exp(-0.3 * x.sum(axis=1))  # N(0, 1) / N(0.3, 1) per feature, up to a constant
    weighted = closure.closure_auc(search.Sample(x, shifted.m, w), truth, n_folds=3, classifier=light_classifier())
    assert weighted["auc"] < 0.55


def test_closure_test_of_the_density_background_model():
    data = _planted(n_sig=0)
    cfg = _cfg(density_estimator="gmm", gmm_components=3, density_oversample=2)
    assert search.get_method("density").background_model is not None
    result = closure.closure_test(data, cfg, "density")
    assert result["method"] == "density" and 0.45 < result["auc"] < 0.6
    with pytest.raises(ValueError, match="no background model"):
        closure.closure_test(data, cfg, "idealized")
    sidebands = search.get_method("cwola").background_model(data, cfg)  # CWoLa's model: the sideband events
    in_win, label = cwola.window_labels(data.m, cfg.window)
    assert np.array_equal(sidebands.m, data.m[in_win & (label == 0)]) and sidebands.weights is None
    with pytest.raises(ValueError, match="true background"):
        closure.closure_test(search.Dataset(data.x, data.m), cfg, "density")


def _bench_file(path, rng, n_qcd=3000, n_sig=200, columns=resonant.COLUMNS):
    x = np.abs(rng.normal(1, 0.3, (n_qcd + n_sig, len(columns))))
    x[:, 0] = rng.uniform(2800, 4200, len(x))
    y = np.concatenate([np.zeros(n_qcd), np.ones(n_sig)]).astype(np.int8)
    with h5py.File(path, "w") as f:
        f.create_dataset("features", data=x)
        f.create_dataset("label", data=y)
        f.attrs["columns"] = json.dumps(list(columns))
    return x


def test_benchmark_dataset_reference_simulation_and_bad_inputs(tmp_path):
    rng = np.random.default_rng(0)
    edges = np.arange(2800, 4201, 100.0)
    _bench_file(tmp_path / "data.h5", rng)
    ref_rows = _bench_file(tmp_path / "ref.h5", rng, n_qcd=2000, n_sig=0)
    data = benchmark_dataset(tmp_path / "data.h5", [], 50, 1, edges, reference=tmp_path / "ref.h5")
    assert data.reference is not None and data.simulation is not None and data.signal is not None
    assert len(data.reference.m) + len(data.simulation.m) == 2000 and len(data.signal.m) == 150
    assert data.truth is not None and data.truth.sum() == 50
    # the simulation half is mis-modelled: tau21 x 0.97 (feature 2 is tau21_j1, not divided by m_jj)
    plain = benchmark_dataset(tmp_path / "data.h5", [], 50, 1, edges, reference=tmp_path / "ref.h5", mismodel=False)
    assert plain.simulation is not None
    np.testing.assert_allclose(data.simulation.x[:, 2], SIMULATION_MISMODEL["tau21_j1"] * plain.simulation.x[:, 2])
    np.testing.assert_allclose(data.simulation.x[:, 0], plain.simulation.x[:, 0] * 1.03)
    assert np.isin(data.reference.m, ref_rows[:, 0]).all()
    # a proxy / reference file with other features
    _bench_file(tmp_path / "proxy.h5", rng, 0, 100, columns=(*resonant.COLUMNS[:-1], "other"))
    with pytest.raises(ValueError, match=r"proxy.h5: proxy file has other features.*missing \['pt_j2'\]"):
        benchmark_dataset(tmp_path / "data.h5", [tmp_path / "proxy.h5"], 50, 1, edges)
    with pytest.raises(ValueError, match="ref2.h5: reference file has other features"):
        _bench_file(tmp_path / "ref2.h5", rng, columns=tuple(reversed(resonant.COLUMNS)))
        benchmark_dataset(tmp_path / "data.h5", [], 50, 1, edges, reference=tmp_path / "ref2.h5")
    # a signal region outside the data's mass range, a sideband too small to train on
    with pytest.raises(ValueError, match=r"signal region \[4800, 5200\).*outside the data's m range"):
        check_windows(data, np.array([3500.0, 5000.0]), 200, 400)
    with pytest.raises(ValueError, match="hold only .* events, too few to train on"):
        check_windows(data, np.array([3500.0]), 200, 20)
    check_windows(data, np.array([3500.0]), 200, 400, min_sideband_events=100)


def test_density_method_names_a_too_small_sideband():
    rng = np.random.default_rng(1)
    x, m = rng.normal(size=(400, 2)), rng.uniform(3300, 3700, 400)
    x, m = np.concatenate([x, x[:10]]), np.concatenate([m, np.full(10, 3250.0)])
    cfg = search.SearchConfig(window=WINDOW, edges=np.arange(2800, 4201, 100.0))
    with pytest.raises(ValueError, match=r"sidebands .* hold only 10 events, too few to train the flow"):
        search.density_scores(search.Dataset(x, m), cfg)


def test_cli_names_a_signal_region_outside_the_data(tmp_path, capsys):
    from l1ad.cli import main

    _bench_file(tmp_path / "data.h5", np.random.default_rng(2))
    argv = ["analyze", "--method", "cwola", "--benchmark", str(tmp_path / "data.h5"), "--out", str(tmp_path)]
    assert main([*argv, "--centres", "6300:6500:200"]) == 1
    assert "outside the data's m range" in capsys.readouterr().err
