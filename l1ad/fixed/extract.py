"""QKeras deployable encoder -> :class:`FixedPointModel`, and the exact QKeras reference inference.

Quantizer mappings (checked against QKeras 0.9.0's own arithmetic, see ``tests/test_fixed_extract.py``):

- ``quantized_bits(bits, integer, alpha=1)`` (keep_negative, not symmetric):
  ``code = clip(round_half_even(x * 2**(bits-1-integer)), -2**(bits-1), 2**(bits-1)-1)``
  = ``ap_fixed<bits, integer+1, AP_RND_CONV, AP_SAT>`` (QKeras' ``integer`` excludes the sign bit);
  with ``keep_negative=False`` = ``ap_ufixed<bits, integer, AP_RND_CONV, AP_SAT>``.
- ``quantized_relu(bits, integer)`` (no sigmoid, no negative slope, quantized clip):
  ``code = clip(round_half_even(x * 2**(bits-integer)), 0, 2**bits-1)``
  = ``ap_ufixed<bits, integer, AP_RND_CONV, AP_SAT>``.

``alpha=None`` is accepted where QKeras scales by 1 (activations and biases; a QDense turns a kernel quantizer's
``alpha=None`` into a trainable ``auto_po2`` scale, which is refused). A refused quantizer gets one message naming
every problem it has. Every accepted quantizer is checked against its FixedFormat: activation quantizers on a
probe grid (every code, the half-LSB ties between them, values beyond the range), weights and biases value for
value (QKeras quantizes them itself, float64; extraction fails unless every value is an exact multiple of the
LSB inside the format and QKeras' codes equal the mapped format's codes).

Layers: after the input, an optional input quantizer ``QActivation(quantized_bits)`` (else the run's input format
is the input), then ``QDense`` (or ``Dense`` whose float weights are exactly fixed point) layers, each followed by
activation steps until the next: ``QActivation(quantized_bits | quantized_relu)``, a quantizer given as the QDense's
own ``activation``, or an exact ``ReLU`` / ``Activation('relu' | 'linear')``. A dense layer's first quantizer (with
any relu before it) is its activation; further steps are :class:`ActivationLayer` s.

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
from dataclasses import dataclass
from typing import Any

import numpy as np

from l1ad import keras_compat
from l1ad.fixed import scores
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.model import ActivationLayer, DenseLayer, FixedPointModel, Layer
from l1ad.fixed.scores import make_score

__all__ = [
    "ExtractionError",
    "quantizer_format",
    "format_quantizer",
    "extract_fixed_model",
    "input_quantizer_format",
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
#: Widest format of a float Dense layer's weights accepted as exactly fixed point.
MAX_FLOAT_WEIGHT_BITS = 16


class ExtractionError(ValueError):
    """The Keras model is not a deployable quantized encoder (see the contract in the module doc)."""


# ---- quantizer -> FixedFormat -----------------------------------------------------------------------
def _quantizer_of(layer: Any, attr: str) -> Any:
    q = getattr(layer, attr, None)
    if isinstance(q, str):
        from qkeras.quantizers import get_quantizer  # noqa: PLC0415 - QKeras loaded via keras_compat above

        q = get_quantizer(q)
    return q


def _alpha_is_one(alpha: Any) -> bool:
    if alpha is None:
        return True
    if isinstance(alpha, str):
        return False
    try:
        return bool(np.all(np.asarray(alpha, dtype=np.float64) == 1.0))
    except (TypeError, ValueError):
        return False


def quantizer_format(quantizer: Any, where: str) -> FixedFormat:
    """The FixedFormat equal to a QKeras ``quantized_bits`` (alpha 1 or None) / ``quantized_relu`` quantizer.

    Raises :class:`ExtractionError` naming every problem of a refused quantizer at once.
    """
    kind = type(quantizer).__name__
    if kind not in ("quantized_bits", "quantized_relu"):
        raise ExtractionError(
            f"{where}: quantizer {kind} is not supported (use quantized_bits(alpha=1) or quantized_relu)"
        )
    problems: list[str] = []
    if getattr(quantizer, "use_stochastic_rounding", False):
        problems.append("use_stochastic_rounding=True (stochastic rounding cannot be built in firmware)")
    if float(getattr(quantizer, "qnoise_factor", 1.0)) != 1.0:
        problems.append(f"qnoise_factor={quantizer.qnoise_factor} (needs 1)")
    bits, integer = int(quantizer.bits), int(quantizer.integer)
    if kind == "quantized_bits":
        signed = bool(quantizer.keep_negative)
        if not _alpha_is_one(quantizer.alpha):
            problems.append(f"alpha={quantizer.alpha!r} (needs alpha=1, or None where QKeras scales by 1)")
        if quantizer.symmetric:
            problems.append(f"symmetric={quantizer.symmetric} (needs False)")
        if bits - int(signed) < 1:
            problems.append(f"bits={bits} (a binary quantizer; needs at least {1 + int(signed)})")
    else:
        signed = False
        if quantizer.use_sigmoid:
            problems.append(f"use_sigmoid={quantizer.use_sigmoid} (needs 0)")
        if quantizer.negative_slope != 0.0:
            problems.append(f"negative_slope={quantizer.negative_slope} (needs 0)")
        if quantizer.relu_upper_bound is not None:
            problems.append(f"relu_upper_bound={quantizer.relu_upper_bound} (needs None)")
        if not quantizer.is_quantized_clip:
            problems.append("is_quantized_clip=False (needs True)")
    if problems:
        raise ExtractionError(f"{where}: {kind} is not supported: " + "; ".join(problems))
    # QKeras' quantized_bits integer excludes the sign bit; ap_fixed's includes it
    return FixedFormat(bits, integer + int(signed), signed=signed, rounding="RND_CONV", overflow="SAT")


def _is_relu_quantizer(quantizer: Any) -> bool:
    return type(quantizer).__name__ == "quantized_relu"


def _probe(fmt: FixedFormat) -> np.ndarray:
    """Values that tell a quantizer apart from ``fmt``: codes, half-LSB ties, quarter-LSB offsets, out of range."""
    span = fmt.max_code - fmt.min_code
    codes = np.arange(fmt.min_code - 8, fmt.max_code + 9, max(1, span // 4000), dtype=np.float64)
    codes = np.concatenate([codes, [fmt.min_code, fmt.max_code, 0.0, -1.0, 1.0, 4.0 * fmt.max_code + 7]])
    grid = np.concatenate([codes, codes + 0.5, codes - 0.5, codes + 0.25, codes - 0.25])
    return np.ldexp(grid, -fmt.frac)


def _check_activation_quantizer(quantizer: Any, fmt: FixedFormat, where: str) -> None:
    """Raise unless QKeras' quantizer equals relu-or-not + ``fmt.quantize`` on a probe grid (float64)."""
    tf = keras_compat.tensorflow()
    x = _probe(fmt)
    if _is_relu_quantizer(quantizer):  # quantized_relu computes in float32: keep the probes exact there
        x = x[np.abs(np.ldexp(x, fmt.frac)) < 2.0**FLOAT32_BITS]
    with float64_keras():
        got = np.asarray(quantizer(tf.constant(x, dtype=tf.float64)), dtype=np.float64)
    expected = fmt.to_float(fmt.quantize(np.maximum(x, 0.0) if _is_relu_quantizer(quantizer) else x))
    if not np.array_equal(got, expected):
        n = int(np.count_nonzero(got != expected))
        raise ExtractionError(
            f"{where}: QKeras' {type(quantizer).__name__} differs from {fmt.ap_type()} on {n} probe value(s)"
        )


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


