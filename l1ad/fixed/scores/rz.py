"""``rz``: the latent z-score, sum_i mu_i^2 / sigma_i^2 = sum_i mu_i^2 e^-lv_i.

Fixed point, with a table ``T(lv) = e^-lv`` on the floored logvar code (:mod:`.tables`)::

    S = sum_i mu_i^2 * T[lv_i]            fraction bits 2 f_mu + f_T, exact after the lookup
"""

from __future__ import annotations

from typing import Any

import numpy as np

from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.scores.base import Score, ScoreSpec, TraceOps
from l1ad.fixed.scores.kl import table_spec
from l1ad.fixed.scores.mu2 import max_square_sum
from l1ad.fixed.scores.tables import hls_lookup, hls_mu_square, lut_index, lut_values

__all__ = ["Rz"]


class Rz(Score):
    name = "rz"
    needs_logvar = True
    formula = "sum mu^2 e^-lv"

    def float_score(self, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        assert logvar is not None
        return np.sum(mu**2 * np.exp(-logvar), axis=1)

    def make_spec(self, latent: int, latent_format: FixedFormat, **options: Any) -> ScoreSpec:
        index_format, table, table_format = table_spec(self.name, lambda lv: np.exp(-lv), latent_format, **options)
        bound = max_square_sum(latent, latent_format) * int(table.max())
        out = FixedFormat.for_range(
            bound, 2 * latent_format.frac + table_format.frac, signed=False, rounding="TRN", overflow="SAT"
        )
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
        assert spec.lut is not None
        return (mu * mu * spec.lut[lut_index(spec, lv)]).sum(axis=1)

    def codes_float(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        assert logvar is not None
        return np.einsum("ij,ij,ij->i", mu, mu, lut_values(spec, logvar))

    def trace_terms(
        self, spec: ScoreSpec, mu: list[Any], logvar: list[Any] | None, ops: TraceOps
    ) -> tuple[list[Any], float]:
        assert logvar is not None
        table = ops.lookup(spec, logvar)
        return [ops.product(ops.product(v, v), t) for v, t in zip(mu, table, strict=True)], 1.0

    def hls_term(self, spec: ScoreSpec) -> str:
        return hls_mu_square(spec) + hls_lookup(spec) + "return accum_t(mu2 * t);\n"
