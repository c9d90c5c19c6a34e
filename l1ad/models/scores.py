"""Float anomaly scores of a model's outputs (numpy), per event.

The encoder scores are the registered scores of :mod:`l1ad.fixed.scores` (their ``float_score`` is the one
float definition): ``kl`` = 1/2 sum(mu^2 + e^lv - 1 - lv), ``rz`` = sum mu^2 e^-lv, ``mu2`` = sum mu^2, and
any score registered later. Besides them: ``kl_mean`` = kl / latent (the mean over latent dimensions, as the
published code reports it) and ``mse`` = (1/57) sum_j mask_j (target_j - recon_j)^2 (needs the decoder).
An AE's latent vector is treated as ``mu``. Convention: larger = more anomalous.
"""

from __future__ import annotations

import numpy as np

from l1ad.data.adc2021 import N_INPUTS
from l1ad.fixed import scores as registry

__all__ = ["split_encoder_output", "kl", "kl_mean", "rz", "mu2", "mse", "encoder_scores"]


def _2d(a: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, dims), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def split_encoder_output(
    enc_out: np.ndarray, latent: int, variational: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, 2*latent) [mu | logvar] -> (mu, logvar); an AE's (N, latent) -> (latent vector, None)."""
    out = _2d(enc_out, "encoder output")
    want = 2 * latent if variational else latent
    if out.shape[1] != want:
        raise ValueError(
            f"encoder output has {out.shape[1]} columns, expected {want} (latent={latent}, "
            f"{'VAE' if variational else 'AE'})"
        )
    return (out[:, :latent], out[:, latent:]) if variational else (out, None)


def _evaluate(kind: str, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
    score = registry.get(kind)
    m = _2d(mu, "mu")
    if not score.needs_logvar:
        return score.float_score(m, None)
    if logvar is None:
        raise ValueError(f"score {kind} needs logvar")
    lv = _2d(logvar, "logvar")
    if m.shape != lv.shape:
        raise ValueError(f"mu {m.shape} and logvar {lv.shape} shapes differ")
    return score.float_score(m, lv)


def kl(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL(N(mu, exp(logvar)) || N(0,1)) summed over latent dimensions, (N,)."""
    return _evaluate("kl", mu, logvar)


def kl_mean(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL averaged over latent dimensions, (N,)."""
    return kl(mu, logvar) / np.shape(mu)[1]


def rz(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """sum_k mu_k^2 / sigma_k^2 = sum_k mu_k^2 exp(-logvar_k), (N,)."""
    return _evaluate("rz", mu, logvar)


def mu2(mu: np.ndarray) -> np.ndarray:
    """sum_k mu_k^2, (N,)."""
    return _evaluate("mu2", mu, None)


def mse(target: np.ndarray, recon: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Masked reconstruction MSE: (1/57) sum_j mask_j (target_j - recon_j)^2, (N,)."""
    t, r, m = _2d(target, "target"), _2d(recon, "reconstruction"), _2d(mask, "mask")
    if not (t.shape == r.shape == m.shape) or t.shape[1] != N_INPUTS:
        raise ValueError(f"target {t.shape}, reconstruction {r.shape}, mask {m.shape} must all be (N, {N_INPUTS})")
    return np.sum(m * (t - r) ** 2, axis=1) / N_INPUTS


def encoder_scores(enc_out: np.ndarray, latent: int, variational: bool) -> dict[str, np.ndarray]:
    """Every registered score the encoder has (all for a VAE, those reading mu alone for an AE), plus
    ``kl_mean`` for a VAE."""
    mu, logvar = split_encoder_output(enc_out, latent, variational)
    out = {kind: _evaluate(kind, mu, logvar) for kind in registry.names(variational, encoder="encoder")}
    if variational and "kl" in out:
        out["kl_mean"] = out["kl"] / latent
    return out
