"""`l1ad rates` end to end on a synthetic run directory with a random fixed-point model (golden scores)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic_events import background, signal

from l1ad import cli
from l1ad.data.adc2021 import to_flat, write_particles
from l1ad.data.preprocess import InputFormat
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.golden import golden_score
from l1ad.fixed.model import DenseLayer, FixedPointModel
from l1ad.fixed.scores import make_score
from l1ad.pipeline import open_run, trigger
from l1ad.trigger import Trigger


def random_encoder(seed: int = 0, score: str = "kl") -> FixedPointModel:
    """A 57 -> 16 -> 2x3 encoder with random integer weights (structure only; not trained)."""
    rng = np.random.default_rng(seed)
    w, b = FixedFormat(6, 1), FixedFormat(8, 3)
    hidden = DenseLayer(
        "d0",
        rng.integers(-32, 32, (57, 16)),
        w,
        rng.integers(-128, 128, 16),
        b,
        "relu",
        FixedFormat(8, 3, signed=False),
    )
    out_fmt = FixedFormat(9, 4)
    out = DenseLayer("out", rng.integers(-32, 32, (16, 6)), w, rng.integers(-128, 128, 6), b, "linear", out_fmt)
    return FixedPointModel("rand", FixedFormat(16, 6), [hidden, out], 3, True, make_score(score, 3, out_fmt))


@pytest.fixture(scope="module")
def run_and_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("rates_cmd")
    run = d / "runs" / "toy"
    (run / "fixed").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    bkg = background(3000, seed=21)
    fmt = InputFormat.fit(to_flat(bkg), width=16, integer=6)
    fmt.save(run / "input_format.json")
    random_encoder().save(run / "fixed" / "kl")
    data = {
        "bkg": write_particles(d / "bkg.h5", bkg),
        "Ato4l": write_particles(d / "Ato4l.h5", signal(800, 22)),
        "hToTauTau": write_particles(d / "hToTauTau_13TeV.h5", signal(500, 23)),
    }
    return run, data, bkg, fmt


def test_rates_command_writes_json_and_table(run_and_data, capsys):
    run, data, bkg, fmt = run_and_data
    argv = [
        "rates",
        str(run),
        "--data",
        str(data["bkg"]),
        "--signals",
        str(data["Ato4l"]),
        str(data["hToTauTau"]),
        "--target-rate",
        "1kHz",
        "--target-rate",
        "0.5 MHz",
        "--target-rate",
        "5MHz",
        "--chunk-size",
        "700",
        "--quiet",
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "warning: fewer than 10 background events pass at 1 kHz" in out  # 3000 events cannot reach 1 kHz
    assert "score kl" in out and "eff Ato4l" in out and "eff hToTauTau" in out and "baseline menu" in out
    summary = json.loads((run / "rates.json").read_text())
    assert (run / "rates_histograms.npz").is_file()
    assert summary["f_coll_hz"] == 40e6
    assert [t["target_hz"] for t in summary["targets"]] == [1e3, 5e5, 5e6]
    # independent check: golden scores of the whole sample in memory, then the smallest passing threshold
    scores = golden_score(random_encoder(), fmt.to_codes(bkg))
    for t in summary["targets"]:
        code = t["threshold"]
        assert isinstance(code, int)
        rate = 40e6 * np.mean(scores > code)
        assert t["rate_hz"] == pytest.approx(rate, rel=1e-12, abs=1e-9)
        assert rate <= t["target_hz"] < 40e6 * np.mean(scores > code - 1)
        assert t["threshold_value"] == code * summary["score"]["lsb"]
        assert set(t["signals"]) == {"Ato4l", "hToTauTau"}
        assert t["pure_rate_hz"] <= t["rate_hz"]
        assert t["n_events_above"] == int(np.sum(scores > code))
    assert "menu" in summary and summary["menu"]["rates"]["menu"]["rate_hz"] > 0
    report = (run / "report.html").read_text()  # written by default after rates.json
    assert 'src="report_files/rate_vs_threshold.png"' in report and "Ato4l" in report


def test_rates_command_dask_gives_identical_json(run_and_data, tmp_path):
    run, data, _, _ = run_and_data
    common = [
        "rates",
        str(run),
        "--data",
        str(data["bkg"]),
        "--signals",
        str(data["Ato4l"]),
        "--target-rate",
        "2kHz",
        "--target-rate",
        "100kHz",
        "--bunches",
        "2400",
        "--quiet",
        "--no-report",
    ]
    assert cli.main(common + ["--chunk-size", "1000"]) == 0
    a = json.loads((run / "rates.json").read_text())
    assert cli.main(common + ["--dask", "--scheduler", "threads", "--chunk-size", "450"]) == 0
    b = json.loads((run / "rates.json").read_text())
    assert a["f_coll_hz"] == 2400 * 11_245.0
    for key in ("targets", "menu", "samples"):
        assert a[key] == b[key]


def test_rates_command_errors(run_and_data, tmp_path, capsys):
    run, data, _, _ = run_and_data
    base = ["rates", str(run), "--data", str(data["bkg"]), "--quiet", "--no-report"]
    assert cli.main(base + ["--target-rate", "50MHz"]) == 1
    assert "not below the collision frequency" in capsys.readouterr().err
    assert cli.main(base + ["--score", "rz"]) == 1
    assert "no fixed-point model for score 'rz'" in capsys.readouterr().err
    assert cli.main(["rates", str(run), "--data", str(tmp_path / "nope.h5"), "--quiet"]) == 1
    assert "no such event file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(base + ["--target-rate", "fast"])
    assert "cannot parse rate" in capsys.readouterr().err


def test_run_trigger_is_the_golden_model(run_and_data):
    run, _, bkg, fmt = run_and_data
    scorer = trigger(open_run(run))
    assert isinstance(scorer, Trigger) and scorer.kind == "kl"
    np.testing.assert_array_equal(scorer(bkg[:200]), golden_score(random_encoder(), fmt.to_codes(bkg[:200])))


def test_rates_compare_simple_baselines(run_and_data):
    run, data, _, _ = run_and_data
    argv = ["rates", str(run), "--data", str(data["bkg"]), "--signals", str(data["Ato4l"]), "--quiet"]
    assert cli.main([*argv, "--target-rate", "400kHz"]) == 0
    base = json.loads((run / "rates.json").read_text())["baselines"]
    assert set(base["table"]) == {"n_leptons", "lepton_pt_sum", "ht", "met", "n_objects", "leading_pt"}
    means = {n: row["mean_efficiency"] for n, row in base["table"].items()}
    assert base["best"] == max(means, key=means.get) and base["rate_hz"] == 4e5
    assert (run / "rates_baselines.npz").is_file()
    page = (run / "report.html").read_text()
    assert "Simple baselines at 400 kHz" in page and "(best)" in page
