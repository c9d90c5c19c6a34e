"""Firmware steps of a run: the golden fixed-point model, the hls4ml project (``convert``) and the RTL (``rtl``)."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from l1ad.data.atomic import write_text_atomic
from l1ad.fixed.golden import golden_forward
from l1ad.fixed.model import FixedPointModel
from l1ad.models.store import Run
from l1ad.pipeline.fixed import extract, fixed_model
from l1ad.pipeline.verification import compare, run_codes
from l1ad.rundir import RunDir

__all__ = ["Conversion", "RTLResult", "convert", "rtl"]


@dataclass
class Conversion:
    """What :func:`convert` made: the golden model, its hls4ml project and the C-simulation check."""

    fixed: FixedPointModel
    fixed_dir: Path
    project: Any  # l1ad.hls.project.HLSProject
    csim_check: dict[str, Any] | None
    hls_report: dict[str, Any] | None = None

    @property
    def mismatches(self) -> int:
        if not self.csim_check:
            return 0
        return int(self.csim_check["encoder"]["mismatched_values"] + self.csim_check["score"]["mismatched_values"])


def convert(
    run: Run,
    score: str | None = None,
    settings: Any = None,
    n_vectors: int = 2000,
    data: list[Path] | None = None,
    build: bool = False,
    **score_options: Any,
) -> Conversion:
    """Export the golden model of ``score`` (default: the run's trigger score) as ``fixed/<score>``, write its
    hls4ml project and check that C-simulation equals the golden model on ``n_vectors`` vectors (0: no check);
    ``build`` runs HLS synthesis (needs Vivado/Vitis HLS) and parses its report. ``settings``: an
    :class:`l1ad.hls.project.HLSSettings`."""
    from l1ad.backends import get_backend
    from l1ad.hls.project import HLSSettings

    settings = settings or HLSSettings()
    score = score or run.trigger_score
    fixed = extract(run, score, **score_options)
    fixed_dir = fixed.save(run.dir.fixed_dir(score))
    settings_dict = dataclasses.asdict(settings)
    write_text_atomic(run.dir.hls_settings_json(score), json.dumps(settings_dict, indent=1) + "\n")
    start = time.perf_counter()
    backend = get_backend("hls4ml")
    project = backend.build(fixed, run.dir.hls_project(score), settings_dict)
    check = None
    if n_vectors > 0:
        codes, _ = run_codes(run, fixed, data if data is not None else run.data_files(), n_vectors)
        golden = golden_forward(fixed, codes)
        out = backend.simulate(project, codes)
        check = {
            "vectors": int(len(codes)),
            "encoder": compare(golden.layers[-1], out.encoder),
            "score": compare(golden.score, out.score),
            "seconds": round(time.perf_counter() - start, 2),
            "project": str(project.output_dir),
            "settings": settings_dict,
        }
        write_text_atomic(run.dir.csim_check_json(score), json.dumps(check, indent=1, default=str) + "\n")
    report = None
    if build:
        report = project.build()
        write_text_atomic(run.dir.hls_report_json(score), json.dumps(report, indent=1) + "\n")
    return Conversion(fixed, fixed_dir, project, check, report)


@dataclass
class RTLResult:
    """What :func:`rtl` made: the generated design and its summary (latency, da4ml cost, yosys estimate)."""

    design: Any  # l1ad.rtl.generate.GeneratedDesign
    summary: dict[str, Any]


def rtl(
    run: Run | RunDir,
    score: str | None = None,
    clock: str | float = "200MHz",
    latency_cutoff: int | None = None,
    out: Path | None = None,
    resources: bool = True,
) -> RTLResult:
    """Generate the pipelined Verilog of ``score`` (default in the run's RTL folder) with latency, da4ml cost
    and (``resources``, with yosys installed) a LUT/FF/DSP estimate; writes the run's ``rtl/<score>/rtl.json``.
    A bare :class:`RunDir` with only ``fixed/<score>`` (e.g. a model converted elsewhere) is enough. ``score``
    None: the run's trigger score (a bare :class:`RunDir`: its only converted score)."""
    from l1ad.rtl.generate import generate_rtl
    from l1ad.rtl.resources import YosysNotFound, estimate

    run_dir = run if isinstance(run, RunDir) else run.dir
    if not run_dir.path.is_dir():
        raise FileNotFoundError(f"{run_dir.path}: no such run directory")
    model = fixed_model(run, score)
    score = model.score.kind
    design = generate_rtl(model, out or run_dir.rtl_design(score), clock=clock, latency_cutoff=latency_cutoff)
    info = design.l1ad
    summary: dict[str, Any] = {
        "design": str(design.path),
        "score": score,
        "clock_mhz": info["clock_mhz"],
        "core_latency_cycles": design.latency,
        "trigger_latency_cycles": info["trigger_latency_cycles"],
        "trigger_latency_ns": info["trigger_latency_ns"],
        "da4ml_cost_lut": design.metadata["cost"],
        "register_bits": design.metadata["reg_bits"],
    }
    if resources:
        try:
            res = estimate(design, log=design.path / "yosys.log").to_dict()
            write_text_atomic(design.path / "resources.json", json.dumps(res, indent=1) + "\n")
        except YosysNotFound as exc:
            res = {"skipped": str(exc)}
        summary["resources"] = res
    write_text_atomic(run_dir.rtl_summary_json(score), json.dumps(summary, indent=1) + "\n")
    return RTLResult(design, summary)
