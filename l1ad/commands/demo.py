"""``l1ad demo``: the whole chain on an embedded default, stage by stage.

Each stage runs when its verb is implemented; the others are reported as not built yet.
"""

from __future__ import annotations

import argparse

from l1ad.cli import VERBS, is_implemented

HELP = VERBS["demo"]

#: The demo's stages in order: (verb it needs, what it does).
STAGES: list[tuple[str, str]] = [
    ("generate", "generate background + 4 signals (Pythia 8 + L1 emulation)"),
    ("train", "train the default quantized DNN VAE"),
    ("convert", "golden model + hls4ml project + C-sim check"),
    ("rtl", "RTL (da4ml) + cocotb bit-accuracy and latency check"),
    ("rates", "rate emulation: thresholds and signal efficiencies"),
    ("analyze", "report: scores, ROC, rates"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="run directory (default: runs/demo)")


def run(args: argparse.Namespace) -> int:
    missing = [(verb, what) for verb, what in STAGES if not is_implemented(verb)]
    for verb, what in STAGES:
        state = "not built yet" if (verb, what) in missing else "available"
        print(f"  [{state:>13}] {verb:<9} {what}")
    if missing:
        print(f"l1ad demo: {len(missing)} of {len(STAGES)} stages are not built yet: "
              + ", ".join(v for v, _ in missing))
    return 0
