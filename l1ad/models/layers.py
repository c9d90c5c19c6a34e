"""l1ad's own Keras layers (created lazily through :mod:`l1ad.keras_compat`; :func:`custom_objects` loads
models that hold them).

``BoundedOutput``: the AD@L1 decoder head. Per output ``j``: ``bound_j x tanh(y_j)`` where ``bound_j > 0``
(eta: 3.0 / 2.1 / 4.0 for e/gamma / muon / jet slots, phi: pi), the linear ``y_j`` elsewhere (pT, MET eta).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from l1ad import keras_compat
from l1ad.data.adc2021 import N_OBJECTS

__all__ = ["ETA_BOUNDS", "output_bounds", "bounded_output_class", "custom_objects"]

#: |eta| bound of each row's decoder output: MET (unbounded, masked), e/gamma, muons, jets.
ETA_BOUNDS = (0.0,) + (3.0,) * 4 + (2.1,) * 4 + (4.0,) * 10


def output_bounds() -> list[float]:
    """The 57 bounds of the decoder outputs (0 = linear): pT linear, eta :data:`ETA_BOUNDS`, phi pi."""
    b = np.zeros((N_OBJECTS, 3))
    b[:, 1] = ETA_BOUNDS
    b[:, 2] = math.pi
    return b.reshape(-1).tolist()


@functools.cache
def bounded_output_class() -> type:
    keras, tf = keras_compat.keras(), keras_compat.tensorflow()
    layer_base: Any = keras.layers.Layer  # a class of a dynamically imported module

    class BoundedOutput(layer_base):
        """``bound x tanh(y)`` where bound > 0, ``y`` elsewhere (elementwise over the last axis)."""

        def __init__(self, bounds: list[float], **kw: Any):
            super().__init__(**kw)
            self.bounds = [float(b) for b in bounds]

        def call(self, y: Any) -> Any:
            bound = tf.constant(self.bounds, dtype=y.dtype)
            return tf.where(bound > 0, bound * tf.tanh(y), y)

        def get_prunable_weights(self) -> list:  # tfmot: nothing to prune (no weights)
            return []

        def get_config(self) -> dict:
            return {**super().get_config(), "bounds": self.bounds}

    return BoundedOutput


def custom_objects() -> dict[str, Any]:
    """Everything ``load_model`` needs for an l1ad model: QKeras' custom objects and l1ad's own layers."""
    return {**keras_compat.custom_objects(), "BoundedOutput": bounded_output_class()}