def _exact_float_parameter(values: np.ndarray, where: str) -> tuple[np.ndarray, FixedFormat]:
    """Float weights that are already fixed point: their codes and the narrowest signed format holding them
    (at most :data:`MAX_FLOAT_WEIGHT_BITS` bits; a float model's weights need far more)."""
    v = np.asarray(values, dtype=np.float64)
    for frac in range(-MAX_FLOAT_WEIGHT_BITS, 64):
        scaled = np.ldexp(v, frac)
        if np.array_equal(scaled, np.rint(scaled)):
            break
    codes = np.rint(scaled).astype(np.int64) if np.all(np.abs(scaled) < 2.0**62) else None
    fmt = FixedFormat.for_range(int(np.abs(codes).max(initial=0)), frac, signed=True) if codes is not None else None
    if codes is None or fmt is None or fmt.width > MAX_FLOAT_WEIGHT_BITS:
        need = f"{fmt.width} bits" if fmt is not None else "more than 62 bits"
        raise ExtractionError(
            f"{where}: float weights are not fixed point within {MAX_FLOAT_WEIGHT_BITS} bits (they need {need}); "
            "quantize them (QDense with kernel_quantizer / bias_quantizer)"
        )
    return codes, fmt


# ---- model walk -------------------------------------------------------------------------------------
def _layer_kind(layer: Any) -> str:
    return type(layer).__name__


