"""The Keras side of a run directory: write a trained model and everything needed to reproduce and use it,
and load it back (:class:`Run`): the quantized and float VAE, and the teacher-student regressor when one was
trained. Every path comes from :class:`l1ad.rundir.RunDir` (its docstring shows the layout).

All .h5 files reload with ``keras.models.load_model(path, custom_objects=layers.custom_objects())``
(:mod:`l1ad.models.layers`).
A run directory is built under a temporary name and renamed when complete (:meth:`RunDir.create`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import warnings
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from l1ad import keras_compat
from l1ad.data.preprocess import InputFormat, ReconstructionTarget, slot_mask
from l1ad.fixed import scores as score_registry
from l1ad.models import export, layers
from l1ad.models.builders import full_model
from l1ad.models.config import ModelConfig
from l1ad.models.scores import model_scores, predict
from l1ad.models.student_score import output_lsb, trigger_score
from l1ad.models.train import StudentInfo, TrainedModels, reconstruction_target_values
from l1ad.rundir import RunDir, RunDirError

__all__ = [
    "Run",
    "load_run",
    "write_run",
    "score_sample",
    "student_scores",
    "save_student",
    "model_scores",
    "predict",
    "sha256",
    "package_versions",
    "OLDER_RUN_SETTINGS",
]

PACKAGES = (
    "l1ad",
    "numpy",
    "tensorflow",
    "tf_keras",
    "qkeras",
    "h5py",
    "hls4ml",
    "da4ml",
    "tensorflow_model_optimization",
)

#: Settings added to ModelConfig after run directories were first written, with the value that reproduces how a
#: run without them was trained (no distillation), so that an older run's ``config`` still describes it.
OLDER_RUN_SETTINGS: dict[str, Any] = {
    "distill": 0.0,
    "distill_tail": 0.0,
    "input_batchnorm": False,
    "input_standardize": False,
    "target": "input",
    "bounded_outputs": False,
    "reduction": "sum",
    "distill_augment": 0.0,
    "score_distill": 0.0,
    "qat_epochs": None,
    "qat_learning_rate": None,
    "clipnorm": 0.0,
    "lr_plateau": False,
    "student": False,
}


def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def score_sample(
    trained: TrainedModels, particles: np.ndarray, weights: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Scores of one sample for the quantized model (``quantized_<kind>``) and the float model (``float_<kind>``);
    ``<prefix>_student`` is the output of the (quantized / float) teacher-student regressor."""
    cfg, fmt = trained.config, trained.input_format
    x = fmt.to_model_input(particles)
    target = reconstruction_target_values(fmt, trained.reconstruction_target, particles)
    mask = slot_mask(particles)
    out: dict[str, np.ndarray] = {}
    pairs = [("quantized", trained.encoder, trained.decoder)]
    if trained.float_encoder is not None:
        pairs.append(("float", trained.float_encoder, trained.float_decoder))
    for prefix, enc, dec in pairs:
        enc_out, recon = predict(full_model(enc, dec, cfg, f"{prefix}_model"), x)
        for kind, values in model_scores(enc_out, recon, target, mask, cfg).items():
            out[f"{prefix}_{kind}"] = values
    out.update(student_scores(trained, particles))
    out["weights"] = np.ones(len(x)) if weights is None else np.asarray(weights, np.float64)
    return out


def student_scores(trained: TrainedModels, particles: np.ndarray) -> dict[str, np.ndarray]:
    """``quantized_student`` / ``float_student``: the trigger score of the (quantized / float) teacher-student
    regressor (its output + the exact lepton term); empty without a regressor."""
    out: dict[str, np.ndarray] = {}
    if trained.student_info is None:
        return out
    x = trained.input_format.to_model_input(particles)
    for prefix, student in (("quantized", trained.student), ("float", trained.float_student)):
        if student is not None:
            lsb = output_lsb(trained.config) if prefix == "quantized" else None
            out[f"{prefix}_student"] = trigger_score(predict(student, x)[:, 0], trained.student_info, particles, lsb)
    return out


def save_student(run: RunDir, trained: TrainedModels) -> None:
    """Write the teacher-student regressor (deployable quantized, float, its target description) into ``run``."""
    if trained.student is not None and trained.student_info is not None:
        _save_h5(export.deployable_encoder(trained.student), run.student_h5)
        _save_h5(trained.float_student, run.float_student_h5)
        _json(run.student_json, trained.student_info.to_dict())


