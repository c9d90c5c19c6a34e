"""Declared types in the FixedPointModel (accumulators, result types, activation layers, input scaling, a typed
score): the int64 reference, the float fast path and an independent scalar reference agree; models round-trip
through model.json; plain models are written exactly as before."""

from __future__ import annotations

import json

import numpy as np
import pytest
from declared_models import awkward_model, scalar_reference

from l1ad.fixed import golden
from l1ad.fixed.formats import FixedFormat, parse_ap_type
from l1ad.fixed.golden import golden_forward, golden_score, reference_forward
from l1ad.fixed.model import ActivationLayer, DenseLayer, FixedPointModel
from l1ad.fixed.scaling import InputScaling
from l1ad.fixed.vectors import corner_codes, random_codes


def test_parse_ap_type_defaults_modes_and_refusals():
    assert parse_ap_type("ap_fixed<16,6>") == FixedFormat(16, 6, True, "TRN", "WRAP")
    assert parse_ap_type(" ap_ufixed<18, 14, AP_RND_CONV, AP_SAT, 0> ") == FixedFormat(18, 14, False, "RND_CONV", "SAT")
    assert parse_ap_type("ap_int<8>") == FixedFormat(8, 8, True, "TRN", "WRAP")
    assert parse_ap_type("ap_uint<3>") == FixedFormat(3, 3, False, "TRN", "WRAP")
    with pytest.raises(ValueError) as err:
        parse_ap_type("ap_fixed<10,6,AP_RND_ZERO,AP_SAT_SYM,2>")
    assert all(word in str(err.value) for word in ("AP_RND_ZERO", "AP_SAT_SYM", "N=2"))  # every problem at once
    for bad in ("float", "ap_fixed<16>", "ap_fixed<x,1>", "ap_fixed<70,3>"):
        with pytest.raises(ValueError):
            parse_ap_type(bad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_requantize_float_equals_integer_requantize(dtype):
    codes = np.arange(-3000, 3001)
    for rounding in ("TRN", "RND", "RND_CONV"):
        for overflow in ("SAT", "WRAP"):
            for fmt in (FixedFormat(6, 3, True, rounding, overflow), FixedFormat(7, 2, False, rounding, overflow)):
                for frac_in in (-2, 0, 3, 7):
                    got = fmt.requantize_float(codes.astype(dtype), frac_in)
                    assert got.dtype == dtype
                    np.testing.assert_array_equal(got.astype(np.int64), fmt.requantize(codes, frac_in))


def test_input_scaling_shifts_in_the_raw_type():
    raw = parse_ap_type("ap_fixed<8,8>")  # integers -128..127, wrapping
    stage = InputScaling(raw, np.array([0, 100, 0, 0]), np.array([1, 0, -2, 3]))
    out = parse_ap_type("ap_fixed<6,6,AP_RND_CONV,AP_SAT>")
    x = np.array([[-3, -100, 40, 7]])
    # -3 >> 1 = -2 (floor); -100 - 100 wraps to 56; 40 << 2 = 160 wraps to -96 then saturates to -32; 7 >> 3 = 0
    assert stage.scaled_raw(x).tolist() == [[-2, 56, -96, 0]]
    assert stage.apply(x, out).tolist() == [[-2, 31, -32, 0]]
    with pytest.raises(ValueError, match="shift"):
        InputScaling(raw, np.zeros(2, dtype=np.int64), np.array([0, 8]))
    with pytest.raises(ValueError, match="offsets outside"):
        InputScaling(raw, np.array([0, 200]), np.zeros(2, dtype=np.int64))


def awkward_codes(model: FixedPointModel, n: int, seed: int = 3) -> np.ndarray:
    return np.concatenate([corner_codes(model), random_codes(model, n, seed)])


@pytest.mark.parametrize("seed", [0, 1])
def test_awkward_model_reference_fast_path_and_scalar_reference_agree(seed):
    model = awkward_model(seed)
    codes = awkward_codes(model, 4000, seed)
    ref, fast = reference_forward(model, codes), golden_forward(model, codes)
    for a, b in zip(ref.layers, fast.layers, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ref.score, fast.score)
    np.testing.assert_array_equal(golden_score(model, codes, block=333), ref.score)
    # the types bite: the truncating accumulator, wrapping result type and saturating score all act
    plan = golden._plan(model)
    assert plan.layers[0] is None and plan.layers[2] is not None and plan.layers[3] is None
    assert (ref.layers[-1] == model.latent_format.max_code).any()
    assert len(np.unique(ref.score)) > 500
    rows = np.r_[0:12, len(codes) - 40 : len(codes)]
    for row in rows:
        latent, score = scalar_reference(model, codes[row].tolist())
        assert latent == ref.layers[-1][row].tolist() and score == ref.score[row], row


def test_typed_score_wraps_and_saturates_partial_sums():
    model = awkward_model(2, n_in=6, hidden=(5, 4), latent=3, scaling=False, score_type="ap_ufixed<6,3>")
    codes = awkward_codes(model, 3000)
    out = reference_forward(model, codes)
    exact = (out.mu * out.mu).sum(axis=1) >> (2 * model.latent_format.frac - 3)
    assert (out.score != exact).any()  # the 6-bit type wraps
    np.testing.assert_array_equal(golden_forward(model, codes).score, out.score)
    sat = model.with_score("mu2", score_type="ap_ufixed<6,3,AP_TRN,AP_SAT>")
    assert golden_score(sat, codes).max() == 63
    for row in range(0, len(codes), 97):
        for m in (model, sat):
            assert scalar_reference(m, codes[row].tolist())[1] == golden_score(m, codes[row : row + 1])[0]
    with pytest.raises(ValueError, match="unsigned"):
        model.with_score("mu2", score_type="ap_fixed<18,14>")


def test_declared_accumulator_that_cannot_change_the_sum_is_exact():
    model = awkward_model(4, scaling=False, score_type=None)
    dense = model.layers[0]
    assert isinstance(dense, DenseLayer)
    wide = DenseLayer(
        dense.name,
        dense.weight,
        dense.weight_format,
        dense.bias,
        dense.bias_format,
        "relu",
        dense.output_format,
        accum_format=parse_ap_type("ap_fixed<40,20>"),
    )
    assert wide.accumulates_exactly(model.input_format)
    exact = DenseLayer(
        dense.name, dense.weight, dense.weight_format, dense.bias, dense.bias_format, "relu", dense.output_format
    )
    x = random_codes(model, 2000)
    np.testing.assert_array_equal(
        golden.dense_forward(wide, x, model.input_format), golden.dense_forward(exact, x, model.input_format)
    )


def test_awkward_model_round_trips_and_plain_models_keep_format_1(tmp_path):
    model = awkward_model(5)
    model.save(tmp_path / "m")
    back = FixedPointModel.load(tmp_path / "m")
    assert back.to_json_dict() == model.to_json_dict()
    assert isinstance(back.layers[1], ActivationLayer) and back.input_scaling is not None
    np.testing.assert_array_equal(back.input_scaling.shift, model.input_scaling.shift)
    codes = awkward_codes(model, 500)
    np.testing.assert_array_equal(golden_score(back, codes), golden_score(model, codes))
    assert json.loads((tmp_path / "m" / "model.json").read_text())["format_version"] == 2

    plain = awkward_model(5, scaling=False, score_type=None)
    plain.layers = [layer for layer in plain.layers if isinstance(layer, DenseLayer)]
    for layer in plain.layers:
        layer.accum_format = layer.result_format = None
    plain.layers[1].weight = plain.layers[1].weight[: plain.layers[0].n_out]
    plain.__post_init__()
    d = plain.to_json_dict()
    assert d["format_version"] == 1 and "input_scaling" not in d
    assert all(
        set(layer) == {"name", "n_in", "n_out", "activation", "weight_format", "bias_format", "output_format"}
        for layer in d["layers"]
    )


def test_raw_codes_are_checked_against_the_raw_type():
    model = awkward_model(6, n_in=4, hidden=(3, 3), latent=2)
    raw = model.raw_format
    with pytest.raises(ValueError, match="raw input codes outside"):
        golden_score(model, np.full((1, 4), raw.max_code + 1))
    golden_score(model, np.full((1, 4), raw.max_code))  # the raw range, not the (narrower) input type's
    assert raw.max_code > model.input_format.max_code
