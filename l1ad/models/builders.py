"""Encoders and decoders of the four published architectures, float (Keras 2) and quantized (QKeras).

- DNN: encoder 57 -> hidden... -> latent head; decoder mirrors the hidden widths back to 57.
- CNN: the 57 inputs are reshaped to the (19, 3, 1) image; encoder Conv(f0, 3x3) -> MaxPool(3, 1) ->
  Conv(f1, 3x1) -> flatten -> latent head; decoder Dense -> Reshape -> UpSampling -> Conv -> Conv(1) -> 57.
- The latent head is ONE dense layer with ``2*latent`` outputs [mu | logvar] for a VAE, ``latent`` for an AE.
- The teacher-student regressor (:func:`build_student`) is a DNN encoder with ONE output.
- Float DNN encoders start with a batch normalization of the inputs (``input_batchnorm``, folded into the
  first quantized layer; not for CNNs, whose shared kernels cannot absorb a per-input gain); with
  ``bounded_outputs`` the decoder ends in ``BoundedOutput`` (eta / phi tanh-bounded).

Quantized models have no batch normalization (the deployable encoder contract forbids it); their
encoder is: InputLayer -> QActivation(input quantizer) -> [QDense -> QActivation(quantized_relu)]... ->
QDense(head) -> QActivation(quantized_bits) (see :mod:`l1ad.models.export`). Float models use batch
normalization when ``config.batchnorm`` and ReLU / LeakyReLU(0.3).
Every builder takes all inputs as (N, 57) floats (the preprocessed input format values).
"""

from __future__ import annotations

from typing import Any

from l1ad import keras_compat
from l1ad.data.adc2021 import N_INPUTS, N_OBJECTS
from l1ad.models.config import ModelConfig

IMAGE_SHAPE = (N_OBJECTS, 3, 1)
POOL = (3, 1)


def _quantizers(cfg: ModelConfig) -> dict[str, Any]:
    qk = keras_compat.qkeras()
    return {
        "input": qk.quantized_bits(cfg.input_bits, cfg.input_integer - 1, alpha=1),
        "kernel": qk.quantized_bits(cfg.weight_bits, cfg.weight_integer, alpha=1),
        "first_kernel": qk.quantized_bits(cfg.first_layer_weight_bits or cfg.weight_bits, cfg.weight_integer, alpha=1),
        "bias": qk.quantized_bits(cfg.bias_bits, cfg.bias_integer, alpha=1),
        "relu": qk.quantized_relu(cfg.act_bits, cfg.act_integer),
        "output": qk.quantized_bits(cfg.output_bits, cfg.output_integer, alpha=1),
    }


def head_units(cfg: ModelConfig) -> int:
    """Width of the encoder output: 2*latent ([mu | logvar]) for a VAE, latent for an AE."""
    return 2 * cfg.latent if cfg.variational else cfg.latent


def _float_block(x: Any, cfg: ModelConfig, name: str) -> Any:
    keras = keras_compat.keras()
    if cfg.batchnorm:
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    if cfg.activation == "leaky_relu":
        return keras.layers.LeakyReLU(0.3, name=f"{name}_act")(x)
    return keras.layers.ReLU(name=f"{name}_act")(x)


def _dense(
    units: int,
    cfg: ModelConfig,
    quantized: bool,
    name: str,
    q: dict | None,
    x: Any,
    act: bool,
    kernel_key: str = "kernel",
) -> Any:
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    if quantized:
        assert q is not None
        x = qk.QDense(units, kernel_quantizer=q[kernel_key], bias_quantizer=q["bias"], name=name)(x)
        return qk.QActivation(q["relu"], name=f"{name}_relu")(x) if act else x
    x = keras.layers.Dense(units, name=name)(x)
    return _float_block(x, cfg, name) if act else x


