"""The golden model: bit-exact numpy emulation of the fixed-point encoder + score, on integer codes.

Every other form of the trigger (QKeras quantized inference, hls4ml C-simulation, RTL simulation) is
checked against it, integer for integer. Layer semantics are documented in ``l1ad.fixed.model``, the
score in ``l1ad.fixed.score``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from l1ad.fixed.model import DenseLayer, FixedFormat, FixedPointModel
from l1ad.fixed.score import score_codes


@dataclass
class GoldenOutputs:
    """Integer codes of every layer output, the latent split and the score."""

    layers: list[np.ndarray]
    mu: np.ndarray
    logvar: np.ndarray | None
    score: np.ndarray


def check_input_codes(model: FixedPointModel, codes: np.ndarray) -> np.ndarray:
    """Validate input codes (integer dtype, shape (N, n_inputs), inside the input format) and return int64."""
    arr = np.asarray(codes)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"input codes must be integers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != model.n_inputs:
        raise ValueError(f"input codes have shape {arr.shape}, expected (N, {model.n_inputs})")
    fmt = model.input_format
    if arr.size and (arr.min() < fmt.min_code or arr.max() > fmt.max_code):
        raise ValueError(f"input codes outside {fmt.ap_type()} [{fmt.min_code}, {fmt.max_code}]: "
                         "saturate them in preprocessing (InputFormat.to_codes)")
    return arr.astype(np.int64, copy=False)


def dense_forward(layer: DenseLayer, x: np.ndarray, input_format: FixedFormat) -> np.ndarray:
    """One layer on int64 input codes: exact accumulation, activation, requantization."""
    f_acc = layer.accumulator_frac(input_format)
    acc = (x @ layer.weight) << (f_acc - input_format.frac - layer.weight_format.frac)
    acc += layer.bias << (f_acc - layer.bias_format.frac)
    if layer.activation == "relu":
        np.maximum(acc, 0, out=acc)
    return layer.output_format.requantize(acc, f_acc)


def golden_forward(model: FixedPointModel, codes: np.ndarray) -> GoldenOutputs:
    """Run the encoder and the score on a batch of input codes."""
    x = check_input_codes(model, codes)
    outputs = []
    for layer, fmt in zip(model.layers, model.layer_input_formats()):
        x = dense_forward(layer, x, fmt)
        outputs.append(x)
    mu = x[:, : model.latent]
    logvar = x[:, model.latent :] if model.has_logvar else None
    return GoldenOutputs(layers=outputs, mu=mu, logvar=logvar, score=score_codes(model.score, mu, logvar))


def golden_score(model: FixedPointModel, codes: np.ndarray) -> np.ndarray:
    """Integer score codes (``model.score.output_format``) of a batch of input codes."""
    return golden_forward(model, codes).score
