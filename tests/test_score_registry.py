"""The open set of scores: a new score defined in ONE module (here, this test module) runs through the golden
model, hls4ml C-simulation and the RTL simulation with 0 mismatches, and appears in every command's choices,
without edits anywhere else."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from l1ad import cli
from l1ad.fixed import scores
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.golden import golden_forward, reference_forward
from l1ad.fixed.scores.base import Score, ScoreSpec, TraceOps
from l1ad.fixed.vectors import verification_codes
from l1ad.pipeline.verification import verify_backend
from l1ad.rtl.example import example_model


class AbsMu(Score):
    """Toy score: sum_i |mu_i| (exact: fraction bits of the latent format)."""

    name = "abs_mu"
    needs_logvar = False
    formula = "sum |mu|"

    def float_score(self, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        return np.abs(mu).sum(axis=1)

    def make_spec(self, latent: int, latent_format: FixedFormat, **options: Any) -> ScoreSpec:
        bound = latent * max(abs(latent_format.min_code), latent_format.max_code)
        out = FixedFormat.for_range(bound, latent_format.frac, signed=False, rounding="TRN", overflow="SAT")
        return ScoreSpec(kind=self.name, latent=latent, latent_format=latent_format, output_format=out)

    def codes(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        self.check_inputs(spec, mu, logvar)
        return np.abs(mu).sum(axis=1)

    def trace_terms(
        self, spec: ScoreSpec, mu: list[Any], logvar: list[Any] | None, ops: TraceOps
    ) -> tuple[list[Any], float]:
        return [abs(v) for v in mu], 1.0

    def hls_term(self, spec: ScoreSpec) -> str:
        w = spec.latent_format.width
        return (
            f"ap_int<{w}> mu;\nmu.range() = mu_v.range();\n"
            f"return accum_t(mu < 0 ? ap_int<{w + 1}>(-mu) : ap_int<{w + 1}>(mu));\n"
        )


@pytest.fixture(scope="module")
def toy():
    scores.register(AbsMu())
    yield scores.get("abs_mu")
    scores.unregister("abs_mu")


@pytest.fixture(scope="module")
def model(toy):
    return example_model("abs_mu", sizes=(57, 8), sparsity=0.5, seed=4, name="toy-abs")


@pytest.fixture(scope="module")
def codes(model):
    return verification_codes(model, 600, seed=9)


def test_registry_knows_the_builtin_scores_and_refuses_duplicates():
    assert {"mu2", "kl", "rz"} <= set(scores.names())
    assert scores.names(variational=False) == tuple(n for n in scores.names() if not scores.get(n).needs_logvar)
    with pytest.raises(ValueError, match="already registered"):
        scores.register(scores.get("kl"))
    with pytest.raises(ValueError, match="unknown score 'nope'"):
        scores.get("nope")


def test_toy_score_golden_equals_its_float_definition(model, codes, toy):
    out = golden_forward(model, codes)
    expected = model.latent_format.to_float(out.mu)
    np.testing.assert_array_equal(model.score.output_format.to_float(out.score), toy.float_score(expected, None))
    np.testing.assert_array_equal(reference_forward(model, codes).score, out.score)


def test_toy_score_hls_csim_equals_golden(model, codes, tmp_path):
    stage = verify_backend("hls4ml", model, codes, tmp_path / "hls")
    assert stage["ok"], stage
    assert stage["score"]["mismatched_values"] == 0 and stage["score"]["vectors"] == len(codes)
    assert stage["encoder"]["mismatched_values"] == 0


def test_toy_score_rtl_equals_golden(model, codes, tmp_path):
    stage = verify_backend("rtl", model, codes, tmp_path / "rtl")
    assert stage["ok"], stage
    assert stage["score"]["mismatched_values"] == 0 and stage["trigger"]["mismatched_values"] == 0
    assert all(stage["checks"].values())


def test_toy_score_is_a_command_line_choice(toy, capsys):
    with pytest.raises(SystemExit):
        cli.main(["rtl", "--help"])
    assert "abs_mu" in capsys.readouterr().out
