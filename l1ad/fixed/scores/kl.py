"""``kl``: the KL divergence of the latent Gaussian to the prior, 1/2 sum_i (mu_i^2 + e^lv_i - 1 - lv_i).

Fixed point, with a table ``T(lv) = e^lv - 1 - lv`` on the floored logvar code (:mod:`.tables`)::

    S = sum_i mu_i^2 << (F - 2 f_mu) + sum_i T[lv_i] << (F - f_T)     F = max(2 f_mu, f_T), fraction bits F + 1

(the 1/2 is one more fraction bit of the output format). Everything after the lookup is exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.scores.base import Score, ScoreSpec, TraceOps
from l1ad.fixed.scores.mu2 import max_square_sum
from l1ad.fixed.scores.tables import build_table, hls_lookup, hls_mu_square, lut_index, lut_input_format_for, lut_values

__all__ = ["KL", "table_spec", "shifts"]


def shifts(latent_format: FixedFormat, table_format: FixedFormat) -> tuple[int, int]:
    """(mu^2 shift, table shift) onto the common fraction F = max(2 f_mu, f_T)."""
    f_mu, f_t = latent_format.frac, table_format.frac
    frac = max(2 * f_mu, f_t)
    return frac - 2 * f_mu, frac - f_t


def table_spec(
    kind: str,
    function: Any,
    latent_format: FixedFormat,
    lut_index_bits: int = 10,
    lut_width: int = 18,
    lut_logvar_integer: int = 4,
) -> tuple[FixedFormat, np.ndarray, FixedFormat]:
    """(index format, integer table, table format) of a function of logvar (see :mod:`.tables`)."""
    index_format = lut_input_format_for(latent_format, lut_index_bits, lut_logvar_integer)
    table, table_format = build_table(function, index_format, lut_width, f"score {kind}")
    return index_format, table, table_format


class KL(Score):
    name = "kl"
    needs_logvar = True
    formula = "1/2 sum (mu^2 + e^lv - 1 - lv)"

    def float_score(self, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        assert logvar is not None
        return 0.5 * np.sum(mu**2 + np.exp(logvar) - 1.0 - logvar, axis=1)

    def make_spec(self, latent: int, latent_format: FixedFormat, **options: Any) -> ScoreSpec:
        index_format, table, table_format = table_spec(
            self.name, lambda lv: np.expm1(lv) - lv, latent_format, **options
        )
        mu2_shift, table_shift = shifts(latent_format, table_format)
        frac = 2 * latent_format.frac + mu2_shift
        bound = (max_square_sum(latent, latent_format) << mu2_shift) + ((latent * int(table.max())) << table_shift)
        out = FixedFormat.for_range(bound, frac + 1, signed=False, rounding="TRN", overflow="SAT")
        return ScoreSpec(
            kind=self.name,
            latent=latent,
            latent_format=latent_format,
            output_format=out,
            lut_input_format=index_format,
            lut=table,
            lut_format=table_format,
        )

    def codes(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        lv = self.check_inputs(spec, mu, logvar)
        assert lv is not None  # needs_logvar: check_inputs returns the codes or raises
        assert spec.lut is not None and spec.lut_format is not None
        mu2_shift, table_shift = shifts(spec.latent_format, spec.lut_format)
        t = spec.lut[lut_index(spec, lv)]
        return ((mu * mu) << mu2_shift).sum(axis=1) + (t << table_shift).sum(axis=1)

    def codes_float(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        assert logvar is not None and spec.lut_format is not None
        mu2_shift, table_shift = shifts(spec.latent_format, spec.lut_format)
        s = np.ldexp(lut_values(spec, logvar), table_shift).sum(axis=1)
        s += np.ldexp(np.einsum("ij,ij->i", mu, mu), mu2_shift)
        return s

    def trace_terms(
        self, spec: ScoreSpec, mu: list[Any], logvar: list[Any] | None, ops: TraceOps
    ) -> tuple[list[Any], float]:
        assert logvar is not None
        return [ops.product(v, v) for v in mu] + ops.lookup(spec, logvar), 0.5

    def hls_term(self, spec: ScoreSpec) -> str:
        assert spec.lut_format is not None
        mu2_shift, table_shift = shifts(spec.latent_format, spec.lut_format)
        return (
            hls_mu_square(spec)
            + hls_lookup(spec)
            + f"return (accum_t(mu2) << {mu2_shift}) + (accum_t(t) << {table_shift});\n"
        )
