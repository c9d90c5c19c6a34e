"""``l1ad verify``: bit-exactness of every form of the trigger against the golden model, as integers.

Stages (see :mod:`l1ad.pipeline.verification`): ``qkeras_vs_golden``, then for each score every registered
firmware backend (:mod:`l1ad.backends`: hls4ml C-simulation, RTL simulation with cocotb). Writes verify.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from l1ad.backends import backend_names
from l1ad.fixed import scores
from l1ad.rundir import DEFAULT_HLS_ROOT

__all__ = ["HELP", "add_arguments", "run"]

HELP = "check QKeras, hls4ml C-sim (and RTL) against the golden model, integer for integer; writes verify.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="run directory (runs/<name>)")
    parser.add_argument(
        "--score",
        nargs="+",
        choices=scores.names(),
        default=None,
        help="score(s) to check (default: those in fixed/, else the run's trigger score)",
    )
    parser.add_argument("--events", type=int, default=10000, help="number of test vectors (default 10000)")
    parser.add_argument(
        "--data",
        type=Path,
        nargs="*",
        default=None,
        metavar="FILE.h5",
        help="event files for the vectors (default: the run's data files)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random vectors")
    parser.add_argument(
        "--backend",
        choices=("Vitis", "Vivado"),
        default=None,
        help="hls4ml backend (default: the one `l1ad convert` used, else Vitis)",
    )
    parser.add_argument("--hls-dir", type=Path, default=DEFAULT_HLS_ROOT, help="where hls4ml projects go")
    parser.add_argument(
        "--firmware",
        nargs="+",
        choices=backend_names(),
        default=None,
        help=f"firmware backends to check (default: all: {', '.join(backend_names())})",
    )
    parser.add_argument("--no-hls", action="store_true", help="skip the hls4ml C-simulation stage")
    parser.add_argument("--no-rtl", action="store_true", help="skip the RTL simulation stage")


def format_stage(name: str, stage: dict[str, Any]) -> str:
    """One line per stage: mismatches per compared quantity, latency, failed checks."""
    if "skipped" in stage:
        return f"  {name:<28} skipped: {stage['skipped']}"
    parts = [
        f"{k}: {v['mismatched_values']} mismatches / {v['vectors']} vectors"
        for k, v in stage.items()
        if isinstance(v, dict) and "mismatched_values" in v
    ]
    if stage.get("latency_cycles") is not None:
        parts.append(f"latency {stage['latency_cycles']} cycles")
    failed = [k for k, ok in stage.get("checks", {}).items() if not ok]
    if failed:
        parts.append(f"FAILED checks: {', '.join(failed)}")
    return f"  {name:<28} " + ("; ".join(parts) or json.dumps(stage, default=str)[:200])


def run(args: argparse.Namespace) -> int:
    from l1ad.pipeline import open_run, verify

    backends = list(args.firmware or backend_names())
    backends = [b for b in backends if not (b == "hls4ml" and args.no_hls) and not (b == "rtl" and args.no_rtl)]
    run_obj = open_run(args.run_dir, hls_root=args.hls_dir)
    summary = verify(
        run_obj,
        scores=args.score,
        n_vectors=args.events,
        data=args.data,
        seed=args.seed,
        backends=backends,
        hls_backend=args.backend,
        progress=lambda name, stage: print(format_stage(name, stage), flush=True),
    )
    print(
        f"verify: {summary['vectors']} vectors ({summary['corner_vectors']} corner cases, "
        f"{summary['data_vectors']} from data), total mismatches {summary['total_mismatches']} "
        f"-> {run_obj.dir.verify_json}"
    )
    if summary["failed_stages"]:
        print(f"verify: failed stages: {', '.join(summary['failed_stages'])}")
    return 0 if summary["ok"] else 1
