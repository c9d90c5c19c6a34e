"""Training losses (TensorFlow): masked MSE for the reconstruction, KL term, beta-VAE total.

The reconstruction target travels with its mask: ``y_true = concat([target, mask], axis=-1)``, shape
(N, 2*57), built by :func:`pack_targets`; an optional 115th column flags real (1) and augmented (0) events
(augmented events enter only the distillation terms). Per event::

    mse = (1/57) * sum_j mask_j * (target_j - recon_j)**2     (zero-padded slots do not count)
    sse = 57 * mse = sum_j mask_j * (target_j - recon_j)**2
    kl  = 0.5 * sum_k (mu_k**2 + exp(logvar_k) - 1 - logvar_k)
    vae = (1 - beta) * mse + beta * kl / latent                (reduction "mean", the AD@L1 recipe)
    vae = (1 - beta) * sse + beta * kl                         (reduction "sum")

With the AD@L1 target (per-slot standardized pT, raw eta / phi, :class:`l1ad.data.preprocess.
ReconstructionTarget`) the reconstruction term is of order one and the published "mean" reduction with beta
= 0.8 is used. With the input codes as target (values ~0.1) the mean collapses the encoder onto the prior
(measured: KL -> 5e-5 with beta = 0.1), hence the "sum" reduction there. The AE loss is the masked MSE.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from l1ad import keras_compat
from l1ad.data.adc2021 import N_INPUTS


def pack_targets(target: np.ndarray, mask: np.ndarray, real: np.ndarray | None = None) -> np.ndarray:
    """(N,57) target + (N,57) mask [+ (N,) real-event flags] -> (N,114) [(N,115)] float32 ``y_true``."""
    target, mask = np.asarray(target, np.float32), np.asarray(mask, np.float32)
    if target.shape != mask.shape or target.ndim != 2 or target.shape[1] != N_INPUTS:
        raise ValueError(f"target {target.shape} and mask {mask.shape} must both be (N, {N_INPUTS})")
    parts = [target, mask]
    if real is not None:
        real = np.asarray(real, np.float32).reshape(-1, 1)
        if real.shape[0] != target.shape[0]:
            raise ValueError(f"{real.shape[0]} real-event flags for {target.shape[0]} events")
        parts.append(real)
    return np.concatenate(parts, axis=1)


def real_flags(y_true: Any) -> Any:
    """The real-event flags of a packed ``y_true`` (ones when it has no flag column)."""
    tf = keras_compat.tensorflow()
    if y_true.shape[-1] > 2 * N_INPUTS:
        return y_true[:, 2 * N_INPUTS]
    return tf.ones_like(y_true[:, 0])


def masked_mse(y_true: Any, y_pred: Any) -> Any:
    """Per-event masked MSE (tensor (N,)); ``y_true`` = packed [target | mask]."""
    tf = keras_compat.tensorflow()
    target, mask = y_true[:, :N_INPUTS], y_true[:, N_INPUTS : 2 * N_INPUTS]
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
    """(1 - beta) * reconstruction + beta * kl, elementwise (reconstruction = :func:`masked_sse` and kl summed
    over the latent dimensions, or :func:`masked_mse` and kl / latent for the "mean" reduction)."""
    return (1.0 - beta) * reconstruction + beta * kl


#: Offset inside the logarithms of :func:`log_scores` (the background's KL reaches ~1e-5).
LOG_SCORE_EPS = 1e-6


def log_scores(encoder_output: Any, latent: int) -> Any:
    """(N, 3) log(kl + eps), log(rz + eps), log(mu2 + eps) of a VAE encoder output [mu | logvar]."""
    tf = keras_compat.tensorflow()
    mu, logvar = encoder_output[:, :latent], encoder_output[:, latent:]
    mu2 = tf.reduce_sum(tf.square(mu), axis=-1)
    kl = kl_divergence(mu, logvar)
    rz = tf.reduce_sum(tf.square(mu) * tf.exp(-logvar), axis=-1)
    return tf.math.log(tf.stack([kl, rz, mu2], axis=1) + LOG_SCORE_EPS)


def score_distillation(student: Any, teacher: Any, latent: int) -> Any:
    """Per-event sum over kl, rz and mu2 of (log student score - log teacher score)^2: pulls the quantized
    encoder's SCORES onto the float ones on a log scale, so that the ranking of the background bulk (scores
    ~1e-4, a few output LSBs) is learned as well as that of the tail."""
    tf = keras_compat.tensorflow()
    return tf.reduce_sum(tf.square(log_scores(student, latent) - log_scores(teacher, latent)), axis=-1)
