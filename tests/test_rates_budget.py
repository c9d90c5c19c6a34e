"""The baseline menu set to a rate budget: fire scales by hand, the fitted menu is the loosest within budget."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic_events import background

from l1ad import cli
from l1ad.data.adc2021 import write_particles
from l1ad.rates.budget import fire_scale, fit_menu_to_budget, scaled_menu
from l1ad.rates.menu import BaselineMenu


def test_fire_scale_by_hand():
    ev = np.zeros((2, 19, 4), dtype=np.float32)
    ev[0, 0] = (50.0, 0.0, 0.0, 1)  # MET 50 -> 50 / 100 = 0.5
    ev[0, 5] = (33.0, 0.1, 0.1, 3)  # muons 33 and 14: single 33/22 = 1.5, double min(33/15, 14/7) = 2.0
    ev[0, 6] = (14.0, 0.1, 0.1, 3)
    menu = BaselineMenu()
    assert fire_scale(menu, ev).tolist() == pytest.approx([2.0, 0.0])
    assert scaled_menu(menu, 1.99).accepts(ev).tolist() == [True, False]
    assert scaled_menu(menu, 2.01).accepts(ev).tolist() == [False, False]
    assert scaled_menu(menu, 2.0).double_muon_pt == (30.0, 14.0)


def test_fitted_menu_is_the_loosest_within_budget(tmp_path):
    events = background(4000, seed=3)
    path = write_particles(tmp_path / "bkg.h5", events)
    f_coll, budget = 40e6, 1e6  # 2.5 % of the events
    fitted = fit_menu_to_budget(BaselineMenu(), [path], budget, f_coll)
    rate = fitted.menu.accepts(events).mean() * f_coll
    assert rate == pytest.approx(fitted.rate_hz) and rate <= budget
    assert scaled_menu(BaselineMenu(), fitted.scale * 0.98).accepts(events).mean() * f_coll > budget
    assert rate > 0.9 * budget


def test_budget_errors(tmp_path):
    path = write_particles(tmp_path / "bkg.h5", background(100, seed=1))
    with pytest.raises(ValueError, match="must be above 0 and below"):
        fit_menu_to_budget(BaselineMenu(), [path], 50e6)
    with pytest.raises(ValueError, match="met = 0.0 cannot be scaled"):
        fit_menu_to_budget(BaselineMenu(met=0.0), [path], 1e5)


def test_rates_command_with_a_menu_budget(tmp_path, capsys):
    from test_rates_command import random_encoder

    from l1ad.data.adc2021 import to_flat
    from l1ad.data.preprocess import InputFormat

    run = tmp_path / "runs" / "toy"
    (run / "fixed").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    bkg = background(3000, seed=8)
    InputFormat.fit(to_flat(bkg), width=16, integer=6).save(run / "input_format.json")
    random_encoder().save(run / "fixed" / "kl")
    data = write_particles(tmp_path / "bkg.h5", bkg)
    argv = ["rates", str(run), "--data", str(data), "--menu-budget", "1MHz", "--quiet", "--no-report"]
    assert cli.main(argv) == 0
    assert "to the budget 1 MHz" in capsys.readouterr().out
    menu = json.loads((run / "rates.json").read_text())["menu"]
    assert menu["budget"]["rate_hz"] <= 1e6 and menu["rates"]["menu"]["rate_hz"] == pytest.approx(
        menu["budget"]["rate_hz"]
    )
