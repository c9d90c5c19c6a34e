"""A QKeras encoder built the way a user outside l1ad might write it: odd widths, ``alpha=None`` where QKeras
scales by 1, quantizers given as QDense activations, a plain ReLU, chained QActivations, a latent of 5."""

from __future__ import annotations

import numpy as np

from l1ad import keras_compat


def odd_qkeras_encoder(seed: int = 0, latent: int = 5, variational: bool = True, n_in: int = 57):
    """57 -> 23 -> 11 -> 2 x latent (or latent) QKeras encoder with odd widths (see the module doc)."""
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    rng = np.random.default_rng(seed)
    inp = keras.Input((n_in,), name="l1_inputs")
    x = qk.QActivation(qk.quantized_bits(13, 4), name="in_q")(inp)  # alpha=None: scale 1
    x = qk.QDense(
        23,
        kernel_quantizer=qk.quantized_bits(7, 1, alpha=1),
        bias_quantizer=qk.quantized_bits(9, 3),
        activation=qk.quantized_relu(7, 3),
        name="fc1",
    )(x)
    x = qk.QDense(
        11, kernel_quantizer=qk.quantized_bits(5, 0, alpha=1), bias_quantizer=qk.quantized_bits(7, 2), name="fc2"
    )(x)
    x = keras.layers.ReLU(name="fc2_relu")(x)
    x = qk.QActivation(qk.quantized_bits(9, 3, alpha=1), name="fc2_q")(x)
    x = qk.QActivation(qk.quantized_relu(6, 2), name="fc2_relu_q")(x)
    x = qk.QDense(
        2 * latent if variational else latent,
        kernel_quantizer=qk.quantized_bits(6, 1, alpha=1),
        bias_quantizer=qk.quantized_bits(10, 4, alpha=1),
        activation=qk.quantized_bits(11, 4, alpha=1),
        name="latent",
    )(x)
    model = keras.Model(inp, x, name="outside_encoder")
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.normal(0.0, 0.6, w.shape) for w in weights])
    return model
