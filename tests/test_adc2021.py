"""ADC2021 event I/O: round trips, validation of every kind of bad input, chunked reading, atomic writes."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from l1ad.data import adc2021
from l1ad.data.adc2021 import EventFileError, EventFormatError


def make_events(n: int, seed: int = 0) -> np.ndarray:
    """Valid random events: MET always present, a random number of filled slots per type, zero padding."""
    rng = np.random.default_rng(seed)
    ev = np.zeros((n, 19, 4), dtype=np.float32)
    ev[:, 0, 0] = rng.exponential(30, n)
    ev[:, 0, 2] = rng.uniform(-np.pi, np.pi, n)
    ev[:, 0, 3] = 1
    for rows, cls, eta_max in ((range(1, 5), 2, 3.0), (range(5, 9), 3, 2.1), (range(9, 19), 4, 4.0)):
        rows = list(rows)
        n_filled = rng.integers(0, len(rows) + 1, n)
        for k, row in enumerate(rows):
            filled = n_filled > k
            ev[filled, row, 0] = rng.exponential(40, filled.sum()) + 3
            ev[filled, row, 1] = rng.uniform(-eta_max, eta_max, filled.sum())
            ev[filled, row, 2] = rng.uniform(-np.pi, np.pi, filled.sum())
            ev[filled, row, 3] = cls
    return ev


def test_round_trip_exact(tmp_path):
    ev = make_events(500)
    w = np.random.default_rng(1).uniform(0.5, 2, 500)
    path = adc2021.write_particles(tmp_path / "bkg.h5", ev, weights=w, metadata={"process": "test", "seed": 3})
    np.testing.assert_array_equal(adc2021.read_particles(path), ev)
    np.testing.assert_array_equal(adc2021.read_weights(path), w)
    assert adc2021.read_metadata(path) == {"process": "test", "seed": 3}
    assert adc2021.count_events(path) == 500
    with h5py.File(path) as f:
        assert f["Particles"].dtype == np.float32
        assert [n.decode() for n in f["Particles_Names"][:]] == ["Pt", "Eta", "Phi", "Class"]
        assert len(f["Particles_Classes"]) == 4


def test_unweighted_file_has_unit_weights(tmp_path):
    path = adc2021.write_particles(tmp_path / "a.h5", make_events(10))
    np.testing.assert_array_equal(adc2021.read_weights(path), np.ones(10))


def test_read_public_style_file_without_l1ad_extras(tmp_path):
    """A file holding only `Particles` (as the public *_filtered.h5 files) reads fine."""
    ev = make_events(20)
    path = tmp_path / "Ato4l_lepFilter_13TeV_filtered.h5"
    with h5py.File(path, "w") as f:
        f["Particles"] = ev
    np.testing.assert_array_equal(adc2021.read_particles(path), ev)
    assert adc2021.read_metadata(path) == {}
    assert adc2021.sample_name(path) == "Ato4l"
    assert adc2021.sample_name("background_for_training.h5") == "background_for_training"


def test_chunked_read_equals_full_read(tmp_path):
    ev = make_events(1050)
    w = np.arange(1050, dtype=float)
    path = adc2021.write_particles(tmp_path / "c.h5", ev, weights=w)
    chunks = list(adc2021.iter_chunks(path, chunk_size=100))
    assert [len(c) for c in chunks] == [100] * 10 + [50]
    np.testing.assert_array_equal(np.concatenate(chunks), ev)
    pairs = list(adc2021.iter_chunks(path, chunk_size=400, with_weights=True))
    np.testing.assert_array_equal(np.concatenate([p[1] for p in pairs]), w)
    with pytest.raises(ValueError, match="chunk_size"):
        next(adc2021.iter_chunks(path, chunk_size=0))


def test_partial_read(tmp_path):
    ev = make_events(100)
    path = adc2021.write_particles(tmp_path / "p.h5", ev)
    np.testing.assert_array_equal(adc2021.read_particles(path, 10, 30), ev[10:30])


def test_flat_view_round_trip():
    ev = make_events(50)
    flat = adc2021.to_flat(ev)
    assert flat.shape == (50, 57)
    np.testing.assert_array_equal(flat[:, 3:6], ev[:, 1, :3])
    np.testing.assert_array_equal(adc2021.from_flat(flat), ev)
    with pytest.raises(EventFormatError, match="57"):
        adc2021.from_flat(np.zeros((3, 56)))


def _write_raw(path, data, **extra):
    with h5py.File(path, "w") as f:
        f.create_dataset("Particles", data=data)
        for k, v in extra.items():
            f.create_dataset(k, data=v)
    return path


def _corrupt(ev: np.ndarray, event: int, row: int, col: int, value: float) -> np.ndarray:
    bad = ev.copy()
    bad[event, row, col] = value
    return bad


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda ev: _corrupt(ev, 7, 3, 0, np.nan), "NaN or inf.*event 7"),
        (lambda ev: _corrupt(ev, 2, 0, 0, np.inf), "NaN or inf.*event 2"),
        (lambda ev: _corrupt(ev, 4, 9, 2, 3.5), r"phi outside \[-pi, pi\].*event 4"),
        (lambda ev: _corrupt(ev, 1, 1, 3, 3), "class codes that do not match their row"),
        (lambda ev: _corrupt(ev, 1, 0, 3, 4), "class codes that do not match their row"),
        (lambda ev: _corrupt(ev, 5, 12, 3, 2.5), "non-integer class codes"),
        (lambda ev: _corrupt(ev, 3, 0, 0, -1.0), "negative pT"),
        (lambda ev: _corrupt(ev, 6, 0, 1, 0.7), "MET with non-zero eta"),
        (lambda ev: ev[:, :18], r"shape \(30, 18, 4\)"),
        (lambda ev: ev.reshape(30, 76), r"shape \(30, 76\)"),
        (lambda ev: ev.astype(np.int32), "dtype int32"),
    ],
)
def test_validation_names_the_problem(tmp_path, mutate, message):
    ev = make_events(30, seed=2)
    ev[:, 18] = 0  # make row 18 empty so that the empty-slot corruption below is meaningful
    path = _write_raw(tmp_path / "bad.h5", mutate(ev))
    with pytest.raises(EventFormatError, match=message) as info:
        adc2021.read_particles(path)
    assert "bad.h5" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_empty_slot_with_values_is_rejected(tmp_path):
    ev = make_events(10)
    ev[:, 18] = 0
    ev[3, 18, 0] = 12.0  # pT but class 0
    with pytest.raises(EventFormatError, match="empty slots"):
        adc2021.read_particles(_write_raw(tmp_path / "e.h5", ev))


def test_missing_file(tmp_path):
    with pytest.raises(EventFileError, match="no such event file") as info:
        adc2021.read_particles(tmp_path / "nope.h5")
    assert isinstance(info.value, OSError)


def test_not_hdf5(tmp_path):
    path = tmp_path / "text.h5"
    path.write_text("this is not HDF5\n" * 100)
    with pytest.raises(EventFileError, match="not a readable HDF5 file"):
        adc2021.read_particles(path)


def test_truncated_file(tmp_path):
    path = adc2021.write_particles(tmp_path / "t.h5", make_events(5000))
    data = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(EventFileError, match="cut.h5"):
        adc2021.read_particles(cut)


def test_missing_dataset(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["jets"] = np.zeros((3, 4))
    with pytest.raises(EventFileError, match="no 'Particles' dataset"):
        adc2021.read_particles(path)


def test_bad_weights_rejected(tmp_path):
    ev = make_events(10)
    path = _write_raw(tmp_path / "w.h5", ev, weights=np.full(10, np.nan))
    with pytest.raises(EventFormatError, match="weights"):
        adc2021.read_weights(path)
    path = _write_raw(tmp_path / "w2.h5", ev, weights=np.ones(9))
    with pytest.raises(EventFormatError, match="weights has shape"):
        adc2021.read_weights(path)


def test_write_rejects_invalid_events_and_leaves_no_file(tmp_path):
    ev = make_events(10)
    ev[2, 4, 1] = np.nan
    target = tmp_path / "out.h5"
    with pytest.raises(EventFormatError, match="NaN"):
        adc2021.write_particles(target, ev)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_streaming_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "stream.h5"
    adc2021.write_particles(target, make_events(3))  # an earlier complete file
    with pytest.raises(KeyboardInterrupt):
        with adc2021.ParticleWriter(target, metadata={"a": 1}) as writer:
            writer.append(make_events(100))
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stream.h5"]
    assert adc2021.count_events(target) == 3  # the earlier file is untouched


def test_streaming_writer_appends_and_updates_metadata(tmp_path):
    target = tmp_path / "s.h5"
    a, b = make_events(70, 1), make_events(30, 2)
    with adc2021.ParticleWriter(target, metadata={"process": "x"}, weighted=True) as writer:
        writer.append(a, np.ones(70))
        writer.append(b, np.full(30, 2.0))
        writer.update_metadata(filter_efficiency=0.25)
        with pytest.raises(ValueError, match="weights must be given"):
            writer.append(a)
    np.testing.assert_array_equal(adc2021.read_particles(target), np.concatenate([a, b]))
    assert adc2021.read_weights(target).sum() == 130
    assert adc2021.read_metadata(target) == {"process": "x", "filter_efficiency": 0.25}


def test_empty_file_round_trip(tmp_path):
    path = adc2021.write_particles(tmp_path / "empty.h5", np.zeros((0, 19, 4), dtype=np.float32))
    assert adc2021.read_particles(path).shape == (0, 19, 4)
    assert adc2021.count_events(path) == 0
    assert list(adc2021.iter_chunks(path)) == []
