"""Fixed-point number formats in the ap_fixed convention, with the exact integer arithmetic of their
rounding and overflow modes.

``integer`` bits include the sign bit; ``frac = width - integer`` fraction bits; a value is ``code * 2**-frac``.
Rounding: ``RND_CONV`` (half to even, as QKeras' ``tf.round``), ``RND`` (half up), ``TRN`` (floor).
Overflow: ``SAT`` (clip to the range) or ``WRAP`` (two's complement wrap-around).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["FixedFormat", "Rounding", "Overflow", "ROUNDING_MODES", "OVERFLOW_MODES", "INT64_SAFE", "as_codes"]

Rounding = Literal["RND_CONV", "RND", "TRN"]
Overflow = Literal["SAT", "WRAP"]
ROUNDING_MODES = ("RND_CONV", "RND", "TRN")
OVERFLOW_MODES = ("SAT", "WRAP")

#: Largest magnitude handled exactly by the int64 arithmetic of the golden model.
INT64_SAFE = 2**62


def as_codes(values: Any, what: str) -> np.ndarray:
    """``values`` as int64 codes; a non-integer dtype raises ``TypeError`` naming ``what``."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{what}: integer codes expected, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


@dataclass(frozen=True)
class FixedFormat:
    """A fixed-point number format: ``width`` bits, ``integer`` of them left of the binary point (incl. sign)."""

    width: int
    integer: int
    signed: bool = True
    rounding: Rounding = "RND_CONV"
    overflow: Overflow = "SAT"

    def __post_init__(self) -> None:
        if not 1 <= self.width <= 62:
            raise ValueError(f"FixedFormat width must be in 1..62, got {self.width}")
        if self.rounding not in ROUNDING_MODES:
            raise ValueError(f"unknown rounding mode {self.rounding!r} (expected one of {ROUNDING_MODES})")
        if self.overflow not in OVERFLOW_MODES:
            raise ValueError(f"unknown overflow mode {self.overflow!r} (expected one of {OVERFLOW_MODES})")

    @property
    def frac(self) -> int:
        """Number of fraction bits (may be negative)."""
        return self.width - self.integer

    @property
    def min_code(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        return math.ldexp(1.0, -self.frac)

    def ap_type(self) -> str:
        """The Vivado/Vitis HLS type, e.g. ``ap_fixed<16,6,AP_RND_CONV,AP_SAT>``."""
        base = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{base}<{self.width},{self.integer},AP_{self.rounding},AP_{self.overflow}>"

    def _overflow(self, codes: np.ndarray) -> np.ndarray:
        if self.overflow == "SAT":
            return np.clip(codes, self.min_code, self.max_code)
        wrapped = codes & ((1 << self.width) - 1)
        if self.signed:
            wrapped = np.where(wrapped > self.max_code, wrapped - (1 << self.width), wrapped)
        return wrapped

    def requantize(self, codes: Any, frac_in: int) -> np.ndarray:
        """Re-scale integer ``codes`` with ``frac_in`` fraction bits into this format (integer arithmetic only)."""
        c = as_codes(codes, "requantize")
        shift = frac_in - self.frac
        if shift <= 0:
            out = c << (-shift)
        else:
            q = c >> shift  # floor
            if self.rounding != "TRN":
                rem = c - (q << shift)
                half = 1 << (shift - 1)
                up = rem > half
                if self.rounding == "RND":
                    up |= rem == half
                else:  # RND_CONV: ties to even
                    up |= (rem == half) & ((q & 1) == 1)
                q = q + up
            out = q
        return self._overflow(out)

    def quantize(self, values: Any) -> np.ndarray:
        """Float values -> codes of this format (rounding, then overflow). NaN/inf raise ``ValueError``."""
        x = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError("quantize: NaN or inf in the values")
        scaled = np.ldexp(x, self.frac)
        if self.rounding == "TRN":
            r = np.floor(scaled)
        elif self.rounding == "RND":
            r = np.floor(scaled + 0.5)
        else:
            r = np.round(scaled)  # numpy rounds half to even
        limit = float(INT64_SAFE)
        r = np.clip(r, -limit, limit)
        return self._overflow(r.astype(np.int64))

    def to_float(self, codes: Any) -> np.ndarray:
        """Codes -> their exact values (float64)."""
        return np.ldexp(as_codes(codes, "to_float").astype(np.float64), -self.frac)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FixedFormat:
        return cls(**d)

    @classmethod
    def for_range(cls, max_abs_code: int, frac: int, signed: bool, **modes: Any) -> FixedFormat:
        """The narrowest format with ``frac`` fraction bits holding codes up to ``max_abs_code`` in magnitude."""
        magnitude_bits = max(int(max_abs_code).bit_length(), 1)
        width = magnitude_bits + (1 if signed else 0)
        return cls(width=width, integer=width - frac, signed=signed, **modes)
