"""Streaming over HDF5 chunks and the Dask path give exactly the in-memory result; file errors are clear."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from synthetic_events import background, signal

from l1ad.data.adc2021 import EventFileError, EventFormatError, write_particles
from l1ad.rates.emulate import DEFAULT_TARGET_RATES_HZ
from l1ad.rates.menu import BaselineMenu
from l1ad.rates.stream import dask_histograms, histogram_events, plan_blocks, stream_histograms
from l1ad.rates.summary import summarize

MENU = BaselineMenu(single_egamma_pt=30, single_muon_pt=20, double_muon_pt=(12, 6), ht=200, met=60)


def ht_score(particles: np.ndarray) -> np.ndarray:
    """A model-free integer score: floor of 4 x (sum of all pT) (module-level: picklable for Dask processes)."""
    return np.floor(4 * particles[..., 0].sum(axis=1, dtype=np.float64)).astype(np.int64)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("rates_stream")
    bkg = [background(1500, seed=11), background(900, seed=12)]
    rng = np.random.default_rng(0)
    weights = [rng.lognormal(0, 2, len(b)) for b in bkg]
    paths = [write_particles(d / f"bkg{i}.h5", b, w) for i, (b, w) in enumerate(zip(bkg, weights, strict=True))]
    sig = signal(700, seed=13)
    sig_path = write_particles(d / "sig.h5", sig)
    return {
        "bkg_paths": paths,
        "bkg": np.concatenate(bkg),
        "weights": np.concatenate(weights),
        "sig_path": sig_path,
        "sig": sig,
        "dir": d,
    }


def test_chunked_equals_in_memory_exactly(files):
    in_memory = histogram_events(files["bkg"], ht_score, files["weights"], MENU)
    streamed = stream_histograms(files["bkg_paths"], ht_score, MENU, chunk_size=97, progress=False)
    assert streamed == in_memory
    sig_mem = histogram_events(files["sig"], ht_score, None, MENU)
    sig_stream = stream_histograms([files["sig_path"]], ht_score, MENU, chunk_size=64, progress=False)
    assert sig_stream == sig_mem
    a = summarize(in_memory, {"sig": sig_mem}, DEFAULT_TARGET_RATES_HZ, menu=MENU)
    b = summarize(streamed, {"sig": sig_stream}, DEFAULT_TARGET_RATES_HZ, menu=MENU)
    assert a == b  # every threshold, rate, uncertainty, efficiency and pure rate identical
    assert [t["threshold"] for t in a["targets"]] == sorted((t["threshold"] for t in a["targets"]), reverse=True)
    # the histogram really is the weighted distribution of the scores
    scores = ht_score(files["bkg"])
    assert in_memory.scores.n_events == 2400
    assert in_memory.scores.above(400)[0] == pytest.approx(files["weights"][scores > 400].sum(), rel=1e-12)
    rejected = ~MENU.accepts(files["bkg"])
    assert in_memory.menu_rejected.n_events == int(rejected.sum())


def test_chunk_size_does_not_change_the_result(files):
    results = [
        stream_histograms(files["bkg_paths"], ht_score, None, chunk_size=c, progress=False) for c in (1000, 333, 5000)
    ]
    assert results[0] == results[1] == results[2]
    assert results[0].menu_rejected is None


def test_dask_threads_equals_in_process_exactly(files):
    streamed = stream_histograms(files["bkg_paths"], ht_score, MENU, chunk_size=500, progress=False)
    dasked = dask_histograms(files["bkg_paths"], ht_score, MENU, chunk_size=211, scheduler="threads", num_workers=2)
    assert dasked == streamed


def test_dask_processes_equals_in_process_exactly(files):
    streamed = stream_histograms([files["sig_path"]], ht_score, MENU, chunk_size=700, progress=False)
    dasked = dask_histograms([files["sig_path"]], ht_score, MENU, chunk_size=300, scheduler="processes", num_workers=2)
    assert dasked == streamed


def test_plan_blocks(files):
    blocks = plan_blocks(files["bkg_paths"], 1000)
    assert [(s, e) for _, s, e in blocks] == [(0, 1000), (1000, 1500), (0, 900)]


def test_empty_missing_duplicate_and_bad_files_give_clear_errors(files, tmp_path):
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.create_dataset("Particles", shape=(0, 19, 4), dtype=np.float32)
    with pytest.raises(EventFormatError, match="empty.h5: empty sample"):
        stream_histograms([empty], ht_score, progress=False)
    with pytest.raises(EventFormatError, match="empty sample"):
        dask_histograms([files["sig_path"], empty], ht_score, scheduler="synchronous")
    with pytest.raises(EventFileError, match="no such event file"):
        stream_histograms([tmp_path / "missing.h5"], ht_score, progress=False)
    truncated = tmp_path / "trunc.h5"
    truncated.write_bytes(files["sig_path"].read_bytes()[:2000])
    with pytest.raises(EventFileError, match="trunc.h5"):
        stream_histograms([truncated], ht_score, progress=False)
    with pytest.raises(ValueError, match="more than once"):
        stream_histograms([files["sig_path"], files["sig_path"]], ht_score, progress=False)
    with pytest.raises(ValueError, match="no event files"):
        stream_histograms([], ht_score, progress=False)
    nan_score = lambda ev: np.full(len(ev), np.nan)  # noqa: E731
    with pytest.raises(ValueError, match=r"sig.h5 events 0..100: score function output: NaN"):
        stream_histograms([files["sig_path"]], nan_score, chunk_size=100, progress=False)
    short_score = lambda ev: np.zeros(len(ev) - 1, np.int64)  # noqa: E731
    with pytest.raises(ValueError, match="699 scores for 700 events"):
        stream_histograms([files["sig_path"]], short_score, progress=False)
    bad_weights = tmp_path / "badw.h5"
    write_particles(bad_weights, files["sig"][:10], np.ones(10))
    with h5py.File(bad_weights, "r+") as f:
        f["weights"][3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        stream_histograms([bad_weights], ht_score, progress=False)
