"""``l1ad rates``: thresholds for target L1 rates with the golden model, signal efficiencies, pure rates."""

from __future__ import annotations

import argparse
from pathlib import Path

from l1ad.fixed import scores
from l1ad.fixed.formats import FixedFormat
from l1ad.rates.emulate import DEFAULT_TARGET_RATES_HZ, format_rate, parse_rate
from l1ad.rates.menu import BaselineMenu
from l1ad.rates.stream import DEFAULT_CHUNK_SIZE
from l1ad.rates.summary import BACKGROUND, format_table

__all__ = ["HELP", "add_arguments", "run"]

HELP = "emulate L1 rates: thresholds (integer score codes) for target rates, signal efficiencies, pure rates"


def rate_argument(text: str) -> float:
    """argparse type for rates ('1kHz', '500Hz', '0.5 kHz') that shows the parse error."""
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dir", type=Path, help="run directory (runs/<name>) with fixed/<score>/ from `l1ad convert`"
    )
    parser.add_argument(
        "--data",
        type=Path,
        nargs="+",
        required=True,
        metavar="BKG.h5",
        help="background (zero-bias-like) event file(s) standing for the L1 input stream",
    )
    parser.add_argument("--signals", type=Path, nargs="*", default=[], metavar="SIG.h5", help="signal event files")
    parser.add_argument(
        "--target-rate",
        action="append",
        type=rate_argument,
        dest="target_rates",
        metavar="RATE",
        help="target rate, e.g. 1kHz, 500Hz, '0.5 kHz' (repeatable; default: "
        + ", ".join(format_rate(r) for r in DEFAULT_TARGET_RATES_HZ)
        + ")",
    )
    parser.add_argument(
        "--score",
        choices=scores.names(),
        default=None,
        help="score of the fixed-point model (default: the only one in fixed/, else the run's trigger score)",
    )
    parser.add_argument(
        "--bunches",
        type=int,
        default=None,
        metavar="N",
        help="number of colliding bunches: f_coll = N x 11.245 kHz (default: f_coll = 40 MHz)",
    )
    parser.add_argument(
        "--menu",
        type=Path,
        default=None,
        metavar="MENU.json|yaml",
        help="baseline menu thresholds (default: l1ad.rates.menu.BaselineMenu defaults)",
    )
    parser.add_argument(
        "--menu-budget",
        type=rate_argument,
        default=None,
        metavar="RATE",
        help="scale the menu's thresholds together so that it takes at most RATE of the input stream (e.g. 100kHz)",
    )
    parser.add_argument("--no-menu", action="store_true", help="skip the baseline menu and pure rates")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="events per chunk")
    parser.add_argument(
        "--dask",
        action="store_true",
        help="compute with dask.bag (local scheduler, or a dask.distributed client when --scheduler none)",
    )
    parser.add_argument(
        "--scheduler",
        default="processes",
        choices=("threads", "processes", "synchronous", "none"),
        help="Dask scheduler with --dask (default: processes)",
    )
    parser.add_argument("--no-report", action="store_true", help="do not (re)write runs/<name>/report.html")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from l1ad.pipeline import open_run, rates, report

    run_obj = open_run(args.run_dir)
    menu = None if args.no_menu else (BaselineMenu.load(args.menu) if args.menu else BaselineMenu())
    summary = rates(
        run_obj,
        args.data,
        args.signals,
        target_rates=args.target_rates,
        score=args.score,
        bunches=args.bunches,
        menu=menu,
        menu_budget=args.menu_budget,
        chunk_size=args.chunk_size,
        use_dask=args.dask,
        dask_scheduler=None if args.scheduler == "none" else args.scheduler,
        progress=not args.quiet,
    )
    fmt = FixedFormat.from_dict(summary["score"]["output_format"])
    print(
        f"score {summary['score']['kind']} ({fmt.ap_type()}), f_coll = {format_rate(summary['f_coll_hz'])}, "
        f"{summary['samples'][BACKGROUND]['n_events']} background events"
    )
    print(format_table(summary))
    t = summary["timing"]
    print(
        f"{t['events']} events in {t['seconds']:.1f} s ({t['events_per_s']:.3g} events/s, {t['backend']}); "
        f"wrote {run_obj.dir.rates_json}"
    )
    if not args.no_report:
        print(f"report: {report(run_obj)}")
    return 0
