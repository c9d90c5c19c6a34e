"""The run directory: the one type that knows every path of a run.

A run is ``runs/<name>/`` plus the firmware generated from it elsewhere::

    runs/<name>/
      config.json, input_format.json           how the model was built and its fixed-point input format
      source.json, source/                      an imported run (``l1ad import``): what it came from, and a copy
                                                of it (source/hls4ml/ the project, source/<scaling file>)
      source_csim/                              the imported project's own C++ compiled as its reference
      encoder.h5, decoder.h5, model.h5,         the deployable quantized encoder, its decoder, the inference
      float_model.h5                            model x -> [encoder output, reconstruction]; the float model
      reconstruction_target.json                the AD@L1 reconstruction target (per-slot standardized pT)
      student.h5, float_student.h5,             the deployable quantized teacher-student regressor (one
      student.json                              output: the ``student`` score), its float twin, its target
      history.json, metadata.json               training history; data files + hashes, versions, timings
      scores/<sample>.npz                       float and quantized scores of the scored samples
      fixed/<score>/                            FixedPointModel (model.json + model.npz), hls_settings.json,
                                                csim_check.json, hls_report.json
      rtl/<score>/                              rtl.json (``l1ad rtl``), and the verification work area:
                                                design/, sim_build/, vectors.npz
      verify.json                               bit-exactness of every stage
      rates.json, rates_histograms.npz,         rate emulation; the best simple baseline's histograms
      rates_baselines.npz
      evaluation.json                           physics benchmark (``l1ad evaluate``)
      report.html, report_files/                the report
    <hls_root>/<name>-<score>/                  hls4ml project (default hls_projects/)
    <rtl_root>/<name>-<score>/                  RTL from ``l1ad rtl`` (default firmware/generated/)

Nothing else in l1ad spells these names.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = ["RunDir", "RunDirError", "DEFAULT_HLS_ROOT", "DEFAULT_RTL_ROOT"]

DEFAULT_HLS_ROOT = Path("hls_projects")
DEFAULT_RTL_ROOT = Path("firmware") / "generated"


class RunDirError(OSError):
    """A run directory is missing, incomplete, or would be overwritten."""


@dataclass(frozen=True)
class RunDir:
    """Paths of one run (``path`` = ``runs/<name>``) and of the firmware generated from it."""

    path: Path
    hls_root: Path = field(default=DEFAULT_HLS_ROOT)
    rtl_root: Path = field(default=DEFAULT_RTL_ROOT)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        object.__setattr__(self, "hls_root", Path(self.hls_root))
        object.__setattr__(self, "rtl_root", Path(self.rtl_root))

    @property
    def name(self) -> str:
        return self.path.name

    def with_roots(self, hls_root: Path | None = None, rtl_root: Path | None = None) -> RunDir:
        """The same run with other firmware roots (None keeps the current one)."""
        return replace(self, hls_root=hls_root or self.hls_root, rtl_root=rtl_root or self.rtl_root)

    # ---- what training writes ------------------------------------------------------------------------
    @property
    def config_json(self) -> Path:
        return self.path / "config.json"

    @property
    def input_format_json(self) -> Path:
        return self.path / "input_format.json"

    @property
    def encoder_h5(self) -> Path:
        return self.path / "encoder.h5"

    @property
    def decoder_h5(self) -> Path:
        return self.path / "decoder.h5"

    @property
    def model_h5(self) -> Path:
        return self.path / "model.h5"

    @property
    def float_model_h5(self) -> Path:
        return self.path / "float_model.h5"

    @property
    def reconstruction_target_json(self) -> Path:
        return self.path / "reconstruction_target.json"

    @property
    def student_h5(self) -> Path:
        return self.path / "student.h5"

    @property
    def float_student_h5(self) -> Path:
        return self.path / "float_student.h5"

    @property
    def student_json(self) -> Path:
        return self.path / "student.json"

    def encoder_h5_for(self, encoder: str) -> Path:
        """The deployable network that computes a score whose ``Score.encoder`` is ``encoder``."""
        paths = {"encoder": self.encoder_h5, "student": self.student_h5}
        if encoder not in paths:
            raise ValueError(f"unknown encoder {encoder!r}; expected one of {sorted(paths)}")
        return paths[encoder]

    @property
    def history_json(self) -> Path:
        return self.path / "history.json"

    @property
    def metadata_json(self) -> Path:
        return self.path / "metadata.json"

    # ---- what an import writes --------------------------------------------------------------------------
    @property
    def source_json(self) -> Path:
        """Provenance of an imported run (kind, original paths, options); absent for a trained run."""
        return self.path / "source.json"

    @property
    def source_dir(self) -> Path:
        return self.path / "source"

    @property
    def source_project(self) -> Path:
        """The copy of an imported hls4ml project."""
        return self.source_dir / "hls4ml"

    def source_file(self, name: str) -> Path:
        """A copied source file (e.g. the input-scaling header) by its file name."""
        return self.source_dir / Path(name).name

    @property
    def source_csim_dir(self) -> Path:
        """Build directory of the imported project's own C++ (the ``source`` verification stage)."""
        return self.path / "source_csim"

    @property
    def scores_dir(self) -> Path:
        return self.path / "scores"

    def scores_npz(self, sample: str) -> Path:
        return self.scores_dir / f"{sample}.npz"

    def samples(self) -> list[str]:
        """Names of the scored samples (``scores/<sample>.npz``)."""
        return sorted(p.stem for p in self.scores_dir.glob("*.npz"))

    # ---- firmware, per score --------------------------------------------------------------------------
    def fixed_dir(self, score: str) -> Path:
        """The FixedPointModel of ``score`` (``l1ad convert``)."""
        return self.path / "fixed" / score

    def fixed_scores(self) -> list[str]:
        """Scores with a converted FixedPointModel, sorted."""
        root = self.path / "fixed"
        return sorted(p.name for p in root.glob("*") if (p / "model.json").is_file()) if root.is_dir() else []

    def hls_settings_json(self, score: str) -> Path:
        return self.fixed_dir(score) / "hls_settings.json"

    def csim_check_json(self, score: str) -> Path:
        return self.fixed_dir(score) / "csim_check.json"

    def hls_report_json(self, score: str) -> Path:
        return self.fixed_dir(score) / "hls_report.json"

    def hls_project(self, score: str) -> Path:
        """The hls4ml project of ``score``."""
        return self.hls_root / f"{self.name}-{score}"

    def rtl_design(self, score: str) -> Path:
        """The Verilog that ``l1ad rtl`` writes for ``score``."""
        return self.rtl_root / f"{self.name}-{score}"

    def rtl_summary_json(self, score: str) -> Path:
        return self.path / "rtl" / score / "rtl.json"

    def rtl_work(self, score: str) -> Path:
        """Verification work area of the RTL of ``score`` (design/, sim_build/, vectors.npz)."""
        return self.path / "rtl" / score

    def backend_dir(self, backend: str, score: str) -> Path:
        """Where firmware backend ``backend`` builds ``score`` for verification."""
        if backend == "hls4ml":
            return self.hls_project(score)
        if backend == "rtl":
            return self.rtl_work(score)
        return self.path / "firmware" / backend / score

    # ---- later stages ----------------------------------------------------------------------------------
    @property
    def verify_json(self) -> Path:
        return self.path / "verify.json"

    @property
    def rates_json(self) -> Path:
        return self.path / "rates.json"

    @property
    def rates_histograms_npz(self) -> Path:
        return self.path / "rates_histograms.npz"

    @property
    def rates_baselines_npz(self) -> Path:
        return self.path / "rates_baselines.npz"

    @property
    def evaluation_json(self) -> Path:
        return self.path / "evaluation.json"

    @property
    def report_html(self) -> Path:
        return self.path / "report.html"

    @property
    def report_files(self) -> Path:
        return self.path / "report_files"

    # ---- checks and atomic creation ---------------------------------------------------------------------
    def require(self) -> RunDir:
        """Raise :class:`RunDirError` unless this is a (trained or imported) run directory."""
        if not self.path.is_dir():
            raise RunDirError(f"{self.path}: no such run directory")
        for path in (self.config_json, self.input_format_json):
            if not path.is_file():
                raise RunDirError(f"{self.path}: incomplete run directory, {path.name} is missing")
        return self

    def check_writable(self, overwrite: bool) -> None:
        """Refuse to replace an existing non-empty directory unless ``overwrite``."""
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"{self.path}: exists and is not a directory")
        if self.path.is_dir() and any(self.path.iterdir()) and not overwrite:
            raise RunDirError(f"{self.path}: run directory exists and is not empty (use --overwrite)")

    @contextmanager
    def create(self, overwrite: bool = False) -> Iterator[RunDir]:
        """Build a new run directory under a temporary name; it replaces ``path`` only when the block
        completes (an interrupted or failed build leaves nothing behind)."""
        self.check_writable(overwrite)
        tmp = self.path.with_name(f".{self.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            yield replace(self, path=tmp)
            if self.path.exists():
                old = self.path.with_name(f".{self.name}.old-{os.getpid()}")
                os.replace(self.path, old)
                os.replace(tmp, self.path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, self.path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
