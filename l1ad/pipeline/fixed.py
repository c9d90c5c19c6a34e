"""The fixed-point models of a run: extracted from its QKeras networks (or, for an imported hls4ml run, rebuilt
from the copied project), converted (``fixed/<score>``), and the golden trigger built from them."""

from __future__ import annotations

from typing import Any

from l1ad.fixed import scores as score_registry
from l1ad.fixed.extract import extract_fixed_model, run_input_fixed_format
from l1ad.fixed.model import FixedPointModel
from l1ad.imports.source import hls4ml_source_model, load_source
from l1ad.models.store import Run, load_run
from l1ad.models.student_score import count_term
from l1ad.models.train import StudentInfo
from l1ad.rundir import RunDir
from l1ad.trigger import Trigger

__all__ = ["extract", "fixed_model", "trigger", "default_score"]


def extract(run: Run, score: str | None = None, **score_options: Any) -> FixedPointModel:
    """The FixedPointModel of ``score`` (default: :func:`default_score`) from the run's deployable QKeras network
    that computes it (the encoder, or the teacher-student regressor for ``student``; an imported hls4ml run: its
    project), with an imported run's recorded options for the score (e.g. mu2's declared type), then
    ``score_options``."""
    score = score or default_score(run)
    source = load_source(run.dir)
    if source is not None and source.kind == "hls4ml":
        return hls4ml_source_model(run.dir, source, score, **score_options)
    if not run.deployable:
        raise ValueError(f"{run.path}: the run's encoder is not deployable (config.json deployable=false)")
    network = score_registry.get(score).encoder
    options = {**(source.options(score) if source is not None else {}), **score_options}
    fixed = extract_fixed_model(
        run.network(network),
        run_input_fixed_format(run.input_format),
        score=score,
        name=run.dir.name,
        variational=run.config.variational and network == "encoder",
        **options,
    )
    if network == "student" and "count" not in options:  # the exact lepton term of the teacher-student score
        count = count_term(StudentInfo.from_dict(run.student_info), run.input_format, fixed.latent_format)
        if count is not None:
            fixed = fixed.with_score(score, count=count, **options)
    return fixed


def fixed_model(run: Run | RunDir, score: str | None = None) -> FixedPointModel:
    """The run's FixedPointModel for ``score`` (default: :func:`default_score`): the converted one (``l1ad
    convert``) if present, else extracted from the run (a bare :class:`RunDir` holding only ``fixed/<score>`` is
    enough for the former)."""
    score = score or default_score(run)
    saved = (run if isinstance(run, RunDir) else run.dir).fixed_dir(score)
    if (saved / "model.json").is_file():
        return FixedPointModel.load(saved)
    return extract(run if isinstance(run, Run) else load_run(run), score)


def default_score(run: Run | RunDir) -> str:
    """The score a command means when none is named: the only one converted (``fixed/``), else the one an
    imported run was imported with, else the run's trigger score (:attr:`Run.trigger_score`: ``student`` for a
    run with a teacher-student regressor), else kl."""
    run_dir = run if isinstance(run, RunDir) else run.dir
    present = run_dir.fixed_scores()
    if len(present) == 1:
        return present[0]
    source = load_source(run_dir)
    if source is not None and (not present or source.score in present):
        return source.score
    if isinstance(run, Run) or run_dir.config_json.is_file():
        return (run if isinstance(run, Run) else load_run(run_dir)).trigger_score
    return "kl"


def trigger(run: Run, score: str | None = None) -> Trigger:
    """The golden trigger of a converted run: its input format + ``fixed/<score>`` (default:
    :func:`default_score`, which must be among the converted ones)."""
    present = run.dir.fixed_scores()
    if score is None:
        if not present:
            raise FileNotFoundError(f"{run.path}: no fixed-point model in the run directory (run `l1ad convert`)")
        score = default_score(run)
        if score not in present:
            raise ValueError(f"{run.path}: several scores {present}; choose one")
    elif score not in present:
        raise FileNotFoundError(
            f"{run.dir.fixed_dir(score)}: no fixed-point model for score {score!r} (run `l1ad convert {run.path}`)"
        )
    return Trigger(FixedPointModel.load(run.dir.fixed_dir(score)), run.input_format)
