"""``l1ad convert``: run directory -> fixed-point (golden) model + hls4ml project + C-simulation check.

Writes ``runs/<name>/fixed/<score>/`` (model.json + model.npz, ``hls_settings.json``, ``csim_check.json``) and the hls4ml project
``hls_projects/<run-name>-<score>/`` with ``build.sh``; with ``--build`` (Vivado/Vitis HLS on PATH) runs
synthesis and writes the parsed report to ``runs/<name>/fixed/<score>/hls_report.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from l1ad.data.atomic import write_text_atomic

HELP = "extract the fixed-point (golden) model, write the hls4ml project (encoder + score) and check C-sim == golden"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from l1ad.hls.project import DEFAULT_CLOCK_PERIOD, DEFAULT_PART

    parser.add_argument("run_dir", type=Path, help="run directory (runs/<name>) from `l1ad train`")
    parser.add_argument("--score", choices=("kl", "rz", "mu2"), default="kl", help="anomaly score (default kl)")
    parser.add_argument(
        "--backend", choices=("Vitis", "Vivado"), default="Vitis", help="hls4ml backend (default Vitis)"
    )
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
    parser.add_argument("--hls-dir", type=Path, default=Path("hls_projects"), help="where projects go (hls_projects/)")
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
    from l1ad.commands.verify import compare, run_codes, run_data_files
    from l1ad.fixed.extract import extract_fixed_model, run_input_fixed_format
    from l1ad.fixed.golden import golden_forward
    from l1ad.hls.project import HLSSettings, create_project
    from l1ad.hls.report import format_report
    from l1ad.models.rundir import load_run

    run_obj = load_run(args.run_dir)
    if not run_obj.deployable:
        raise ValueError(f"{args.run_dir}: the run's encoder is not deployable (config.json deployable=false)")
    settings = HLSSettings(
        backend=args.backend,
        part=args.part,
        clock_period=args.clock_period,
        strategy=args.strategy,
        reuse_factor=args.reuse_factor,
    )
    fixed = extract_fixed_model(
        run_obj.encoder,
        run_input_fixed_format(run_obj.input_format),
        score=args.score,
        name=args.run_dir.name,
        variational=run_obj.config.variational,
        lut_index_bits=args.lut_index_bits,
        lut_width=args.lut_width,
    )
    fixed_dir = fixed.save(args.run_dir / "fixed" / args.score)
    print(
        f"convert: fixed-point model ({len(fixed.layers)} layers, latent {fixed.latent}, score {args.score} "
        f"-> {fixed.score.output_format.ap_type()}) -> {fixed_dir}"
    )
    write_text_atomic(fixed_dir / "hls_settings.json", json.dumps(dataclasses.asdict(settings), indent=1) + "\n")
    start = time.perf_counter()
    project = create_project(run_obj.encoder, fixed, args.hls_dir / f"{args.run_dir.name}-{args.score}", settings)
    print(
        f"convert: hls4ml project ({settings.backend}, {settings.part}, {settings.clock_period:g} ns) -> "
        f"{project.output_dir} (build script: {project.output_dir / 'build.sh'})"
    )
    status = 0
    if args.events > 0:
        files = list(args.data) if args.data is not None else run_data_files(run_obj)
        codes, _ = run_codes(run_obj, fixed, files, args.events)
        golden = golden_forward(fixed, codes)
        out = project.csim(codes)
        check = {
            "vectors": int(len(codes)),
            "encoder": compare(golden.layers[-1], out.encoder),
            "score": compare(golden.score, out.score),
            "seconds": round(time.perf_counter() - start, 2),
            "project": str(project.output_dir),
            "settings": dataclasses.asdict(settings),
        }
        write_text_atomic(fixed_dir / "csim_check.json", json.dumps(check, indent=1, default=str) + "\n")
        bad = check["encoder"]["mismatched_values"] + check["score"]["mismatched_values"]
        print(
            f"convert: C-sim vs golden on {len(codes)} vectors: encoder {check['encoder']['mismatched_values']}, "
            f"score {check['score']['mismatched_values']} mismatches"
        )
        status = 1 if bad else 0
    if args.build:
        summary = project.build()
        write_text_atomic(fixed_dir / "hls_report.json", json.dumps(summary, indent=1) + "\n")
        print(format_report(summary))
    return status
