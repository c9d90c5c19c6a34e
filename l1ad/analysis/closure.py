"""Closure test of a background model in the signal region (SR): can a classifier tell the model from truth?

A method that models the SR background (CATHODE-style flow samples, ANODE densities, CURTAINS transports,
SALAD reweighted simulation) gives it as a (possibly weighted) :class:`~l1ad.analysis.samples.Sample` of SR
events. The closure AUC is the out-of-fold AUC of a k-fold boosted-tree classifier of model (label 1) vs true
background (label 0, independent reference events in the SR), classes balanced with weights. A perfect model
gives 0.5 within ``null_sigma``; a mis-modelled one more.

Statistical spread: ``auc_err`` is the standard deviation of the per-fold AUCs divided by sqrt(k);
``null_sigma`` the spread of the AUC of two identical distributions with these (effective, Kish) numbers of
events, sqrt((n_0 + n_1 + 1) / (12 n_0 n_1)) (Mann-Whitney).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.model_selection import StratifiedKFold

from l1ad.analysis import cwola, metrics, search
from l1ad.analysis.references import balanced_weights
from l1ad.analysis.samples import Dataset, Sample, SearchConfig

__all__ = ["closure_auc", "closure_test"]


def _kish(w: np.ndarray) -> float:
    return float(w.sum() ** 2 / np.sum(w**2))


def closure_auc(
    model: Sample,
    truth: Sample,
    n_folds: int = 5,
    seed: int = 0,
    classifier: ClassifierMixin | None = None,
    use_mass: bool = False,
    max_events: int | None = 200_000,
) -> dict:
    """Closure AUC of ``model`` vs ``truth`` (features, plus the resonant variable with ``use_mass``).

    ``max_events`` caps each class (random subsample, for speed). Returns auc, auc_err, null_sigma,
    fold_aucs, n_model, n_truth (effective numbers of events).
    """
    rng = np.random.default_rng(seed)
    parts = []
    for name, s in (("truth", truth), ("model", model)):
        x = np.asarray(s.x, dtype=np.float64)
        if x.ndim != 2 or len(x) != len(s.m):
            raise ValueError(f"closure: {name} sample has features {x.shape} and {len(s.m)} masses")
        w = np.ones(len(x)) if s.weights is None else np.asarray(s.weights, dtype=np.float64)
        if use_mass:
            x = np.column_stack([x, s.m])
        if max_events is not None and len(x) > max_events:
            pick = rng.choice(len(x), max_events, replace=False)
            x, w = x[pick], w[pick]
        if len(x) < 10 * n_folds:
            raise ValueError(f"closure: only {len(x)} {name} events, too few for {n_folds} folds")
        if not np.isfinite(x).all() or not np.isfinite(w).all():
            raise ValueError(f"closure: {name} sample contains NaN/inf")
        parts.append((x, w))
    (x0, w0), (x1, w1) = parts
    if x0.shape[1] != x1.shape[1]:
        raise ValueError(f"closure: model has {x1.shape[1]} features, truth {x0.shape[1]}")
    x = np.concatenate([x0, x1])
    y = np.concatenate([np.zeros(len(x0), int), np.ones(len(x1), int)])
    w = balanced_weights(y, np.concatenate([w0, w1]))
    base = classifier if classifier is not None else cwola.default_classifier(seed)
    scores = np.zeros(len(y))
    fold_aucs = []
    for train, test in StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(x, y):
        clf = clone(base)
        if "class_weight" in clf.get_params():
            clf.set_params(class_weight=None)
        clf.fit(x[train], y[train], sample_weight=w[train])
        scores[test] = clf.predict_proba(x[test])[:, 1]
        t0, t1 = test[y[test] == 0], test[y[test] == 1]
        fold_aucs.append(metrics.auc(scores[t0], scores[t1], w[t0], w[t1]))
    n0, n1 = _kish(w[y == 0]), _kish(w[y == 1])
    return {
        "auc": metrics.auc(scores[y == 0], scores[y == 1], w[y == 0], w[y == 1]),
        "auc_err": float(np.std(fold_aucs, ddof=1) / np.sqrt(n_folds)),
        "null_sigma": float(np.sqrt((n0 + n1 + 1) / (12 * n0 * n1))),
        "fold_aucs": [float(a) for a in fold_aucs],
        "n_model": n1,
        "n_truth": n0,
    }


def closure_test(data: Dataset, cfg: SearchConfig, method: str, use_mass: bool = False) -> dict:
    """Closure AUC of ``method``'s background model of the SR (its ``background_model``) vs the SR events of
    ``data.reference``. Run it on a null sample (no signal): on data with signal the model of a good method is
    still background-like but the comparison then measures nothing else."""
    spec = search.get_method(method)
    if spec.background_model is None:
        raise ValueError(f"method {method!r} has no background model of the signal region to test")
    if data.reference is None:
        raise ValueError("the closure test needs independent true background (Dataset.reference)")
    model = spec.background_model(data, cfg)
    ref = data.reference
    sr = cwola.window_labels(ref.m, cfg.window)
    keep = sr[0] & (sr[1] == 1)
    truth = Sample(ref.x[keep], ref.m[keep], None if ref.weights is None else ref.weights[keep])
    return {"method": method, **closure_auc(model, truth, cfg.n_folds, cfg.seed, use_mass=use_mass)}
