"""QKeras deployable encoder -> FixedPointModel: quantizer mappings, golden == QKeras, errors, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from l1ad import keras_compat
from l1ad.fixed import scores
from l1ad.fixed.extract import (
    ExtractionError,
    check_qkeras_exact,
    extract_fixed_model,
    float64_keras,
    qkeras_reference,
    quantizer_format,
)
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.golden import golden_forward
from l1ad.fixed.model import FixedPointModel
from l1ad.fixed.vectors import verification_codes
from l1ad.models.builders import build_quantized_encoder


@pytest.fixture(scope="module")
def default_encoder():
    return build_quantized_encoder(seed=11, random_biases=True)


# ---- quantizer mappings, checked against QKeras itself ----------------------------------------------
def _qkeras_apply(quantizer, values: np.ndarray) -> np.ndarray:
    tf = keras_compat.tensorflow()
    with float64_keras():
        return np.asarray(quantizer(tf.constant(values, dtype=tf.float64)), dtype=np.float64)


def _probe_values(fmt: FixedFormat, rng: np.random.Generator) -> np.ndarray:
    lsb = fmt.lsb
    codes = np.arange(fmt.min_code - 4, fmt.max_code + 5, max(1, (fmt.max_code - fmt.min_code) // 300))
    ties = (codes + 0.5) * lsb  # exact half-LSB ties
    noise = rng.uniform((fmt.min_code - 50) * lsb, (fmt.max_code + 50) * lsb, 2000)
    return np.concatenate([codes * lsb, ties, noise, [1e6, -1e6]])


@pytest.mark.parametrize("bits,integer", [(8, 0), (8, 1), (6, 2), (12, 3), (16, 5), (4, 0)])
def test_quantized_bits_is_ap_fixed_rnd_conv_sat(bits, integer):
    qk = keras_compat.qkeras()
    q = qk.quantized_bits(bits, integer, alpha=1)
    fmt = quantizer_format(q, "probe")
    assert (fmt.width, fmt.integer, fmt.signed, fmt.rounding, fmt.overflow) == (
        bits,
        integer + 1,
        True,
        "RND_CONV",
        "SAT",
    )
    x = _probe_values(fmt, np.random.default_rng(bits))
    got = np.ldexp(_qkeras_apply(q, x), fmt.frac)
    assert np.array_equal(got, np.rint(got))
    assert np.array_equal(got.astype(np.int64), fmt.quantize(x))


@pytest.mark.parametrize("bits,integer", [(8, 3), (6, 2), (10, 4), (4, 0)])
def test_quantized_relu_is_ap_ufixed_rnd_conv_sat(bits, integer):
    qk = keras_compat.qkeras()
    q = qk.quantized_relu(bits, integer)
    fmt = quantizer_format(q, "probe")
    assert (fmt.width, fmt.integer, fmt.signed, fmt.rounding, fmt.overflow) == (bits, integer, False, "RND_CONV", "SAT")
    x = _probe_values(fmt, np.random.default_rng(bits))
    x = x[np.abs(x) < 2.0**20]  # quantized_relu computes in float32: keep the probes exact there
    got = np.ldexp(_qkeras_apply(q, x), fmt.frac)
    assert np.array_equal(got.astype(np.int64), fmt.quantize(np.maximum(x, 0.0)))


def test_rejects_unsupported_quantizers():
    qk = keras_compat.qkeras()
    # alpha=None scales by 1 (in a QActivation or a bias quantizer; QDense makes a kernel's None auto_po2)
    assert quantizer_format(qk.quantized_bits(8, 0), "act") == quantizer_format(qk.quantized_bits(8, 0, alpha=1), "a")
    with pytest.raises(ExtractionError, match="alpha=1"):
        quantizer_format(qk.quantized_bits(8, 0, alpha="auto_po2"), "kernel")
    with pytest.raises(ExtractionError, match="symmetric"):
        quantizer_format(qk.quantized_bits(8, 0, alpha=1, symmetric=True), "kernel")
    with pytest.raises(ExtractionError, match="negative_slope"):
        quantizer_format(qk.quantized_relu(8, 3, negative_slope=0.25), "act")
    with pytest.raises(ExtractionError, match="not supported"):
        quantizer_format(qk.quantized_tanh(8), "act")


def test_a_refused_quantizer_names_every_problem_at_once():
    qk = keras_compat.qkeras()
    q = qk.quantized_bits(8, 0, alpha="auto_po2", use_stochastic_rounding=True, qnoise_factor=0.5)
    with pytest.raises(ExtractionError) as err:
        quantizer_format(q, "layer d kernel_quantizer")
    message = str(err.value)
    assert message.startswith("layer d kernel_quantizer: quantized_bits is not supported:")
    assert all(word in message for word in ("alpha='auto_po2'", "symmetric", "stochastic", "qnoise_factor=0.5"))
    with pytest.raises(ExtractionError) as err:
        quantizer_format(qk.quantized_relu(8, 3, negative_slope=0.25, use_sigmoid=1, relu_upper_bound=4.0), "act")
    assert all(word in str(err.value) for word in ("negative_slope", "use_sigmoid", "relu_upper_bound"))


# ---- extraction -------------------------------------------------------------------------------------
def test_extracted_structure_and_codes(default_encoder):
    fixed = extract_fixed_model(default_encoder, FixedFormat(16, 6), score="kl")
    assert [layer.name for layer in fixed.layers] == ["enc_dense0", "enc_dense1", "enc_head"]
    assert [layer.activation for layer in fixed.layers] == ["relu", "relu", "linear"]
    assert fixed.input_format == FixedFormat(16, 6)
    assert fixed.layers[0].weight_format == FixedFormat(8, 2) and fixed.layers[0].bias_format == FixedFormat(12, 4)
    assert fixed.layers[0].output_format == FixedFormat(8, 3, signed=False)
    assert fixed.latent_format == FixedFormat(16, 5) and fixed.latent == 3 and fixed.has_logvar
    # weights: QKeras' quantized kernel, as codes
    dense = default_encoder.get_layer("enc_dense0")
    w = np.asarray(dense.kernel_quantizer_internal(dense.kernel), dtype=np.float64)
    assert np.array_equal(np.ldexp(w, 6), fixed.layers[0].weight.astype(np.float64))
    assert np.any(fixed.layers[0].bias != 0)  # random biases are exercised


def test_golden_equals_qkeras_default_encoder(default_encoder):
    fixed = extract_fixed_model(default_encoder, FixedFormat(16, 6), score="kl")
    codes = verification_codes(fixed, 3000)
    reference = qkeras_reference(default_encoder, fixed, codes)
    golden = golden_forward(fixed, codes).layers[-1]
    assert reference.dtype == np.int64 and reference.shape == (len(codes), 6)
    assert np.array_equal(reference, golden)
    assert len(np.unique(golden[:, 0])) > 100  # not a degenerate comparison
    assert golden.max() == fixed.latent_format.max_code or golden.min() == fixed.latent_format.min_code


RANDOM_ARCHITECTURES = [
    dict(
        hidden=(16,), latent=3, weight_bits=4, weight_integer=0, bias_bits=6, bias_integer=1, act_bits=6, act_integer=2
    ),
    dict(
        hidden=(24, 12),
        latent=8,
        weight_bits=6,
        weight_integer=1,
        bias_bits=8,
        bias_integer=2,
        act_bits=8,
        act_integer=3,
    ),
    dict(
        hidden=(32, 16),
        latent=3,
        weight_bits=8,
        weight_integer=1,
        bias_bits=12,
        bias_integer=3,
        act_bits=8,
        act_integer=3,
    ),
    dict(
        hidden=(20, 10),
        latent=8,
        weight_bits=12,
        weight_integer=1,
        bias_bits=12,
        bias_integer=3,
        act_bits=10,
        act_integer=3,
        output_bits=12,
        output_integer=3,
    ),
]


@pytest.mark.parametrize("arch", RANDOM_ARCHITECTURES, ids=lambda a: f"w{a['weight_bits']}-latent{a['latent']}")
def test_golden_equals_qkeras_random_architectures(arch):
    encoder = build_quantized_encoder(seed=arch["weight_bits"], random_biases=True, **arch)
    fixed = extract_fixed_model(encoder, score="mu2")
    assert fixed.layers[0].weight_format.width == arch["weight_bits"] and fixed.latent == arch["latent"]
    codes = verification_codes(fixed, 2000, seed=arch["latent"])
    assert np.array_equal(qkeras_reference(encoder, fixed, codes), golden_forward(fixed, codes).layers[-1])


# ---- errors on non-contract models ------------------------------------------------------------------
def _model(*layers_fn):
    keras = keras_compat.keras()
    inp = keras.Input((57,))
    x = inp
    for fn in layers_fn:
        x = fn(x)
    return keras.Model(inp, x)


def _qact(q):
    return lambda x: keras_compat.qkeras().QActivation(q)(x)


def _qdense(n, **kw):
    qk = keras_compat.qkeras()
    return lambda x: qk.QDense(
        n, kernel_quantizer=qk.quantized_bits(8, 1, alpha=1), bias_quantizer=qk.quantized_bits(8, 1, alpha=1), **kw
    )(x)


def test_extraction_errors_name_the_problem():
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    inq = _qact(qk.quantized_bits(16, 5, alpha=1))
    out = _qact(qk.quantized_bits(16, 4, alpha=1))
    relu = _qact(qk.quantized_relu(8, 3))
    cases = {
        "BatchNormalization": _model(
            inq, _qdense(8), lambda x: keras.layers.BatchNormalization(name="bn")(x), relu, _qdense(6), out
        ),
        "Dense": _model(inq, lambda x: keras.layers.Dense(8, name="float_dense")(x), relu, _qdense(6), out),
        "must be followed by a QActivation": _model(inq, _qdense(8), relu, _qdense(6)),
        "must start with QActivation": _model(_qdense(8), relu, _qdense(6), out),
        "activation softmax": _model(inq, _qdense(8, activation="softmax"), relu, _qdense(6), out),
        "must be a QActivation\\(quantized_bits\\)": _model(inq, _qdense(8), relu, _qdense(6), relu),
        "odd": _model(inq, _qdense(8), relu, _qdense(5), out),
    }
    for message, model in cases.items():
        with pytest.raises(ExtractionError, match=message):
            extract_fixed_model(model, score="kl")
    good = _model(inq, _qdense(8), relu, _qdense(6), out)
    with pytest.raises(ExtractionError, match="input format"):
        extract_fixed_model(good, FixedFormat(14, 6), score="kl")
    with pytest.raises(ExtractionError, match="AE encoder"):
        extract_fixed_model(good, score="kl", variational=False)
    ae = extract_fixed_model(good, score="mu2", variational=False)
    assert ae.latent == 6 and not ae.has_logvar


def test_qkeras_reference_refuses_float32_rounding_relu():
    encoder = build_quantized_encoder(
        hidden=(8,), latent=3, weight_bits=16, weight_integer=1, act_bits=16, act_integer=6, seed=1
    )
    fixed = extract_fixed_model(encoder, score="mu2")
    with pytest.raises(ValueError, match="float32"):
        check_qkeras_exact(fixed)
    with pytest.raises(ValueError, match="float32"):
        qkeras_reference(encoder, fixed, np.zeros((2, 57), dtype=np.int64))


def test_qkeras_reference_rejects_bad_inputs(default_encoder):
    fixed = extract_fixed_model(default_encoder, score="kl")
    with pytest.raises(ValueError, match="integers of shape"):
        qkeras_reference(default_encoder, fixed, np.zeros((2, 57), dtype=np.float64))
    with pytest.raises(ValueError, match="integers of shape"):
        qkeras_reference(default_encoder, fixed, np.zeros((2, 56), dtype=np.int64))


# ---- save / load ------------------------------------------------------------------------------------
@pytest.mark.parametrize("score", scores.names())
def test_save_load_round_trip(default_encoder, tmp_path, score):
    fixed = extract_fixed_model(default_encoder, score=score)
    fixed.save(tmp_path / score)
    loaded = FixedPointModel.load(tmp_path / score)
    assert loaded.to_json_dict() == fixed.to_json_dict()
    for a, b in zip(fixed.layers, loaded.layers, strict=True):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
    if fixed.score.lut is not None:
        assert np.array_equal(fixed.score.lut, loaded.score.lut)
    codes = verification_codes(fixed, 500)
    assert np.array_equal(golden_forward(fixed, codes).score, golden_forward(loaded, codes).score)
    assert not list((tmp_path / score).glob(".*tmp*"))  # no temp files left behind


def test_outside_encoder_forms_extract_and_equal_qkeras():
    """QDense quantizer activations, alpha=None, a plain ReLU before a quantizer and chained QActivations."""
    from outside_models import odd_qkeras_encoder

    from l1ad.fixed.model import ActivationLayer

    encoder = odd_qkeras_encoder(seed=2)
    fixed = extract_fixed_model(encoder, score="kl")
    assert [type(layer).__name__ for layer in fixed.layers] == [
        "DenseLayer",
        "DenseLayer",
        "ActivationLayer",
        "DenseLayer",
    ]
    assert [layer.activation for layer in fixed.layers] == ["relu", "relu", "relu", "linear"]
    assert fixed.input_format == FixedFormat(13, 5) and fixed.latent == 5 and fixed.has_logvar
    assert isinstance(fixed.layers[2], ActivationLayer) and fixed.layers[2].output_format == FixedFormat(6, 2, False)
    codes = verification_codes(fixed, 3000, seed=4)
    golden = golden_forward(fixed, codes).layers[-1]
    assert np.array_equal(qkeras_reference(encoder, fixed, codes), golden)
    assert len(np.unique(golden)) > 200
