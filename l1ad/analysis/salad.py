"""SALAD-style simulation-assisted search (method ``"salad"``): reweight simulation to data, then classify.

1. Weight: a classifier of sideband (SB) data (label 1) vs SB simulation (label 0) with the resonant variable
   m as an input feature learns w(m, x) = p_data(m, x) / p_sim(m, x) = p / (1 - p) (equal class sizes in
   training). A smooth model is needed to interpolate w in m into the signal region (SR), where it was not
   trained: a scikit-learn ``MLPClassifier`` (two hidden layers of 64 ReLU units, Adam, early stopping on
   10 %, inputs standardised) on at most ``max_events`` (50k) events per class. p is clipped to
   [1e-3, 1 - 1e-3]; the weights are scaled so that the reweighted SB simulation sums to the number of SB data
   events, so the reweighted SR simulation predicts the SR background yield.
2. The weight is applied to the simulation in the SR; a classifier of SR data (label 1) vs reweighted SR
   simulation (label 0, sample weights w) is trained with k-fold cross-validation (``cfg.n_folds``,
   ``cfg.classifier`` or the CWoLa boosted trees with ``class_weight`` replaced by weights that give both
   classes the same total), out-of-fold in the SR and a random fold's model elsewhere.

Measured (scripts/bench_analysis/true_window.py, 600k benchmark with 620 injected signal events, S/B 0.50 % in
the SR; simulation = the independent 224k QCD file): perfect simulation: max SIC 11.0, local Z 4.7 (null 0.0),
13 s; simulation with tau21 mis-modelled by +5 % (1 + (m_jj - 3.5 TeV) / 1 TeV): SIC 9.0, Z 0.8 (null 0.6). The
weights cut the 1-D Wasserstein distance of the mis-modelled tau21 to the true SR background from 0.025 / 0.031
to 0.004 / 0.003 and predict the SR background yield to -2 % (perfect simulation: +0.5 %, but the weights add
noise there: distances 0.001-0.003 -> 0.001-0.008).

``Dataset.simulation`` is required (a ``ValueError`` says so otherwise); the truth of the data is never used.
The registered method's ``background_model``: the SR simulation with the weights in ``Sample.weights``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from l1ad.analysis import cwola

__all__ = [
    "SimWeights",
    "fit_weights",
    "weighted_kfold_scores",
    "check_simulation",
    "reweighted_simulation",
    "salad_scores",
    "MIN_EVENTS",
]

MIN_EVENTS = 50


class SimWeights:
    """w(m, x) = p_data / p_sim learnt in the sidebands; ``norm`` scales it to the SB data yield. With
    ``use_mass`` False the classifier saw x only: w(x), the sidebands' average of w(m, x)."""

    def __init__(self, model: ClassifierMixin, norm: float, use_mass: bool = True):
        self.model, self.norm, self.use_mass = model, float(norm), bool(use_mass)

    def __call__(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        feats = np.column_stack([x, np.asarray(m, dtype=np.float64)]) if self.use_mass else x
        p = np.clip(self.model.predict_proba(feats)[:, 1], 1e-3, 1 - 1e-3)
        return self.norm * p / (1 - p)


def check_simulation(simulation, n_features: int):
    """The simulated background sample (an object with ``x``, ``m``, ``weights``), checked: a clear error when
    it is missing or does not match the data's ``n_features``."""
    if simulation is None:
        raise ValueError("SALAD needs simulated background: Dataset.simulation is missing")
    x, m = np.asarray(simulation.x), np.asarray(simulation.m)
    if x.ndim != 2 or x.shape[1] != n_features or len(x) != len(m):
        raise ValueError(f"simulation features {x.shape} / masses {m.shape} do not match {n_features} data features")
    return simulation


def _regions(m: np.ndarray, window: cwola.Window, what: str) -> tuple[np.ndarray, np.ndarray]:
    return cwola.checked_regions(m, window, MIN_EVENTS, "SALAD", what)


def fit_weights(
    x_data: np.ndarray,
    m_data: np.ndarray,
    x_sim: np.ndarray,
    m_sim: np.ndarray,
    seed: int = 0,
    max_events: int = 50_000,
    hidden: tuple[int, ...] = (64, 64),
    sim_weights: np.ndarray | None = None,
    classifier: ClassifierMixin | None = None,
    use_mass: bool = True,
) -> SimWeights:
    """Classifier-learnt w(m, x) = p_data / p_sim from (SB) data and simulation; ``sim_weights`` are the
    simulation's own event weights (if any), used for the normalisation only. ``classifier``: another
    scikit-learn classifier than the default MLP (cloned; its ``class_weight`` switched off, the classes are
    equal in size); ``use_mass`` False: m is not a classifier input (w depends on x only)."""
    n_data, n_sim = len(x_data), len(x_sim)
    if min(n_data, n_sim) < MIN_EVENTS:
        raise ValueError(f"SALAD weights: {n_data} data and {n_sim} simulated events (need >= {MIN_EVENTS} each)")
    rng = np.random.default_rng(seed)
    n = min(n_data, n_sim, max_events)
    pick_d, pick_s = rng.choice(n_data, n, replace=False), rng.choice(n_sim, n, replace=False)
    f_data, f_sim = np.asarray(x_data, dtype=np.float64), np.asarray(x_sim, dtype=np.float64)
    if use_mass:
        f_data, f_sim = np.column_stack([f_data, m_data]), np.column_stack([f_sim, m_sim])
    feats = np.concatenate([f_data[pick_d], f_sim[pick_s]])
    labels = np.concatenate([np.ones(n), np.zeros(n)])
    if classifier is not None:
        model = clone(classifier)
        if "class_weight" in model.get_params():
            model.set_params(class_weight=None)
        model.fit(feats, labels)
    else:
        model = _mlp(hidden, seed).fit(feats, labels)
    raw = SimWeights(model, 1.0, use_mass)
    sw = np.ones(n_sim) if sim_weights is None else np.asarray(sim_weights, dtype=np.float64)
    return SimWeights(model, n_data / float(np.sum(sw * raw(x_sim, m_sim))), use_mass)


def _mlp(hidden: tuple[int, ...], seed: int) -> Pipeline:
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=hidden,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=10,
            max_iter=200,
            batch_size=256,
            learning_rate_init=1e-3,
            random_state=seed,
        ),
    )


