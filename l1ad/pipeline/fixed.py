"""The fixed-point models of a run: extracted from its QKeras encoder, converted (``fixed/<score>``), and the
golden trigger built from them."""

from __future__ import annotations

from typing import Any

from l1ad.fixed import scores as score_registry
from l1ad.fixed.extract import extract_fixed_model, run_input_fixed_format
from l1ad.fixed.model import FixedPointModel
from l1ad.models.store import Run, load_run
from l1ad.rundir import RunDir
from l1ad.trigger import Trigger

__all__ = ["extract", "fixed_model", "trigger"]


def extract(run: Run, score: str | None = None, **score_options: Any) -> FixedPointModel:
    """The FixedPointModel of ``score`` (default: the run's trigger score) from the run's deployable QKeras
    network that computes it (the encoder, or the teacher-student regressor for ``student``)."""
    score = score or run.trigger_score
    network = score_registry.get(score).encoder
    if not run.deployable:
        raise ValueError(f"{run.path}: the run's encoder is not deployable (config.json deployable=false)")
    return extract_fixed_model(
        run.network(network),
        run_input_fixed_format(run.input_format),
        score=score,
        name=run.dir.name,
        variational=run.config.variational and network == "encoder",
        **score_options,
    )


def fixed_model(run: Run | RunDir, score: str | None = None) -> FixedPointModel:
    """The run's FixedPointModel for ``score``: the converted one (``l1ad convert``) if present, else extracted
    from the run's encoder (a bare :class:`RunDir` holding only ``fixed/<score>`` is enough for the former).
    ``score`` None: the run's trigger score, or the only converted one of a bare :class:`RunDir`."""
    if score is None:
        present = run.fixed_scores() if isinstance(run, RunDir) else []
        score = present[0] if len(present) == 1 else (run if isinstance(run, Run) else load_run(run)).trigger_score
    saved = (run if isinstance(run, RunDir) else run.dir).fixed_dir(score)
    if (saved / "model.json").is_file():
        return FixedPointModel.load(saved)
    return extract(run if isinstance(run, Run) else load_run(run), score)


def trigger(run: Run, score: str | None = None) -> Trigger:
    """The golden trigger of a converted run: its input format + ``fixed/<score>`` (the only one present, or
    the run's trigger score among several, when ``score`` is None)."""
    present = run.dir.fixed_scores()
    if score is None:
        if not present:
            raise FileNotFoundError(f"{run.path}: no fixed-point model in the run directory (run `l1ad convert`)")
        default = run.trigger_score
        if len(present) > 1 and default not in present:
            raise ValueError(f"{run.path}: several scores {present}; choose one")
        score = present[0] if len(present) == 1 else default
    elif score not in present:
        raise FileNotFoundError(
            f"{run.dir.fixed_dir(score)}: no fixed-point model for score {score!r} (run `l1ad convert {run.path}`)"
        )
    return Trigger(FixedPointModel.load(run.dir.fixed_dir(score)), run.input_format)
