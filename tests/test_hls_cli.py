"""``l1ad convert`` and ``l1ad verify`` on a small run directory written here (random-weight contract encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic_events import background, signal

from l1ad.cli import main
from l1ad.data.adc2021 import write_particles
from l1ad.data.preprocess import InputFormat
from l1ad.fixed.golden import golden_forward
from l1ad.fixed.model import FixedPointModel
from l1ad.models.builders import build_quantized_encoder
from l1ad.models.config import ModelConfig


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    bkg, sig = write_particles(root / "bkg.h5", background(400, 1)), write_particles(root / "sig.h5", signal(200, 2))
    out = root / "demo"
    out.mkdir()
    encoder = build_quantized_encoder(seed=5, random_biases=True)
    encoder.save(out / "encoder.h5", save_format="h5", include_optimizer=False)
    (out / "config.json").write_text(json.dumps({**ModelConfig().to_dict(), "deployable": True}))
    InputFormat.fit(background(2000, 3)).save(out / "input_format.json")
    (out / "metadata.json").write_text(
        json.dumps({"data_files": {"background": {"path": str(bkg)}, "signal": {"path": str(sig)}}})
    )
    return out


def test_verify_qkeras_stage_with_run_data(run_dir, capsys):
    assert main(["verify", str(run_dir), "--no-hls", "--no-rtl", "--events", "700"]) == 0
    summary = json.loads((run_dir / "verify.json").read_text())
    # corner cases first, then events filling the rest of the budget (all 200 signal events + 378 background)
    assert summary["vectors"] == 700 and summary["corner_vectors"] > 100
    assert summary["data_vectors"] == 700 - summary["corner_vectors"]
    stage = summary["stages"]["qkeras_vs_golden"]["encoder"]
    assert stage == {"vectors": 700, "mismatched_vectors": 0, "mismatched_values": 0, "first_mismatch": None}
    assert summary["total_mismatches"] == 0
    assert "qkeras_vs_golden" in capsys.readouterr().out


def test_verify_errors(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "nope"), "--no-hls"]) == 1
    assert "no such run directory" in capsys.readouterr().err


@pytest.mark.slow
def test_convert_then_verify_with_csim(run_dir, tmp_path):
    hls_dir = tmp_path / "hls"
    assert main(["convert", str(run_dir), "--score", "kl", "--hls-dir", str(hls_dir), "--events", "500"]) == 0
    fixed = FixedPointModel.load(run_dir / "fixed" / "kl")
    check = json.loads((run_dir / "fixed" / "kl" / "csim_check.json").read_text())
    assert check["vectors"] == 500 and check["score"]["mismatched_values"] == 0
    assert (hls_dir / "demo-kl" / "build.sh").is_file()
    settings = json.loads((run_dir / "fixed" / "kl" / "hls_settings.json").read_text())
    assert settings["part"] == "xcvu9p-flga2104-2L-e" and settings["clock_period"] == 5.0
    codes = np.zeros((1, 57), dtype=np.int64)
    assert golden_forward(fixed, codes).score.shape == (1,)
    assert (
        main(["verify", str(run_dir), "--score", "kl", "--hls-dir", str(hls_dir), "--events", "600", "--no-rtl"]) == 0
    )
    summary = json.loads((run_dir / "verify.json").read_text())
    stage = summary["stages"]["hls_csim_vs_golden[kl]"]
    assert stage["score"]["vectors"] == 600 and stage["score"]["mismatched_values"] == 0
    assert stage["encoder"]["mismatched_values"] == 0


def test_share_events_takes_everything_from_small_files():
    from l1ad.pipeline.verification import share_events

    assert share_events([100, 4000, 400, 45000], 10_000) == [100, 4000, 400, 5500]
    assert share_events([10, 20], 100) == [10, 20]
    assert share_events([50, 50, 50], 90) == [30, 30, 30]
    assert sum(share_events([7, 1000, 3], 101)) == 101


def test_data_codes_takes_every_event_of_a_small_signal_file(run_dir):
    from l1ad.data.adc2021 import read_particles
    from l1ad.pipeline.verification import data_codes

    fmt = InputFormat.load(run_dir / "input_format.json")

    class Run:
        input_format = fmt

    bkg, sig = run_dir.parent / "bkg.h5", run_dir.parent / "sig.h5"
    codes = data_codes(Run(), [bkg, sig], 578)
    assert len(codes) == 578
    np.testing.assert_array_equal(codes[:378], fmt.to_codes(read_particles(bkg, 0, 378)))
    np.testing.assert_array_equal(codes[378:], fmt.to_codes(read_particles(sig)))
