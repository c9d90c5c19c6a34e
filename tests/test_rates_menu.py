"""Baseline menu seeds on hand-built events; pure rate and efficiency gain of the AD trigger."""

from __future__ import annotations

import json

import numpy as np
import pytest

from l1ad.data.adc2021 import ROW_CLASS
from l1ad.rates.menu import BaselineMenu, compare_with_menu, menu_efficiency, menu_rates
from l1ad.rates.stream import histogram_events


def event(met=0.0, eg=(), mu=(), jets=()) -> np.ndarray:
    """One ADC2021 event from object pTs (eta = phi = 0.1 for filled slots)."""
    out = np.zeros((19, 4), np.float32)
    out[0] = (met, 0.0, 0.1, 1)
    for start, pts in ((1, eg), (5, mu), (9, jets)):
        for k, pt in enumerate(sorted(pts, reverse=True)):
            out[start + k] = (pt, 0.1, 0.1, ROW_CLASS[start + k])
    return out


MENU = BaselineMenu(single_egamma_pt=36, single_muon_pt=22, double_muon_pt=(15, 7), ht=360, ht_jet_pt=30, met=100)
EVENTS = np.stack(
    [
        event(),  # 0: nothing
        event(eg=[36.0]),  # 1: SingleEG (>= is inclusive)
        event(eg=[35.9], mu=[21.9]),  # 2: nothing
        event(mu=[16.0, 8.0]),  # 3: DoubleMu only
        event(mu=[30.0, 6.0]),  # 4: SingleMu only
        event(jets=[130, 130, 100, 29]),  # 5: HT = 360 (the 29 GeV jet is below the jet threshold)
        event(jets=[130, 130, 99, 40]),  # 6: HT = 399
        event(jets=[130, 129, 100, 29.9]),  # 7: HT = 359: nothing
        event(met=100.0),  # 8: MET
        event(met=99.0, mu=[25.0, 20.0]),  # 9: SingleMu + DoubleMu
    ]
)
EXPECTED = np.array(
    [
        # EG   Mu     DiMu   HT     MET
        [0, 0, 0, 0, 0],
        [1, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0],
        [0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 1],
        [0, 1, 1, 0, 0],
    ],
    dtype=bool,
)


def test_seed_decisions_on_hand_built_events():
    assert MENU.seed_names == ["SingleEG36", "SingleMu22", "DoubleMu_15_7", "HTT360_jet30", "ETM100"]
    np.testing.assert_array_equal(MENU.decisions(EVENTS), EXPECTED)
    np.testing.assert_array_equal(MENU.accepts(EVENTS), EXPECTED.any(axis=1))


def test_disabled_seeds_and_config_round_trip(tmp_path):
    menu = BaselineMenu(single_egamma_pt=None, double_muon_pt=None, ht=None, met=50.0)
    assert menu.seed_names == ["SingleMu22", "ETM50"]
    np.testing.assert_array_equal(menu.decisions(EVENTS), np.c_[EXPECTED[:, 1], [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]])
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(menu.to_dict()))
    assert BaselineMenu.load(path) == menu
    yaml_path = tmp_path / "menu.yaml"
    yaml_path.write_text("single_muon_pt: 10\nmet: null\n")
    loaded = BaselineMenu.load(yaml_path)
    assert loaded.single_muon_pt == 10 and loaded.met is None and loaded.ht == BaselineMenu().ht
    with pytest.raises(ValueError, match="unknown settings"):
        BaselineMenu.from_dict({"single_tau_pt": 30})
    with pytest.raises(ValueError, match="leading"):
        BaselineMenu(double_muon_pt=(5, 10))
    with pytest.raises(ValueError, match="ht"):
        BaselineMenu(ht=float("nan"))
    with pytest.raises(FileNotFoundError, match="menu file"):
        BaselineMenu.load(tmp_path / "nope.json")


def test_menu_rate_pure_rate_and_gain_by_hand():
    # scores chosen by hand; weights 1 except event 9 (weight 2): total weight 11
    scores = np.array([50, 10, 60, 70, 20, 30, 80, 90, 40, 55])
    weights = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 2], float)
    h = histogram_events(EVENTS, lambda ev: scores, weights, MENU)
    rates = menu_rates(MENU, h.seeds, h.scores, f_coll_hz=11.0)  # f = 11 Hz: rate = accepted weight
    assert rates["SingleEG36"]["rate_hz"] == pytest.approx(1.0)
    assert rates["SingleMu22"]["rate_hz"] == pytest.approx(3.0)  # events 4 and 9 (weight 2)
    assert rates["DoubleMu_15_7"]["rate_hz"] == pytest.approx(3.0)
    assert rates["HTT360_jet30"]["rate_hz"] == pytest.approx(2.0)
    assert rates["ETM100"]["rate_hz"] == pytest.approx(1.0)
    assert rates["menu"]["rate_hz"] == pytest.approx(8.0)  # events 1, 3, 4, 5, 6, 8, 9(x2)
    # AD with threshold 45 accepts events 0, 2, 3, 6, 7, 9 (score > 45); menu rejects 0, 2, 7 -> pure weight 3
    cmp = compare_with_menu(45, h.scores, h.menu_rejected, h.seeds, scale=11.0)
    assert cmp["ad"] == pytest.approx(7.0)
    assert cmp["pure"] == pytest.approx(3.0)
    assert cmp["menu"] == pytest.approx(8.0)
    assert cmp["menu_or_ad"] == pytest.approx(11.0)
    # sum w^2 of accepted events: 6 x 1 + 2^2 = 10, of rejected: 3
    p = 8 / 11
    assert menu_efficiency(h.seeds, h.scores) == pytest.approx((p, np.sqrt(((1 - p) ** 2 * 10 + p**2 * 3) / 121)))
