"""The run report: mplhep (CMS style) figures and an HTML page built from a run directory's files.

- :mod:`~l1ad.report.plots`: score distributions, ROC curves, rate vs threshold, efficiency vs rate
- :mod:`~l1ad.report.html`: ``write_report(run_dir)`` -> ``runs/<name>/report.html``
"""

__all__: list[str] = []
