"""Read, write and validate event files in the ADC2021 layout.

The layout (Govorkova et al., Sci. Data 9, 118 (2022)) is one HDF5 dataset ``Particles`` of shape
(N, 19, 4), float32. Rows: 0 MET, 1-4 e/gamma, 5-8 muons, 9-18 jets; columns pT [GeV], eta, phi, class
(1 MET, 2 e/gamma, 3 muon, 4 jet, 0 for an empty, zero-padded slot). MET has eta = 0. The public files
carry the names ``Particles_Names`` and ``Particles_Classes`` (as datasets); l1ad writes both.

l1ad adds two optional members: a dataset ``weights`` (N,) of per-event weights (biased generation)
and a JSON string attribute ``l1ad_metadata`` (generator settings, cross sections, seed, versions).

Everything read is validated: a bad file raises :class:`EventFileError` (an ``OSError``: missing,
truncated, not HDF5) or :class:`EventFormatError` (a ``ValueError``: wrong shape, dtype, NaN/inf,
phi out of range, inconsistent class codes), each naming the file and the problem. Writes are atomic.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, overload

import h5py
import numpy as np

from l1ad.data.atomic import atomic_path

__all__ = [
    "N_OBJECTS",
    "N_FEATURES",
    "N_INPUTS",
    "MET_ROW",
    "EGAMMA_ROWS",
    "MUON_ROWS",
    "JET_ROWS",
    "CLASS_EMPTY",
    "CLASS_MET",
    "CLASS_EGAMMA",
    "CLASS_MUON",
    "CLASS_JET",
    "ROW_CLASS",
    "DATASET",
    "WEIGHTS",
    "METADATA_ATTR",
    "PARTICLE_NAMES",
    "PARTICLE_CLASSES",
    "EventFileError",
    "EventFormatError",
    "ParticleWriter",
    "validate_particles",
    "count_events",
    "read_particles",
    "read_weights",
    "read_metadata",
    "iter_chunks",
    "write_particles",
    "to_flat",
    "from_flat",
    "sample_name",
]

N_OBJECTS = 19
N_FEATURES = 4  # pT, eta, phi, class
N_INPUTS = N_OBJECTS * 3  # flattened (pT, eta, phi) for models

MET_ROW = 0
EGAMMA_ROWS = slice(1, 5)
MUON_ROWS = slice(5, 9)
JET_ROWS = slice(9, 19)

CLASS_EMPTY, CLASS_MET, CLASS_EGAMMA, CLASS_MUON, CLASS_JET = 0, 1, 2, 3, 4
#: Class code expected for each of the 19 rows when the slot is filled.
ROW_CLASS = np.array([CLASS_MET] + [CLASS_EGAMMA] * 4 + [CLASS_MUON] * 4 + [CLASS_JET] * 10, dtype=np.int8)

DATASET = "Particles"
WEIGHTS = "weights"
METADATA_ATTR = "l1ad_metadata"
PARTICLE_NAMES = ("Pt", "Eta", "Phi", "Class")
PARTICLE_CLASSES = ("MET_class_1", "Four_Ele_class_2", "Four_Mu_class_3", "Ten_Jet_class_4")

#: float32 rounding of +-pi may land just outside [-pi, pi]; allowed slack.
PHI_SLACK = 1e-5


class EventFileError(OSError):
    """An event file is missing, truncated, not HDF5, or lacks the ``Particles`` dataset."""


class EventFormatError(ValueError):
    """An event file (or array) does not follow the ADC2021 layout; the message names the problem."""


def validate_particles(particles: np.ndarray, source: str = "<array>", first_event: int = 0) -> np.ndarray:
    """Check an (N, 19, 4) array against the ADC2021 layout and return it as float32.

    ``source`` and ``first_event`` only label error messages (file name, index of the first event).
    """
    arr = np.asarray(particles)
    if arr.ndim != 3 or arr.shape[1:] != (N_OBJECTS, N_FEATURES):
        raise EventFormatError(f"{source}: Particles has shape {arr.shape}, expected (N, {N_OBJECTS}, {N_FEATURES})")
    if not np.issubdtype(arr.dtype, np.floating):
        raise EventFormatError(f"{source}: Particles has dtype {arr.dtype}, expected a floating type (float32)")
    arr = arr.astype(np.float32, copy=False)

    if len(arr) == 0:
        return arr

    def fail(mask: np.ndarray, what: str) -> None:
        bad = np.flatnonzero(mask.reshape(len(arr), -1).any(axis=1))
        if bad.size:
            raise EventFormatError(
                f"{source}: {what} in {bad.size} event(s), first at event {first_event + int(bad[0])}"
            )

    fail(~np.isfinite(arr), "NaN or inf values")
    pt, eta, phi, cls = arr[..., 0], arr[..., 1], arr[..., 2], arr[..., 3]
    fail(pt < 0, "negative pT")
    fail(np.abs(phi) > np.pi + PHI_SLACK, "phi outside [-pi, pi]")
    fail(cls != np.round(cls), "non-integer class codes")
    empty = cls == CLASS_EMPTY
    fail(
        ~empty & (cls != ROW_CLASS[None, :]), "class codes that do not match their row (1 MET, 2 e/gamma, 3 mu, 4 jet)"
    )
    fail(empty & ((pt != 0) | (eta != 0) | (phi != 0)), "empty slots (class 0) with non-zero pT/eta/phi")
    fail(eta[:, MET_ROW] != 0, "MET with non-zero eta")
    return arr


def _open(path: Path) -> h5py.File:
    if not path.exists():
        raise EventFileError(f"{path}: no such event file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:  # h5py raises OSError for truncated / non-HDF5 files
        raise EventFileError(f"{path}: not a readable HDF5 file (truncated or wrong format): {exc}") from exc


def _particles_dataset(f: h5py.File, path: Path) -> h5py.Dataset:
    if DATASET not in f or not isinstance(f[DATASET], h5py.Dataset):
        raise EventFileError(f"{path}: no '{DATASET}' dataset (found: {sorted(f.keys())})")
    ds = f[DATASET]
    if ds.ndim != 3 or ds.shape[1:] != (N_OBJECTS, N_FEATURES):
        raise EventFormatError(f"{path}: Particles has shape {ds.shape}, expected (N, {N_OBJECTS}, {N_FEATURES})")
    if not np.issubdtype(ds.dtype, np.floating):
        raise EventFormatError(f"{path}: Particles has dtype {ds.dtype}, expected a floating type (float32)")
    return ds


def _read_block(ds: h5py.Dataset, path: Path, start: int, stop: int) -> np.ndarray:
    try:
        return ds[start:stop]
    except OSError as exc:  # data missing from a truncated file
        raise EventFileError(f"{path}: events {start}..{stop} cannot be read (truncated file?): {exc}") from exc


def count_events(path: str | os.PathLike) -> int:
    """Number of events in an event file."""
    path = Path(path)
    with _open(path) as f:
        return int(_particles_dataset(f, path).shape[0])


def read_particles(
    path: str | os.PathLike, start: int = 0, stop: int | None = None, validate: bool = True
) -> np.ndarray:
    """Read events [start, stop) of ``Particles`` as a validated float32 (N, 19, 4) array."""
    path = Path(path)
    with _open(path) as f:
        ds = _particles_dataset(f, path)
        stop = ds.shape[0] if stop is None else min(stop, ds.shape[0])
        arr = _read_block(ds, path, start, stop)
    return validate_particles(arr, str(path), start) if validate else arr.astype(np.float32, copy=False)


def read_weights(path: str | os.PathLike, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Per-event weights of events [start, stop): the ``weights`` dataset, or ones when absent."""
    path = Path(path)
    with _open(path) as f:
        n = _particles_dataset(f, path).shape[0]
        stop = n if stop is None else min(stop, n)
        if WEIGHTS not in f:
            return np.ones(stop - start, dtype=np.float64)
        w = f[WEIGHTS]
        if w.shape != (n,):
            raise EventFormatError(f"{path}: weights has shape {w.shape}, expected ({n},)")
        out = np.asarray(_read_block(w, path, start, stop), dtype=np.float64)
    if not np.all(np.isfinite(out)) or np.any(out < 0):
        raise EventFormatError(f"{path}: weights contain NaN/inf or negative values")
    return out


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The ``l1ad_metadata`` JSON attribute of an event file ({} for files without it)."""
    path = Path(path)
    with _open(path) as f:
        raw = f.attrs.get(METADATA_ATTR)
    if raw is None:
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EventFormatError(f"{path}: attribute {METADATA_ATTR} is not valid JSON: {exc}") from exc


@overload
def iter_chunks(
    path: str | os.PathLike, chunk_size: int = ..., validate: bool = ..., with_weights: Literal[False] = ...
) -> Iterator[np.ndarray]: ...


@overload
def iter_chunks(
    path: str | os.PathLike, chunk_size: int = ..., validate: bool = ..., *, with_weights: Literal[True]
) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...


def iter_chunks(
    path: str | os.PathLike, chunk_size: int = 100_000, validate: bool = True, with_weights: bool = False
) -> Iterator[np.ndarray] | Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream a file in chunks of at most ``chunk_size`` events (memory stays bounded).

    Yields (chunk, weights) pairs when ``with_weights`` is true, else the chunks alone.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    path = Path(path)
    with _open(path) as f:
        ds = _particles_dataset(f, path)
        w = f[WEIGHTS] if WEIGHTS in f else None
        for start in range(0, ds.shape[0], chunk_size):
            stop = min(start + chunk_size, ds.shape[0])
            arr = _read_block(ds, path, start, stop)
            arr = validate_particles(arr, str(path), start) if validate else arr.astype(np.float32, copy=False)
            if with_weights:
                weights = np.ones(stop - start) if w is None else np.asarray(_read_block(w, path, start, stop), float)
                yield arr, weights
            else:
                yield arr


def _write_header(f: h5py.File, metadata: dict[str, Any] | None) -> None:
    f.create_dataset("Particles_Names", data=np.array(PARTICLE_NAMES, dtype="S"))
    f.create_dataset("Particles_Classes", data=np.array(PARTICLE_CLASSES, dtype="S"))
    f.attrs[METADATA_ATTR] = json.dumps(metadata or {}, sort_keys=True, default=str)


def write_particles(
    path: str | os.PathLike,
    particles: np.ndarray,
    weights: np.ndarray | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Validate and write events atomically (temporary file, then rename). Returns the path."""
    path = Path(path)
    arr = validate_particles(particles, f"writing {path}")
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(arr),):
            raise EventFormatError(f"writing {path}: weights shape {weights.shape} != ({len(arr)},)")
    with ParticleWriter(path, metadata=metadata, weighted=weights is not None) as writer:
        writer.append(arr, weights)
    return path


