"""Rate-emulation results as a JSON-ready dict, a printed table, and the histograms saved for the report."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.atomic import atomic_path
from l1ad.rates.emulate import DEFAULT_COLLISION_HZ, emulate, format_rate
from l1ad.rates.histogram import IntHistogram
from l1ad.rates.menu import BaselineMenu, compare_with_menu, menu_efficiency, menu_rates
from l1ad.rates.stream import SampleHistograms

__all__ = ["BACKGROUND", "summarize", "format_table", "save_histograms", "load_histograms"]

BACKGROUND = "background"


def _menu_histograms(sample: SampleHistograms) -> tuple[IntHistogram, IntHistogram]:
    """(menu_rejected, seeds) of a sample filled with the menu (every sample is, when the background is)."""
    assert sample.menu_rejected is not None and sample.seeds is not None, "sample filled without the menu"
    return sample.menu_rejected, sample.seeds


def summarize(
    background: SampleHistograms,
    signals: Mapping[str, SampleHistograms],
    target_rates_hz: Sequence[float],
    f_coll_hz: float = DEFAULT_COLLISION_HZ,
    menu: BaselineMenu | None = None,
    score_lsb: float | None = None,
) -> dict[str, Any]:
    """Thresholds (integer codes) for the target rates, rates, signal efficiencies, and (with a menu) pure rates.

    ``score_lsb`` (2**-frac of the score format) adds the threshold's real value next to its code.
    """
    results = emulate(background.scores, {k: v.scores for k, v in signals.items()}, target_rates_hz, f_coll_hz)
    with_menu = menu is not None and background.menu_rejected is not None
    targets = []
    for res in results:
        row = res.to_dict()
        if score_lsb is not None:
            row["threshold_value"] = res.threshold * score_lsb
        if with_menu:
            cmp = compare_with_menu(res.threshold, background.scores, *_menu_histograms(background), f_coll_hz)
            row.update(pure_rate_hz=cmp["pure"], pure_rate_err_hz=cmp["pure_err"], menu_or_ad_rate_hz=cmp["menu_or_ad"])
            for name, sample in signals.items():
                s = compare_with_menu(res.threshold, sample.scores, *_menu_histograms(sample))
                row["signals"][name].update(
                    menu_efficiency=s["menu"],
                    menu_or_ad_efficiency=s["menu_or_ad"],
                    gain=s["pure"],
                    gain_err=s["pure_err"],
                )
        targets.append(row)
    out: dict[str, Any] = {
        "f_coll_hz": f_coll_hz,
        "selection": "score > threshold (integer score codes)",
        "samples": {
            name: {"n_events": h.n_events, "sum_weights": h.scores.total_weight}
            for name, h in {BACKGROUND: background, **signals}.items()
        },
        "targets": targets,
    }
    if with_menu:
        assert menu is not None
        out["menu"] = {
            "settings": menu.to_dict(),
            "rates": menu_rates(menu, _menu_histograms(background)[1], background.scores, f_coll_hz),
            "signal_efficiency": {
                name: menu_efficiency(_menu_histograms(s)[1], s.scores)[0] for name, s in signals.items()
            },
        }
    return out


def format_table(summary: Mapping[str, Any]) -> str:
    """Plain-text table: one line per target rate (threshold, rate, pure rate, signal efficiencies)."""
    signals = list(summary["samples"])[1:]
    head = ["target", "threshold", "value", "rate", "pure rate"] + [f"eff {s}" for s in signals]
    lines = []
    for t in summary["targets"]:
        value = t.get("threshold_value")
        pure = t.get("pure_rate_hz")
        cells = [
            format_rate(t["target_hz"]),
            str(t["threshold"]),
            "-" if value is None else f"{value:.6g}",
            f"{format_rate(t['rate_hz'])} ± {format_rate(t['rate_err_hz'])}",
            "-" if pure is None else format_rate(pure),
        ]
        cells += [f"{100 * t['signals'][s]['efficiency']:.3g}%" for s in signals]
        lines.append(cells)
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
    text = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *lines]]
    few = [format_rate(t["target_hz"]) for t in summary["targets"] if t.get("n_events_above", 10) < 10]
    if few:
        text.append(
            f"warning: fewer than 10 background events pass at {', '.join(few)}: "
            "too few events for these rates, use a larger background sample"
        )
    if "menu" in summary:
        m = summary["menu"]["rates"]["menu"]
        if "budget" in summary["menu"]:
            b = summary["menu"]["budget"]
            text.append(
                f"baseline menu scaled by {b['scale']:.3g} to the budget {format_rate(b['budget_hz'])}: "
                + ", ".join(summary["menu"]["rates"])
            )
        text.append(
            f"baseline menu: {format_rate(m['rate_hz'])} ± {format_rate(m['rate_err_hz'])}; signal "
            "efficiency " + ", ".join(f"{s} {100 * e:.3g}%" for s, e in summary["menu"]["signal_efficiency"].items())
        )
    return "\n".join(text)


# ---- histograms for the report (score distributions, rate and efficiency curves, ROC) ----------------
def save_histograms(path: str | os.PathLike, samples: Mapping[str, SampleHistograms]) -> Path:
    """Write each sample's score histogram (codes, counts, sum w, sum w^2) to an .npz, atomically."""
    arrays: dict[str, np.ndarray] = {"samples": np.array(list(samples), dtype=str)}
    for i, h in enumerate(samples.values()):
        arrays.update(
            {
                f"codes_{i}": h.scores.keys,
                f"counts_{i}": h.scores.counts,
                f"sumw_{i}": h.scores.sum_weights,
                f"sumw2_{i}": h.scores.sum_weights2,
            }
        )
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, allow_pickle=True, **arrays)
    return Path(path)


def save_baseline_histograms(
    path: str | os.PathLike, baseline: str, hists: Mapping[str, Mapping[str, np.ndarray]]
) -> Path:
    """Write one baseline's per-sample histograms (distinct values, sum w, sum w^2) to an .npz, atomically."""
    arrays: dict[str, np.ndarray] = {"samples": np.array(list(hists), dtype=str), "baseline": np.array(baseline)}
    for i, h in enumerate(hists.values()):
        arrays.update({f"{k}_{i}": np.asarray(h[k]) for k in ("codes", "sumw", "sumw2")})
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, allow_pickle=True, **arrays)
    return Path(path)


def load_baseline_histograms(path: str | os.PathLike) -> tuple[str, dict[str, dict[str, np.ndarray]]]:
    """(baseline name, {sample: {codes, sumw, sumw2}}) from :func:`save_baseline_histograms`."""
    with np.load(path) as z:
        names = [str(s) for s in z["samples"]]
        return str(z["baseline"]), {
            n: {k: z[f"{k}_{i}"] for k in ("codes", "sumw", "sumw2")} for i, n in enumerate(names)
        }


def load_histograms(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """{sample: {codes, counts, sumw, sumw2}} from :func:`save_histograms`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no rate histograms (run `l1ad rates` first)")
    with np.load(path) as z:
        try:
            names = [str(s) for s in z["samples"]]
            return {
                name: {k: z[f"{k}_{i}"] for k in ("codes", "counts", "sumw", "sumw2")} for i, name in enumerate(names)
            }
        except KeyError as exc:
            raise ValueError(f"{path}: not a rate-histogram file ({exc})") from exc
