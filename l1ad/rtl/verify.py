"""RTL simulation check of a FixedPointModel: generate the core, run the cocotb tests on Verilator, summarize.

:func:`rtl_check` is what ``l1ad verify`` calls. Work files go to ``<run_dir>/rtl/<score>/``: ``design/``
(generated Verilog), ``sim_build/`` (the Verilator build, reused while the design is unchanged),
``vectors.npz`` (golden expectations) and ``rtl_check.json`` (the returned summary).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.atomic import write_text_atomic
from l1ad.fixed.model import FixedPointModel
from l1ad.fixed.vectors import corner_codes
from l1ad.rtl import simulate
from l1ad.rtl.generate import DEFAULT_CLOCK, GeneratedDesign, generate_rtl, model_digest, parse_clock
from l1ad.rtl.vectors import write_sim_vectors
from l1ad.shipped import testbench_dir, wrapper_hdl


def design_for(model: FixedPointModel, design_dir: Path, clock: str | float = DEFAULT_CLOCK) -> GeneratedDesign:
    """The generated design of ``model`` in ``design_dir``, regenerated unless it was built from this very model."""
    meta_file = design_dir / "metadata.json"
    if meta_file.is_file():
        info = json.loads(meta_file.read_text()).get("l1ad", {})
        if (
            info.get("model_sha256") == model_digest(model)
            and abs(float(info.get("clock_period_ns", -1)) - parse_clock(clock)) < 1e-9
        ):
            return GeneratedDesign.load(design_dir)
    return generate_rtl(model, design_dir, clock=clock)


def summarize(result: Any, design: GeneratedDesign, n_vectors: int) -> dict[str, Any]:
    """Flat summary of a testbench run: vectors, mismatches, latency (cycles, ns), per-test pass/fail."""
    s = result.summary
    bit = s.get("bit_accuracy", {})
    lat = s.get("latency", {})
    score_mm = int(bit.get("score_mismatches", -1))
    trig_mm = int(bit.get("trigger_mismatches", -1))
    failed = sorted(name for name, ok in result.passed.items() if not ok)
    return {
        "ok": result.ok,
        "vectors": n_vectors,
        "compared": int(bit.get("compared", 0)),
        "score_mismatches": score_mm,
        "trigger_mismatches": trig_mm,
        "mismatches": max(score_mm, 0) + max(trig_mm, 0),
        "failed_tests": failed,
        "tests": result.passed,
        "latency_cycles": lat.get("measured_cycles"),
        "latency_ns": lat.get("latency_ns"),
        "core_latency_cycles": design.latency,
        "clock_mhz": design.l1ad["clock_mhz"],
        "bubbles": lat.get("bubbles"),
        "design": str(design.path),
        "details": s,
    }


def rtl_check(
    run_dir: str | os.PathLike,
    fixed_model: FixedPointModel,
    input_codes: np.ndarray,
    clock: str | float = DEFAULT_CLOCK,
    seed: int = 0,
    build_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Simulate the trigger firmware of ``fixed_model`` on ``input_codes`` (+ corner cases) against golden.

    Returns a summary dict (``ok``, ``vectors``, ``mismatches``, ``failed_tests``, ``latency_cycles``,
    ``latency_ns``, ...); ``{"skipped": reason}`` when Verilator / cocotb are not available.
    ``build_dir``: Verilator build directory (default ``<run_dir>/rtl/<score>/sim_build``; reused while the
    design is unchanged).
    """
    start = time.perf_counter()
    try:  # each raises naming what is missing
        simulate.verilator_root()
        testbench_dir()
        wrapper_hdl()
        import cocotb_tools.runner  # noqa: F401
    except (ImportError, FileNotFoundError) as exc:
        return {"skipped": f"RTL simulation unavailable: {exc}"}
    work = Path(run_dir) / "rtl" / fixed_model.score.kind
    work.mkdir(parents=True, exist_ok=True)
    design = design_for(fixed_model, work / "design", clock)
    codes = np.concatenate([corner_codes(fixed_model), np.asarray(input_codes, dtype=np.int64)])
    vectors = write_sim_vectors(fixed_model, codes, work / "vectors.npz", seed=seed)
    result = simulate.run_tests(design.path, build_dir or work / "sim_build", vectors)
    summary = summarize(result, design, len(codes))
    summary["seconds"] = round(time.perf_counter() - start, 1)
    write_text_atomic(work / "rtl_check.json", json.dumps(summary, indent=1, default=str) + "\n")
    return summary
