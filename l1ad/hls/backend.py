"""The hls4ml firmware backend: an hls4ml project (encoder + score custom layer) built from a FixedPointModel,
simulated with hls4ml's C-simulation, reported from the csynth report where HLS synthesis has run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.backends import FirmwareBackend, Simulation
from l1ad.fixed.model import FixedPointModel
from l1ad.hls.project import HLSProject, HLSSettings, carrier_model, create_project
from l1ad.hls.report import ReportError, find_csynth_report, parse_csynth_report

__all__ = ["HLS4MLBackend"]


class HLS4MLBackend(FirmwareBackend):
    name = "hls4ml"
    stage = "hls_csim_vs_golden"
    description = "hls4ml project (io_parallel, Latency), C-simulation with g++"

    def build(self, model: FixedPointModel, workdir: Path, settings: Mapping[str, Any] | None = None) -> HLSProject:
        """Write and compile the project of ``model`` in ``workdir`` (``settings``: :class:`HLSSettings` fields)."""
        return create_project(carrier_model(model), model, workdir, HLSSettings(**dict(settings or {})))

    def simulate(self, build: HLSProject, codes: np.ndarray) -> Simulation:
        out = build.csim(codes)
        assert out.score is not None
        return Simulation(score=out.score, encoder=out.encoder)

    def report(self, build: HLSProject) -> dict[str, Any]:
        """The csynth report's latency and resources if synthesis has run (``build.sh`` or ``--build``)."""
        try:
            summary = parse_csynth_report(find_csynth_report(build.output_dir), part=build.settings.part)
        except ReportError as exc:
            return {"skipped": str(exc)}
        return {
            "latency_cycles": summary["latency_cycles"]["worst"],
            "latency_ns": summary["latency_ns"]["worst"],
            "resources": {k: v["used"] for k, v in summary["resources"].items()},
            "csynth": summary,
        }