@dataclass
class _PendingDense:
    """A dense layer whose output is still an unquantized float (waiting for its first quantizer)."""

    keras_layer: Any
    weight: np.ndarray
    weight_format: FixedFormat
    bias: np.ndarray
    bias_format: FixedFormat
    relu: bool = False


def _dense_parameters(dense: Any) -> _PendingDense:
    where = f"layer {dense.name}"
    kernel = np.asarray(dense.kernel.numpy(), dtype=np.float64)
    bias_values = np.asarray(dense.bias.numpy(), dtype=np.float64) if dense.use_bias else None
    if _layer_kind(dense) == "Dense":
        weight, w_fmt = _exact_float_parameter(kernel, f"{where} (Dense) kernel")
        if bias_values is None:
            return _PendingDense(dense, weight, w_fmt, np.zeros(weight.shape[1], dtype=np.int64), w_fmt)
        bias, b_fmt = _exact_float_parameter(bias_values, f"{where} (Dense) bias")
        return _PendingDense(dense, weight, w_fmt, bias, b_fmt)
    kq, bq = _quantizer_of(dense, "kernel_quantizer_internal"), _quantizer_of(dense, "bias_quantizer_internal")
    if kq is None:
        raise ExtractionError(f"{where}: QDense without kernel_quantizer (float weights)")
    w_fmt = quantizer_format(kq, f"{where} kernel_quantizer")
    weight = _quantized_parameter(kq, kernel, w_fmt, f"{where} kernel")
    if bias_values is None:
        return _PendingDense(dense, weight, w_fmt, np.zeros(weight.shape[1], dtype=np.int64), w_fmt)
    if bq is None:
        raise ExtractionError(f"{where}: QDense without bias_quantizer (float biases)")
    b_fmt = quantizer_format(bq, f"{where} bias_quantizer")
    bias = _quantized_parameter(bq, bias_values, b_fmt, f"{where} bias")
    return _PendingDense(dense, weight, w_fmt, bias, b_fmt)


def _activation_steps(layer: Any) -> list[tuple[str, Any]]:
    """The steps of an activation-like layer: ('relu', None), ('quant', quantizer); [] for an identity."""
    kind, where = _layer_kind(layer), f"layer {layer.name} ({_layer_kind(layer)})"
    if kind == "QActivation":
        q = _quantizer_of(layer, "quantizer")
        fmt = quantizer_format(q, f"layer {layer.name}")
        _check_activation_quantizer(q, fmt, f"layer {layer.name}")
        return [("quant", q)]
    if kind == "ReLU":
        if layer.max_value is not None or float(layer.negative_slope) != 0.0 or float(layer.threshold) != 0.0:
            raise ExtractionError(f"{where}: only a plain ReLU (no max_value, negative_slope, threshold) is exact")
        return [("relu", None)]
    name = getattr(getattr(layer, "activation", None), "__name__", None)
    if name == "relu":
        return [("relu", None)]
    if name == "linear":
        return []
    raise ExtractionError(f"{where}: activation {name} is not supported (relu, linear or a QKeras quantizer)")