def _save_h5(model: Any, path: Path) -> None:
    logger = keras_compat.tensorflow().get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # tf_keras logs a spurious "compiled metrics not built" for uncompiled models
    try:
        with warnings.catch_warnings():  # tf_keras warns that HDF5 is legacy and about QKeras quantizer configs
            warnings.simplefilter("ignore", UserWarning)
            model.save(path, save_format="h5", include_optimizer=False)
    finally:
        logger.setLevel(level)


def _json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n")


def write_run(
    out: RunDir | str | os.PathLike,
    trained: TrainedModels,
    scores: dict[str, dict[str, np.ndarray]],
    data_files: dict[str, str | os.PathLike],
    split_sizes: dict[str, int] | None = None,
    overwrite: bool = False,
) -> RunDir:
    """Write a complete run directory atomically (built under a temporary name, then renamed)."""
    run = out if isinstance(out, RunDir) else RunDir(Path(out))
    cfg = trained.config
    with run.create(overwrite) as tmp:
        tmp.scores_dir.mkdir()
        deployable = export.is_deployable(trained.encoder)
        encoder = export.deployable_encoder(trained.encoder) if deployable else trained.encoder
        _json(tmp.config_json, {**cfg.to_dict(), "deployable": deployable})
        trained.input_format.save(tmp.input_format_json)
        if trained.reconstruction_target is not None:
            trained.reconstruction_target.save(tmp.reconstruction_target_json)
        _save_h5(encoder, tmp.encoder_h5)
        save_student(tmp, trained)
        _save_h5(trained.decoder, tmp.decoder_h5)
        _save_h5(full_model(encoder, trained.decoder, cfg, "quantized_model"), tmp.model_h5)
        if trained.float_encoder is not None:
            float_model = full_model(trained.float_encoder, trained.float_decoder, cfg, "float_model")
            _save_h5(float_model, tmp.float_model_h5)
        _json(tmp.history_json, trained.history)
        _json(
            tmp.metadata_json,
            {
                "data_files": {
                    name: {"path": str(Path(p).resolve()), "sha256": sha256(p)} for name, p in data_files.items()
                },
                "split_sizes": split_sizes or {},
                "seed": cfg.seed,
                "versions": package_versions(),
                "timings": trained.timings,
            },
        )
        for sample, arrays in scores.items():
            np.savez(tmp.scores_npz(sample), allow_pickle=True, **arrays)
    return run


def _load_model(path: Path) -> Any:
    if not path.is_file():
        raise RunDirError(f"{path}: missing from the run directory")
    keras = keras_compat.keras()
    return keras.models.load_model(path, custom_objects=layers.custom_objects(), compile=False)


