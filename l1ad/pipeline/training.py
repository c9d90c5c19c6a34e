"""Training as a pipeline step: a background event file in, a complete run directory out."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from l1ad.data import adc2021
from l1ad.models.config import ModelConfig
from l1ad.models.store import Run, load_run, save_student, score_sample, student_scores, write_run
from l1ad.models.train import TrainedModels, configure_tensorflow, split_indices, train_models, train_student
from l1ad.rundir import RunDir

__all__ = ["train", "retrain_student", "open_run"]

#: Files of a run that a new teacher-student regressor leaves as they are (the VAE, its inputs, its training).
TEACHER_FILES = (
    "input_format.json",
    "reconstruction_target.json",
    "encoder.h5",
    "decoder.h5",
    "model.h5",
    "float_model.h5",
)


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


def retrain_student(
    teacher: str | os.PathLike | RunDir | Run,
    out: str | os.PathLike | RunDir,
    config: ModelConfig | None = None,
    progress: bool = True,
    overwrite: bool = False,
    threads: int | None = 1,
) -> Run:
    """A new run ``out`` with the VAE of ``teacher`` (the teacher, copied as it is) and a teacher-student regressor
    trained anew with the student settings (``student_*``) of ``config`` (default: the current defaults).

    Everything else (the VAE's settings, seed, training events and split) is the teacher run's, so tuning the
    trigger score costs the regressor's training alone. The run's saved scores get the new student's.
    """
    src = open_run(teacher)
    if src.float_model is None:
        raise ValueError(f"{src.path}: no float model (float_model.h5): the teacher-student regressor needs it")
    settings = config or ModelConfig()
    student_fields = {f.name: getattr(settings, f.name) for f in dataclasses.fields(ModelConfig)}
    student_fields = {k: v for k, v in student_fields.items() if k.startswith("student_")}
    cfg = dataclasses.replace(src.config, student=True, **student_fields)
    data = src.data_file("background")
    if data is None:
        raise FileNotFoundError(f"{src.path}: the teacher's training background (metadata.json) is not there")
    configure_tensorflow(cfg.seed, threads)
    particles = adc2021.read_particles(data, stop=cfg.max_events)
    weights = adc2021.read_weights(data, stop=cfg.max_events)
    split = split_indices(len(particles), cfg)
    float_model = src.float_model
    trained = TrainedModels(
        cfg,
        src.input_format,
        src.encoder,
        src.decoder,
        float_model.get_layer("encoder"),
        float_model.get_layer("decoder"),
        dict(src.history),
        {},
        src.reconstruction_target,
    )
    t0 = time.perf_counter()
    train_student(trained, particles[split["train"]], particles[split["val"]], weights[split["train"]], progress)
    run_dir = out if isinstance(out, RunDir) else RunDir(Path(out))
    with run_dir.create(overwrite) as tmp:
        for name in TEACHER_FILES:
            if (src.path / name).is_file():
                shutil.copy2(src.path / name, tmp.path / name)
        tmp.config_json.write_text(json.dumps({**cfg.to_dict(), "deployable": src.deployable}, indent=1))
        tmp.history_json.write_text(json.dumps(trained.history, indent=1))
        metadata = {**src.metadata, "teacher": str(src.path.resolve())}
        metadata["timings"] = {"train_student_s": time.perf_counter() - t0}
        tmp.metadata_json.write_text(json.dumps(metadata, indent=1))
        save_student(tmp, trained)
        tmp.scores_dir.mkdir()
        for sample in src.samples():
            arrays = dict(src.scores(sample))
            events = _sample_events(src, sample, particles, arrays)
            if events is not None:
                arrays.update(student_scores(trained, events))
            else:  # the sample's file is gone: its student scores cannot be recomputed
                arrays = {k: v for k, v in arrays.items() if not k.endswith("_student")}
            np.savez(tmp.scores_npz(sample), allow_pickle=True, **arrays)
    return load_run(run_dir)


def _sample_events(run: Run, sample: str, background: np.ndarray, arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """The events behind a saved score sample: the background's scored split, or the signal file it came from."""
    if sample == "background" and "event_index" in arrays:
        return background[arrays["event_index"]]
    path = run.data_file(sample)
    return adc2021.read_particles(path) if path is not None else None
