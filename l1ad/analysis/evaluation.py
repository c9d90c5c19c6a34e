"""The physics benchmark of trigger scores: AUC and TPR at fixed FPR beside simple baselines and a supervised
upper bound, on the same events, with the background statistics each working point rests on.

A working point FPR f is reported only when the background sample can resolve it: at least
:data:`MIN_PASSING` events (in units of the mean event weight) above the threshold, i.e. ``f x N >= 10``;
otherwise it is skipped with the reason. TPR errors are binomial (from sums of squared weights for weighted
events); the threshold's own statistical uncertainty is not included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from l1ad.analysis import metrics

__all__ = [
    "FPRS",
    "MIN_PASSING",
    "Sample",
    "working_point",
    "score_table",
    "mean_over_seeds",
    "best_baseline",
    "supervised_bound",
    "format_table",
]

#: Working points of the benchmark (background efficiency).
FPRS = (1e-3, 1e-4, 1e-5)
#: Background events (mean-weight units) that must pass a threshold for its working point to be reported.
MIN_PASSING = 10


@dataclass
class Sample:
    """Scores of one sample: name -> per-event score, and the event weights."""

    scores: dict[str, np.ndarray]
    weights: np.ndarray
    n_events: int = field(init=False)

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=np.float64)
        self.n_events = len(self.weights)
        if self.n_events == 0:
            raise ValueError("a sample with no events cannot be benchmarked")
        for name, values in self.scores.items():
            if len(values) != self.n_events:
                raise ValueError(f"score {name}: {len(values)} values for {self.n_events} events")


def working_point(bkg: np.ndarray, bkg_w: np.ndarray, sig: np.ndarray, sig_w: np.ndarray, fpr: float) -> dict[str, Any]:
    """TPR (+ binomial error) at ``fpr``, the threshold, and how many background events pass it (raw and in
    mean-weight units); ``{"skipped": reason}`` when the background cannot resolve ``fpr``."""
    n = len(bkg)
    if fpr * n < MIN_PASSING:
        return {
            "skipped": f"FPR {fpr:g} needs >= {MIN_PASSING / fpr:.0f} background events "
            f"({MIN_PASSING} passing the threshold); the sample has {n}"
        }
    tpr, err, thr = metrics.tpr_at_fpr(bkg, sig, fpr, bkg_w, sig_w)
    passing = bkg > thr
    return {
        "tpr": tpr,
        "tpr_err": err,
        "threshold": thr,
        "bkg_passing": int(passing.sum()),
        "bkg_passing_weighted": float(bkg_w[passing].sum() / bkg_w.mean()),
        "fpr_achieved": float(bkg_w[passing].sum() / bkg_w.sum()),
    }


def score_table(
    background: Sample, signals: Mapping[str, Sample], fprs: Sequence[float] = FPRS
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{score: {signal: {"auc": ..., "fpr": {f: working point}}}}`` for every score the background has."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, bkg in background.scores.items():
        out[name] = {}
        for sig_name, sig in signals.items():
            if name not in sig.scores:
                continue
            s = sig.scores[name]
            out[name][sig_name] = {
                "auc": metrics.auc(bkg, s, background.weights, sig.weights),
                "fpr": {f"{f:g}": working_point(bkg, background.weights, s, sig.weights, f) for f in fprs},
            }
    return out


def _values(entries: list[dict[str, Any]], fpr: str | None, field: str = "tpr") -> np.ndarray:
    if fpr is None:
        return np.array([e["auc"] for e in entries])
    return np.array([e["fpr"][fpr].get(field, np.nan) for e in entries], dtype=np.float64)


def mean_over_seeds(tables: Sequence[dict[str, dict[str, dict[str, Any]]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Mean and standard error over seeds (tables of :func:`score_table` with the same keys) of AUC and TPRs."""
    if not tables:
        raise ValueError("no tables to average")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for score, per_signal in tables[0].items():
        out[score] = {}
        for sig in per_signal:
            entries = [t[score][sig] for t in tables]
            row: dict[str, Any] = {"seeds": len(entries)}
            for key, fpr in [("auc", None), *[(f"tpr@{f}", f) for f in per_signal[sig]["fpr"]]]:
                v = _values(entries, fpr)
                ok = v[np.isfinite(v)]
                row[key] = float(ok.mean()) if ok.size else None
                row[f"{key}_sem"] = float(ok.std(ddof=1) / np.sqrt(ok.size)) if ok.size > 1 else None
                if fpr is not None:  # one seed's binomial error, and the background events above the threshold
                    for field, name in (("tpr_err", f"{key}_binomial"), ("bkg_passing", f"bkg_passing@{fpr}")):
                        got = _values(entries, fpr, field)
                        got = got[np.isfinite(got)]
                        row[name] = float(got.mean()) if got.size else None
            out[score][sig] = row
        out[score]["mean_over_signals"] = {
            key: _mean_or_none([out[score][s][key] for s in per_signal])
            for key in out[score][next(iter(per_signal))]
            if key.startswith(("auc", "tpr")) and not key.endswith(("_sem", "_binomial"))
        }
    return out


