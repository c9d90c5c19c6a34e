"""Resonant benchmark (LHC Olympics R&D-like): Pythia 8 QCD dijets and W'(3.5 TeV) -> X(500) Y(100), X,Y -> qq.

Final-state particles are clustered with fastjet into anti-kT R = 1.0 jets; the two leading jets give the
features below (j1 = the heavier of the two). N-subjettiness uses exclusive-kT axes (the fastjet Python wheel
does not expose fastjet-contrib's Nsubjettiness): tau_N = sum_k pT_k min_a dR(k, a) / (R0 sum_k pT_k), R0 = 1.

Speed-ups (documented, they do not change the jet features materially): multi-parton interactions off,
QCD generated from pTHat > 1100 GeV, only |eta| < 2.5 particles clustered.

The output is an HDF5 file with dataset ``features`` (N, F), string attribute ``columns`` and dataset
``label`` (0 QCD, 1 signal); it is rewritten atomically every ``checkpoint`` events, so an interrupted run
keeps what was done and ``generate(..., resume=True)`` continues it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from l1ad.data.atomic import atomic_path

__all__ = [
    "COLUMNS",
    "SQRT_S",
    "LEADING_PT_MIN",
    "JET_R",
    "PARTICLE_ETA_MAX",
    "COMMON_SETTINGS",
    "QCD_SETTINGS",
    "SIGNAL_SETTINGS",
    "signal_settings",
    "nsubjettiness",
    "event_features",
    "make_pythia",
    "final_state",
    "read_benchmark",
    "generate",
    "merge",
]

COLUMNS = (
    "mjj",
    "mj1",
    "mj2",
    "tau21_j1",
    "tau21_j2",
    "tau32_j1",
    "tau32_j2",
    "nconst_j1",
    "nconst_j2",
    "pt_j1",
    "pt_j2",
)
SQRT_S = 13000.0
LEADING_PT_MIN = 1200.0
JET_R = 1.0
PARTICLE_ETA_MAX = 2.5

#: Pythia settings common to both processes.
COMMON_SETTINGS = (
    "Beams:eCM = 13000.",
    "PartonLevel:MPI = off",
    "Print:quiet = on",
    "Next:numberCount = 0",
)
QCD_SETTINGS = ("HardQCD:all = on", "PhaseSpace:pTHatMin = 1100.")


def signal_settings(m_wprime: float = 3500.0, m_x: float = 500.0, m_y: float = 100.0) -> tuple[str, ...]:
    """W' -> X Y with new particles X+ (-> u dbar) and Y0 (-> d dbar), narrow (0.2 %), isotropic decays."""
    if not (m_wprime > m_x + m_y and m_x > 0 and m_y > 0):
        raise ValueError(f"need m_wprime > m_x + m_y > 0, got {m_wprime}, {m_x}, {m_y}")
    wx, wy = 0.002 * m_x, 0.005 * m_y
    return (
        "NewGaugeBoson:ffbar2Wprime = on",
        f"34:m0 = {m_wprime}",
        "34:onMode = off",
        "34:addChannel = 1 1.0 100 9000024 9000023",
        f"9000024:new = Xp Xm 1 3 0 {m_x} {wx} {m_x - 10 * wx} {m_x + 10 * wx} 0.",
        "9000024:isResonance = on",
        "9000024:oneChannel = 1 1.0 100 2 -1",
        f"9000023:new = Y void 1 0 0 {m_y} {wy} {m_y - 10 * wy} {m_y + 10 * wy} 0.",
        "9000023:isResonance = on",
        "9000023:oneChannel = 1 1.0 100 1 -1",
    )


#: The LHC Olympics R&D point: W'(3.5 TeV) -> X(500 GeV) Y(100 GeV).
SIGNAL_SETTINGS = signal_settings()


def nsubjettiness(constituents: np.ndarray, axes: np.ndarray, r0: float = JET_R) -> float:
    """tau_N for constituents (K, 3) = (pT, eta, phi) and axes (N, 2) = (eta, phi)."""
    pt, eta, phi = constituents[:, 0], constituents[:, 1], constituents[:, 2]
    dphi = np.abs(phi[:, None] - axes[None, :, 1])
    dphi = np.where(dphi > np.pi, 2 * np.pi - dphi, dphi)
    dr = np.sqrt((eta[:, None] - axes[None, :, 0]) ** 2 + dphi**2)
    return float(np.sum(pt * dr.min(axis=1)) / (r0 * np.sum(pt)))


