"""``l1ad generate``: Pythia 8 + L1 object emulation -> an ADC2021-layout event file."""

from __future__ import annotations

import argparse
import json
import sys

from l1ad.data import processes

__all__ = ["HELP", "add_arguments", "run"]

HELP = "generate SM / BSM events with Pythia 8 + L1 object emulation (ADC2021 layout)"


def _shares(text: str) -> dict[str, float]:
    """Parse ``wlnu=0.75,zll=0.15,...``."""
    try:
        pairs = [item.split("=") for item in text.split(",") if item]
        return {k.strip(): float(v) for k, v in pairs}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected name=share,... got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--process", required=True, choices=processes.ALL_NAMES, help="process to generate (background = SM mixture)"
    )
    parser.add_argument("--events", type=int, required=True, help="number of events after the lepton filter")
    parser.add_argument("--out", required=True, help="output HDF5 file (written atomically)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--pileup", type=float, default=0.0, help="mean number of pile-up interactions (default 0)")
    parser.add_argument("--sqrts", type=float, default=processes.DEFAULT_SQRT_S, help="sqrt(s) in GeV (default 13600)")
    parser.add_argument("--mass", type=float, default=None, help="mass of the BSM particle in GeV (signals only)")
    parser.add_argument(
        "--qcd-pthat-min",
        type=float,
        default=processes.DEFAULT_QCD_PTHAT_MIN,
        help="QCD pT-hat minimum in GeV (default 20)",
    )
    parser.add_argument("--job-size", type=int, default=None, help="kept events per job (default 250)")
    parser.add_argument(
        "--background-shares",
        type=_shares,
        default=None,
        help="event shares of the background components, default wlnu=0.77,zll=0.15,ttbar=0.06,qcd=0.02",
    )


def run(args: argparse.Namespace) -> int:
    from l1ad.data import generate

    kwargs = {"job_size": args.job_size} if args.job_size is not None else {}
    summary = generate.generate_to_file(
        args.process,
        args.events,
        args.out,
        seed=args.seed,
        workers=args.workers,
        sqrt_s=args.sqrts,
        mass=args.mass,
        pileup=args.pileup,
        qcd_pthat_min=args.qcd_pthat_min,
        background_shares=args.background_shares,
        **kwargs,
    )
    print(json.dumps(summary.as_dict(), indent=1))
    if args.process == processes.BACKGROUND:
        for name, frac in summary.metadata["fractions"].items():
            print(f"  {name:<6} fraction {frac:.4f}  (ADC2021: {processes.ADC2021_FRACTIONS[name]:.3f})")
    n_eff = summary.metadata.get("n_effective")
    if n_eff is not None and n_eff < 0.1 * summary.events:
        print(
            f"l1ad generate: warning: the event weights leave only {n_eff:.1f} effective events of "
            f"{summary.events} (a few large-weight QCD events dominate); for an electroweak-only mixture use "
            "--background-shares wlnu=0.8,zll=0.15,ttbar=0.05",
            file=sys.stderr,
        )
    return 0
