"""``runs/<name>/report.html``: figures (PNG, in ``report_files/``) and tables from whatever the run holds.

Sections appear when their inputs exist: rates (``rates.json`` + ``rates_histograms.npz`` from
``l1ad rates``), offline scores (``scores/<sample>.npz`` from training), the verification summary
(``verify.json``, rendered generically: whatever keys the verification stages wrote), the run configuration.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.atomic import write_text_atomic
from l1ad.rundir import RunDir

BACKGROUND = "background"

_CSS = """body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}
th{background:#eee}td.k{text-align:left;font-weight:bold}.ok{background:#d4f4d4}.bad{background:#f8d0d0}
img{max-width:48%;margin:.5%}h2{border-bottom:1px solid #ccc}"""


def _read_json(path: Path) -> Any | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc


def _esc(value: Any) -> str:
    if isinstance(value, float):
        return html.escape(f"{value:.6g}")
    return html.escape(str(value))


def _status_class(key: str, value: Any) -> str:
    """Green/red cells for verification outcomes: mismatch counts, pass/ok/bit-exact flags."""
    k = key.lower()
    if isinstance(value, bool) and any(w in k for w in ("pass", "ok", "exact", "equal", "match")):
        return "ok" if value else "bad"
    if "mismatch" in k and isinstance(value, (int, float)) and not isinstance(value, bool):
        return "ok" if value == 0 else "bad"
    if isinstance(value, str) and value.lower() in ("pass", "passed", "ok", "bit-exact"):
        return "ok"
    if isinstance(value, str) and value.lower() in ("fail", "failed", "mismatch"):
        return "bad"
    return ""


def render_value(value: Any, key: str = "") -> str:
    """Any JSON value as HTML: mappings as key/value tables, lists of mappings as tables, scalars as text."""
    if isinstance(value, Mapping):
        if not value:
            return "<i>empty</i>"
        rows = "".join(
            f'<tr><td class="k">{_esc(k)}</td><td class="{_status_class(str(k), v)}">'
            f"{render_value(v, str(k))}</td></tr>"
            for k, v in value.items()
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        if value and all(isinstance(v, Mapping) for v in value):
            cols = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{_esc(c)}</th>" for c in cols)
            body = "".join(
                "<tr>"
                + "".join(
                    f'<td class="{_status_class(c, v.get(c))}">{render_value(v.get(c, ""), c)}</td>' for c in cols
                )
                + "</tr>"
                for v in value
            )
            return f"<table><tr>{head}</tr>{body}</table>"
        if len(value) > 20:
            return _esc(", ".join(map(str, value[:20])) + f", ... ({len(value)} entries)")
        return _esc(", ".join(_esc(v) if isinstance(v, float) else str(v) for v in value))
    return _esc(value)


def _rates_section(rates: Mapping[str, Any]) -> str:
    signals = [s for s in rates.get("samples", {}) if s != BACKGROUND]
    has_pure = any("pure_rate_hz" in t for t in rates.get("targets", []))
    head = ["target [kHz]", "threshold code", "threshold value", "rate [kHz]"]
    head += ["pure rate [kHz]"] if has_pure else []
    head += [f"eff {s} [%]" for s in signals]
    head += [f"gain over menu {s} [%]" for s in signals] if has_pure else []
    rows = []
    for t in rates.get("targets", []):
        value = t.get("threshold_value")
        cells = [
            f"{t['target_hz'] / 1e3:g}",
            str(t["threshold"]),
            "-" if value is None else f"{value:.6g}",
            f"{t['rate_hz'] / 1e3:.4g} ± {t['rate_err_hz'] / 1e3:.2g}",
        ]
        if has_pure:
            cells.append(f"{t['pure_rate_hz'] / 1e3:.4g} ± {t['pure_rate_err_hz'] / 1e3:.2g}")
        for s in signals:
            e = t["signals"][s]
            cells.append(f"{100 * e['efficiency']:.3g} ± {100 * e['efficiency_err']:.2g}")
        if has_pure:
            cells += [f"{100 * t['signals'][s].get('gain', float('nan')):.3g}" for s in signals]
        rows.append(cells)
    table = (
        "<table><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in head)
        + "</tr>"
        + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        + "</table>"
    )
    f_coll = rates.get("f_coll_hz", 40e6)
    score = rates.get("score", {})
    parts = [
        f"<p>Score <b>{_esc(score.get('kind', '?'))}</b> (golden model, integer codes; selection "
        f"score &gt; threshold), f<sub>coll</sub> = {f_coll / 1e6:.5g} MHz.</p>",
        table,
    ]
    if "menu" in rates:
        menu = rates["menu"]
        mrows = "".join(
            f"<tr><td class='k'>{_esc(n)}</td><td>{r['rate_hz'] / 1e3:.4g} ± {r['rate_err_hz'] / 1e3:.2g}</td></tr>"
            for n, r in menu["rates"].items()
        )
        parts.append(f"<h3>Baseline menu</h3><table><tr><th>seed</th><th>rate [kHz]</th></tr>{mrows}</table>")
        parts.append(
            "<p>Menu signal efficiency: "
            + ", ".join(f"{_esc(s)} {100 * e:.3g}%" for s, e in menu.get("signal_efficiency", {}).items())
            + "</p>"
        )
    parts.append("<h3>Samples</h3>" + render_value(rates.get("samples", {})))
    if "timing" in rates:
        parts.append("<h3>Timing</h3>" + render_value(rates["timing"]))
    return "\n".join(parts)


def _offline_hists(run: RunDir, kind: str) -> dict[str, dict[str, np.ndarray]]:
    """Per-event offline scores (the run's scored samples, key quantized_<kind>) as plot inputs."""
    out = {}
    for path in sorted(map(run.scores_npz, run.samples()), key=lambda p: (p.stem != BACKGROUND, p.stem)):
        with np.load(path) as z:
            key = next((k for k in (f"quantized_{kind}", f"float_{kind}") if k in z.files), None)
            if key is None:
                continue
            s = np.asarray(z[key], np.float64)
            w = np.asarray(z["weights"], np.float64) if "weights" in z.files else np.ones(len(s))
        order = np.argsort(s, kind="stable")
        out[path.stem] = {"codes": s[order], "sumw": w[order]}
    return out


def _figures(paths: list[Path], run_dir: Path) -> str:
    return "".join(
        f'<a href="{p.relative_to(run_dir).as_posix()}"><img src="{p.relative_to(run_dir).as_posix()}" '
        f'alt="{p.stem}"></a>'
        for p in paths
    )


def write_report(run: RunDir | str | os.PathLike) -> Path:
    """Build ``report.html`` (and its PNGs) from the files found in the run directory; returns its path."""
    from l1ad.rates.summary import load_histograms
    from l1ad.report import plots

    run = run if isinstance(run, RunDir) else RunDir(Path(run))
    run_dir = run.path
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run directory")
    files = run.report_files
    files.mkdir(exist_ok=True)
    rates = _read_json(run.rates_json)
    verify = _read_json(run.verify_json)
    config = _read_json(run.config_json)
    sections = []

    if rates is not None:
        figs = []
        hist_path = run.rates_histograms_npz
        if hist_path.is_file():
            hists = load_histograms(hist_path)
            lsb = float(rates.get("score", {}).get("lsb", 1.0))
            f_coll = float(rates.get("f_coll_hz", 40e6))
            targets = [(t["target_hz"], t["threshold"]) for t in rates.get("targets", [])]
            figs.append(
                plots.score_distributions(
                    hists,
                    files / "score_distributions.png",
                    lsb,
                    xlabel=f"{rates.get('score', {}).get('kind', '')} score (golden)",
                )
            )
            figs.append(
                plots.rate_vs_threshold(hists[BACKGROUND], f_coll, files / "rate_vs_threshold.png", targets, lsb)
            )
            if len(hists) > 1:
                figs.append(plots.roc_curves(hists, files / "roc_curves.png"))
                figs.append(
                    plots.efficiency_vs_rate(hists, f_coll, files / "efficiency_vs_rate.png", [t for t, _ in targets])
                )
        sections.append(("L1 rates and signal efficiencies", _rates_section(rates) + _figures(figs, run_dir)))

    kind = (rates or {}).get("score", {}).get("kind", "kl")
    offline = _offline_hists(run, kind)
    if offline:
        figs = [
            plots.score_distributions(
                offline, files / "offline_score_distributions.png", xlabel=f"{kind} score (quantized model, offline)"
            )
        ]
        if BACKGROUND in offline and len(offline) > 1:
            figs.append(plots.roc_curves(offline, files / "offline_roc_curves.png"))
        sections.append(("Offline scores (training run)", _figures(figs, run_dir)))

    if verify is not None:
        sections.append(("Verification summary", render_value(verify)))
    if config is not None:
        sections.append(
            ("Run configuration", f"<details><summary>config.json</summary>{render_value(config)}</details>")
        )
    if not sections:
        sections.append(("Nothing to report", "<p>No rates.json, scores/, verify.json or config.json found.</p>"))

    body = "\n".join(f"<h2>{html.escape(title)}</h2>\n{content}" for title, content in sections)
    page = (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>l1ad report: {html.escape(run_dir.name)}"
        f"</title><style>{_CSS}</style></head>\n<body><h1>l1ad report: {html.escape(run_dir.name)}</h1>\n"
        f"{body}\n</body></html>\n"
    )
    return write_text_atomic(run.report_html, page)
