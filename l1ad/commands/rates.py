"""``l1ad rates``: thresholds for target L1 rates with the golden model, signal efficiencies, pure rates."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from l1ad.data.adc2021 import sample_name
from l1ad.data.atomic import write_text_atomic
from l1ad.rates.emulate import DEFAULT_TARGET_RATES_HZ, ScoreFunction, collision_frequency, format_rate, parse_rate
from l1ad.rates.menu import BaselineMenu
from l1ad.rates.stream import DEFAULT_CHUNK_SIZE, SampleHistograms, dask_histograms, stream_histograms
from l1ad.rates.summary import BACKGROUND, format_table, save_histograms, summarize

HELP = "emulate L1 rates: thresholds (integer score codes) for target rates, signal efficiencies, pure rates"
RATES_JSON = "rates.json"
HISTOGRAMS_NPZ = "rates_histograms.npz"


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
        choices=("kl", "rz", "mu2"),
        default=None,
        help="score of the fixed-point model (default: the only one in fixed/, else kl)",
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


def histograms_for(
    files: list[Path], scorer: ScoreFunction, menu: BaselineMenu | None, args: argparse.Namespace, desc: str
) -> SampleHistograms:
    if args.dask:
        return dask_histograms(
            files,
            scorer,
            menu,
            args.chunk_size,
            scheduler=None if args.scheduler == "none" else args.scheduler,
            progress=not args.quiet,
        )
    return stream_histograms(files, scorer, menu, args.chunk_size, progress=not args.quiet, desc=desc)


def compute(
    run_dir: Path,
    scorer: ScoreFunction,
    args: argparse.Namespace,
    score_info: dict | None = None,
    score_lsb: float | None = None,
) -> dict:
    """Histogram every sample, summarize, write rates.json + the histograms into ``run_dir``."""
    f_coll = collision_frequency(args.bunches)
    targets = args.target_rates or list(DEFAULT_TARGET_RATES_HZ)
    menu = None if args.no_menu else (BaselineMenu.load(args.menu) if args.menu else BaselineMenu())
    names = [sample_name(p) for p in args.signals]
    if len(set(names)) != len(names) or BACKGROUND in names:
        raise ValueError(f"signal sample names must be unique and not '{BACKGROUND}': {names}")
    for target in targets:  # fail before the long part
        if target >= f_coll:
            raise ValueError(
                f"target rate {format_rate(target)} is not below the collision frequency {format_rate(f_coll)}"
            )
    start = time.perf_counter()
    background = histograms_for(list(args.data), scorer, menu, args, BACKGROUND)
    signals = {name: histograms_for([path], scorer, menu, args, name) for name, path in zip(names, args.signals)}
    elapsed = time.perf_counter() - start
    summary = summarize(background, signals, targets, f_coll, menu, score_lsb)
    n_total = background.n_events + sum(s.n_events for s in signals.values())
    summary.update(
        score=score_info or {},
        n_bunches=args.bunches,
        files={BACKGROUND: [str(p) for p in args.data], **{n: [str(p)] for n, p in zip(names, args.signals)}},
        histograms=HISTOGRAMS_NPZ,
        timing={
            "seconds": elapsed,
            "events": n_total,
            "events_per_s": n_total / elapsed if elapsed > 0 else None,
            "backend": f"dask ({args.scheduler})" if args.dask else "in-process stream",
        },
    )
    save_histograms(run_dir / HISTOGRAMS_NPZ, {BACKGROUND: background, **signals})
    write_text_atomic(run_dir / RATES_JSON, json.dumps(summary, indent=1, sort_keys=False) + "\n")
    return summary


def run(args: argparse.Namespace) -> int:
    from l1ad.rates.scorer import fixed_model_dir, load_scorer

    scorer = load_scorer(args.run_dir, args.score)
    fmt = scorer.output_format
    info = {
        "kind": scorer.kind,
        "fixed_model": str(fixed_model_dir(args.run_dir, args.score)),
        "output_format": fmt.to_dict(),
        "lsb": fmt.lsb,
    }
    summary = compute(args.run_dir, scorer, args, info, fmt.lsb)
    print(
        f"score {scorer.kind} ({fmt.ap_type()}), f_coll = {format_rate(summary['f_coll_hz'])}, "
        f"{summary['samples'][BACKGROUND]['n_events']} background events"
    )
    print(format_table(summary))
    t = summary["timing"]
    print(
        f"{t['events']} events in {t['seconds']:.1f} s ({t['events_per_s']:.3g} events/s, {t['backend']}); "
        f"wrote {args.run_dir / RATES_JSON}"
    )
    if not args.no_report:
        from l1ad.report.html import write_report

        print(f"report: {write_report(args.run_dir)}")
    return 0
