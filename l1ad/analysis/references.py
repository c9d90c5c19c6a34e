"""Reference classifiers for the weakly supervised searches: the idealized anomaly detector and the fully
supervised classifier, on the same features, k folds, classifier and signal region (SR) as the methods.

- Idealized anomaly detector (CATHODE paper, sec. "idealized anomaly detector"): the k-fold classifier of SR
  data (label 1) vs SR events of independent, perfectly modelled background (``Dataset.reference``, label 0).
  It is what a CWoLa/CATHODE-style method would reach with a perfect background model of the SR; its SIC is the
  ceiling of the density-based methods at the same training statistics.
- Fully supervised classifier: SR signal (truth-labelled signal of the data plus, if given, the independent
  signal sample ``Dataset.signal``) vs SR background (truth-labelled) of the data.

Both give out-of-fold scores to the data events in the SR (every SR data event is scored by a model that never
saw it; the events of the extra samples are only trained on) and a random fold's score to the data events outside
the SR, as CWoLa does, so they can be bump hunted like the methods. The two classes are balanced with event
weights (equal total weight per class; a classifier's own ``class_weight`` is switched off).
"""

from __future__ import annotations

import numpy as np

from l1ad.analysis import cwola
from l1ad.analysis.samples import Dataset, Sample, SearchConfig

__all__ = ["balanced_weights", "idealized_scores", "supervised_scores", "in_window"]


def balanced_weights(y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Event weights giving each class (y = 0 / 1) the same total weight, mean weight 1; ``weights`` are kept
    within each class."""
    y = np.asarray(y).astype(bool)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64).copy()
    for cls in (False, True):
        total = w[y == cls].sum()
        if total <= 0:
            raise ValueError(f"class {int(cls)} has no events (or zero total weight) to balance")
        w[y == cls] *= 0.5 * len(y) / total
    return w


def in_window(m: np.ndarray, cfg: SearchConfig) -> tuple[np.ndarray, np.ndarray]:
    """(SR mask, sideband mask) of resonant-variable values ``m`` for the window of ``cfg``."""
    in_win, label = cwola.window_labels(m, cfg.window)
    return in_win & (label == 1), in_win & (label == 0)


def _score_with_extra(
    data: Dataset,
    cfg: SearchConfig,
    in_sr: np.ndarray,
    y_data: np.ndarray,
    extra: Sample,
    extra_sel: np.ndarray,
    y_extra: int,
) -> np.ndarray:
    """k-fold scores of the data: SR data (labels ``y_data``) plus the selected ``extra`` events (all labelled
    ``y_extra``) are split into the same stratified folds; the data outside the SR get a random fold's score."""
    x = np.concatenate([data.x[in_sr], extra.x[extra_sel]])
    y = np.concatenate([y_data, np.full(int(extra_sel.sum()), y_extra)]).astype(int)
    w_in = np.ones(len(y))
    if extra.weights is not None:
        w_in[int(in_sr.sum()) :] = extra.weights[extra_sel]
    w = balanced_weights(y, w_in)
    held, other = cwola.kfold_scores(
        x, y, cfg.n_folds, cfg.seed, cfg.classifier, data.x[~in_sr], cfg.n_ensemble, sample_weight=w
    )
    scores = np.empty(len(data.x))
    scores[in_sr] = held[: int(in_sr.sum())]
    assert other is not None
    scores[~in_sr] = other
    return scores


def _check_features(data: Dataset, extra: Sample, what: str) -> None:
    if extra.x.ndim != 2 or extra.x.shape[1] != data.x.shape[1]:
        raise ValueError(f"{what} has features of shape {extra.x.shape}, the data {data.x.shape}")


def idealized_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """Idealized anomaly detector: k-fold classifier of SR data vs SR events of ``data.reference``."""
    ref = data.reference
    if ref is None:
        raise ValueError(
            "the idealized anomaly detector needs independent background (Dataset.reference; "
            "benchmark: --reference qcd_reference.h5)"
        )
    _check_features(data, ref, "the reference background")
    in_sr = in_window(data.m, cfg)[0]
    ref_sr = in_window(ref.m, cfg)[0]
    w = cfg.window
    for name, n in (("data", int(in_sr.sum())), ("reference background", int(ref_sr.sum()))):
        if n < 10 * cfg.n_folds:
            raise ValueError(
                f"idealized detector: only {n} {name} events in the signal region [{w.sr_lo:g}, {w.sr_hi:g}), "
                f"too few for {cfg.n_folds} folds"
            )
    return _score_with_extra(data, cfg, in_sr, np.ones(int(in_sr.sum())), ref, ref_sr, 0)


def supervised_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """Fully supervised classifier: SR signal vs SR background of the data by truth (plus ``data.signal``)."""
    if data.truth is None:
        raise ValueError("the supervised classifier needs truth labels of the data (Dataset.truth)")
    in_sr = in_window(data.m, cfg)[0]
    truth_sr = np.asarray(data.truth)[in_sr].astype(int)
    extra = data.signal
    if extra is None:
        extra = Sample(np.zeros((0, data.x.shape[1])), np.zeros(0))
    _check_features(data, extra, "the signal sample")
    sig_sr = in_window(extra.m, cfg)[0]
    n_sig = int(truth_sr.sum() + sig_sr.sum())
    n_bkg = int((truth_sr == 0).sum())
    w = cfg.window
    if n_sig < 10 * cfg.n_folds or n_bkg < 10 * cfg.n_folds:
        raise ValueError(
            f"supervised classifier: {n_sig} signal and {n_bkg} background events in the signal region "
            f"[{w.sr_lo:g}, {w.sr_hi:g}), too few for {cfg.n_folds} folds (inject signal or give Dataset.signal)"
        )
    return _score_with_extra(data, cfg, in_sr, truth_sr, extra, sig_sr, 1)
