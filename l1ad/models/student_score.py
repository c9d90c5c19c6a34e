"""The teacher-student trigger score: the regressor's output, plus, when the run's lepton term is ``exact``, the
background's lepton-count density read from a table of the event's lepton count.

The same table serves the float model (its values), the QKeras model (its values rounded to the regressor's
output lsb) and the firmware (those rounded values as integer codes of a :class:`~l1ad.fixed.scores.CountTerm`
on the lepton pT inputs), so every form of the trigger adds the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from l1ad.data.adc2021 import EGAMMA_ROWS, MUON_ROWS, N_FEATURES, N_INPUTS, N_OBJECTS
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.scores import CountTerm
from l1ad.models import augment

if TYPE_CHECKING:
    from l1ad.data.preprocess import InputFormat
    from l1ad.models.config import ModelConfig
    from l1ad.models.train import StudentInfo

__all__ = ["LEPTON_PT_INPUTS", "lepton_table", "output_lsb", "trigger_score", "count_term"]

#: Model inputs holding the pT of the 4 e/gamma and 4 muon slots (rows flattened as (pT, eta, phi)).
_PER_ROW = N_INPUTS // N_OBJECTS  # (pT, eta, phi)
LEPTON_PT_INPUTS = tuple(_PER_ROW * row for rows in (EGAMMA_ROWS, MUON_ROWS) for row in range(rows.start, rows.stop))


def lepton_table(info: StudentInfo) -> np.ndarray | None:
    """The exact lepton term per lepton count 0..8 in the regressor's output units (``occupancy x -log
    p(n_lepton) / scale``), or None where the run regresses it (or has none)."""
    if info.lepton_term != "exact" or info.density is None or info.occupancy == 0.0:
        return None
    if info.density.lepton_model != "count":
        raise ValueError(f"an exact lepton term needs the lepton-count density, not {info.density.lepton_model!r}")
    return info.occupancy * np.asarray(info.density.lepton, dtype=np.float64) / info.scale


def output_lsb(cfg: ModelConfig) -> float:
    """The lsb of the quantized regressor's output, ``quantized_bits(student_output_bits, student_output_integer)``."""
    return 2.0 ** -(cfg.student_output_bits - cfg.student_output_integer - 1)


def _rounded(table: np.ndarray, lsb: float) -> np.ndarray:
    return np.rint(table / lsb)


def trigger_score(output: np.ndarray, info: StudentInfo, particles: np.ndarray, lsb: float | None = None) -> np.ndarray:
    """The trigger score of events: the regressor ``output`` (N,) plus the exact lepton term; ``lsb``: the
    quantized model's output lsb (the table then rounded to it, as the firmware adds it)."""
    table = lepton_table(info)
    out = np.asarray(output, dtype=np.float64)
    if table is None:
        return out
    if lsb is not None:
        table = _rounded(table, lsb) * lsb
    n_egamma, n_muon, _ = augment.multiplicities(particles)
    return out + table[n_egamma + n_muon]


def count_term(info: StudentInfo, input_format: InputFormat, output_format: FixedFormat) -> CountTerm | None:
    """The firmware form of the lepton term: lepton pT inputs compared with an empty slot's code, the table in
    codes of the regressor's ``output_format``; None where the run has no exact lepton term."""
    table = lepton_table(info)
    if table is None:
        return None
    empty = np.asarray(input_format.to_codes(np.zeros((1, N_OBJECTS, N_FEATURES))))[0, list(LEPTON_PT_INPUTS)]
    codes = _rounded(table, output_format.lsb).astype(np.int64)
    return CountTerm(LEPTON_PT_INPUTS, tuple(int(e) for e in empty), codes, name="leptons")
