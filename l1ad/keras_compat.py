"""The one adapter between l1ad and the Keras 2/3 split.

TensorFlow 2.21 ships Keras 3, while QKeras needs Keras 2 (``tf_keras``). Every l1ad module obtains
TensorFlow, Keras and QKeras through this module, never by importing them directly:

- ``TF_USE_LEGACY_KERAS=1`` is set before TensorFlow is first imported;
- :func:`keras` returns ``tf_keras`` and :func:`qkeras` returns the ``qkeras`` package;
- :func:`keras2_as_keras` makes ``import keras`` resolve to ``tf_keras`` for the duration of a block,
  which hls4ml 1.3 needs to pick its Keras-2 parser for QKeras models;
- TensorFlow's C++ log lines and CUDA-probe messages stay off stderr unless :func:`set_verbose` (the
  ``l1ad --verbose`` flag) asks for them. ``TF_CPP_MIN_LOG_LEVEL=3`` (set here unless already set) hides what
  TensorFlow logs once its logging is initialised: the CUDA probe's "failed call to cuInit" on a machine
  without a GPU, tf.data's "NodeDef mentions attribute use_unbounded_threadpool" under tf_keras. It does not
  reach the lines written while TensorFlow's shared libraries load ("WARNING: All log messages before
  absl::InitializeLog() ...", "oneDNN custom operations are on", "Could not find cuda drivers"), so the first
  imports run with file descriptor 2 captured and the captured native output is written back without those
  lines (:func:`is_native_noise`). Python-level writes to ``sys.stderr`` (warnings, tracebacks) are not
  captured.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any

__all__ = [
    "VERBOSE_ENV",
    "set_verbose",
    "is_verbose",
    "is_native_noise",
    "tensorflow",
    "keras",
    "qkeras",
    "custom_objects",
    "keras2_as_keras",
    "tensorflow_probability",
    "limit_threads",
]

#: Environment variable that lets TensorFlow's native log lines through (set by ``l1ad --verbose``; inherited
#: by subprocesses).
VERBOSE_ENV = "L1AD_VERBOSE"

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if os.environ.get(VERBOSE_ENV, "") not in ("", "0") else "3")

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":  # pragma: no cover
    raise RuntimeError("TensorFlow was imported before l1ad.keras_compat with TF_USE_LEGACY_KERAS unset")


def set_verbose(verbose: bool = True) -> None:
    """Show (``True``) or hide TensorFlow's native log lines; effective only before TensorFlow is imported.
    Subprocesses inherit the choice through the environment."""
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    else:
        os.environ.pop(VERBOSE_ENV, None)
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


def is_verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


# absl / TensorFlow C++ log line: severity, MMDD, time, thread id, source file:line]
_ABSL_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ ([^:\s]+):\d+\] ")
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_CUDA_SOURCE = re.compile(r"cuda|cudart|cudnn|cublas|cufft|cusolver|cusparse|nvptx|gpu", re.IGNORECASE)


def is_native_noise(lines: Iterable[str]) -> list[bool]:
    """For each line TensorFlow wrote to fd 2 while loading: whether it is log noise to hide.

    Noise: absl's preamble, INFO/WARNING lines, ERROR lines from the CUDA sources (the probe failing without a
    GPU), and the continuation lines of a hidden message. Anything else (a FATAL line, another ERROR, an
    unrelated message) is kept.
    """
    flags, hiding = [], False
    for line in lines:
        text = line.rstrip("\n")
        match = _ABSL_LINE.match(text)
        if text == _ABSL_PREAMBLE:
            hiding = True
        elif match:
            severity, source = match.groups()
            hiding = severity in ("I", "W") or (severity == "E" and _CUDA_SOURCE.search(source) is not None)
        flags.append(hiding)
    return flags


def _repoint_log_handlers(old: Any, new: Any) -> None:
    """Stream handlers that captured ``old`` (a temporary sys.stderr) write to ``new`` instead."""
    named = logging.Logger.manager.loggerDict.values()
    loggers = [logging.getLogger(), *(lg for lg in named if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is old:
                handler.setStream(new)


@contextlib.contextmanager
def _native_stderr_filtered() -> Iterator[None]:
    """Capture fd 2 (native writes) for a block; write back what :func:`is_native_noise` keeps (everything if
    the block raised)."""
    if is_verbose():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable stderr: nothing to filter
        yield
        return
    python_stderr = sys.stderr
    try:  # Python-level writes bypass the capture when sys.stderr is the process's fd 2
        if python_stderr.fileno() == 2:
            sys.stderr = open(  # noqa: SIM115 - closed below
                saved, "w", closefd=False, encoding=python_stderr.encoding, errors="backslashreplace", buffering=1
            )
    except (OSError, ValueError, AttributeError):  # a replaced sys.stderr (e.g. pytest's capture)
        pass
    captured = tempfile.TemporaryFile()
    failed = True
    try:
        os.dup2(captured.fileno(), 2)
        yield
        failed = False
    finally:
        if sys.stderr is not python_stderr:
            _repoint_log_handlers(sys.stderr, python_stderr)  # handlers created in the block (TF's logger)
            sys.stderr.close()  # flushes into the saved descriptor, which stays open
            sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)
        captured.seek(0)
        lines = captured.read().decode("utf-8", "backslashreplace").splitlines(keepends=True)
        captured.close()
        if not failed:
            lines = [line for line, noise in zip(lines, is_native_noise(lines), strict=True) if not noise]
        if lines:
            python_stderr.flush()
            os.write(2, "".join(lines).encode())


def tensorflow() -> ModuleType:
    """Return the ``tensorflow`` module (imported with the legacy-Keras switch set; its load-time log lines are
    hidden unless verbose)."""
    if "tensorflow" not in sys.modules:
        with _native_stderr_filtered():
            import tensorflow  # noqa: F401
    return sys.modules["tensorflow"]


def _import_quietly(name: str) -> ModuleType:
    """Import ``name`` (after TensorFlow) with its load-time native log lines filtered."""
    tensorflow()
    if name not in sys.modules:
        with _native_stderr_filtered():
            importlib.import_module(name)
    return sys.modules[name]


def keras() -> ModuleType:
    """Return Keras 2 (``tf_keras``), the Keras that QKeras models are built with."""
    return _import_quietly("tf_keras")


def qkeras() -> ModuleType:
    """Return the ``qkeras`` package (built on Keras 2)."""
    keras()
    return _import_quietly("qkeras")


def custom_objects() -> dict:
    """QKeras custom objects for loading saved models (l1ad's models: :func:`l1ad.models.layers.custom_objects`)."""
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {}
    qkeras()
    _add_supported_quantized_objects(objects)
    return objects


@contextlib.contextmanager
def keras2_as_keras() -> Iterator[ModuleType]:
    """Temporarily make ``import keras`` resolve to ``tf_keras`` (for hls4ml's parser selection)."""
    tfk = keras()
    saved = {name: mod for name, mod in sys.modules.items() if name == "keras" or name.startswith("keras.")}
    for name in saved:
        del sys.modules[name]
    sys.modules["keras"] = tfk
    try:
        yield tfk
    finally:
        for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def tensorflow_probability() -> ModuleType:
    """Return ``tensorflow_probability`` (imported after TensorFlow with the legacy-Keras switch, so TFP's
    layers use ``tf_keras``). Tested with tensorflow-probability 0.25.0 on TF 2.21."""
    return _import_quietly("tensorflow_probability")


def limit_threads(n: int = 1) -> None:
    """Best effort: run TensorFlow ops on ``n`` intra-/inter-op threads (only possible before TF's runtime
    has started; later calls are ignored)."""
    tf = tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:  # runtime already initialised
        pass
