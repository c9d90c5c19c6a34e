"""``student``: the output of a teacher-student regressor, a small network trained to regress an anomaly score of
a larger (float) model; the trigger score is its output itself (CMS's calorimeter anomaly trigger works so).

Fixed point, for output codes ``y`` in a signed ``latent_format`` of width W (one output; several are summed)::

    S = sum_i (y_i - min_code) = sum_i y_i + latent x 2**(W-1)       (offset binary: the sign bit inverted)

unsigned, with the output's fraction bits: a monotonic, exact map of the output that firmware compares with an
unsigned threshold. The float definition is the output itself, sum_i y_i. A run whose lepton term is exact
(:mod:`l1ad.models.student_score`) adds ``table[n_leptons]`` through the spec's count term
(:mod:`l1ad.fixed.scores.count`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.scores.base import Score, ScoreSpec, TraceOps

__all__ = ["Student"]


class Student(Score):
    name = "student"
    needs_logvar = False
    formula = "the regressor's output y (offset to unsigned: y - min)"
    encoder = "student"

    def float_score(self, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        return np.sum(mu, axis=1)

    def make_spec(self, latent: int, latent_format: FixedFormat, **options: Any) -> ScoreSpec:
        if not latent_format.signed:
            raise ValueError(f"score student: the output format {latent_format.ap_type()} must be signed")
        span = (latent_format.max_code - latent_format.min_code) * latent
        out = FixedFormat.for_range(span, latent_format.frac, signed=False, rounding="TRN", overflow="SAT")
        return ScoreSpec(kind=self.name, latent=latent, latent_format=latent_format, output_format=out)

    def codes(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        self.check_inputs(spec, mu, logvar)
        return (mu - spec.latent_format.min_code).sum(axis=1)

    def codes_float(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        return (mu - float(spec.latent_format.min_code)).sum(axis=1)

    def trace_terms(
        self, spec: ScoreSpec, mu: list[Any], logvar: list[Any] | None, ops: TraceOps
    ) -> tuple[list[Any], float]:
        offset = -spec.latent_format.min_code * spec.latent_format.lsb  # 2**(integer - 1)
        return [v + offset for v in mu], 1.0

    def hls_term(self, spec: ScoreSpec) -> str:
        w = spec.latent_format.width
        return (
            f"ap_uint<{w}> y = mu_v.range();\n"
            f"y[{w - 1}] = !y[{w - 1}];  // y - min_code: the sign bit inverted\n"
            "return accum_t(y);\n"
        )
