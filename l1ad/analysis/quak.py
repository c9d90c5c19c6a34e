"""QUAK: one model per class (background + proxy signals), the loss space, selection, categories.

Each class gets a loss. Default (``model="vae"``): a small dense variational autoencoder per class (Keras 2
via :mod:`l1ad.keras_compat`) on the class's standardised features; the loss of an event is the VAE loss
(reconstruction 0.5 |x - x_hat|^2 with the latent mean as code, plus the KL divergence of the encoder
posterior to N(0, 1)), deterministic for a given seed. ``model="gmm"`` uses a scikit-learn Gaussian mixture
instead (loss = -log p(x), a fast stand-in). The background model is fit on the data itself (signal is
rare); proxy-signal models on simulated proxies that differ from the signal hunted. Selection: a linear
discriminant (scikit-learn LDA) trained proxy vs data in loss space, or a cut box. The top events are split
into equal-population categories by QUAK score; each is bump hunted and the p-values are combined with
Fisher's method. The single-model baseline ranks events by the background loss alone (what one autoencoder
does).
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
from l1ad.analysis.early_stop import BestWeights

__all__ = [
    "ClassLoss",
    "VAELoss",
    "fit_vae",
    "MODELS",
    "fit_class_losses",
    "loss_space",
    "lda_discriminant",
    "best_proxy_llr",
    "cut_box",
    "equal_population",
    "CategoryHunt",
    "category_hunt",
]


MODELS = ("vae", "gmm")


@dataclass
class ClassLoss:
    """-log density of one class (Gaussian mixture on standardised features)."""

    name: str
    model: Pipeline

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """-log p(x) in the original feature units (the standardisation's Jacobian is added back)."""
        log_jacobian = float(np.log(self.model[0].scale_).sum())
        return -self.model.score_samples(np.asarray(x, dtype=np.float64)) + log_jacobian


class VAELoss:
    """Dense VAE of one class on standardised features; calling it gives the per-event VAE loss."""

    def __init__(self, name: str, n_features: int, latent: int = 2, hidden: tuple[int, ...] = (32, 16), seed: int = 0):
        from l1ad import keras_compat

        keras = keras_compat.keras()
        keras.utils.set_random_seed(seed)
        self.name = name
        self.mean = np.zeros(n_features)
        self.scale = np.ones(n_features)
        self.history: list[float] = []
        inp = keras.Input((n_features,))
        h = inp
        for k, units in enumerate(hidden):
            h = keras.layers.Dense(units, activation="elu", name=f"enc{k}")(h)
        z_stats = keras.layers.Dense(2 * latent, name="z_stats")(h)
        self.encoder = keras.Model(inp, z_stats, name=f"{name}_encoder")
        zin = keras.Input((latent,))
        h = zin
        for k, units in enumerate(hidden[::-1]):
            h = keras.layers.Dense(units, activation="elu", name=f"dec{k}")(h)
        self.decoder = keras.Model(zin, keras.layers.Dense(n_features, name="x_hat")(h), name=f"{name}_decoder")
        self.latent = latent
        self._tf = keras_compat.tensorflow()

    def _terms(self, x, eps=None):
        tf = self._tf
        stats = self.encoder(x)
        mu, logvar = stats[:, : self.latent], tf.clip_by_value(stats[:, self.latent :], -10.0, 10.0)
        z = mu if eps is None else mu + tf.exp(0.5 * logvar) * eps
        recon = 0.5 * tf.reduce_sum(tf.square(x - self.decoder(z)), axis=1)
        kl = 0.5 * tf.reduce_sum(tf.exp(logvar) + tf.square(mu) - 1.0 - logvar, axis=1)
        return recon, kl

    def fit(
        self,
        x: np.ndarray,
        epochs: int = 40,
        batch_size: int = 256,
        learning_rate: float = 3e-3,
        patience: int = 5,
        validation_fraction: float = 0.1,
        seed: int = 0,
    ) -> VAELoss:
        from l1ad import keras_compat

        tf = self._tf
        self.mean, self.scale = x.mean(0), x.std(0)
        if (self.scale == 0).any():
            raise ValueError(f"class {self.name!r}: a feature is constant")
        z = ((x - self.mean) / self.scale).astype(np.float32)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(z))
        n_val = max(int(validation_fraction * len(z)), 1)
        val, train = z[order[:n_val]], z[order[n_val:]]
        opt = keras_compat.keras().optimizers.Adam(learning_rate)
        variables = self.encoder.trainable_variables + self.decoder.trainable_variables

        @tf.function(reduce_retracing=True)
        def step(batch, eps):
            with tf.GradientTape() as tape:
                recon, kl = self._terms(batch, eps)
                loss = tf.reduce_mean(recon + kl)
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
            return loss

        n_batches = max(len(train) // batch_size, 1)
        stopper = BestWeights(variables, patience)
        for _ in range(epochs):
            perm = rng.permutation(len(train))
            for b in range(n_batches):
                batch = train[perm[b * batch_size : (b + 1) * batch_size]]
                step(tf.constant(batch), tf.constant(rng.normal(size=(len(batch), self.latent)).astype(np.float32)))
            v = float(np.mean(self._loss_std(val)))
            self.history.append(v)
            if stopper.should_stop(v):
                break
        stopper.restore()
        return self

    def _loss_std(self, z: np.ndarray) -> np.ndarray:
        out = []
        for i in range(0, len(z), 16384):
            recon, kl = self._terms(self._tf.constant(z[i : i + 16384]))
            out.append((recon + kl).numpy())
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Per-event VAE loss (reconstruction with the latent mean + KL) of ``x`` in original units."""
        z = ((np.asarray(x, dtype=np.float64) - self.mean) / self.scale).astype(np.float32)
        return self._loss_std(z)


def fit_vae(
    name: str, x: np.ndarray, latent: int = 2, hidden: tuple[int, ...] = (32, 16), seed: int = 0, **fit_kw
) -> VAELoss:
    """Train one class VAE on ``x`` (deterministic given ``seed``, on the threads TensorFlow is set to)."""
    return VAELoss(name, x.shape[1], latent, hidden, seed).fit(np.asarray(x, dtype=np.float64), seed=seed, **fit_kw)


def fit_class_losses(
    classes: Mapping[str, np.ndarray],
    n_components: int = 8,
    seed: int = 0,
    max_events: int = 50_000,
    reg_covar: float = 1e-4,
    model: str = "vae",
    vae_kw: dict | None = None,
) -> list:
    """One loss per named sample (the first one is by convention the background): a :class:`VAELoss`
    (``model="vae"``, default) or a Gaussian-mixture :class:`ClassLoss` (``model="gmm"``)."""
    if not classes:
        raise ValueError("need at least one class sample")
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    out: list[VAELoss | ClassLoss] = []
    rng = np.random.default_rng(seed)
    min_events = 2 * n_components if model == "gmm" else 50
    for name, x in classes.items():
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or len(x) < min_events:
            raise ValueError(f"class {name!r}: need a 2-D sample with >= {min_events} events, got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"class {name!r}: features contain NaN/inf")
        if len(x) > max_events:
            x = x[rng.choice(len(x), max_events, replace=False)]
        if model == "vae":
            out.append(fit_vae(name, x, seed=seed, **(vae_kw or {})))
            continue
        pipe = make_pipeline(
            StandardScaler(),
            GaussianMixture(n_components, covariance_type="full", reg_covar=reg_covar, random_state=seed),
        )
        out.append(ClassLoss(name, pipe.fit(x)))
    return out


def loss_space(losses: Sequence, x: np.ndarray) -> np.ndarray:
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


def category_hunt(
    scores: np.ndarray,
    mres: np.ndarray,
    efficiency: float,
    n_categories: int,
    edges: np.ndarray,
    mass: float,
    resolution: float = 0.05,
    model: str = "dijet",
    reference: np.ndarray | None = None,
) -> CategoryHunt:
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
