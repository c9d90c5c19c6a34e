#!/usr/bin/env python
"""Benchmark the RTL trigger: latency (cycles, ns) and LUT/FF/DSP per score -> a markdown table.

    python scripts/bench_rtl.py                       # random-weight default-size encoder (57-32-16-6)
    python scripts/bench_rtl.py --run runs/<name>     # a trained run (fixed/<score>/ or extracted)
    python scripts/bench_rtl.py --sparsity 0.5 --clocks 200MHz 240MHz 40MHz --no-yosys

Latency = core pipeline (da4ml, metadata.json) + 1 wrapper output register, as measured by the cocotb
latency test. LUT/FF/DSP: yosys ``synth_xilinx -family xcup`` of the whole l1ad_trigger (see
l1ad.rtl.resources); "da4ml LUT" is da4ml's own cost estimate.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from l1ad.fixed import scores
from l1ad.rtl.example import example_model
from l1ad.rtl.generate import generate_rtl
from l1ad.rtl.resources import YosysNotFound, estimate

PUBLISHED = "| published (hls4ml, Govorkova et al. 2022) | - | 16 | 80 | < 3 % VU9P | | | |"


def fixed_model(args: argparse.Namespace, score: str):
    if args.run is None:
        return example_model(score, seed=args.seed, sparsity=args.sparsity, weights=args.weights)
    from l1ad.pipeline import fixed_model as run_fixed_model
    from l1ad.pipeline import open_run

    return run_fixed_model(open_run(args.run), score)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, default=None, help="run directory (default: random-weight example model)")
    p.add_argument("--scores", nargs="+", default=list(scores.names()), choices=scores.names())
    p.add_argument("--clocks", nargs="+", default=["200MHz"])
    p.add_argument("--sparsity", type=float, default=0.0, help="example model: fraction of zero weights")
    p.add_argument("--weights", choices=("glorot", "uniform"), default="glorot")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-yosys", action="store_true", help="latency only")
    p.add_argument("--out", type=Path, default=None, help="work directory (default: a temporary one)")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = p.parse_args(argv)

    work = args.out or Path(tempfile.mkdtemp(prefix="l1ad-bench-rtl-"))
    rows = []
    print("| score | clock (MHz) | latency (cycles) | latency (ns) | LUT (% VU9P) | FF | DSP | da4ml LUT |")
    print("|---|---|---|---|---|---|---|---|")
    for score in args.scores:
        model = fixed_model(args, score)
        for clock in args.clocks:
            t0 = time.perf_counter()
            design = generate_rtl(model, work / f"{model.name}-{score}-{clock}", clock=clock)
            info = design.l1ad
            row = {
                "score": score,
                "clock_mhz": info["clock_mhz"],
                "latency_cycles": info["trigger_latency_cycles"],
                "core_latency_cycles": design.latency,
                "latency_ns": info["trigger_latency_ns"],
                "da4ml_lut": design.metadata["cost"],
                "reg_bits": design.metadata["reg_bits"],
                "generate_s": round(time.perf_counter() - t0, 1),
            }
            lut = ff = dsp = "n/a"
            if not args.no_yosys:
                try:
                    t1 = time.perf_counter()
                    res = estimate(design, log=design.path / "yosys.log")
                    row.update(res.to_dict())
                    row["yosys_s"] = round(time.perf_counter() - t1, 1)
                    lut = f"{res.lut} ({res.percent('VU9P')['LUT']:.2f} %)"
                    ff, dsp = str(res.ff), str(res.dsp)
                except YosysNotFound as exc:
                    print(f"# {exc}", file=sys.stderr)
            rows.append(row)
            print(
                f"| {score} | {info['clock_mhz']:.0f} | {row['latency_cycles']} | {row['latency_ns']:.1f} | "
                f"{lut} | {ff} | {dsp} | {row['da4ml_lut']:.0f} |",
                flush=True,
            )
    print(PUBLISHED)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
