"""Density-based weak supervision (CATHODE-style): conditional density p(x | m) fit in the sidebands.

1. Fit a conditional density estimator p(x | m) on sideband events (features and m standardised):
   - ``"flow"`` (default): a masked autoregressive normalizing flow from TensorFlow Probability
     (``tfp.bijectors.MaskedAutoregressiveFlow``, conditional ``AutoregressiveNetwork`` fed with m in every
     layer, reversing permutations between layers), trained by maximum likelihood with early stopping;
   - ``"gmm"``: a joint Gaussian mixture over (x, m) (scikit-learn) conditioned on m analytically
     (fast fallback, no TensorFlow).
   Both interpolate the background density into the signal region (SR) through their smooth dependence on m.
   ``n_models`` > 1 (``SearchConfig.density_models``) fits that many models with consecutive seeds, each flow on
   its own random subsample of the sidebands, and samples them as an equal-weight :class:`ModelMixture`: each
   flow's fitting artefacts are diluted, as CATHODE samples an ensemble of flow states.
2. Sample features at m values drawn from a Gaussian KDE of the SR m distribution (oversampled, reflected
   at the SR edges) and train a classifier of SR data vs samples (k-fold, as in CWoLa; events outside the SR
   scored by a random fold's model). Its score ranks events by data / background-model density ratio.
3. Sideband calibration (``calibration``, ``SearchConfig.density_calibration``, :data:`CALIBRATIONS`, default
   ``"trees_m"``; :func:`cathode_scores` alone does not calibrate unless asked): the fitted
   model is also sampled at the masses of the sideband events, and a classifier of sideband data (label 1) vs
   these samples (label 0), :func:`l1ad.analysis.salad.fit_weights` with the CWoLa boosted trees (``"trees_m"``:
   m an input; ``"trees"``: x only; ``"mlp_m"``: SALAD's MLP), learns w = p / (1 - p) (p clipped to
   [1e-3, 1 - 1e-3]). The SR samples carry w (scaled to mean 1) as event weights in the classifier of step 2
   (both classes' weights summing to the same total) and in the background model of the closure test. This
   undoes the part of the model's mis-modelling that is the same in the sidebands as in the SR.

Calibration measured (``scripts/bench_analysis/calibration_probe.py``: null sample of the 600k benchmark, seed 1,
logit flow on 30k sideband events; SR closure AUC of the (weighted) samples vs the reference file's SR background,
truth 0.507; in brackets the closure on held-out sideband events): none 0.551 (0.540), ``"trees"`` 0.531 / 0.527
with 100k / 200k events per class (0.510), ``"trees_m"`` 0.522 / 0.520 (0.511), ``"mlp_m"`` 0.534 (0.513); quantile
map: none 0.529 (0.521), ``"trees_m"`` 0.523 (0.503). The weights remove the sideband mis-modelling and about 2/3
of the logit flow's in the SR; the rest is not seen in the sidebands. On the benchmark the quantile map with
``"trees_m"`` raises the local Z at S/B 0.31 / 0.50 / 0.71 % from 0.59 / 3.37 / 5.74 (logit, no calibration) to
2.85 / 5.48 / 6.89 (seed 1; docs/analysis.md). A mixture of five quantile-mapped flows (the default) closes to 0.522
uncalibrated and 0.511 calibrated, and gives 4.23 / 6.15 / 8.30 (seed 1); over five seeds it is level with CWoLa
within the errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import QuantileTransformer

from l1ad.analysis import salad
from l1ad.analysis.cwola import Window, kfold_scores, named_classifier, window_labels
from l1ad.analysis.early_stop import BestWeights
from l1ad.analysis.references import balanced_weights

__all__ = [
    "SAMPLE_PREPROCESSING",
    "quantile_map",
    "ConditionalGMM",
    "ConditionalFlow",
    "fit_conditional",
    "ModelMixture",
    "fit_mixture",
    "fit_flow",
    "sample_sr_masses",
    "background_samples",
    "sideband_weights",
    "calibrated_background",
    "cathode_scores",
    "CALIBRATIONS",
    "DEFAULT_CALIBRATION",
    "M_SAMPLING",
    "ESTIMATORS",
]

ESTIMATORS = ("flow", "gmm")
#: flow preprocessing of the features: "standard" (standardised) or "logit" (scaled into the fit sample's range
#: widened by LOGIT_MARGIN on each side, logit-transformed, standardised: bounded and peaked features such as
#: tau21 become unbounded and smoother, as in CATHODE)
PREPROCESSING = ("standard", "logit")
#: ... and "quantile" in :func:`background_samples`: each feature mapped to a standard normal by its sideband
#: quantiles (:func:`quantile_map`) before a "standard" flow, mapped back after sampling.
SAMPLE_PREPROCESSING = (*PREPROCESSING, "quantile")
LOGIT_MARGIN = 0.02
#: Sideband calibration of the model samples (:func:`calibrated_background`): "none"; "trees": boosted trees
#: (one of :data:`l1ad.analysis.cwola.CLASSIFIERS`) of sideband data vs samples on x only, w(x); "trees_m": the
#: same with m as an input, w(x, m); "mlp_m": SALAD's MLP on (x, m) (smooth in m).
CALIBRATIONS = ("none", "trees", "trees_m", "mlp_m")
DEFAULT_CALIBRATION = "trees_m"  # SearchConfig.density_calibration's default too
CALIBRATION_MAX_EVENTS = 200_000  # per class: all 194k sideband events of the benchmark


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
        log_w = (
            np.log(w)[None]
            - 0.5 * np.log(2 * np.pi * s_mm)[None]
            - 0.5 * (z[:, None] - mu[None, :, -1]) ** 2 / s_mm[None]
        )
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


def _check_fit_inputs(x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or len(x) != len(m):
        raise ValueError(f"features {x.shape} and resonant variable {m.shape} do not match")
    if not (np.isfinite(x).all() and np.isfinite(m).all()):
        raise ValueError("features or resonant variable contain NaN/inf")
    return x, m


def fit_gmm(x: np.ndarray, m: np.ndarray, n_components: int = 10, seed: int = 0) -> ConditionalGMM:
    """Fit the joint mixture on (x, m) (use sideband events) and return the conditional model."""
    x, m = _check_fit_inputs(x, m)
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


class ConditionalFlow:
    """p(x | m) as a conditional masked autoregressive flow (TensorFlow Probability) on standardised (x, m)."""

    def __init__(
        self,
        n_features: int,
        n_layers: int = 4,
        hidden: tuple[int, ...] = (64, 64),
        seed: int = 0,
        preprocess: str = "standard",
    ):
        if preprocess not in PREPROCESSING:
            raise ValueError(f"preprocess must be one of {PREPROCESSING}, got {preprocess!r}")
        self.preprocess = preprocess
        from l1ad import keras_compat

        tf = keras_compat.tensorflow()
        tfp = keras_compat.tensorflow_probability()
        keras_compat.keras().utils.set_random_seed(seed)
        tfb, tfd = tfp.bijectors, tfp.distributions
        self.n_features = int(n_features)
        self.mean = np.zeros(self.n_features + 1)
        self.scale = np.ones(self.n_features + 1)
        self.lo = np.zeros(self.n_features)  # logit preprocessing: feature bounds (fit sample range + margin)
        self.hi = np.ones(self.n_features)
        self.history: list[tuple[float, float]] = []  # (train, validation) mean NLL per epoch
        self._names = [f"maf{i}" for i in range(n_layers)]
        self._made = []
        bijectors = []
        for i, name in enumerate(self._names):
            made = tfb.AutoregressiveNetwork(
                params=2,
                event_shape=[self.n_features],
                conditional=True,
                conditional_event_shape=[1],
                hidden_units=list(hidden),
                activation="tanh",
                name=f"made{i}",
            )
            self._made.append(made)

            def shift_and_log_scale(y, conditional_input=None, made=made):
                shift, log_scale = tf.unstack(made(y, conditional_input=conditional_input), axis=-1)
                return shift, 4.0 * tf.tanh(log_scale / 4.0)  # bounded scales keep training stable

            bijectors.append(tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=shift_and_log_scale, name=name))
            if self.n_features > 1 and i < n_layers - 1:
                bijectors.append(tfb.Permute(list(range(self.n_features))[::-1]))
        base = tfd.Sample(tfd.Normal(np.float32(0), np.float32(1)), [self.n_features])
        self.dist = tfd.TransformedDistribution(base, tfb.Chain(bijectors[::-1]))
        self._tf = tf
        # build the weights now, right after seeding (they are created lazily on the first call)
        self._z_log_prob(tf.zeros([1, self.n_features]), tf.zeros([1, 1]))

    def _kwargs(self, cond):
        return {name: {"conditional_input": cond} for name in self._names}

    @property
    def trainable_variables(self) -> list:
        return [v for made in self._made for v in made.trainable_variables]

    def _z_log_prob(self, z, c):
        return self.dist.log_prob(z, bijector_kwargs=self._kwargs(c))

    def fit(
        self,
        x: np.ndarray,
        m: np.ndarray,
        epochs: int = 100,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        patience: int = 10,
        validation_fraction: float = 0.1,
        seed: int = 0,
    ) -> ConditionalFlow:
        """Maximum likelihood on (x, m) with early stopping on a held-out fraction (best weights kept)."""
        x = np.asarray(x, dtype=np.float64)
        if self.preprocess == "logit":
            span = x.max(0) - x.min(0)
            self.lo, self.hi = x.min(0) - LOGIT_MARGIN * span, x.max(0) + LOGIT_MARGIN * span
        joint = self._joint(x, m)
        self.mean, self.scale = joint.mean(0), joint.std(0)
        if (self.scale == 0).any():
            raise ValueError("a feature (or the resonant variable) is constant in the fit sample")
        zj = ((joint - self.mean) / self.scale).astype(np.float32)
        return self.train(zj, epochs, batch_size, learning_rate, patience, validation_fraction, seed)

    def _joint(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        return np.column_stack([self._to_latent(np.asarray(x, dtype=np.float64))[0], m])

    def standardized(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Rows (x, m) as the flow sees them: preprocessed features and m, standardised as fitted (float32)."""
        return ((self._joint(x, m) - self.mean) / self.scale).astype(np.float32)

    def train(
        self,
        zj: np.ndarray,
        epochs: int = 100,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        patience: int = 10,
        validation_fraction: float = 0.1,
        seed: int = 0,
        start_counts: bool = False,
    ) -> ConditionalFlow:
        """Maximum likelihood on :meth:`standardized` rows from the current weights, early stopping on a held-out
        fraction (best weights kept; ``start_counts``: the current weights are a candidate too, so fine-tuning
        can only improve the held-out likelihood)."""
        from l1ad import keras_compat

        tf = self._tf
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(zj))
        n_val = max(int(validation_fraction * len(zj)), 1)
        val, train = zj[order[:n_val]], zj[order[n_val:]]
        d = self.n_features
        opt = keras_compat.keras().optimizers.Adam(learning_rate)
        variables = self.trainable_variables

        @tf.function(reduce_retracing=True)
        def step(batch):
            with tf.GradientTape() as tape:
                loss = -tf.reduce_mean(self._z_log_prob(batch[:, :d], batch[:, d:]))
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
            return loss

        @tf.function(reduce_retracing=True)
        def nll(batch):
            return -tf.reduce_sum(self._z_log_prob(batch[:, :d], batch[:, d:]))

        def mean_nll(arr):
            return float(sum(nll(tf.constant(arr[i : i + 8192])) for i in range(0, len(arr), 8192))) / len(arr)

        stopper = BestWeights(variables, patience)
        if start_counts:
            stopper.should_stop(mean_nll(val))
        n_batches = max(len(train) // batch_size, 1)
        for _ in range(epochs):
            perm = rng.permutation(len(train))
            losses = [
                float(step(tf.constant(train[perm[b * batch_size : (b + 1) * batch_size]]))) for b in range(n_batches)
            ]
            v = mean_nll(val)
            self.history.append((float(np.mean(losses)), v))
            if not np.isfinite(v) or stopper.should_stop(v):
                break
        stopper.restore()
        return self

    def _to_latent(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Preprocessed features and log |dy/dx| per event (logit: y = logit of x scaled into (lo, hi))."""
        x = np.asarray(x, dtype=np.float64)
        if self.preprocess == "standard":
            return x, np.zeros(len(x))
        u = np.clip((x - self.lo) / (self.hi - self.lo), 1e-6, 1 - 1e-6)
        y = np.log(u) - np.log1p(-u)
        return y, (-np.log(self.hi - self.lo) - np.log(u) - np.log1p(-u)).sum(axis=1)

    def _from_latent(self, y: np.ndarray) -> np.ndarray:
        if self.preprocess == "standard":
            return y
        return self.lo + special.expit(y) * (self.hi - self.lo)

    def _cond(self, m: np.ndarray):
        z = (np.asarray(m, dtype=np.float64).reshape(-1, 1) - self.mean[-1]) / self.scale[-1]
        return z.astype(np.float32)

    def sample(self, m: np.ndarray, rng: np.random.Generator, chunk: int = 20_000) -> np.ndarray:
        """One feature vector per value in ``m`` (original units); deterministic given ``rng``."""
        c = self._cond(m)
        out = []
        for i in range(0, len(c), chunk):
            cc = self._tf.constant(c[i : i + chunk])
            seed = self._tf.constant(rng.integers(2**31 - 1, size=2), dtype=self._tf.int32)  # stateless seed
            out.append(self.dist.sample(len(cc), seed=seed, bijector_kwargs=self._kwargs(cc)).numpy())
        z = np.concatenate(out) if out else np.zeros((0, self.n_features))
        return self._from_latent(z.astype(np.float64) * self.scale[:-1] + self.mean[:-1])

    def log_prob(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """log p(x | m) in original units."""
        y, log_jac = self._to_latent(x)
        z = ((y - self.mean[:-1]) / self.scale[:-1]).astype(np.float32)
        c = self._cond(m)
        lp = np.concatenate(
            [
                self._z_log_prob(self._tf.constant(z[i : i + 8192]), self._tf.constant(c[i : i + 8192])).numpy()
                for i in range(0, len(z), 8192)
            ]
        )
        return lp.astype(np.float64) - np.log(self.scale[:-1]).sum() + log_jac


def fit_flow(
    x: np.ndarray,
    m: np.ndarray,
    n_layers: int = 4,
    hidden: tuple[int, ...] = (64, 64),
    seed: int = 0,
    epochs: int = 100,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    patience: int = 10,
    max_events: int | None = None,
    preprocess: str = "standard",
) -> ConditionalFlow:
    """Fit a conditional MAF p(x | m) (use sideband events); ``max_events`` subsamples large fit samples."""
    x, m = _check_fit_inputs(x, m)
    if len(x) < 50:
        raise ValueError(f"only {len(x)} events to fit a flow")
    if max_events is not None and len(x) > max_events:
        pick = np.random.default_rng(seed).choice(len(x), max_events, replace=False)
        x, m = x[pick], m[pick]
    flow = ConditionalFlow(x.shape[1], n_layers, hidden, seed, preprocess)
    return flow.fit(
        x, m, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=patience, seed=seed
    )


def fit_conditional(
    x: np.ndarray, m: np.ndarray, estimator: str = "flow", n_components: int = 10, seed: int = 0, **flow_kw
):
    """Conditional density p(x | m): ``estimator`` "flow" (TFP MAF, default) or "gmm" (conditional mixture)."""
    if estimator == "flow":
        return fit_flow(x, m, seed=seed, **flow_kw)
    if estimator == "gmm":
        return fit_gmm(x, m, n_components, seed)
    raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")


class ModelMixture:
    """Equal-weight mixture of conditional models fitted independently (seeds and fit subsamples differ): each
    model's own fitting artefacts are diluted, as CATHODE samples from an ensemble of flow states."""

    def __init__(self, models: list):
        if not models:
            raise ValueError("a mixture needs at least one model")
        self.models = list(models)

    @property
    def n_features(self) -> int:
        return int(self.models[0].n_features)

    def sample(self, m: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One feature vector per value in ``m``, each from a model drawn at random (deterministic given ``rng``)."""
        m = np.asarray(m, dtype=np.float64).reshape(-1)
        member = rng.integers(len(self.models), size=len(m))
        out = np.empty((len(m), self.n_features))
        for k, model in enumerate(self.models):
            pick = member == k
            out[pick] = model.sample(m[pick], rng)
        return out

    def log_prob(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """log of the mean of the models' p(x | m)."""
        lp = np.stack([model.log_prob(x, m) for model in self.models])
        return special.logsumexp(lp, axis=0) - np.log(len(self.models))


def fit_mixture(
    x: np.ndarray,
    m: np.ndarray,
    n_models: int,
    estimator: str = "flow",
    n_components: int = 10,
    seed: int = 0,
    **flow_kw,
):
    """:func:`fit_conditional` ``n_models`` times with seeds seed, seed + 1, ... (a flow's ``max_events``
    subsample differs per seed); one model is returned as is, more as a :class:`ModelMixture`."""
    if n_models < 1:
        raise ValueError(f"n_models must be >= 1, got {n_models}")
    models = [fit_conditional(x, m, estimator, n_components, seed + k, **flow_kw) for k in range(n_models)]
    return models[0] if n_models == 1 else ModelMixture(models)


M_SAMPLING = ("kde", "data", "uniform")


def sample_sr_masses(
    m_sr: np.ndarray, n: int, lo: float, hi: float, rng: np.random.Generator, mode: str = "kde"
) -> np.ndarray:
    """``n`` signal-region masses: ``"kde"`` a Gaussian KDE (Scott bandwidth) of the SR masses reflected into
    [lo, hi); ``"data"`` the SR masses themselves, each repeated (n / len) times, the rest drawn at random;
    ``"uniform"`` uniform in [lo, hi)."""
    m_sr = np.asarray(m_sr, dtype=np.float64)
    if m_sr.size < 2:
        raise ValueError("need at least two signal-region events to model the SR mass distribution")
    if mode == "uniform":
        return rng.uniform(lo, hi, n)
    if mode == "data":
        reps, rest = divmod(n, m_sr.size)
        return rng.permutation(np.concatenate([np.tile(m_sr, reps), rng.choice(m_sr, rest, replace=False)]))
    if mode != "kde":
        raise ValueError(f"m sampling must be one of {M_SAMPLING}, got {mode!r}")
    bw = m_sr.std() * m_sr.size ** (-1 / 5)
    v = rng.choice(m_sr, n) + bw * rng.normal(size=n)
    v = np.where(v < lo, 2 * lo - v, v)
    v = np.where(v >= hi, 2 * hi - v, v)
    return np.clip(v, lo, np.nextafter(hi, lo))


def quantile_map(x_fit: np.ndarray, seed: int = 0) -> QuantileTransformer:
    """Per-feature map to a standard normal by the quantiles of ``x_fit`` (1000 quantiles at most)."""
    return QuantileTransformer(
        n_quantiles=min(1000, len(x_fit)), output_distribution="normal", subsample=200_000, random_state=seed
    ).fit(x_fit)


def _fit_sampler(
    x: np.ndarray,
    m: np.ndarray,
    window: Window,
    n_components: int,
    seed: int,
    estimator: str,
    flow_kw: dict | None,
    n_models: int = 1,
):
    """The sideband fit (``n_models`` > 1: a :class:`ModelMixture`): (draw(masses, rng) -> finite samples and their
    masses, fitted model, SR mask, SB mask)."""
    in_win, label = window_labels(m, window)
    in_sr = in_win & (label == 1)
    in_sb = in_win & (label == 0)
    n_min = 50 if estimator == "flow" else 5 * n_components
    if in_sb.sum() < n_min:
        raise ValueError(
            f"the sidebands [{window.sb_lo:g}, {window.sr_lo:g}) + [{window.sr_hi:g}, {window.sb_hi:g}) hold only "
            f"{int(in_sb.sum())} events, too few to train the {estimator} density model (at least {n_min})"
        )
    if in_sr.sum() < 2:
        raise ValueError(
            f"the signal region [{window.sr_lo:g}, {window.sr_hi:g}) holds {int(in_sr.sum())} events "
            f"(data m range [{m.min():g}, {m.max():g}])"
        )
    kw = dict(flow_kw or {})
    qt = None
    if kw.get("preprocess") == "quantile":
        qt = quantile_map(x[in_sb], seed)
        kw["preprocess"] = "standard"
    x_fit = x[in_sb] if qt is None else qt.transform(x[in_sb])
    model = fit_mixture(x_fit, m[in_sb], n_models, estimator, n_components, seed, **kw)

    def draw(masses: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        samples = model.sample(masses, rng)
        ok = np.isfinite(samples).all(axis=1)
        samples, masses = samples[ok], masses[ok]
        return (samples if qt is None else qt.inverse_transform(samples)), masses

    return draw, model, in_sr, in_sb


def background_samples(
    x: np.ndarray,
    m: np.ndarray,
    window: Window,
    n_components: int = 10,
    oversample: float = 4,
    seed: int = 0,
    estimator: str = "flow",
    flow_kw: dict | None = None,
    m_sampling: str = "kde",
    n_models: int = 1,
):
    """The sideband-fitted conditional model sampled into the SR: (features, masses, fitted model).

    ``oversample`` x (number of SR events) samples, masses from :func:`sample_sr_masses` (``m_sampling``)."""
    samples, m_samples, _, model = calibrated_background(
        x, m, window, n_components, oversample, seed, estimator, flow_kw, m_sampling, "none", n_models=n_models
    )
    return samples, m_samples, model


def sideband_weights(
    x_sb: np.ndarray,
    m_sb: np.ndarray,
    x_model: np.ndarray,
    m_model: np.ndarray,
    calibration: str = DEFAULT_CALIBRATION,
    seed: int = 0,
    max_events: int = CALIBRATION_MAX_EVENTS,
    trees: str = "trees",
) -> salad.SimWeights:
    """w = p / (1 - p) of a classifier of sideband data (label 1) vs model samples drawn at sideband masses
    (label 0): :func:`l1ad.analysis.salad.fit_weights` with the classifier and inputs of ``calibration``
    (:data:`CALIBRATIONS`; the tree calibrations use the boosted trees named ``trees`` in
    :data:`l1ad.analysis.cwola.CLASSIFIERS`), at most ``max_events`` per class."""
    if calibration not in CALIBRATIONS or calibration == "none":
        raise ValueError(f"calibration must be one of {CALIBRATIONS[1:]}, got {calibration!r}")
    trees_classifier = named_classifier(trees, seed, "trees")  # checked whichever calibration is used
    classifier = None if calibration.startswith("mlp") else trees_classifier
    return salad.fit_weights(
        x_sb,
        m_sb,
        x_model,
        m_model,
        seed,
        max_events=max_events,
        classifier=classifier,
        use_mass=calibration.endswith("_m"),
    )


def calibrated_background(
    x: np.ndarray,
    m: np.ndarray,
    window: Window,
    n_components: int = 10,
    oversample: float = 4,
    seed: int = 0,
    estimator: str = "flow",
    flow_kw: dict | None = None,
    m_sampling: str = "kde",
    calibration: str = DEFAULT_CALIBRATION,
    calibration_max_events: int = CALIBRATION_MAX_EVENTS,
    n_models: int = 1,
    calibration_trees: str = "trees",
):
    """The SR samples of :func:`background_samples` with sideband-calibration weights: (features, masses,
    weights or None, fitted model).

    With ``calibration`` other than "none" the fitted model is also sampled at the masses of (at most
    ``calibration_max_events``) sideband events; :func:`sideband_weights` learns there how the model differs from
    the sideband data, and its weights w(x) (or w(x, m)) of the SR samples, scaled to mean 1, undo the same
    mis-modelling in the SR. The SR samples are the same as without calibration (drawn first). ``n_models`` > 1
    fits a :class:`ModelMixture` (:func:`fit_mixture`); ``calibration_trees`` names the tree calibration's
    classifier (:data:`l1ad.analysis.cwola.CLASSIFIERS`)."""
    if calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS}, got {calibration!r}")
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64).reshape(-1)
    draw, model, in_sr, in_sb = _fit_sampler(x, m, window, n_components, seed, estimator, flow_kw, n_models)
    rng = np.random.default_rng(seed)
    n_samples = int(round(oversample * int(in_sr.sum())))
    m_samples = sample_sr_masses(m[in_sr], n_samples, window.sr_lo, window.sr_hi, rng, m_sampling)
    samples, m_samples = draw(m_samples, rng)
    if calibration == "none":
        return samples, m_samples, None, model
    x_sb, m_sb = x[in_sb], m[in_sb]
    if len(m_sb) > calibration_max_events:
        pick = rng.choice(len(m_sb), calibration_max_events, replace=False)
        x_sb, m_sb = x_sb[pick], m_sb[pick]
    sb_samples, sb_masses = draw(m_sb, rng)
    weights = sideband_weights(
        x_sb, m_sb, sb_samples, sb_masses, calibration, seed, calibration_max_events, trees=calibration_trees
    )
    w = weights(samples, m_samples)
    return samples, m_samples, w / w.mean(), model


def cathode_scores(
    x: np.ndarray,
    m: np.ndarray,
    window: Window,
    n_components: int = 10,
    oversample: float = 4,
    n_folds: int = 5,
    seed: int = 0,
    classifier=None,
    estimator: str = "flow",
    flow_kw: dict | None = None,
    m_sampling: str = "kde",
    n_ensemble: int = 1,
    samples: np.ndarray | None = None,
    sample_weights: np.ndarray | None = None,
    calibration: str = "none",
    n_models: int = 1,
):
    """Anomaly score of every event: classifier of SR data vs conditional-model samples (held-out in the SR,
    a random fold's model elsewhere; classes balanced by the classifier's class weights, or, with weighted
    samples, by event weights giving both classes the same total). ``samples`` (SR background-model features,
    optionally with ``sample_weights``) skips the fit; otherwise ``calibration`` (:data:`CALIBRATIONS`) weights
    the samples by :func:`calibrated_background`. Returns (scores, fitted model or None)."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64).reshape(-1)
    in_win, label = window_labels(m, window)
    in_sr = in_win & (label == 1)
    model = None
    if samples is None:
        samples, _, sample_weights, model = calibrated_background(
            x, m, window, n_components, oversample, seed, estimator, flow_kw, m_sampling, calibration, n_models=n_models
        )
    elif sample_weights is not None and len(sample_weights) != len(samples):
        raise ValueError(f"{len(sample_weights)} sample weights for {len(samples)} samples")
    xs = np.concatenate([x[in_sr], samples])
    ys = np.concatenate([np.ones(in_sr.sum()), np.zeros(len(samples))])
    event_w = None
    if sample_weights is not None:
        event_w = balanced_weights(ys, np.concatenate([np.ones(in_sr.sum()), sample_weights]))
    held, other = kfold_scores(xs, ys, n_folds, seed, classifier, x[~in_sr], n_ensemble, sample_weight=event_w)
    scores = np.empty(len(x))
    scores[in_sr] = held[: in_sr.sum()]
    scores[~in_sr] = other
    return scores, model
