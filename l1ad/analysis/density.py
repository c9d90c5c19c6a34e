"""Density-based weak supervision (CATHODE-style) with a conditional Gaussian mixture.

1. Fit a Gaussian mixture to (features, m) of sideband events (scikit-learn ``GaussianMixture``, standardised).
2. Condition it on m analytically: each component's Gaussian conditional given m, re-weighted by the
   component's marginal density at m. This interpolates the background density into the signal region.
3. Sample features at the m values of signal-region events (oversampled) and train a classifier of SR data
   vs samples (k-fold, as in CWoLa; events outside the SR scored by a random fold's model). Its score ranks events by data / background-model density ratio.

A normalizing flow is the usual density estimator; a conditional mixture was chosen here because it trains in
seconds on the 2 shared CPU cores, is deterministic, and needs no extra dependency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special
from sklearn.mixture import GaussianMixture

from l1ad.analysis.cwola import Window, kfold_scores, window_labels

__all__ = ["ConditionalGMM", "fit_conditional", "cathode_scores"]


@dataclass
class ConditionalGMM:
    """p(x | m) from a joint Gaussian mixture over standardised (x, m)."""

    gmm: GaussianMixture
    mean: np.ndarray  # standardisation of (x, m)
    scale: np.ndarray

    @property
    def n_features(self) -> int:
        return self.mean.size - 1

    def _conditionals(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per event and component: log weight (N, K), conditional mean (N, K, D), conditional cov (K, D, D)."""
        z = (np.asarray(m, dtype=np.float64) - self.mean[-1]) / self.scale[-1]
        mu, cov, w = self.gmm.means_, self.gmm.covariances_, self.gmm.weights_
        s_xm = cov[:, :-1, -1]  # (K, D)
        s_mm = cov[:, -1, -1]  # (K,)
        cond_mean = mu[None, :, :-1] + (s_xm / s_mm[:, None])[None] * (z[:, None, None] - mu[None, :, -1:])
        cond_cov = cov[:, :-1, :-1] - np.einsum("ki,kj->kij", s_xm, s_xm) / s_mm[:, None, None]
        log_w = (np.log(w)[None] - 0.5 * np.log(2 * np.pi * s_mm)[None]
                 - 0.5 * (z[:, None] - mu[None, :, -1]) ** 2 / s_mm[None])
        log_w -= special.logsumexp(log_w, axis=1, keepdims=True)
        return log_w, cond_mean, cond_cov

    def sample(self, m: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One feature vector per value in ``m`` (original units)."""
        log_w, cmean, ccov = self._conditionals(m)
        cum = np.cumsum(np.exp(log_w), axis=1)
        comp = (rng.uniform(size=(len(cum), 1)) > cum).sum(axis=1).clip(max=cum.shape[1] - 1)
        chol = np.linalg.cholesky(ccov + 1e-9 * np.eye(self.n_features))
        eps = rng.normal(size=(len(comp), self.n_features))
        z = cmean[np.arange(len(comp)), comp] + np.einsum("nij,nj->ni", chol[comp], eps)
        return z * self.scale[:-1] + self.mean[:-1]

    def log_prob(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """log p(x | m) in original units."""
        log_w, cmean, ccov = self._conditionals(m)
        z = (np.asarray(x, dtype=np.float64) - self.mean[:-1]) / self.scale[:-1]
        chol = np.linalg.cholesky(ccov + 1e-9 * np.eye(self.n_features))
        diff = z[:, None, :] - cmean  # (N, K, D)
        sol = np.stack([np.linalg.solve(chol[k], diff[:, k].T).T for k in range(len(chol))], axis=1)
        log_det = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        comp = -0.5 * (sol**2).sum(-1) - 0.5 * log_det[None] - 0.5 * self.n_features * np.log(2 * np.pi)
        return special.logsumexp(log_w + comp, axis=1) - np.log(self.scale[:-1]).sum()


def fit_conditional(x: np.ndarray, m: np.ndarray, n_components: int = 10, seed: int = 0) -> ConditionalGMM:
    """Fit the joint mixture on (x, m) (use sideband events) and return the conditional model."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or len(x) != len(m):
        raise ValueError(f"features {x.shape} and resonant variable {m.shape} do not match")
    if len(x) < 5 * n_components:
        raise ValueError(f"only {len(x)} events to fit {n_components} components")
    if not (np.isfinite(x).all() and np.isfinite(m).all()):
        raise ValueError("features or resonant variable contain NaN/inf")
    joint = np.column_stack([x, m])
    mean, scale = joint.mean(0), joint.std(0)
    if (scale == 0).any():
        raise ValueError("a feature (or the resonant variable) is constant in the fit sample")
    gmm = GaussianMixture(n_components, covariance_type="full", reg_covar=1e-4, random_state=seed)
    gmm.fit((joint - mean) / scale)
    return ConditionalGMM(gmm, mean, scale)


def cathode_scores(x: np.ndarray, m: np.ndarray, window: Window, n_components: int = 10, oversample: int = 4,
                   n_folds: int = 5, seed: int = 0, classifier=None) -> tuple[np.ndarray, ConditionalGMM]:
    """Anomaly score of every event: classifier of SR data vs conditional-model samples (held-out in the SR,
    a random fold's model elsewhere). Returns (scores, fitted model)."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64).reshape(-1)
    in_win, label = window_labels(m, window)
    in_sr = in_win & (label == 1)
    in_sb = in_win & (label == 0)
    model = fit_conditional(x[in_sb], m[in_sb], n_components, seed)
    rng = np.random.default_rng(seed)
    m_samples = np.repeat(m[in_sr], oversample)
    samples = model.sample(m_samples, rng)
    xs = np.concatenate([x[in_sr], samples])
    ys = np.concatenate([np.ones(in_sr.sum()), np.zeros(len(samples))])
    held, other = kfold_scores(xs, ys, n_folds, seed, classifier, x[~in_sr])
    scores = np.empty(len(x))
    scores[in_sr] = held[: in_sr.sum()]
    scores[~in_sr] = other
    return scores, model
