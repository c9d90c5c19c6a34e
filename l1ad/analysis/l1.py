"""Weakly supervised resonant searches on L1 events (ADC2021 layout): the hook between trigger and offline.

The resonant variable is the invariant mass of the two leading objects of one type (dimuon, di-e/gamma or
dijet; objects taken massless from pT, eta, phi); the classifier features are event-level quantities that
exclude that pair (MET, HT, multiplicities, leading pTs, and optionally a trigger anomaly score).
"""

from __future__ import annotations

import numpy as np

from l1ad.analysis import cwola, search
from l1ad.data.adc2021 import EGAMMA_ROWS, JET_ROWS, MET_ROW, MUON_ROWS, validate_particles

__all__ = ["PAIRS", "pair_mass", "event_features", "l1_dataset", "run_l1_search"]

PAIRS = {"dimuon": MUON_ROWS, "diegamma": EGAMMA_ROWS, "dijet": JET_ROWS}
FEATURE_NAMES = ("met", "ht", "n_jets", "n_egamma", "n_muons", "pt_j1", "pt_j2", "pt_e1", "pt_mu1")
#: Features dropped for each pair: they are (nearly) functions of the pair mass and would sculpt it.
PAIR_CORRELATED = {"dimuon": ("pt_mu1",), "diegamma": ("pt_e1",), "dijet": ("ht", "pt_j1", "pt_j2")}


def pair_mass(particles: np.ndarray, pair: str) -> tuple[np.ndarray, np.ndarray]:
    """(mass, has_pair): invariant mass of the two leading objects of type ``pair`` (0 where fewer than two)."""
    if pair not in PAIRS:
        raise ValueError(f"unknown pair {pair!r}; choose one of {sorted(PAIRS)}")
    p = validate_particles(particles)
    rows = p[:, PAIRS[pair], :]
    pt1, pt2 = rows[:, 0, 0].astype(np.float64), rows[:, 1, 0].astype(np.float64)
    deta = rows[:, 0, 1].astype(np.float64) - rows[:, 1, 1]
    dphi = rows[:, 0, 2].astype(np.float64) - rows[:, 1, 2]
    m2 = 2.0 * pt1 * pt2 * (np.cosh(deta) - np.cos(dphi))
    has = (pt1 > 0) & (pt2 > 0)
    return np.where(has, np.sqrt(np.maximum(m2, 0.0)), 0.0), has


def event_features(particles: np.ndarray, pair: str | None = None) -> np.ndarray:
    """Event features (``FEATURE_NAMES``), without those correlated with the ``pair`` mass if given."""
    p = validate_particles(particles).astype(np.float64)
    jets, eg, mu = p[:, JET_ROWS, 0], p[:, EGAMMA_ROWS, 0], p[:, MUON_ROWS, 0]
    x = np.column_stack(
        [
            p[:, MET_ROW, 0],
            jets.sum(1),
            (jets > 0).sum(1),
            (eg > 0).sum(1),
            (mu > 0).sum(1),
            jets[:, 0],
            jets[:, 1],
            eg[:, 0],
            mu[:, 0],
        ]
    )
    if pair is None:
        return x
    keep = [i for i, name in enumerate(FEATURE_NAMES) if name not in PAIR_CORRELATED[pair]]
    return x[:, keep]


def l1_dataset(
    particles: np.ndarray, pair: str, extra_scores: np.ndarray | None = None, truth: np.ndarray | None = None
) -> tuple[search.Dataset, np.ndarray]:
    """Dataset of the events having the pair; returns it and the mask of kept events."""
    m, has = pair_mass(particles, pair)
    x = event_features(particles, pair)
    if extra_scores is not None:
        s = np.asarray(extra_scores, dtype=np.float64).reshape(-1)
        if s.shape != (len(x),):
            raise ValueError(f"{s.size} anomaly scores for {len(x)} events")
        x = np.column_stack([x, s])
    return search.Dataset(x[has], m[has], None if truth is None else np.asarray(truth, bool)[has]), has


def run_l1_search(
    particles: np.ndarray,
    method: str,
    pair: str,
    window: cwola.Window,
    edges: np.ndarray,
    efficiency: float = 0.01,
    model: str = "bernstein",
    proxies: dict[str, np.ndarray] | None = None,
    truth: np.ndarray | None = None,
    extra_scores: np.ndarray | None = None,
    seed: int = 0,
    n_folds: int = 5,
) -> dict:
    """CWoLa (``method='cwola'``) or QUAK (``'quak'``, ``proxies`` = name -> proxy-signal particles) on L1
    events with the ``pair`` mass as resonant variable. ``model`` is the bump-hunt background function
    (Bernstein by default: L1 pair-mass spectra are not dijet-like)."""
    data, _ = l1_dataset(particles, pair, extra_scores, truth)
    if len(data.m) < 100:
        raise ValueError(f"only {len(data.m)} events have a {pair} pair: too few for a search")
    if method == "quak":
        if not proxies:
            raise ValueError("QUAK on L1 events needs proxy-signal particle arrays")
        data.proxies = {name: l1_dataset(p, pair)[0].x for name, p in proxies.items()}
    elif method != "cwola":
        raise ValueError(f"L1 searches support method 'cwola' or 'quak', got {method!r}")
    cfg = search.SearchConfig(
        window=window,
        edges=np.asarray(edges, dtype=np.float64),
        efficiency=efficiency,
        model=model,
        model_inclusive=model,
        n_folds=n_folds,
        seed=seed,
        gmm_components=4,
    )
    result, _ = search.run_method(method, data, cfg)
    result.update({"pair": pair, "n_events": int(len(data.m)), "inclusive_z": search.inclusive(data, cfg)["z"]})
    return result
