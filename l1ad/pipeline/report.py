"""The report step: ``report.html`` of a run from whatever it holds."""

from __future__ import annotations

from pathlib import Path

from l1ad.models.store import Run

__all__ = ["report"]


def report(run: Run) -> Path:
    """Write the run's HTML report (figures, rates, verification, configuration); returns its path."""
    from l1ad.report.html import write_report

    return write_report(run.dir)
