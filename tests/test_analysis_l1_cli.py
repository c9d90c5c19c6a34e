"""L1 hook (pair mass, CWoLa on ADC2021-layout events) and the ``l1ad analyze`` verb."""

import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from l1ad.analysis import cwola, l1
from l1ad.cli import main
from l1ad.data.adc2021 import ROW_CLASS


@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(1):
        yield


def dimuon_events(masses: np.ndarray, met: np.ndarray) -> np.ndarray:
    """Events with two back-to-back muons at eta = 0 (m = 2 pT) and a MET value; nothing else."""
    n = len(masses)
    p = np.zeros((n, 19, 4), np.float32)
    p[:, 0, 0], p[:, 0, 3] = met, ROW_CLASS[0]
    p[:, 5, 0], p[:, 5, 2], p[:, 5, 3] = masses / 2, 0.0, ROW_CLASS[5]
    p[:, 6, 0], p[:, 6, 2], p[:, 6, 3] = masses / 2, np.float32(np.pi), ROW_CLASS[6]
    return p


def test_pair_mass_matches_two_body_formula():
    p = dimuon_events(np.array([100.0, 250.0]), np.zeros(2))
    p[1, 6, 1] = 1.0  # second event: muons at eta 0 and 1, dphi = pi -> m^2 = 2 pT^2 (cosh 1 + 1)
    m, has = l1.pair_mass(p, "dimuon")
    assert has.all()
    assert m[0] == pytest.approx(100.0, rel=1e-5)
    assert m[1] == pytest.approx(np.sqrt(2 * 125.0**2 * (np.cosh(1.0) + 1)), rel=1e-5)
    m_j, has_j = l1.pair_mass(p, "dijet")
    assert not has_j.any() and (m_j == 0).all()
    with pytest.raises(ValueError, match="unknown pair"):
        l1.pair_mass(p, "ditau")


def test_l1_cwola_finds_dimuon_resonance():
    rng = np.random.default_rng(0)
    m_b = 200 + rng.exponential(80.0, 20_000)
    m_b = m_b[m_b < 450]
    m_s = rng.normal(300, 8, 150)
    met = np.concatenate([rng.exponential(30, len(m_b)), rng.normal(150, 15, 150).clip(0)])
    events = dimuon_events(np.concatenate([m_b, m_s]), met)
    truth = np.concatenate([np.zeros(len(m_b), bool), np.ones(150, bool)])
    window = cwola.Window(250, 280, 320, 350)
    res = l1.run_l1_search(
        events,
        "cwola",
        "dimuon",
        window,
        np.arange(200, 451, 10.0),
        efficiency=0.01,
        truth=truth,
        n_folds=3,
        model="dijet3",
    )
    assert res["z"] > 3 and res["z"] > res["inclusive_z"] + 1
    assert res["n_signal_selected"] > 0.25 * res["n_selected"]  # vs ~2 % signal in the window


def test_cli_metrics_writes_json_and_plot(tmp_path, capsys):
    rng = np.random.default_rng(1)
    np.save(tmp_path / "b.npy", rng.normal(0, 1, 20_000))
    np.savetxt(tmp_path / "s.txt", rng.normal(1, 1, 5_000))
    out = tmp_path / "out"
    rc = main(
        [
            "analyze",
            "--method",
            "metrics",
            "--bkg-scores",
            str(tmp_path / "b.npy"),
            "--sig-scores",
            str(tmp_path / "s.txt"),
            "--fpr",
            "0.1",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    result = json.loads((out / "analysis_metrics.json").read_text())
    assert result["auc"] == pytest.approx(0.76, abs=0.01)  # Phi(1/sqrt 2) = 0.760
    assert result["working_points"][0]["tpr"] == pytest.approx(0.389, abs=0.02)  # 1 - Phi(1.2816 - 1)
    assert (out / "roc_sic.png").stat().st_size > 0
    assert not list(out.glob(".*tmp*"))


def test_cli_errors_are_clear(tmp_path, capsys):
    rc = main(
        [
            "analyze",
            "--method",
            "metrics",
            "--bkg-scores",
            str(tmp_path / "missing.npy"),
            "--sig-scores",
            str(tmp_path / "missing.npy"),
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 1
    assert "score file not found" in capsys.readouterr().err
    np.save(tmp_path / "nan.npy", np.array([1.0, np.nan]))
    rc = main(
        [
            "analyze",
            "--method",
            "metrics",
            "--bkg-scores",
            str(tmp_path / "nan.npy"),
            "--sig-scores",
            str(tmp_path / "nan.npy"),
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 1 and "NaN" in capsys.readouterr().err
    rc = main(["analyze", "--method", "cwola", "--out", str(tmp_path)])
    assert rc == 1 and "--benchmark" in capsys.readouterr().err
    assert not (tmp_path / "analysis_metrics.json").exists()
