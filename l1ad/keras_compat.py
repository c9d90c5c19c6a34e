"""The one adapter between l1ad and the Keras 2/3 split.

TensorFlow 2.21 ships Keras 3, while QKeras needs Keras 2 (``tf_keras``). Every l1ad module obtains
TensorFlow, Keras and QKeras through this module, never by importing them directly:

- ``TF_USE_LEGACY_KERAS=1`` is set before TensorFlow is first imported;
- :func:`keras` returns ``tf_keras`` and :func:`qkeras` returns the ``qkeras`` package;
- :func:`keras2_as_keras` makes ``import keras`` resolve to ``tf_keras`` for the duration of a block,
  which hls4ml 1.3 needs to pick its Keras-2 parser for QKeras models.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":  # pragma: no cover
    raise RuntimeError("TensorFlow was imported before l1ad.keras_compat with TF_USE_LEGACY_KERAS unset")


def tensorflow() -> ModuleType:
    """Return the ``tensorflow`` module (imported with the legacy-Keras switch set)."""
    import tensorflow as tf

    return tf


def keras() -> ModuleType:
    """Return Keras 2 (``tf_keras``), the Keras that QKeras models are built with."""
    tensorflow()
    import tf_keras

    return tf_keras


def qkeras() -> ModuleType:
    """Return the ``qkeras`` package (built on Keras 2)."""
    keras()
    import qkeras as qk

    return qk


def custom_objects() -> dict:
    """QKeras custom objects + l1ad's own layers (:mod:`l1ad.models.layers`) for loading saved models."""
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {}
    qkeras()
    _add_supported_quantized_objects(objects)
    from l1ad.models.layers import bounded_output_class  # noqa: PLC0415 - l1ad's own layers, created lazily

    objects["BoundedOutput"] = bounded_output_class()
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
    tensorflow()
    import tensorflow_probability as tfp

    return tfp


def limit_threads(n: int = 1) -> None:
    """Best effort: run TensorFlow ops on ``n`` intra-/inter-op threads (only possible before TF's runtime
    has started; later calls are ignored)."""
    tf = tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:  # runtime already initialised
        pass
