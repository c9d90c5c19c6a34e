"""Level-1 trigger object emulation: final-state particles -> ADC2021 (19, 4) rows.

Input is the generator final state of many events as flat numpy arrays (``FinalState``: px, py, pz,
E in GeV, PDG id, and event offsets). The emulation, vectorised over the batch except for one small
numpy step per event (isolation) and one fastjet call per batch:

- visible particles: every final-state particle except neutrinos (PDG 12, 14, 16), |eta| < 5.0;
- MET: minus the vector sum of the visible transverse momenta; each component smeared by a Gaussian of
  width ``met_stochastic * sqrt(sum ET)``; stored with eta = 0;
- e/gamma candidates: electrons and photons (an L1 e/gamma object cannot tell them apart), |eta| < 3.0;
  pi0 and eta are not decayed by the generator and are assumed rejected by e/gamma identification;
  muons |eta| < 2.1;
- lepton isolation: sum pT of all other visible particles (charged and neutral) within dR < 0.3,
  divided by the candidate pT, must be below 0.2 (``iso_max``);
- jets: anti-kT R = 0.4 (fastjet) on visible particles except muons, pT > 15 GeV, |eta| < 4.0; no overlap
  removal with e/gamma (as in the ADC2021 Delphes samples and in calorimeter-only L1 jets);
- resolution: pT of each object multiplied by (1 + sigma(pT) * z), z ~ N(0, 1), with
  sigma(pT) = stochastic / sqrt(pT) (+) constant (+) linear * pT (in quadrature), clipped at zero.
  Parameters (``L1EmuConfig``): e/gamma 0.15 / 0.05 / 0, muons 0 / 0.10 / 0.0005, jets 1.0 / 0.10 / 0.
  Directions (eta, phi) are not smeared. pT thresholds apply after smearing, isolation to the true pT;
- output: MET, up to 4 e/gamma, 4 muons, 10 jets, pT-ordered inside each type, zero-padded.

The numbers are plausible Phase-1 L1 values, not a tuned detector simulation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from l1ad.data import adc2021

__all__ = ["Resolution", "L1EmuConfig", "DEFAULT_CONFIG", "FinalState", "emulate", "leading_lepton_pt"]

#: PDG ids never seen by the detector.
INVISIBLE_IDS = (12, 14, 16)
#: PDG ids reconstructed as e/gamma candidates (electrons and photons; pi0 and eta are left undecayed and
#: count as neutral hadronic deposits, i.e. L1 e/gamma identification is assumed to reject them).
EGAMMA_IDS = (11, 22)
MUON_ID = 13
N_EGAMMA, N_MUON, N_JET = 4, 4, 10


@dataclass(frozen=True)
class Resolution:
    """Relative pT resolution sigma(pT)/pT = stochastic/sqrt(pT) (+) constant (+) linear*pT."""

    stochastic: float = 0.0
    constant: float = 0.0
    linear: float = 0.0

    def relative(self, pt: np.ndarray) -> np.ndarray:
        pt = np.maximum(np.asarray(pt, dtype=np.float64), 1e-6)
        return np.sqrt((self.stochastic**2) / pt + self.constant**2 + (self.linear * pt) ** 2)


@dataclass(frozen=True)
class L1EmuConfig:
    """Acceptance, isolation and resolution parameters of the emulation (see module docstring)."""

    visible_eta_max: float = 5.0
    egamma_eta_max: float = 3.0
    muon_eta_max: float = 2.1
    lepton_pt_min: float = 3.0
    iso_cone: float = 0.3
    iso_max: float = 0.2
    jet_r: float = 0.4
    jet_pt_min: float = 15.0
    jet_eta_max: float = 4.0
    met_stochastic: float = 0.5
    egamma_resolution: Resolution = field(default_factory=lambda: Resolution(0.15, 0.05, 0.0))
    muon_resolution: Resolution = field(default_factory=lambda: Resolution(0.0, 0.10, 0.0005))
    jet_resolution: Resolution = field(default_factory=lambda: Resolution(1.0, 0.10, 0.0))

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT_CONFIG = L1EmuConfig()


@dataclass(frozen=True)
class FinalState:
    """Final-state particles of several events as flat arrays; event k is ``offsets[k]:offsets[k+1]``."""

    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    pid: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.pid)
        for name in ("px", "py", "pz", "e"):
            arr = getattr(self, name)
            if arr.ndim != 1 or len(arr) != n:
                raise ValueError(f"FinalState.{name} has shape {arr.shape}, expected ({n},) like pid")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"FinalState.{name} contains NaN or inf")
        off = self.offsets
        if off.ndim != 1 or len(off) < 1 or off[0] != 0 or off[-1] != n or np.any(np.diff(off) < 0):
            raise ValueError(f"FinalState.offsets must rise from 0 to {n} (number of particles)")

    @classmethod
    def from_arrays(cls, px, py, pz, e, pid, offsets) -> FinalState:
        f64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
        return cls(
            f64(px), f64(py), f64(pz), f64(e), np.asarray(pid, dtype=np.int64), np.asarray(offsets, dtype=np.int64)
        )

    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1

    def event_index(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_events), np.diff(self.offsets))


def _kinematics(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.maximum(pt, 1e-9))
    phi = np.arctan2(py, px)
    return pt, eta, phi


def _smear(pt: np.ndarray, z: np.ndarray, resolution: Resolution) -> np.ndarray:
    return np.maximum(pt * (1.0 + resolution.relative(pt) * z), 0.0)


def _delta_r2(eta1, phi1, eta2, phi2) -> np.ndarray:
    dphi = np.mod(phi1 - phi2 + np.pi, 2 * np.pi) - np.pi
    return (eta1 - eta2) ** 2 + dphi**2


def _fill_rows(out: np.ndarray, rows: slice, cls: int, event: np.ndarray, pt, eta, phi, n_max: int) -> None:
    """Write the n_max leading objects (per event) into ``out[:, rows]``; inputs are flat per-object."""
    if len(event) == 0:
        return
    order = np.lexsort((-pt, event))  # by event, then pT descending
    event, pt, eta, phi = event[order], pt[order], eta[order], phi[order]
    starts = np.searchsorted(event, event, side="left")
    rank = np.arange(len(event)) - starts
    keep = rank < n_max
    ev, slot = event[keep], rows.start + rank[keep]
    out[ev, slot, 0] = pt[keep]
    out[ev, slot, 1] = eta[keep]
    out[ev, slot, 2] = phi[keep]
    out[ev, slot, 3] = cls


def _isolation(fs_event: np.ndarray, pt, eta, phi, offsets, cand: np.ndarray, cone: float) -> np.ndarray:
    """Relative isolation of candidate particles (indices into the visible arrays)."""
    iso = np.empty(len(cand))
    cone2 = cone * cone
    cand_event = fs_event[cand]
    bounds = np.searchsorted(cand_event, np.arange(len(offsets)))
    for k in np.unique(cand_event):
        c = cand[bounds[k] : bounds[k + 1]]
        lo, hi = offsets[k], offsets[k + 1]
        dr2 = _delta_r2(eta[c, None], phi[c, None], eta[None, lo:hi], phi[None, lo:hi])
        cone_sum = (pt[None, lo:hi] * (dr2 < cone2)).sum(axis=1) - pt[c]  # minus itself
        iso[bounds[k] : bounds[k + 1]] = np.maximum(cone_sum, 0.0) / np.maximum(pt[c], 1e-9)
    return iso


def _cluster_jets(px, py, pz, e, counts: np.ndarray, r: float, pt_min: float):
    """anti-kT jets of many events in one fastjet call; returns flat (event, px, py, pz) arrays."""
    import awkward as ak
    import fastjet

    if len(counts) == 0 or counts.sum() == 0:
        empty = np.zeros(0)
        return np.zeros(0, dtype=np.int64), empty, empty, empty
    particles = ak.unflatten(ak.zip({"px": px, "py": py, "pz": pz, "E": e}, with_name="Momentum4D"), counts)
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, r)
    jets = fastjet.ClusterSequence(particles, jetdef).inclusive_jets(min_pt=pt_min)
    n_jets = ak.to_numpy(ak.num(jets))
    flat = ak.flatten(jets)
    jet_event = np.repeat(np.arange(len(counts)), n_jets)
    return (
        jet_event,
        ak.to_numpy(flat.px).astype(np.float64),
        ak.to_numpy(flat.py).astype(np.float64),
        ak.to_numpy(flat.pz).astype(np.float64),
    )


def emulate(
    final_state: FinalState,
    rng: np.random.Generator,
    config: L1EmuConfig = DEFAULT_CONFIG,
    leading_lepton_pt_min: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Emulate L1 objects of every event; optionally keep only events passing the lepton filter.

    The filter keeps events whose leading (smeared, isolated, in-acceptance) e/gamma or muon has
    pT > ``leading_lepton_pt_min``; rejected events are dropped before jet clustering.
    Returns ``(particles, kept)``: a float32 (n_kept, 19, 4) ADC2021 array and the indices of the kept
    events in ``final_state``. Random numbers are drawn in a fixed order (reproducible per ``rng``).
    """
    fs = final_state
    n_ev = fs.n_events
    pt_all, eta_all, _ = _kinematics(fs.px, fs.py, fs.pz)
    apid = np.abs(fs.pid)
    visible = ~np.isin(apid, INVISIBLE_IDS) & (np.abs(eta_all) < config.visible_eta_max)
    vis_event = fs.event_index()[visible]
    px, py, pz, e = fs.px[visible], fs.py[visible], fs.pz[visible], fs.e[visible]
    pt, eta, phi = pt_all[visible], eta_all[visible], np.arctan2(py, px)
    vpid = apid[visible]
    vis_offsets = np.concatenate([[0], np.cumsum(np.bincount(vis_event, minlength=n_ev))])

    # MET from all visible particles, resolution from the scalar sum ET.
    met_x: np.ndarray = -np.bincount(vis_event, weights=px, minlength=n_ev)
    met_y: np.ndarray = -np.bincount(vis_event, weights=py, minlength=n_ev)
    sum_et = np.bincount(vis_event, weights=pt, minlength=n_ev)
    z_met = rng.standard_normal((n_ev, 2))
    met_sigma = config.met_stochastic * np.sqrt(sum_et)
    met_x = met_x + met_sigma * z_met[:, 0]
    met_y = met_y + met_sigma * z_met[:, 1]

    # Lepton candidates: smear, threshold and acceptance first (cheap), isolation only where needed.
    is_eg = np.isin(vpid, EGAMMA_IDS) & (np.abs(eta) < config.egamma_eta_max)
    is_mu = (vpid == MUON_ID) & (np.abs(eta) < config.muon_eta_max)
    cand = np.flatnonzero(is_eg | is_mu)
    z_lep = rng.standard_normal(len(cand))
    cand_mu = is_mu[cand]
    cand_pt = np.where(
        cand_mu,
        _smear(pt[cand], z_lep, config.muon_resolution),
        _smear(pt[cand], z_lep, config.egamma_resolution),
    )
    above = cand_pt > config.lepton_pt_min
    cand, cand_mu, cand_pt = cand[above], cand_mu[above], cand_pt[above]

    if leading_lepton_pt_min is not None:  # cheap pre-filter before isolation
        maybe = np.zeros(n_ev, dtype=bool)
        maybe[vis_event[cand[cand_pt > leading_lepton_pt_min]]] = True
        sel = maybe[vis_event[cand]]
        cand, cand_mu, cand_pt = cand[sel], cand_mu[sel], cand_pt[sel]

    iso = _isolation(vis_event, pt, eta, phi, vis_offsets, cand, config.iso_cone)
    isolated = iso < config.iso_max
    cand, cand_mu, cand_pt = cand[isolated], cand_mu[isolated], cand_pt[isolated]
    cand_event = vis_event[cand]

    if leading_lepton_pt_min is None:
        kept = np.arange(n_ev)
    else:
        kept = np.unique(cand_event[cand_pt > leading_lepton_pt_min])
    new_index = np.full(n_ev, -1, dtype=np.int64)
    new_index[kept] = np.arange(len(kept))

    out = np.zeros((len(kept), adc2021.N_OBJECTS, adc2021.N_FEATURES), dtype=np.float64)
    out[:, adc2021.MET_ROW, 0] = np.hypot(met_x[kept], met_y[kept])
    out[:, adc2021.MET_ROW, 2] = np.arctan2(met_y[kept], met_x[kept])
    out[:, adc2021.MET_ROW, 3] = adc2021.CLASS_MET

    in_kept = new_index[cand_event] >= 0
    for mask, rows, cls, n_max in (
        (~cand_mu & in_kept, adc2021.EGAMMA_ROWS, adc2021.CLASS_EGAMMA, N_EGAMMA),
        (cand_mu & in_kept, adc2021.MUON_ROWS, adc2021.CLASS_MUON, N_MUON),
    ):
        c = cand[mask]
        _fill_rows(out, rows, cls, new_index[cand_event[mask]], cand_pt[mask], eta[c], phi[c], n_max)

    # Jets: cluster visible non-muons of kept events only; threshold before smearing at 0.5x so that
    # up-fluctuations can cross it, then the real cut after smearing.
    jet_in = (vpid != MUON_ID) & (new_index[vis_event] >= 0)
    counts = np.bincount(new_index[vis_event[jet_in]], minlength=len(kept))
    jet_event, jpx, jpy, jpz = _cluster_jets(
        px[jet_in], py[jet_in], pz[jet_in], e[jet_in], counts, config.jet_r, 0.5 * config.jet_pt_min
    )
    jpt, jeta, jphi = _kinematics(jpx, jpy, jpz)
    z_jet = rng.standard_normal(len(jpt))
    jpt = _smear(jpt, z_jet, config.jet_resolution)
    good = (jpt > config.jet_pt_min) & (np.abs(jeta) < config.jet_eta_max)
    _fill_rows(out, adc2021.JET_ROWS, adc2021.CLASS_JET, jet_event[good], jpt[good], jeta[good], jphi[good], N_JET)

    out32 = out.astype(np.float32)
    if len(out32):  # nothing to check in a batch where no event passed
        adc2021.validate_particles(out32, "l1emu output")
    return out32, kept


def leading_lepton_pt(particles: np.ndarray) -> np.ndarray:
    """pT of the leading e/gamma or muon of each (N, 19, 4) event (0 when there is none)."""
    rows = np.asarray(particles)[:, 1 : adc2021.MUON_ROWS.stop, 0]
    return rows.max(axis=1) if rows.size else np.zeros(len(particles))
