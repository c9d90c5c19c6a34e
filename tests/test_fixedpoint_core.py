"""The fixed-point hinge: formats, requantization, score tables, golden model, serialization.

References are computed independently with Python's exact ``Fraction`` arithmetic and ``math.exp``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from l1ad.fixed import scores
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.golden import golden_forward, golden_score
from l1ad.fixed.model import DenseLayer, FixedPointModel
from l1ad.fixed.scores import make_score, score_codes


def ref_round(value: Fraction, mode: str) -> int:
    if mode == "TRN":
        return math.floor(value)
    if mode == "RND":
        return math.floor(value + Fraction(1, 2))
    return round(value)  # Fraction rounds half to even


@pytest.mark.parametrize("mode", ["RND_CONV", "RND", "TRN"])
@pytest.mark.parametrize("overflow", ["SAT", "WRAP"])
def test_requantize_matches_exact_rational_reference(mode, overflow):
    fmt = FixedFormat(width=6, integer=3, signed=True, rounding=mode, overflow=overflow)
    codes = np.arange(-700, 701)
    frac_in = 6
    got = fmt.requantize(codes, frac_in)
    for c, g in zip(codes.tolist(), got.tolist(), strict=True):
        r = ref_round(Fraction(c, 2**frac_in) * 2**fmt.frac, mode)
        if overflow == "SAT":
            r = min(max(r, -32), 31)
        else:
            r = ((r + 32) % 64) - 32
        assert g == r, (c, g, r)


def test_requantize_unsigned_and_upscale():
    fmt = FixedFormat(width=8, integer=3, signed=False)
    assert fmt.requantize(np.array([-5, 3, 10_000]), 2).tolist() == [0, 24, 255]
    assert (fmt.min_code, fmt.max_code, fmt.frac) == (0, 255, 5)


def test_quantize_half_to_even_and_errors():
    fmt = FixedFormat(width=8, integer=4)  # lsb 1/16
    x = np.array([0.5 / 16, 1.5 / 16, 2.5 / 16, -0.5 / 16, 100.0, -100.0])
    assert fmt.quantize(x).tolist() == [0, 2, 2, 0, 127, -128]
    np.testing.assert_array_equal(fmt.to_float(fmt.quantize(x[:4])), [0, 2 / 16, 2 / 16, 0])
    with pytest.raises(ValueError, match="NaN"):
        fmt.quantize([np.nan])
    with pytest.raises(TypeError, match="integer codes"):
        fmt.requantize(np.array([1.0]), 3)
    with pytest.raises(ValueError, match="rounding"):
        FixedFormat(8, 3, rounding="FLOOR")
    assert fmt.ap_type() == "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"
    assert FixedFormat(8, 3, signed=False, rounding="TRN", overflow="WRAP").ap_type() == "ap_ufixed<8,3,AP_TRN,AP_WRAP>"


RANDOM_MODEL_IN_FMT = FixedFormat(10, 5)


def random_model(rng, score="mu2", hidden=(12, 7), latent=2, n_in=9, in_fmt=RANDOM_MODEL_IN_FMT):
    w = FixedFormat(6, 1)
    b = FixedFormat(8, 3)
    layers, n = [], n_in
    for i, h in enumerate(hidden):
        layers.append(
            DenseLayer(
                f"d{i}",
                rng.integers(-32, 32, (n, h)),
                w,
                rng.integers(-128, 128, h),
                b,
                "relu",
                FixedFormat(8, 3, signed=False),
            )
        )
        n = h
    out = FixedFormat(9, 4)
    layers.append(
        DenseLayer(
            "out", rng.integers(-32, 32, (n, 2 * latent)), w, rng.integers(-128, 128, 2 * latent), b, "linear", out
        )
    )
    return FixedPointModel("rand", in_fmt, layers, latent, True, make_score(score, latent, out))


def reference_forward(model: FixedPointModel, x_codes: list[int]) -> list[int]:
    """Per-event exact rational evaluation of the layers (independent of golden.py)."""
    fmt = model.input_format
    values = [Fraction(c, 2**fmt.frac) for c in x_codes]
    for layer in model.layers:
        out_fmt = layer.output_format
        codes = []
        for j in range(layer.n_out):
            acc = sum(v * Fraction(int(layer.weight[i, j]), 2**layer.weight_format.frac) for i, v in enumerate(values))
            acc += Fraction(int(layer.bias[j]), 2**layer.bias_format.frac)
            if layer.activation == "relu":
                acc = max(acc, Fraction(0))
            c = ref_round(acc * 2**out_fmt.frac, out_fmt.rounding)
            codes.append(min(max(c, out_fmt.min_code), out_fmt.max_code))
        values = [Fraction(c, 2**out_fmt.frac) for c in codes]
    return codes


def test_golden_layers_equal_exact_reference():
    rng = np.random.default_rng(7)
    model = random_model(rng)
    fmt = model.input_format
    x = rng.integers(fmt.min_code, fmt.max_code + 1, (200, model.n_inputs))
    x[0] = 0
    x[1] = fmt.max_code
    x[2] = fmt.min_code
    out = golden_forward(model, x)
    for event in range(len(x)):
        assert out.layers[-1][event].tolist() == reference_forward(model, x[event].tolist())
    np.testing.assert_array_equal(out.mu, out.layers[-1][:, :2])
    np.testing.assert_array_equal(out.logvar, out.layers[-1][:, 2:])


def test_accumulator_format_is_exact_bound():
    rng = np.random.default_rng(3)
    model = random_model(rng)
    layer, fmt = model.layers[0], model.input_format
    acc_fmt = layer.accumulator_format(fmt)
    worst = int(np.abs(layer.weight).sum(axis=0).max()) * 2 ** (fmt.width - 1)  # |x| <= 2^(w-1)
    shift = acc_fmt.frac - fmt.frac - layer.weight_format.frac
    assert acc_fmt.frac == max(fmt.frac + layer.weight_format.frac, layer.bias_format.frac)
    assert acc_fmt.max_code >= (worst << shift)


def test_scores_on_hand_computed_codes():
    latent_fmt = FixedFormat(width=6, integer=3)  # codes -32..31, lsb 1/8, logvar in [-4, 3.875]
    mu = np.array([[8, -16], [0, 0], [31, -32]])  # 1.0, -2.0 / 0, 0 / 3.875, -4
    lv = np.array([[0, 8], [-32, 31], [-8, 4]])  # 0, 1.0 / -4, 3.875 / -1, 0.5
    mu2 = make_score("mu2", 2, latent_fmt)
    got = mu2.output_format.to_float(score_codes(mu2, mu, lv))
    np.testing.assert_array_equal(got, [5.0, 0.0, 3.875**2 + 16])

    for kind, fn in (("kl", lambda m, s: m * m + math.expm1(s) - s), ("rz", lambda m, s: m * m * math.exp(-s))):
        spec = make_score(kind, 2, latent_fmt, lut_index_bits=10, lut_width=20)
        f_t = spec.lut_format.frac
        got = spec.output_format.to_float(score_codes(spec, mu, lv))
        for e in range(3):
            if kind == "kl":  # table holds round(expm1(lv) - lv); mu^2 exact; factor 1/2
                expected = (
                    sum(
                        Fraction(int(mu[e, i]) ** 2, 64)
                        + Fraction(round(math.ldexp(math.expm1(lv[e, i] / 8) - lv[e, i] / 8, f_t)), 2**f_t)
                        for i in range(2)
                    )
                    / 2
                )
            else:
                expected = sum(
                    Fraction(int(mu[e, i]) ** 2, 64) * Fraction(round(math.ldexp(math.exp(-lv[e, i] / 8), f_t)), 2**f_t)
                    for i in range(2)
                )
            assert got[e] == float(expected)
            exact_float = sum(fn(mu[e, i] / 8, lv[e, i] / 8) for i in range(2)) * (0.5 if kind == "kl" else 1)
            assert abs(got[e] - exact_float) <= 2 * 2.0**-f_t * (1 + float(np.sum(mu[e] ** 2)) / 64)


def test_lut_index_floors_fine_logvar_codes():
    latent_fmt = FixedFormat(width=14, integer=4)  # 10 fraction bits; index format keeps 6
    spec = make_score("rz", 1, latent_fmt, lut_index_bits=10)
    assert spec.lut_input_format.frac == 6
    lv = np.array([[5], [15], [16], [-1]])  # 5/1024 and 15/1024 floor to 0 ; 16/1024 = 1/64 ; -1/1024 -> -1/64
    mu = np.ones_like(lv) * 1024
    s = score_codes(spec, mu, lv)
    assert s[0] == s[1] == (1 << 20) * spec.lut[-spec.lut_input_format.min_code]
    assert s[2] == (1 << 20) * spec.lut[1 - spec.lut_input_format.min_code]
    assert s[3] == (1 << 20) * spec.lut[-1 - spec.lut_input_format.min_code]


@pytest.mark.parametrize("kind", scores.names())
def test_score_output_format_never_overflows(kind):
    latent_fmt = FixedFormat(width=12, integer=4)
    spec = make_score(kind, 8, latent_fmt)
    extreme = np.array([[latent_fmt.min_code] * 8, [latent_fmt.max_code] * 8])
    for lv in (extreme, extreme[::-1]):
        s = score_codes(spec, extreme, lv)
        assert (s >= 0).all() and (s <= spec.output_format.max_code).all()


@pytest.mark.parametrize("kind", scores.names())
def test_save_load_round_trip(tmp_path, kind):
    rng = np.random.default_rng(11)
    model = random_model(rng, score=kind)
    model.metadata["source"] = "unit test"
    model.save(tmp_path / kind)
    loaded = FixedPointModel.load(tmp_path / kind)
    assert loaded.to_json_dict() == model.to_json_dict()
    x = rng.integers(-512, 512, (300, model.n_inputs))
    np.testing.assert_array_equal(golden_score(loaded, x), golden_score(model, x))
    assert loaded.with_score("mu2").score.kind == "mu2"


def test_golden_rejects_bad_inputs(tmp_path):
    model = random_model(np.random.default_rng(0))
    with pytest.raises(TypeError, match="integers"):
        golden_forward(model, np.zeros((2, 9)))
    with pytest.raises(ValueError, match="shape"):
        golden_forward(model, np.zeros((2, 8), dtype=np.int64))
    with pytest.raises(ValueError, match="outside"):
        golden_forward(model, np.full((2, 9), 512, dtype=np.int64))
    with pytest.raises(FileNotFoundError, match="model.json"):
        FixedPointModel.load(tmp_path)


def test_model_structure_checks():
    rng = np.random.default_rng(0)
    model = random_model(rng)
    with pytest.raises(ValueError, match="needs logvar"):
        FixedPointModel("ae", model.input_format, model.layers, 4, False, make_score("kl", 4, model.latent_format))
    with pytest.raises(ValueError, match="outside"):
        DenseLayer(
            "bad", np.array([[40]]), FixedFormat(6, 1), np.array([0]), FixedFormat(6, 1), "relu", FixedFormat(8, 3)
        )


def test_lut_saturates_logvar_to_table_range():
    latent_fmt = FixedFormat(width=16, integer=5)  # lv in [-16, 16), 11 fraction bits
    spec = make_score("rz", 1, latent_fmt)
    idx_fmt = spec.lut_input_format
    assert (idx_fmt.integer, idx_fmt.width, idx_fmt.frac) == (4, 10, 6)  # lv saturated to [-8, 8), lsb 1/64
    assert spec.lut_format.frac >= 5  # e^8 ~ 2981 fits 18 bits with >= 5 fraction bits: rz is not zeroed
    mu = np.full((3, 1), 1 << 11)  # mu = 1
    lv = np.array([[10 << 11], [8 << 11], [-12 << 11]])  # 10 and 8 saturate to 8 - 1/64; -12 to -8
    s = score_codes(spec, mu, lv)
    assert s[0] == s[1] == (1 << 22) * spec.lut[-1]
    assert s[2] == (1 << 22) * spec.lut[0]
    expected_low = round(math.ldexp(math.exp(-(8 - 1 / 64)), spec.lut_format.frac))
    assert spec.lut[-1] == expected_low
    # typical logvar near 0 keeps its resolution: e^-lv for lv = 0 and 1/64 differ
    assert spec.lut[-idx_fmt.min_code] != spec.lut[-idx_fmt.min_code + 1]


def test_golden_score_rejects_out_of_range_code_in_a_later_block():
    model = random_model(np.random.default_rng(5))
    x = np.zeros((20_000, model.n_inputs), dtype=np.int64)
    x[17_321, 4] = model.input_format.max_code + 1
    with pytest.raises(ValueError, match="outside"):
        golden_score(model, x, block=4096)
    x[17_321, 4] = model.input_format.max_code
    assert golden_score(model, x, block=4096).shape == (20_000,)
