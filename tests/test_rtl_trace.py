"""The da4ml trace of a FixedPointModel equals the golden model, integer for integer (da4ml's interpreter).

These run the traced logic in da4ml's bit-exact interpreter (no Verilator): rounding and overflow modes on
exhaustive inputs with ties, every lookup-table entry of kl / rz, and the default-size encoder per score.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from l1ad.fixed import scores
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.golden import golden_forward
from l1ad.fixed.model import DenseLayer, FixedPointModel
from l1ad.fixed.scores import make_score
from l1ad.fixed.scores.tables import lut_index
from l1ad.fixed.vectors import corner_codes, random_codes
from l1ad.rtl.example import example_model
from l1ad.rtl.trace import kif, trace_model

ONE_LAYER_IN_FORMAT = FixedFormat(6, 3)


def one_layer_model(
    out_format: FixedFormat, activation: str, in_format: FixedFormat = ONE_LAYER_IN_FORMAT
) -> FixedPointModel:
    """2 inputs -> 3 outputs, weights with 2 fraction bits so that requantization meets ties."""
    wf, bf = FixedFormat(6, 4), FixedFormat(6, 3)
    weight = np.array([[1, -3, 5], [2, 7, -6]])  # codes: values /4
    bias = np.array([1, -2, 0])  # codes: values /8
    layer = DenseLayer("d", weight, wf, bias, bf, activation, out_format)
    return FixedPointModel(
        "one", in_format, [layer], latent=3, has_logvar=False, score=make_score("mu2", 3, out_format)
    )


def all_pairs(fmt: FixedFormat) -> np.ndarray:
    r = range(fmt.min_code, fmt.max_code + 1)
    return np.array(list(itertools.product(r, r)), dtype=np.int64)


@pytest.mark.parametrize("rounding", ["RND_CONV", "RND", "TRN"])
@pytest.mark.parametrize("overflow", ["SAT", "WRAP"])
@pytest.mark.parametrize("activation,signed", [("linear", True), ("relu", False), ("relu", True)])
def test_requantization_modes_exhaustive(rounding, overflow, activation, signed):
    out = FixedFormat(5, 3, signed=signed, rounding=rounding, overflow=overflow)
    model = one_layer_model(out, activation)
    codes = all_pairs(model.input_format)
    golden = golden_forward(model, codes)
    # the inputs must exercise ties and overflow, or this test could not tell the modes apart
    layer, fin = model.layers[0], model.input_format
    f_acc = layer.accumulator_frac(fin)
    acc = (codes @ layer.weight) * 2 ** (f_acc - fin.frac - layer.weight_format.frac) + layer.bias * 2 ** (
        f_acc - layer.bias_format.frac
    )
    shift = f_acc - out.frac
    assert np.any(acc % (1 << shift) == 1 << (shift - 1)), "no ties in the data"
    assert np.any((acc >> shift) > out.max_code), "no overflow in the data"
    got = trace_model(model, with_latent=True).emulate(codes)
    np.testing.assert_array_equal(got[:, 1:], golden.layers[0])
    np.testing.assert_array_equal(got[:, 0], golden.score)


def test_half_to_even_differs_from_half_up():
    """Guard: on these inputs RND_CONV and RND disagree somewhere, so the test above can catch a swap."""
    conv = one_layer_model(FixedFormat(5, 3, rounding="RND_CONV"), "linear")
    up = one_layer_model(FixedFormat(5, 3, rounding="RND"), "linear")
    codes = all_pairs(conv.input_format)
    assert np.any(golden_forward(conv, codes).layers[0] != golden_forward(up, codes).layers[0])


def identity_latent_model(kind: str) -> FixedPointModel:
    """[mu, lv] inputs copied to the latent outputs exactly: drives every logvar code into the score."""
    latent_format = FixedFormat(16, 5)
    wf, bf = FixedFormat(8, 2), FixedFormat(8, 4)
    layer = DenseLayer("id", np.array([[64, 0], [0, 64]]), wf, np.zeros(2, dtype=np.int64), bf, "linear", latent_format)
    return FixedPointModel(
        "id", latent_format, [layer], latent=1, has_logvar=True, score=make_score(kind, 1, latent_format)
    )


@pytest.mark.parametrize("kind", ["kl", "rz"])
def test_every_table_entry(kind):
    model = identity_latent_model(kind)
    fmt = model.input_format
    lv = np.arange(fmt.min_code, fmt.max_code + 1, dtype=np.int64)
    mu = np.random.default_rng(0).integers(fmt.min_code, fmt.max_code + 1, lv.size)
    codes = np.stack([mu, lv], axis=1)
    golden = golden_forward(model, codes)
    np.testing.assert_array_equal(golden.logvar[:, 0], lv)  # the identity layer is exact
    assert np.unique(lut_index(model.score, golden.logvar)).size == model.score.lut.size  # all entries used
    got = trace_model(model).emulate(codes)
    np.testing.assert_array_equal(got[:, 0], golden.score)


def test_table_contents_reach_the_score():
    """A changed table entry changes the traced score: the RTL table is the spec's, not recomputed."""
    model = identity_latent_model("rz")
    lv_code = 100
    codes = np.array([[1 << 11, lv_code]])
    index = int(lut_index(model.score, np.array([[lv_code]]))[0, 0])
    before = trace_model(model).emulate(codes)[0, 0]
    model.score.lut = model.score.lut.copy()
    model.score.lut[index] += 1
    after = trace_model(model).emulate(codes)[0, 0]
    assert after - before == (1 << 11) ** 2  # mu^2 * (T + 1) - mu^2 * T
    assert after == golden_forward(model, codes).score[0]


