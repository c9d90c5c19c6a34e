"""QKeras deployable encoder -> :class:`FixedPointModel`, and the exact QKeras reference inference.

Quantizer mappings (checked against QKeras 0.9.0's own arithmetic, see ``tests/test_fixed_extract.py``):

- ``quantized_bits(bits, integer, alpha=1)`` (keep_negative, not symmetric):
  ``code = clip(round_half_even(x * 2**(bits-1-integer)), -2**(bits-1), 2**(bits-1)-1)``
  = ``ap_fixed<bits, integer+1, AP_RND_CONV, AP_SAT>`` (QKeras' ``integer`` excludes the sign bit).
- ``quantized_relu(bits, integer)`` (no sigmoid, no negative slope, quantized clip):
  ``code = clip(round_half_even(x * 2**(bits-integer)), 0, 2**bits-1)``
  = ``ap_ufixed<bits, integer, AP_RND_CONV, AP_SAT>``.

Weights and biases are quantized by QKeras itself (float64) and turned into integer codes; extraction
fails unless every value is an exact multiple of the LSB inside the format, and unless QKeras' codes equal
the codes of the mapped :class:`FixedFormat` (so the mapping is verified on every extraction).

Exact QKeras reference (:func:`qkeras_reference`): TF float32 accumulation of 16-bit inputs x 8-bit weights
over 57 terms can round, so the model is cloned in float64 (same weights): products and sums are then
exact because every accumulator is bounded below 2**53 (checked). QKeras' ``quantized_relu`` casts its
input to float32 internally; that cast is exact when every accumulator code below the relu's saturation
point has fewer than 24 significant bits, which :func:`qkeras_reference` checks per layer (and refuses
to run otherwise, since QKeras would then not compute the fixed-point arithmetic it describes).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import numpy as np

from l1ad import keras_compat
from l1ad.fixed import scores
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.model import DenseLayer, FixedPointModel
from l1ad.fixed.scores import make_score

__all__ = [
    "ExtractionError",
    "quantizer_format",
    "format_quantizer",
    "extract_fixed_model",
    "qkeras_encoder",
    "run_input_fixed_format",
    "float64_keras",
    "float64_clone",
    "check_qkeras_exact",
    "qkeras_reference",
]

#: Significant bits of float32 / float64.
FLOAT32_BITS = 24
FLOAT64_BITS = 53


class ExtractionError(ValueError):
    """The Keras model is not a deployable quantized encoder (see the contract in ``l1ad.models.builders``)."""


# ---- quantizer -> FixedFormat -----------------------------------------------------------------------
def _quantizer_of(layer: Any, attr: str) -> Any:
    q = getattr(layer, attr, None)
    if isinstance(q, str):
        from qkeras.quantizers import get_quantizer  # noqa: PLC0415 - QKeras loaded via keras_compat above

        q = get_quantizer(q)
    return q


def quantizer_format(quantizer: Any, where: str) -> FixedFormat:
    """The FixedFormat equal to a QKeras ``quantized_bits(alpha=1)`` / ``quantized_relu`` quantizer."""
    kind = type(quantizer).__name__
    if kind == "quantized_bits":
        alpha = quantizer.alpha
        if alpha is None or isinstance(alpha, str) or float(np.asarray(alpha)) != 1.0:
            raise ExtractionError(f"{where}: quantized_bits must have alpha=1 (got alpha={alpha!r})")
        if not quantizer.keep_negative or quantizer.symmetric:
            raise ExtractionError(
                f"{where}: quantized_bits must be signed and not symmetric "
                f"(keep_negative={quantizer.keep_negative}, symmetric={quantizer.symmetric})"
            )
        _check_common(quantizer, where)
        bits, integer = int(quantizer.bits), int(quantizer.integer)
        if bits < 2:
            raise ExtractionError(f"{where}: quantized_bits needs at least 2 bits (got {bits})")
        return FixedFormat(bits, integer + 1, signed=True, rounding="RND_CONV", overflow="SAT")
    if kind == "quantized_relu":
        if quantizer.use_sigmoid or quantizer.negative_slope != 0.0:
            raise ExtractionError(f"{where}: quantized_relu with use_sigmoid or negative_slope is not supported")
        if quantizer.relu_upper_bound is not None or not quantizer.is_quantized_clip:
            raise ExtractionError(f"{where}: quantized_relu needs is_quantized_clip=True and no relu_upper_bound")
        _check_common(quantizer, where)
        return FixedFormat(
            int(quantizer.bits), int(quantizer.integer), signed=False, rounding="RND_CONV", overflow="SAT"
        )
    raise ExtractionError(f"{where}: quantizer {kind} is not supported (use quantized_bits(alpha=1) or quantized_relu)")


def _check_common(quantizer: Any, where: str) -> None:
    if quantizer.use_stochastic_rounding:
        raise ExtractionError(f"{where}: stochastic rounding cannot be implemented in firmware")
    if float(quantizer.qnoise_factor) != 1.0:
        raise ExtractionError(f"{where}: qnoise_factor must be 1 (got {quantizer.qnoise_factor})")


def _to_codes(values: np.ndarray, fmt: FixedFormat, where: str) -> np.ndarray:
    scaled = np.ldexp(np.asarray(values, dtype=np.float64), fmt.frac)
    if not np.all(np.isfinite(scaled)) or not np.array_equal(scaled, np.rint(scaled)):
        raise ExtractionError(f"{where}: values are not exact multiples of the LSB of {fmt.ap_type()}")
    codes = scaled.astype(np.int64)
    if codes.size and (codes.min() < fmt.min_code or codes.max() > fmt.max_code):
        raise ExtractionError(f"{where}: codes outside {fmt.ap_type()}")
    return codes


def _quantized_parameter(quantizer: Any, values: np.ndarray, fmt: FixedFormat, where: str) -> np.ndarray:
    """Quantize ``values`` with QKeras (float64) and check that it matches ``fmt.quantize`` code for code."""
    tf = keras_compat.tensorflow()
    with float64_keras():
        q = quantizer(tf.constant(np.asarray(values, dtype=np.float64)))
    codes = _to_codes(np.asarray(q), fmt, where)
    mapped = fmt.quantize(values)
    if not np.array_equal(codes, mapped):
        n = int(np.count_nonzero(codes != mapped))
        raise ExtractionError(f"{where}: QKeras quantization differs from {fmt.ap_type()} in {n} value(s)")
    return codes


# ---- model walk -------------------------------------------------------------------------------------
def _layer_kind(layer: Any) -> str:
    return type(layer).__name__


def extract_fixed_model(
    encoder: Any,
    input_format: FixedFormat | None = None,
    score: str = "kl",
    name: str | None = None,
    variational: bool = True,
    **score_options: Any,
) -> FixedPointModel:
    """Turn a deployable QKeras encoder into a :class:`FixedPointModel` with the score ``score``.

    ``variational``: the encoder outputs [mu | logvar] (VAE); otherwise mu alone (AE, score mu2 only).

    ``input_format`` (e.g. from the run's ``input_format.json``) must equal the first QActivation's format;
    when omitted, that quantizer defines it. Raises :class:`ExtractionError` naming the offending layer.
    """
    layers = list(encoder.layers)
    if not layers or _layer_kind(layers[0]) != "InputLayer":
        raise ExtractionError("the encoder must start with an InputLayer (a functional tf_keras model)")
    shape = tuple(encoder.input_shape)
    if len(shape) != 2:
        raise ExtractionError(f"the encoder input must be flat (N, n_inputs), got {shape}")
    body = layers[1:]
    if not body or _layer_kind(body[0]) != "QActivation":
        raise ExtractionError("the encoder must start with QActivation(quantized_bits(..., alpha=1)) after the input")
    first_format = quantizer_format(_quantizer_of(body[0], "quantizer"), f"layer {body[0].name}")
    if not first_format.signed:
        raise ExtractionError(f"layer {body[0].name}: the input quantizer must be a signed quantized_bits")
    if input_format is not None:
        fmt = FixedFormat(input_format.width, input_format.integer)
        if (fmt.width, fmt.integer) != (first_format.width, first_format.integer):
            raise ExtractionError(
                f"the run's input format {fmt.ap_type()} differs from the model's input quantizer "
                f"{first_format.ap_type()} (layer {body[0].name})"
            )
    current = first_format
    dense_layers: list[DenseLayer] = []
    rest = body[1:]
    i = 0
    while i < len(rest):
        layer = rest[i]
        if _layer_kind(layer) != "QDense":
            raise ExtractionError(
                f"layer {layer.name} ({_layer_kind(layer)}) is not part of the deployable encoder "
                "contract (QDense -> QActivation pairs only; no BatchNormalization, float Dense, ...)"
            )
        if i + 1 < len(rest) and _layer_kind(rest[i + 1]) != "QActivation":
            nxt = rest[i + 1]
            raise ExtractionError(
                f"layer {nxt.name} ({_layer_kind(nxt)}) after {layer.name} is not part of the "
                "deployable encoder contract (each QDense must be followed by a QActivation; "
                "no BatchNormalization, float Dense, ...)"
            )
        if i + 1 >= len(rest):
            raise ExtractionError(
                f"layer {layer.name}: a QDense must be followed by a QActivation quantizer "
                "(its output would otherwise be an unquantized float)"
            )
        dense_layers.append(_extract_dense(layer, rest[i + 1]))
        current = dense_layers[-1].output_format
        i += 2
    if not dense_layers:
        raise ExtractionError("the encoder has no QDense layer")
    if dense_layers[-1].activation != "linear":
        raise ExtractionError(
            f"the last layer ({rest[-1].name}) must be a QActivation(quantized_bits): mu / logvar are signed"
        )
    n_out = dense_layers[-1].n_out
    if dense_layers[0].n_in != shape[1]:
        raise ExtractionError(f"layer {dense_layers[0].name} has {dense_layers[0].n_in} inputs, model has {shape[1]}")
    if not variational and scores.get(score).needs_logvar:
        raise ExtractionError(
            f"score {score} needs logvar: an AE encoder (mu only) supports {', '.join(scores.names(False))}"
        )
    if variational and n_out % 2:
        raise ExtractionError(f"a VAE encoder outputs [mu | logvar], but {rest[-1].name} has {n_out} (odd) outputs")
    latent = n_out // 2 if variational else n_out
    spec = make_score(score, latent, current, **score_options)
    return FixedPointModel(
        name=name or encoder.name,
        input_format=first_format,
        layers=dense_layers,
        latent=latent,
        has_logvar=variational,
        score=spec,
        metadata={"source": "qkeras", "keras_name": encoder.name},
    )


def _extract_dense(dense: Any, activation: Any) -> DenseLayer:
    where = f"layer {dense.name}"
    act_name = getattr(getattr(dense, "activation", None), "__name__", "linear")
    if act_name != "linear":
        raise ExtractionError(
            f"{where}: QDense must have a linear activation (got {act_name}); put the activation in a QActivation"
        )
    kq, bq = _quantizer_of(dense, "kernel_quantizer_internal"), _quantizer_of(dense, "bias_quantizer_internal")
    if kq is None:
        raise ExtractionError(f"{where}: QDense without kernel_quantizer (float weights)")
    w_fmt = quantizer_format(kq, f"{where} kernel_quantizer")
    kernel = np.asarray(dense.kernel.numpy(), dtype=np.float64)
    weight = _quantized_parameter(kq, kernel, w_fmt, f"{where} kernel")
    if dense.use_bias:
        if bq is None:
            raise ExtractionError(f"{where}: QDense without bias_quantizer (float biases)")
        b_fmt = quantizer_format(bq, f"{where} bias_quantizer")
        bias = _quantized_parameter(bq, np.asarray(dense.bias.numpy(), dtype=np.float64), b_fmt, f"{where} bias")
    else:
        b_fmt, bias = w_fmt, np.zeros(weight.shape[1], dtype=np.int64)
    out_q = _quantizer_of(activation, "quantizer")
    out_fmt = quantizer_format(out_q, f"layer {activation.name}")
    return DenseLayer(
        name=dense.name,
        weight=weight,
        weight_format=w_fmt,
        bias=bias,
        bias_format=b_fmt,
        activation="linear" if out_fmt.signed else "relu",
        output_format=out_fmt,
    )


# ---- FixedPointModel -> QKeras ----------------------------------------------------------------------
def format_quantizer(fmt: FixedFormat, relu: bool = False) -> Any:
    """The QKeras quantizer equal to ``fmt`` (the inverse of :func:`quantizer_format`)."""
    qk = keras_compat.qkeras()
    if (fmt.rounding, fmt.overflow) != ("RND_CONV", "SAT") or fmt.signed == relu:
        kind = "quantized_relu (unsigned)" if relu else "quantized_bits (signed)"
        raise ExtractionError(f"{fmt.ap_type()} has no QKeras {kind} equivalent (needs AP_RND_CONV, AP_SAT)")
    if relu:
        return qk.quantized_relu(fmt.width, fmt.integer)
    return qk.quantized_bits(fmt.width, fmt.integer - 1, alpha=1)


def qkeras_encoder(fixed: FixedPointModel) -> Any:
    """A deployable QKeras encoder computing ``fixed`` exactly: its weights are the fixed model's values, its
    quantizers its formats (what the hls4ml backend converts; extracting it gives ``fixed`` back)."""
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    inp = keras.Input((fixed.n_inputs,), name="inputs")
    x = qk.QActivation(format_quantizer(fixed.input_format), name="input_quant")(inp)
    for layer in fixed.layers:
        dense = qk.QDense(
            layer.n_out,
            kernel_quantizer=format_quantizer(layer.weight_format),
            bias_quantizer=format_quantizer(layer.bias_format),
            name=layer.name,
        )
        x = dense(x)
        dense.set_weights([layer.weight_format.to_float(layer.weight), layer.bias_format.to_float(layer.bias)])
        relu = layer.activation == "relu"
        x = qk.QActivation(format_quantizer(layer.output_format, relu=relu), name=f"{layer.name}_out")(x)
    return keras.Model(inp, x, name=fixed.name.replace("-", "_") or "encoder")


# ---- input format ------------------------------------------------------------------------------------
def run_input_fixed_format(input_format: Any) -> FixedFormat:
    """A preprocessing ``InputFormat`` (width, integer incl. sign; rounds half to even, saturates) as a FixedFormat."""
    return FixedFormat(
        int(input_format.width), int(input_format.integer), signed=True, rounding="RND_CONV", overflow="SAT"
    )


# ---- exact QKeras reference -------------------------------------------------------------------------
@contextlib.contextmanager
def float64_keras() -> Iterator[None]:
    """Run a block with Keras' floatx set to float64 (QKeras quantizers cast to floatx)."""
    keras = keras_compat.keras()
    saved = keras.backend.floatx()
    keras.backend.set_floatx("float64")
    try:
        yield
    finally:
        keras.backend.set_floatx(saved)


def float64_clone(encoder: Any) -> Any:
    """The same QKeras encoder (same weights) with every layer computing in float64."""
    keras = keras_compat.keras()

    def clone_layer(layer: Any) -> Any:
        config = copy.deepcopy(layer.get_config())
        config["dtype"] = "float64"
        return type(layer).from_config(config)

    with float64_keras():
        inp = keras.Input(tuple(encoder.input_shape[1:]), dtype="float64")
        clone = keras.models.clone_model(encoder, input_tensors=inp, clone_function=clone_layer)
        clone.set_weights(encoder.get_weights())
    return clone


def check_qkeras_exact(fixed: FixedPointModel) -> None:
    """Raise ValueError unless float64 QKeras inference computes ``fixed``'s arithmetic exactly (see module doc)."""
    for layer, fmt in zip(fixed.layers, fixed.layer_input_formats(), strict=True):
        acc = layer.accumulator_format(fmt)
        if acc.width > FLOAT64_BITS:
            raise ValueError(f"layer {layer.name}: accumulator {acc.ap_type()} exceeds float64's 53 bits")
        if layer.activation == "relu":
            out = layer.output_format
            # accumulator code of the relu's saturation point (max value + half an LSB)
            limit = (2 * out.max_code + 1) << (acc.frac - out.frac - 1) if acc.frac > out.frac else 0
            if limit > 2**FLOAT32_BITS:
                raise ValueError(
                    f"layer {layer.name}: QKeras quantized_relu casts to float32, which rounds "
                    f"accumulators of {acc.ap_type()} below its saturation point"
                )


def qkeras_reference(
    encoder: Any, fixed: FixedPointModel, input_codes: np.ndarray, batch_size: int = 65536
) -> np.ndarray:
    """Encoder output codes (int64, in ``fixed.latent_format``) from QKeras inference in float64."""
    check_qkeras_exact(fixed)
    codes = np.asarray(input_codes)
    if codes.dtype.kind not in "iu" or codes.ndim != 2 or codes.shape[1] != fixed.n_inputs:
        raise ValueError(
            f"input codes must be integers of shape (N, {fixed.n_inputs}), got {codes.dtype} {codes.shape}"
        )
    clone = float64_clone(encoder)
    x = fixed.input_format.to_float(codes.astype(np.int64))
    with float64_keras():
        y = np.asarray(clone.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    return _to_codes(y, fixed.latent_format, "QKeras encoder output")
