"""CWoLa hunting: classify signal region (SR) vs sidebands (SB) in a resonant variable, select, bump hunt.

For a mass hypothesis the SR is a window in the resonant variable and the SBs the windows either side. A
classifier (scikit-learn HistGradientBoostingClassifier) learns SR vs SB from the other features with k-fold
cross-validation, so every event in SR + SB is scored by a model that never saw it; events outside the
window are scored by one of the k models drawn at random (same score spread as the held-out ones). Events
above the score threshold that keeps a fraction ``eff`` of SR + SB events are bump hunted over the full
resonant-variable range (Gaussian at the SR centre).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from l1ad.analysis import bumphunt

__all__ = [
    "Window",
    "SelectionResult",
    "default_classifier",
    "regularized_classifier",
    "CLASSIFIERS",
    "named_classifier",
    "checked_regions",
    "window_labels",
    "kfold_scores",
    "select_top",
    "hunt",
    "injection_scan",
    "inject",
]

DEFAULT_EFFICIENCIES = (0.1, 0.01, 0.002)


@dataclass(frozen=True)
class Window:
    """Signal region [sr_lo, sr_hi) with sidebands [sb_lo, sr_lo) and [sr_hi, sb_hi)."""

    sb_lo: float
    sr_lo: float
    sr_hi: float
    sb_hi: float

    def __post_init__(self) -> None:
        if not (self.sb_lo < self.sr_lo < self.sr_hi < self.sb_hi):
            raise ValueError(f"window edges must satisfy sb_lo < sr_lo < sr_hi < sb_hi, got {self}")

    @property
    def centre(self) -> float:
        return 0.5 * (self.sr_lo + self.sr_hi)

    @classmethod
    def around(cls, centre: float, sr_half_width: float, sb_width: float) -> Window:
        return cls(
            centre - sr_half_width - sb_width,
            centre - sr_half_width,
            centre + sr_half_width,
            centre + sr_half_width + sb_width,
        )


@dataclass
class SelectionResult:
    """Bump hunt of the events kept at one classifier efficiency."""

    efficiency: float
    threshold: float
    n_selected: int
    n_selected_sr: int
    z: float
    mu: float
    fitted_mass: float


def default_classifier(seed: int = 0) -> HistGradientBoostingClassifier:
    """Boosted trees with early stopping; balanced classes (the SR is usually smaller than the SBs)."""
    return HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.1,
        max_leaf_nodes=31,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=10,
        class_weight="balanced",
        random_state=seed,
    )


def regularized_classifier(seed: int = 0) -> HistGradientBoostingClassifier:
    """Smaller, more regularized boosted trees (15 leaves of at least 200 events, L2 1, learning rate 0.05):
    the CATHODE-style method's default, where the background class is model samples whose small artefacts the
    default trees also learn (docs/analysis.md: S/sqrt(B) of its selection +0.45 / +0.55 at S/B 0.5 / 0.7 %)."""
    return default_classifier(seed).set_params(
        max_iter=300,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=200,
        l2_regularization=1.0,
        n_iter_no_change=15,
    )


#: Named classifier factories (seed -> unfitted classifier) for settings such as ``SearchConfig.density_classifier``.
CLASSIFIERS: dict[str, Callable[[int], HistGradientBoostingClassifier]] = {
    "trees": default_classifier,
    "trees_regularized": regularized_classifier,
}


def named_classifier(name: str, seed: int = 0, setting: str = "classifier") -> HistGradientBoostingClassifier:
    """The unfitted classifier ``CLASSIFIERS[name](seed)``; an unknown name raises, naming ``setting``."""
    if name not in CLASSIFIERS:
        raise ValueError(f"{setting} must be one of {sorted(CLASSIFIERS)}, got {name!r}")
    return CLASSIFIERS[name](seed)


def _check_inputs(features: np.ndarray, mres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=np.float64)
    m = np.asarray(mres, dtype=np.float64).reshape(-1)
    if x.ndim != 2:
        raise ValueError(f"features must be 2-D (events, features), got shape {x.shape}")
    if len(x) != len(m):
        raise ValueError(f"{len(x)} feature rows but {len(m)} resonant-variable values")
    if len(x) == 0:
        raise ValueError("no events")
    if not np.isfinite(x).all() or not np.isfinite(m).all():
        raise ValueError("features or resonant variable contain NaN/inf")
    return x, m


def window_labels(mres: np.ndarray, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """(in_window mask, label) with label 1 for SR and 0 for SB events (label only meaningful in the window)."""
    m = np.asarray(mres, dtype=np.float64)
    in_sr = (m >= window.sr_lo) & (m < window.sr_hi)
    in_sb = ((m >= window.sb_lo) & (m < window.sr_lo)) | ((m >= window.sr_hi) & (m < window.sb_hi))
    return in_sr | in_sb, in_sr.astype(np.int8)


def checked_regions(
    m: np.ndarray, window: Window, min_events: int, who: str, what: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """(SR mask, sideband mask) of ``m``; a ValueError naming ``who`` (the method) when either region holds fewer
    than ``min_events`` events (``what``: which events, e.g. "simulated")."""
    in_win, label = window_labels(m, window)
    in_sr, in_sb = in_win & (label == 1), in_win & (label == 0)
    kind = f" {what}" if what else ""
    for name, mask in (("sideband", in_sb), ("signal-region", in_sr)):
        if mask.sum() < min_events:
            raise ValueError(f"{who}: only {int(mask.sum())} {name}{kind} events (need >= {min_events}) in {window}")
    return in_sr, in_sb


def kfold_scores(
    x: np.ndarray,
    y: np.ndarray,
    n_folds: int = 5,
    seed: int = 0,
    classifier: ClassifierMixin | None = None,
    x_other: np.ndarray | None = None,
    n_ensemble: int = 1,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Held-out P(y=1|x) for every event (k-fold), and scores of ``x_other`` if given.

    ``sample_weight`` (N,) weights the training events (the idealized detector and the closure test balance
    their classes with it); a classifier's own ``class_weight`` is then switched off so that the classes are
    not balanced twice.

    With ``n_ensemble`` > 1 each fold's score is the mean of that many classifiers trained on the same
    training folds with different seeds (different early-stopping splits and tree randomness): averaging
    reduces the variance of the weakly supervised classifier without using the held-out fold.

    Each ``x_other`` event is scored by one of the k models chosen at random, not by their mean: a mean has
    a narrower spread than single-model outputs, so a threshold set on held-out scores would keep fewer
    outside events and sculpt a plateau over the training window into the selected spectrum.
    """
    y = np.asarray(y).astype(int)
    if set(np.unique(y)) != {0, 1}:
        raise ValueError("k-fold training needs events of both classes (SR and SB both non-empty)")
    if min(np.bincount(y)) < n_folds:
        raise ValueError(f"too few events in one class ({np.bincount(y).tolist()}) for {n_folds} folds")
    base = classifier if classifier is not None else default_classifier(seed)
    held_out = np.zeros(len(y))
    other = np.zeros(len(x_other)) if x_other is not None else None
    other_fold = np.random.default_rng(seed + 7919).integers(n_folds, size=len(other)) if other is not None else None
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    if n_ensemble < 1:
        raise ValueError(f"n_ensemble must be >= 1, got {n_ensemble}")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if sample_weight.shape != y.shape or not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
            raise ValueError(f"sample_weight must be {len(y)} finite non-negative values")
    for k, (train, test) in enumerate(folds.split(x, y)):
        models = []
        for e in range(n_ensemble):
            model = clone(base)
            if e and "random_state" in model.get_params():
                model.set_params(random_state=(model.get_params()["random_state"] or 0) + 1000 * e + 17)
            if sample_weight is None:
                models.append(model.fit(x[train], y[train]))
                continue
            if "class_weight" in model.get_params():
                model.set_params(class_weight=None)
            models.append(model.fit(x[train], y[train], sample_weight=sample_weight[train]))
        held_out[test] = np.mean([mdl.predict_proba(x[test])[:, 1] for mdl in models], axis=0)
        if other is not None and np.any(other_fold == k):
            assert x_other is not None  # other is allocated exactly when x_other is given
            sel = other_fold == k
            other[sel] = np.mean([mdl.predict_proba(x_other[sel])[:, 1] for mdl in models], axis=0)
    return held_out, other