def weighted_kfold_scores(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    n_folds: int = 5,
    seed: int = 0,
    classifier: ClassifierMixin | None = None,
    x_other: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Held-out P(y=1|x) of every event with sample weights (each class's weights summing to the same total
    in every training fold), and the scores of ``x_other`` (a random fold's model each)."""
    y = np.asarray(y).astype(int)
    if set(np.unique(y)) != {0, 1} or min(np.bincount(y)) < n_folds:
        raise ValueError(f"weighted k-fold needs >= {n_folds} events of each class, got {np.bincount(y).tolist()}")
    base = clone(classifier if classifier is not None else cwola.default_classifier(seed))
    if "class_weight" in base.get_params():
        base.set_params(class_weight=None)
    held = np.zeros(len(y))
    other = np.zeros(len(x_other)) if x_other is not None else None
    other_fold = np.random.default_rng(seed + 7919).integers(n_folds, size=len(other)) if other is not None else None
    for k, (train, test) in enumerate(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(x, y)):
        wt, yt = w[train].astype(np.float64), y[train]
        wt = np.where(yt == 1, wt / wt[yt == 1].sum(), wt / wt[yt == 0].sum()) * len(yt) / 2
        model = clone(base).fit(x[train], yt, sample_weight=wt)
        held[test] = model.predict_proba(x[test])[:, 1]
        if other is not None and x_other is not None and other_fold is not None and np.any(other_fold == k):
            other[other_fold == k] = model.predict_proba(x_other[other_fold == k])[:, 1]
    return held, other


def reweighted_simulation(
    x: np.ndarray,
    m: np.ndarray,
    x_sim: np.ndarray,
    m_sim: np.ndarray,
    window: cwola.Window,
    sim_weights: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, masses, weights) of the SR simulation reweighted by w(m, x) fit in the sidebands (times the
    simulation's own ``sim_weights``); the weights sum to the predicted SR background yield."""
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64).reshape(-1)
    x_sim, m_sim = np.asarray(x_sim, dtype=np.float64), np.asarray(m_sim, dtype=np.float64).reshape(-1)
    _, d_sb = _regions(m, window, "data")
    s_sr, s_sb = _regions(m_sim, window, "simulated")
    sw = np.ones(len(m_sim)) if sim_weights is None else np.asarray(sim_weights, dtype=np.float64)
    weights = fit_weights(x[d_sb], m[d_sb], x_sim[s_sb], m_sim[s_sb], seed, sim_weights=sw[s_sb])
    return x_sim[s_sr], m_sim[s_sr], sw[s_sr] * weights(x_sim[s_sr], m_sim[s_sr])


def salad_scores(
    x: np.ndarray,
    m: np.ndarray,
    x_sim: np.ndarray,
    m_sim: np.ndarray,
    window: cwola.Window,
    sim_weights: np.ndarray | None = None,
    n_folds: int = 5,
    seed: int = 0,
    classifier: ClassifierMixin | None = None,
) -> np.ndarray:
    """Classifier output of every event: SR data vs reweighted SR simulation (out-of-fold in the SR)."""
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64).reshape(-1)
    ref_x, _, ref_w = reweighted_simulation(x, m, x_sim, m_sim, window, sim_weights, seed)
    in_sr = _regions(m, window, "data")[0]
    n_sr = int(in_sr.sum())
    xs = np.concatenate([x[in_sr], ref_x])
    ys = np.concatenate([np.ones(n_sr), np.zeros(len(ref_x))])
    ws = np.concatenate([np.ones(n_sr), ref_w])
    held, other = weighted_kfold_scores(xs, ys, ws, n_folds, seed, classifier, x[~in_sr])
    scores = np.empty(len(m))
    scores[in_sr] = held[:n_sr]
    scores[~in_sr] = other
    return scores
