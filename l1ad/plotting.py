"""Shared figure conventions: mplhep's CMS style, an l1ad label, atomic writes.

The plots use the CMS *style* of mplhep (fonts, ticks, sizes) but are labelled "l1ad Simulation":
l1ad is not a CMS product and its figures must not claim to be.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep as hep  # noqa: E402

from l1ad.data.atomic import atomic_path  # noqa: E402

__all__ = ["use_style", "label", "save_figure"]


def use_style() -> None:
    """Apply mplhep's CMS style."""
    plt.style.use(hep.style.CMS)


def label(ax: plt.Axes, text: str = "Simulation") -> None:
    """The experiment-style label of every l1ad figure: "l1ad" in bold, then ``text`` as given.

    ``llabel`` is used verbatim; mplhep's ``text=`` would get "Simulation " prepended (``data=False``), which
    made every figure read "l1ad Simulation Simulation".
    """
    hep.label.exp_label(exp="l1ad", llabel=text, ax=ax, rlabel="")


def save_figure(fig: plt.Figure, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Write ``fig`` atomically (format from the suffix, PNG by default) and close it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
