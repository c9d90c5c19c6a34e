"""Test vectors for the RTL simulation: input codes, golden scores, thresholds and expected trigger bits.

Everything expected is computed here with the golden model (``l1ad.fixed.golden``) and written to an npz
that the cocotb testbench only reads (``sim/test_trigger.py``):

- ``codes`` (N, n_inputs) int64, ``score`` (N,) golden score codes,
- ``threshold`` (N,) the threshold in force for each event (changes in blocks, some equal to the event's
  own score to check that the comparison is strict), ``trigger`` (N,) = score > threshold,
- ``tc_*``: the threshold-change scenario (events, per-event thresholds, expected triggers, and the
  position whose threshold is written in an idle cycle).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from l1ad.data.atomic import atomic_path
from l1ad.fixed.golden import golden_score
from l1ad.fixed.model import FixedPointModel

__all__ = ["threshold_scenario", "write_sim_vectors"]


def _thresholds(score: np.ndarray, seed: int, block: int = 97) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    levels = np.quantile(score, [0.0, 0.5, 0.9, 0.99, 1.0]).astype(np.int64)
    thr = np.repeat(rng.choice(levels, size=len(score) // block + 1), block)[: len(score)]
    equal = rng.random(len(score)) < 0.05  # threshold == score: must not fire (strict >)
    thr[equal] = score[equal]
    return thr


def threshold_scenario(score: np.ndarray, n: int = 24) -> dict[str, np.ndarray | np.int64]:
    """Events 0..n-1; threshold switches at n/3 (with the event) and at 2n/3 (in an idle cycle before it)."""
    n = min(n, len(score))
    s = score[:n]
    high = int(s.max())  # nothing fires
    low = int(np.sort(s)[n // 2])  # about half fire; the median event equals it: must not fire
    thr = np.full(n, high, dtype=np.int64)
    thr[n // 3 : 2 * n // 3] = low
    thr[2 * n // 3 :] = max(int(s.min()) - 1, 0)  # (almost) everything fires
    return {
        "tc_events": np.arange(n),
        "tc_threshold": thr,
        "tc_trigger": (s > thr).astype(np.int64),
        "tc_gap_before": np.int64(2 * n // 3),
    }


def write_sim_vectors(model: FixedPointModel, codes: np.ndarray, path: str | os.PathLike, seed: int = 0) -> Path:
    """Golden expectations for ``codes`` -> npz at ``path`` (atomic)."""
    codes = np.asarray(codes, dtype=np.int64)
    score = golden_score(model, codes)
    threshold = _thresholds(score, seed)
    arrays = {
        "codes": codes,
        "score": score,
        "threshold": threshold,
        "trigger": (score > threshold).astype(np.int64),
        **threshold_scenario(score),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, allow_pickle=True, **arrays)
    return path