def _mean_or_none(values: list[float | None]) -> float | None:
    ok = [v for v in values if v is not None]
    return float(np.mean(ok)) if len(ok) == len(values) and ok else None


def best_baseline(summary: Mapping[str, Mapping[str, Any]], baselines: Sequence[str], key: str) -> str | None:
    """The baseline with the highest mean over signals of ``key`` (e.g. 'tpr@0.0001'), None if none has it."""
    ranked = [
        (summary[b]["mean_over_signals"].get(key), b)
        for b in baselines
        if b in summary and summary[b]["mean_over_signals"].get(key) is not None
    ]
    return max(ranked)[1] if ranked else None


def supervised_bound(
    background_train: np.ndarray,
    background_test: np.ndarray,
    background_test_weights: np.ndarray,
    signal: np.ndarray,
    fprs: Sequence[float] = FPRS,
    folds: int = 2,
    seed: int = 0,
    background_train_weights: np.ndarray | None = None,
) -> dict[str, Any]:
    """A supervised upper bound: boosted trees trained on separate background events vs ``folds - 1`` folds of
    the signal, scored on the held-out signal fold and the whole test background; AUC and working points are
    averaged over the folds. Inputs: flat (N, 57) features."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(len(signal)) % folds
    per_fold = []
    wb_train = np.ones(len(background_train)) if background_train_weights is None else background_train_weights
    for k in range(folds):
        train_sig = signal[fold_of != k]
        x = np.concatenate([background_train, train_sig])
        y = np.concatenate([np.zeros(len(background_train)), np.ones(len(train_sig))])
        w = np.concatenate(
            [
                wb_train / wb_train.mean() * 0.5 * len(x) / len(background_train),
                np.full(len(train_sig), 0.5 * len(x) / len(train_sig)),
            ]
        )
        clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed + k)
        with threadpool_limits(limits=1):  # OpenMP threads on a shared 2-core machine: 4x slower than one
            clf.fit(x, y, sample_weight=w)
            bkg_scores = clf.predict_proba(background_test)[:, 1]
            sig_scores = clf.predict_proba(signal[fold_of == k])[:, 1]
        bg = Sample({"supervised": bkg_scores}, background_test_weights)
        per_fold.append(
            score_table(bg, {"s": Sample({"supervised": sig_scores}, np.ones(len(sig_scores)))}, fprs)["supervised"][
                "s"
            ]
        )
    mean = mean_over_seeds([{"supervised": {"s": f}} for f in per_fold])["supervised"]["s"]
    return {"folds": folds, "auc": mean["auc"], **{k: v for k, v in mean.items() if k.startswith("tpr")}}


def _cell(row: Mapping[str, Any], key: str, percent: bool) -> str:
    v, e, b = row.get(key), row.get(f"{key}_sem"), row.get(f"{key}_binomial")
    if v is None:
        return "n/a"
    scale, unit = (100.0, " %") if percent else (1.0, "")
    text = f"{v * scale:.3g}"
    if e is not None:
        text += f" ± {e * scale:.2g}"
    if b is not None:
        text += f" [{b * scale:.2g}]"
    return text + unit


def format_table(summary: Mapping[str, Mapping[str, Any]], signals: Sequence[str], fprs: Sequence[float]) -> str:
    """Markdown tables, one per metric (AUC, TPR at each FPR): a row per score, a column per signal and the
    mean over the signals; each cell the mean over seeds +- its standard error where there are several, and in
    brackets one seed's binomial error. A last table: background events above each score's threshold."""
    cols = [*signals, "mean_over_signals"]
    parts = []
    for key, title in [("auc", "AUC"), *[(f"tpr@{f:g}", f"TPR at FPR {f:g}") for f in fprs]]:
        lines = [f"**{title}**", "", "| score | " + " | ".join(c.replace("_", " ") for c in cols) + " |"]
        lines.append("|---" * (1 + len(cols)) + "|")
        for score, per_signal in summary.items():
            cells = [_cell(per_signal.get(c, {}), key, key.startswith("tpr")) for c in cols]
            lines.append(f"| {score} | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    lines = ["**Background events above the threshold** (mean over seeds)", ""]
    lines += ["| score | " + " | ".join(f"FPR {f:g}" for f in fprs) + " |", "|---" * (1 + len(fprs)) + "|"]
    for score, per_signal in summary.items():
        first: Mapping[str, Any] = next((per_signal[s] for s in signals if s in per_signal), {})
        passing = [first.get(f"bkg_passing@{f:g}") for f in fprs]
        lines.append(f"| {score} | " + " | ".join("n/a" if c is None else f"{c:.0f}" for c in passing) + " |")
    parts.append("\n".join(lines))
    return "\n\n".join(parts)