class ParticleWriter:
    """Append events chunk by chunk to a new file; the file appears only when the writer closes cleanly.

    Use as a context manager. On an exception (e.g. KeyboardInterrupt) the temporary file is removed and
    any earlier file at ``path`` is left untouched.
    """

    def __init__(self, path: str | os.PathLike, metadata: dict[str, Any] | None = None, weighted: bool = False):
        self.path = Path(path)
        self.metadata = dict(metadata or {})
        self.weighted = weighted
        self.n_events = 0
        self._atomic = atomic_path(self.path)
        self._file: h5py.File | None = None

    def __enter__(self) -> ParticleWriter:
        tmp = self._atomic.__enter__()
        self._file = h5py.File(tmp, "w")
        _write_header(self._file, self.metadata)
        self._file.create_dataset(
            DATASET,
            shape=(0, N_OBJECTS, N_FEATURES),
            maxshape=(None, N_OBJECTS, N_FEATURES),
            dtype=np.float32,
            chunks=(min(4096, 1 << 12), N_OBJECTS, N_FEATURES),
            compression="gzip",
            compression_opts=4,
        )
        if self.weighted:
            self._file.create_dataset(WEIGHTS, shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(4096,))
        return self

    def append(self, particles: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Validate and append a chunk of events (and their weights, for a weighted writer)."""
        assert self._file is not None, "ParticleWriter.append outside its with-block"
        arr = validate_particles(particles, f"writing {self.path}", self.n_events)
        if self.weighted != (weights is not None):
            raise ValueError(f"writing {self.path}: weights must be given iff the writer is weighted")
        n0, n1 = self.n_events, self.n_events + len(arr)
        ds = self._file[DATASET]
        ds.resize(n1, axis=0)
        ds[n0:n1] = arr
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != (len(arr),):
                raise EventFormatError(f"writing {self.path}: weights shape {w.shape} != ({len(arr)},)")
            self._file[WEIGHTS].resize(n1, axis=0)
            self._file[WEIGHTS][n0:n1] = w
        self.n_events = n1

    def update_metadata(self, **items: Any) -> None:
        """Add entries to the file's metadata (e.g. filter efficiency known only at the end)."""
        assert self._file is not None
        self.metadata.update(items)
        self._file.attrs[METADATA_ATTR] = json.dumps(self.metadata, sort_keys=True, default=str)

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self._file is not None
        self._file.close()
        self._file = None
        return self._atomic.__exit__(exc_type, exc, tb)


def to_flat(particles: np.ndarray) -> np.ndarray:
    """(N, 19, 4) events -> (N, 57) model view: (pT, eta, phi) of each row, row-major."""
    arr = np.asarray(particles)
    if arr.ndim != 3 or arr.shape[1:] != (N_OBJECTS, N_FEATURES):
        raise EventFormatError(f"to_flat: expected (N, {N_OBJECTS}, {N_FEATURES}), got {arr.shape}")
    return np.ascontiguousarray(arr[..., :3]).reshape(len(arr), N_INPUTS)


def from_flat(flat: np.ndarray) -> np.ndarray:
    """(N, 57) model view -> (N, 19, 4) events, class codes rebuilt from the row (0 where pT == 0)."""
    arr = np.asarray(flat, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != N_INPUTS:
        raise EventFormatError(f"from_flat: expected (N, {N_INPUTS}), got {arr.shape}")
    out = np.zeros((len(arr), N_OBJECTS, N_FEATURES), dtype=np.float32)
    out[..., :3] = arr.reshape(len(arr), N_OBJECTS, 3)
    filled = out[..., 0] > 0
    filled[:, MET_ROW] = True
    out[..., 3] = np.where(filled, ROW_CLASS[None, :], CLASS_EMPTY)
    return out


_SAMPLE_SUFFIXES = re.compile(r"(_lepFilter)?(_13TeV)?(_filtered)?$", re.IGNORECASE)


def sample_name(path: str | os.PathLike) -> str:
    """Sample name from a file name, e.g. ``Ato4l_lepFilter_13TeV_filtered.h5`` -> ``Ato4l``."""
    stem = Path(path).name
    for ext in (".hdf5", ".h5"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
    return _SAMPLE_SUFFIXES.sub("", stem) or stem
