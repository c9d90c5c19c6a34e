"""Benchmark: train the default quantized DNN VAE and compare float vs quantized trigger performance.

Trains (``l1ad.pipeline.train``) on a background file, then prints for each signal and each score
(kl, rz, mu2, and mse for the AE/VAE reconstruction) the AUC and the TPR at FPR 1e-4 and 1e-5 of the float
and the quantized model, with the ratio quantized/float (target: >= 0.95 at FPR 1e-4) and its 68 % interval
from paired bootstrap resampling of the test events. With several ``--seeds`` it trains one model per seed and
also prints the seed-averaged TPRs and their ratio, and the per-seed ratios with their mean and standard error
(at FPR 1e-4 the TPR of one training varies by 2-3x between seeds, so one seed says little). Background weights
(mixture weights of the generated file) are used for the FPR. With ``--test-background`` the background
efficiencies come from that independent file, else from the held-out test split of ``--background``.
Each seed also prints the background selection overlap of the two triggers (the fraction of the background
events the float score selects at FPR 1e-3 / 1e-4 that the quantized score selects too at the same FPR): it needs
no signal and varies far less between seeds than the TPR ratios, which fall with it for signals near the threshold.
Results are also written to ``<out>/bench.json``.

    python scripts/bench_models.py --background bkg_100k.h5 --test-background bkg_test1.h5 bkg_test2.h5 \
        --signals ato4l.h5 lq_btau.h5 --seeds 1 2 3 --out /tmp/models/bench_run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from l1ad.analysis import metrics
from l1ad.data import adc2021
from l1ad.data.atomic import write_text_atomic
from l1ad.models.config import ModelConfig
from l1ad.pipeline import train

FPRS = (1e-4, 1e-5)
#: FPRs of the float/quantized background selection overlap (1e-3: ten times the events of 1e-4)
OVERLAP_FPRS = (1e-3, 1e-4)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--background", required=True, help="background file to train on")
    p.add_argument(
        "--test-background",
        nargs="+",
        help="independent background file(s) of the same mixture for the FPR (default: test split)",
    )
    p.add_argument("--signals", nargs="+", required=True)
    p.add_argument("--out", required=True, help="run directory to write")
    p.add_argument("--config", help="ModelConfig YAML (default: the default DNN VAE)")
    p.add_argument("--epochs", type=int)
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[1],
        help="training seeds; with several, one run per seed (<out>/seed<N>) and the mean TPRs",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--bootstrap", type=int, default=100, help="resamplings for the q/f ratio's 68 %% interval")
    p.add_argument("--overwrite", action="store_true")
    return p.parse_args(argv)


def paired_kinds(scores: dict[str, np.ndarray]) -> list[str]:
    """Score kinds with both a ``float_<kind>`` and a ``quantized_<kind>`` entry, sorted."""
    prefix = "quantized_"
    return sorted(k[len(prefix) :] for k in scores if k.startswith(prefix) and f"float_{k[len(prefix) :]}" in scores)


def score_table(
    bkg: dict[str, np.ndarray], bkg_w: np.ndarray, sig: dict[str, np.ndarray], sig_w: np.ndarray, n_boot: int = 100
) -> dict:
    """{kind: {prefix: {auc, tpr@fpr (value, err)}, "ratio": {tpr@fpr: (q/f, lo, hi)}}} for kinds in both models.

    The ratio's interval is the central 68 % of paired bootstrap resamplings (:func:`metrics.tpr_ratio`).
    """
    out: dict = {}
    for kind in paired_kinds(sig):
        out[kind] = {}
        for prefix in ("float", "quantized"):
            b, s = bkg[f"{prefix}_{kind}"], sig[f"{prefix}_{kind}"]
            row = {"auc": metrics.auc(b, s, bkg_weights=bkg_w, sig_weights=sig_w)}
            for fpr in FPRS:
                tpr, err, thr = metrics.tpr_at_fpr(b, s, fpr, bkg_weights=bkg_w, sig_weights=sig_w)
                row[f"tpr@{fpr:g}"] = (tpr, err)
            out[kind][prefix] = row
        out[kind]["ratio"] = {
            f"tpr@{fpr:g}": metrics.tpr_ratio(
                bkg[f"float_{kind}"],
                sig[f"float_{kind}"],
                bkg[f"quantized_{kind}"],
                sig[f"quantized_{kind}"],
                fpr,
                bkg_weights=bkg_w,
                sig_weights=sig_w,
                n_boot=n_boot,
            )
            for fpr in FPRS
        }
    return out


def bench_seed(
    args: argparse.Namespace, cfg: ModelConfig, seed: int, out: Path, test: tuple[np.ndarray, np.ndarray] | None
) -> dict:
    """Train one seed into ``out``, print its table and return {config, n_train, ..., signals: {sample: table}}.

    ``test``: (events, weights) of the independent test background, or None for the run's own test split.
    """
    cfg = cfg.updated(seed=seed)
    t0 = time.perf_counter()
    run = train(args.background, out, cfg, signals=args.signals, overwrite=args.overwrite, threads=args.threads)
    t_train = time.perf_counter() - t0
    if test is not None:
        events, bkg_w = test
        bkg = {
            f"{prefix}_{k}": v
            for prefix, q in (("quantized", True), ("float", False))
            for k, v in run.score(events, quantized=q).items()
        }
    else:
        bkg = run.scores("background")
        bkg_w = bkg["weights"]
    n_train = run.metadata["split_sizes"]["train"]
    print(
        f"seed {seed}: trained {cfg.model} on {n_train} background events ({run.metadata['split_sizes']}) in "
        f"{t_train:.0f} s; {len(bkg_w)} test background events (sum of weights {bkg_w.sum():.1f})"
    )
    for fpr in FPRS:
        if len(bkg_w) * fpr < 10:
            print(
                f"note: FPR {fpr:g} leaves {len(bkg_w) * fpr:.1f} background events above the threshold; "
                f"its TPRs are dominated by background statistics"
            )
    header = f"{'signal':<18}{'score':<9}{'AUC f/q':>14}" + "".join(
        f"{'TPR@' + format(f, 'g') + ' float':>22}{'quantized':>22}{'q/f [68% CI]':>20}" for f in FPRS
    )
    print(header)
    results: dict = {"config": cfg.to_dict(), "n_train": n_train, "n_test_background": int(len(bkg_w)), "signals": {}}
    for sample in run.samples():
        if sample == "background":
            continue
        sig = run.scores(sample)
        table = score_table(bkg, bkg_w, sig, sig["weights"], n_boot=args.bootstrap)
        results["signals"][sample] = table
        for kind, rows in table.items():
            f, q = rows["float"], rows["quantized"]
            line = f"{sample:<18}{kind:<9}{f['auc']:>7.3f}/{q['auc']:<6.3f}"
            for fpr in FPRS:
                (tf, ef), (tq, eq) = f[f"tpr@{fpr:g}"], q[f"tpr@{fpr:g}"]
                r, lo, hi = rows["ratio"][f"tpr@{fpr:g}"]
                ratio = f"{r:7.2f} [{lo:.2f},{hi:.2f}]" if tf > 0 else f"{'n/a':>20}"
                line += f"{tf:>13.4f} +- {ef:.4f}{tq:>13.4f} +- {eq:.4f}{ratio:>20}"
            print(line)
    results["background_overlap"] = background_overlap(bkg, bkg_w)
    print(format_overlap(results["background_overlap"]))
    write_text_atomic(out / "bench.json", json.dumps(results, indent=1) + "\n")
    return results


def format_overlap(overlap: dict[str, dict[str, float]]) -> str:
    """One line: each score's overlaps at :data:`OVERLAP_FPRS` ("n/a" where the float score selects nothing)."""
    rows = ", ".join(
        f"{kind} " + " / ".join(f"{v:.2f}" if np.isfinite(v) else "n/a" for v in row.values())
        for kind, row in overlap.items()
    )
    fprs = " / ".join(f"{f:g}" for f in OVERLAP_FPRS)
    return f"background selection overlap, quantized vs float trigger at FPR {fprs}: {rows}"


