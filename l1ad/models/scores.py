"""Float trigger scores (numpy), per event, summed over latent dimensions.

With the encoder output ``[mu | logvar]`` (VAE; an AE's latent vector is treated as ``mu``):

- ``kl``      = 0.5 * sum_k (mu_k**2 + exp(logvar_k) - 1 - logvar_k)    KL(N(mu, sigma^2) || N(0, 1))
- ``kl_mean`` = kl / latent                                              (mean over latent dims, published code)
- ``rz``      = sum_k mu_k**2 * exp(-logvar_k)                           (= sum mu^2 / sigma^2)
- ``mu2``     = sum_k mu_k**2                                            (AXOL1TL; the only AE encoder score)
- ``mse``     = (1/57) * sum_j mask_j * (target_j - recon_j)**2          (full model reconstruction)

Convention: larger score = more anomalous; an event is selected when score > threshold.
"""

from __future__ import annotations

import numpy as np

from l1ad.data.adc2021 import N_INPUTS

ENCODER_SCORES_VAE = ("kl", "rz", "mu2")
ENCODER_SCORES_AE = ("mu2",)


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


def _pair(mu: np.ndarray, logvar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, logvar = _2d(mu, "mu"), _2d(logvar, "logvar")
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {mu.shape} and logvar {logvar.shape} shapes differ")
    return mu, logvar


def kl(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL(N(mu, exp(logvar)) || N(0,1)) summed over latent dimensions, (N,)."""
    mu, logvar = _pair(mu, logvar)
    return 0.5 * np.sum(mu**2 + np.exp(logvar) - 1.0 - logvar, axis=1)


def kl_mean(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL averaged over latent dimensions, (N,)."""
    return kl(mu, logvar) / np.shape(mu)[1]


def rz(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """sum_k mu_k^2 / sigma_k^2 = sum_k mu_k^2 exp(-logvar_k), (N,)."""
    mu, logvar = _pair(mu, logvar)
    return np.sum(mu**2 * np.exp(-logvar), axis=1)


def mu2(mu: np.ndarray) -> np.ndarray:
    """sum_k mu_k^2, (N,)."""
    return np.sum(_2d(mu, "mu") ** 2, axis=1)


def mse(target: np.ndarray, recon: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Masked reconstruction MSE: (1/57) sum_j mask_j (target_j - recon_j)^2, (N,)."""
    t, r, m = _2d(target, "target"), _2d(recon, "reconstruction"), _2d(mask, "mask")
    if not (t.shape == r.shape == m.shape) or t.shape[1] != N_INPUTS:
        raise ValueError(f"target {t.shape}, reconstruction {r.shape}, mask {m.shape} must all be (N, {N_INPUTS})")
    return np.sum(m * (t - r) ** 2, axis=1) / N_INPUTS


def encoder_scores(enc_out: np.ndarray, latent: int, variational: bool) -> dict[str, np.ndarray]:
    """All encoder scores of an encoder output: kl, kl_mean, rz, mu2 for a VAE; mu2 for an AE."""
    mu, logvar = split_encoder_output(enc_out, latent, variational)
    if logvar is None:
        return {"mu2": mu2(mu)}
    return {"kl": kl(mu, logvar), "kl_mean": kl_mean(mu, logvar), "rz": rz(mu, logvar), "mu2": mu2(mu)}
