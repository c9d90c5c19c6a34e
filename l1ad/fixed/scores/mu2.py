"""``mu2``: the sum of squared latent means, sum_i mu_i^2 (AXOL1TL's score; the only one an AE encoder has).

Fixed point: ``S = sum_i mu_i^2`` on the mu codes, exact (fraction bits ``2 f_mu``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.scores.base import Score, ScoreSpec, TraceOps
from l1ad.fixed.scores.tables import hls_mu_square

__all__ = ["Mu2"]


def max_square_sum(latent: int, latent_format: FixedFormat) -> int:
    """Largest sum_i mu_i^2 over ``latent`` codes of ``latent_format``."""
    mu_max = max(abs(latent_format.min_code), latent_format.max_code)
    return latent * mu_max**2


class Mu2(Score):
    name = "mu2"
    needs_logvar = False
    formula = "sum mu^2"

    def float_score(self, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        return np.sum(np.square(mu), axis=1)

    def make_spec(self, latent: int, latent_format: FixedFormat, **options: Any) -> ScoreSpec:
        out = FixedFormat.for_range(
            max_square_sum(latent, latent_format), 2 * latent_format.frac, signed=False, rounding="TRN", overflow="SAT"
        )
        return ScoreSpec(kind=self.name, latent=latent, latent_format=latent_format, output_format=out)

    def codes(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        self.check_inputs(spec, mu, logvar)
        return (mu * mu).sum(axis=1)

    def codes_float(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        return np.einsum("ij,ij->i", mu, mu)

    def trace_terms(
        self, spec: ScoreSpec, mu: list[Any], logvar: list[Any] | None, ops: TraceOps
    ) -> tuple[list[Any], float]:
        return [ops.product(v, v) for v in mu], 1.0

    def hls_term(self, spec: ScoreSpec) -> str:
        return hls_mu_square(spec) + "return accum_t(mu2);\n"