def _fused_activation(dense: Any) -> list[tuple[str, Any]]:
    """The steps of a (Q)Dense layer's own ``activation``."""
    act = getattr(dense, "activation", None)
    if act is None:
        return []
    if type(act).__name__ in ("quantized_bits", "quantized_relu"):
        fmt = quantizer_format(act, f"layer {dense.name} activation")
        _check_activation_quantizer(act, fmt, f"layer {dense.name} activation")
        return [("quant", act)]
    name = getattr(act, "__name__", None)
    if name == "relu":
        return [("relu", None)]
    if name == "linear":
        return []
    raise ExtractionError(
        f"layer {dense.name}: activation {name or repr(act)} is not supported (relu, linear or a quantizer)"
    )


_ACTIVATION_LAYERS = ("QActivation", "ReLU", "Activation")


def input_quantizer_format(encoder: Any) -> FixedFormat | None:
    """The format of the encoder's input quantizer (a QActivation right after the input), None without one."""
    body = list(encoder.layers)[1:]
    if not body or _layer_kind(body[0]) != "QActivation":
        return None
    q = _quantizer_of(body[0], "quantizer")
    fmt = quantizer_format(q, f"layer {body[0].name}")
    _check_activation_quantizer(q, fmt, f"layer {body[0].name}")
    return fmt


