"""Set the baseline menu to a stated rate budget of the input stream by scaling all its thresholds together.

Scaling every seed threshold (e/gamma, muon, double-muon, HT and MET; not the jet pT entering HT) by one
factor ``k`` keeps the menu's shape. An event fires the scaled menu iff ``fire_scale(event) >= k``, where
``fire_scale`` is the largest factor at which some seed still fires (e.g. leading muon pT / SingleMu
threshold). The menu's rate at ``k`` is therefore a threshold on one variable, and the loosest menu within
the budget is found exactly from the background sample: ``k`` is placed between the fire scales of the last
event kept and the first event dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from l1ad.data.adc2021 import EGAMMA_ROWS, JET_ROWS, MET_ROW, MUON_ROWS, iter_chunks, validate_particles
from l1ad.rates.emulate import DEFAULT_COLLISION_HZ, format_rate, weighted_fraction
from l1ad.rates.menu import BaselineMenu

__all__ = ["MenuBudget", "scaled_menu", "fire_scale", "fit_menu_to_budget"]


@dataclass(frozen=True)
class MenuBudget:
    """A menu fitted to a budget: the scaled menu, its scale factor and its rate on the fitting sample."""

    menu: BaselineMenu
    scale: float
    budget_hz: float
    rate_hz: float
    rate_err_hz: float

    def to_dict(self) -> dict[str, object]:
        return {
            "budget_hz": self.budget_hz,
            "scale": self.scale,
            "rate_hz": self.rate_hz,
            "rate_err_hz": self.rate_err_hz,
            "settings": self.menu.to_dict(),
        }


def scaled_menu(menu: BaselineMenu, k: float) -> BaselineMenu:
    """``menu`` with every seed threshold multiplied by ``k`` (disabled seeds stay disabled)."""
    if not (np.isfinite(k) and k >= 0):
        raise ValueError(f"menu scale must be a finite number >= 0, got {k}")

    def times(v: float | None) -> float | None:
        return None if v is None else float(v) * k

    dimu = None if menu.double_muon_pt is None else (menu.double_muon_pt[0] * k, menu.double_muon_pt[1] * k)
    return dataclasses.replace(
        menu,
        single_egamma_pt=times(menu.single_egamma_pt),
        single_muon_pt=times(menu.single_muon_pt),
        double_muon_pt=dimu,
        ht=times(menu.ht),
        met=times(menu.met),
    )


def _check_positive(menu: BaselineMenu) -> None:
    for name, value in dataclasses.asdict(menu).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if name != "ht_jet_pt" and value is not None and min(values) <= 0:
            raise ValueError(f"menu: {name} = {value} cannot be scaled to a budget (thresholds must be > 0 GeV)")


def fire_scale(menu: BaselineMenu, particles: np.ndarray) -> np.ndarray:
    """Per event, the largest scale factor ``k`` at which ``scaled_menu(menu, k)`` still accepts it (0: none).

    Every enabled threshold must be positive (a zero threshold fires at any scale)."""
    _check_positive(menu)
    pt = validate_particles(particles, "menu input")[..., 0].astype(np.float64)
    best = np.zeros(len(pt))
    mu = np.sort(pt[:, MUON_ROWS], axis=1)[:, ::-1]
    candidates = []
    if menu.single_egamma_pt is not None:
        candidates.append(pt[:, EGAMMA_ROWS].max(axis=1, initial=0.0) / menu.single_egamma_pt)
    if menu.single_muon_pt is not None:
        candidates.append(mu[:, 0] / menu.single_muon_pt)
    if menu.double_muon_pt is not None:
        lead, sub = menu.double_muon_pt
        candidates.append(np.minimum(mu[:, 0] / lead, mu[:, 1] / sub))
    if menu.ht is not None:
        jets = pt[:, JET_ROWS]
        candidates.append(np.where(jets >= menu.ht_jet_pt, jets, 0.0).sum(axis=1) / menu.ht)
    if menu.met is not None:
        candidates.append(pt[:, MET_ROW] / menu.met)
    for c in candidates:
        np.maximum(best, c, out=best)
    return best


def fit_menu_to_budget(
    menu: BaselineMenu,
    files: Sequence[Path],
    budget_hz: float,
    f_coll_hz: float = DEFAULT_COLLISION_HZ,
    chunk_size: int = 100_000,
) -> MenuBudget:
    """The loosest uniformly scaled ``menu`` whose rate on the background ``files`` is at most ``budget_hz``."""
    if not 0 < budget_hz < f_coll_hz:
        raise ValueError(f"menu budget {format_rate(budget_hz)} must be above 0 and below {format_rate(f_coll_hz)}")
    if not menu.seed_names:
        raise ValueError("the menu has no enabled seed to scale")
    scales, weights = [], []
    for path in files:
        for chunk, w_chunk in iter_chunks(path, chunk_size=chunk_size, with_weights=True):
            scales.append(fire_scale(menu, chunk))
            weights.append(w_chunk)
    r, w = np.concatenate(scales), np.concatenate(weights)
    total, total2 = float(w.sum()), float((w**2).sum())
    order = np.argsort(-r, kind="stable")
    r_sorted, cum = r[order], np.cumsum(w[order])
    # distinct fire scales, descending, with the weight of the events at or above each
    last_of_value = np.flatnonzero(np.r_[r_sorted[1:] != r_sorted[:-1], True])
    values, above = r_sorted[last_of_value], cum[last_of_value]
    within = np.flatnonzero(above / total * f_coll_hz <= budget_hz)
    if within.size == 0:  # the single most selective event already exceeds the budget: keep nothing
        k = 2.0 * float(values[0]) + 1.0
    else:  # between the lowest scale value kept and the next one below it (dropped)
        i = int(within[-1])
        k = 0.5 * float(values[i] + (values[i + 1] if i + 1 < len(values) else 0.0))
    passed = r >= k
    frac, err = weighted_fraction(float(w[passed].sum()), float((w[passed] ** 2).sum()), total, total2)
    return MenuBudget(scaled_menu(menu, k), k, budget_hz, frac * f_coll_hz, err * f_coll_hz)
