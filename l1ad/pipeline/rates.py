"""Rate emulation of a converted run: thresholds for target rates with the golden model, signal efficiencies,
the baseline menu's pure rate; writes the run's rates.json and histograms."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.analysis import metrics
from l1ad.analysis.baselines import BASELINES, baseline_scores
from l1ad.data.adc2021 import iter_chunks, sample_name
from l1ad.data.atomic import write_text_atomic
from l1ad.models.store import Run
from l1ad.pipeline.fixed import trigger
from l1ad.rates.budget import fit_menu_to_budget
from l1ad.rates.emulate import DEFAULT_TARGET_RATES_HZ, ScoreFunction, collision_frequency, format_rate, parse_rate
from l1ad.rates.menu import BaselineMenu
from l1ad.rates.stream import DEFAULT_CHUNK_SIZE, SampleHistograms, dask_histograms, stream_histograms
from l1ad.rates.summary import BACKGROUND, save_baseline_histograms, save_histograms, summarize

__all__ = ["rates", "histograms_for", "baseline_values", "compare_baselines"]

#: Per sample and baseline: the distinct values, their summed weights and squared weights (the histogram form
#: the report's plots take).
BaselineHists = dict[str, dict[str, dict[str, np.ndarray]]]


def baseline_values(
    files: Sequence[Path], chunk_size: int = DEFAULT_CHUNK_SIZE
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every simple baseline (:mod:`l1ad.analysis.baselines`) of the events of ``files``, and their weights."""
    values: dict[str, list[np.ndarray]] = {name: [] for name in BASELINES}
    weights = []
    for path in files:
        for chunk, w_chunk in iter_chunks(path, chunk_size=chunk_size, with_weights=True):
            for name, v in baseline_scores(chunk).items():
                values[name].append(v)
            weights.append(w_chunk)
    return {k: np.concatenate(v) for k, v in values.items()}, np.concatenate(weights)


def _as_hist(values: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    codes, inverse = np.unique(values, return_inverse=True)
    return {
        "codes": codes,
        "sumw": np.bincount(inverse, weights, len(codes)),
        "sumw2": np.bincount(inverse, weights**2, len(codes)),
    }


def compare_baselines(
    samples: dict[str, tuple[dict[str, np.ndarray], np.ndarray]], rate_hz: float, f_coll_hz: float
) -> tuple[dict[str, Any], str, BaselineHists]:
    """Signal efficiency of each baseline at ``rate_hz`` (first sample = background), the best one (highest
    mean efficiency over the signals) and every sample's histogram of the best baseline."""
    (bkg_name, (bkg, bkg_w)), *signals = samples.items()
    table: dict[str, Any] = {}
    for name in BASELINES:
        thr = metrics.threshold_at_fpr(bkg[name], rate_hz / f_coll_hz, bkg_w)
        effs = {s: metrics.selection_efficiency(v[name], thr, w)[0] for s, (v, w) in signals}
        table[name] = {"threshold": thr, "efficiency": effs, "mean_efficiency": float(np.mean(list(effs.values())))}
    best = max(BASELINES, key=lambda n: table[n]["mean_efficiency"])
    hists = {sample: _as_hist(v[best], w) for sample, (v, w) in samples.items()}
    return table, best, {best: hists}


def histograms_for(
    files: list[Path],
    scorer: ScoreFunction,
    menu: BaselineMenu | None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    dask_scheduler: str | None = None,
    use_dask: bool = False,
    progress: bool = True,
    desc: str = "",
) -> SampleHistograms:
    """Score and histogram the events of ``files`` in chunks (or with ``dask.bag`` when ``use_dask``)."""
    if use_dask:
        return dask_histograms(files, scorer, menu, chunk_size, scheduler=dask_scheduler, progress=progress)
    return stream_histograms(files, scorer, menu, chunk_size, progress=progress, desc=desc)


def rates(
    run: Run,
    data: Sequence[Path],
    signals: Sequence[Path] = (),
    target_rates: Sequence[float | str] | None = None,
    score: str | None = None,
    bunches: int | None = None,
    menu: BaselineMenu | None = None,
    menu_budget: float | str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    use_dask: bool = False,
    dask_scheduler: str | None = "processes",
    progress: bool = True,
) -> dict[str, Any]:
    """Histogram the background (the L1 input stream) and each signal with the run's golden trigger; return
    and write (``rates.json`` + histograms) thresholds for ``target_rates`` (Hz, or strings like '1kHz'),
    rates, efficiencies and, with a ``menu``, pure rates and efficiency gains. ``menu_budget`` (Hz or e.g.
    '100kHz') first scales the menu's thresholds so that its rate on ``data`` is at most that budget."""
    scorer = trigger(run, score)
    f_coll = collision_frequency(bunches)
    targets = [parse_rate(t) for t in (target_rates or DEFAULT_TARGET_RATES_HZ)]
    names = [sample_name(p) for p in signals]
    if len(set(names)) != len(names) or BACKGROUND in names:
        raise ValueError(f"signal sample names must be unique and not '{BACKGROUND}': {names}")
    for target in targets:  # fail before the long part
        if target >= f_coll:
            raise ValueError(
                f"target rate {format_rate(target)} is not below the collision frequency {format_rate(f_coll)}"
            )
    budget = None
    if menu_budget is not None:
        if menu is None:
            raise ValueError("a menu budget needs a menu (drop --no-menu)")
        budget = fit_menu_to_budget(menu, list(data), parse_rate(menu_budget), f_coll, chunk_size)
        menu = budget.menu
    fmt = scorer.output_format

    def histogram(files: list[Path], desc: str) -> SampleHistograms:
        return histograms_for(files, scorer, menu, chunk_size, dask_scheduler, use_dask, progress, desc)

    start = time.perf_counter()
    background = histogram(list(data), BACKGROUND)
    hists = {name: histogram([path], name) for name, path in zip(names, signals, strict=True)}
    elapsed = time.perf_counter() - start
    summary = summarize(background, hists, targets, f_coll, menu, fmt.lsb)
    if budget is not None:
        summary["menu"]["budget"] = budget.to_dict()
    n_total = background.n_events + sum(s.n_events for s in hists.values())
    summary.update(
        score={
            "kind": scorer.kind,
            "fixed_model": str(run.dir.fixed_dir(scorer.kind)),
            "output_format": fmt.to_dict(),
            "lsb": fmt.lsb,
        },
        n_bunches=bunches,
        files={BACKGROUND: [str(p) for p in data], **{n: [str(p)] for n, p in zip(names, signals, strict=True)}},
        histograms=run.dir.rates_histograms_npz.name,
        timing={
            "seconds": elapsed,
            "events": n_total,
            "events_per_s": n_total / elapsed if elapsed > 0 else None,
            "backend": f"dask ({dask_scheduler})" if use_dask else "in-process stream",
        },
    )
    save_histograms(run.dir.rates_histograms_npz, {BACKGROUND: background, **hists})
    if names:
        samples = {BACKGROUND: baseline_values(list(data), chunk_size)}
        samples.update({n: baseline_values([p], chunk_size) for n, p in zip(names, signals, strict=True)})
        table, best, best_hists = compare_baselines(samples, min(targets), f_coll)
        summary["baselines"] = {"rate_hz": min(targets), "best": best, "table": table}
        save_baseline_histograms(run.dir.rates_baselines_npz, best, best_hists[best])
    write_text_atomic(run.dir.rates_json, json.dumps(summary, indent=1, sort_keys=False) + "\n")
    return summary
