"""``mu2``: the sum of squared latent means, sum_i mu_i^2 (AXOL1TL's score; the only one an AE encoder has).

Fixed point, exact by default: ``S = sum_i mu_i^2`` on the mu codes (fraction bits ``2 f_mu``), in a format that
never overflows. With the option ``score_type`` (a declared unsigned type, e.g. ``ap_ufixed<18,14>``, as a deployed
emulator holds its score) each square and every partial sum are cast to that type, as C++ does it::

    S = T(mu_0^2);  for i in 1..latent-1:  S = T(S + T(mu_i^2))        T(): the type's rounding and overflow

(truncating and wrapping for ``AP_TRN, AP_WRAP``; a saturating type saturates each partial sum in order).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from l1ad.fixed.formats import FixedFormat, parse_ap_type
from l1ad.fixed.scores.base import Score, ScoreSpec, TraceOps
from l1ad.fixed.scores.tables import hls_mu_square

__all__ = ["Mu2", "max_square_sum", "declared_score_type"]


def max_square_sum(latent: int, latent_format: FixedFormat) -> int:
    """Largest sum_i mu_i^2 over ``latent`` codes of ``latent_format``."""
    mu_max = max(abs(latent_format.min_code), latent_format.max_code)
    return latent * mu_max**2


def declared_score_type(score_type: FixedFormat | str) -> FixedFormat:
    """A declared score type (a FixedFormat or a C++ type such as ``ap_ufixed<18,14>``); it must be unsigned."""
    fmt = parse_ap_type(score_type) if isinstance(score_type, str) else score_type
    if fmt.signed:
        raise ValueError(f"score type {fmt.ap_type()}: the score must be held in an unsigned type (ap_ufixed)")
    return fmt


def _typed(spec: ScoreSpec) -> bool:
    return bool(spec.params.get("typed", 0))


class Mu2(Score):
    name = "mu2"
    needs_logvar = False
    formula = "sum mu^2"

    def float_score(self, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        return np.sum(np.square(mu), axis=1)

    def make_spec(
        self, latent: int, latent_format: FixedFormat, score_type: FixedFormat | str | None = None, **options: Any
    ) -> ScoreSpec:
        if score_type is not None:
            out = declared_score_type(score_type)
            return ScoreSpec(
                kind=self.name, latent=latent, latent_format=latent_format, output_format=out, params={"typed": 1}
            )
        out = FixedFormat.for_range(
            max_square_sum(latent, latent_format), 2 * latent_format.frac, signed=False, rounding="TRN", overflow="SAT"
        )
        return ScoreSpec(kind=self.name, latent=latent, latent_format=latent_format, output_format=out)

    def codes(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        self.check_inputs(spec, mu, logvar)
        if not _typed(spec):
            return (mu * mu).sum(axis=1)
        fmt = spec.output_format
        squares = fmt.requantize(mu * mu, 2 * spec.latent_format.frac)
        if fmt.overflow == "WRAP":  # wrapping every partial sum = wrapping the sum
            return fmt.wrap(squares.sum(axis=1))
        total = squares[:, 0]
        for i in range(1, spec.latent):
            total = fmt.overflow_codes(total + squares[:, i])
        return total

    def codes_float(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray | None:
        if not _typed(spec):
            return np.einsum("ij,ij->i", mu, mu)
        fmt = spec.output_format
        if fmt.overflow != "WRAP" or spec.latent * (1 << fmt.width) >= 2**53:
            return None
        squares = fmt.requantize_float(mu * mu, 2 * spec.latent_format.frac)
        return fmt.requantize_float(squares.sum(axis=1), fmt.frac)

    def trace_terms(
        self, spec: ScoreSpec, mu: list[Any], logvar: list[Any] | None, ops: TraceOps
    ) -> tuple[list[Any], float]:
        squares = [ops.product(v, v) for v in mu]
        if not _typed(spec):
            return squares, 1.0
        fmt, f_sq = spec.output_format, 2 * spec.latent_format.frac
        cast = [ops.cast(s, f_sq, fmt) for s in squares]
        if fmt.overflow == "WRAP":
            total = cast[0]
            for term in cast[1:]:
                total = total + term
            return [ops.cast(total, fmt.frac, fmt)], 1.0
        total = cast[0]
        for term in cast[1:]:
            total = ops.cast(total + term, fmt.frac, fmt)
        return [total], 1.0

    def hls_accum_type(self, spec: ScoreSpec) -> str:
        return spec.output_format.ap_type() if _typed(spec) else super().hls_accum_type(spec)

    def hls_term(self, spec: ScoreSpec) -> str:
        if _typed(spec):
            return "return accum_t(mu_v * mu_v);  // the square cast to the declared score type\n"
        return hls_mu_square(spec) + "return accum_t(mu2);\n"