def background_overlap(bkg: dict[str, np.ndarray], bkg_w: np.ndarray) -> dict[str, dict[str, float]]:
    """{kind: {"fpr": overlap}}: :func:`metrics.selection_overlap` of the quantized vs the float score."""
    return {
        kind: {
            f"{fpr:g}": metrics.selection_overlap(bkg[f"float_{kind}"], bkg[f"quantized_{kind}"], fpr, bkg_w)
            for fpr in OVERLAP_FPRS
        }
        for kind in paired_kinds(bkg)
    }


def seed_summary(per_seed: dict[int, dict], fpr: float = FPRS[0]) -> dict:
    """{sample: {kind: {float_tpr, quantized_tpr, ratio, seed_ratios, mean_ratio, mean_ratio_err}}}.

    ``ratio`` is that of the seed-averaged TPRs; ``seed_ratios`` the per-seed ratios (None where the float TPR
    is 0), ``mean_ratio`` their mean and ``mean_ratio_err`` its standard error (None with fewer than 2 seeds).
    """
    summary: dict = {}
    first = next(iter(per_seed.values()))
    for sample, table in first["signals"].items():
        for kind in table:
            tf = [r["signals"][sample][kind]["float"][f"tpr@{fpr:g}"][0] for r in per_seed.values()]
            tq = [r["signals"][sample][kind]["quantized"][f"tpr@{fpr:g}"][0] for r in per_seed.values()]
            mean_f, mean_q = float(np.mean(tf)), float(np.mean(tq))
            seed_ratios = [q / f if f > 0 else None for f, q in zip(tf, tq, strict=True)]
            valid = np.array([r for r in seed_ratios if r is not None])
            summary.setdefault(sample, {})[kind] = {
                "float_tpr": mean_f,
                "quantized_tpr": mean_q,
                "ratio": mean_q / mean_f if mean_f > 0 else None,
                "seed_ratios": seed_ratios,
                "mean_ratio": float(valid.mean()) if valid.size else None,
                "mean_ratio_err": float(valid.std(ddof=1) / np.sqrt(valid.size)) if valid.size > 1 else None,
            }
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = ModelConfig.load(args.config) if args.config else ModelConfig()
    cfg = cfg.updated(epochs=args.epochs, val_fraction=0.1, test_fraction=0.0 if args.test_background else 0.2)
    out = Path(args.out)
    test = None
    if args.test_background:
        test = (
            np.concatenate([adc2021.read_particles(f) for f in args.test_background]),
            np.concatenate([adc2021.read_weights(f) for f in args.test_background]),
        )
    per_seed = {
        seed: bench_seed(args, cfg, seed, out if len(args.seeds) == 1 else out / f"seed{seed}", test)
        for seed in args.seeds
    }
    if len(args.seeds) > 1:
        summary = seed_summary(per_seed)
        print(
            f"\nmean over seeds {args.seeds}, TPR at FPR {FPRS[0]:g}: float / quantized, ratio of the means, "
            "per-seed ratios, their mean +- standard error"
        )
        for sample, kinds in summary.items():
            for kind, row in kinds.items():
                ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "n/a"
                seeds = " ".join("n/a" if r is None else f"{r:.2f}" for r in row["seed_ratios"])
                mean = "n/a" if row["mean_ratio"] is None else f"{row['mean_ratio']:.2f}"
                err = "" if row["mean_ratio_err"] is None else f" +- {row['mean_ratio_err']:.2f}"
                print(
                    f"{sample:<18}{kind:<9}{row['float_tpr']:>10.4f}{row['quantized_tpr']:>10.4f}{ratio:>8}"
                    f"   [{seeds}]  {mean}{err}"
                )
        write_text_atomic(
            out / "bench_seeds.json", json.dumps({"seeds": args.seeds, "summary": summary}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
