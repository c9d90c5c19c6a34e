"""The golden-model score function of a run directory: events -> integer score codes (picklable, for Dask)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from l1ad.data.preprocess import InputFormat
from l1ad.fixed.golden import golden_score
from l1ad.fixed.model import FixedFormat, FixedPointModel

SCORE_KINDS = ("kl", "rz", "mu2")


@dataclass(frozen=True)
class GoldenScorer:
    """``scorer(particles (N,19,4)) -> int64 (N,)``: input preprocessing, then the golden model's score codes."""

    model: FixedPointModel
    input_format: InputFormat

    def __call__(self, particles: np.ndarray) -> np.ndarray:
        return golden_score(self.model, self.input_format.to_codes(particles))

    @property
    def output_format(self) -> FixedFormat:
        """Format of the score codes (value = code * 2**-frac)."""
        return self.model.score.output_format

    @property
    def kind(self) -> str:
        return self.model.score.kind


def fixed_model_dir(run_dir: str | os.PathLike, score: str | None = None) -> Path:
    """``runs/<name>/fixed/<score>``; without ``score`` the only one present (or 'kl' among several)."""
    fixed = Path(run_dir) / "fixed"
    if score is not None:
        if score not in SCORE_KINDS:
            raise ValueError(f"unknown score {score!r} (expected one of {SCORE_KINDS})")
        if not (fixed / score).is_dir():
            raise FileNotFoundError(
                f"{fixed / score}: no fixed-point model for score {score!r} (run `l1ad convert {run_dir}` first)"
            )
        return fixed / score
    present = sorted(p.name for p in fixed.glob("*") if (p / "model.json").is_file()) if fixed.is_dir() else []
    if not present:
        raise FileNotFoundError(f"{fixed}: no fixed-point model in the run directory (run `l1ad convert {run_dir}`)")
    if len(present) == 1:
        return fixed / present[0]
    if "kl" in present:
        return fixed / "kl"
    raise ValueError(f"{fixed}: several scores {present}; choose one with --score")


def load_scorer(run_dir: str | os.PathLike, score: str | None = None) -> GoldenScorer:
    """The golden score function of a run: its input format + ``fixed/<score>`` FixedPointModel."""
    from l1ad.models.rundir import load_run

    run = load_run(run_dir)
    return GoldenScorer(FixedPointModel.load(fixed_model_dir(run.path, score)), run.input_format)
