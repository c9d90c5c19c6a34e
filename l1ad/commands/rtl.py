"""``l1ad rtl runs/<name> --score kl --clock 200MHz``: da4ml Verilog of a run's encoder + score, with estimates.

The work is :func:`l1ad.pipeline.rtl`; this module parses and prints.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from l1ad.fixed import scores
from l1ad.rundir import DEFAULT_RTL_ROOT

__all__ = ["HELP", "add_arguments", "run"]

HELP = "generate the RTL (da4ml) of a run's encoder + score, with latency and yosys resource estimates"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="run directory (runs/<name>)")
    parser.add_argument(
        "--score",
        choices=scores.names(),
        default=None,
        help="anomaly score (default: the only one converted, an imported run's own, else the run's trigger score)",
    )
    parser.add_argument("--clock", default="200MHz", help="target clock, e.g. 200MHz, 240MHz, 40MHz or 5ns")
    parser.add_argument(
        "--latency-cutoff",
        type=int,
        default=None,
        help="adder levels per pipeline stage (default: the clock period in ns)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help=f"output directory (default {DEFAULT_RTL_ROOT}/<run-name>-<score>)"
    )
    parser.add_argument("--no-resources", action="store_true", help="skip the yosys resource estimate")


def format_resources(res: dict[str, Any]) -> str:
    """One line of the yosys estimate (or why it was skipped)."""
    if "skipped" in res:
        return f"rtl: {res['skipped']}"
    vu9p, vu13p = res["percent"]["VU9P"], res["percent"]["VU13P"]
    return (
        f"rtl: yosys synth_xilinx (xcup): {res['lut']} LUT, {res['ff']} FF, {res['dsp']} DSP, {res['carry']} CARRY — "
        f"VU9P {vu9p['LUT']:.2f}% LUT / {vu9p['FF']:.2f}% FF / {vu9p['DSP']:.2f}% DSP; "
        f"VU13P {vu13p['LUT']:.2f}% LUT / {vu13p['FF']:.2f}% FF / {vu13p['DSP']:.2f}% DSP"
    )


def run(args: argparse.Namespace) -> int:
    from l1ad.pipeline import rtl
    from l1ad.pipeline.fixed import default_score
    from l1ad.rundir import RunDir

    run_dir = RunDir(args.run_dir)
    args.score = args.score or default_score(run_dir)
    result = rtl(
        run_dir,
        args.score,
        clock=args.clock,
        latency_cutoff=args.latency_cutoff,
        out=args.out,
        resources=not args.no_resources,
    )
    s = result.summary
    print(
        f"rtl: {s['design']} — core {s['core_latency_cycles']} cycles = {s['trigger_latency_cycles']} cycles = "
        f"{s['trigger_latency_ns']:.1f} ns at {s['clock_mhz']:.0f} MHz; da4ml estimate {s['da4ml_cost_lut']:.0f} LUT, "
        f"{s['register_bits']} register bits"
    )
    if "resources" in s:
        print(format_resources(s["resources"]))
    print(f"rtl: summary -> {run_dir.rtl_summary_json(s['score'])}")
    return 0