@pytest.mark.parametrize("kind", scores.names())
def test_default_size_encoder(kind):
    model = example_model(kind)
    codes = np.concatenate([corner_codes(model), random_codes(model, 1500, seed=1)])
    golden = golden_forward(model, codes)
    got = trace_model(model, with_latent=True).emulate(codes)
    np.testing.assert_array_equal(got[:, 1:], golden.layers[-1])
    np.testing.assert_array_equal(got[:, 0], golden.score)
    assert len(np.unique(golden.layers[-1])) > 100  # not a degenerate model
    if kind != "rz":  # default rz table (18 bits, lsb 2**6) is 0 for logvar > about -4: scores mostly 0
        assert len(np.unique(golden.score)) > 100


def test_kif_follows_ap_fixed_convention():
    assert kif(FixedFormat(16, 6)) == (1, 5, 10)
    assert kif(FixedFormat(8, 3, signed=False)) == (0, 3, 5)


@pytest.mark.parametrize("kind", scores.names())
def test_trigger_bit_is_strict_comparison(kind):
    """The traced trigger output is score > threshold, with thresholds on, just below and just above scores."""
    model = example_model(kind)
    codes = np.concatenate([corner_codes(model), random_codes(model, 400, seed=2)])
    golden = golden_forward(model, codes).score
    offsets = np.resize(np.array([-1, 0, 1]), golden.size)
    thresholds = np.clip(golden + offsets, 0, model.score.output_format.max_code)
    got = trace_model(model, with_trigger=True).emulate(codes, thresholds)
    np.testing.assert_array_equal(got[:, 0], golden)
    np.testing.assert_array_equal(got[:, 1], (golden > thresholds).astype(np.int64))
    assert 0 < got[:, 1].sum() < len(golden)  # both outcomes occur


def test_trigger_trace_needs_thresholds():
    model = example_model("mu2")
    with pytest.raises(ValueError, match="threshold"):
        trace_model(model, with_trigger=True).emulate(random_codes(model, 2, seed=0))


@pytest.mark.parametrize("seed", [0, 1])
def test_declared_types_input_scaling_and_typed_score(seed):
    """Truncating / wrapping / saturating accumulators, result types, activation layers, input scaling and the
    typed mu2 score trace to the golden model's integers (and the trigger bit on them)."""
    from declared_models import awkward_model

    model = awkward_model(seed)
    codes = np.concatenate([corner_codes(model), random_codes(model, 3000, seed=seed)])
    golden = golden_forward(model, codes)
    got = trace_model(model, with_latent=True).emulate(codes)
    np.testing.assert_array_equal(got[:, 1:], golden.layers[-1])
    np.testing.assert_array_equal(got[:, 0], golden.score)
    thresholds = np.quantile(golden.score, 0.7).astype(np.int64) + np.zeros(len(codes), dtype=np.int64)
    fired = trace_model(model, with_trigger=True).emulate(codes, thresholds)[:, 1]
    np.testing.assert_array_equal(fired, golden.score > thresholds)
