"""Run directories: write a trained model + everything needed to reproduce and use it; load it back.

Layout of ``runs/<name>/``::

    config.json          ModelConfig (+ "deployable": whether encoder.h5 obeys the firmware contract)
    input_format.json    InputFormat (l1ad.data.preprocess)
    reconstruction_target.json  the AD@L1 reconstruction target (per-slot pT standardization; target "standardized")
    model.h5             quantized inference model x -> [encoder output, reconstruction(z = mu)]
    encoder.h5           deployable quantized encoder (weights stored quantized; see l1ad.models.export)
    decoder.h5           quantized decoder
    float_model.h5       float inference model (when a float model was trained)
    student.h5           deployable quantized teacher-student regressor (ONE output: the trigger score)
    float_student.h5     its float counterpart
    student.json         how its target was made (teacher score, log mapping, occupancy density)
    history.json         per-epoch losses of each training
    metadata.json        data files + sha256, split sizes, package versions, seed, timings
    scores/<sample>.npz  float_<kind> and quantized_<kind> score arrays (kinds kl, kl_mean, rz, mu2, mse and
                         student), weights (+ event_index for background)

All .h5 files reload with ``keras.models.load_model(path, custom_objects=keras_compat.custom_objects())``.
The directory is built under a temporary name and renamed when complete.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shutil
import warnings
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from l1ad import keras_compat
from l1ad.data.preprocess import InputFormat, ReconstructionTarget, slot_mask
from l1ad.models import export
from l1ad.models import scores as score_fns
from l1ad.models.config import ModelConfig

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


class RunDirError(OSError):
    """A run directory is missing, incomplete, or would be overwritten."""


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


def check_writable(out_dir: Path, overwrite: bool) -> None:
    """Refuse to replace an existing non-empty directory unless ``overwrite``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise RunDirError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise RunDirError(f"{out_dir}: run directory exists and is not empty (use --overwrite)")


def predict(model: Any, x: np.ndarray, batch_size: int = 8192) -> Any:
    """Batched inference, float64 numpy output(s)."""
    out = model.predict(np.asarray(x, np.float32), batch_size=batch_size, verbose=0)
    return [np.asarray(o, np.float64) for o in out] if isinstance(out, list) else np.asarray(out, np.float64)


def model_scores(
    enc_out: np.ndarray, recon: np.ndarray | None, target: np.ndarray, mask: np.ndarray, cfg: ModelConfig
) -> dict[str, np.ndarray]:
    """Encoder scores (kl, kl_mean, rz, mu2 | mu2) and, given a reconstruction, mse."""
    out = score_fns.encoder_scores(enc_out, cfg.latent, cfg.variational)
    if recon is not None:
        out["mse"] = score_fns.mse(target, recon, mask)
    return out


