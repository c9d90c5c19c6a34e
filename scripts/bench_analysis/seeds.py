#!/usr/bin/env python
"""Summarise benchmark runs (``run.py``) made with different seeds: per method and injection the mean, standard
deviation and per-seed values of the local Z, the max SIC and the selection's S/sqrt(B) in the SR, and with
``--compare A B`` the paired difference A - B over the seeds both ran (mean +- its standard error).

The local Z of one injection moves by about +-1 with the seed (other injected events, folds and background
fluctuations of the selected events), so methods are compared over several seeds. Runs with truth also give the
two parts of the local Z (``bumphunt.truth_split_significance``): the signal-only Z (the selected signal on a
smooth background) and the background-only Z (the bump the selection makes in the background alone):

    python scripts/bench_analysis/seeds.py /tmp/fin/*/bench_analysis.json --compare density cwola
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

FIGURES = {
    "z": "local Z",
    "sic_max_true_window": "SIC max",
    "s_sqrt_b": "S/sqrt(B) sel. in SR",
    "z_signal_only": "signal-only Z",
    "z_background_only": "background-only Z",
}


def load(paths: list[Path]) -> dict[tuple[str, int], dict[int, dict]]:
    """{(method, injected S): {seed: row}}; a row gains ``s_sqrt_b`` where its SR selection counts are known."""
    runs: dict[tuple[str, int], dict[int, dict]] = defaultdict(dict)
    for path in paths:
        result = json.loads(path.read_text())
        if "seed" not in result:
            raise SystemExit(f"{path}: no seed recorded (made by an older run.py); rerun it")
        for row in result["rows"]:
            s, b = row.get("sr_signal_selected"), row.get("sr_background_selected")
            row = {**row, "s_sqrt_b": s / np.sqrt(b) if s is not None and b else None}
            key = (row["method"], int(row["n_injected"]))
            if result["seed"] in runs[key]:
                raise SystemExit(f"{path}: {key} of seed {result['seed']} appears twice")
            runs[key][result["seed"]] = row
    return runs


def _values(rows: dict[int, dict], figure: str) -> dict[int, float]:
    return {seed: float(r[figure]) for seed, r in rows.items() if r.get(figure) is not None}


def summary(runs: dict[tuple[str, int], dict[int, dict]]) -> str:
    out = ["| method | injected S | seeds | " + " | ".join(FIGURES.values()) + " |", "|---" * (3 + len(FIGURES)) + "|"]
    for (method, n_inj), rows in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        cells = []
        for figure in FIGURES:
            v = _values(rows, figure)
            if not v:
                cells.append("-")
                continue
            a = np.array(list(v.values()))
            spread = f" +- {a.std(ddof=1):.2f}" if len(a) > 1 else ""
            cells.append(f"{a.mean():.2f}{spread} ({' / '.join(f'{x:.2f}' for x in a)})")
        out.append(f"| {method} | {n_inj} | {','.join(map(str, sorted(rows)))} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def paired(runs: dict[tuple[str, int], dict[int, dict]], a: str, b: str) -> str:
    out = [f"| injected S | figure | {a} - {b} (mean +- standard error) | seeds |", "|---|---|---|---|"]
    for n_inj in sorted({n for _, n in runs}):
        if (a, n_inj) not in runs or (b, n_inj) not in runs:
            continue
        for figure, name in FIGURES.items():
            va, vb = _values(runs[(a, n_inj)], figure), _values(runs[(b, n_inj)], figure)
            seeds = sorted(set(va) & set(vb))
            if not seeds:
                continue
            d = np.array([va[s] - vb[s] for s in seeds])
            err = f" +- {d.std(ddof=1) / np.sqrt(len(d)):.2f}" if len(d) > 1 else ""
            out.append(f"| {n_inj} | {name} | {d.mean():+.2f}{err} | {len(d)} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="+", type=Path, help="bench_analysis.json files of runs with different seeds")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), help="paired difference A - B per injection")
    args = p.parse_args(argv)
    runs = load(args.results)
    print(summary(runs))
    if args.compare:
        a, b = args.compare
        known = {m for m, _ in runs}
        for name in (a, b):
            if name not in known:
                raise SystemExit(f"--compare: no runs of {name!r} (have {', '.join(sorted(known))})")
        print()
        print(paired(runs, a, b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