def select_top(scores: np.ndarray, efficiency: float) -> float:
    """Threshold keeping (at most) a fraction ``efficiency`` of ``scores`` with score > threshold."""
    if not 0 < efficiency <= 1:
        raise ValueError(f"efficiency must be in (0, 1], got {efficiency}")
    s = np.sort(np.asarray(scores, dtype=np.float64))
    n_keep = int(np.floor(efficiency * s.size))
    if n_keep >= s.size:
        return -np.inf
    return float(s[s.size - n_keep - 1]) if n_keep > 0 else float(s[-1])


def score_events(
    features: np.ndarray,
    mres: np.ndarray,
    window: Window,
    n_folds: int = 5,
    seed: int = 0,
    classifier: ClassifierMixin | None = None,
    n_ensemble: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """CWoLa score of every event (held-out inside the window, a random fold's model outside) and the mask."""
    x, m = _check_inputs(features, mres)
    in_win, label = window_labels(m, window)
    held, other = kfold_scores(x[in_win], label[in_win], n_folds, seed, classifier, x[~in_win], n_ensemble)
    scores = np.empty(len(x))
    scores[in_win] = held
    scores[~in_win] = other
    return scores, in_win


def bump_hunt_selected(
    mres: np.ndarray,
    keep: np.ndarray,
    window: Window,
    edges: np.ndarray,
    resolution: float,
    model: str = "dijet",
    fit_free_mass: bool = False,
) -> tuple[float, float, float]:
    """(Z, yield, fitted mass) of the bump hunt at the window centre on the kept events."""
    counts = bumphunt.binned_counts(mres[keep], edges)
    if counts.sum() < 10:
        return 0.0, 0.0, float("nan")
    z, fit = bumphunt.local_significance(counts, edges, window.centre, resolution * window.centre, model=model)
    mass = float("nan")
    if fit_free_mass and z > 0:
        mass = bumphunt.fit_mass(counts, edges, resolution=resolution, model=model, n_start=15).mass
    return z, fit.mu, mass


def hunt(
    features: np.ndarray,
    mres: np.ndarray,
    window: Window,
    edges: np.ndarray,
    efficiencies: Sequence[float] = DEFAULT_EFFICIENCIES,
    resolution: float = 0.05,
    n_folds: int = 5,
    seed: int = 0,
    classifier: ClassifierMixin | None = None,
    model: str = "dijet",
    scores: np.ndarray | None = None,
    fit_free_mass: bool = True,
) -> list[SelectionResult]:
    """CWoLa hunt in one window: scores, then one bump hunt per selection efficiency (plus eff = 1, inclusive)."""
    x, m = _check_inputs(features, mres)
    in_win = window_labels(m, window)[0]
    if scores is None:
        scores, in_win = score_events(x, m, window, n_folds, seed, classifier)
    in_sr = window_labels(m, window)[1].astype(bool) & in_win
    results = []
    for eff in (1.0, *efficiencies):
        thr = select_top(scores[in_win], eff) if eff < 1 else -np.inf
        keep = scores > thr
        z, mu, mass = bump_hunt_selected(m, keep, window, edges, resolution, model, fit_free_mass)
        results.append(
            SelectionResult(
                efficiency=float(eff),
                threshold=float(thr),
                n_selected=int(keep.sum()),
                n_selected_sr=int((keep & in_sr).sum()),
                z=float(z),
                mu=float(mu),
                fitted_mass=mass,
            )
        )
    return results


def inject(bkg: np.ndarray, sig: np.ndarray, n_signal: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Background rows plus ``n_signal`` randomly drawn signal rows, shuffled; returns (rows, is_signal)."""
    rng = np.random.default_rng(seed)
    if n_signal > len(sig):
        raise ValueError(f"asked to inject {n_signal} signal events but only {len(sig)} are available")
    pick = sig[rng.choice(len(sig), size=n_signal, replace=False)]
    rows = np.concatenate([bkg, pick])
    truth = np.concatenate([np.zeros(len(bkg), bool), np.ones(n_signal, bool)])
    order = rng.permutation(len(rows))
    return rows[order], truth[order]


def injection_scan(
    bkg: np.ndarray,
    sig: np.ndarray,
    n_signals: Sequence[int],
    split: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    window: Window,
    edges: np.ndarray,
    efficiency: float = 0.01,
    seed: int = 0,
    **kw,
) -> list[dict]:
    """Significance versus injected signal: for each ``n_signal`` inject, hunt, and report the chosen efficiency.

    ``split(rows) -> (features, mres)`` turns table rows into classifier features and the resonant variable.
    ``n_signal = 0`` is the null test.
    """
    out = []
    for n_sig in n_signals:
        rows, truth = inject(bkg, sig, int(n_sig), seed)
        x, m = split(rows)
        res = hunt(x, m, window, edges, efficiencies=(efficiency,), seed=seed, **kw)
        in_sr = window_labels(m, window)[1].astype(bool)
        out.append(
            {
                "n_signal": int(n_sig),
                "s_over_b_sr": float(truth[in_sr].sum() / max((~truth[in_sr]).sum(), 1)),
                "inclusive": asdict(res[0]),
                "selected": asdict(res[1]),
            }
        )
    return out
