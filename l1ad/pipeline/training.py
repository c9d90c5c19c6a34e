"""Training as a pipeline step: a background event file in, a complete run directory out."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from l1ad.data import adc2021
from l1ad.models.config import ModelConfig
from l1ad.models.store import Run, load_run, score_sample, write_run
from l1ad.models.train import configure_tensorflow, split_indices, train_models
from l1ad.rundir import RunDir

__all__ = ["train", "open_run"]


def open_run(path: str | os.PathLike | RunDir | Run, hls_root: Path | None = None, rtl_root: Path | None = None) -> Run:
    """The run at ``path`` (a directory written by :func:`train`), with optional firmware roots."""
    if isinstance(path, Run):
        run_dir = path.dir
    else:
        run_dir = path if isinstance(path, RunDir) else RunDir(Path(path))
    return load_run(run_dir.with_roots(hls_root, rtl_root))


def train(
    data: str | os.PathLike,
    out: str | os.PathLike | RunDir,
    config: ModelConfig | None = None,
    signals: Sequence[str | os.PathLike] = (),
    progress: bool = True,
    overwrite: bool = False,
    threads: int | None = 1,
) -> Run:
    """Train the float and quantized models on background events and write the run directory ``out``.

    The background's test split and every signal file are scored (float and quantized model) into the run's
    ``scores/``. The directory appears only when complete. Deterministic for a given seed and machine.
    """
    cfg = config or ModelConfig()
    run_dir = out if isinstance(out, RunDir) else RunDir(Path(out))
    run_dir.check_writable(overwrite)
    configure_tensorflow(cfg.seed, threads)
    t0 = time.perf_counter()
    particles = adc2021.read_particles(data, stop=cfg.max_events)
    bkg_weights = adc2021.read_weights(data, stop=cfg.max_events)
    split = split_indices(len(particles), cfg)
    trained = train_models(
        cfg, particles[split["train"]], particles[split["val"]], progress, train_weights=bkg_weights[split["train"]]
    )
    test_idx = split["test"] if len(split["test"]) else split["val"]
    samples: dict[str, tuple[np.ndarray, np.ndarray]] = {"background": (particles[test_idx], bkg_weights[test_idx])}
    for sig in signals:
        name = adc2021.sample_name(sig)
        if name in samples:
            raise ValueError(f"two samples named {name!r} (from {sig})")
        samples[name] = (adc2021.read_particles(sig), adc2021.read_weights(sig))
    t1 = time.perf_counter()
    scores = {name: score_sample(trained, ev, w) for name, (ev, w) in samples.items()}
    scores["background"]["event_index"] = test_idx.astype(np.int64)
    trained.timings["scoring_s"] = time.perf_counter() - t1
    trained.timings["total_s"] = time.perf_counter() - t0
    data_files = {"background": data, **{adc2021.sample_name(s): s for s in signals}}
    split_sizes = {k: int(len(v)) for k, v in split.items()}
    return load_run(write_run(run_dir, trained, scores, data_files, split_sizes=split_sizes, overwrite=overwrite))
