"""Every l1ad figure is labelled "l1ad" + "Simulation" once (mplhep's exp_label prepends "Simulation" to text=)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from l1ad import plotting  # noqa: E402
from l1ad.analysis import plots as analysis_plots  # noqa: E402
from l1ad.report import plots as report_plots  # noqa: E402


def texts(fig: plt.Figure) -> list[str]:
    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(Text) if t.get_text().strip()]


def capture_figures(monkeypatch, module) -> list[plt.Figure]:
    """Replace ``module.save_figure`` by one that keeps the figure open for inspection."""
    figures: list[plt.Figure] = []

    def keep(fig, path, dpi=100):
        figures.append(fig)
        return path

    monkeypatch.setattr(module, "save_figure", keep)
    return figures


def label_texts(ax: plt.Axes) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_text()]


def test_label_reads_l1ad_simulation_once():
    plotting.use_style()
    fig, ax = plt.subplots()
    plotting.label(ax)
    assert label_texts(ax) == ["l1ad", "Simulation"]
    fig, ax = plt.subplots()
    plotting.label(ax, "Work in progress")
    assert label_texts(ax) == ["l1ad", "Work in progress"]
    plt.close("all")


def test_report_figure_has_one_simulation_label(monkeypatch, tmp_path):
    figures = capture_figures(monkeypatch, report_plots)
    rng = np.random.default_rng(0)
    hists = {
        name: {"codes": np.sort(rng.integers(0, 100, n)), "sumw": np.ones(n)}
        for name, n in (("background", 500), ("Ato4l", 200))
    }
    report_plots.roc_curves(hists, tmp_path / "roc.png")
    (fig,) = figures
    found = texts(fig)
    assert found.count("l1ad") == 1 and found.count("Simulation") == 1, found
    assert not any("Simulation Simulation" in t for t in found)
    plt.close("all")


def test_analysis_figure_labels_each_panel_once(monkeypatch, tmp_path):
    figures = capture_figures(monkeypatch, analysis_plots)
    rng = np.random.default_rng(1)
    analysis_plots.roc_and_sic({"toy": (rng.normal(0, 1, 2000), rng.normal(1, 1, 500))}, tmp_path / "roc.png")
    (fig,) = figures
    found = texts(fig)
    assert found.count("l1ad") == 2 and found.count("Simulation") == 2, found  # one label per panel
    assert not any("Simulation Simulation" in t for t in found)
    plt.close("all")
