"""The whole chain on an embedded default, stage by stage, through the pipeline API users call themselves.

generate (Pythia 8 + L1 emulation: a training background, an independent background for rates, 4 signals)
-> train (default quantized DNN VAE) -> convert (golden FixedPointModel + hls4ml project)
-> rtl (da4ml Verilog + yosys resources) -> verify (QKeras, hls4ml C-sim and cocotb/Verilator RTL vs golden)
-> rates (thresholds, efficiencies, pure rate) -> evaluate (the trigger score beside simple baselines)
-> report. The trigger score is the run's own (:attr:`l1ad.models.store.Run.trigger_score`: the
teacher-student regressor of the default DNN VAE) unless one is named.

Each stage prints what it did. A stage whose tools are missing is reported as skipped; a failed stage that
later stages need stops them. Event files go to ``<out_dir>_data/`` and are reused when they already hold
the requested number of events with the same seed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from l1ad.rundir import RunDir

__all__ = [
    "DemoSizes",
    "DemoContext",
    "StageSkipped",
    "QUICK",
    "FULL",
    "TARGET_RATES",
    "DEMO_FPRS",
    "SIGNAL_LABELS",
    "STAGES",
    "headline",
    "run_demo",
]


@dataclass(frozen=True)
class DemoSizes:
    """Event counts, training length and verification vectors of a demo run."""

    n_train_background: int
    n_rate_background: int
    n_signal: int
    epochs: int
    n_vectors: int
    n_hplus: int = 0  # hplus_taunu passes the lepton filter 2.5 % of the time: ~2 events/s per core
    background_shares: tuple[tuple[str, float], ...] | None = None  # None: the full SM mixture incl. QCD

    @property
    def signal_events(self) -> dict[str, int]:
        return {s: (self.n_hplus or self.n_signal) if s == "hplus_taunu" else self.n_signal for s in SIGNAL_LABELS}


#: Electroweak-only background for the quick demo: QCD costs ~1 s of CPU per kept event and its pT-hat
#: weights leave ~5 effective events per 1000, which a 15-minute demo cannot afford.
EW_SHARES = (("wlnu", 0.80), ("zll", 0.15), ("ttbar", 0.05))
QUICK = DemoSizes(
    n_train_background=6_000,
    n_rate_background=6_000,
    n_signal=800,
    epochs=100,  # early stopping ends it; 20 under-trained the VAE (hplus_taunu AUC 0.43-0.46)
    n_vectors=2_000,
    n_hplus=600,  # its AUC is ~0.54 (demo-size training, 5k test events); 300 read it to +-0.017 (0.49 once)
    background_shares=EW_SHARES,
)
FULL = DemoSizes(n_train_background=100_000, n_rate_background=100_000, n_signal=10_000, epochs=100, n_vectors=10_000)
TARGET_RATES = ("1kHz", "10kHz", "100kHz")
#: FPRs the demo's 6,000 rate-background events resolve (>= 10 events pass).
DEMO_FPRS = (1e-2, 2e-3)
SIGNAL_LABELS = ("ato4l", "lq_btau", "h0_tautau", "hplus_taunu")


class StageSkipped(Exception):
    """A stage cannot run here (a tool is missing); the message says what."""


@dataclass
class DemoContext:
    out_dir: Path
    data_dir: Path
    sizes: DemoSizes
    score: str | None  # None: the run's trigger score
    workers: int
    seed: int
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def signal_files(self) -> list[Path]:
        return [self.files[s] for s in SIGNAL_LABELS if s in self.files]


# ---- stages ------------------------------------------------------------------------------------------
def stage_generate(ctx: DemoContext) -> str:
    from l1ad.data.adc2021 import count_events, read_metadata
    from l1ad.data.generate import generate_to_file

    jobs = [
        ("background", "background", ctx.sizes.n_train_background, ctx.seed),
        ("rate_background", "background", ctx.sizes.n_rate_background, ctx.seed + 1000),
    ]
    jobs += [(name, name, n, ctx.seed + 2000 + i) for i, (name, n) in enumerate(ctx.sizes.signal_events.items())]
    shares = dict(ctx.sizes.background_shares) if ctx.sizes.background_shares else None
    done = []
    for label, process, n, seed in jobs:
        path = ctx.data_dir / f"{label}.h5"
        if path.is_file() and count_events(path) == n and read_metadata(path).get("seed") == seed:
            done.append(f"{label} {n} (reused)")
        else:
            summary = generate_to_file(
                process,
                n,
                path,
                seed=seed,
                workers=ctx.workers,
                background_shares=shares if process == "background" else None,
            )
            done.append(f"{label} {n} ({summary.seconds:.0f} s)")
        ctx.files[label] = path
    mixture = "background: W/Z/ttbar only (no QCD)" if shares else "background: full SM mixture"
    return f"{mixture}; events: " + ", ".join(done)


def stage_train(ctx: DemoContext) -> str:
    from l1ad.models.config import ModelConfig
    from l1ad.pipeline import train

    cfg = ModelConfig(epochs=ctx.sizes.epochs, seed=ctx.seed)
    train(ctx.files["background"], ctx.out_dir, cfg, signals=ctx.signal_files, overwrite=True, threads=ctx.workers)
    return f"{cfg.model} {cfg.hidden} latent {cfg.latent}, up to {cfg.epochs} epochs -> {ctx.out_dir}"


def _run(ctx: DemoContext) -> Any:
    from l1ad.pipeline import open_run

    return open_run(ctx.out_dir)


def _score(ctx: DemoContext) -> str:
    return ctx.score or _run(ctx).trigger_score


def stage_convert(ctx: DemoContext) -> str:
    from l1ad.pipeline import convert

    result = convert(_run(ctx), _score(ctx), n_vectors=0)
    return f"golden model -> {result.fixed_dir}; hls4ml project -> {result.project.output_dir}"


def stage_rtl(ctx: DemoContext) -> str:
    import shutil

    from l1ad.pipeline import rtl

    result = rtl(_run(ctx), _score(ctx), resources=shutil.which("yosys") is not None)
    s = result.summary
    res = s.get("resources")
    estimate = f", {res['lut']} LUT (yosys)" if res and "lut" in res else " (yosys not found: no resource estimate)"
    return (
        f"Verilog -> {s['design']}: {s['trigger_latency_cycles']} cycles = {s['trigger_latency_ns']:.0f} ns{estimate}"
    )


def stage_verify(ctx: DemoContext) -> str:
    from l1ad.pipeline import verify

    summary = verify(
        _run(ctx),
        scores=[_score(ctx)],
        n_vectors=ctx.sizes.n_vectors,
        data=[ctx.files["rate_background"], *ctx.signal_files],
    )
    state = "bit-exact" if summary["ok"] else "MISMATCHES (see verify.json)"
    return f"{summary['vectors']} vectors, total mismatches {summary['total_mismatches']}: {state}"


def stage_rates(ctx: DemoContext) -> str:
    from l1ad.pipeline import rates
    from l1ad.rates.menu import BaselineMenu

    rates(
        _run(ctx),
        [ctx.files["rate_background"]],
        ctx.signal_files,
        target_rates=TARGET_RATES,
        score=_score(ctx),
        menu=BaselineMenu(),
    )
    return f"rates.json for {', '.join(TARGET_RATES)} (score {_score(ctx)})"


def stage_evaluate(ctx: DemoContext) -> str:
    from l1ad.pipeline import evaluate

    summary = evaluate(
        [_run(ctx)],
        [ctx.files["rate_background"]],
        ctx.signal_files,
        ctx.out_dir / "evaluation",
        fprs=DEMO_FPRS,
        kinds=[_score(ctx)],
        supervised_background=ctx.files["background"],
    )
    scores = summary["scores"]
    trigger = scores[f"{_score(ctx)} (quantized)"]
    key = f"tpr@{DEMO_FPRS[-1]:g}"
    best = summary["best_baseline"][key]
    aucs = ", ".join(f"{s} {trigger[s]['auc']:.2f}" for s in SIGNAL_LABELS if s in trigger)

    def mean_tpr(name: str | None) -> str:
        value = scores[name]["mean_over_signals"].get(key) if name in scores else None
        return "n/a" if value is None else f"{100 * value:.2g} %"

    return (
        f"trigger score {_score(ctx)} AUC: {aucs}; mean signal efficiency at FPR {DEMO_FPRS[-1]:g}: "
        f"{mean_tpr(f'{_score(ctx)} (quantized)')} (best simple baseline, {best}: {mean_tpr(best)})"
    )


def stage_report(ctx: DemoContext) -> str:
    from l1ad.pipeline import report

    return f"report -> {report(_run(ctx))}"


STAGES: list[tuple[str, str, Callable[[DemoContext], str]]] = [
    ("generate", "generate background + 4 signals (Pythia 8 + L1 emulation)", stage_generate),
    ("train", "train the default quantized DNN VAE", stage_train),
    ("convert", "golden fixed-point model + hls4ml project", stage_convert),
    ("rtl", "RTL (da4ml) + resource estimate (yosys)", stage_rtl),
    ("verify", "bit-exactness: QKeras, hls4ml C-sim, RTL (cocotb/Verilator) vs golden", stage_verify),
    ("rates", "rate emulation: thresholds, signal efficiencies, pure rate", stage_rates),
    ("evaluate", "physics benchmark: the trigger score beside simple baselines", stage_evaluate),
    ("report", "HTML report: scores, ROC, rates, baselines, verification", stage_report),
]

#: Stages whose outputs every later stage needs (a failed RTL or verify stage does not stop rates and report).
REQUIRED = ("generate", "train", "convert")


def headline(out_dir: Path) -> list[str]:
    """The numbers the demo must show: thresholds at the target rates, efficiencies, bit-exactness, latency."""
    from l1ad.pipeline.verification import total_mismatches

    run = RunDir(out_dir)
    lines = []
    rates_path, verify_path = run.rates_json, run.verify_json
    if rates_path.is_file():
        rates = json.loads(rates_path.read_text())
        for t in rates["targets"]:
            effs = ", ".join(f"{s} {100 * e['efficiency']:.3g}%" for s, e in t["signals"].items())
            lines.append(
                f"{t['target_hz'] / 1e3:g} kHz: threshold code {t['threshold']} "
                f"(rate {t['rate_hz'] / 1e3:.3g} kHz); signal efficiency: {effs}"
            )
    if verify_path.is_file():
        verify = json.loads(verify_path.read_text())
        for name, stage in verify.get("stages", {}).items():
            if "skipped" in stage:
                lines.append(f"{name}: skipped ({stage['skipped']})")
                continue
            ok = stage.get("ok", None)
            mism = total_mismatches(stage)
            state = "bit-exact" if (mism == 0 and ok is not False) else f"{mism} mismatches, ok={ok}"
            extra = ""
            if stage.get("latency_cycles") is not None:
                extra = f", latency {stage['latency_cycles']} cycles = {stage.get('latency_ns')} ns"
            lines.append(f"{name}: {state} on {verify['vectors']} vectors{extra}")
    return lines


def run_demo(
    out_dir: str | os.PathLike = "runs/demo",
    quick: bool = True,
    score: str | None = None,
    workers: int | None = None,
    seed: int = 1,
    sizes: DemoSizes | None = None,
) -> dict[str, Any]:
    """Run every stage in order; returns {stage: {status, seconds, message}} plus 'summary' lines."""
    out_dir = Path(out_dir)
    ctx = DemoContext(
        out_dir=out_dir,
        data_dir=out_dir.with_name(out_dir.name + "_data"),
        sizes=sizes or (QUICK if quick else FULL),
        score=score,
        workers=workers or os.cpu_count() or 1,
        seed=seed,
    )
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
        blocked = status != "done" and name in REQUIRED
        seconds = time.perf_counter() - start
        results[name] = {"status": status, "seconds": round(seconds, 1), "message": message}
        print(f"[{name:>8}] {status} in {seconds:.1f} s: {message}", flush=True)
    results["summary"] = headline(out_dir)
    print("summary:")
    for line in results["summary"]:
        print(f"  {line}")
    return results
