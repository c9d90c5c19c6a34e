"""yosys resource estimates: parsing, device percentages, the clear message without yosys, a real run (slow)."""

from __future__ import annotations

import json
import shutil

import pytest

from l1ad.rtl import resources
from l1ad.rtl.example import example_model
from l1ad.rtl.generate import generate_rtl
from l1ad.rtl.resources import DEVICES, YosysNotFound, count_cells, estimate, parse_stat_json

# The shape of yosys 0.23 `stat -json` output (numbers made up for the test).
STAT_JSON = """
{
   "creator": "Yosys 0.23",
   "modules": {},
   "design": {
      "num_wires": 10, "num_cells": 17,
      "num_cells_by_type": {
         "CARRY4": 3, "DSP48E2": 2, "FDRE": 7, "FDSE": 1, "LUT2": 100, "LUT6": 5, "SRL16E": 4, "BUFG": 1
      }
   }
}
"""


def test_parse_and_count():
    res = count_cells(parse_stat_json(STAT_JSON))
    assert (res.lut, res.ff, res.dsp, res.carry, res.lutram) == (105, 8, 2, 3, 4)
    pct = res.percent("VU9P")
    assert pct["LUT"] == pytest.approx(100 * 105 / 1_182_240)
    assert pct["DSP"] == pytest.approx(100 * 2 / 6_840)
    assert res.percent("VU13P")["FF"] == pytest.approx(100 * 8 / 3_456_000)
    assert json.loads(json.dumps(res.to_dict()))["percent"]["VU13P"]["DSP"] == pytest.approx(100 * 2 / 12_288)


def test_device_capacities():
    assert DEVICES["VU9P"] == {"LUT": 1_182_240, "FF": 2_364_480, "DSP": 6_840}
    assert DEVICES["VU13P"] == {"LUT": 1_728_000, "FF": 3_456_000, "DSP": 12_288}


def test_missing_yosys_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(resources.shutil, "which", lambda name: None)
    design = generate_rtl(example_model("mu2", sizes=(57, 4), seed=1), tmp_path / "d")
    with pytest.raises(YosysNotFound, match="yosys not found"):
        estimate(design)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed")
def test_yosys_on_small_design(tmp_path):
    design = generate_rtl(example_model("kl", sizes=(57, 8), sparsity=0.5, seed=3), tmp_path / "d")
    res = estimate(design)
    assert res.lut > 1000 and res.ff > 100 and res.dsp >= 1  # adders in LUTs, squares in DSP48E2
    assert res.ff >= design.metadata["reg_bits"] * 0.5
