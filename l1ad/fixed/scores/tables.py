"""Lookup tables of functions of logvar, shared by the scores that use one (kl, rz).

The table index is the logvar code floored into ``lut_input_format`` (TRN) and saturated to its range (SAT);
entry ``i`` holds the function at the left edge of bin ``i`` (index code ``i + min_code``), rounded to the
table format. The same indexing in golden (numpy), RTL (da4ml) and HLS (C++) keeps all three equal.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.scores.base import ScoreSpec

__all__ = ["lut_input_format_for", "build_table", "lut_index", "lut_values", "hls_lookup", "hls_mu_square"]


def lut_input_format_for(latent_format: FixedFormat, lut_index_bits: int, lut_logvar_integer: int) -> FixedFormat:
    """The table index format: logvar floored to at most ``lut_index_bits`` bits, saturated to
    ``lut_logvar_integer`` integer bits (default 4: lv in [-8, 8), i.e. sigma^2 between 3e-4 and 3e3)."""
    integer = min(latent_format.integer, lut_logvar_integer)
    width = min(lut_index_bits, integer + latent_format.frac)
    if width < integer or width < 1:
        raise ValueError(f"lut_index_bits={lut_index_bits} cannot cover {integer} integer bits of logvar")
    return FixedFormat(width=width, integer=integer, signed=latent_format.signed, rounding="TRN", overflow="SAT")


def build_table(
    function: Callable[[np.ndarray], np.ndarray], index_format: FixedFormat, lut_width: int, what: str
) -> tuple[np.ndarray, FixedFormat]:
    """Integer table of ``function`` over every index code and its (unsigned) format, with as many fraction
    bits as fit ``lut_width``."""
    codes = np.arange(index_format.min_code, index_format.max_code + 1, dtype=np.int64)
    values = function(index_format.to_float(codes))
    peak = float(values.max())
    for integer in range(-lut_width, 64):
        fmt = FixedFormat(width=lut_width, integer=integer, signed=False, rounding="RND_CONV", overflow="SAT")
        if np.round(np.ldexp(peak, fmt.frac)) <= fmt.max_code:
            return fmt.quantize(values), fmt
    raise ValueError(f"{what}: table values up to {peak:g} do not fit {lut_width} bits")


def lut_index(spec: ScoreSpec, logvar_codes: np.ndarray) -> np.ndarray:
    """Table index of each logvar code (floored into the index format, saturated)."""
    assert spec.lut_input_format is not None
    return spec.lut_input_format.requantize(logvar_codes, spec.latent_format.frac) - spec.lut_input_format.min_code


def lut_values(spec: ScoreSpec, logvar: np.ndarray) -> np.ndarray:
    """Table entries (float64) of float64 logvar codes, exactly as :func:`lut_index` indexes them."""
    fmt = spec.lut_input_format
    assert fmt is not None and spec.lut is not None
    lv = np.ldexp(logvar, fmt.frac - spec.latent_format.frac)
    np.floor(lv, out=lv)
    np.clip(lv, fmt.min_code, fmt.max_code, out=lv)
    lv -= fmt.min_code
    return spec.lut.astype(np.float64)[lv.astype(np.intp)]


def hls_mu_square(spec: ScoreSpec) -> str:
    """C++ lines declaring ``mu2`` (ap_uint, the square of the mu code ``mu_v``)."""
    w = spec.latent_format.width
    return f"ap_int<{w}> mu;\nmu.range() = mu_v.range();\nap_uint<{2 * w}> mu2 = mu * mu;\n"


def hls_lookup(spec: ScoreSpec) -> str:
    """C++ lines declaring ``t``: the table entry of ``lv_v`` (floor + saturate, index = code - min_code)."""
    fmt, lut_fmt = spec.lut_input_format, spec.lut_format
    assert fmt is not None and lut_fmt is not None and spec.lut is not None
    base = "ap_fixed" if fmt.signed else "ap_ufixed"
    entries = ", ".join(str(int(v)) for v in spec.lut)
    lines = [
        f"static const ap_uint<{lut_fmt.width}> table[{len(spec.lut)}] = {{{entries}}};",
        f"{base}<{fmt.width}, {fmt.integer}, AP_TRN, AP_SAT> lv = lv_v;  // floor + saturate",
        f"ap_uint<{fmt.width}> index = lv.range();",
    ]
    if fmt.signed:
        lines.append(f"index[{fmt.width - 1}] = !index[{fmt.width - 1}];  // code - min_code")
    lines.append(f"ap_uint<{lut_fmt.width}> t = table[index];")
    return "\n".join(lines) + "\n"