class Run:
    """A run directory, loaded lazily: ``config``, ``input_format``, ``encoder``, ``model``, ``float_model``...

    ``dir`` is its :class:`RunDir` (every path); ``path`` the directory itself.
    """

    def __init__(self, run: RunDir | str | os.PathLike):
        self.dir = (run if isinstance(run, RunDir) else RunDir(Path(run))).require()

    @property
    def path(self) -> Path:
        return self.dir.path

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @functools.cached_property
    def raw_config(self) -> dict[str, Any]:
        try:
            return json.loads(self.dir.config_json.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{self.dir.config_json}: not valid JSON: {exc}") from exc

    @functools.cached_property
    def config(self) -> ModelConfig:
        saved = {k: v for k, v in self.raw_config.items() if k != "deployable"}
        return ModelConfig.from_dict({**OLDER_RUN_SETTINGS, **saved})

    @property
    def deployable(self) -> bool:
        return bool(self.raw_config.get("deployable", False))

    def network(self, encoder: str) -> Any:
        """The deployable network that computes scores of ``Score.encoder`` kind ``encoder``: "encoder" (the
        (V)AE encoder) or "student" (the teacher-student regressor)."""
        if encoder == "encoder":
            return self.encoder
        if encoder == "student":
            if not self.has_student:
                raise RunDirError(f"{self.path}: no teacher-student regressor (student.h5) in the run")
            return self.student
        raise ValueError(f"unknown network {encoder!r}; expected 'encoder' or 'student'")

    def firmware_scores(self) -> tuple[str, ...]:
        """The registered firmware scores this run can compute (its encoder's, and ``student`` if it has one)."""
        own = score_registry.names(self.config.variational, encoder="encoder")
        return own + (score_registry.names(encoder="student") if self.has_student else ())

    @property
    def trigger_score(self) -> str:
        """The run's default trigger score: the teacher-student regressor's output where the run has one (the
        best-separating score measured, docs/physics.md), else ``kl`` (VAE) / ``mu2`` (AE)."""
        if self.has_student:
            return "student"
        return "kl" if self.config.variational else "mu2"

    @functools.cached_property
    def input_format(self) -> InputFormat:
        return InputFormat.load(self.dir.input_format_json)

    @functools.cached_property
    def encoder(self) -> Any:
        return _load_model(self.dir.encoder_h5)

    @functools.cached_property
    def decoder(self) -> Any:
        return _load_model(self.dir.decoder_h5)

    @functools.cached_property
    def model(self) -> Any:
        return _load_model(self.dir.model_h5)

    @functools.cached_property
    def float_model(self) -> Any | None:
        path = self.dir.float_model_h5
        return _load_model(path) if path.is_file() else None

    @functools.cached_property
    def reconstruction_target(self) -> ReconstructionTarget | None:
        """The AD@L1 reconstruction target, or None (the run reconstructs its input codes)."""
        path = self.dir.reconstruction_target_json
        return ReconstructionTarget.load(path) if path.is_file() else None

    @property
    def has_student(self) -> bool:
        return self.dir.student_h5.is_file()

    @functools.cached_property
    def student(self) -> Any:
        """The deployable quantized teacher-student regressor (one output)."""
        return _load_model(self.dir.student_h5)

    @functools.cached_property
    def float_student(self) -> Any:
        return _load_model(self.dir.float_student_h5)

    @functools.cached_property
    def student_info(self) -> dict[str, Any]:
        return json.loads(self.dir.student_json.read_text())

    @functools.cached_property
    def history(self) -> dict[str, Any]:
        return json.loads(self.dir.history_json.read_text())

    @functools.cached_property
    def metadata(self) -> dict[str, Any]:
        return json.loads(self.dir.metadata_json.read_text())

    def _recorded_files(self) -> dict[str, Path]:
        """Sample name -> the event file ``metadata.json`` records for it (whether or not it still exists)."""
        try:
            files = self.metadata.get("data_files", {})
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return {name: Path(v["path"] if isinstance(v, dict) else v) for name, v in files.items() if v}

    def data_files(self) -> list[Path]:
        """The event files the run was trained and scored on (``metadata.json``) that still exist."""
        return [p for p in self._recorded_files().values() if p.is_file()]

    def data_file(self, sample: str) -> Path | None:
        """The event file of ``sample`` ("background": the training background) if recorded and still there."""
        path = self._recorded_files().get(sample)
        return path if path is not None and path.is_file() else None

    def samples(self) -> list[str]:
        """Names of the scored samples."""
        return self.dir.samples()

    def scores(self, sample: str) -> dict[str, np.ndarray]:
        path = self.dir.scores_npz(sample)
        if not path.is_file():
            raise RunDirError(f"{path}: no scores for sample {sample!r} (have: {self.samples()})")
        with np.load(path) as z:
            return {k: z[k] for k in z.files}

    def score(self, particles: np.ndarray, quantized: bool = True) -> dict[str, np.ndarray]:
        """Score events with the saved quantized (or float) model; the keys of ``model_scores`` (+ ``student``)."""
        model = self.model if quantized else self.float_model
        if model is None:
            raise RunDirError(f"{self.path}: no float model saved")
        x = self.input_format.to_model_input(particles)
        target = self.reconstruction_target
        y = x if target is None else target.transform(particles)
        enc_out, recon = predict(model, x)
        out = model_scores(enc_out, recon, y, slot_mask(particles), self.config)
        if self.has_student:
            output = predict(self.student if quantized else self.float_student, x)[:, 0]
            lsb = output_lsb(self.config) if quantized else None
            out["student"] = trigger_score(output, StudentInfo.from_dict(self.student_info), particles, lsb)
        return out


def load_run(path: RunDir | str | os.PathLike) -> Run:
    """Open a run directory (models load lazily on first access)."""
    return Run(path)
