"""Verification: every form of the trigger against the golden model, integer for integer.

Stages (each: vectors, mismatching vectors and values, compared as int64):

- ``qkeras_vs_golden``: each QKeras network of the run that computes a checked score (``encoder``: the (V)AE
  encoder, ``student``: the teacher-student regressor; float64 inference, exact) vs the golden outputs;
- ``hls4ml_source_vs_golden[<score>]`` instead for a run imported from an hls4ml project: the project's own C++
  (compiled with g++ against its generation's ``nnet_utils``, with the input-scaling stage and the score around it,
  :mod:`l1ad.imports.project_csim`) vs the golden encoder outputs and score;
- ``<backend stage>[<score>]`` for every registered firmware backend (:mod:`l1ad.backends`): the backend is
  built from the score's FixedPointModel and simulated on the same vectors; its score codes (and encoder
  outputs / trigger bits, where it exposes them) are compared with the golden model's, and its own checks
  (e.g. the cocotb tests: latency, reset, threshold changes) must pass. A backend whose tools are missing is
  reported as skipped.

Vectors: corner cases (zeros, every input at max / min, alternating extremes, one-hot extremes), then events
of the data files, then random codes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.atomic import write_text_atomic
from l1ad.fixed import scores as score_registry
from l1ad.fixed.golden import golden_forward
from l1ad.fixed.model import FixedPointModel
from l1ad.fixed.vectors import corner_codes, verification_codes
from l1ad.imports.source import load_source
from l1ad.models.store import Run
from l1ad.pipeline.fixed import default_score, extract

__all__ = [
    "share_events",
    "data_codes",
    "run_codes",
    "compare",
    "total_mismatches",
    "verify",
    "verify_backend",
    "source_stage",
    "scores_to_check",
]


# ---- vectors ----------------------------------------------------------------------------------------
def share_events(available: list[int], n: int) -> list[int]:
    """How many events to take from each file: ``n`` in all, evenly, small files giving all they have."""
    take = [0] * len(available)
    remaining = n
    order = sorted(range(len(available)), key=lambda i: available[i])
    for rank, i in enumerate(order):
        take[i] = min(available[i], remaining // (len(order) - rank))
        remaining -= take[i]
    return take


def data_codes(run: Any, files: list[Path], n: int) -> np.ndarray:
    """Up to ``n`` events from ``files`` (shared evenly, see :func:`share_events`) as input codes of the run."""
    from l1ad.data.adc2021 import count_events, read_particles

    take = share_events([count_events(p) for p in files], n)
    parts = [run.input_format.to_codes(read_particles(p, 0, k)) for p, k in zip(files, take, strict=True) if k > 0]
    return np.concatenate(parts) if parts else np.zeros((0, 57), dtype=np.int64)


def run_codes(run: Any, fixed: FixedPointModel, files: list[Path], n: int, seed: int = 0) -> tuple[np.ndarray, int]:
    """``n`` vectors: corner cases, then events of ``files`` filling the rest, then random codes; and the
    number of vectors that came from events."""
    budget = max(n - len(corner_codes(fixed)), 0)
    data = data_codes(run, files, budget) if files else None
    return verification_codes(fixed, n, data, seed), 0 if data is None else len(data)


# ---- comparisons ------------------------------------------------------------------------------------
def compare(expected: np.ndarray, got: np.ndarray | None) -> dict[str, Any]:
    """Integer comparison summary: vectors, mismatching vectors and values, first mismatching vector."""
    if got is None:
        raise ValueError("nothing to compare: the simulation returned no values")
    e, g = np.asarray(expected, dtype=np.int64), np.asarray(got, dtype=np.int64)
    if e.shape != g.shape:
        raise ValueError(f"shapes differ: expected {e.shape}, got {g.shape}")
    diff = (e != g).reshape(len(e), -1)
    bad_rows = np.flatnonzero(diff.any(axis=1))
    return {
        "vectors": int(len(e)),
        "mismatched_vectors": int(bad_rows.size),
        "mismatched_values": int(diff.sum()),
        "first_mismatch": int(bad_rows[0]) if bad_rows.size else None,
    }


def total_mismatches(stage: dict[str, Any]) -> int:
    """Sum of mismatched_values over a (nested) stage summary."""
    if not isinstance(stage, dict):
        return 0
    own = int(stage.get("mismatched_values", 0) or 0)
    return own + sum(total_mismatches(v) for v in stage.values() if isinstance(v, dict))


# ---- stages ------------------------------------------------------------------------------------------
def verify_backend(
    name: str, model: FixedPointModel, codes: np.ndarray, workdir: Path, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Build ``model`` with backend ``name`` in ``workdir``, simulate ``codes``, compare with golden."""
    from l1ad.backends import get_backend

    backend = get_backend(name)
    reason = backend.unavailable()
    if reason:
        return {"skipped": reason}
    start = time.perf_counter()
    build = backend.build(model, workdir, settings)
    sim = backend.simulate(build, codes)
    golden = golden_forward(model, codes)
    stage: dict[str, Any] = {"score": compare(golden.score, sim.score)}
    if sim.encoder is not None:
        stage["encoder"] = compare(golden.layers[-1], sim.encoder)
    if sim.trigger is not None and sim.thresholds is not None:
        stage["trigger"] = compare((golden.score > sim.thresholds).astype(np.int64), sim.trigger)
    stage["checks"] = sim.checks
    stage.update({k: v for k, v in sim.figures.items() if v is not None})
    stage["report"] = backend.report(build)
    stage["ok"] = total_mismatches(stage) == 0 and all(sim.checks.values())
    stage["seconds"] = round(time.perf_counter() - start, 1)
    return stage


