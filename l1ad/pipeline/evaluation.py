"""The physics benchmark of trained runs (``l1ad evaluate``): the deployed trigger scores (quantized, as the
golden model computes them), the float model's scores, simple baselines and a supervised upper bound, on the
same independent test events, averaged over runs (training seeds).

Works on any ADC2021-layout files (generated or the public data set). Writes ``evaluation.json`` and
``evaluation.md`` (the tables) into the output folder and each run's own ``evaluation.json`` (its report shows
it), plus ROC figures.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.analysis import evaluation, metrics
from l1ad.analysis.baselines import BASELINES, baseline_scores
from l1ad.data import adc2021
from l1ad.data.atomic import write_text_atomic
from l1ad.models.store import Run
from l1ad.pipeline.fixed import fixed_model
from l1ad.trigger import Trigger

__all__ = ["evaluate", "read_events", "model_scores", "QUANTIZED", "FLOAT"]

QUANTIZED = "{} (quantized)"
FLOAT = "{} (float)"
SUPERVISED = "supervised BDT"
#: A quantized/float TPR ratio is resolved where the float score keeps at least this many signal events (a
#: relative statistical error of the ratio of about 10 % or less); below, it is reported but not judged.
RATIO_MIN_EVENTS = 100
#: Paired-bootstrap resamplings for the interval of a resolved ratio.
RATIO_BOOTSTRAPS = 100


def read_events(files: Sequence[Path], what: str) -> tuple[np.ndarray, np.ndarray]:
    """Events and weights of ``files`` concatenated; a clear error for a missing, empty or malformed file."""
    if not files:
        raise ValueError(f"no {what} files given")
    events, weights = [], []
    for path in files:
        ev = adc2021.read_particles(path)
        if len(ev) == 0:
            raise ValueError(f"{path}: the {what} file holds no events")
        events.append(ev)
        weights.append(adc2021.read_weights(path))
    return np.concatenate(events), np.concatenate(weights)


def model_scores(run: Run, events: np.ndarray, kinds: Sequence[str]) -> dict[str, np.ndarray]:
    """The run's quantized firmware scores (golden model, as score values) and its float model's scores."""
    out: dict[str, np.ndarray] = {}
    codes = None
    for kind in kinds:
        trig = Trigger(fixed_model(run, kind), run.input_format)
        codes = trig.codes(events) if codes is None else codes
        out[QUANTIZED.format(kind)] = trig.values(trig.score_codes(codes))
    if run.float_model is not None:
        floats = run.score(events, quantized=False)
        for kind in [*kinds, "mse"]:
            if kind in floats:
                out[FLOAT.format(kind)] = floats[kind]
    return out


def evaluate(
    runs: Sequence[Run],
    background: Sequence[str | os.PathLike],
    signals: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    fprs: Sequence[float] = evaluation.FPRS,
    kinds: Sequence[str] | None = None,
    supervised_background: Path | None = None,
    supervised: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Benchmark ``runs`` (one per training seed) on independent test ``background`` and ``signals`` files.

    ``kinds``: firmware scores to evaluate (default: every firmware score all runs have, the teacher-student
    regressor's included);
    ``supervised_background``: background events for the supervised bound (default: the first run's training
    file, which is independent of the test files); ``supervised=False`` skips the bound.
    """
    say = progress or (lambda _msg: None)
    background_files, signal_files, out_dir = [Path(p) for p in background], [Path(p) for p in signals], Path(out)
    if not runs:
        raise ValueError("evaluate needs at least one run")
    t0 = time.perf_counter()
    bkg_events, bkg_w = read_events(background_files, "background")
    names = [adc2021.sample_name(p) for p in signal_files]
    if len(set(names)) != len(names):
        raise ValueError(f"signal sample names must be unique: {names}")
    sig_events = {name: read_events([p], f"signal {name}") for name, p in zip(names, signal_files, strict=True)}
    for f in fprs:
        if f * len(bkg_events) < evaluation.MIN_PASSING:
            say(
                f"note: FPR {f:g} needs >= {evaluation.MIN_PASSING / f:.0f} background events; "
                f"the {len(bkg_events)} given cannot resolve it (reported as n/a)"
            )
    kinds = list(kinds or [k for k in runs[0].firmware_scores() if all(k in r.firmware_scores() for r in runs)])

    say(f"baselines on {len(bkg_events)} background events and {len(names)} signals")
    bkg_base = evaluation.Sample(baseline_scores(bkg_events), bkg_w)
    sig_base = {n: evaluation.Sample(baseline_scores(ev), w) for n, (ev, w) in sig_events.items()}
    baseline_table = evaluation.score_table(bkg_base, sig_base, fprs)

    per_seed = []
    seed_intervals: list[dict[str, dict[str, dict[str, list[float]]]]] = []
    for run in runs:
        say(f"scores of {run.path}")
        bkg = evaluation.Sample(model_scores(run, bkg_events, kinds), bkg_w)
        sigs = {n: evaluation.Sample(model_scores(run, ev, kinds), w) for n, (ev, w) in sig_events.items()}
        table = evaluation.score_table(bkg, sigs, fprs)
        per_seed.append(table)
        seed_intervals.append(_ratio_intervals(bkg, sigs, kinds, fprs))
        write_text_atomic(run.dir.evaluation_json, _json({"scores": table, "baselines": baseline_table}))
    summary_scores = evaluation.mean_over_seeds(per_seed)
    summary_scores.update(evaluation.mean_over_seeds([baseline_table]))

    supervised_result: dict[str, Any] = {}
    train_path = supervised_background or runs[0].data_file("background")
    if supervised and train_path is None:
        supervised_result["skipped"] = "no background file for the supervised bound (--supervised-background)"
    elif supervised and train_path is not None:
        say(f"supervised bound (boosted trees, training background {train_path})")
        train_ev, train_w = read_events([train_path], "supervised training background")
        flat_test = adc2021.to_flat(bkg_events)
        row: dict[str, Any] = {}
        for name, (ev, _) in sig_events.items():
            row[name] = evaluation.supervised_bound(
                adc2021.to_flat(train_ev), flat_test, bkg_w, adc2021.to_flat(ev), fprs, background_train_weights=train_w
            )
        keys = [k for k in next(iter(row.values())) if k.startswith(("auc", "tpr")) and not k.endswith("_sem")]
        row["mean_over_signals"] = {k: _mean([row[n].get(k) for n in names]) for k in keys}
        summary_scores[SUPERVISED] = row
        supervised_result["training_background"] = str(train_path)

    ratios = {
        kind: {
            sig: {
                key: _ratio(
                    summary_scores[QUANTIZED.format(kind)][sig].get(key),
                    summary_scores[FLOAT.format(kind)][sig].get(key),
                )
                for key in [f"tpr@{f:g}" for f in fprs]
            }
            for sig in names
        }
        for kind in kinds
        if FLOAT.format(kind) in summary_scores
    }
    ratio_events = {
        kind: {
            sig: {
                key: _events(summary_scores[FLOAT.format(kind)][sig].get(key), len(sig_events[sig][0]))
                for key in [f"tpr@{f:g}" for f in fprs]
            }
            for sig in names
        }
        for kind in ratios
    }
    ratio_intervals = {
        kind: {
            sig: {
                key: _mean_interval([seed[kind][sig].get(key) for seed in seed_intervals])
                for key in [f"tpr@{f:g}" for f in fprs]
            }
            for sig in names
        }
        for kind in ratios
    }
    best = {
        key: evaluation.best_baseline(summary_scores, list(BASELINES), key)
        for key in ["auc", *[f"tpr@{f:g}" for f in fprs]]
    }
    result = {
        "runs": [str(r.path) for r in runs],
        "background": {
            "files": [str(p) for p in background_files],
            "events": int(len(bkg_events)),
            "sum_weights": float(bkg_w.sum()),
        },
        "signals": {
            n: {"file": str(p), "events": int(len(sig_events[n][0]))} for n, p in zip(names, signal_files, strict=True)
        },
        "fprs": list(fprs),
        "min_passing": evaluation.MIN_PASSING,
        "kinds": kinds,
        "baselines": list(BASELINES),
        "best_baseline": best,
        "supervised": supervised_result,
        "scores": summary_scores,
        "quantized_over_float": ratios,
        "quantized_over_float_events": ratio_events,
        "quantized_over_float_interval": ratio_intervals,
        "ratio_min_events": RATIO_MIN_EVENTS,
        "per_seed": per_seed,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "evaluation.json", _json(result))
    write_text_atomic(out_dir / "evaluation.md", evaluation.format_table(summary_scores, names, fprs) + "\n")
    return result