def _jet_features(jet, fastjet) -> tuple[float, float, float, float, float, int]:
    """(mass, pT, tau1, tau2, tau3, n_constituents) of one fastjet PseudoJet."""
    consts = list(jet.constituents())
    arr = np.array([(c.pt(), c.rap(), c.phi_std()) for c in consts], dtype=np.float64)
    taus = []
    kt = fastjet.JetDefinition(fastjet.kt_algorithm, 10.0)  # R large: exclusive axes from pairwise merging
    cs = fastjet.ClusterSequence(consts, kt)
    for n in (1, 2, 3):
        if len(consts) < n:
            taus.append(0.0)
            continue
        axes = np.array([(j.rap(), j.phi_std()) for j in cs.exclusive_jets(n)], dtype=np.float64)
        taus.append(nsubjettiness(arr, axes))
    return jet.m(), jet.pt(), taus[0], taus[1], taus[2], len(consts)


def _safe_ratio(a: float, b: float) -> float:
    return a / b if b > 0 else 0.0


def event_features(particles: list, fastjet) -> np.ndarray | None:
    """Feature row of one event from its final-state PseudoJets, or None when it fails the selection."""
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, JET_R)
    cs = fastjet.ClusterSequence(particles, jetdef)
    jets = fastjet.sorted_by_pt(cs.inclusive_jets(20.0))
    if len(jets) < 2 or jets[0].pt() < LEADING_PT_MIN:
        return None
    mjj = (jets[0] + jets[1]).m()
    f = [_jet_features(j, fastjet) for j in jets[:2]]
    if f[1][0] > f[0][0]:
        f = f[::-1]
    (m1, pt1, t11, t21, t31, n1), (m2, pt2, t12, t22, t32, n2) = f
    return np.array(
        [
            mjj,
            m1,
            m2,
            _safe_ratio(t21, t11),
            _safe_ratio(t22, t12),
            _safe_ratio(t31, t21),
            _safe_ratio(t32, t22),
            n1,
            n2,
            pt1,
            pt2,
        ],
        dtype=np.float64,
    )


def make_pythia(process: str, seed: int, masses: tuple[float, float, float] = (3500.0, 500.0, 100.0)):
    """A configured, initialised ``pythia8mc.Pythia`` for ``process`` in {'qcd', 'signal'}."""
    import pythia8mc

    if process not in ("qcd", "signal"):
        raise ValueError(f"process must be 'qcd' or 'signal', got {process!r}")
    pythia = pythia8mc.Pythia("", False)
    for s in COMMON_SETTINGS + (QCD_SETTINGS if process == "qcd" else signal_settings(*masses)):
        if not pythia.readString(s):
            raise RuntimeError(f"Pythia rejected setting {s!r}")
    pythia.readString("Random:setSeed = on")
    pythia.readString(f"Random:seed = {int(seed) % 900_000_000 + 1}")
    if not pythia.init():
        raise RuntimeError(f"Pythia failed to initialise for {process}")
    return pythia


def final_state(pythia, fastjet) -> list:
    """Visible final-state particles with |eta| < 2.5 as PseudoJets."""
    out = []
    for p in pythia.event:
        if p.isFinal() and p.isVisible() and abs(p.eta()) < PARTICLE_ETA_MAX:
            out.append(fastjet.PseudoJet(p.px(), p.py(), p.pz(), p.e()))
    return out


