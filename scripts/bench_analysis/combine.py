#!/usr/bin/env python
"""Combine the JSON of one or more benchmark runs (``run.py``, e.g. cheap and expensive methods run separately)
into the markdown comparison table and one SIC figure per injection (methods solid, references dashed).

    python scripts/bench_analysis/combine.py /tmp/benchA/bench_analysis.json /tmp/benchB/bench_analysis.json \
        /tmp/benchC/bench_analysis.json:_all_ref --out docs/figures --prefix bench_600k
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from l1ad.analysis import plots  # noqa: E402

REFERENCES = ("idealized", "supervised")


def _fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def table(rows: list[dict]) -> str:
    methods = list(dict.fromkeys(r["method"] for r in rows))
    injections = sorted({r["n_injected"] for r in rows})
    by = {(r["method"], r["n_injected"]): r for r in rows}
    sb = {n: next(r["s_over_b_sr"] for r in rows if r["n_injected"] == n) for n in injections}
    head = " / ".join(f"{n} ({100 * sb[n]:.2f} %)" for n in injections)
    out = [
        f"| method | injected S (S/B in SR): {head} | best window [GeV] | local Z | global Z | SIC max (true SR) "
        "| closure AUC (null) | wall time [s] |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in methods:
        rs = [by.get((m, n)) for n in injections]

        def col(key: str, spec: str, rs=rs) -> str:
            return " / ".join("-" if r is None else _fmt(r.get(key), spec) for r in rs)

        closure = next((r["closure"] for r in rs if r is not None and r.get("closure")), None)
        cl = f"{closure['auc']:.3f} +- {max(closure['auc_err'], closure['null_sigma']):.3f}" if closure else "-"
        sic = col("sic_max_true_window", ".1f")
        out.append(
            f"| {m} | {' / '.join(str(n) for n in injections)} | {col('found_mass', '.0f')} | {col('z', '.2f')} | "
            f"{col('z_global', '.2f')} | {sic} | {cl} | {col('wall_s', '.0f')} |"
        )
    return "\n".join(out)


def sic_figure(rows: list[dict], n_inj: int, path: Path) -> Path | None:
    sel = [r for r in rows if r["n_injected"] == n_inj and r.get("sic_curve")]
    if not sel:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for r in sel:
        c = r["sic_curve"]
        ax.plot(
            c["eff_s"],
            c["sic"],
            ls="--" if r["method"].startswith(REFERENCES) else "-",
            label=f"{r['method']} (max {r['sic_max_true_window']:.1f})",
        )
    ax.axhline(1, color="gray", lw=0.8, ls=":")
    ax.set(
        xlabel="signal efficiency (true SR)",
        ylabel="SIC = eff_S / sqrt(eff_B)",
        xlim=(0, 1),
        title=f"S = {n_inj}, S/B = {100 * sel[0]['s_over_b_sr']:.2f} % in the SR",
    )
    ax.legend(fontsize=9)
    fig.tight_layout()
    return plots.save(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "results",
        nargs="+",
        help="bench_analysis.json (or bench_rows_partial.json) files; PATH:SUFFIX appends SUFFIX to its method names",
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the SIC figures and table.md")
    p.add_argument("--prefix", default="bench")
    args = p.parse_args(argv)
    rows = []
    for item in args.results:
        path, _, suffix = item.partition(":")
        for r in json.loads(Path(path).read_text())["rows"]:
            rows.append({**r, "method": r["method"] + suffix})
    args.out.mkdir(parents=True, exist_ok=True)
    text = table(rows)
    (args.out / f"{args.prefix}_table.md").write_text(text + "\n")
    print(text)
    for n in sorted({r["n_injected"] for r in rows}):
        fig = sic_figure(rows, n, args.out / f"{args.prefix}_sic_S{n}.png")
        if fig is not None:
            print(f"wrote {fig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
