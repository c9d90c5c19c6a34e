"""L1 object emulation on hand-built final states with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from l1ad.data import adc2021
from l1ad.data.l1emu import FinalState, L1EmuConfig, Resolution, emulate, leading_lepton_pt

EXACT = L1EmuConfig(
    egamma_resolution=Resolution(), muon_resolution=Resolution(), jet_resolution=Resolution(), met_stochastic=0.0
)


def particle(pid: int, pt: float, eta: float, phi: float, m: float = 0.0) -> tuple:
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return pid, px, py, pz, np.sqrt(px**2 + py**2 + pz**2 + m**2)


def final_state(*events: list[tuple]) -> FinalState:
    rows = [p for ev in events for p in ev]
    arr = np.array(rows, dtype=float).reshape(-1, 5)
    offsets = np.concatenate([[0], np.cumsum([len(ev) for ev in events])])
    return FinalState.from_arrays(arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 0].astype(int), offsets)


def run(*events, config=EXACT, filt=None):
    return emulate(final_state(*events), np.random.default_rng(0), config, filt)


def test_met_is_minus_visible_sum_and_neutrinos_are_invisible():
    out, kept = run([particle(11, 50.0, 0.5, 1.0), particle(12, 50.0, 0.2, 1.0 - np.pi)])
    assert kept.tolist() == [0]
    assert out[0, 0, 0] == pytest.approx(50.0, rel=1e-5)
    assert out[0, 0, 1] == 0.0
    assert out[0, 0, 2] == pytest.approx(1.0 - np.pi, abs=1e-5)
    assert out[0, 0, 3] == adc2021.CLASS_MET
    assert out[0, 1, 0] == pytest.approx(50.0, rel=1e-5) and out[0, 1, 3] == adc2021.CLASS_EGAMMA


def test_acceptance_per_type():
    ev = [
        particle(11, 40.0, 3.2, 0.0),  # e outside |eta| < 3.0
        particle(22, 30.0, 2.9, 2.0),  # photon inside
        particle(13, 40.0, 2.3, -2.0),  # mu outside |eta| < 2.1
        particle(13, 35.0, -2.0, 1.0),  # mu inside
        particle(11, 2.5, 0.0, -1.0),
    ]  # below 3 GeV
    out, _ = run(ev)
    assert out[0, 1:5, 0].tolist() == pytest.approx([30.0, 0, 0, 0], rel=1e-5)
    assert out[0, 1, 1] == pytest.approx(2.9, rel=1e-5)
    assert out[0, 5:9, 0].tolist() == pytest.approx([35.0, 0, 0, 0], rel=1e-5)
    assert out[0, 5, 3] == adc2021.CLASS_MUON


def test_isolation_cone():
    near = [particle(11, 50.0, 0.0, 0.0), particle(211, 20.0, 0.1, 0.1, 0.14)]  # iso 0.4 -> rejected
    far = [particle(11, 50.0, 0.0, 0.0), particle(211, 20.0, 0.0, 0.5, 0.14)]  # outside dR 0.3
    soft = [particle(13, 50.0, 0.0, 0.0), particle(211, 5.0, 0.1, 0.0, 0.14)]  # iso 0.1 -> kept
    out, _ = run(near, far, soft)
    assert out[0, 1, 3] == 0 and out[0, 1, 0] == 0
    assert out[1, 1, 0] == pytest.approx(50.0, rel=1e-5)
    assert out[2, 5, 0] == pytest.approx(50.0, rel=1e-5)


def test_pt_ordering_truncation_and_padding():
    pts = [10.0, 60.0, 25.0, 40.0, 5.0, 33.0]
    ev = [particle(11, pt, 0.0, -3.0 + i) for i, pt in enumerate(pts)]  # well separated in phi
    out, _ = run(ev)
    assert out[0, 1:5, 0].tolist() == pytest.approx([60.0, 40.0, 33.0, 25.0], rel=1e-5)
    assert (out[0, 5:9] == 0).all()  # no muons: zero-padded rows with class 0


def test_jets_antikt_threshold_and_eta():
    ev = [
        particle(211, 40.0, 0.0, 0.0, 0.14),
        particle(211, 10.0, 0.1, 0.05, 0.14),  # one jet ~50 GeV
        particle(211, 30.0, 0.5, 3.0, 0.14),  # second jet
        particle(211, 12.0, -1.0, 1.5, 0.14),  # below 15 GeV
        particle(211, 40.0, 4.3, -1.5, 0.14),  # |eta| > 4
        particle(13, 30.0, 1.0, -2.5),
    ]  # muons not clustered
    out, _ = run(ev)
    jets = out[0, 9:19]
    assert (jets[:, 3] == adc2021.CLASS_JET).sum() == 2
    assert jets[0, 0] == pytest.approx(50.0, rel=2e-3)
    assert jets[1, 0] == pytest.approx(30.0, rel=1e-4)
    assert (jets[2:] == 0).all()


def test_lepton_filter_drops_events_and_reports_indices():
    low = [particle(11, 20.0, 0.0, 0.0)]
    high_mu = [particle(13, 30.0, 0.0, 0.0)]
    nonisolated = [particle(11, 40.0, 0.0, 0.0), particle(211, 30.0, 0.05, 0.0, 0.14)]
    high_e = [particle(11, 24.0, 1.0, 1.0)]
    out, kept = run(low, high_mu, nonisolated, high_e, filt=23.0)
    assert kept.tolist() == [1, 3]
    assert leading_lepton_pt(out).tolist() == pytest.approx([30.0, 24.0], rel=1e-5)


def test_smearing_width_matches_parameters():
    n = 4000
    ev = [particle(11, 50.0, 0.0, 0.0)]
    config = L1EmuConfig(egamma_resolution=Resolution(0.0, 0.10, 0.0), met_stochastic=0.0)
    out, _ = run(*([ev] * n), config=config)
    pt = out[:, 1, 0]
    assert pt.mean() == pytest.approx(50.0, rel=0.01)
    assert pt.std() / 50.0 == pytest.approx(0.10, rel=0.06)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="NaN"):
        FinalState.from_arrays([np.nan], [0.0], [0.0], [1.0], [11], [0, 1])
    with pytest.raises(ValueError, match="offsets"):
        FinalState.from_arrays([1.0], [0.0], [0.0], [1.0], [11], [0, 2])
    with pytest.raises(ValueError, match="shape"):
        FinalState.from_arrays([1.0, 2.0], [0.0], [0.0], [1.0], [11], [0, 1])


def test_event_without_particles_gives_met_only_row():
    out, kept = run([], [particle(11, 30.0, 0.0, 0.0)])
    assert kept.tolist() == [0, 1]
    assert out[0, 0, 0] == 0.0 and out[0, 0, 3] == adc2021.CLASS_MET and (out[0, 1:] == 0).all()
    adc2021.validate_particles(out)