def _ratio_intervals(
    bkg: evaluation.Sample, sigs: dict[str, evaluation.Sample], kinds: Sequence[str], fprs: Sequence[float]
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """One seed's 68 % paired-bootstrap interval of the quantized/float TPR ratio, where the float score keeps
    at least :data:`RATIO_MIN_EVENTS` signal events (elsewhere none: the ratio is not resolved)."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for kind in kinds:
        q, f = QUANTIZED.format(kind), FLOAT.format(kind)
        if f not in bkg.scores:
            continue
        out[kind] = {}
        for name, sig in sigs.items():
            out[kind][name] = {}
            for fpr in fprs:
                if fpr * bkg.n_events < evaluation.MIN_PASSING:
                    continue
                kept = metrics.tpr_at_fpr(bkg.scores[f], sig.scores[f], fpr, bkg.weights, sig.weights)[0]
                if kept * sig.n_events < RATIO_MIN_EVENTS:
                    continue
                _, lo, hi = metrics.tpr_ratio(
                    bkg.scores[f], sig.scores[f], bkg.scores[q], sig.scores[q], fpr, bkg.weights, sig.weights,
                    n_boot=RATIO_BOOTSTRAPS,
                )  # fmt: skip
                out[kind][name][f"tpr@{fpr:g}"] = [lo, hi]
    return out


def _mean_interval(intervals: list[list[float] | None]) -> list[float] | None:
    """Seed mean of the interval bounds (None unless every seed has one)."""
    if not intervals or any(i is None for i in intervals):
        return None
    return [float(np.mean([i[0] for i in intervals if i])), float(np.mean([i[1] for i in intervals if i]))]


def _events(tpr: float | None, n_signal: int) -> float | None:
    """Signal events a TPR keeps (the statistics a quantized/float ratio rests on)."""
    return None if tpr is None else tpr * n_signal


def _ratio(num: float | None, den: float | None) -> float | None:
    """num / den of seed-mean TPRs (None where either is missing or the float TPR is 0)."""
    return num / den if num is not None and den else None


def _mean(values: list[Any]) -> float | None:
    ok = [v for v in values if v is not None]
    return float(np.mean(ok)) if ok and len(ok) == len(values) else None


def _json(payload: dict[str, Any]) -> str:
    def clean(obj: Any) -> Any:
        if isinstance(obj, float) and not np.isfinite(obj):
            return None
        if isinstance(obj, dict):
            return {str(k): clean(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [clean(v) for v in obj]
        if isinstance(obj, np.generic):
            return clean(obj.item())
        return obj

    return json.dumps(clean(payload), indent=1) + "\n"