def _conv(
    filters: int,
    kernel: tuple[int, int],
    padding: str,
    cfg: ModelConfig,
    quantized: bool,
    name: str,
    q: dict | None,
    x: Any,
    act: bool = True,
    kernel_key: str = "kernel",
) -> Any:
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    if quantized:
        assert q is not None
        x = qk.QConv2D(
            filters, kernel, padding=padding, kernel_quantizer=q[kernel_key], bias_quantizer=q["bias"], name=name
        )(x)
        return qk.QActivation(q["relu"], name=f"{name}_relu")(x) if act else x
    x = keras.layers.Conv2D(filters, kernel, padding=padding, name=name)(x)
    return _float_block(x, cfg, name) if act else x


def build_encoder(cfg: ModelConfig, quantized: bool) -> Any:
    """Encoder (N,57) -> (N, head_units): [mu | logvar] for a VAE, the latent vector for an AE."""
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    q = _quantizers(cfg) if quantized else None
    inp = keras.Input((N_INPUTS,), name="inputs")
    if q is not None:
        x = qk.QActivation(q["input"], name="input_quant")(inp)
    elif cfg.input_batchnorm and not cfg.convolutional:  # a per-input gain cannot fold into a shared conv kernel
        x = keras.layers.BatchNormalization(name="input_bn")(inp)
    else:
        x = inp
    if cfg.convolutional:
        x = keras.layers.Reshape(IMAGE_SHAPE, name="to_image")(x)
        x = _conv(cfg.conv_filters[0], (3, 3), "same", cfg, quantized, "enc_conv0", q, x, kernel_key="first_kernel")
        x = keras.layers.MaxPooling2D(POOL, name="enc_pool")(x)
        x = _conv(cfg.conv_filters[1], (3, 1), "valid", cfg, quantized, "enc_conv1", q, x)
        x = keras.layers.Flatten(name="enc_flatten")(x)
    else:
        for i, width in enumerate(cfg.hidden):
            x = _dense(
                width, cfg, quantized, f"enc_dense{i}", q, x, act=True, kernel_key="kernel" if i else "first_kernel"
            )
    x = _dense(head_units(cfg), cfg, quantized, "enc_head", q, x, act=False)
    if q is not None:
        x = qk.QActivation(q["output"], name="enc_head_quant")(x)
    return keras.Model(inp, x, name="encoder")


def _cnn_encoder_grid(cfg: ModelConfig) -> tuple[int, int, int]:
    rows = IMAGE_SHAPE[0] // POOL[0] - 2  # after MaxPool(3,1) and the valid 3x1 conv
    return rows, IMAGE_SHAPE[1], cfg.conv_filters[1]


