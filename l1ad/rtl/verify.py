"""RTL simulation check of a FixedPointModel: generate the core, run the cocotb tests on Verilator, summarize.

:func:`rtl_check` is what ``l1ad verify`` calls. Work files go to ``<run_dir>/rtl/<score>/``: ``design/``
(generated Verilog), ``sim_build/`` (the Verilator build, reused while the design is unchanged),
``vectors.npz`` (golden expectations) and ``rtl_check.json`` (the returned summary).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.atomic import write_text_atomic
from l1ad.fixed.model import FixedPointModel
from l1ad.fixed.vectors import corner_codes
from l1ad.rtl.generate import DEFAULT_CLOCK, GeneratedDesign, generate_rtl, model_digest, parse_clock
from l1ad.rtl.vectors import write_sim_vectors

SIM_DIR = Path(__file__).resolve().parents[2] / "sim"


def load_sim_runner() -> Any:
    """The ``sim/runner.py`` module of this source tree (the testbench lives next to it, outside the package)."""
    if "l1ad_sim_runner" in sys.modules:
        return sys.modules["l1ad_sim_runner"]
    path = SIM_DIR / "runner.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the RTL testbench ships with the l1ad source tree")
    spec = importlib.util.spec_from_file_location("l1ad_sim_runner", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["l1ad_sim_runner"] = module  # dataclasses need their module registered
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["l1ad_sim_runner"]
        raise
    return module


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
    try:
        runner = load_sim_runner()
        runner.verilator_root()
        import cocotb_tools.runner  # noqa: F401
    except (ImportError, FileNotFoundError) as exc:
        return {"skipped": f"RTL simulation unavailable: {exc}"}
    work = Path(run_dir) / "rtl" / fixed_model.score.kind
    work.mkdir(parents=True, exist_ok=True)
    design = design_for(fixed_model, work / "design", clock)
    codes = np.concatenate([corner_codes(fixed_model), np.asarray(input_codes, dtype=np.int64)])
    vectors = write_sim_vectors(fixed_model, codes, work / "vectors.npz", seed=seed)
    result = runner.run_tests(design.path, build_dir or work / "sim_build", vectors)
    summary = summarize(result, design, len(codes))
    summary["seconds"] = round(time.perf_counter() - start, 1)
    write_text_atomic(work / "rtl_check.json", json.dumps(summary, indent=1, default=str) + "\n")
    return summary
