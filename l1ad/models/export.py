"""The deployable quantized encoder: check the contract and bake quantized weights in.

Contract (consumed by the golden model, hls4ml and RTL stages): a plain tf_keras model with input (N, n_in)
made only of ``InputLayer -> QActivation(quantized_bits(w, i, alpha=1))`` then repeated
``QDense(kernel/bias quantized_bits(.., alpha=1)) -> QActivation(quantized_relu(b, i))`` then a final
``QDense`` -> ``QActivation(quantized_bits(b, i, alpha=1))``; output [mu | logvar] (VAE) or the latent
vector (AE). No batch normalization, no sampling, no other layers.

:func:`deployable_encoder` returns a fresh copy whose stored kernels and biases are already the quantized
values (the quantizers are idempotent on them), so reading the weights from ``encoder.h5`` gives the
exact fixed-point numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from l1ad import keras_compat

__all__ = ["EncoderContractError", "check_encoder_contract", "quantized_weights", "deployable_encoder", "is_deployable"]


class EncoderContractError(ValueError):
    """The model is not a deployable encoder; the message names the offending layer."""


def _quantizer_name(q: Any) -> str:
    return type(q).__name__ if q is not None else "None"


def _check_bits(q: Any, where: str, kind: str = "quantized_bits") -> None:
    if _quantizer_name(q) != kind:
        raise EncoderContractError(f"{where}: quantizer is {_quantizer_name(q)}, expected {kind}")
    if kind == "quantized_bits":
        alpha = getattr(q, "alpha", None)
        if isinstance(alpha, str) or alpha is None or float(alpha) != 1.0:
            raise EncoderContractError(f"{where}: quantized_bits must use alpha=1, got alpha={q.alpha!r}")
        if not q.keep_negative or q.symmetric or q.use_stochastic_rounding:
            raise EncoderContractError(f"{where}: quantized_bits must be signed, non-symmetric, deterministic")
    elif kind == "quantized_relu":
        if q.negative_slope or q.use_sigmoid or q.use_stochastic_rounding or q.relu_upper_bound:
            raise EncoderContractError(f"{where}: quantized_relu must be a plain saturating relu")


def check_encoder_contract(model: Any) -> None:
    """Raise :class:`EncoderContractError` unless ``model`` obeys the deployable encoder contract."""
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if len(model.inputs) != 1 or len(model.outputs) != 1 or len(model.inputs[0].shape) != 2:
        raise EncoderContractError(f"{model.name}: needs one (N, n_in) input and one output")
    if len(layers) < 3 or len(layers) % 2 != 1:
        raise EncoderContractError(
            f"{model.name}: wrong number of layers ({len(layers)}): "
            + ", ".join(type(layer).__name__ for layer in layers)
        )
    first, dense_act = layers[0], layers[1:]
    if not isinstance(first, qk.QActivation):
        raise EncoderContractError(
            f"{first.name}: first layer must be QActivation(quantized_bits), got {type(first).__name__}"
        )
    _check_bits(first.quantizer, f"{first.name} (input quantizer)")
    pairs = list(zip(dense_act[0::2], dense_act[1::2], strict=True))
    for n, (dense, act) in enumerate(pairs):
        last = n == len(pairs) - 1
        if type(dense) is not qk.QDense:
            raise EncoderContractError(f"{dense.name}: expected QDense, got {type(dense).__name__}")
        if dense.activation.__name__ != "linear":
            raise EncoderContractError(
                f"{dense.name}: QDense must have a linear activation "
                f"(got {dense.activation.__name__}); use a separate QActivation"
            )
        _check_bits(dense.kernel_quantizer_internal, f"{dense.name} kernel")
        if dense.use_bias:
            _check_bits(dense.bias_quantizer_internal, f"{dense.name} bias")
        if not isinstance(act, qk.QActivation):
            raise EncoderContractError(f"{act.name}: expected QActivation after {dense.name}, got {type(act).__name__}")
        _check_bits(act.quantizer, f"{act.name}", "quantized_bits" if last else "quantized_relu")
    # the layers must form one chain from the input to the output
    if not isinstance(model, keras.Sequential):
        config = model.get_config()
        previous = config["input_layers"][0][0]
        for entry in config["layers"][1:]:
            nodes = entry.get("inbound_nodes") or []
            sources = [inbound[0] for node in nodes for inbound in node]
            if sources != [previous]:
                raise EncoderContractError(
                    f"{entry['name']}: layers do not form a single chain (inputs {sources}, expected [{previous!r}])"
                )
            previous = entry["name"]


def quantized_weights(dense: Any) -> list[np.ndarray]:
    """[kernel, bias] of a QDense after its quantizers (the exact fixed-point values, as float)."""
    out = [np.asarray(dense.kernel_quantizer_internal(dense.kernel).numpy(), dtype=np.float32)]
    if dense.use_bias:
        out.append(np.asarray(dense.bias_quantizer_internal(dense.bias).numpy(), dtype=np.float32))
    return out


def deployable_encoder(encoder: Any) -> Any:
    """Check ``encoder`` against the contract; return a plain copy with quantized weights stored in it."""
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    check_encoder_contract(encoder)
    copy = keras.models.clone_model(encoder)
    copy.set_weights(encoder.get_weights())
    for layer in copy.layers:
        if type(layer) is qk.QDense:
            layer.set_weights(quantized_weights(layer))
    check_encoder_contract(copy)
    return copy


def is_deployable(encoder: Any) -> bool:
    try:
        check_encoder_contract(encoder)
    except EncoderContractError:
        return False
    return True
