"""``l1ad rtl runs/<name> --score kl --clock 200MHz``: da4ml Verilog of a run's encoder + score, with estimates."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from l1ad.data.atomic import write_text_atomic

HELP = "generate the RTL (da4ml) of a run's encoder + score, with latency and yosys resource estimates"
SCORES = ("kl", "rz", "mu2")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="run directory (runs/<name>)")
    parser.add_argument("--score", choices=SCORES, default="kl", help="anomaly score (default kl)")
    parser.add_argument("--clock", default="200MHz", help="target clock, e.g. 200MHz, 240MHz, 40MHz or 5ns")
    parser.add_argument(
        "--latency-cutoff",
        type=int,
        default=None,
        help="adder levels per pipeline stage (default: the clock period in ns)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output directory (default firmware/generated/<run-name>-<score>)"
    )
    parser.add_argument("--no-resources", action="store_true", help="skip the yosys resource estimate")


def load_fixed_model(run_dir: Path, score: str):
    """The run's FixedPointModel for ``score``: ``fixed/<score>/`` (from ``l1ad convert``) or extracted now."""
    from l1ad.fixed.model import FixedPointModel

    saved = run_dir / "fixed" / score
    if (saved / "model.json").is_file():
        return FixedPointModel.load(saved)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run directory")
    from l1ad.fixed.extract import extract_run

    fixed, _ = extract_run(run_dir, score=score)
    return fixed


def run(args: argparse.Namespace) -> int:
    from l1ad.rtl.generate import generate_rtl

    model = load_fixed_model(args.run_dir, args.score)
    out = args.out or Path("firmware/generated") / f"{args.run_dir.name}-{args.score}"
    design = generate_rtl(model, out, clock=args.clock, latency_cutoff=args.latency_cutoff)
    info = design.l1ad
    summary = {
        "design": str(design.path),
        "score": args.score,
        "clock_mhz": info["clock_mhz"],
        "core_latency_cycles": design.latency,
        "trigger_latency_cycles": info["trigger_latency_cycles"],
        "trigger_latency_ns": info["trigger_latency_ns"],
        "da4ml_cost_lut": design.metadata["cost"],
        "register_bits": design.metadata["reg_bits"],
    }
    print(
        f"rtl: {design.path} — core {design.latency} cycles + {info['wrapper_latency_cycles']} wrapper = "
        f"{info['trigger_latency_cycles']} cycles = {info['trigger_latency_ns']:.1f} ns at {info['clock_mhz']:.0f} MHz; "
        f"da4ml estimate {design.metadata['cost']:.0f} LUT, {design.metadata['reg_bits']} register bits"
    )
    if not args.no_resources:
        summary["resources"] = resources_summary(design)
    report_dir = args.run_dir / "rtl" / args.score
    if args.run_dir.is_dir():
        write_text_atomic(report_dir / "rtl.json", json.dumps(summary, indent=1) + "\n")
        print(f"rtl: summary -> {report_dir / 'rtl.json'}")
    return 0


def resources_summary(design) -> dict:
    """yosys estimate (printed), or the reason it was skipped."""
    from l1ad.rtl.resources import YosysNotFound, estimate

    try:
        res = estimate(design, log=design.path / "yosys.log")
    except YosysNotFound as exc:
        print(f"rtl: {exc}")
        return {"skipped": str(exc)}
    d = res.to_dict()
    write_text_atomic(design.path / "resources.json", json.dumps(d, indent=1) + "\n")
    vu9p, vu13p = res.percent("VU9P"), res.percent("VU13P")
    print(
        f"rtl: yosys synth_xilinx (xcup): {res.lut} LUT, {res.ff} FF, {res.dsp} DSP, {res.carry} CARRY — "
        f"VU9P {vu9p['LUT']:.2f}% LUT / {vu9p['FF']:.2f}% FF / {vu9p['DSP']:.2f}% DSP; "
        f"VU13P {vu13p['LUT']:.2f}% LUT / {vu13p['FF']:.2f}% FF / {vu13p['DSP']:.2f}% DSP"
    )
    return d
