"""Event generation: options, reproducibility, atomic output and physics checks on small samples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from l1ad.data import adc2021, generate, processes


# ------------------------------------------------------------------------------------ planning / options
def test_job_seed_range_and_independence():
    seeds = {generate.job_seed(s, p, j) for s in (0, 1) for p in ("wlnu", "qcd") for j in range(50)}
    assert len(seeds) == 200
    assert all(1 <= s <= 900_000_000 for s in seeds)
    assert generate.job_seed(7, "zll", 3) == generate.job_seed(7, "zll", 3)


def test_plan_jobs_sizes_and_seeds():
    jobs = generate.plan_jobs("wlnu", 550, seed=4, job_size=250)
    assert [j.n_keep for j in jobs] == [250, 250, 50]
    assert [j.pythia_seed for j in jobs] == [generate.job_seed(4, "wlnu", j) for j in range(3)]
    assert "Beams:eCM = 13600" in jobs[0].settings


def test_mass_and_sqrts_go_into_settings():
    settings = processes.get_process("lq_btau").pythia_settings(sqrt_s=13000, mass=120)
    assert "Beams:eCM = 13000" in settings and "42:m0 = 120" in settings
    assert "25:m0 = 50" in processes.get_process("ato4l").pythia_settings()


def test_effective_events():
    assert generate.effective_events(np.ones(10)) == pytest.approx(10.0)
    assert generate.effective_events(np.array([1.0, 0.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert generate.effective_events(np.array([3.0, 1.0])) == pytest.approx(16.0 / 10.0)


def test_background_counts():
    counts = generate.background_counts(1000)
    assert sum(counts.values()) == 1000
    assert counts == {"wlnu": 770, "zll": 150, "ttbar": 60, "qcd": 20}
    small = generate.background_counts(4)
    assert sum(small.values()) == 4 and min(small.values()) == 1
    with pytest.raises(ValueError, match="at least 4"):
        generate.background_counts(3)
    with pytest.raises(ValueError, match="shares"):
        generate.background_counts(10, {"wlnu": 1.0, "dijet": 1.0})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"process": "zprime"}, "unknown process"),
        ({"n_events": 0}, "positive integer"),
        ({"n_events": -5}, "positive integer"),
        ({"n_events": 2.5}, "positive integer"),
        ({"seed": -1}, "seed"),
        ({"workers": 0}, "workers"),
        ({"pileup": -1.0}, "pile-up"),
        ({"pileup": math.nan}, "pile-up"),
        ({"mass": 5.0}, "out of range"),
        ({"mass": math.nan}, "out of range"),
        ({"mass": 1e6}, "out of range"),
        ({"process": "wlnu", "mass": 50.0}, "no mass"),
        ({"process": "background", "mass": 50.0}, "no mass"),
        ({"sqrt_s": -13600.0}, "sqrt"),
    ],
)
def test_invalid_options_raise_clear_errors(tmp_path, kwargs, match):
    args = {"process": "ato4l", "n_events": 10, "seed": 1, "workers": 1, **kwargs}
    out = tmp_path / "x.h5"
    with pytest.raises(ValueError, match=match):
        generate.generate_to_file(args.pop("process"), args.pop("n_events"), out, **args)
    assert not out.exists()


# ----------------------------------------------------------------------------------- small generations
def check_l1_layout(particles: np.ndarray) -> None:
    """ADC2021 physics layout: filter, acceptance per row type, pT ordering, padding."""
    adc2021.validate_particles(particles)
    pt, eta, cls = particles[..., 0], particles[..., 1], particles[..., 3]
    leading = np.maximum(pt[:, 1:5].max(axis=1), pt[:, 5:9].max(axis=1))
    assert (leading > 23.0).all(), "an event fails the lepton filter"
    assert (cls[:, 0] == 1).all() and (eta[:, 0] == 0).all()
    eg, mu, jet = cls[:, 1:5] == 2, cls[:, 5:9] == 3, cls[:, 9:] == 4
    assert (np.abs(eta[:, 1:5][eg]) < 3.0).all() and (pt[:, 1:5][eg] > 3.0).all()
    assert (np.abs(eta[:, 5:9][mu]) < 2.1).all() and (pt[:, 5:9][mu] > 3.0).all()
    assert (np.abs(eta[:, 9:][jet]) < 4.0).all() and (pt[:, 9:][jet] > 15.0).all()
    for rows in (slice(1, 5), slice(5, 9), slice(9, 19)):
        block = pt[:, rows]
        assert (np.diff(block, axis=1) <= 0).all(), "objects not pT-ordered / padding not at the end"
        filled = cls[:, rows] > 0
        assert (filled == (block > 0)).all()
        assert (particles[:, rows][~filled] == 0).all()


@pytest.fixture(scope="module")
def wlnu_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "wlnu.h5"
    summary = generate.generate_to_file("wlnu", 60, out, seed=11, workers=1, job_size=25)
    return out, summary


def test_small_wlnu_file_is_valid_adc2021(wlnu_file):
    out, summary = wlnu_file
    parts = adc2021.read_particles(out)
    assert parts.shape == (60, 19, 4)
    check_l1_layout(parts)
    meta = adc2021.read_metadata(out)
    assert meta["process"] == "wlnu" and meta["seed"] == 11 and meta["n_kept"] == 60
    assert meta["n_tried"] > 60 and 0.0 < meta["filter_efficiency"] < 1.0
    assert meta["filter_efficiency"] == pytest.approx(60 / meta["n_tried"])
    assert meta["sigma_gen_pb"] > 1e3 and meta["versions"]["pythia8mc"] == "8.317.2"
    assert len(meta["pythia_seeds"]) == 3
    assert summary.events == 60 and summary.filter_efficiency == meta["filter_efficiency"]
    # W -> l nu: MET and leptons present in most events
    assert np.median(parts[:, 0, 0]) > 10.0


def test_same_seed_same_file_independent_of_workers(wlnu_file, tmp_path):
    out1, _ = wlnu_file
    out2 = tmp_path / "again.h5"
    generate.generate_to_file("wlnu", 60, out2, seed=11, workers=2, job_size=25)
    a, b = adc2021.read_particles(out1), adc2021.read_particles(out2)
    assert np.array_equal(a, b)
    meta1, meta2 = adc2021.read_metadata(out1), adc2021.read_metadata(out2)
    assert meta1["n_tried"] == meta2["n_tried"] and meta1["pythia_seeds"] == meta2["pythia_seeds"]


def test_different_seed_different_events(wlnu_file, tmp_path):
    out1, _ = wlnu_file
    out2 = tmp_path / "other.h5"
    generate.generate_to_file("wlnu", 25, out2, seed=12, workers=1, job_size=25)
    assert not np.array_equal(adc2021.read_particles(out1)[:25], adc2021.read_particles(out2))


def test_interrupt_leaves_no_partial_file(tmp_path, monkeypatch):
    out = tmp_path / "int.h5"
    real = generate.run_job
    calls = []

    def interrupted(spec):
        calls.append(spec.job_index)
        if spec.job_index == 1:
            raise KeyboardInterrupt
        return real(spec)

    monkeypatch.setattr(generate, "run_job", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate.generate_to_file("wlnu", 20, out, seed=1, workers=1, job_size=10)
    assert calls == [0, 1]
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.slow  # about a minute of Pythia on a loaded 2-core machine
def test_qcd_is_weighted(tmp_path, monkeypatch):
    monkeypatch.setattr(processes, "QCD_BIAS_POWER", 4.0)  # strong bias: a fast test (~1 s per kept event)
    out = tmp_path / "qcd.h5"
    generate.generate_to_file("qcd", 2, out, seed=5, workers=1)
    parts = adc2021.read_particles(out)
    check_l1_layout(parts)
    w = adc2021.read_weights(out)
    assert w.shape == (2,) and (w > 0).all() and w.mean() == pytest.approx(1.0)
    meta = adc2021.read_metadata(out)
    assert "bias2Selection" in " ".join(meta["pythia_settings"])
    assert f"PhaseSpace:bias2SelectionPow = {processes.QCD_BIAS_POWER:g}" in meta["pythia_settings"]
    assert meta["n_effective"] == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert 0 < meta["filter_efficiency"] < 1 and "pT-hat" in meta["weights"]
    # the parton-level pre-filter ran (most events die before hadronization) and is documented
    assert 0.9 * meta["n_tried"] < meta["n_parton_vetoed"] < meta["n_tried"]
    assert meta["sigma_gen_pb"] > 1e8  # total hard-QCD cross section (pT-hat > 20 GeV), not the pre-filtered one
    pf = meta["parton_filter"]
    assert pf == processes.QCD_PARTON_FILTER.as_dict()
    assert pf["photon_pt_min_gev"] == 15.0 and 0 <= pf["loss_fraction"] < 1 and pf["loss_fraction_err"] > 0


def test_parton_filter_selects_particles():
    f = processes.PartonFilter(photon_pt_min=15.0, heavy_quark_pt_min=20.0)
    assert f.selects(22, 16.0, True) and not f.selects(22, 16.0, False) and not f.selects(22, 14.0, True)
    assert f.selects(5, 25.0, False) and f.selects(4, 21.0, True) and not f.selects(5, 19.0, True)
    assert not f.selects(21, 500.0, True) and not f.selects(1, 500.0, True) and not f.selects(11, 500.0, True)
    photons_only = processes.PartonFilter(photon_pt_min=15.0)
    assert not photons_only.selects(5, 500.0, True)
    assert photons_only.abs_ids == {22} and f.abs_ids == {4, 5, 22}


def _parton_event(*particles: tuple[int, int, float]):
    """A pythia8mc.Event with (id, status, px) particles moving along x (massless, pz = 0)."""
    import pythia8mc

    event = pythia8mc.Event()
    for pid, status, px in particles:
        event.append(pid, status, 0, 0, px, 0.0, 0.0, abs(px), 0.0)
    return event


def test_parton_filter_hook_vetoes_and_keeps():
    soft = [(21, 51, 80.0), (2, 52, -60.0), (22, 51, 10.0), (22, -51, 40.0)]  # hard photon not final
    hook = generate.make_parton_filter_hook(processes.PartonFilter(photon_pt_min=15.0, heavy_quark_pt_min=20.0))
    assert hook.canVetoPartonLevel()
    assert hook.doVetoPartonLevel(_parton_event(*soft)) is True
    assert hook.doVetoPartonLevel(_parton_event(*soft, (22, 51, -18.0))) is False
    assert hook.doVetoPartonLevel(_parton_event(*soft, (-5, 51, 25.0))) is False
    assert hook.doVetoPartonLevel(_parton_event(*soft, (4, 51, 19.0))) is True
    assert (hook.n_seen, hook.n_vetoed, hook.w_vetoed) == (4, 2, 2.0)
    assert hook.vetoed_before_pass == [(1, 1.0), (1, 1.0)]  # vetoes booked before each passing event
    assert generate._veto_bookkeeping(hook, 2) == (2.0, 1, 1.0)
    photons_only = generate.make_parton_filter_hook(processes.PartonFilter(photon_pt_min=15.0))
    assert photons_only.doVetoPartonLevel(_parton_event(*soft, (5, 51, 90.0))) is True


@pytest.mark.slow
@pytest.mark.parametrize("process", processes.SIGNALS)
def test_signals_produce_valid_files(tmp_path, process):
    out = tmp_path / f"{process}.h5"
    generate.generate_to_file(process, 40, out, seed=3, workers=1)
    check_l1_layout(adc2021.read_particles(out))
    meta = adc2021.read_metadata(out)
    assert meta["signal"] is True and meta["mass_gev"] == processes.get_process(process).default_mass


@pytest.mark.slow
def test_background_mixture_weights_carry_fractions(tmp_path):
    out = tmp_path / "bkg.h5"
    generate.generate_to_file("background", 40, out, seed=2, workers=2, job_size=20)
    parts, w = adc2021.read_particles(out), adc2021.read_weights(out)
    check_l1_layout(parts)
    meta = adc2021.read_metadata(out)
    assert sum(c["events"] for c in meta["components"].values()) == 40
    assert sum(meta["fractions"].values()) == pytest.approx(1.0)
    assert w.mean() == pytest.approx(1.0)
    sig = {k: c["sigma_filtered_pb"] for k, c in meta["components"].items()}
    assert meta["fractions"]["wlnu"] == pytest.approx(sig["wlnu"] / sum(sig.values()))


@pytest.mark.slow
def test_pileup_adds_activity(tmp_path):
    a, b = tmp_path / "nopu.h5", tmp_path / "pu.h5"
    generate.generate_to_file("zll", 30, a, seed=1, workers=1)
    generate.generate_to_file("zll", 30, b, seed=1, workers=1, pileup=20.0)
    ja = (adc2021.read_particles(a)[:, 9:, 3] > 0).sum()
    jb = (adc2021.read_particles(b)[:, 9:, 3] > 0).sum()
    assert jb > ja


def test_zero_filter_efficiency_stops_with_clear_error(monkeypatch):
    import dataclasses

    monkeypatch.setattr(generate, "MAX_TRIED_PER_KEPT", 150)
    spec = dataclasses.replace(generate.plan_jobs("zll", 5, seed=1)[0], lepton_pt_min=5000.0)
    with pytest.raises(RuntimeError, match="passed the lepton filter"):
        generate.run_job(spec)


def test_cli_generate_verb(tmp_path, capsys):
    from l1ad.cli import main

    out = tmp_path / "cli.h5"
    rc = main(
        [
            "generate",
            "--process",
            "zll",
            "--events",
            "12",
            "--seed",
            "3",
            "--workers",
            "1",
            "--job-size",
            "6",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    check_l1_layout(adc2021.read_particles(out))
    assert adc2021.read_metadata(out)["job_size"] == 6
    assert '"events": 12' in capsys.readouterr().out
    assert main(["generate", "--process", "zll", "--events", "0", "--out", str(tmp_path / "bad.h5")]) == 1
    assert not (tmp_path / "bad.h5").exists()
