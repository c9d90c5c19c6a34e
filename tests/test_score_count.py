"""The exact object-count term of a score (``table[n]`` added, ``n`` counted from the trigger's inputs): golden
model, serialization and the RTL trace agree as integers, and bad terms are refused."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from l1ad.fixed import scores
from l1ad.fixed.golden import golden_forward, golden_score, reference_forward
from l1ad.fixed.model import FixedPointModel
from l1ad.fixed.scores import CountTerm, make_score
from l1ad.fixed.vectors import corner_codes, random_codes
from l1ad.rtl.example import example_model
from l1ad.rtl.trace import trace_model

LEPTON_PT = (3, 6, 9, 12, 15, 18, 21, 24)  # pT inputs of the 4 e/gamma + 4 muon rows (flattened 19 x 3)
EMPTY = (-92, 0, 0, 0, -8, 0, 0, 0)  # an empty slot's code where the input format subtracts an offset


def count_term(table=(0, 1, 40, 200, 700, 900, 1100, 1300, 1500)) -> CountTerm:
    return CountTerm(LEPTON_PT, EMPTY, np.asarray(table), name="leptons")


def student_with_count(seed: int = 3) -> FixedPointModel:
    model = example_model("student", latent=1, seed=seed, variational=False)
    return replace(model, score=make_score("student", 1, model.latent_format, count=count_term()))


def codes_with_objects(model: FixedPointModel, n: int, seed: int) -> np.ndarray:
    """Random codes where each counted slot is empty (its empty code) half of the time."""
    rng = np.random.default_rng(seed)
    codes = random_codes(model, n, seed=seed)
    empty = rng.random((n, len(LEPTON_PT))) < 0.5
    codes[:, list(LEPTON_PT)] = np.where(empty, np.asarray(EMPTY), codes[:, list(LEPTON_PT)])
    return np.concatenate([corner_codes(model), codes])


def test_golden_adds_the_table_of_the_count():
    model = student_with_count()
    plain = replace(model, score=make_score("student", 1, model.latent_format))
    codes = codes_with_objects(model, 3000, seed=5)
    count = (codes[:, list(LEPTON_PT)] != np.asarray(EMPTY)).sum(axis=1)
    assert set(np.unique(count)) == set(range(9))  # every table entry is used
    expected = golden_score(plain, codes) + np.asarray(count_term().table)[count]
    np.testing.assert_array_equal(golden_score(model, codes), expected)
    np.testing.assert_array_equal(reference_forward(model, codes).score, expected)
    assert expected.max() <= model.score.output_format.max_code  # the widened output holds the sum
    assert model.score.output_format.width > plain.score.output_format.width


def test_count_term_survives_save_and_load(tmp_path):
    model = student_with_count()
    model.save(tmp_path / "m")
    loaded = FixedPointModel.load(tmp_path / "m")
    assert loaded.score.count is not None
    assert loaded.score.count.to_dict() == model.score.count.to_dict()
    codes = codes_with_objects(model, 500, seed=2)
    np.testing.assert_array_equal(golden_score(loaded, codes), golden_score(model, codes))


@pytest.mark.parametrize("seed", [3, 4])
def test_rtl_trace_equals_golden(seed):
    model = student_with_count(seed)
    codes = codes_with_objects(model, 2000, seed=seed)
    got = trace_model(model, with_latent=True).emulate(codes)
    golden = golden_forward(model, codes)
    np.testing.assert_array_equal(got[:, 0], golden.score)
    np.testing.assert_array_equal(got[:, 1:], golden.layers[-1])


def test_a_changed_table_entry_reaches_the_rtl():
    model = student_with_count()
    codes = codes_with_objects(model, 400, seed=7)
    before = trace_model(model).emulate(codes)[:, 0]
    changed = count_term()
    changed.table[3] += 5
    model.score = replace(model.score, count=changed)
    after = trace_model(model).emulate(codes)[:, 0]
    three = (codes[:, list(LEPTON_PT)] != np.asarray(EMPTY)).sum(axis=1) == 3
    assert three.any()
    np.testing.assert_array_equal(after - before, np.where(three, 5, 0))


def test_count_term_on_a_vae_score():
    model = example_model("kl", seed=1)
    model = replace(model, score=make_score("kl", model.latent, model.latent_format, count=count_term()))
    codes = codes_with_objects(model, 1000, seed=1)
    np.testing.assert_array_equal(trace_model(model).emulate(codes)[:, 0], golden_forward(model, codes).score)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inputs": (), "empty": (), "table": [0]}, "no inputs"),
        ({"inputs": (1, 1), "empty": (0, 0), "table": [0, 1, 2]}, "distinct"),
        ({"inputs": (1, 2), "empty": (0,), "table": [0, 1, 2]}, "empty codes"),
        ({"inputs": (1, 2), "empty": (0, 0), "table": [0, 1]}, "expected 3"),
        ({"inputs": (1, 2), "empty": (0, 0), "table": [0, -1, 2]}, ">= 0"),
    ],
)
def test_bad_count_terms_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CountTerm(**kwargs)


def test_count_input_outside_the_model_and_missing_codes():
    model = example_model("student", latent=1, variational=False)
    far = CountTerm((57,), (0,), np.array([0, 1]))
    with pytest.raises(ValueError, match="outside the model"):
        replace(model, score=make_score("student", 1, model.latent_format, count=far))
    spec = make_score("student", 1, model.latent_format, count=count_term())
    with pytest.raises(ValueError, match="needs the input codes"):
        scores.score_codes(spec, np.zeros((2, 1), dtype=np.int64), None)


def test_hls4ml_csim_equals_golden_with_a_count_term(tmp_path):
    """The count term in C++ (the score layer's second input is the model input): C-sim == golden == QKeras."""
    from l1ad.fixed.extract import extract_fixed_model, qkeras_reference
    from l1ad.hls.project import create_project
    from l1ad.models.builders import build_quantized_encoder

    encoder = build_quantized_encoder(seed=21, random_biases=True)
    fixed = extract_fixed_model(encoder, score="kl", count=count_term())
    codes = codes_with_objects(fixed, 3000, seed=11)
    golden = golden_forward(fixed, codes)
    out = create_project(encoder, fixed, tmp_path / "hls").csim(codes)
    np.testing.assert_array_equal(out.encoder, golden.layers[-1])
    np.testing.assert_array_equal(out.score, golden.score)
    np.testing.assert_array_equal(qkeras_reference(encoder, fixed, codes), golden.layers[-1])
    plain = golden_score(replace(fixed, score=make_score("kl", fixed.latent, fixed.latent_format)), codes)
    assert (golden.score != plain).mean() > 0.9  # the count term is there, not a no-op
