"""Run the resonant searches (inclusive bump hunt, CWoLa hunting, QUAK, CATHODE-style, single-model baseline)
on one dataset of (features, resonant variable), with optional truth labels for SIC figures.

The methods are registered (:func:`register_method`, :func:`get_method`, :func:`method_names`): a new method
is a scoring function and a hunt, added with one :class:`Method` entry; the command line, the benchmark
script and the tests read the registry.

Every method returns a flat dict (JSON-ready): method, z (local significance at the window centre),
fitted_mass, mu, n_selected, and sic_max (signal-region SIC of the method's score, from truth labels).
:func:`scan_windows` adds the best window (``found_mass``) and its global significance ``z_global``: the local
p-value corrected for the scan with n_eff = span / SR width + 1 independent windows (Sidak).

Defaults: QUAK and the single-model baseline use per-class VAEs (``quak_model="vae"``), the density method a
TensorFlow Probability conditional flow (``density_estimator="flow"``) on quantile-mapped features
(``flow_preprocess="quantile"``) whose signal-region samples are weighted by a sideband calibration
(``density_calibration="trees_m"``, :mod:`l1ad.analysis.density`), with regularized boosted trees for its classifier
and calibration (``density_classifier="trees_regularized"``); ``"gmm"`` selects the fast mixture stand-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from l1ad.analysis import anode, bumphunt, curtains, cwola, density, disco, metrics, quak, references, salad
from l1ad.analysis.samples import Dataset, Sample, SearchConfig
from l1ad.registry import Registry

__all__ = [
    "SearchConfig",
    "Sample",
    "Dataset",
    "Method",
    "density_background",
    "idealized_scores",
    "supervised_scores",
    "inclusive",
    "cwola_scores",
    "cwola_background",
    "quak_scores",
    "single_model_scores",
    "density_scores",
    "anode_scores",
    "curtains_scores",
    "salad_scores",
    "disco_vae_scores",
    "scan_windows",
    "register_method",
    "get_method",
    "method_names",
    "run_method",
]


def _sic_in_sr(data: Dataset, scores: np.ndarray, cfg: SearchConfig) -> float:
    if data.truth is None or not data.truth.any():
        return float("nan")
    in_sr = cwola.window_labels(data.m, cfg.window)[1].astype(bool)
    sig, bkg = scores[in_sr & data.truth], scores[in_sr & ~data.truth]
    if sig.size == 0 or bkg.size < 20:
        return float("nan")
    return metrics.max_sic(bkg, sig, min_bkg_events=20)[0]


def _hunt_selected(
    data: Dataset, scores: np.ndarray | None, cfg: SearchConfig, method: str, reference: np.ndarray | None = None
) -> dict:
    assert scores is not None
    in_win = cwola.window_labels(data.m, cfg.window)[0]
    ref = scores[in_win] if reference is None else reference
    thr = cwola.select_top(ref, cfg.efficiency)
    keep = scores > thr
    z, mu, mass = cwola.bump_hunt_selected(data.m, keep, cfg.window, cfg.edges, cfg.resolution, cfg.model)
    result = {
        "method": method,
        "efficiency": cfg.efficiency,
        "z": z,
        "mu": mu,
        "fitted_mass": mass,
        "n_selected": int(keep.sum()),
        "n_signal_selected": int((keep & data.truth).sum()) if data.truth is not None else None,
        "sic_max": _sic_in_sr(data, scores, cfg),
    }
    if data.truth is not None:  # truth-level figure of the selection, free of the bump-hunt fit's fluctuations
        in_sr = references.in_window(data.m, cfg)[0]
        result["sr_signal_selected"] = int((keep & in_sr & data.truth).sum())
        result["sr_background_selected"] = int((keep & in_sr & ~data.truth).sum())
        if (keep & ~data.truth).sum() >= 10:
            result["z_background_only"], result["z_signal_only"] = bumphunt.truth_split_significance(
                bumphunt.binned_counts(data.m[keep & data.truth], cfg.edges),
                bumphunt.binned_counts(data.m[keep & ~data.truth], cfg.edges),
                cfg.edges,
                cfg.window.centre,
                cfg.resolution * cfg.window.centre,
                cfg.model,
            )
    return result


def inclusive(data: Dataset, cfg: SearchConfig) -> dict:
    """Bump hunt on all events (no selection)."""
    keep = np.ones(len(data.m), bool)
    extra = {}
    if cfg.model_inclusive == "bernstein_ftest":
        counts = bumphunt.binned_counts(data.m, cfg.edges)
        degree = bumphunt.ftest_degree(counts, cfg.edges)
        z, fit = bumphunt.local_significance(
            counts, cfg.edges, cfg.window.centre, cfg.resolution * cfg.window.centre, model="bernstein", degree=degree
        )
        mu, mass, extra = fit.mu, float("nan"), {"bernstein_degree": degree}
    else:
        z, mu, mass = cwola.bump_hunt_selected(data.m, keep, cfg.window, cfg.edges, cfg.resolution, cfg.model_inclusive)
    return {
        "method": "inclusive",
        **extra,
        "efficiency": 1.0,
        "z": z,
        "mu": mu,
        "fitted_mass": mass,
        "n_selected": int(keep.sum()),
        "n_signal_selected": int(data.truth.sum()) if data.truth is not None else None,
        "sic_max": 1.0,
    }


def cwola_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """CWoLa classifier output (signal region vs sidebands, k-fold, out-of-fold) of every event."""
    scores, _ = cwola.score_events(
        data.x, data.m, cfg.window, cfg.n_folds, cfg.seed, cfg.classifier, n_ensemble=cfg.n_ensemble
    )
    return scores


def cwola_background(data: Dataset, cfg: SearchConfig) -> Sample:
    """CWoLa's background model of the SR: the sideband events themselves (its classifier's background class)."""
    in_sb = references.in_window(data.m, cfg)[1]
    return Sample(data.x[in_sb], data.m[in_sb])


_DENSITY_CACHE: dict = {}  # the last few background models (the closure test and the scores share one fit)
_DENSITY_CACHE_SIZE = 8


def density_background(data: Dataset, cfg: SearchConfig) -> Sample:
    """CATHODE-style background model of the SR: the sideband-fitted conditional density sampled at SR masses,
    weighted by the sideband calibration of ``cfg.density_calibration`` (weights None without)."""
    key = (
        id(data.x),
        len(data.x),
        float(data.m.sum()),
        cfg.window,
        cfg.density_estimator,
        cfg.gmm_components,
        cfg.density_oversample,
        cfg.density_m_sampling,
        cfg.flow_max_events,
        cfg.flow_preprocess,
        repr(sorted(cfg.flow_kw.items())),
        cfg.density_calibration,
        cfg.density_models,
        cfg.density_classifier,
        cfg.seed,
    )
    if key not in _DENSITY_CACHE:
        while len(_DENSITY_CACHE) >= _DENSITY_CACHE_SIZE:
            _DENSITY_CACHE.pop(next(iter(_DENSITY_CACHE)))
        samples, m_samples, weights, _ = density.calibrated_background(
            data.x,
            data.m,
            cfg.window,
            cfg.gmm_components,
            oversample=cfg.density_oversample,
            seed=cfg.seed,
            estimator=cfg.density_estimator,
            flow_kw={"max_events": cfg.flow_max_events, "preprocess": cfg.flow_preprocess, **cfg.flow_kw},
            m_sampling=cfg.density_m_sampling,
            calibration=cfg.density_calibration,
            n_models=cfg.density_models,
            calibration_trees=cfg.density_classifier,
        )
        _DENSITY_CACHE[key] = Sample(samples, m_samples, weights)
    return _DENSITY_CACHE[key]


def density_classifier(cfg: SearchConfig):
    """The CATHODE-style method's classifier: ``cfg.classifier`` if given, else ``cfg.density_classifier``."""
    if cfg.classifier is not None:
        return cfg.classifier
    return cwola.named_classifier(cfg.density_classifier, cfg.seed, "density_classifier")


