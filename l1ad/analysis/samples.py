"""What a resonant search runs on: its configuration (:class:`SearchConfig`), the searched events
(:class:`Dataset`) and events outside them (:class:`Sample`: reference background, simulation, background models).
Kept apart from :mod:`l1ad.analysis.search` so that the methods, the references and the closure test use them
without an import circle; ``search`` re-exports them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import ClassifierMixin

from l1ad.analysis import cwola

__all__ = ["Sample", "Dataset", "SearchConfig"]


@dataclass
class Sample:
    """Events outside the data: features (N, D), resonant variable (N,), optional event weights (N,)."""

    x: np.ndarray
    m: np.ndarray
    weights: np.ndarray | None = None


@dataclass
class SearchConfig:
    """Window, binning and selection shared by the methods."""

    window: cwola.Window
    edges: np.ndarray
    efficiency: float = 0.01
    resolution: float = 0.05
    model: str = "dijet"  # background function for selected spectra (4 parameters: the 3-parameter form
    # under-fits selected spectra and gave a local Z of 3.1 in the null test of the benchmark)
    model_inclusive: str = "dijet"  # or "bernstein_ftest": Bernstein polynomial, degree by F-test on the data
    n_folds: int = 5
    seed: int = 0
    n_categories: int = 2
    classifier: ClassifierMixin | None = None
    gmm_components: int = 8  # GMM options only (quak_model / density_estimator = "gmm")
    quak_selection: str = "llr"  # "llr" (best proxy vs background) or "lda" (linear discriminant)
    proxy_components: int = (
        1  # (GMM option) a broad (single-Gaussian) prior per proxy class generalises to other masses
    )
    union_proxies: bool = True  # pool all proxies into one "two-prong signal" prior
    quak_model: str = "vae"  # per-class model for QUAK and the single-model baseline: "vae" or "gmm"
    density_estimator: str = "flow"  # conditional density for the CATHODE-style method: "flow" or "gmm"
    flow_max_events: int | None = 30_000  # subsample larger sideband samples for the flow fit (speed)
    flow_preprocess: str = "quantile"  # flow features: "quantile" (sideband quantiles mapped to a normal before a
    # standard flow, as ANODE and CURTAINS-style; with the calibration below the best local Z, docs/analysis.md) or
    # "logit" (CATHODE-like; SIC 16 vs 12 with "standard")
    n_ensemble: int = 1  # CWoLa: classifiers (different seeds) averaged per fold
    density_oversample: float = 4  # CATHODE-style: flow samples per SR event
    density_m_sampling: str = "kde"  # masses of the flow samples: "kde", "data" (the SR masses) or "uniform"
    density_ensemble: int | None = None  # CATHODE-style classifiers averaged per fold (None: n_ensemble)
    density_calibration: str = "trees_m"  # CATHODE-style sideband calibration of the flow samples (one of
    # density.CALIBRATIONS, "none" = off): boosted trees of sideband data vs flow samples at the sideband masses
    # (x and m) weight the SR samples by p / (1 - p); closure AUC 0.551 -> 0.520 (logit flow), docs/analysis.md
    density_classifier: str = "trees_regularized"  # CATHODE-style classifier of SR data vs samples (a name in
    # cwola.CLASSIFIERS; ``classifier`` above overrides it): "trees" is CWoLa's, docs/analysis.md compares them
    density_models: int = 5  # CATHODE-style: flows fitted with different seeds and sideband subsamples, sampled as
    # an equal-weight mixture (density.ModelMixture): closure AUC 0.523 -> 0.511 (truth 0.507), docs/analysis.md
    flow_kw: dict = field(default_factory=dict)  # further fit_flow options (n_layers, hidden, epochs, ...)


@dataclass
class Dataset:
    """Events to search: features (N, D), resonant variable (N,), optional truth (N,) bool (True = signal).

    ``reference`` is background independent of the data (the idealized detector's and the closure test's
    truth, never seen by a weakly supervised method); ``simulation`` is simulated background for
    simulation-assisted methods (SALAD-style), which may differ from the data's background; ``signal`` is
    signal independent of the data (events not injected), used only by the fully supervised reference.
    """

    x: np.ndarray
    m: np.ndarray
    truth: np.ndarray | None = None
    proxies: dict[str, np.ndarray] = field(default_factory=dict)  # proxy-signal features for QUAK
    reference: Sample | None = None
    simulation: Sample | None = None
    signal: Sample | None = None
