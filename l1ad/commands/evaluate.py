"""``l1ad evaluate RUN [RUN ...] --background TEST.h5 --signals S.h5 ...``: the physics benchmark.

For every run (one per training seed): the firmware scores quantized as the golden model computes them and the
float model's scores; beside them the simple baselines (lepton count, lepton pT sum, HT, MET, object count,
leading pT) and a supervised upper bound (boosted trees per signal). AUC and TPR at FPR 1e-3 / 1e-4 / 1e-5
(each with its binomial error and the number of background events passing), averaged over the runs. The work is
:func:`l1ad.pipeline.evaluation.evaluate`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from l1ad.analysis.evaluation import FPRS
from l1ad.fixed import scores

HELP = "physics benchmark: trigger scores beside simple baselines and a supervised bound (AUC, TPR at FPR)"

__all__ = ["HELP", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", type=Path, nargs="+", help="run directories (one per training seed)")
    parser.add_argument(
        "--background", type=Path, nargs="+", required=True, metavar="BKG.h5", help="independent test background"
    )
    parser.add_argument("--signals", type=Path, nargs="+", required=True, metavar="SIG.h5", help="signal files")
    parser.add_argument("--out", type=Path, required=True, help="output folder (evaluation.json, evaluation.md)")
    parser.add_argument(
        "--fpr", type=float, nargs="+", default=list(FPRS), help="working points (default 1e-3 1e-4 1e-5)"
    )
    parser.add_argument(
        "--scores", nargs="+", choices=scores.names(), default=None, help="firmware scores (default: all the model has)"
    )
    parser.add_argument(
        "--supervised-background",
        type=Path,
        default=None,
        help="background for the supervised bound (default: the first run's training file)",
    )
    parser.add_argument("--no-supervised", action="store_true", help="skip the supervised bound")


def run(args: argparse.Namespace) -> int:
    from l1ad.analysis.evaluation import format_table
    from l1ad.pipeline import open_run
    from l1ad.pipeline.evaluation import evaluate

    runs = [open_run(path) for path in args.runs]
    result = evaluate(
        runs,
        args.background,
        args.signals,
        args.out,
        fprs=args.fpr,
        kinds=args.scores,
        supervised_background=args.supervised_background,
        supervised=not args.no_supervised,
        progress=lambda msg: print(f"evaluate: {msg}", flush=True),
    )
    print(format_table(result["scores"], list(result["signals"]), args.fpr))
    for kind, per_signal in result["quantized_over_float"].items():
        cells = [
            f"{sig} "
            + "/".join(
                _ratio_cell(r, result["quantized_over_float_interval"][kind][sig][key],
                            result["quantized_over_float_events"][kind][sig][key])
                for key, r in ratios.items()
            )
            for sig, ratios in per_signal.items()
        ]  # fmt: skip
        print(f"quantized/float TPR of {kind} at FPR {', '.join(f'{f:g}' for f in args.fpr)}: " + "; ".join(cells))
    print(
        f"(n = signal events the float score keeps; a ratio is resolved where n >= {result['ratio_min_events']}, "
        "then shown with its 68 % paired-bootstrap interval, seed mean)"
    )
    for key, name in result["best_baseline"].items():
        print(f"best baseline by mean {key} over the signals: {name}")
    print(f"evaluate: {result['seconds']} s; wrote {args.out / 'evaluation.json'} and {args.out / 'evaluation.md'}")
    return 0


def _ratio_cell(ratio: float | None, interval: list[float] | None, kept: float | None) -> str:
    """``0.95 [0.91, 0.99] (n=5560)``: the ratio, its interval where resolved, the float-selected signal events."""
    text = "-" if ratio is None else f"{ratio:.2f}"
    if interval is not None:
        text += f" [{interval[0]:.2f}, {interval[1]:.2f}]"
    return text + ("" if kept is None else f" (n={kept:.0f})")
