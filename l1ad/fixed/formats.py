"""Fixed-point number formats in the ap_fixed convention, with the exact integer arithmetic of their
rounding and overflow modes.

``integer`` bits include the sign bit; ``frac = width - integer`` fraction bits; a value is ``code * 2**-frac``.
Rounding: ``RND_CONV`` (half to even, as QKeras' ``tf.round``), ``RND`` (half up), ``TRN`` (floor).
Overflow: ``SAT`` (clip to the range) or ``WRAP`` (two's complement wrap-around).

:func:`parse_ap_type` reads a C++ type (``ap_fixed<W,I,Q,O,N>``, ``ap_ufixed``, ``ap_int``, ``ap_uint``) into a
:class:`FixedFormat`; modes it cannot represent (``AP_RND_ZERO``, ``AP_SAT_SYM``, ``N != 0``, ...) are refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "FixedFormat",
    "Rounding",
    "Overflow",
    "ROUNDING_MODES",
    "OVERFLOW_MODES",
    "INT64_SAFE",
    "as_codes",
    "parse_ap_type",
]

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
        return self.wrap(codes)

    def wrap(self, codes: Any) -> np.ndarray:
        """Integer ``codes`` wrapped into this format's range (two's complement), whatever its overflow mode."""
        c = as_codes(codes, "wrap")
        wrapped = c & ((1 << self.width) - 1)
        if self.signed:
            wrapped = np.where(wrapped > self.max_code, wrapped - (1 << self.width), wrapped)
        return wrapped

    def overflow_codes(self, codes: Any) -> np.ndarray:
        """Integer ``codes`` (already on this format's grid) after its overflow mode (clip or wrap)."""
        return self._overflow(as_codes(codes, "overflow_codes"))

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

    def requantize_float(self, values: np.ndarray, frac_in: int) -> np.ndarray:
        """:meth:`requantize` on integer codes carried in a float array (float32 or float64; returns the same dtype).

        Exact when every intermediate (the codes scaled onto this format's grid) is an integer below the float's
        significand (2**24 / 2**53); the caller guarantees that (see :mod:`l1ad.fixed.golden`).
        """
        shift = frac_in - self.frac
        t = np.ldexp(values, -shift).astype(values.dtype, copy=False) if shift else values.copy()
        if shift > 0:
            if self.rounding == "RND_CONV":
                np.rint(t, out=t)
            elif self.rounding == "RND":
                t += 0.5
                np.floor(t, out=t)
            else:
                np.floor(t, out=t)
        if self.overflow == "SAT":
            np.clip(t, self.min_code, self.max_code, out=t)
        else:
            span = float(1 << self.width)
            t -= np.floor((t - self.min_code) / span) * span
        return t

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


_AP_TYPE = re.compile(r"^\s*(ap_fixed|ap_ufixed|ap_int|ap_uint)\s*<([^<>]*)>\s*$")
_AP_ROUNDING: dict[str, Rounding] = {"AP_TRN": "TRN", "AP_RND": "RND", "AP_RND_CONV": "RND_CONV"}
_AP_OVERFLOW: dict[str, Overflow] = {"AP_WRAP": "WRAP", "AP_SAT": "SAT"}


def parse_ap_type(text: str) -> FixedFormat:
    """The FixedFormat of a C++ type such as ``ap_fixed<16,6,AP_RND_CONV,AP_SAT>`` or ``ap_uint<8>``.

    Defaults as in Vivado/Vitis HLS (``AP_TRN``, ``AP_WRAP``). Raises ``ValueError`` naming every problem: an
    unknown type, a rounding mode other than AP_TRN / AP_RND / AP_RND_CONV, an overflow mode other than
    AP_WRAP / AP_SAT, saturation bits N != 0, or a width outside 1..62.
    """
    m = _AP_TYPE.match(text)
    if not m:
        raise ValueError(
            f"cannot parse type {text!r}: expected ap_fixed<W,I[,Q,O,N]>, ap_ufixed<...>, ap_int<W> or ap_uint<W>"
        )
    kind, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
    problems: list[str] = []

    def integer(value: str, what: str) -> int:
        try:
            return int(value, 0)
        except ValueError:
            problems.append(f"{what} {value!r} is not an integer")
            return 0

    if kind in ("ap_int", "ap_uint"):
        if len(args) != 1:
            raise ValueError(f"cannot parse type {text!r}: {kind} takes one argument (the width)")
        width = integer(args[0], "width")
        integer_bits, modes = width, []
    else:
        if not 2 <= len(args) <= 5:
            raise ValueError(f"cannot parse type {text!r}: {kind} takes 2 to 5 arguments (W, I, Q, O, N)")
        width, integer_bits, modes = integer(args[0], "width"), integer(args[1], "integer bits"), args[2:]
    rounding: Rounding = "TRN"
    overflow: Overflow = "WRAP"
    if len(modes) >= 1:
        if modes[0] not in _AP_ROUNDING:
            problems.append(f"rounding mode {modes[0]} is not supported (supported: {', '.join(_AP_ROUNDING)})")
        rounding = _AP_ROUNDING.get(modes[0], rounding)
    if len(modes) >= 2:
        if modes[1] not in _AP_OVERFLOW:
            problems.append(f"overflow mode {modes[1]} is not supported (supported: {', '.join(_AP_OVERFLOW)})")
        overflow = _AP_OVERFLOW.get(modes[1], overflow)
    if len(modes) == 3 and integer(modes[2], "saturation bits") != 0:
        problems.append(f"saturation bits N={modes[2]} are not supported (only 0)")
    if not problems and not 1 <= width <= 62:
        problems.append(f"width {width} is outside 1..62")
    if problems:
        raise ValueError(f"type {text!r}: " + "; ".join(problems))
    return FixedFormat(width, integer_bits, signed=kind in ("ap_fixed", "ap_int"), rounding=rounding, overflow=overflow)
