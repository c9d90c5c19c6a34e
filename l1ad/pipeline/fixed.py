"""The fixed-point models of a run: extracted from its QKeras encoder (or, for an imported hls4ml run, rebuilt from
the copied project), converted (``fixed/<score>``), and the golden trigger built from them."""

from __future__ import annotations

from typing import Any

from l1ad.fixed.extract import extract_fixed_model, run_input_fixed_format
from l1ad.fixed.model import FixedPointModel
from l1ad.imports.source import hls4ml_source_model, load_source
from l1ad.models.store import Run, load_run
from l1ad.rundir import RunDir
from l1ad.trigger import Trigger

__all__ = ["extract", "fixed_model", "trigger", "default_score"]


def extract(run: Run, score: str = "kl", **score_options: Any) -> FixedPointModel:
    """The FixedPointModel of the run's deployable QKeras encoder (an imported hls4ml run: of its project), with
    ``score`` (an imported run's recorded options for it, e.g. mu2's declared type, then ``score_options``)."""
    source = load_source(run.dir)
    if source is not None and source.kind == "hls4ml":
        return hls4ml_source_model(run.dir, source, score, **score_options)
    if not run.deployable:
        raise ValueError(f"{run.path}: the run's encoder is not deployable (config.json deployable=false)")
    options = {**(source.options(score) if source is not None else {}), **score_options}
    return extract_fixed_model(
        run.encoder,
        run_input_fixed_format(run.input_format),
        score=score,
        name=run.dir.name,
        variational=run.config.variational,
        **options,
    )


def fixed_model(run: Run | RunDir, score: str = "kl") -> FixedPointModel:
    """The run's FixedPointModel for ``score``: the converted one (``l1ad convert``) if present, else extracted
    from the run's encoder (a bare :class:`RunDir` holding only ``fixed/<score>`` is enough for the former)."""
    saved = (run if isinstance(run, RunDir) else run.dir).fixed_dir(score)
    if (saved / "model.json").is_file():
        return FixedPointModel.load(saved)
    return extract(run if isinstance(run, Run) else load_run(run), score)


def default_score(run: Run | RunDir) -> str:
    """The score a command means when none is named: the only one converted (``fixed/``), else the one an
    imported run was imported with, else kl."""
    run_dir = run if isinstance(run, RunDir) else run.dir
    present = run_dir.fixed_scores()
    if len(present) == 1:
        return present[0]
    source = load_source(run_dir)
    if source is not None and (not present or source.score in present):
        return source.score
    return "kl"


def trigger(run: Run, score: str | None = None) -> Trigger:
    """The golden trigger of a converted run: its input format + ``fixed/<score>`` (the only one present, or
    ``kl`` among several, when ``score`` is None)."""
    present = run.dir.fixed_scores()
    if score is None:
        if not present:
            raise FileNotFoundError(f"{run.path}: no fixed-point model in the run directory (run `l1ad convert`)")
        if len(present) > 1 and "kl" not in present:
            raise ValueError(f"{run.path}: several scores {present}; choose one")
        score = present[0] if len(present) == 1 else "kl"
    elif score not in present:
        raise FileNotFoundError(
            f"{run.dir.fixed_dir(score)}: no fixed-point model for score {score!r} (run `l1ad convert {run.path}`)"
        )
    return Trigger(FixedPointModel.load(run.dir.fixed_dir(score)), run.input_format)
