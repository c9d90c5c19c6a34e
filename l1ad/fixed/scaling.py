"""The input-scaling stage of a trigger: raw hardware codes -> the encoder's input codes.

This is the hand-written step in front of the CMS Global-Trigger anomaly-detection emulators. Each input ``j``
arrives as a code of the *raw* type (``ap_fixed<W,I>``, hardware units) and becomes::

    d   = raw_t(x - offset[j])        # subtraction in the raw type: its overflow mode (same LSB, nothing to round)
    s   = d >> shift[j]               # ap_fixed shift in the raw type: right drops low bits (floor),
                                      # negative = left shift, wrapping (ap_fixed shifts ignore the modes)
    in  = input_t(s)                  # assignment to the model input type: its rounding and overflow

Offsets are codes of the raw type; shifts satisfy ``|shift| < W``. The golden model, the RTL trace and the HLS
layer implement exactly this (see ``l1ad.fixed.golden``, ``l1ad.rtl.trace``, ``l1ad/hls/nnet_input_scaling.h``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from l1ad.fixed.formats import FixedFormat, as_codes

__all__ = ["InputScaling"]


@dataclass
class InputScaling:
    """Per-feature offset (raw codes) and arithmetic shift applied to raw codes before the encoder."""

    raw_format: FixedFormat
    offset: np.ndarray  # int64 (n,) codes of raw_format
    shift: np.ndarray  # int64 (n,): > 0 right shift, < 0 left shift

    def __post_init__(self) -> None:
        self.offset = as_codes(self.offset, "input scaling offsets").reshape(-1)
        self.shift = as_codes(self.shift, "input scaling shifts").reshape(-1)
        raw = self.raw_format
        if self.offset.shape != self.shift.shape:
            raise ValueError(f"input scaling: {len(self.offset)} offsets but {len(self.shift)} shifts")
        if self.offset.size and (self.offset.min() < raw.min_code or self.offset.max() > raw.max_code):
            raise ValueError(f"input scaling: offsets outside the raw type {raw.ap_type()}")
        if self.shift.size and np.abs(self.shift).max() >= raw.width:
            raise ValueError(f"input scaling: shifts must satisfy |shift| < {raw.width} (the raw type's width)")

    @property
    def n(self) -> int:
        return int(self.offset.size)

    def scaled_raw(self, codes: np.ndarray) -> np.ndarray:
        """Raw int64 codes (N, n) -> the shifted raw-type codes ``s`` (before the cast to the input type)."""
        raw = self.raw_format
        d = raw.overflow_codes(as_codes(codes, "raw codes") - self.offset)
        right = np.maximum(self.shift, 0)
        left = np.maximum(-self.shift, 0)
        return np.where(self.shift >= 0, d >> right, raw.wrap(d << left))

    def apply(self, codes: np.ndarray, input_format: FixedFormat) -> np.ndarray:
        """Raw int64 codes (N, n) -> input codes of ``input_format`` (the whole stage, int64)."""
        return input_format.requantize(self.scaled_raw(codes), self.raw_format.frac)

    def values(self) -> dict[str, Any]:
        """JSON description: the raw type and, as values of it, the offsets; the shifts."""
        return {
            "raw_type": self.raw_format.ap_type(),
            "offsets": [float(v) for v in self.raw_format.to_float(self.offset)],
            "shifts": [int(s) for s in self.shift],
        }
