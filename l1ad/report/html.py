"""``runs/<name>/report.html``: figures (PNG, in ``report_files/``) and tables from whatever the run holds.

Sections appear when their inputs exist: rates (``rates.json`` + ``rates_histograms.npz`` from
``l1ad rates``), offline scores (``scores/<sample>.npz`` from training), the verification summary
(``verify.json``, rendered generically: whatever keys the verification stages wrote), the run configuration.

Numbers are shown to about 3 significant digits (integers as integers, a value with an error to the error's
precision), and keys that carry a unit by name (``seconds``, ``*_s``, ``*_ns``, ``*_cycles``, ``*_hz``,
``*_mhz``, ``efficiency``, ``lut`` ...) are shown with the unit in the header (:func:`key_label`).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.atomic import write_text_atomic
from l1ad.rundir import RunDir

__all__ = ["write_report", "format_number", "format_with_error", "key_label", "render_value"]

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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def format_number(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits: integers (and integral floats below 10^6) as integers,
    plain decimals from 10^-3 to 10^6, scientific notation outside; no trailing zeros."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    x = float(value)
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e6:
        return str(int(x))
    x = float(f"{x:.{digits - 1}e}")  # rounded to the significant digits
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude < -3 or magnitude >= 6:
        mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
        return f"{_strip_zeros(mantissa)}e{int(exponent)}"
    return _strip_zeros(f"{x:.{max(digits - 1 - magnitude, 0)}f}")


def _strip_zeros(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_with_error(value: float, error: float, error_digits: int = 2) -> str:
    """``value ± error``, the error to ``error_digits`` significant digits and the value to the same decimal
    place (``493.3, 81.2`` -> ``493 ± 81``); an error of 0 or NaN leaves the value to 3 significant digits."""
    if not (math.isfinite(value) and math.isfinite(error)) or error <= 0:
        return f"{format_number(value)} ± {format_number(error)}"
    decimals = error_digits - 1 - math.floor(math.log10(error))
    error = round(error, decimals)
    decimals = error_digits - 1 - math.floor(math.log10(error))  # 0.099 -> 0.1 has one digit less
    places = max(decimals, 0)
    return f"{round(value, decimals):.{places}f} ± {round(error, decimals):.{places}f}"


# key suffix -> (unit, scale): keys named after their unit are shown as "<stem> [unit]"
_UNIT_SUFFIXES: tuple[tuple[str, str, float], ...] = (
    ("_per_second", "/s", 1.0),
    ("_per_s", "/s", 1.0),
    ("_seconds", "s", 1.0),
    ("_s", "s", 1.0),
    ("_ms", "ms", 1.0),
    ("_ns", "ns", 1.0),
    ("_cycles", "cycles", 1.0),
    ("_mhz", "MHz", 1.0),
    ("_khz", "kHz", 1.0),
    ("_percent", "%", 1.0),
    ("_pct", "%", 1.0),
    ("_efficiency", "%", 100.0),
)
_RESOURCES = {"lut", "ff", "dsp", "bram", "carry", "lutram", "uram"}


def key_label(key: str, values: Sequence[Any] = ()) -> tuple[str, float]:
    """(header text, factor for the numbers) of a JSON key whose numeric ``values`` are shown under it.

    ``seconds`` -> ``time [s]``, ``latency_ns`` -> ``latency [ns]``, ``events_per_s`` -> ``events/s``,
    ``rate_hz`` -> ``rate [kHz]`` (Hz, kHz or MHz by the largest value), ``efficiency`` -> ``efficiency [%]``
    (x 100), ``lut`` -> ``LUT``. Keys without a unit, or whose values are not numbers, are left as they are.
    """
    numbers = [abs(float(v)) for v in values if _is_number(v)]
    if not numbers or any(not (_is_number(v) or v is None) for v in values):
        return key, 1.0
    k = key.lower()
    if k in _RESOURCES:
        return k.upper(), 1.0
    if k == "seconds":
        return "time [s]", 1.0
    if k == "efficiency":
        return "efficiency [%]", 100.0
    if k.endswith("_hz"):
        largest = max(numbers)
        unit, scale = ("MHz", 1e-6) if largest >= 1e6 else ("kHz", 1e-3) if largest >= 1e3 else ("Hz", 1.0)
        return f"{_stem(key, '_hz')} [{unit}]", scale
    for suffix, unit, scale in _UNIT_SUFFIXES:
        if k.endswith(suffix) and len(k) > len(suffix):
            stem = _stem(key, suffix)
            return (f"{stem}{unit}" if unit == "/s" else f"{stem} [{unit}]"), scale
    return key, 1.0


def _stem(key: str, suffix: str) -> str:
    return re.sub(r"_+", " ", key[: -len(suffix)]).strip()


def _esc(value: Any, scale: float = 1.0) -> str:
    if _is_number(value):
        if scale != 1.0:
            value = float(value) * scale
        return html.escape(format_number(value))
    return html.escape(str(value))


def _key_cell(key: Any, values: Sequence[Any], tag: str = "td") -> tuple[str, float]:
    """A header cell for ``key`` (unit named, raw key as tooltip) and the factor for its numbers."""
    text, scale = key_label(str(key), values)
    title = f' title="{html.escape(str(key))}"' if text != str(key) else ""
    cls = ' class="k"' if tag == "td" else ""
    return f"<{tag}{cls}{title}>{html.escape(text)}</{tag}>", scale


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


def render_value(value: Any, key: str = "", scale: float = 1.0) -> str:
    """Any JSON value as HTML: mappings as key/value tables, lists of mappings as tables, scalars as text;
    numbers to ~3 significant digits, units named in the keys (:func:`key_label`)."""
    if isinstance(value, Mapping):
        if not value:
            return "<i>empty</i>"
        rows = []
        for k, v in value.items():
            cell, factor = _key_cell(k, [v])
            rows.append(f'<tr>{cell}<td class="{_status_class(str(k), v)}">{render_value(v, str(k), factor)}</td></tr>')
        return f"<table>{''.join(rows)}</table>"
    if isinstance(value, list):
        if value and all(isinstance(v, Mapping) for v in value):
            cols = list(dict.fromkeys(k for v in value for k in v))
            heads = [_key_cell(c, [v[c] for v in value if c in v], tag="th") for c in cols]
            head = "".join(cell for cell, _ in heads)
            body = "".join(
                "<tr>"
                + "".join(
                    f'<td class="{_status_class(c, v.get(c))}">{render_value(v.get(c, ""), c, factor)}</td>'
                    for c, (_, factor) in zip(cols, heads, strict=True)
                )
                + "</tr>"
                for v in value
            )
            return f"<table><tr>{head}</tr>{body}</table>"
        if len(value) > 20:
            return _esc(", ".join(_esc(v, scale) for v in value[:20]) + f", ... ({len(value)} entries)")
        return _esc(", ".join(_esc(v, scale) for v in value))
    return _esc(value, scale)


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
            format_number(t["target_hz"] / 1e3),
            str(t["threshold"]),
            "-" if value is None else format_number(value),
            format_with_error(t["rate_hz"] / 1e3, t["rate_err_hz"] / 1e3),
        ]
        if has_pure:
            cells.append(format_with_error(t["pure_rate_hz"] / 1e3, t["pure_rate_err_hz"] / 1e3))
        for s in signals:
            e = t["signals"][s]
            cells.append(format_with_error(100 * e["efficiency"], 100 * e["efficiency_err"]))
        if has_pure:
            cells += [format_number(100 * t["signals"][s].get("gain", float("nan"))) for s in signals]
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
        f"score &gt; threshold), f<sub>coll</sub> = {format_number(f_coll / 1e6, 5)} MHz.</p>",
        table,
    ]
    if "menu" in rates:
        menu = rates["menu"]
        mrows = "".join(
            f"<tr><td class='k'>{_esc(n)}</td>"
            f"<td>{format_with_error(r['rate_hz'] / 1e3, r['rate_err_hz'] / 1e3)}</td></tr>"
            for n, r in menu["rates"].items()
        )
        parts.append(f"<h3>Baseline menu</h3><table><tr><th>seed</th><th>rate [kHz]</th></tr>{mrows}</table>")
        parts.append(
            "<p>Menu signal efficiency: "
            + ", ".join(f"{_esc(s)} {format_number(100 * e)} %" for s, e in menu.get("signal_efficiency", {}).items())
            + "</p>"
        )
    if "baselines" in rates:
        base = rates["baselines"]
        brows = "".join(
            f"<tr><td class='k'>{_esc(n)}{' (best)' if n == base['best'] else ''}</td>"
            + "".join(f"<td>{format_number(100 * e)}</td>" for e in row["efficiency"].values())
            + "</tr>"
            for n, row in base["table"].items()
        )
        bhead = "".join(f"<th>eff {_esc(sig)} [%]</th>" for sig in signals)
        parts.append(
            f"<h3>Simple baselines at {format_number(base['rate_hz'] / 1e3)} kHz</h3>"
            f"<table><tr><th>baseline</th>{bhead}</tr>{brows}</table>"
            "<p>Each baseline cut at the same rate on the same background; the best one (highest mean efficiency "
            "over the signals) is drawn dashed beside the trigger in the ROC and efficiency figures.</p>"
        )
    parts.append("<h3>Samples</h3>" + render_value(rates.get("samples", {})))
    if "timing" in rates:
        parts.append("<h3>Timing</h3>" + render_value(rates["timing"]))
    return "\n".join(parts)


def _evaluation_section(result: Mapping[str, Any]) -> str:
    """Per score and signal: AUC and TPR at each FPR (this run's evaluation, baselines beside the scores)."""
    rows = {**result.get("scores", {}), **result.get("baselines", {})}
    signals = sorted({sig for per_signal in rows.values() for sig in per_signal})
    fprs = sorted({f for per_signal in rows.values() for e in per_signal.values() for f in e["fpr"]}, key=float)
    head = "".join(
        f"<th>{_esc(sig)} AUC</th>" + "".join(f"<th>{_esc(sig)} TPR@{f} [%]</th>" for f in fprs) for sig in signals
    )
    body = []
    for name, per_signal in rows.items():
        cells = []
        for sig in signals:
            e = per_signal.get(sig)
            cells.append(format_number(e["auc"]) if e else "-")
            for f in fprs:
                wp = e["fpr"].get(f, {}) if e else {}
                cells.append(format_with_error(100 * wp["tpr"], 100 * wp["tpr_err"]) if "tpr" in wp else "n/a")
        body.append(
            f"<tr><td class='k'>{_esc(name)}</td>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
        )
    return (
        "<p>On independent test events; quantized scores as the golden model computes them; n/a where the "
        "background sample cannot resolve the working point.</p>"
        f"<table><tr><th>score</th>{head}</tr>{''.join(body)}</table>"
    )


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
    from l1ad.rates.summary import load_baseline_histograms, load_histograms
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
                ref, ref_name = None, ""
                if run.rates_baselines_npz.is_file():
                    ref_name, ref = load_baseline_histograms(run.rates_baselines_npz)
                figs.append(plots.roc_curves(hists, files / "roc_curves.png", ref, ref_name))
                rates_hz = [t for t, _ in targets]
                figs.append(
                    plots.efficiency_vs_rate(hists, f_coll, files / "efficiency_vs_rate.png", rates_hz, ref, ref_name)
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

    evaluation = _read_json(run.evaluation_json)
    if evaluation is not None:
        sections.append(("Physics benchmark (l1ad evaluate)", _evaluation_section(evaluation)))
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
