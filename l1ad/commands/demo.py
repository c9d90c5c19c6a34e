"""``l1ad demo``: the whole chain on an embedded default (no downloads), stage by stage."""

from __future__ import annotations

import argparse

from l1ad.cli import VERBS
from l1ad.fixed import scores

__all__ = ["HELP", "add_arguments", "run"]

HELP = VERBS["demo"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="runs/demo", help="run directory (default: runs/demo; events in runs/demo_data)"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="the full-size demo (100k events, up to 100 epochs) instead of the quick one",
    )
    parser.add_argument(
        "--score",
        choices=scores.names(),
        default=None,
        help="trigger score (default: the run's trigger score: student when the run has one, else kl)",
    )
    parser.add_argument("--workers", type=int, default=None, help="processes for generation / threads for training")
    parser.add_argument("--seed", type=int, default=1, help="seed of generation and training (default 1)")


def run(args: argparse.Namespace) -> int:
    from l1ad.demo import run_demo

    results = run_demo(args.out, quick=not args.full, score=args.score, workers=args.workers, seed=args.seed)
    failed = [name for name, r in results.items() if isinstance(r, dict) and r.get("status") in ("failed", "not run")]
    if failed:
        print(f"l1ad demo: stages failed or not run: {', '.join(failed)}")
        return 1
    return 0
