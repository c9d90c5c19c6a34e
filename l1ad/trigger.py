"""A trigger as the golden model computes it: events -> input codes -> FixedPointModel -> score codes.

:class:`Trigger` is what offline emulation calls (rates, notebooks): it is picklable, so it can be shipped to
Dask workers, and it is integer-equal to the firmware (hls4ml C-sim, RTL) by verification.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from l1ad.data.preprocess import InputFormat
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.golden import golden_score
from l1ad.fixed.model import FixedPointModel

__all__ = ["Trigger"]


@dataclass(frozen=True)
class Trigger:
    """``trigger(particles (N,19,4)) -> int64 (N,)`` score codes: the input preprocessing, then the golden model."""

    model: FixedPointModel
    input_format: InputFormat

    def codes(self, particles: np.ndarray) -> np.ndarray:
        """The input codes the firmware sees (rounded half to even, saturated)."""
        return np.asarray(self.input_format.to_codes(particles))

    def __call__(self, particles: np.ndarray) -> np.ndarray:
        return golden_score(self.model, self.codes(particles))

    def score_codes(self, input_codes: np.ndarray) -> np.ndarray:
        """Score codes of input codes (N, n_inputs)."""
        return golden_score(self.model, input_codes)

    def values(self, score_codes: np.ndarray) -> np.ndarray:
        """The score values (float64) of score codes."""
        return self.output_format.to_float(score_codes)

    def decisions(self, score_codes: np.ndarray, threshold: int) -> np.ndarray:
        """The trigger bit of each event: score code > threshold code (strictly, as the firmware compares)."""
        return np.asarray(score_codes, dtype=np.int64) > int(threshold)

    @property
    def output_format(self) -> FixedFormat:
        """Format of the score codes (value = code * 2**-frac)."""
        return self.model.score.output_format

    @property
    def kind(self) -> str:
        return self.model.score.kind
