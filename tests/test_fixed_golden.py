"""The fast golden path (integers carried in float32/float64 BLAS) equals the int64 reference, integer for integer."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from l1ad.fixed import golden, scores
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.golden import golden_forward, golden_score, reference_forward
from l1ad.fixed.model import DenseLayer, FixedPointModel
from l1ad.fixed.scores import make_score

IN_FMT = FixedFormat(16, 6)
ACT_FMT = FixedFormat(8, 3, signed=False)
OUT_FMT = FixedFormat(16, 5)


def random_model(
    seed: int,
    sizes=(57, 32, 16),
    latent=3,
    w_bits=8,
    in_fmt=IN_FMT,
    act=ACT_FMT,
    out=OUT_FMT,
    score="kl",
    rounding="RND_CONV",
    overflow="SAT",
) -> FixedPointModel:
    rng = np.random.default_rng(seed)
    w_fmt, b_fmt = FixedFormat(w_bits, 2), FixedFormat(12, 4)
    layers = []
    dims = list(sizes) + [2 * latent]
    for i, (n_in, n_out) in enumerate(pairwise(dims)):
        last = i == len(dims) - 2
        fmt = out if last else act
        fmt = FixedFormat(fmt.width, fmt.integer, fmt.signed, rounding, overflow)
        layers.append(
            DenseLayer(
                name=f"d{i}",
                weight=rng.integers(w_fmt.min_code, w_fmt.max_code + 1, (n_in, n_out)),
                weight_format=w_fmt,
                bias=rng.integers(b_fmt.min_code, b_fmt.max_code + 1, n_out),
                bias_format=b_fmt,
                activation="linear" if last else "relu",
                output_format=fmt,
            )
        )
    return FixedPointModel(
        name="m",
        input_format=in_fmt,
        layers=layers,
        latent=latent,
        has_logvar=True,
        score=make_score(score, latent, layers[-1].output_format),
    )


def codes_for(model: FixedPointModel, n: int, seed: int = 1) -> np.ndarray:
    fmt = model.input_format
    rng = np.random.default_rng(seed)
    x = rng.integers(fmt.min_code, fmt.max_code + 1, (n, model.n_inputs)) >> rng.integers(0, fmt.width - 1, (n, 1))
    corners = np.array(
        [np.zeros(model.n_inputs), np.full(model.n_inputs, fmt.max_code), np.full(model.n_inputs, fmt.min_code)],
        dtype=np.int64,
    )
    return np.concatenate([corners, x.astype(np.int64)])


def assert_same(model: FixedPointModel, codes: np.ndarray) -> None:
    ref = reference_forward(model, codes)
    fast = golden_forward(model, codes)
    for a, b in zip(ref.layers, fast.layers, strict=True):
        assert a.dtype == b.dtype == np.int64
        assert np.array_equal(a, b)
    assert np.array_equal(ref.score, fast.score)
    assert np.array_equal(golden_score(model, codes, block=257), ref.score)  # blocks of odd size


@pytest.mark.parametrize("score", scores.names())
def test_fast_path_equals_int64_reference_default(score):
    model = random_model(1, score=score)
    plan = golden._plan(model)
    assert [p.dtype for p in plan.layers] == [np.float64, np.float32, np.float32] and plan.score_float
    codes = codes_for(model, 20000)
    assert_same(model, codes)
    out = reference_forward(model, codes).layers[-1]
    assert (out == model.latent_format.max_code).any() and (out == model.latent_format.min_code).any()


@pytest.mark.parametrize("rounding", ["RND", "TRN"])
def test_fast_path_other_rounding_modes(rounding):
    assert_same(random_model(2, rounding=rounding), codes_for(random_model(2, rounding=rounding), 5000))


def test_wrap_runs_in_float_and_wide_formats_take_the_int64_path():
    wrap = random_model(3, overflow="WRAP")
    assert all(p is not None for p in golden._plan(wrap).layers)  # floor-modulo wrap is exact in float
    assert_same(wrap, codes_for(wrap, 3000))
    wide = random_model(
        4,
        w_bits=24,
        in_fmt=FixedFormat(30, 10),
        act=FixedFormat(20, 8, signed=False),
        out=FixedFormat(28, 6),
        score="mu2",
    )
    plan = golden._plan(wide)
    assert plan.layers[0] is None and not plan.score_float  # > 53-bit accumulator, 56-bit mu^2 sums
    assert_same(wide, codes_for(wide, 3000))


@pytest.mark.parametrize("latent,w_bits", [(8, 4), (8, 12), (3, 6)])
def test_fast_path_random_architectures(latent, w_bits):
    model = random_model(latent * w_bits, sizes=(57, 24), latent=latent, w_bits=w_bits, score="kl")
    assert_same(model, codes_for(model, 5000))


def test_golden_rejects_bad_codes():
    model = random_model(5)
    with pytest.raises(TypeError, match="integers"):
        golden_score(model, np.zeros((2, 57)))
    with pytest.raises(ValueError, match="shape"):
        golden_score(model, np.zeros((2, 56), dtype=np.int64))
    with pytest.raises(ValueError, match="outside"):
        golden_score(model, np.full((1, 57), 2**15, dtype=np.int64))
