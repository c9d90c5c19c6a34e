"""Fixed-point anomaly scores from the encoder's latent codes: their tables and integer definition.

With ``mu`` and ``lv`` (logvar) codes in ``latent_format`` (``f_mu`` fraction bits) and, for kl and rz,
a table ``T`` indexed by the logvar code floored into ``lut_input_format``::

    mu2:  S = sum_i mu_i^2                                              frac 2 f_mu
    kl :  S = sum_i mu_i^2 << (F - 2 f_mu) + sum_i T[lv_i] << (F - f_T)  frac F + 1, F = max(2 f_mu, f_T)
          T[lv] = round(exp(lv) - 1 - lv)       (the 1/2 of KL is a shift of the binary point)
    rz :  S = sum_i mu_i^2 * T[lv_i]                                    frac 2 f_mu + f_T
          T[lv] = round(exp(-lv))              (= 1 / sigma^2)

Float equivalents (``l1ad.models.scores``): kl = 1/2 sum(mu^2 + e^lv - 1 - lv), rz = sum(mu^2 / sigma^2),
mu2 = sum(mu^2). The fixed-point score departs from them only through the quantized mu / logvar, the
flooring of logvar into the table index (``lut_index_bits``), its saturation to the table's range
(``lut_logvar_integer`` integer bits: lv in [-8, 8) by default) and the rounding of the table entries
(``lut_width`` bits); everything after the lookup is exact integer arithmetic, so the output never
rounds or overflows. The table is evaluated at the left edge of each index bin.
"""

from __future__ import annotations

import numpy as np

from l1ad.fixed.model import FixedFormat, ScoreSpec


def _table_function(kind: str):
    if kind == "kl":
        return lambda lv: np.expm1(lv) - lv
    if kind == "rz":
        return lambda lv: np.exp(-lv)
    raise ValueError(f"score {kind!r} has no lookup table")


def lut_input_format_for(latent_format: FixedFormat, lut_index_bits: int, lut_logvar_integer: int) -> FixedFormat:
    """The table index format: logvar floored to at most ``lut_index_bits`` bits, saturated to
    ``lut_logvar_integer`` integer bits (default 4: lv in [-8, 8), i.e. sigma^2 between 3e-4 and 3e3)."""
    integer = min(latent_format.integer, lut_logvar_integer)
    width = min(lut_index_bits, integer + latent_format.frac)
    if width < integer or width < 1:
        raise ValueError(f"lut_index_bits={lut_index_bits} cannot cover {integer} integer bits of logvar")
    return FixedFormat(width=width, integer=integer, signed=latent_format.signed, rounding="TRN", overflow="SAT")


def build_table(kind: str, index_format: FixedFormat, lut_width: int) -> tuple[np.ndarray, FixedFormat]:
    """Integer table over every index code and its (unsigned) format, with as many fraction bits as fit."""
    codes = np.arange(index_format.min_code, index_format.max_code + 1, dtype=np.int64)
    values = _table_function(kind)(index_format.to_float(codes))
    peak = float(values.max())
    for integer in range(-lut_width, 64):
        fmt = FixedFormat(width=lut_width, integer=integer, signed=False, rounding="RND_CONV", overflow="SAT")
        if np.round(np.ldexp(peak, fmt.frac)) <= fmt.max_code:
            return fmt.quantize(values), fmt
    raise ValueError(f"score {kind}: table values up to {peak:g} do not fit {lut_width} bits")


def make_score(
    kind: str,
    latent: int,
    latent_format: FixedFormat,
    lut_index_bits: int = 10,
    lut_width: int = 18,
    lut_logvar_integer: int = 4,
) -> ScoreSpec:
    """Build the score specification (tables and an exact output format) for latent codes in ``latent_format``.

    kl and rz look logvar up in a table of ``2**lut_index_bits`` entries of ``lut_width`` bits; logvar is
    saturated to ``lut_logvar_integer`` integer bits first (default [-8, 8)), which keeps e^lv within the
    table's range with fine resolution. mu is never saturated by the score.
    """
    mu_max = max(abs(latent_format.min_code), latent_format.max_code)
    f_mu = latent_format.frac
    mu2_max = latent * mu_max**2
    out_modes = {"rounding": "TRN", "overflow": "SAT"}
    if kind == "mu2":
        out = FixedFormat.for_range(mu2_max, 2 * f_mu, signed=False, **out_modes)
        return ScoreSpec(kind="mu2", latent=latent, latent_format=latent_format, output_format=out)
    index_format = lut_input_format_for(latent_format, lut_index_bits, lut_logvar_integer)
    table, table_format = build_table(kind, index_format, lut_width)
    t_max = int(table.max())
    f_t = table_format.frac
    if kind == "kl":
        frac = max(2 * f_mu, f_t)
        bound = (mu2_max << (frac - 2 * f_mu)) + ((latent * t_max) << (frac - f_t))
        out = FixedFormat.for_range(bound, frac + 1, signed=False, **out_modes)
    elif kind == "rz":
        out = FixedFormat.for_range(mu2_max * t_max, 2 * f_mu + f_t, signed=False, **out_modes)
    else:
        raise ValueError(f"unknown score kind {kind!r} (expected kl, rz or mu2)")
    return ScoreSpec(
        kind=kind,
        latent=latent,
        latent_format=latent_format,
        output_format=out,
        lut_input_format=index_format,
        lut=table,
        lut_format=table_format,
    )


def lut_index(spec: ScoreSpec, logvar_codes: np.ndarray) -> np.ndarray:
    """Table index of each logvar code (floored into the index format, saturated)."""
    assert spec.lut_input_format is not None
    return spec.lut_input_format.requantize(logvar_codes, spec.latent_format.frac) - spec.lut_input_format.min_code


def score_codes(spec: ScoreSpec, mu_codes: np.ndarray, logvar_codes: np.ndarray | None) -> np.ndarray:
    """The integer score (codes of ``spec.output_format``) of each event; see the module docstring."""
    mu = np.asarray(mu_codes, dtype=np.int64)
    if mu.ndim != 2 or mu.shape[1] != spec.latent:
        raise ValueError(f"mu codes have shape {mu.shape}, expected (N, {spec.latent})")
    mu2 = mu * mu
    if spec.kind == "mu2":
        return mu2.sum(axis=1)
    if logvar_codes is None:
        raise ValueError(f"score {spec.kind} needs logvar codes")
    lv = np.asarray(logvar_codes, dtype=np.int64)
    if lv.shape != mu.shape:
        raise ValueError(f"logvar codes have shape {lv.shape}, expected {mu.shape}")
    assert spec.lut is not None and spec.lut_format is not None
    table_values = spec.lut[lut_index(spec, lv)]
    f_mu, f_t = spec.latent_format.frac, spec.lut_format.frac
    if spec.kind == "kl":
        frac = max(2 * f_mu, f_t)
        return (mu2 << (frac - 2 * f_mu)).sum(axis=1) + (table_values << (frac - f_t)).sum(axis=1)
    return (mu2 * table_values).sum(axis=1)