def read_benchmark(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(features (N, F), labels (N,), column names) of a benchmark file; clear errors for bad files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: benchmark file not found")
    try:
        with h5py.File(path, "r") as f:
            if "features" not in f or "label" not in f:
                raise ValueError(f"{path}: missing 'features' or 'label' dataset")
            x = f["features"][()]
            y = f["label"][()]
            cols = tuple(json.loads(f.attrs["columns"]))
    except OSError as exc:
        raise OSError(f"{path}: cannot read benchmark file ({exc})") from exc
    if x.ndim != 2 or x.shape[1] != len(cols) or y.shape != (len(x),):
        raise ValueError(f"{path}: inconsistent shapes features {x.shape}, label {y.shape}, {len(cols)} columns")
    if not np.isfinite(x).all():
        raise ValueError(f"{path}: features contain NaN/inf")
    return x, y, cols


def _write(path: Path, x: np.ndarray, y: np.ndarray, metadata: dict) -> None:
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("features", data=x, compression="gzip" if len(x) > 10_000 else None)
            f.create_dataset("label", data=y.astype(np.int8))
            f.attrs["columns"] = json.dumps(list(COLUMNS))
            f.attrs["metadata"] = json.dumps(metadata)


def generate(
    path: str | os.PathLike,
    n_qcd: int,
    n_signal: int,
    seed: int = 1,
    checkpoint: int = 2000,
    resume: bool = True,
    progress: bool = True,
    masses: tuple[float, float, float] = (3500.0, 500.0, 100.0),
) -> Path:
    """Generate (or continue) the benchmark file at ``path`` until it holds ``n_qcd`` QCD and ``n_signal``
    signal events passing the selection. Interrupting keeps the last checkpoint intact."""
    import fastjet
    from tqdm import tqdm

    path = Path(path)
    if resume and path.is_file():
        x, y, _ = read_benchmark(path)
        rows, labels = list(x), list(y)
    else:
        rows, labels = [], []
    meta = {
        "sqrt_s": SQRT_S,
        "jet_R": JET_R,
        "leading_pt_min": LEADING_PT_MIN,
        "seed": seed,
        "qcd_settings": list(COMMON_SETTINGS + QCD_SETTINGS),
        "signal_settings": list(COMMON_SETTINGS + signal_settings(*masses)),
        "signal_masses": list(masses),
    }
    for process, label, target in (("signal", 1, n_signal), ("qcd", 0, n_qcd)):
        have = sum(1 for lab in labels if lab == label)
        if have >= target:
            continue
        # a fresh seed per (process, resume point) keeps resumed runs statistically independent
        pythia = make_pythia(process, seed * 1000 + label * 100 + have, masses)
        bar = tqdm(total=target, initial=have, desc=f"{process} events", disable=not progress)
        since_save, tried = 0, 0
        while have < target:
            if not pythia.next():
                continue
            tried += 1
            feats = event_features(final_state(pythia, fastjet), fastjet)
            if feats is None:
                continue
            rows.append(feats)
            labels.append(label)
            have += 1
            since_save += 1
            bar.update(1)
            if since_save >= checkpoint:
                meta[f"{process}_tried_last_block"] = tried
                _write(path, np.array(rows), np.array(labels), meta)
                since_save = 0
        bar.close()
        _write(path, np.array(rows), np.array(labels), meta)
    return path


def merge(
    paths: list[str | os.PathLike], out: str | os.PathLike, dtype: type = np.float64, label: int | None = None
) -> tuple[int, int]:
    """Concatenate benchmark files (same columns) into ``out``, atomically; ``label`` given: keep only events
    of that label. ``dtype`` float32 halves the size (7 significant digits, ample for these features).
    Returns (QCD events, signal events) written."""
    if not paths:
        raise ValueError("merge: no input files")
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    metas: list[dict] = []
    for p in paths:
        x, y, cols = read_benchmark(p)
        if cols != COLUMNS:
            raise ValueError(f"{p}: columns {cols} differ from {COLUMNS}")
        keep = slice(None) if label is None else (y == label)
        xs.append(x[keep].astype(dtype))
        ys.append(y[keep])
        with h5py.File(p, "r") as f:
            metas.append(json.loads(f.attrs.get("metadata", "{}")))
    x, y = np.concatenate(xs), np.concatenate(ys)
    _write(Path(out), x, y, {"merged_from": [str(p) for p in paths], "parts": metas})
    return int((y == 0).sum()), int((y == 1).sum())


def main() -> None:  # pragma: no cover
    """``python -m l1ad.analysis.resonant OUT N_QCD N_SIG [SEED [M_WPRIME M_X M_Y]]``"""
    import sys

    out, n_qcd, n_sig = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    masses: tuple[float, float, float] = (3500.0, 500.0, 100.0)
    if len(sys.argv) > 7:
        masses = (float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]))
    generate(out, n_qcd, n_sig, seed=seed, masses=masses)


if __name__ == "__main__":  # pragma: no cover
    main()
