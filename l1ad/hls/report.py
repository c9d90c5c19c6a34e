"""Parse Vivado / Vitis HLS C-synthesis reports (``<top>_csynth.xml``) into latency, II and resources.

The XML report of both tools has ``UserAssignments`` (part, target clock), ``PerformanceEstimates``
(estimated clock, best/worst latency in cycles, interval min/max) and ``AreaEstimates`` (``Resources`` and
``AvailableResources``: BRAM_18K, DSP48E (Vivado) or DSP (Vitis), FF, LUT, URAM). Percentages are of the
part's available resources as the tool reports them.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

__all__ = ["RESOURCES", "ReportError", "find_csynth_report", "parse_csynth_report", "format_report"]

RESOURCES = ("LUT", "FF", "DSP", "BRAM_18K", "URAM")
#: XML tag names of each resource (Vivado HLS says DSP48E, Vitis HLS says DSP).
RESOURCE_TAGS = {"LUT": ("LUT",), "FF": ("FF",), "DSP": ("DSP", "DSP48E"), "BRAM_18K": ("BRAM_18K",), "URAM": ("URAM",)}


class ReportError(ValueError):
    """A csynth report is missing or does not have the expected content."""


def find_csynth_report(project_dir: str | os.PathLike, top: str = "myproject") -> Path:
    """``<project>/<top>_prj/solution*/syn/report/<top>_csynth.xml`` (first solution found)."""
    project_dir = Path(project_dir)
    found = sorted(project_dir.glob(f"*_prj/solution*/syn/report/{top}_csynth.xml"))
    if not found:
        raise ReportError(f"{project_dir}: no {top}_csynth.xml (has HLS synthesis run? see build.sh)")
    return found[0]


def _text(root: ET.Element, path: str, report: Path) -> str:
    node = root.find(path)
    if node is None or node.text is None or not node.text.strip():
        raise ReportError(f"{report}: missing {path}")
    return node.text.strip()


def _number(text: str, what: str, report: Path) -> float:
    match = re.match(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)", text)
    if not match:
        raise ReportError(f"{report}: {what} is not a number ({text!r})")
    return float(match.group(1))


def _resources(node: ET.Element | None, report: Path, where: str) -> dict[str, int]:
    if node is None:
        raise ReportError(f"{report}: missing AreaEstimates/{where}")
    values: dict[str, int] = {}
    for name, tags in RESOURCE_TAGS.items():
        for tag in tags:
            child = node.find(tag)
            if child is not None and child.text is not None:
                values[name] = int(_number(child.text, f"{where}/{tag}", report))
                break
    for required in ("LUT", "FF", "DSP", "BRAM_18K"):
        if required not in values:
            raise ReportError(f"{report}: missing AreaEstimates/{where}/{required}")
    return values


def parse_csynth_report(path: str | os.PathLike, part: str | None = None) -> dict[str, Any]:
    """Latency (cycles and ns), II, clock and resources (with % of the part) from a ``*_csynth.xml``."""
    report = Path(path)
    try:
        xml = report.read_text()
    except FileNotFoundError as exc:
        raise ReportError(f"{report}: no such report") from exc
    xml = re.sub(r'\sxmlns="[^"]+"', "", xml, count=1)
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ReportError(f"{report}: not valid XML ({exc})") from exc
    target = _number(_text(root, "UserAssignments/TargetClockPeriod", report), "TargetClockPeriod", report)
    estimated = _number(
        _text(root, "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod", report),
        "EstimatedClockPeriod",
        report,
    )
    lat = "PerformanceEstimates/SummaryOfOverallLatency/"
    best = int(_number(_text(root, lat + "Best-caseLatency", report), "Best-caseLatency", report))
    worst = int(_number(_text(root, lat + "Worst-caseLatency", report), "Worst-caseLatency", report))
    ii_min = int(_number(_text(root, lat + "Interval-min", report), "Interval-min", report))
    ii_max = int(_number(_text(root, lat + "Interval-max", report), "Interval-max", report))
    used = _resources(root.find("AreaEstimates/Resources"), report, "Resources")
    available = _resources(root.find("AreaEstimates/AvailableResources"), report, "AvailableResources")
    reported_part = root.findtext("UserAssignments/Part")
    resources = {
        name: {
            "used": used[name],
            "available": available.get(name, 0),
            "percent": round(100.0 * used[name] / available[name], 3) if available.get(name) else None,
        }
        for name in RESOURCES
        if name in used
    }
    return {
        "report": str(report),
        "part": (reported_part or "").strip() or part,
        "top": (root.findtext("UserAssignments/TopModelName") or "").strip() or None,
        "clock_period_ns": {"target": target, "estimated": estimated},
        "latency_cycles": {"best": best, "worst": worst},
        "latency_ns": {"best": best * target, "worst": worst * target},
        "ii_cycles": {"min": ii_min, "max": ii_max},
        "resources": resources,
    }


def format_report(summary: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    lat, ns, ii = summary["latency_cycles"], summary["latency_ns"], summary["ii_cycles"]
    lines = [
        f"part {summary['part']}, clock {summary['clock_period_ns']['target']} ns "
        f"(estimated {summary['clock_period_ns']['estimated']} ns)",
        f"latency {lat['best']}-{lat['worst']} cycles ({ns['best']:.1f}-{ns['worst']:.1f} ns), "
        f"II {ii['min']}-{ii['max']}",
    ]
    for name, r in summary["resources"].items():
        pct = f"{r['percent']:.2f}%" if r["percent"] is not None else "n/a"
        lines.append(f"{name:>8}: {r['used']:>9} of {r['available']:>9} ({pct})")
    return "\n".join(lines)
