"""The whole chain on an embedded default, stage by stage, through each stage's Python API.

generate (Pythia 8 + L1 emulation: background for training, a second background for rates, 4 signals)
-> train (default quantized DNN VAE) -> convert (golden FixedPointModel + hls4ml project, C-sim vs golden)
-> rtl (da4ml RTL + cocotb/Verilator simulation vs golden) -> rates -> report.

Each stage prints what it did. A stage whose package is missing is reported as skipped; when generate,
train or convert do not complete, the later stages (which need their outputs) do not run; a failed RTL
check is recorded in verify.json and the demo goes on to rates and the report. Event files are kept in ``<out_dir>_data/`` and reused when
they already hold the requested number of events.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.atomic import write_text_atomic


@dataclass(frozen=True)
class DemoSizes:
    """Event counts and training length of a demo run."""

    n_train_background: int
    n_rate_background: int
    n_signal: int
    epochs: int
    n_vectors: int


QUICK = DemoSizes(n_train_background=4_000, n_rate_background=4_000, n_signal=500, epochs=5, n_vectors=500)
FULL = DemoSizes(n_train_background=30_000, n_rate_background=30_000, n_signal=3_000, epochs=30, n_vectors=5_000)
TARGET_RATES = ("1kHz", "10kHz", "100kHz")


class StageSkipped(Exception):
    """A stage cannot run here (a package or tool is missing); the message says what."""


@dataclass
class DemoContext:
    out_dir: Path
    data_dir: Path
    sizes: DemoSizes
    score: str
    workers: int
    seed: int
    files: dict[str, Path] = field(default_factory=dict)
    fixed: Any = None
    encoder: Any = None
    codes: np.ndarray | None = None
    verify: dict[str, Any] = field(default_factory=dict)


# ---- stages ------------------------------------------------------------------------------------------
def stage_generate(ctx: DemoContext) -> str:
    from l1ad.data.adc2021 import count_events
    from l1ad.data.generate import generate_to_file
    from l1ad.data.processes import BACKGROUND, SIGNALS

    jobs = [("background", BACKGROUND, ctx.sizes.n_train_background, ctx.seed),
            ("rate_background", BACKGROUND, ctx.sizes.n_rate_background, ctx.seed + 1000)]
    jobs += [(name, name, ctx.sizes.n_signal, ctx.seed + 2000 + i) for i, name in enumerate(SIGNALS)]
    done = []
    for label, process, n, seed in jobs:
        path = ctx.data_dir / f"{label}.h5"
        if path.is_file() and count_events(path) == n:
            done.append(f"{label} {n} (reused)")
        else:
            summary = generate_to_file(process, n, path, seed=seed, workers=ctx.workers)
            done.append(f"{label} {n} ({summary.seconds:.0f} s)")
        ctx.files[label] = path
    return "events: " + ", ".join(done)


def stage_train(ctx: DemoContext) -> str:
    from l1ad.models.config import ModelConfig
    from l1ad.models.train import train_run

    signals = [p for k, p in ctx.files.items() if k not in ("background", "rate_background")]
    cfg = ModelConfig(epochs=ctx.sizes.epochs)
    train_run(ctx.files["background"], ctx.out_dir, cfg, signals=signals, overwrite=True,
              threads=ctx.workers)
    return f"{cfg.model} {cfg.hidden} latent {cfg.latent}, {cfg.epochs} epochs -> {ctx.out_dir}"


def stage_convert(ctx: DemoContext) -> str:
    from l1ad.data.adc2021 import read_particles
    from l1ad.data.preprocess import InputFormat
    from l1ad.fixed.extract import extract_run
    from l1ad.fixed.golden import golden_score

    ctx.fixed, ctx.encoder = extract_run(ctx.out_dir, ctx.score)
    ctx.fixed.save(ctx.out_dir / "fixed" / ctx.score)
    events = read_particles(ctx.files["rate_background"], stop=ctx.sizes.n_vectors)
    ctx.codes = InputFormat.load(ctx.out_dir / "input_format.json").to_codes(events)
    golden = golden_score(ctx.fixed, ctx.codes)
    ctx.verify["vectors"] = int(len(ctx.codes))
    ctx.verify["score"] = ctx.score
    ctx.verify["stages"] = []
    if importlib.util.find_spec("hls4ml") is None:
        return f"golden model -> fixed/{ctx.score}; hls4ml not installed: C-sim skipped"
    from l1ad.hls.project import create_project

    project = create_project(ctx.encoder, ctx.fixed, ctx.out_dir / "hls")
    csim = project.predict(ctx.codes)
    mismatches = int(np.count_nonzero(csim != golden))
    ctx.verify["stages"].append({"stage": "hls_csim", "vectors": int(len(golden)), "mismatches": mismatches})
    return (f"golden model -> fixed/{ctx.score}; hls4ml project -> hls/; C-sim vs golden on {len(golden)} "
            f"events: {mismatches} mismatches")


def _sim_runner() -> Any:
    path = Path(__file__).resolve().parents[1] / "sim" / "runner.py"
    if not path.is_file():
        raise StageSkipped(f"{path} not found (the cocotb runner lives in the repository, not the package)")
    name = "l1ad_sim_runner"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses in the module look themselves up there
        spec.loader.exec_module(module)
    return sys.modules[name]


def stage_rtl(ctx: DemoContext) -> str:
    from l1ad.rtl.generate import generate_rtl
    from l1ad.rtl.vectors import write_sim_vectors

    design = generate_rtl(ctx.fixed, ctx.out_dir / "rtl")
    ctx.verify["rtl"] = {"latency_cycles": design.latency, "metadata": str(design.path / "metadata.json")}
    vectors = write_sim_vectors(ctx.fixed, ctx.codes, ctx.out_dir / "rtl_vectors.npz")
    runner = _sim_runner()
    build_dir = Path(runner.SIM_DIR) / f"sim_build_{ctx.out_dir.name}"  # Verilator build (~0.4 GB): not in the run
    result = runner.run_tests(design.path, build_dir, vectors)
    ctx.verify["rtl"].update(cocotb_tests=result.passed, all_passed=result.ok, **{
        k: v for k, v in result.summary.items() if isinstance(v, (int, float, str, bool))})
    ctx.verify["stages"].append({"stage": "rtl_cocotb", "vectors": int(len(ctx.codes)),
                                 "passed": result.ok,
                                 "mismatches": result.summary.get("mismatches", 0 if result.ok else "see log")})
    state = "all passed" if result.ok else f"FAILED (log: {result.log})"
    return f"RTL -> rtl/ (latency {design.latency} cycles); cocotb on {len(ctx.codes)} vectors: {state}"


def stage_rates(ctx: DemoContext) -> str:
    from l1ad.commands import rates as rates_command

    if ctx.verify and not (ctx.out_dir / "verify.json").exists():
        write_text_atomic(ctx.out_dir / "verify.json", json.dumps(ctx.verify, indent=1, default=str) + "\n")
    signals = [str(p) for k, p in ctx.files.items() if k not in ("background", "rate_background")]
    parser = argparse.ArgumentParser()
    rates_command.add_arguments(parser)
    argv = [str(ctx.out_dir), "--data", str(ctx.files["rate_background"]), "--score", ctx.score, "--no-report"]
    argv += ["--signals", *signals] if signals else []
    for rate in TARGET_RATES:
        argv += ["--target-rate", rate]
    rates_command.run(parser.parse_args(argv))
    return f"rates.json for {', '.join(TARGET_RATES)}"


def stage_report(ctx: DemoContext) -> str:
    from l1ad.report.html import write_report

    return f"report -> {write_report(ctx.out_dir)}"


STAGES: list[tuple[str, str, Callable[[DemoContext], str]]] = [
    ("generate", "generate background + 4 signals (Pythia 8 + L1 emulation)", stage_generate),
    ("train", "train the default quantized DNN VAE", stage_train),
    ("convert", "golden model + hls4ml project + C-sim check", stage_convert),
    ("rtl", "RTL (da4ml) + cocotb bit-accuracy and latency check", stage_rtl),
    ("rates", "rate emulation: thresholds and signal efficiencies", stage_rates),
    ("report", "HTML report: scores, ROC, rates, verification", stage_report),
]


#: Stages whose outputs every later stage needs (a failed RTL check does not stop rates and report).
REQUIRED = ("generate", "train", "convert")


def _headline(out_dir: Path) -> list[str]:
    """The numbers the demo must show: thresholds at 1 kHz, efficiencies, bit-exactness, latency."""
    lines = []
    rates_path, verify_path = out_dir / "rates.json", out_dir / "verify.json"
    if rates_path.is_file():
        rates = json.loads(rates_path.read_text())
        for t in rates["targets"]:
            effs = ", ".join(f"{s} {100 * e['efficiency']:.3g}%" for s, e in t["signals"].items())
            lines.append(f"{t['target_hz'] / 1e3:g} kHz: threshold code {t['threshold']} "
                         f"(rate {t['rate_hz'] / 1e3:.3g} kHz); efficiency {effs}")
    if verify_path.is_file():
        verify = json.loads(verify_path.read_text())
        for s in verify.get("stages", []):
            lines.append(f"{s.get('stage')}: {s.get('mismatches')} mismatches on {s.get('vectors')} vectors")
        if "rtl" in verify:
            lines.append(f"RTL latency: {verify['rtl'].get('latency_cycles')} clock cycles")
    return lines


def run_demo(out_dir: str | os.PathLike = "runs/demo", quick: bool = True, score: str = "kl",
             workers: int | None = None, seed: int = 1, sizes: DemoSizes | None = None) -> dict[str, Any]:
    """Run every stage in order; returns {stage: {status, seconds, message}} plus 'summary' lines.

    ``sizes`` overrides the QUICK / FULL event counts (e.g. a tiny smoke run).
    """
    out_dir = Path(out_dir)
    ctx = DemoContext(out_dir=out_dir, data_dir=out_dir.with_name(out_dir.name + "_data"),
                      sizes=sizes or (QUICK if quick else FULL), score=score, workers=workers or os.cpu_count() or 1,
                      seed=seed)
    ctx.data_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    blocked = False
    for name, description, fn in STAGES:
        if blocked:
            results[name] = {"status": "not run", "message": "an earlier stage it needs did not run"}
            print(f"[{name:>8}] not run (an earlier stage it needs did not run)")
            continue
        print(f"[{name:>8}] {description} ...", flush=True)
        start = time.perf_counter()
        try:
            message, status = fn(ctx), "done"
        except (ImportError, StageSkipped) as exc:
            message, status = f"skipped: {exc}", "skipped"
        except Exception as exc:  # noqa: BLE001 - report the failing stage and go on where possible
            message, status = f"FAILED: {type(exc).__name__}: {exc}", "failed"
            if name == "rtl":
                ctx.verify.setdefault("stages", []).append({"stage": "rtl_cocotb", "passed": False, "error": message})
        blocked = status != "done" and name in REQUIRED  # rates and report need the golden model
        seconds = time.perf_counter() - start
        results[name] = {"status": status, "seconds": round(seconds, 1), "message": message}
        print(f"[{name:>8}] {status} in {seconds:.1f} s: {message}", flush=True)
    results["summary"] = _headline(out_dir)
    print("summary:")
    for line in results["summary"]:
        print(f"  {line}")
    return results
