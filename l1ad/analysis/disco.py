"""DisCo-decorrelated VAE (method ``"disco_vae"``), distance correlation and mass-sculpting figures.

A selection on an anomaly score that is correlated with the resonant variable m sculpts the background
spectrum: the selected background is no longer smooth where the bump hunt looks for a peak. DisCo (distance
correlation) regularisation adds lambda * dCor^2(score, m) to the training loss, computed batch-wise and
differentiably, which drives the score towards independence of m.

* :class:`DiscoVAE` is the dense VAE of the single-model baseline (:class:`l1ad.analysis.quak.VAELoss`: latent 2,
  hidden (32, 16) ELU, Adam 3e-3, at most 40 epochs, early stopping with patience 5 on 10 % of the events) whose
  loss gets the penalty lambda * dCor^2(s, m) with s the per-event VAE score (reconstruction at the latent mean
  plus KL, the score used for selection) over each batch. Defaults: lambda = ``DEFAULT_LAMBDA`` (100), batch 1024
  (dCor over a batch of 256 is noisy), at most 50k training events (like the baseline). Early stopping watches
  the validation loss including the penalty (estimated on 4096 validation events).
* :func:`distance_correlation` is the exact (V-statistic) sample distance correlation of Szekely, Rizzo and
  Bakirov (2007), in blocks so that memory stays O(n * block); the cost is O(n^2), so use a subsample of a few
  10^4 events for large samples.
* :func:`sculpting` compares the background m spectrum after a selection at a given efficiency with the
  spectrum before: Pearson chi2/ndf of the selected histogram against the inclusive shape, the
  Kolmogorov-Smirnov statistic between selected and rejected m, and, as in the DisCo paper, the Jensen-Shannon
  divergence (base 2, 0 = no sculpting, 1 = disjoint) between the m histograms of passing and failing events.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from l1ad.analysis import cwola, quak

__all__ = [
    "DEFAULT_LAMBDA",
    "distance_correlation",
    "sculpting",
    "DiscoVAE",
    "fit_disco_vae",
    "disco_vae_scores",
]

#: on the 384k-event null benchmark (scripts/bench_analysis/disco.py) lambda = 10 / 100 took dCor(score, m_jj) from
#: 0.044 to 0.038 / 0.022 and the chi2/ndf of the 1 %-selected m_jj spectrum from 8.2 to 6.1 / 2.7 (raw jet-mass
#: features: 0.087 -> 0.078 / 0.034, chi2/ndf 114 -> 81 / 14): 10 barely decorrelates
DEFAULT_LAMBDA = 100.0


def _column(v: np.ndarray, name: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (events, dims), got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError(f"{name} contains NaN/inf")
    return v


def _distances(v: np.ndarray, rows: slice) -> np.ndarray:
    if v.shape[1] == 1:
        return np.abs(v[rows, 0][:, None] - v[None, :, 0])
    return np.sqrt(((v[rows, None, :] - v[None, :, :]) ** 2).sum(-1))


def distance_correlation(a: np.ndarray, b: np.ndarray, block: int | None = None) -> float:
    """Sample distance correlation dCor(a, b) in [0, 1] (exact V-statistic; square it for dCor^2).

    ``a`` and ``b`` are (n,) or (n, d) arrays of the same n >= 2; 0 for independent variables (up to O(1/sqrt n)
    bias), 1 when one is a linear function of the other (1-D) or a similarity transform.
    """
    a, b = _column(a, "a"), _column(b, "b")
    n = len(a)
    if len(b) != n:
        raise ValueError(f"a has {n} events, b {len(b)}")
    if n < 2:
        raise ValueError("distance correlation needs at least 2 events")
    block = block or max(1, int(5e6 // (n * max(a.shape[1], b.shape[1]))))
    blocks = [slice(i, min(i + block, n)) for i in range(0, n, block)]
    ra, rb = np.empty(n), np.empty(n)
    for s in blocks:
        ra[s], rb[s] = _distances(a, s).mean(1), _distances(b, s).mean(1)
    ga, gb = ra.mean(), rb.mean()
    sab = saa = sbb = 0.0
    for s in blocks:
        da = _distances(a, s) - ra[s][:, None] - ra[None, :] + ga
        db = _distances(b, s) - rb[s][:, None] - rb[None, :] + gb
        sab, saa, sbb = sab + float((da * db).sum()), saa + float((da * da).sum()), sbb + float((db * db).sum())
    if saa <= 0 or sbb <= 0:
        return 0.0  # a constant variable is independent of anything
    return float(np.sqrt(max(sab, 0.0) / np.sqrt(saa * sbb)))


def _jsd(p: np.ndarray, q: np.ndarray) -> float:
    p, q = p / p.sum(), q / q.sum()
    mid = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / mid), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / mid), 0.0).sum()
    return float(0.5 * (kl_p + kl_q))


def sculpting(m_bkg: np.ndarray, score_bkg: np.ndarray, efficiency: float, edges: np.ndarray) -> dict:
    """How much keeping the top ``efficiency`` of background by score distorts its m spectrum (in ``edges``).

    Returns threshold, n_selected, chi2 / ndf (selected histogram vs the inclusive shape scaled to the
    selected count, bins with inclusive entries; ~1 without sculpting), ks (Kolmogorov-Smirnov statistic of
    selected vs rejected m) with its p-value, jsd (Jensen-Shannon divergence, base 2, of the passing vs failing
    m histograms) and inv_jsd = 1 / jsd.
    """
    m = np.asarray(m_bkg, dtype=np.float64).reshape(-1)
    s = np.asarray(score_bkg, dtype=np.float64).reshape(-1)
    if len(m) != len(s):
        raise ValueError(f"{len(m)} masses but {len(s)} scores")
    thr = cwola.select_top(s, efficiency)
    keep = s > thr
    if keep.sum() < 2 or (~keep).sum() < 2:
        raise ValueError(f"the selection at efficiency {efficiency} keeps {int(keep.sum())} of {len(s)} events")
    h_all = np.histogram(m, edges)[0].astype(np.float64)
    h_pass = np.histogram(m[keep], edges)[0].astype(np.float64)
    h_fail = np.histogram(m[~keep], edges)[0].astype(np.float64)
    used = h_all > 0
    expected = h_pass.sum() * h_all[used] / h_all[used].sum()
    chi2 = float((((h_pass[used] - expected) ** 2) / expected).sum())
    ndf = int(used.sum()) - 1
    ks = stats.ks_2samp(m[keep], m[~keep])
    jsd = _jsd(h_pass, h_fail)
    return {
        "efficiency": float(efficiency),
        "threshold": float(thr),
        "n_selected": int(keep.sum()),
        "chi2": chi2,
        "ndf": ndf,
        "chi2_ndf": chi2 / max(ndf, 1),
        "ks": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "jsd": jsd,
        "inv_jsd": 1.0 / jsd if jsd > 0 else float("inf"),
    }


class DiscoVAE(quak.VAELoss):
    """The single-model dense VAE trained with + lambda * dCor^2(score, m) per batch."""

    def _dcor2(self, a, b):
        tf = self._tf

        def centred(v):
            d = tf.abs(v[:, None] - v[None, :])
            return d - tf.reduce_mean(d, 0, keepdims=True) - tf.reduce_mean(d, 1, keepdims=True) + tf.reduce_mean(d)

        da, db = centred(a), centred(b)
        return tf.reduce_mean(da * db) / tf.sqrt(tf.reduce_mean(da * da) * tf.reduce_mean(db * db) + 1e-12)

    def fit_decorrelated(
        self,
        x: np.ndarray,
        m: np.ndarray,
        lam: float = DEFAULT_LAMBDA,
        epochs: int = 40,
        batch_size: int = 1024,
        learning_rate: float = 3e-3,
        patience: int = 5,
        validation_fraction: float = 0.1,
        seed: int = 0,
    ) -> DiscoVAE:
        """Train on features ``x`` with the penalty lambda * dCor^2(score, m) (``lam`` = 0: the plain VAE loss)."""
        from l1ad import keras_compat
        from l1ad.analysis.early_stop import BestWeights

        tf = self._tf
        x = np.asarray(x, dtype=np.float64)
        m = np.asarray(m, dtype=np.float64).reshape(-1)
        if len(x) != len(m):
            raise ValueError(f"{len(x)} events but {len(m)} masses")
        self.mean, self.scale = x.mean(0), x.std(0)
        if (self.scale == 0).any():
            raise ValueError(f"class {self.name!r}: a feature is constant")
        z = ((x - self.mean) / self.scale).astype(np.float32)
        mz = ((m - m.mean()) / (m.std() or 1.0)).astype(np.float32)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(z))
        n_val = max(int(validation_fraction * len(z)), 2)
        val, train = order[:n_val], order[n_val:]
        opt = keras_compat.keras().optimizers.Adam(learning_rate)
        variables = self.encoder.trainable_variables + self.decoder.trainable_variables
        lam_t = tf.constant(float(lam))

        @tf.function(reduce_retracing=True)
        def step(batch, mb, eps):
            with tf.GradientTape() as tape:
                recon, kl = self._terms(batch, eps)
                loss = tf.reduce_mean(recon + kl)
                if lam > 0:
                    r0, k0 = self._terms(batch)
                    loss = loss + lam_t * self._dcor2(r0 + k0, mb)
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
            return loss

        n_batches = max(len(train) // batch_size, 1)
        stopper = BestWeights(variables, patience)
        pen_val = val[:4096]
        for _ in range(epochs):
            perm = train[rng.permutation(len(train))]
            for b in range(n_batches):
                idx = perm[b * batch_size : (b + 1) * batch_size]
                eps = rng.normal(size=(len(idx), self.latent)).astype(np.float32)
                step(tf.constant(z[idx]), tf.constant(mz[idx]), tf.constant(eps))
            v = float(np.mean(self._loss_std(z[val])))
            if lam > 0:
                s = self._loss_std(z[pen_val]).astype(np.float32)
                v += float(lam) * float(self._dcor2(tf.constant(s), tf.constant(mz[pen_val])))
            self.history.append(v)
            if stopper.should_stop(v):
                break
        stopper.restore()
        return self


def fit_disco_vae(
    x: np.ndarray,
    m: np.ndarray,
    lam: float = DEFAULT_LAMBDA,
    seed: int = 0,
    max_events: int = 50_000,
    latent: int = 2,
    hidden: tuple[int, ...] = (32, 16),
    **fit_kw,
) -> DiscoVAE:
    """A DisCo VAE on (a random subsample of at most ``max_events`` of) ``x`` with masses ``m``."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or len(x) < 50:
        raise ValueError(f"DisCo VAE: need a 2-D sample of >= 50 events, got {x.shape}")
    if len(x) != len(m):
        raise ValueError(f"DisCo VAE: {len(x)} events but {len(m)} masses")
    if not (np.isfinite(x).all() and np.isfinite(m).all()):
        raise ValueError("DisCo VAE: features or masses contain NaN/inf")
    if len(x) > max_events:
        pick = np.random.default_rng(seed).choice(len(x), max_events, replace=False)
        x, m = x[pick], m[pick]
    vae = DiscoVAE("disco", x.shape[1], latent, hidden, seed)
    return vae.fit_decorrelated(x, m, lam, seed=seed, **fit_kw)


def disco_vae_scores(x: np.ndarray, m: np.ndarray, seed: int = 0, lam: float = DEFAULT_LAMBDA) -> np.ndarray:
    """Per-event loss of the DisCo VAE trained on (a subsample of) all events (window-independent)."""
    return fit_disco_vae(x, m, lam, seed)(x)
