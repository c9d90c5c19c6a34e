"""Simple physics baselines an anomaly score must be judged beside: one line of arithmetic on the event arrays.

Each takes ADC2021 events (N, 19, 4) and returns a float64 score per event (larger = selected first):

- ``n_leptons``: e/gamma + muon slots with pT > 0;
- ``lepton_pt_sum``: scalar sum of e/gamma and muon pT;
- ``ht``: scalar sum of jet pT;
- ``met``: missing transverse energy;
- ``n_objects``: e/gamma + muon + jet slots with pT > 0;
- ``leading_pt``: the highest pT of any e/gamma, muon or jet.

Discrete baselines (the counts) are broken by no tie: a threshold on them selects a whole count at once, which
:func:`l1ad.analysis.metrics.tpr_at_fpr` handles by never passing more than the target fraction.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from l1ad.data.adc2021 import EGAMMA_ROWS, JET_ROWS, MET_ROW, MUON_ROWS, validate_particles

__all__ = ["BASELINES", "baseline_scores", "n_leptons", "lepton_pt_sum", "ht", "met", "n_objects", "leading_pt"]


#: Rows of every physics object (e/gamma, muons, jets): all rows but MET.
OBJECT_ROWS = slice(EGAMMA_ROWS.start, JET_ROWS.stop)


def _pt(events: np.ndarray) -> np.ndarray:
    return validate_particles(events, "baseline input")[..., 0].astype(np.float64)


def n_leptons(events: np.ndarray) -> np.ndarray:
    """Number of e/gamma and muon objects."""
    pt = _pt(events)
    return ((pt[:, EGAMMA_ROWS] > 0).sum(axis=1) + (pt[:, MUON_ROWS] > 0).sum(axis=1)).astype(np.float64)


def lepton_pt_sum(events: np.ndarray) -> np.ndarray:
    """Scalar sum of e/gamma and muon pT [GeV]."""
    pt = _pt(events)
    return pt[:, EGAMMA_ROWS].sum(axis=1) + pt[:, MUON_ROWS].sum(axis=1)


def ht(events: np.ndarray) -> np.ndarray:
    """Scalar sum of jet pT [GeV]."""
    return _pt(events)[:, JET_ROWS].sum(axis=1)


def met(events: np.ndarray) -> np.ndarray:
    """Missing transverse energy [GeV]."""
    return _pt(events)[:, MET_ROW]


def n_objects(events: np.ndarray) -> np.ndarray:
    """Number of e/gamma, muon and jet objects."""
    return (_pt(events)[:, OBJECT_ROWS] > 0).sum(axis=1).astype(np.float64)


def leading_pt(events: np.ndarray) -> np.ndarray:
    """Highest pT of any e/gamma, muon or jet [GeV]."""
    return _pt(events)[:, OBJECT_ROWS].max(axis=1)


#: name -> function, in the order tables list them.
BASELINES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "n_leptons": n_leptons,
    "lepton_pt_sum": lepton_pt_sum,
    "ht": ht,
    "met": met,
    "n_objects": n_objects,
    "leading_pt": leading_pt,
}


def baseline_scores(events: np.ndarray) -> dict[str, np.ndarray]:
    """Every baseline of ``events`` (validated once)."""
    arr = validate_particles(events, "baseline input")
    return {name: fn(arr) for name, fn in BASELINES.items()}
