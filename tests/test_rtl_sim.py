"""cocotb tests of the trigger firmware on Verilator (sim/test_trigger.py), driven from pytest via l1ad.rtl.simulate.

Fast default: a small encoder (57 -> 8 -> 6, kl score: table lookups and multipliers) on ~1.5k vectors.
Icarus (when installed) runs the same testbench on a small mu2 design.
Slow (``-m slow``): the default-size encoder (57 -> 32 -> 16 -> 6) with each score on >= 1e4 vectors
(corner cases, Pythia W -> l nu and A -> 4l events, random codes).
Verilator builds are cached between sessions in ``$L1AD_SIM_CACHE`` (default: <tmp>/l1ad-sim-cache),
keyed by a hash of the sources, so each design is verilated once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from l1ad.fixed import scores
from l1ad.fixed.vectors import verification_codes
from l1ad.pipeline.verification import verify_backend
from l1ad.rtl import simulate as runner
from l1ad.rtl.example import example_model
from l1ad.rtl.generate import generate_rtl
from l1ad.rtl.vectors import write_sim_vectors

SIM_CACHE = Path(os.environ.get("L1AD_SIM_CACHE", Path(tempfile.gettempdir()) / "l1ad-sim-cache"))


def small_model():
    return example_model("kl", sizes=(57, 8), sparsity=0.5, seed=3, name="small-kl")


@pytest.fixture(scope="module")
def small_design(tmp_path_factory):
    return generate_rtl(small_model(), tmp_path_factory.mktemp("rtl") / "small-kl")


@pytest.fixture(scope="module")
def small_run(small_design, tmp_path_factory):
    model = small_model()
    vectors = write_sim_vectors(
        model, verification_codes(model, 1500, seed=2), tmp_path_factory.mktemp("vec") / "v.npz"
    )
    return runner.run_tests(small_design.path, SIM_CACHE / "small-kl", vectors)


def test_bit_accuracy(small_run):
    assert small_run.passed.get("test_bit_accuracy"), small_run.log
    bit = small_run.summary["bit_accuracy"]
    assert bit["compared"] == bit["vectors"] == 1500
    assert bit["score_mismatches"] == 0 and bit["trigger_mismatches"] == 0
    assert 0 < bit["triggers_fired"] < 1500  # thresholds exercise both outcomes


def test_latency_matches_metadata(small_run, small_design):
    assert small_run.passed.get("test_latency"), small_run.log
    lat = small_run.summary["latency"]
    assert lat["measured_cycles"] == small_design.latency  # the core registers score and trigger: no wrapper stage
    assert lat["bubbles"] == 0 and lat["burst_outputs"] == lat["burst_events"] == 64


def test_reset_mid_stream(small_run):
    assert small_run.passed.get("test_reset_mid_stream"), small_run.log
    rst = small_run.summary["reset_mid_stream"]
    assert rst["events_in_flight_at_reset"] > 0 and rst["spurious_outputs"] == 0


def test_threshold_change(small_run):
    assert small_run.passed.get("test_threshold_change"), small_run.log
    tc = small_run.summary["threshold_change"]
    assert tc["trigger_mismatches"] == 0 and 0 < tc["fired"] < tc["events"]


def test_scoreboard_catches_a_wrong_score(small_design, tmp_path):
    """Corrupt one golden score in the vectors: the bit-accuracy test must fail, naming that event."""
    model = small_model()
    path = write_sim_vectors(model, verification_codes(model, 300, seed=4), tmp_path / "v.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["score"][150] += 1
    np.savez(path, **arrays)
    result = runner.run_tests(small_design.path, SIM_CACHE / "small-kl", path, tests=["test_bit_accuracy"])
    assert result.passed == {"test_bit_accuracy": False}
    assert result.summary["bit_accuracy"]["score_mismatches"] == 1


def test_rtl_backend_stage(tmp_path):
    """The verify stage of the RTL backend: golden == RTL score and trigger codes, cocotb checks, latency in ns."""
    model = small_model()
    codes = verification_codes(model, 200, seed=5)
    stage = verify_backend("rtl", model, codes, tmp_path / "rtl")
    assert stage["ok"], stage
    assert stage["score"] == {"vectors": 200, "mismatched_vectors": 0, "mismatched_values": 0, "first_mismatch": None}
    assert stage["trigger"]["vectors"] == 200 and stage["trigger"]["mismatched_values"] == 0
    assert set(stage["checks"]) == set(runner.TESTS) and all(stage["checks"].values())
    assert stage["latency_cycles"] == stage["report"]["latency_cycles"]
    assert stage["latency_ns"] == pytest.approx(stage["latency_cycles"] * 5.0)


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed")
def test_icarus_second_simulator(tmp_path):
    """The same testbench on Icarus (mu2: Icarus 11 rejects the attribute expression in da4ml's lookup_table.v)."""
    model = example_model("mu2", sizes=(57, 8), sparsity=0.5, seed=3, name="small-mu2")
    design = generate_rtl(model, tmp_path / "small-mu2")
    vectors = write_sim_vectors(model, verification_codes(model, 300, seed=6), tmp_path / "v.npz")
    result = runner.run_tests(design.path, SIM_CACHE / "small-mu2-icarus", vectors, simulator="icarus")
    assert result.ok, (result.passed, result.log)
    assert result.summary["bit_accuracy"]["score_mismatches"] == 0
    assert result.summary["latency"]["measured_cycles"] == design.latency


@pytest.fixture(scope="module")
def physics_codes(tmp_path_factory):
    """Input codes of Pythia events (W -> l nu background + A -> 4l signal), with a fitted InputFormat."""
    from l1ad.data.adc2021 import read_particles
    from l1ad.data.generate import generate_to_file
    from l1ad.data.preprocess import InputFormat, as_flat

    work = tmp_path_factory.mktemp("events")
    events = []
    for process, n in (("wlnu", 600), ("ato4l", 400)):
        generate_to_file(process, n, work / f"{process}.h5", seed=11, workers=1)
        events.append(read_particles(work / f"{process}.h5"))
    flat = as_flat(np.concatenate(events))
    return InputFormat.fit(flat[: len(events[0])]).to_codes(flat)


@pytest.mark.slow
@pytest.mark.parametrize("kind", scores.names())
def test_default_model_full(kind, tmp_path, physics_codes):
    """Default-size encoder, 1e4 vectors (corner cases + Pythia events + random), all four cocotb tests."""
    model = example_model(kind)
    design = generate_rtl(model, tmp_path / f"example-{kind}")
    codes = verification_codes(model, 10_000, data=physics_codes, seed=7)
    vectors = write_sim_vectors(model, codes, tmp_path / "v.npz")
    result = runner.run_tests(design.path, SIM_CACHE / f"example-{kind}", vectors)
    assert result.ok, (result.passed, result.log)
    bit = result.summary["bit_accuracy"]
    assert bit["compared"] == 10_000 and bit["score_mismatches"] == 0 and bit["trigger_mismatches"] == 0
    assert result.summary["latency"]["measured_cycles"] == design.latency


def test_student_regressor_rtl(tmp_path):
    """A teacher-student regressor (one output, no logvar) with the student score: RTL == golden, all tests."""
    model = example_model(
        "student", sizes=(57, 8), latent=1, sparsity=0.5, seed=5, name="small-student", variational=False
    )
    stage = verify_backend("rtl", model, verification_codes(model, 300, seed=3), tmp_path / "rtl")
    assert stage["ok"], stage
    assert stage["score"]["mismatched_values"] == 0 and stage["trigger"]["mismatched_values"] == 0


def test_student_with_lepton_count_term_rtl(tmp_path):
    """The default trigger's form: regressor + table[lepton count] (a count term): Verilog on Verilator == golden."""
    from dataclasses import replace

    from l1ad.fixed.scores import CountTerm, make_score

    model = example_model("student", sizes=(57, 8), latent=1, sparsity=0.5, seed=6, name="count", variational=False)
    pt = (3, 6, 9, 12, 15, 18, 21, 24)
    term = CountTerm(pt, (0, -5, 0, 0, 3, 0, 0, 0), np.array([0, 2, 30, 90, 400, 700, 1000, 1300, 1600]))
    model = replace(model, score=make_score("student", 1, model.latent_format, count=term))
    codes = verification_codes(model, 400, seed=4)
    rng = np.random.default_rng(4)
    empty = rng.random((len(codes), len(pt))) < rng.random((len(codes), 1))  # every lepton count occurs
    codes[:, list(pt)] = np.where(empty, np.asarray(term.empty), codes[:, list(pt)])
    assert len(np.unique(term.counts(codes))) == 9
    stage = verify_backend("rtl", model, codes, tmp_path / "rtl")
    assert stage["ok"], stage
    assert stage["score"]["mismatched_values"] == 0 and stage["trigger"]["mismatched_values"] == 0
