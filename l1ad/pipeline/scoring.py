"""Scoring events offline with a run's bit-exact trigger emulator (``l1ad score``): the golden model that ``rates``
uses (:func:`l1ad.pipeline.fixed.trigger`), on an ADC2021-layout event file or on raw input codes.

Output ``.npz``: ``score_code`` (int64, codes of the score's output format), ``score`` (float64, their values), with
a threshold also ``trigger`` (bool, ``score_code > threshold``, as the firmware compares) and ``threshold``; with
events also their ``weights``; and ``score_format`` (the output type, text).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.adc2021 import iter_chunks
from l1ad.data.atomic import atomic_path
from l1ad.fixed.golden import golden_score
from l1ad.models.store import Run
from l1ad.pipeline.fixed import trigger

__all__ = ["score_events", "read_raw_codes"]


def read_raw_codes(path: Path, n_inputs: int) -> np.ndarray:
    """An (N, n_inputs) integer array from a ``.npy`` file; errors name the file and the problem."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such raw-codes file")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a .npy array ({exc})") from exc
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iu":
        raise ValueError(f"{path}: raw codes must be integers (the raw type's codes), got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != n_inputs:
        raise ValueError(f"{path}: raw codes have shape {arr.shape}, expected (N, {n_inputs})")
    return arr.astype(np.int64, copy=False)


def score_events(
    run: Run,
    out: str | os.PathLike,
    data: list[Path] | None = None,
    raw_codes: Path | None = None,
    threshold: int | None = None,
    score: str | None = None,
    chunk_size: int = 100_000,
) -> dict[str, Any]:
    """Score ``data`` event files (or ``raw_codes``) with the run's golden trigger of ``score`` and write ``out``."""
    if (data is None) == (raw_codes is None):
        raise ValueError("score needs event files or raw codes (one of them)")
    trig = trigger(run, score)
    start = time.perf_counter()
    arrays: dict[str, np.ndarray] = {}
    if raw_codes is not None:
        codes = read_raw_codes(Path(raw_codes), trig.model.n_inputs)
        try:
            score_code = golden_score(trig.model, codes)
        except ValueError as exc:
            raise ValueError(f"{raw_codes}: {exc}") from exc
    else:
        assert data is not None
        parts, weights = [], []
        for path in data:
            for chunk, w in iter_chunks(path, chunk_size=chunk_size, with_weights=True):
                parts.append(trig(chunk))
                weights.append(w)
        score_code = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        arrays["weights"] = np.concatenate(weights) if weights else np.zeros(0)
    arrays["score_code"] = score_code.astype(np.int64)
    arrays["score"] = trig.values(score_code)
    arrays["score_format"] = np.array(trig.output_format.ap_type())
    if threshold is not None:
        arrays["threshold"] = np.array(int(threshold), dtype=np.int64)
        arrays["trigger"] = trig.decisions(score_code, int(threshold))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
    seconds = time.perf_counter() - start
    summary = {
        "events": int(len(score_code)),
        "score": trig.kind,
        "score_format": trig.output_format.ap_type(),
        "seconds": round(seconds, 2),
        "out": str(out),
    }
    if threshold is not None:
        summary["fired"] = int(arrays["trigger"].sum())
    return summary
