"""scripts/bench_models.py: the seed summary (ratio of the seed means, per-seed ratios, their mean and error) and
the float/quantized background selection overlap (per score, and its one-line format)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).parents[1] / "scripts" / "bench_models.py"
    spec = importlib.util.spec_from_file_location("bench_models", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seed(tf: float, tq: float) -> dict:
    return {"signals": {"ato4l": {"kl": {"float": {"tpr@0.0001": [tf, 0.0]}, "quantized": {"tpr@0.0001": [tq, 0.0]}}}}}


def test_seed_summary_ratios(bench):
    row = bench.seed_summary({1: _seed(0.004, 0.002), 2: _seed(0.002, 0.003), 3: _seed(0.0, 0.001)}, 1e-4)["ato4l"][
        "kl"
    ]
    assert row["float_tpr"] == pytest.approx(0.002) and row["quantized_tpr"] == pytest.approx(0.002)
    assert row["ratio"] == pytest.approx(1.0)
    assert row["seed_ratios"][2] is None and row["seed_ratios"][:2] == pytest.approx([0.5, 1.5])
    assert row["mean_ratio"] == pytest.approx(1.0)
    assert row["mean_ratio_err"] == pytest.approx(np.std([0.5, 1.5], ddof=1) / np.sqrt(2))


def test_seed_summary_without_float_efficiency(bench):
    row = bench.seed_summary({1: _seed(0.0, 0.001)}, 1e-4)["ato4l"]["kl"]
    assert row["ratio"] is None and row["mean_ratio"] is None and row["mean_ratio_err"] is None


def test_background_overlap_per_score(bench):
    ref = np.arange(20000.0)  # FPR 1e-4 keeps the top 2 events
    bkg = {
        "float_kl": ref,
        "quantized_kl": ref[::-1].copy(),
        "float_mu2": ref,
        "quantized_mu2": 3.0 * ref,
        "float_mse": ref,
    }  # mse has no quantized score: no row
    overlap = bench.background_overlap(bkg, np.ones(ref.size))
    assert set(overlap) == {"kl", "mu2"}
    assert overlap["mu2"] == {"0.001": 1.0, "0.0001": 1.0}
    assert overlap["kl"] == {"0.001": 0.0, "0.0001": 0.0}


def test_format_overlap_marks_empty_selections(bench):
    line = bench.format_overlap({"kl": {"0.001": 0.456, "0.0001": float("nan")}, "mu2": {"0.001": 1.0, "0.0001": 0.5}})
    assert line.endswith("at FPR 0.001 / 0.0001: kl 0.46 / n/a, mu2 1.00 / 0.50")
