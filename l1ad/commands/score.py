"""``l1ad score RUN --data events.h5 | --raw-codes raw.npy --out scores.npz [--threshold CODE]``: the bit-exact
emulator of a run's trigger, offline. The work is :func:`l1ad.pipeline.scoring.score_events`."""

from __future__ import annotations

import argparse
from pathlib import Path

from l1ad.fixed import scores

__all__ = ["HELP", "add_arguments", "run"]

HELP = "score events (or raw input codes) with a run's bit-exact trigger emulator; writes score codes and values"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="run directory (trained or imported) with fixed/<score>/")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, nargs="+", metavar="EVENTS.h5", help="ADC2021-layout event file(s)")
    source.add_argument(
        "--raw-codes",
        type=Path,
        metavar="RAW.npy",
        help="(N, 57) integer array of the raw type's codes (hardware units, before any input scaling)",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="SCORES.npz", help="output file")
    parser.add_argument(
        "--threshold", type=int, default=None, metavar="CODE", help="also write the trigger bit score_code > CODE"
    )
    parser.add_argument(
        "--score", choices=scores.names(), default=None, help="score (default: the only one in fixed/, else kl)"
    )


def run(args: argparse.Namespace) -> int:
    from l1ad.pipeline import open_run
    from l1ad.pipeline.scoring import score_events

    summary = score_events(
        open_run(args.run_dir),
        args.out,
        data=args.data,
        raw_codes=args.raw_codes,
        threshold=args.threshold,
        score=args.score,
    )
    fired = f", {summary['fired']} above threshold {args.threshold}" if "fired" in summary else ""
    print(
        f"score: {summary['events']} events, score {summary['score']} ({summary['score_format']}){fired} "
        f"in {summary['seconds']} s -> {summary['out']}"
    )
    return 0