def build_decoder(cfg: ModelConfig, quantized: bool) -> Any:
    """Decoder (N, latent) -> (N, 57) reconstruction (linear output, in the input-format units)."""
    keras = keras_compat.keras()
    q = _quantizers(cfg) if quantized else None
    inp = keras.Input((cfg.latent,), name="latent")
    if cfg.convolutional:
        rows, cols, ch = _cnn_encoder_grid(cfg)
        x = _dense(rows * cols * ch, cfg, quantized, "dec_dense", q, inp, act=True)
        x = keras.layers.Reshape((rows, cols, ch), name="dec_reshape")(x)
        x = keras.layers.UpSampling2D(POOL, name="dec_upsample")(x)
        missing = IMAGE_SHAPE[0] - rows * POOL[0]
        x = keras.layers.ZeroPadding2D(((missing // 2, missing - missing // 2), (0, 0)), name="dec_pad")(x)
        x = _conv(cfg.conv_filters[0], (3, 3), "same", cfg, quantized, "dec_conv0", q, x)
        x = _conv(1, (3, 3), "same", cfg, quantized, "dec_conv_out", q, x, act=False)
        x = keras.layers.Flatten(name="dec_flatten")(x)
    else:
        x = inp
        for i, width in enumerate(reversed(cfg.hidden)):
            x = _dense(width, cfg, quantized, f"dec_dense{i}", q, x, act=True)
        x = _dense(N_INPUTS, cfg, quantized, "dec_out", q, x, act=False)
    if cfg.bounded_outputs:
        from l1ad.models.layers import bounded_output_class, output_bounds

        x = bounded_output_class()(output_bounds(), name="bounded_out")(x)
    return keras.Model(inp, x, name="decoder")


def student_config(cfg: ModelConfig) -> ModelConfig:
    """The ModelConfig that builds the teacher-student regressor: a DNN 'AE' encoder with one output, the
    ``student_*`` quantization, ReLU hidden activations (float BN blocks and input BN as the VAE's)."""
    import dataclasses

    return dataclasses.replace(
        cfg,
        model="dnn-ae",
        hidden=cfg.student_hidden,
        latent=1,
        activation="relu",
        weight_bits=cfg.student_weight_bits,
        first_layer_weight_bits=None,
        act_bits=cfg.student_act_bits,
        act_integer=cfg.student_act_integer,
        output_bits=cfg.student_output_bits,
        output_integer=cfg.student_output_integer,
        prune=cfg.student_prune,
        student=False,
    )


def build_student(cfg: ModelConfig, quantized: bool) -> Any:
    """Teacher-student regressor (N,57) -> (N,1): a deployable-contract encoder with a single output."""
    model = build_encoder(student_config(cfg), quantized)
    model._name = "student"
    return model


def build_quantized_encoder(
    n_inputs: int = N_INPUTS,
    hidden: tuple[int, ...] = (32, 16),
    latent: int = 3,
    variational: bool = True,
    input_bits: int = 16,
    input_integer: int = 6,
    weight_bits: int = 8,
    weight_integer: int = 1,
    bias_bits: int = 12,
    bias_integer: int = 3,
    act_bits: int = 8,
    act_integer: int = 3,
    output_bits: int = 16,
    output_integer: int = 4,
    seed: int | None = None,
    random_biases: bool = False,
) -> Any:
    """A deployable-contract DNN encoder with random (seeded) weights, for randomized firmware tests.

    ``input_integer`` counts the sign bit (ap_fixed); the other ``*_integer`` follow QKeras (no sign).
    ``random_biases`` draws biases uniformly in +-2**bias_integer/2 instead of zeros, so they are exercised.
    The weights are stored unquantized; the QKeras quantizers quantize them on the fly (as after training).
    """
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    init = keras.initializers.GlorotUniform(seed=seed)
    limit = 2.0**bias_integer / 2
    bias_init = (
        keras.initializers.RandomUniform(-limit, limit, seed=None if seed is None else seed + 1)
        if random_biases
        else "zeros"
    )
    kq = qk.quantized_bits(weight_bits, weight_integer, alpha=1)
    bq = qk.quantized_bits(bias_bits, bias_integer, alpha=1)
    inp = keras.Input((n_inputs,), name="inputs")
    x = qk.QActivation(qk.quantized_bits(input_bits, input_integer - 1, alpha=1), name="input_quant")(inp)
    for i, width in enumerate(hidden):
        x = qk.QDense(
            width,
            kernel_quantizer=kq,
            bias_quantizer=bq,
            kernel_initializer=init,
            bias_initializer=bias_init,
            name=f"enc_dense{i}",
        )(x)
        x = qk.QActivation(qk.quantized_relu(act_bits, act_integer), name=f"enc_dense{i}_relu")(x)
    x = qk.QDense(
        2 * latent if variational else latent,
        kernel_quantizer=kq,
        bias_quantizer=bq,
        kernel_initializer=init,
        bias_initializer=bias_init,
        name="enc_head",
    )(x)
    x = qk.QActivation(qk.quantized_bits(output_bits, output_integer, alpha=1), name="enc_head_quant")(x)
    return keras.Model(inp, x, name="encoder")


def full_model(encoder: Any, decoder: Any, cfg: ModelConfig, name: str) -> Any:
    """Inference model x -> [encoder output, reconstruction from z = mu] (saved as ``model.h5``)."""
    keras = keras_compat.keras()
    inp = keras.Input(encoder.input_shape[1:], name="inputs")
    enc = encoder(inp)
    recon = decoder(enc[:, : cfg.latent] if cfg.variational else enc)
    return keras.Model(inp, [enc, recon], name=name)
