"""The RTL firmware backend: da4ml Verilog of a FixedPointModel inside the hand-written trigger wrapper,
simulated with the cocotb testbench on Verilator (bit accuracy at II = 1, latency, reset, threshold changes),
reported with the pipeline latency and a yosys resource estimate."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.backends import FirmwareBackend, Simulation
from l1ad.data.atomic import write_text_atomic
from l1ad.fixed.model import FixedPointModel
from l1ad.rtl import simulate
from l1ad.rtl.generate import DEFAULT_CLOCK, GeneratedDesign, design_for
from l1ad.rtl.vectors import write_sim_vectors
from l1ad.shipped import testbench_dir, wrapper_hdl

__all__ = ["RTLBackend", "RTLBuild"]


@dataclass
class RTLBuild:
    """A generated design and the work directory of its simulation (Verilator build, vectors, outputs)."""

    model: FixedPointModel
    design: GeneratedDesign
    workdir: Path


class RTLBackend(FirmwareBackend):
    name = "rtl"
    stage = "rtl_vs_golden"
    description = "da4ml Verilog + trigger wrapper, cocotb testbench on Verilator"

    def unavailable(self) -> str | None:
        try:  # each raises naming what is missing
            simulate.verilator_root()
            testbench_dir()
            wrapper_hdl()
            import cocotb_tools.runner  # noqa: F401
        except (ImportError, FileNotFoundError) as exc:
            return f"RTL simulation unavailable: {exc}"
        return None

    def build(self, model: FixedPointModel, workdir: Path, settings: Mapping[str, Any] | None = None) -> RTLBuild:
        """Generate (or reuse, if built from this very model at this clock) the design in ``workdir/design``."""
        clock = dict(settings or {}).get("clock", DEFAULT_CLOCK)
        workdir.mkdir(parents=True, exist_ok=True)
        return RTLBuild(model, design_for(model, workdir / "design", clock), workdir)

    def simulate(self, build: RTLBuild, codes: np.ndarray) -> Simulation:
        """All four cocotb tests on ``codes``; the bit-accuracy test's outputs come back as codes.

        The thresholds of each event (blocks of score quantiles, some equal to the event's own score) come
        from the golden score (``l1ad.rtl.vectors``); the trigger bits are the firmware's decisions.
        """
        vectors = write_sim_vectors(build.model, codes, build.workdir / "vectors.npz")
        result = simulate.run_tests(build.design.path, build.workdir / "sim_build", vectors)
        outputs = result.results_xml.parent / "outputs.npz"
        if not outputs.is_file():
            raise RuntimeError(f"the RTL simulation wrote no outputs (see {result.log})")
        with np.load(outputs) as out, np.load(vectors) as vec:
            score, trigger, thresholds = out["score"], out["trigger"], vec["threshold"]
        if len(score) != len(codes):
            raise RuntimeError(f"the RTL gave {len(score)} valid outputs for {len(codes)} events (see {result.log})")
        lat = result.summary.get("latency", {})
        figures = {
            "latency_cycles": lat.get("measured_cycles"),
            "latency_ns": lat.get("latency_ns"),
            "bubbles": lat.get("bubbles"),
            "triggers_fired": result.summary.get("bit_accuracy", {}).get("triggers_fired"),
            "log": str(result.log),
        }
        return Simulation(
            score=score, trigger=trigger, thresholds=thresholds, checks=dict(result.passed), figures=figures
        )

    def report(self, build: RTLBuild) -> dict[str, Any]:
        """Pipeline latency at the design's clock and the yosys estimate (skipped without yosys; reused from the
        design's ``resources.json`` when this very design was estimated before)."""
        from l1ad.rtl.resources import YosysNotFound, estimate

        info = build.design.l1ad
        out: dict[str, Any] = {
            "latency_cycles": info["trigger_latency_cycles"],
            "latency_ns": info["trigger_latency_ns"],
            "clock_mhz": info["clock_mhz"],
        }
        cached = build.design.path / "resources.json"  # removed with the design when it is regenerated
        if cached.is_file():
            out["resources"] = json.loads(cached.read_text())
            return out
        try:
            out["resources"] = estimate(build.design, log=build.design.path / "yosys.log").to_dict()
            write_text_atomic(cached, json.dumps(out["resources"], indent=1) + "\n")
        except YosysNotFound as exc:
            out["resources"] = {"skipped": str(exc)}
        return out
