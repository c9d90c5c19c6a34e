"""Training losses (TensorFlow): masked MSE for the reconstruction, KL term, beta-VAE total.

The reconstruction target travels with its mask: ``y_true = concat([target, mask], axis=-1)``, shape
(N, 2*57), built by :func:`pack_targets`. Per event::

    mse = (1/57) * sum_j mask_j * (target_j - recon_j)**2     (zero-padded slots do not count)
    sse = 57 * mse = sum_j mask_j * (target_j - recon_j)**2
    kl  = 0.5 * sum_k (mu_k**2 + exp(logvar_k) - 1 - logvar_k)
    vae = (1 - beta) * sse + beta * kl

The VAE weighs the KL term against the SUM of squared errors over the features (the Gaussian
log-likelihood up to constants), not their mean: with the mean, the reconstruction term (~0.02 per event
on the l1ad input scale) is so small next to the KL that the encoder collapses onto the prior (measured:
KL -> 5e-5 with beta = 0.1). The AE loss is the masked MSE.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from l1ad import keras_compat
from l1ad.data.adc2021 import N_INPUTS


def pack_targets(target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(N,57) target + (N,57) mask -> (N,114) float32 ``y_true`` for :func:`masked_mse`."""
    target, mask = np.asarray(target, np.float32), np.asarray(mask, np.float32)
    if target.shape != mask.shape or target.ndim != 2 or target.shape[1] != N_INPUTS:
        raise ValueError(f"target {target.shape} and mask {mask.shape} must both be (N, {N_INPUTS})")
    return np.concatenate([target, mask], axis=1)


def masked_mse(y_true: Any, y_pred: Any) -> Any:
    """Per-event masked MSE (tensor (N,)); ``y_true`` = packed [target | mask]."""
    tf = keras_compat.tensorflow()
    target, mask = y_true[:, :N_INPUTS], y_true[:, N_INPUTS:]
    return tf.reduce_sum(mask * tf.square(target - y_pred), axis=-1) / float(N_INPUTS)


def masked_sse(y_true: Any, y_pred: Any) -> Any:
    """Per-event masked sum of squared errors (= 57 x :func:`masked_mse`), the VAE reconstruction term."""
    return masked_mse(y_true, y_pred) * float(N_INPUTS)


def kl_divergence(mu: Any, logvar: Any) -> Any:
    """Per-event KL(N(mu, exp(logvar)) || N(0, 1)) summed over latent dimensions (tensor (N,))."""
    tf = keras_compat.tensorflow()
    return 0.5 * tf.reduce_sum(tf.square(mu) + tf.exp(logvar) - 1.0 - logvar, axis=-1)


def distillation(student: Any, teacher: Any) -> Any:
    """Per-event squared distance between the quantized (student) and float (teacher) encoder outputs."""
    tf = keras_compat.tensorflow()
    return tf.reduce_sum(tf.square(student - teacher), axis=-1)


def teacher_score(teacher: Any, latent: int, variational: bool) -> Any:
    """The teacher's anomaly score per event: KL for a VAE encoder, sum(mu^2) / 2 for an AE encoder."""
    tf = keras_compat.tensorflow()
    if variational:
        return kl_divergence(teacher[:, :latent], teacher[:, latent:])
    return 0.5 * tf.reduce_sum(tf.square(teacher[:, :latent]), axis=-1)


def tail_weights(score: Any, tail: float) -> Any:
    """Per-event weights ``n * softmax(tail * score)`` over the batch: mean 1, growing as exp(tail * score).

    They concentrate the distillation on the events the trigger threshold sits among (the high-score tail);
    ``tail = 0`` gives uniform weights. The softmax form cannot overflow for any score.
    """
    tf = keras_compat.tensorflow()
    n = tf.cast(tf.shape(score)[0], score.dtype)
    return n * tf.nn.softmax(tail * score)


def vae_loss(reconstruction: Any, kl: Any, beta: float) -> Any:
    """(1 - beta) * reconstruction + beta * kl, elementwise (reconstruction = :func:`masked_sse`)."""
    return (1.0 - beta) * reconstruction + beta * kl
