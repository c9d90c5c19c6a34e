"""The registry of anomaly scores: every form of the trigger (float, golden, HLS, RTL) and every command
reads the scores from here.

Built in: ``mu2`` (sum mu^2), ``kl`` (KL divergence to the prior), ``rz`` (sum mu^2 / sigma^2) and ``student``
(the output of a teacher-student regressor). A new score is
one module defining a :class:`~l1ad.fixed.scores.base.Score` subclass, registered with :func:`register`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.scores.base import Score, ScoreSpec, TraceOps
from l1ad.fixed.scores.count import CountTerm, widened_format
from l1ad.fixed.scores.kl import KL
from l1ad.fixed.scores.mu2 import Mu2
from l1ad.fixed.scores.rz import Rz
from l1ad.fixed.scores.student import Student
from l1ad.registry import Registry

__all__ = [
    "Score",
    "ScoreSpec",
    "CountTerm",
    "TraceOps",
    "register",
    "unregister",
    "get",
    "names",
    "make_score",
    "score_codes",
    "count_codes",
]

_REGISTRY: Registry[Score] = Registry("score")


def register(score: Score) -> Score:
    """Add ``score`` to the registry (its ``name`` must be new); returns it."""
    return _REGISTRY.register(score.name, score)


def unregister(name: str) -> None:
    """Remove a registered score (e.g. one a test added)."""
    _REGISTRY.unregister(name)


def get(name: str) -> Score:
    """The registered score ``name``; an unknown name raises ``ValueError`` listing the known ones."""
    return _REGISTRY.get(name)


def names(variational: bool | None = None, encoder: str | None = None) -> tuple[str, ...]:
    """Names of the registered scores; with ``variational=False`` only those an AE encoder (mu alone) has, with
    ``encoder`` only those computed from that kind of encoder ("encoder": the (V)AE, "student": the regressor)."""
    return tuple(
        n
        for n in _REGISTRY.names()
        if (variational is not False or not get(n).needs_logvar) and encoder in (None, get(n).encoder)
    )


def make_score(
    kind: str, latent: int, latent_format: FixedFormat, count: CountTerm | None = None, **options: Any
) -> ScoreSpec:
    """The fixed-point specification of score ``kind`` for ``latent`` codes of ``latent_format``; with ``count``,
    plus that exact object-count table (the output format widened to hold the sum)."""
    spec = get(kind).make_spec(latent, latent_format, **options)
    if count is None:
        return spec
    if spec.params.get("typed"):
        raise ValueError(f"score {kind}: a declared (typed) output format cannot take a count term")
    spec.count = count
    spec.output_format = widened_format(spec.output_format, count)
    return spec


def score_codes(
    spec: ScoreSpec, mu_codes: np.ndarray, logvar_codes: np.ndarray | None, raw_codes: np.ndarray | None = None
) -> np.ndarray:
    """The integer score (codes of ``spec.output_format``) of each event, int64 arithmetic; ``raw_codes`` (the
    trigger's input codes) are needed when the spec has a count term."""
    own = get(spec.kind).codes(spec, np.asarray(mu_codes, dtype=np.int64), logvar_codes)
    return own + count_codes(spec, raw_codes)


def count_codes(spec: ScoreSpec, raw_codes: np.ndarray | None) -> np.ndarray | int:
    """The count term's ``table[n]`` per event (0 without a count term)."""
    if spec.count is None:
        return 0
    if raw_codes is None:
        raise ValueError(f"score {spec.kind}: its count term {spec.count.name!r} needs the input codes")
    return spec.count.codes(raw_codes)


for _score in (Mu2(), KL(), Rz(), Student()):
    register(_score)