def extract_fixed_model(
    encoder: Any,
    input_format: FixedFormat | None = None,
    score: str = "kl",
    name: str | None = None,
    variational: bool = True,
    **score_options: Any,
) -> FixedPointModel:
    """Turn a deployable (Q)Keras encoder into a :class:`FixedPointModel` with the score ``score``.

    ``variational``: the encoder outputs [mu | logvar] (VAE); otherwise mu alone (AE, score mu2 only).

    ``input_format`` (e.g. from the run's ``input_format.json``) must equal the input quantizer's format when the
    model has one; without an input quantizer it is the input. Raises :class:`ExtractionError` naming the layer.
    """
    layers = list(encoder.layers)
    if not layers or _layer_kind(layers[0]) != "InputLayer":
        raise ExtractionError("the encoder must start with an InputLayer (a functional tf_keras model)")
    shape = tuple(encoder.input_shape)
    if len(shape) != 2:
        raise ExtractionError(f"the encoder input must be flat (N, n_inputs), got {shape}")
    body = layers[1:]
    current: FixedFormat
    if body and _layer_kind(body[0]) == "QActivation":
        q = _quantizer_of(body[0], "quantizer")
        current = quantizer_format(q, f"layer {body[0].name}")
        _check_activation_quantizer(q, current, f"layer {body[0].name}")
        if not current.signed:
            raise ExtractionError(f"layer {body[0].name}: the input quantizer must be a signed quantized_bits")
        if input_format is not None and (input_format.width, input_format.integer) != (current.width, current.integer):
            raise ExtractionError(
                f"the run's input format {FixedFormat(input_format.width, input_format.integer).ap_type()} differs "
                f"from the model's input quantizer {current.ap_type()} (layer {body[0].name})"
            )
        body = body[1:]
    elif input_format is not None:
        current = FixedFormat(input_format.width, input_format.integer, True, "RND_CONV", "SAT")
    else:
        raise ExtractionError(
            "the encoder must start with QActivation(quantized_bits(..., alpha=1)) after the input, "
            "or be given its input format (--input-format)"
        )
    model_input = current
    fixed_layers: list[Layer] = []
    pending: _PendingDense | None = None

    def step(kind: str, quantizer: Any, name: str) -> None:
        nonlocal pending, current
        if kind == "relu":
            if pending is not None:
                pending.relu = True
            else:  # an exact relu of a quantized tensor: same format
                fixed_layers.append(
                    ActivationLayer(name, fixed_layers[-1].n_out if fixed_layers else shape[1], "relu", current)
                )
            return
        fmt = quantizer_format(quantizer, f"layer {name}")
        relu = _is_relu_quantizer(quantizer)
        if pending is not None:
            p = pending
            fixed_layers.append(
                DenseLayer(
                    p.keras_layer.name,
                    p.weight,
                    p.weight_format,
                    p.bias,
                    p.bias_format,
                    "relu" if (relu or p.relu) else "linear",
                    fmt,
                )
            )
            pending = None
        else:
            n = fixed_layers[-1].n_out if fixed_layers else int(shape[1])
            fixed_layers.append(ActivationLayer(name, n, "relu" if relu else "linear", fmt))
        current = fmt

    for layer in body:
        kind = _layer_kind(layer)
        if kind in ("QDense", "Dense"):
            if pending is not None:
                raise ExtractionError(
                    f"layer {pending.keras_layer.name}: a QDense must be followed by a QActivation quantizer "
                    f"before {layer.name} (its output would otherwise be an unquantized float)"
                )
            pending = _dense_parameters(layer)
            for k, q in _fused_activation(layer):
                step(k, q, layer.name)
        elif kind in _ACTIVATION_LAYERS:
            for k, q in _activation_steps(layer):
                step(k, q, layer.name)
        else:
            raise ExtractionError(
                f"layer {layer.name} ({kind}) is not part of the deployable encoder contract "
                "(QDense / Dense with quantizers, QActivation, ReLU; no BatchNormalization, Dropout, ...)"
            )
    if pending is not None:
        raise ExtractionError(
            f"layer {pending.keras_layer.name}: a QDense must be followed by a QActivation quantizer "
            "(its output would otherwise be an unquantized float)"
        )
    dense_layers = [layer for layer in fixed_layers if isinstance(layer, DenseLayer)]
    if not dense_layers:
        raise ExtractionError("the encoder has no QDense layer")
    last = body[-1].name if body else "input"
    if not fixed_layers[-1].output_format.signed or fixed_layers[-1].activation == "relu":
        raise ExtractionError(f"the last layer ({last}) must be a QActivation(quantized_bits): mu / logvar are signed")
    if dense_layers[0].n_in != shape[1]:
        raise ExtractionError(f"layer {dense_layers[0].name} has {dense_layers[0].n_in} inputs, model has {shape[1]}")
    n_out = fixed_layers[-1].n_out
    if not variational and scores.get(score).needs_logvar:
        raise ExtractionError(
            f"score {score} needs logvar: an AE encoder (mu only) supports {', '.join(scores.names(False))}"
        )
    if variational and n_out % 2:
        raise ExtractionError(f"a VAE encoder outputs [mu | logvar], but {last} has {n_out} (odd) outputs")
    latent = n_out // 2 if variational else n_out
    spec = make_score(score, latent, current, **score_options)
    return FixedPointModel(
        name=name or encoder.name,
        input_format=model_input,
        layers=fixed_layers,
        latent=latent,
        has_logvar=variational,
        score=spec,
        metadata={"source": "qkeras", "keras_name": encoder.name},
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
    if not fixed.is_plain:
        raise ExtractionError(
            f"{fixed.name}: declared accumulators, result types, activation layers or input scaling have no QKeras "
            "form (the hls4ml backend converts l1ad.hls.project.carrier_model instead)"
        )
    inp = keras.Input((fixed.n_inputs,), name="inputs")
    x = qk.QActivation(format_quantizer(fixed.input_format), name="input_quant")(inp)
    for layer in fixed.dense_layers:
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
        if isinstance(layer, ActivationLayer):
            if layer.activation == "relu" and fmt.width > FLOAT32_BITS:
                raise ValueError(
                    f"layer {layer.name}: QKeras quantized_relu casts {fmt.ap_type()} to float32, which rounds"
                )
            continue
        if layer.accum_format is not None or layer.result_format is not None:
            raise ValueError(f"layer {layer.name}: QKeras has no declared accumulator or result type")
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
    if fixed.input_scaling is not None:
        raise ValueError(f"{fixed.name}: a model with an input-scaling stage has no QKeras reference")
    x = fixed.input_format.to_float(codes.astype(np.int64))
    with float64_keras():
        y = np.asarray(clone.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    return _to_codes(y, fixed.latent_format, "QKeras encoder output")