def density_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """CATHODE-style classifier output (data vs samples of the sideband density in the signal region, weighted
    when ``cfg.density_calibration`` is set)."""
    background = density_background(data, cfg)
    scores, _ = density.cathode_scores(
        data.x,
        data.m,
        cfg.window,
        n_folds=cfg.n_folds,
        seed=cfg.seed,
        classifier=density_classifier(cfg),
        n_ensemble=cfg.density_ensemble if cfg.density_ensemble is not None else cfg.n_ensemble,
        samples=background.x,
        sample_weights=background.weights,
    )
    return scores


def idealized_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """Idealized anomaly detector (reference): :func:`l1ad.analysis.references.idealized_scores`."""
    return references.idealized_scores(data, cfg)


def supervised_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """Fully supervised classifier (reference): :func:`l1ad.analysis.references.supervised_scores`."""
    return references.supervised_scores(data, cfg)


def quak_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """QUAK score of every event in the loss space (background model fit on the data, one per proxy)."""
    if not data.proxies:
        raise ValueError("QUAK needs at least one proxy-signal sample (Dataset.proxies)")
    proxies = {"proxies": np.concatenate(list(data.proxies.values()))} if cfg.union_proxies else data.proxies
    losses = quak.fit_class_losses(
        {"background": data.x}, cfg.gmm_components, cfg.seed, model=cfg.quak_model
    ) + quak.fit_class_losses(proxies, cfg.proxy_components, cfg.seed, model=cfg.quak_model)
    space = quak.loss_space(losses, data.x)
    if cfg.quak_selection == "lda":
        proxy_space = np.concatenate([quak.loss_space(losses, p) for p in proxies.values()])
        return quak.lda_discriminant(space, proxy_space).decision_function(space)
    if cfg.quak_selection == "llr":
        return quak.best_proxy_llr(space)
    raise ValueError(f"quak_selection must be 'llr' or 'lda', got {cfg.quak_selection!r}")


