"""Small synthetic events in the ADC2021 layout for tests (not physics: just the right structure).

``background(n, seed)``: MET + Poisson numbers of e/gamma, muons, jets with falling pT spectra.
``signal(n, seed)``: more and harder leptons and MET (separable from background, so scores can be tested).
"""

from __future__ import annotations

import numpy as np

from l1ad.data.adc2021 import EGAMMA_ROWS, JET_ROWS, MUON_ROWS, ROW_CLASS, validate_particles


def _fill(
    out: np.ndarray,
    rows: slice,
    counts: np.ndarray,
    pt_scale: float,
    pt_min: float,
    eta_max: float,
    rng: np.random.Generator,
) -> None:
    n_slots = rows.stop - rows.start
    for k in range(n_slots):
        filled = counts > k
        m = int(filled.sum())
        row = rows.start + k
        out[filled, row, 0] = pt_min + rng.exponential(pt_scale, m)
        out[filled, row, 1] = rng.uniform(-eta_max, eta_max, m)
        out[filled, row, 2] = rng.uniform(-np.pi, np.pi, m)
        out[filled, row, 3] = ROW_CLASS[row]
    block = out[:, rows, :]
    order = np.argsort(-block[:, :, 0], axis=1, kind="stable")  # pT-ordered inside the type, empties last
    out[:, rows, :] = np.take_along_axis(block, order[:, :, None], axis=1)


def make_events(
    n: int, seed: int, lepton_rate: float, lepton_pt: float, met_scale: float, jet_rate: float = 3.0
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 19, 4), dtype=np.float32)
    out[:, 0, 0] = rng.exponential(met_scale, n)
    out[:, 0, 2] = rng.uniform(-np.pi, np.pi, n)
    out[:, 0, 3] = 1
    _fill(out, EGAMMA_ROWS, np.minimum(rng.poisson(lepton_rate, n), 4), lepton_pt, 10.0, 3.0, rng)
    _fill(out, MUON_ROWS, np.minimum(rng.poisson(lepton_rate, n), 4), lepton_pt, 3.0, 2.1, rng)
    _fill(out, JET_ROWS, np.minimum(rng.poisson(jet_rate, n), 10), 30.0, 15.0, 4.0, rng)
    return validate_particles(out)


def background(n: int, seed: int = 0) -> np.ndarray:
    return make_events(n, seed, lepton_rate=0.3, lepton_pt=8.0, met_scale=20.0)


def signal(n: int, seed: int = 1) -> np.ndarray:
    return make_events(n, seed, lepton_rate=2.0, lepton_pt=60.0, met_scale=80.0)