def source_stage(run: Run, kind: str, codes: np.ndarray) -> dict[str, Any]:
    """An imported hls4ml run's own C++ (compiled with g++) vs the golden model of score ``kind`` on ``codes``."""
    from l1ad.imports.project_csim import build_project_csim
    from l1ad.imports.source import hls4ml_source_model, hls4ml_source_project

    source = load_source(run.dir)
    assert source is not None and source.kind == "hls4ml"
    start = time.perf_counter()
    project = hls4ml_source_project(run.dir, source)
    model = hls4ml_source_model(run.dir, source, kind, project=project)
    csim = build_project_csim(model, project, run.dir.source_csim_dir / kind)
    out = csim.run(codes)
    golden = golden_forward(model, codes)
    stage: dict[str, Any] = {
        "encoder": compare(golden.layers[-1], out.encoder),
        "score": compare(golden.score, out.score),
        "project": source.original,
        "generation": source.generation,
        "compile_seconds": round(csim.compile_seconds, 1),
        "run_seconds": round(out.seconds, 2),
    }
    stage["ok"] = total_mismatches(stage) == 0
    stage["seconds"] = round(time.perf_counter() - start, 1)
    return stage


def scores_to_check(run: Run, requested: list[str] | None) -> list[str]:
    """The requested scores, else those converted (``fixed/``), else the run's default score."""
    if requested:
        return list(dict.fromkeys(requested))
    return run.dir.fixed_scores() or [default_score(run)]


def _check_same_encoder(saved: FixedPointModel, extracted: FixedPointModel) -> None:
    """Raise unless the converted model has the run's encoder (layers, types, weights, input stage)."""
    where = f"fixed/{saved.score.kind}"
    a, b = saved.to_json_dict(), extracted.to_json_dict()
    for key in ("input_format", "layers", "input_scaling"):
        if a.get(key) != b.get(key):
            raise ValueError(f"{where}: {key} differs from the run's encoder (re-run `l1ad convert`)")
    arrays_a, arrays_b = saved.arrays(), extracted.arrays()
    arrays_a.pop("score/lut", None)
    arrays_b.pop("score/lut", None)
    if arrays_a.keys() != arrays_b.keys() or not all(np.array_equal(arrays_a[k], arrays_b[k]) for k in arrays_a):
        raise ValueError(f"{where}: weights differ from the run's encoder (re-run `l1ad convert`)")


def _hls_settings(run: Run, score: str, hls_backend: str | None) -> dict[str, Any]:
    """The HLS settings `l1ad convert` used for this score (``hls_settings.json``), else the defaults."""
    path = run.dir.hls_settings_json(score)
    settings = json.loads(path.read_text()) if path.is_file() else {}
    if hls_backend is not None:
        settings["backend"] = hls_backend
    return settings


def verify(
    run: Run,
    scores: list[str] | None = None,
    n_vectors: int = 10_000,
    data: list[Path] | None = None,
    seed: int = 0,
    backends: list[str] | None = None,
    hls_backend: str | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Check QKeras and every firmware backend (default: all registered) against the golden model on
    ``n_vectors`` vectors; writes and returns the run's ``verify.json`` summary. ``progress(name, stage)`` is
    called after each stage."""
    from l1ad.backends import backend_names
    from l1ad.fixed.extract import qkeras_reference

    if n_vectors < 1:
        raise ValueError(f"the number of vectors must be >= 1, got {n_vectors}")
    kinds = scores_to_check(run, scores)
    fixed = extract(run, kinds[0])
    files = list(data) if data is not None else run.data_files()
    codes, n_data = run_codes(run, fixed, files, n_vectors, seed)
    summary: dict[str, Any] = {
        "run": str(run.path),
        "vectors": int(len(codes)),
        "corner_vectors": len(corner_codes(fixed)),
        "data_vectors": int(n_data),
        "data_files": [str(p) for p in files],
        "stages": {},
    }
    stages = summary["stages"]

    def done(name: str, stage: dict[str, Any]) -> None:
        stages[name] = stage
        if progress is not None:
            progress(name, stage)

    extracted = {score_registry.get(kinds[0]).encoder: fixed}  # per network: its FixedPointModel
    for kind in kinds:
        network = score_registry.get(kind).encoder
        if network not in extracted:
            extracted[network] = extract(run, kind)
    source = load_source(run.dir)
    if source is not None and source.kind == "hls4ml":
        for kind in kinds:
            done(f"hls4ml_source_vs_golden[{kind}]", source_stage(run, kind, codes))
    else:
        qkeras = {
            network: compare(
                golden_forward(model, codes).layers[-1], qkeras_reference(run.network(network), model, codes)
            )
            for network, model in extracted.items()
        }
        done("qkeras_vs_golden", qkeras)
    for kind in kinds:
        own = extracted[score_registry.get(kind).encoder]
        model = own.with_score(kind)
        if (run.dir.fixed_dir(kind) / "model.json").is_file():
            model = FixedPointModel.load(run.dir.fixed_dir(kind))  # the converted model is what firmware is built from
            _check_same_encoder(model, own)
        for name in backends if backends is not None else backend_names():
            from l1ad.backends import get_backend

            backend = get_backend(name)
            settings = _hls_settings(run, kind, hls_backend) if name == "hls4ml" else None
            done(
                f"{backend.stage}[{kind}]",
                verify_backend(name, model, codes, run.dir.backend_dir(name, kind), settings),
            )
    summary["total_mismatches"] = total_mismatches(stages)
    summary["failed_stages"] = [name for name, stage in stages.items() if stage.get("ok") is False]
    summary["ok"] = summary["total_mismatches"] == 0 and not summary["failed_stages"]
    write_text_atomic(run.dir.verify_json, json.dumps(summary, indent=1, sort_keys=True, default=str) + "\n")
    return summary