def single_model_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """Baseline: the loss of the background model alone (the single-autoencoder baseline)."""
    return quak.fit_class_losses({"background": data.x}, cfg.gmm_components, cfg.seed, model=cfg.quak_model)[0](data.x)


def quak_hunt(data: Dataset, cfg: SearchConfig, scores: np.ndarray | None) -> dict:
    """Top ``efficiency`` split into equal-population categories, bump hunted, combined with Fisher's method."""
    assert scores is not None
    in_win = cwola.window_labels(data.m, cfg.window)[0]
    cat = quak.category_hunt(
        scores,
        data.m,
        cfg.efficiency,
        cfg.n_categories,
        cfg.edges,
        cfg.window.centre,
        cfg.resolution,
        cfg.model,
        reference=scores[in_win],
    )
    result = _hunt_selected(data, scores, cfg, "quak", reference=scores[in_win])
    result.update(
        {
            "z_one_category": result["z"],
            "z": cat.z_combined,
            "z_categories": cat.z_categories,
            "n_categories": cat.n_categories,
        }
    )
    return result


def scan_windows(
    data: Dataset,
    cfg: SearchConfig,
    method: str,
    centres: np.ndarray,
    sr_half_width: float,
    sb_width: float,
    keep_scores: bool = False,
) -> dict:
    """Run ``method`` with the signal region slid over ``centres``; the best window gives the found mass.

    Returns the result of the most significant window with ``found_mass`` (its centre) and the per-window
    significances (``scan_centres``, ``scan_z``); with ``keep_scores`` also ``scores`` (per window, arrays).
    """
    spec = get_method(method)
    results, all_scores = [], []
    fixed = spec.scores(data, cfg) if (spec.scores is not None and not spec.window_dependent) else None
    for c in centres:
        w_cfg = SearchConfig(**{**cfg.__dict__, "window": cwola.Window.around(float(c), sr_half_width, sb_width)})
        w_scores = spec.scores(data, w_cfg) if (spec.scores is not None and spec.window_dependent) else fixed
        results.append(spec.hunt(data, w_cfg, w_scores))
        all_scores.append(w_scores)
    i = int(np.argmax([r["z"] for r in results]))
    best = dict(results[i])
    n_eff = bumphunt.n_independent_windows(centres, 2 * sr_half_width)
    best.update(
        {
            "found_mass": float(centres[i]),
            "n_independent_windows": n_eff,
            "z_global": bumphunt.global_significance(best["z"], n_eff),
            "scan_centres": [float(c) for c in centres],
            "scan_z": [float(r["z"]) for r in results],
            "scan_sic_max": [float(r["sic_max"]) for r in results],
        }
    )
    if keep_scores:
        best["scores"] = all_scores
    return best


# ---- the registry of search methods ---------------------------------------------------------------------
Scorer = Callable[[Dataset, SearchConfig], np.ndarray]
Hunter = Callable[[Dataset, SearchConfig, np.ndarray | None], dict]
BackgroundModel = Callable[[Dataset, SearchConfig], Sample]


@dataclass(frozen=True)
class Method:
    """A resonant search method: how it scores events and how the selected events are bump hunted.

    ``scores`` is None for a method without selection (the inclusive fit); ``window_dependent`` False means
    the scores do not depend on the signal region and are computed once per scan; ``uses_tensorflow`` asks
    the caller to limit TensorFlow's threads. ``background_model`` (methods that model the signal region's
    background: CATHODE-style, ANODE, CURTAINS-style, SALAD-style; for CWoLa the sideband events its classifier
    takes as background) gives that model as a (weighted) sample of events, for the closure test against the true
    background of the signal region.
    """

    name: str
    description: str
    scores: Scorer | None
    hunt: Hunter
    window_dependent: bool = True
    uses_tensorflow: bool = False
    background_model: BackgroundModel | None = None


_METHODS: Registry[Method] = Registry("search method")


def register_method(method: Method) -> Method:
    """Add a search method (its name must be new)."""
    return _METHODS.register(method.name, method)


def get_method(name: str) -> Method:
    """The registered method ``name``; an unknown name raises ``ValueError`` listing the known ones."""
    return _METHODS.get(name)


def method_names() -> tuple[str, ...]:
    """Registered search methods, in registration order."""
    return _METHODS.names()


