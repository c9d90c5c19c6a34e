"""QUAK: one density model per class (background + proxy signals), the loss space, selection, categories.

Each class gets a loss -log p_class(x). The models here are scikit-learn Gaussian mixtures on standardised
features: a fast, deterministic surrogate for the per-class VAEs of the QUAK paper (the loss plays the role of
the VAE loss; the 2 shared CPU cores here do not allow training several VAEs per injection point). The
background model is fit on the data itself (signal is rare); proxy-signal models on simulated proxies that
differ from the signal hunted. Selection: a linear discriminant (scikit-learn LDA) trained proxy vs data in
loss space, or a cut box. The top events are split into equal-population categories by QUAK score; each is
bump hunted and the p-values are combined with Fisher's method. The single-model baseline ranks events by the
background loss alone (what one autoencoder does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from l1ad.analysis import bumphunt
from l1ad.analysis.cwola import select_top

__all__ = ["ClassLoss", "fit_class_losses", "loss_space", "lda_discriminant", "best_proxy_llr", "cut_box", "equal_population",
           "CategoryHunt", "category_hunt"]


@dataclass
class ClassLoss:
    """-log density of one class (Gaussian mixture on standardised features)."""

    name: str
    model: Pipeline

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """-log p(x) in the original feature units (the standardisation's Jacobian is added back)."""
        log_jacobian = float(np.log(self.model[0].scale_).sum())
        return -self.model.score_samples(np.asarray(x, dtype=np.float64)) + log_jacobian


def fit_class_losses(classes: Mapping[str, np.ndarray], n_components: int = 8, seed: int = 0,
                     max_events: int = 50_000, reg_covar: float = 1e-4) -> list[ClassLoss]:
    """One :class:`ClassLoss` per named sample (the first one is by convention the background)."""
    if not classes:
        raise ValueError("need at least one class sample")
    out = []
    rng = np.random.default_rng(seed)
    for name, x in classes.items():
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or len(x) < 2 * n_components:
            raise ValueError(f"class {name!r}: need a 2-D sample with >= {2 * n_components} events, got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"class {name!r}: features contain NaN/inf")
        if len(x) > max_events:
            x = x[rng.choice(len(x), max_events, replace=False)]
        model = make_pipeline(StandardScaler(), GaussianMixture(n_components, covariance_type="full",
                                                                 reg_covar=reg_covar, random_state=seed))
        out.append(ClassLoss(name, model.fit(x)))
    return out


def loss_space(losses: Sequence[ClassLoss], x: np.ndarray) -> np.ndarray:
    """(N, n_classes) matrix of per-class losses."""
    return np.column_stack([loss(x) for loss in losses])


def lda_discriminant(loss_bkg: np.ndarray, loss_sig: np.ndarray) -> LinearDiscriminantAnalysis:
    """LDA in loss space trained proxy signal (1) vs background-like data (0); use ``.decision_function``."""
    x = np.concatenate([loss_bkg, loss_sig])
    y = np.concatenate([np.zeros(len(loss_bkg)), np.ones(len(loss_sig))])
    return LinearDiscriminantAnalysis().fit(x, y)


def best_proxy_llr(loss: np.ndarray) -> np.ndarray:
    """Log-likelihood ratio of the best-matching proxy signal to background: L_bkg - min_k L_proxy_k."""
    loss = np.asarray(loss)
    if loss.ndim != 2 or loss.shape[1] < 2:
        raise ValueError(f"loss space needs a background and >= 1 proxy column, got shape {loss.shape}")
    return loss[:, 0] - loss[:, 1:].min(axis=1)


def cut_box(loss: np.ndarray, bkg_min: float, sig_max: Sequence[float]) -> np.ndarray:
    """Events with background loss (column 0) > ``bkg_min`` and every signal loss (columns 1..) < ``sig_max``."""
    loss = np.asarray(loss)
    if loss.shape[1] != len(sig_max) + 1:
        raise ValueError(f"loss space has {loss.shape[1]} columns, expected 1 + {len(sig_max)} signal cuts")
    keep = loss[:, 0] > bkg_min
    for j, cut in enumerate(sig_max, start=1):
        keep &= loss[:, j] < cut
    return keep


def equal_population(scores: np.ndarray, keep: np.ndarray, n_categories: int) -> np.ndarray:
    """Category index (0 = most anomalous) of kept events, equal populations by score; -1 for the others."""
    if n_categories < 1:
        raise ValueError("n_categories must be >= 1")
    cat = np.full(len(scores), -1, dtype=int)
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(-scores[idx], kind="mergesort")]
    for c, part in enumerate(np.array_split(order, n_categories)):
        cat[part] = c
    return cat


@dataclass
class CategoryHunt:
    """Per-category bump hunts and their Fisher combination."""

    z_categories: list[float]
    mu_categories: list[float]
    n_categories: list[int]
    z_combined: float
    p_combined: float


def category_hunt(scores: np.ndarray, mres: np.ndarray, efficiency: float, n_categories: int,
                  edges: np.ndarray, mass: float, resolution: float = 0.05, model: str = "dijet",
                  reference: np.ndarray | None = None) -> CategoryHunt:
    """Keep the top ``efficiency`` (threshold from ``reference`` scores if given), split into equal-population
    categories, bump hunt each at ``mass`` and combine the local p-values (Fisher)."""
    thr = select_top(scores if reference is None else reference, efficiency)
    cat = equal_population(scores, scores > thr, n_categories)
    zs, mus, ns = [], [], []
    for c in range(n_categories):
        counts = bumphunt.binned_counts(mres[cat == c], edges)
        if counts.sum() < 10:
            z, mu = 0.0, 0.0
        else:
            z, fit = bumphunt.local_significance(counts, edges, mass, resolution * mass, model=model)
            mu = fit.mu
        zs.append(float(z))
        mus.append(float(mu))
        ns.append(int((cat == c).sum()))
    p_comb, z_comb = bumphunt.fisher_combination([max(float(bumphunt.z_to_p(z)), 1e-300) for z in zs])
    return CategoryHunt(zs, mus, ns, float(z_comb), float(p_comb))
