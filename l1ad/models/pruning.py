"""Magnitude pruning with tensorflow_model_optimization (tfmot), which works with tf_keras + QKeras layers.

Sparsity ramps polynomially from 0 to the target over the first half of the quantized-training epochs
(``ModelConfig.quantized_epochs``), then holds; pruned
kernels are zero in the stored float weights, so they quantize to exactly zero.
"""

from __future__ import annotations

import math
from typing import Any

from l1ad.models.config import ModelConfig

__all__ = ["wrap", "strip", "sparsity"]


def _tfmot() -> Any:
    from l1ad import keras_compat

    keras_compat.keras()  # TF_USE_LEGACY_KERAS must be set before tfmot imports TensorFlow
    import tensorflow_model_optimization as tfmot

    return tfmot


def wrap(encoder: Any, decoder: Any, sparsity: float, cfg: ModelConfig, n_train: int) -> tuple[Any, Any, list]:
    """Wrap both models for magnitude pruning; returns (encoder, decoder, callbacks to pass to fit).
    ``decoder`` may be None (a model without decoder, e.g. the teacher-student regressor)."""
    if not 0.0 < sparsity < 1.0:
        raise ValueError(f"pruning sparsity must be in (0, 1), got {sparsity}")
    tfmot = _tfmot()
    steps_per_epoch = max(1, math.ceil(n_train / cfg.batch_size))
    end_step = steps_per_epoch * max(1, cfg.quantized_epochs // 2)
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        0.0, sparsity, begin_step=0, end_step=end_step, frequency=max(1, steps_per_epoch // 2)
    )
    prune = tfmot.sparsity.keras.prune_low_magnitude
    return (
        prune(encoder, pruning_schedule=schedule),
        None if decoder is None else prune(decoder, pruning_schedule=schedule),
        [tfmot.sparsity.keras.UpdatePruningStep()],
    )


def strip(encoder: Any, decoder: Any) -> tuple[Any, Any]:
    """Remove the pruning wrappers (keeps the zeroed weights)."""
    tfmot = _tfmot()
    strip = tfmot.sparsity.keras.strip_pruning
    return strip(encoder), None if decoder is None else strip(decoder)


def sparsity(model: Any) -> float:
    """Fraction of zero kernel entries over all kernels of ``model``."""
    import numpy as np

    kernels = [np.asarray(w) for layer in model.layers for w in layer.weights if "kernel" in w.name]
    total = sum(k.size for k in kernels)
    return float(sum(int(np.count_nonzero(k == 0)) for k in kernels) / total) if total else 0.0