def score_sample(trained: Any, particles: np.ndarray, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Scores of one sample for the quantized model (``quantized_<kind>``) and the float model (``float_<kind>``);
    ``<prefix>_student`` is the output of the (quantized / float) teacher-student regressor."""
    from l1ad.models.train import full_model, reconstruction_target_values

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
    for prefix, student in (("quantized", trained.student), ("float", trained.float_student)):
        if student is not None:
            out[f"{prefix}_student"] = predict(student, x)[:, 0]
    out["weights"] = np.ones(len(x)) if weights is None else np.asarray(weights, np.float64)
    return out


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
    out_dir: str | os.PathLike,
    trained: Any,
    scores: dict[str, dict[str, np.ndarray]],
    data_files: dict[str, str | os.PathLike],
    split_sizes: dict[str, int] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a complete run directory atomically (built as ``.<name>.tmp-<pid>``, then renamed)."""
    from l1ad.models.train import full_model

    out_dir = Path(out_dir)
    check_writable(out_dir, overwrite)
    cfg = trained.config
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "scores").mkdir(parents=True)
    try:
        deployable = export.is_deployable(trained.encoder)
        encoder = export.deployable_encoder(trained.encoder) if deployable else trained.encoder
        _json(tmp / "config.json", {**cfg.to_dict(), "deployable": deployable})
        trained.input_format.save(tmp / "input_format.json")
        if getattr(trained, "reconstruction_target", None) is not None:
            trained.reconstruction_target.save(tmp / "reconstruction_target.json")
        _save_h5(encoder, tmp / "encoder.h5")
        if getattr(trained, "student", None) is not None:
            _save_h5(export.deployable_encoder(trained.student), tmp / "student.h5")
            _save_h5(trained.float_student, tmp / "float_student.h5")
            _json(tmp / "student.json", trained.student_info.to_dict())
        _save_h5(trained.decoder, tmp / "decoder.h5")
        _save_h5(full_model(encoder, trained.decoder, cfg, "quantized_model"), tmp / "model.h5")
        if trained.float_encoder is not None:
            _save_h5(
                full_model(trained.float_encoder, trained.float_decoder, cfg, "float_model"), tmp / "float_model.h5"
            )
        _json(tmp / "history.json", trained.history)
        _json(
            tmp / "metadata.json",
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
            np.savez(tmp / "scores" / f"{sample}.npz", **arrays)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            out_dir.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _load_model(path: Path) -> Any:
    if not path.is_file():
        raise RunDirError(f"{path}: missing from the run directory")
    keras = keras_compat.keras()
    return keras.models.load_model(path, custom_objects=keras_compat.custom_objects(), compile=False)


class Run:
    """A run directory, loaded lazily: ``config``, ``input_format``, ``encoder``, ``model``, ``float_model``..."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_dir():
            raise RunDirError(f"{self.path}: no such run directory")
        for name in ("config.json", "input_format.json"):
            if not (self.path / name).is_file():
                raise RunDirError(f"{self.path}: incomplete run directory, {name} is missing")

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @functools.cached_property
    def raw_config(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / "config.json").read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{self.path / 'config.json'}: not valid JSON: {exc}") from exc

    @functools.cached_property
    def config(self) -> ModelConfig:
        saved = {k: v for k, v in self.raw_config.items() if k != "deployable"}
        return ModelConfig.from_dict({**OLDER_RUN_SETTINGS, **saved})

    @property
    def deployable(self) -> bool:
        return bool(self.raw_config.get("deployable", False))

    @functools.cached_property
    def input_format(self) -> InputFormat:
        return InputFormat.load(self.path / "input_format.json")

    @functools.cached_property
    def encoder(self) -> Any:
        return _load_model(self.path / "encoder.h5")

    @functools.cached_property
    def decoder(self) -> Any:
        return _load_model(self.path / "decoder.h5")

    @functools.cached_property
    def model(self) -> Any:
        return _load_model(self.path / "model.h5")

    @functools.cached_property
    def float_model(self) -> Any | None:
        path = self.path / "float_model.h5"
        return _load_model(path) if path.is_file() else None

    @functools.cached_property
    def reconstruction_target(self) -> ReconstructionTarget | None:
        """The AD@L1 reconstruction target, or None (the run reconstructs its input codes)."""
        path = self.path / "reconstruction_target.json"
        return ReconstructionTarget.load(path) if path.is_file() else None

    @property
    def has_student(self) -> bool:
        return (self.path / "student.h5").is_file()

    @functools.cached_property
    def student(self) -> Any:
        """The deployable quantized teacher-student regressor (one output)."""
        return _load_model(self.path / "student.h5")

    @functools.cached_property
    def float_student(self) -> Any:
        return _load_model(self.path / "float_student.h5")

    @functools.cached_property
    def student_info(self) -> dict[str, Any]:
        return json.loads((self.path / "student.json").read_text())

    @functools.cached_property
    def history(self) -> dict[str, Any]:
        return json.loads((self.path / "history.json").read_text())

    @functools.cached_property
    def metadata(self) -> dict[str, Any]:
        return json.loads((self.path / "metadata.json").read_text())

    def samples(self) -> list[str]:
        """Names of the scored samples (``scores/<sample>.npz``)."""
        return sorted(p.stem for p in (self.path / "scores").glob("*.npz"))

    def scores(self, sample: str) -> dict[str, np.ndarray]:
        path = self.path / "scores" / f"{sample}.npz"
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
            out["student"] = predict(self.student if quantized else self.float_student, x)[:, 0]
        return out


def load_run(path: str | os.PathLike) -> Run:
    """Open a run directory (models load lazily on first access)."""
    return Run(path)
