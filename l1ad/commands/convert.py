"""``l1ad convert``: run directory -> fixed-point (golden) model + hls4ml project + C-simulation check.

Writes the run's ``fixed/<score>/`` (model.json + model.npz, hls_settings.json, csim_check.json) and the hls4ml
project (``hls_projects/<run-name>-<score>/``, with ``build.sh``); ``--build`` (Vivado/Vitis HLS on PATH) runs
synthesis and writes the parsed report. The work is :func:`l1ad.pipeline.convert`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from l1ad.fixed import scores
from l1ad.rundir import DEFAULT_HLS_ROOT

__all__ = ["HELP", "add_arguments", "run"]

HELP = "extract the fixed-point (golden) model, write the hls4ml project (encoder + score) and check C-sim == golden"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from l1ad.hls.project import BACKENDS, DEFAULT_CLOCK_PERIOD, DEFAULT_PART

    parser.add_argument("run_dir", type=Path, help="run directory (runs/<name>) from `l1ad train`")
    parser.add_argument(
        "--score",
        choices=scores.names(),
        default=None,
        help="anomaly score (default: the only one converted, an imported run's own, else the run's trigger score)",
    )
    parser.add_argument("--backend", choices=BACKENDS, default="Vitis", help="hls4ml backend (default Vitis)")
    parser.add_argument("--part", default=DEFAULT_PART, help=f"FPGA part (default {DEFAULT_PART})")
    parser.add_argument(
        "--clock-period",
        type=float,
        default=DEFAULT_CLOCK_PERIOD,
        help=f"clock period in ns (default {DEFAULT_CLOCK_PERIOD:g})",
    )
    parser.add_argument("--reuse-factor", type=int, default=1, help="hls4ml ReuseFactor (default 1)")
    parser.add_argument("--strategy", choices=("Latency", "Resource"), default="Latency", help="hls4ml strategy")
    parser.add_argument("--lut-index-bits", type=int, default=10, help="kl/rz table index bits (default 10)")
    parser.add_argument("--lut-width", type=int, default=18, help="kl/rz table entry bits (default 18)")
    parser.add_argument("--hls-dir", type=Path, default=DEFAULT_HLS_ROOT, help="where projects go (hls_projects/)")
    parser.add_argument("--events", type=int, default=2000, help="C-sim check vectors (default 2000; 0 = no check)")
    parser.add_argument(
        "--data",
        type=Path,
        nargs="*",
        default=None,
        metavar="FILE.h5",
        help="event files for the check vectors (default: the run's data files)",
    )
    parser.add_argument("--build", action="store_true", help="run HLS synthesis (needs vitis_hls/vivado_hls)")


def run(args: argparse.Namespace) -> int:
    from l1ad.hls.project import HLSSettings
    from l1ad.hls.report import format_report
    from l1ad.pipeline import convert, open_run
    from l1ad.pipeline.fixed import default_score

    run_obj = open_run(args.run_dir, hls_root=args.hls_dir)
    args.score = args.score or default_score(run_obj)
    settings = HLSSettings(
        backend=args.backend,
        part=args.part,
        clock_period=args.clock_period,
        strategy=args.strategy,
        reuse_factor=args.reuse_factor,
    )
    table = {"lut_index_bits": args.lut_index_bits, "lut_width": args.lut_width}  # scores without a table ignore it
    result = convert(run_obj, args.score, settings, n_vectors=args.events, data=args.data, build=args.build, **table)
    fixed = result.fixed
    print(
        f"convert: fixed-point model ({len(fixed.layers)} layers, latent {fixed.latent}, score {fixed.score.kind} "
        f"-> {fixed.score.output_format.ap_type()}) -> {result.fixed_dir}"
    )
    print(
        f"convert: hls4ml project ({settings.backend}, {settings.part}, {settings.clock_period:g} ns) -> "
        f"{result.project.output_dir} (build script: {result.project.output_dir / 'build.sh'})"
    )
    if result.csim_check:
        check = result.csim_check
        print(
            f"convert: C-sim vs golden on {check['vectors']} vectors: encoder "
            f"{check['encoder']['mismatched_values']}, score {check['score']['mismatched_values']} mismatches"
        )
    if result.hls_report:
        print(format_report(result.hls_report))
    return 1 if result.mismatches else 0
