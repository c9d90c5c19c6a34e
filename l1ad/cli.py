"""The ``l1ad`` command line: one verb per pipeline stage.

Each verb lives in its own module ``l1ad.commands.<verb>`` defining ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only when their verb runs,
so ``l1ad --help`` stays fast. A verb whose module does not exist yet is listed, answers ``--help``,
and exits with status 2 saying it is not implemented.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from l1ad import __version__

__all__ = ["VERBS", "build_parser", "main"]

#: verb -> one-line description (the module's HELP replaces it once the verb exists).
VERBS: dict[str, str] = {
    "generate": "generate SM / BSM events with Pythia 8 + L1 object emulation (ADC2021 layout)",
    "train": "train a quantized AE/VAE and write a run directory",
    "import": "import a trigger made elsewhere (QKeras encoder file, hls4ml project) as a run directory",
    "convert": "export the golden fixed-point model and the hls4ml project of a run",
    "rtl": "generate the RTL (da4ml) of a run's encoder + score",
    "verify": "check QKeras, golden model, hls4ml C-sim and RTL simulation are bit-exact",
    "rates": "emulate L1 rates: thresholds for target rates, signal efficiencies, pure rates",
    "score": "score events (or raw input codes) with a run's bit-exact trigger emulator",
    "evaluate": "physics benchmark: trigger scores beside simple baselines and a supervised bound",
    "analyze": "offline analysis: metrics, CWoLa hunting, QUAK, density estimation, bump hunts",
    "demo": "run the whole chain on an embedded default (no downloads)",
}


#: verbs whose module is named otherwise (``import`` is a Python keyword)
MODULE_NAMES = {"import": "import_"}


def command_module_name(verb: str) -> str:
    return f"l1ad.commands.{MODULE_NAMES.get(verb, verb)}"


def is_implemented(verb: str) -> bool:
    """Whether the module of ``verb`` exists."""
    return importlib.util.find_spec(command_module_name(verb)) is not None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="l1ad",
        description=(
            "Anomaly detection for the Level-1 trigger: events -> quantized (V)AE -> golden / HLS / RTL -> rates."
        ),
    )
    parser.add_argument("--version", action="version", version=f"l1ad {__version__}")
    parser.add_argument(
        "--verbose", action="store_true", help="show TensorFlow's C++ log and CUDA-probe lines (hidden by default)"
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb, help_text in VERBS.items():
        if is_implemented(verb):
            module = importlib.import_module(command_module_name(verb))
            p = sub.add_parser(verb, help=module.HELP, description=module.HELP)
            module.add_arguments(p)
        else:
            p = sub.add_parser(
                verb, help=f"{help_text} [not implemented yet]", description=f"{help_text}. Not implemented yet."
            )
            p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 2
    if not is_implemented(args.verb):
        print(f"l1ad {args.verb}: not implemented yet", file=sys.stderr)
        return 2
    if args.verbose:
        from l1ad import keras_compat

        keras_compat.set_verbose(True)
    module = importlib.import_module(command_module_name(args.verb))
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print(f"l1ad {args.verb}: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        print(f"l1ad {args.verb}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
