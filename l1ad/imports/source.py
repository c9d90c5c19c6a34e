"""What an imported run came from (``source.json``) and its FixedPointModel rebuilt from the copied source.

An imported run keeps a copy of its source (:class:`l1ad.rundir.RunDir`: ``source/``): the Keras file is the
run's ``encoder.h5``; an hls4ml project is copied to ``source/hls4ml/`` (with ``source/templates/`` when its
generation's ``nnet_utils`` were given separately) and the input-scaling file to ``source/``. Every later step
(``convert``, ``verify``, ``rates``, ``score``) rebuilds the model from that copy with the recorded options.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from l1ad.data.atomic import write_text_atomic
from l1ad.fixed.model import FixedPointModel
from l1ad.imports.hls4ml_project import HLS4MLProject, read_project
from l1ad.imports.scaling_file import read_input_scaling
from l1ad.rundir import RunDir

__all__ = ["Source", "SOURCE_KINDS", "load_source", "hls4ml_source_project", "hls4ml_source_model"]

SOURCE_KINDS = ("keras", "hls4ml")
TEMPLATES_DIR = "templates"


@dataclass
class Source:
    """Provenance and options of an imported run."""

    kind: str  # "keras" or "hls4ml"
    original: str  # absolute path of the imported file or project
    variational: bool
    score: str  # the score written at import (fixed/<score>)
    score_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # per score kind, e.g. score_type
    sha256: dict[str, str] = field(default_factory=dict)
    project: str | None = None  # hls4ml: top function name
    generation: str | None = None  # hls4ml: "1.x" / "0.x"
    templates: bool = False  # hls4ml: nnet_utils/ap_types copied to source/templates (not shipped by the project)
    input_scaling: dict[str, Any] | None = None  # {"file": copied file name, "raw_type": "ap_fixed<W,I>", "original"}
    check: dict[str, Any] | None = None  # the import's own comparison with the source

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"unknown source kind {self.kind!r} (expected one of {SOURCE_KINDS})")

    def options(self, score: str) -> dict[str, Any]:
        return dict(self.score_options.get(score, {}))

    def save(self, run_dir: RunDir) -> None:
        write_text_atomic(run_dir.source_json, json.dumps(asdict(self), indent=1, sort_keys=True) + "\n")


def load_source(run_dir: RunDir) -> Source | None:
    """The run's :class:`Source`, None for a trained run."""
    path = run_dir.source_json
    if not path.is_file():
        return None
    try:
        return Source(**json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a valid source description: {exc}") from exc


def hls4ml_source_project(run_dir: RunDir, source: Source) -> HLS4MLProject:
    """The copied hls4ml project, parsed (with the copied templates when the project ships none)."""
    templates = run_dir.source_dir / TEMPLATES_DIR if source.templates else None
    return read_project(run_dir.source_project, templates=templates, project=source.project)


def hls4ml_source_model(
    run_dir: RunDir,
    source: Source,
    score: str,
    project: HLS4MLProject | None = None,
    name: str | None = None,
    **score_options: Any,
) -> FixedPointModel:
    """The FixedPointModel of an imported hls4ml run for ``score`` (recorded options, then ``score_options``),
    named ``name`` (default: the run's name)."""
    project = project or hls4ml_source_project(run_dir, source)
    scaling = None
    if source.input_scaling is not None:
        scaling = read_input_scaling(
            run_dir.source_file(source.input_scaling["file"]), project.n_inputs, source.input_scaling["raw_type"]
        )
    options = {**source.options(score), **score_options}
    return project.fixed_model(score, source.variational, scaling, name=name or run_dir.name, **options)
