"""Resonant benchmark generator (tiny Pythia run), N-subjettiness, and the window-scoring of CWoLa."""

import h5py
import numpy as np
import pytest
from scipy import stats
from threadpoolctl import threadpool_limits

from l1ad.analysis import cwola, resonant


def test_nsubjettiness_known_configurations():
    # two equal-pT constituents 0.4 apart in eta; one axis on the first: tau = pT * 0.4 / (2 pT * R0)
    c = np.array([[100.0, 0.0, 0.0], [100.0, 0.4, 0.0]])
    assert resonant.nsubjettiness(c, np.array([[0.0, 0.0]])) == pytest.approx(0.2)
    assert resonant.nsubjettiness(c, np.array([[0.0, 0.0], [0.4, 0.0]])) == pytest.approx(0.0)
    # phi wraps around: constituents at +-3.1 are 0.083 apart
    w = np.array([[50.0, 0.0, 3.1], [50.0, 0.0, -3.1]])
    assert resonant.nsubjettiness(w, np.array([[0.0, 3.1]])) == pytest.approx((2 * np.pi - 6.2) / 2)


def test_generate_small_sample_and_resume(tmp_path):
    path = tmp_path / "bench.h5"
    resonant.generate(path, n_qcd=2, n_signal=8, seed=3, checkpoint=4, progress=False)
    x, y, cols = resonant.read_benchmark(path)
    assert cols == resonant.COLUMNS and x.shape == (10, len(cols))
    assert (y == 1).sum() == 8 and (y == 0).sum() == 2
    leading_pt = np.maximum(x[:, cols.index("pt_j1")], x[:, cols.index("pt_j2")])
    assert (leading_pt > resonant.LEADING_PT_MIN).all()
    sig = x[y == 1]
    # X(500) -> qq captured in an R = 1 jet in most events: the heavier jet mass sits near 500 GeV
    assert 400 < np.median(sig[:, cols.index("mj1")]) < 560
    assert np.median(sig[:, cols.index("mjj")]) == pytest.approx(3500, rel=0.15)
    resonant.generate(path, n_qcd=4, n_signal=8, seed=3, checkpoint=4, progress=False)  # resume: 2 more QCD
    x2, y2, _ = resonant.read_benchmark(path)
    assert (y2 == 0).sum() == 4 and np.array_equal(x2[:10], x)
    assert not list(tmp_path.glob(".*tmp*"))


def test_merge_concatenates_filters_labels_and_checks_columns(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    rng = np.random.default_rng(1)
    xa, xb = rng.uniform(1, 2, (5, 11)), rng.uniform(1, 2, (3, 11))
    resonant._write(a, xa, np.array([0, 1, 0, 0, 1]), {"seed": 1})
    resonant._write(b, xb, np.zeros(3, int), {"seed": 2})
    assert resonant.merge([a, b], tmp_path / "ab.h5") == (6, 2)
    x, y, _ = resonant.read_benchmark(tmp_path / "ab.h5")
    assert np.array_equal(x, np.concatenate([xa, xb])) and list(y) == [0, 1, 0, 0, 1, 0, 0, 0]
    assert resonant.merge([a, b], tmp_path / "qcd.h5", np.float32, label=0) == (6, 0)
    x32, _, _ = resonant.read_benchmark(tmp_path / "qcd.h5")
    assert x32.dtype == np.float32 and np.array_equal(x32, np.concatenate([xa[[0, 2, 3]], xb]).astype(np.float32))
    with h5py.File(b, "a") as f:
        f.attrs["columns"] = '["mjj", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]'
    with pytest.raises(ValueError, match="columns"):
        resonant.merge([a, b], tmp_path / "bad.h5")
    assert not (tmp_path / "bad.h5").exists()
    with pytest.raises(ValueError, match="no input"):
        resonant.merge([], tmp_path / "none.h5")


def test_read_benchmark_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        resonant.read_benchmark(tmp_path / "nope.h5")
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f.create_dataset("features", data=np.full((3, 11), np.nan))
        f.create_dataset("label", data=np.zeros(3))
        f.attrs["columns"] = '["a"]'
    with pytest.raises(ValueError, match="inconsistent shapes"):
        resonant.read_benchmark(bad)
    with pytest.raises(ValueError, match="m_wprime"):
        resonant.signal_settings(1000.0, 800.0, 300.0)


def test_outside_window_scores_have_held_out_spread():
    """Without signal, the fraction of outside-window events above a held-out 2 % threshold is ~2 %."""
    rng = np.random.default_rng(0)
    m = rng.uniform(2000, 5000, 12_000)
    x = rng.normal(0, 1, (12_000, 3))
    window = cwola.Window.around(3500, 200, 400)
    with threadpool_limits(1):
        scores, in_win = cwola.score_events(x, m, window, n_folds=3, seed=0)
    thr = cwola.select_top(scores[in_win], 0.02)
    outside = np.mean(scores[~in_win] > thr)
    n_out = (~in_win).sum()
    assert abs(outside - 0.02) < 4 * np.sqrt(0.02 * 0.98 / n_out) + 0.004
    assert stats.ks_2samp(scores[in_win], scores[~in_win]).pvalue > 1e-3
