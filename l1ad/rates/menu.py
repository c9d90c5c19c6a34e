"""A configurable baseline L1 menu on ADC2021 events, and the anomaly trigger's pure rate against it.

Seeds (each disabled by setting its threshold to ``None``): single e/gamma pT, single muon pT, double muon
(leading, subleading pT), HT (scalar sum of jet pT above ``ht_jet_pt``) and MET. Every cut is ``>=``, as
L1 seeds are written (e.g. SingleMu22 = a muon with pT >= 22 GeV). The defaults are CMS Run-3-like values;
on a lepton-filtered sample such as the ADC2021 background they are only a reference, so pass your own.

Pure rate of the AD trigger = rate of events the AD trigger accepts (score > t) that the menu rejects.
The signal efficiency gain over the menu is the efficiency of the events only the AD trigger selects:
eff(menu OR AD) - eff(menu).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.adc2021 import EGAMMA_ROWS, JET_ROWS, MET_ROW, MUON_ROWS, validate_particles
from l1ad.rates.emulate import DEFAULT_COLLISION_HZ, IntHistogram, fraction_above, weighted_fraction

__all__ = ["MENU_KEY", "BaselineMenu", "menu_rates", "menu_efficiency", "pure_fraction", "compare_with_menu"]

#: Key of the "any seed" (menu OR) entry in a seed histogram; seed i has key i.
MENU_KEY = -1


@dataclass(frozen=True)
class BaselineMenu:
    """Thresholds (GeV) of the baseline seeds; ``None`` disables a seed."""

    single_egamma_pt: float | None = 36.0
    single_muon_pt: float | None = 22.0
    double_muon_pt: tuple[float, float] | None = (15.0, 7.0)
    ht: float | None = 360.0
    ht_jet_pt: float = 30.0
    met: float | None = 100.0

    def __post_init__(self) -> None:
        for name in ("single_egamma_pt", "single_muon_pt", "ht", "met", "ht_jet_pt"):
            value = getattr(self, name)
            if value is None and name == "ht_jet_pt":
                raise ValueError("menu: ht_jet_pt (jet pT threshold of HT) must be a number, got null")
            if value is not None and (not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0):
                raise ValueError(f"menu: {name} must be a finite threshold >= 0 GeV or null, got {value!r}")
        if self.double_muon_pt is not None:
            pair = tuple(self.double_muon_pt)
            if len(pair) != 2 or any(not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 for v in pair):
                raise ValueError(f"menu: double_muon_pt must be [leading, subleading] >= 0 GeV, got {pair!r}")
            if pair[0] < pair[1]:
                raise ValueError(f"menu: double_muon_pt leading {pair[0]} is below subleading {pair[1]}")
            object.__setattr__(self, "double_muon_pt", (float(pair[0]), float(pair[1])))

    @property
    def seed_names(self) -> list[str]:
        """Names of the enabled seeds, in a fixed order (seed i has histogram key i)."""
        names = []
        if self.single_egamma_pt is not None:
            names.append(f"SingleEG{self.single_egamma_pt:g}")
        if self.single_muon_pt is not None:
            names.append(f"SingleMu{self.single_muon_pt:g}")
        if self.double_muon_pt is not None:
            names.append(f"DoubleMu_{self.double_muon_pt[0]:g}_{self.double_muon_pt[1]:g}")
        if self.ht is not None:
            names.append(f"HTT{self.ht:g}_jet{self.ht_jet_pt:g}")
        if self.met is not None:
            names.append(f"ETM{self.met:g}")
        return names

    def decisions(self, particles: np.ndarray) -> np.ndarray:
        """bool (N, n_seeds): which enabled seed fires on each event (columns as :attr:`seed_names`)."""
        arr = validate_particles(particles, "menu input")
        cols = []
        pt = arr[..., 0]
        if self.single_egamma_pt is not None:
            cols.append(pt[:, EGAMMA_ROWS].max(axis=1, initial=0.0) >= self.single_egamma_pt)
        mu = np.sort(pt[:, MUON_ROWS], axis=1)[:, ::-1]
        if self.single_muon_pt is not None:
            cols.append(mu[:, 0] >= self.single_muon_pt)
        if self.double_muon_pt is not None:
            lead, sub = self.double_muon_pt
            cols.append((mu[:, 0] >= lead) & (mu[:, 1] >= sub))
        if self.ht is not None:
            jets = pt[:, JET_ROWS]
            ht = np.where(jets >= self.ht_jet_pt, jets, 0.0).sum(axis=1, dtype=np.float64)
            cols.append(ht >= self.ht)
        if self.met is not None:
            cols.append(pt[:, MET_ROW] >= self.met)
        return np.stack(cols, axis=1) if cols else np.zeros((len(arr), 0), dtype=bool)

    def accepts(self, particles: np.ndarray) -> np.ndarray:
        """bool (N,): the menu (OR of the enabled seeds) accepts the event."""
        return np.any(self.decisions(particles), axis=1)

    def seed_histogram(self, decisions: np.ndarray, weights: np.ndarray) -> IntHistogram:
        """Weighted counts per seed (key i) and for the whole menu (key :data:`MENU_KEY`)."""
        rows, seeds = np.nonzero(decisions)
        menu = np.flatnonzero(decisions.any(axis=1))
        keys = np.concatenate([seeds, np.full(len(menu), MENU_KEY)])
        return IntHistogram.of(keys, np.concatenate([weights[rows], weights[menu]]))

    # ---- configuration ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["double_muon_pt"] = list(self.double_muon_pt) if self.double_muon_pt is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BaselineMenu:
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(
                f"menu: unknown settings {sorted(unknown)}; known: {[f.name for f in dataclasses.fields(cls)]}"
            )
        return cls(**d)

    @classmethod
    def load(cls, path: str | os.PathLike) -> BaselineMenu:
        """A menu from a JSON or YAML file of thresholds (missing keys keep their defaults)."""
        path = Path(path)
        try:
            text = path.read_text()
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{path}: no such menu file") from exc
        if path.suffix in (".yaml", ".yml"):
            import yaml

            d = yaml.safe_load(text)
        else:
            try:
                d = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: menu file is not valid JSON: {exc}") from exc
        if not isinstance(d, dict):
            raise ValueError(f"{path}: menu file must hold a mapping of seed thresholds")
        return cls.from_dict(d)


def menu_rates(
    menu: BaselineMenu, seeds: IntHistogram, scores: IntHistogram, f_coll_hz: float = DEFAULT_COLLISION_HZ
) -> dict[str, dict[str, float]]:
    """Rate (and uncertainty) of each seed and of the whole menu ('menu') on a background sample.

    ``seeds`` is the sample's seed histogram, ``scores`` its score histogram (for the total weight).
    """
    out = {}
    for key, name in [*enumerate(menu.seed_names), (MENU_KEY, "menu")]:
        p, err = menu_efficiency(seeds, scores, key)
        out[name] = {"rate_hz": p * f_coll_hz, "rate_err_hz": err * f_coll_hz, "fraction": p}
    return out


def menu_efficiency(seeds: IntHistogram, scores: IntHistogram, key: int = MENU_KEY) -> tuple[float, float]:
    """Weighted fraction (and uncertainty) of a sample accepted by seed ``key`` (default: the menu)."""
    if scores.n_events == 0 or scores.total_weight <= 0:
        raise ValueError("empty sample (0 events or zero total weight)")
    i = np.searchsorted(seeds.keys, key)
    w = w2 = 0.0
    if i < len(seeds.keys) and seeds.keys[i] == key:
        w, w2 = float(seeds.sum_weights[i]), float(seeds.sum_weights2[i])
    return weighted_fraction(w, w2, scores.total_weight, scores.total_weight2)


def pure_fraction(scores: IntHistogram, menu_rejected: IntHistogram, threshold: int) -> tuple[float, float]:
    """Weighted fraction (and uncertainty) of events with score > threshold that the menu rejects."""
    if scores.n_events == 0 or scores.total_weight <= 0:
        raise ValueError("empty sample (0 events or zero total weight)")
    return weighted_fraction(*menu_rejected.above(int(threshold)), scores.total_weight, scores.total_weight2)


def compare_with_menu(
    threshold: int, scores: IntHistogram, menu_rejected: IntHistogram, seeds: IntHistogram, scale: float = 1.0
) -> dict[str, float]:
    """AD trigger vs menu on one sample at one threshold; fractions times ``scale`` (f_coll for rates).

    Keys: ``ad`` (AD alone), ``menu``, ``pure`` (AD and not menu), ``menu_or_ad``, and ``*_err``.
    """
    ad, ad_err = fraction_above(scores, threshold)
    menu, menu_err = menu_efficiency(seeds, scores)
    pure, pure_err = pure_fraction(scores, menu_rejected, threshold)
    return {
        "ad": ad * scale,
        "ad_err": ad_err * scale,
        "menu": menu * scale,
        "menu_err": menu_err * scale,
        "pure": pure * scale,
        "pure_err": pure_err * scale,
        "menu_or_ad": (menu + pure) * scale,
    }