def run_method(name: str, data: Dataset, cfg: SearchConfig) -> tuple[dict, np.ndarray | None]:
    """One method in one window: its result and its per-event scores (None for the inclusive fit)."""
    method = get_method(name)
    scores = method.scores(data, cfg) if method.scores is not None else None
    return method.hunt(data, cfg, scores), scores


def _selected(name: str) -> Hunter:
    return lambda data, cfg, scores: _hunt_selected(data, scores, cfg, name)


for _method in (
    Method("inclusive", "bump hunt on all events (no selection)", None, lambda data, cfg, _: inclusive(data, cfg)),
    Method(
        "cwola",
        "CWoLa hunting: k-fold boosted trees, signal region vs sidebands",
        cwola_scores,
        _selected("cwola"),
        background_model=cwola_background,
    ),
    Method(
        "quak",
        "QUAK: per-class density models, loss space, equal-population categories",
        quak_scores,
        lambda data, cfg, scores: quak_hunt(data, cfg, scores),
        window_dependent=False,
        uses_tensorflow=True,
    ),
    Method(
        "density",
        "CATHODE-style: conditional flow in the sidebands, sampled into the signal region",
        density_scores,
        _selected("density"),
        uses_tensorflow=True,
        background_model=density_background,
    ),
    Method(
        "single_model",
        "the background density model's loss alone (single-autoencoder baseline)",
        single_model_scores,
        _selected("single_model"),
        window_dependent=False,
        uses_tensorflow=True,
    ),
    Method(
        "idealized",
        "idealized anomaly detector (reference): SR data vs independent true SR background, k-fold",
        idealized_scores,
        _selected("idealized"),
    ),
    Method(
        "supervised",
        "fully supervised classifier (reference): SR signal vs SR background by truth, k-fold",
        supervised_scores,
        _selected("supervised"),
    ),
):
    register_method(_method)


# ---- ANODE, CURTAINS-style, SALAD-style, DisCo VAE (modules anode, curtains, salad, disco) -------------------
def anode_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """ANODE: log p_data(x | m) / p_bkg(x | m) (SR flow fine-tuned from the sideband flow)."""
    return anode.anode_scores(data.x, data.m, cfg.window, cfg.seed, cfg.flow_max_events)


def anode_background(data: Dataset, cfg: SearchConfig) -> Sample:
    return Sample(*anode.background_sample(data.x, data.m, cfg.window, cfg.seed, cfg.flow_max_events))


def curtains_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """CURTAINS-style: classifier of SR data vs sideband events transported into the SR by the flow."""
    return curtains.curtains_scores(
        data.x, data.m, cfg.window, cfg.n_folds, cfg.seed, cfg.classifier, cfg.flow_max_events
    )


def curtains_background(data: Dataset, cfg: SearchConfig) -> Sample:
    return Sample(*curtains.transported_background(data.x, data.m, cfg.window, cfg.seed, cfg.flow_max_events))


def salad_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """SALAD-style: classifier of SR data vs the SR simulation reweighted to data in the sidebands."""
    sim = salad.check_simulation(data.simulation, data.x.shape[1])
    return salad.salad_scores(
        data.x, data.m, sim.x, sim.m, cfg.window, sim.weights, cfg.n_folds, cfg.seed, cfg.classifier
    )


def salad_background(data: Dataset, cfg: SearchConfig) -> Sample:
    sim = salad.check_simulation(data.simulation, data.x.shape[1])
    return Sample(*salad.reweighted_simulation(data.x, data.m, sim.x, sim.m, cfg.window, sim.weights, cfg.seed))


def disco_vae_scores(data: Dataset, cfg: SearchConfig) -> np.ndarray:
    """The single-model VAE trained with the DisCo penalty lambda dCor^2(score, m)."""
    return disco.disco_vae_scores(data.x, data.m, cfg.seed)


for _method in (
    Method(
        "anode",
        "ANODE: log p_data(x|m) / p_bkg(x|m), flows fit in the signal region and in the sidebands",
        anode_scores,
        _selected("anode"),
        uses_tensorflow=True,
        background_model=anode_background,
    ),
    Method(
        "curtains",
        "CURTAINS-style: sideband events transported into the signal region by the conditional flow, classified",
        curtains_scores,
        _selected("curtains"),
        uses_tensorflow=True,
        background_model=curtains_background,
    ),
    Method(
        "salad",
        "SALAD-style: simulation reweighted to data in the sidebands (w(m, x)), SR data vs reweighted simulation",
        salad_scores,
        _selected("salad"),
        background_model=salad_background,
    ),
    Method(
        "disco_vae",
        "the single-model VAE trained with a distance-correlation penalty lambda dCor^2(score, m_jj)",
        disco_vae_scores,
        _selected("disco_vae"),
        window_dependent=False,
        uses_tensorflow=True,
    ),
):
    register_method(_method)
