"""Firmware-friendly input preprocessing: float events -> integer codes of one fixed-point format.

All 57 model inputs (pT, eta, phi of the 19 ADC2021 rows, flattened by :func:`l1ad.data.adc2021.to_flat`)
share ONE signed fixed-point format ``ap_fixed<width, integer>`` (``integer`` counts the sign bit;
``frac = width - integer`` fraction bits). Feature ``j`` is mapped as::

    x_scaled = (x - offset[j]) * 2**(-shift[j])          # power-of-two scale: a shift in firmware
    code     = clip(round_half_even(x_scaled * 2**frac), min_code, max_code)
    value    = code * 2**(-frac)                          # what QKeras / hls4ml / RTL see

- Rounding is round-half-to-even (numpy ``rint``), the rounding of QKeras' ``tf.round``.
- Out-of-range values SATURATE to ``min_code`` / ``max_code`` (documented behaviour, as ``AP_SAT``).
  :meth:`InputFormat.to_codes` can report how many entries saturated.
- NaN / inf inputs raise :class:`ValueError`; so do wrong shapes and non-numeric dtypes.

``offset[j]`` is in the feature's own units and is an integer (default 0, so empty zero-padded slots map
to code 0). :meth:`InputFormat.fit` picks ``shift[j]`` from training data so that the ``quantile`` of the
filled entries of ``|x_j - offset_j|`` scales into (0.5, 1] (inputs of order one for training), unless that
would saturate the training maximum, in which case the shift grows until the maximum fits.

``InputFormat.fit(..., standardize=True)`` instead folds a batch normalization of the raw inputs into the
format: ``offset[j] = round(mean_j)`` and ``shift[j] = round(log2(std_j))`` over ALL training events (empty
slots included), so every code is the feature in units of its background standard deviation (to a factor
2**±0.5). A slot that is rarely filled has a tiny standard deviation, so any object in it maps to a large code
(saturating at the format's range): this is how the AD@L1 recipe makes a 3rd muon or a 4th electron stand
out. Features that never vary in training (std 0) get shift :data:`CONSTANT_SHIFT`: any non-zero value
saturates. Saturation at ``2**(integer-1)`` standard deviations is intended in this mode.

:class:`ReconstructionTarget` is the AD@L1 reconstruction target: pT standardized per slot over all training
events (empty slots kept at exactly 0), eta and phi raw.

The QKeras model starts with ``QActivation(quantized_bits(width, integer - 1, alpha=1))``, which is the
identity on ``codes_to_float(codes)``: feeding those floats into the model is exact.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.adc2021 import N_FEATURES, N_INPUTS, N_OBJECTS, to_flat
from l1ad.data.atomic import write_text_atomic

#: (object type, feature) group of each of the 57 inputs: 0-2 MET, 3-5 e/gamma, 6-8 muon, 9-11 jet (pT, eta, phi).
FEATURE_GROUP = np.array([3 * t + f for t in [0] + [1] * 4 + [2] * 4 + [3] * 10 for f in range(3)])

#: Largest |shift| accepted (2**±30 covers any physical range with margin).
MAX_SHIFT = 30

#: Shift of a feature that never varies in the training data (``standardize=True``): any non-zero value saturates.
CONSTANT_SHIFT = -8


def as_flat(events: np.ndarray) -> np.ndarray:
    """(N,19,4) events or (N,57) flat inputs -> float64 (N,57); raises ValueError on bad shape/dtype/NaN."""
    arr = np.asarray(events)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"inputs have dtype {arr.dtype}, expected a numeric (float) array")
    if arr.ndim == 3 and arr.shape[1:] == (N_OBJECTS, N_FEATURES):
        arr = to_flat(arr)
    elif not (arr.ndim == 2 and arr.shape[1] == N_INPUTS):
        raise ValueError(f"inputs have shape {arr.shape}, expected (N, {N_INPUTS}) or (N, {N_OBJECTS}, {N_FEATURES})")
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise ValueError(f"inputs contain NaN or inf in {rows.size} event(s), first at event {int(rows[0])}")
    return arr


@dataclasses.dataclass(frozen=True)
class InputFormat:
    """One signed fixed-point format ``ap_fixed<width, integer>`` + per-feature shift/offset (see module doc)."""

    width: int
    integer: int
    shift: tuple[int, ...]
    offset: tuple[int, ...] = (0,) * N_INPUTS

    def __post_init__(self) -> None:
        if not (2 <= int(self.width) <= 32):
            raise ValueError(f"InputFormat width must be in [2, 32], got {self.width}")
        if not (1 <= int(self.integer) <= int(self.width)):
            raise ValueError(
                f"InputFormat integer bits (incl. sign) must be in [1, width={self.width}], got {self.integer}"
            )
        for name in ("shift", "offset"):
            values = tuple(getattr(self, name))
            if len(values) != N_INPUTS:
                raise ValueError(f"InputFormat {name} must have {N_INPUTS} entries, got {len(values)}")
            if any(float(v) != int(v) for v in values):
                raise ValueError(f"InputFormat {name} must be integers, got {values}")
            object.__setattr__(self, name, tuple(int(v) for v in values))
        if any(abs(s) > MAX_SHIFT for s in self.shift):
            raise ValueError(f"InputFormat shifts must be within +-{MAX_SHIFT}, got {self.shift}")
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "integer", int(self.integer))

    # ---- derived quantities -------------------------------------------------------------------
    @property
    def frac(self) -> int:
        """Fraction bits: ``width - integer``."""
        return self.width - self.integer

    @property
    def min_code(self) -> int:
        return -(1 << (self.width - 1))

    @property
    def max_code(self) -> int:
        return (1 << (self.width - 1)) - 1

    @property
    def lsb(self) -> float:
        """Value of one code step, ``2**-frac``."""
        return math.ldexp(1.0, -self.frac)

    @property
    def qkeras_quantizer_args(self) -> tuple[int, int]:
        """(bits, integer) for ``quantized_bits(bits, integer, alpha=1)`` (QKeras integer excludes the sign)."""
        return self.width, self.integer - 1

    # ---- fitting ------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        flat_train: np.ndarray,
        width: int = 16,
        integer: int = 6,
        quantile: float = 0.99,
        center: bool = False,
        min_filled: int = 100,
        standardize: bool = False,
    ) -> InputFormat:
        """Choose per-feature power-of-two shifts (and integer offsets if ``center``) from training data.

        ``standardize=True``: offsets ``round(mean)`` and shifts ``round(log2(std))`` over all events (zeros
        included), the input batch normalization folded into the format (module docstring); ``quantile``,
        ``center`` and ``min_filled`` are then unused.

        ``shift[j]`` is the smallest integer with ``quantile(|x_j - offset_j|) * 2**-shift <= 1`` and
        ``max|x_j - offset_j| * 2**-shift <= max value of the format``. The quantile is taken over the
        filled (non-zero) entries; a slot filled fewer than ``min_filled`` times uses the entries of all
        slots of its object type (MET, e/gamma, muon, jet) and feature. Never-filled features get shift 0.
        ``center=True`` sets ``offset[j]`` to the rounded mean of the filled (non-zero) entries.
        """
        if not 0.0 < quantile <= 1.0:
            raise ValueError(f"quantile must be in (0, 1], got {quantile}")
        x = as_flat(flat_train)
        if len(x) == 0:
            raise ValueError("cannot fit an InputFormat on zero events")
        if standardize:
            return cls._standardized(x, width, integer)
        probe = cls(width, integer, (0,) * N_INPUTS)
        max_value = probe.max_code * probe.lsb
        offsets = np.zeros(N_INPUTS, dtype=np.int64)
        if center:
            for j in range(N_INPUTS):
                filled = x[:, j][x[:, j] != 0]
                offsets[j] = int(np.rint(filled.mean())) if filled.size else 0
        dev = np.abs(x - offsets[None, :])
        shifts = np.zeros(N_INPUTS, dtype=np.int64)
        for j in range(N_INPUTS):
            values = dev[:, j][x[:, j] != 0]
            top = float(values.max()) if values.size else 0.0
            if values.size < min_filled:  # rarely filled slot: use all slots of this object type and feature
                group = [k for k in range(N_INPUTS) if FEATURE_GROUP[k] == FEATURE_GROUP[j]]
                pooled = dev[:, group][x[:, group] != 0]
                values = pooled if pooled.size else values
            if values.size == 0:
                continue
            q = float(np.quantile(values, quantile))
            s = math.ceil(math.log2(q)) if q > 0 else -MAX_SHIFT
            if top > 0:
                s = max(s, math.ceil(math.log2(top / max_value)))
            shifts[j] = int(np.clip(s, -MAX_SHIFT, MAX_SHIFT))
        return cls(width, integer, tuple(shifts.tolist()), tuple(offsets.tolist()))

    @classmethod
    def _standardized(cls, x: np.ndarray, width: int, integer: int) -> InputFormat:
        mean, std = x.mean(axis=0), x.std(axis=0)
        offsets = np.rint(mean).astype(np.int64)
        varying = std > 0
        shifts = np.full(N_INPUTS, CONSTANT_SHIFT, dtype=np.int64)
        shifts[varying] = np.rint(np.log2(std[varying])).astype(np.int64)
        shifts = np.clip(shifts, -MAX_SHIFT, MAX_SHIFT)
        return cls(width, integer, tuple(shifts.tolist()), tuple(offsets.tolist()))

    # ---- mapping ------------------------------------------------------------------------------
    def scale(self, events: np.ndarray) -> np.ndarray:
        """Float ``(x - offset) * 2**-shift`` (before rounding and saturation), float64 (N,57)."""
        x = as_flat(events)
        return (x - np.asarray(self.offset, np.float64)) * np.ldexp(1.0, -np.asarray(self.shift))

    def to_codes(self, events: np.ndarray, return_saturated: bool = False) -> np.ndarray | tuple[np.ndarray, int]:
        """Integer codes (int64, (N,57)) in [min_code, max_code]; round half to even, saturating.

        With ``return_saturated`` also returns the number of entries that saturated.
        """
        raw = np.rint(np.ldexp(self.scale(events), self.frac))
        codes = np.clip(raw, self.min_code, self.max_code).astype(np.int64)
        if return_saturated:
            return codes, int(np.count_nonzero(raw != codes))
        return codes

    def check_codes(self, codes: np.ndarray) -> np.ndarray:
        """Validate integer codes: shape (N,57), integer dtype, within [min_code, max_code]."""
        c = np.asarray(codes)
        if not np.issubdtype(c.dtype, np.integer):
            raise ValueError(f"codes have dtype {c.dtype}, expected integers")
        if c.ndim != 2 or c.shape[1] != N_INPUTS:
            raise ValueError(f"codes have shape {c.shape}, expected (N, {N_INPUTS})")
        if c.size and (c.min() < self.min_code or c.max() > self.max_code):
            raise ValueError(
                f"codes outside [{self.min_code}, {self.max_code}] for ap_fixed<{self.width},{self.integer}>"
            )
        return c.astype(np.int64, copy=False)

    def codes_to_float(self, codes: np.ndarray) -> np.ndarray:
        """``codes * 2**-frac`` as float64 (N,57): the exact values the quantized model sees."""
        return np.ldexp(self.check_codes(codes).astype(np.float64), -self.frac)

    def to_model_input(self, events: np.ndarray) -> np.ndarray:
        """Events -> the float32 model input ``codes_to_float(to_codes(events))`` (exact in float32 for width <= 24)."""
        codes = self.to_codes(events)
        assert isinstance(codes, np.ndarray)  # without return_saturated: the codes alone
        return self.codes_to_float(codes).astype(np.float32)

    # ---- (de)serialization --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "integer": self.integer,
            "frac": self.frac,
            "shift": list(self.shift),
            "offset": list(self.offset),
            "min_code": self.min_code,
            "max_code": self.max_code,
            "rounding": "half_to_even",
            "overflow": "saturate",
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputFormat:
        try:
            fmt = cls(d["width"], d["integer"], tuple(d["shift"]), tuple(d.get("offset", (0,) * N_INPUTS)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"invalid input format description: {exc!r}") from exc
        if "frac" in d and d["frac"] != fmt.frac:
            raise ValueError(f"input format: frac {d['frac']} != width - integer = {fmt.frac}")
        return fmt

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``input_format.json`` atomically."""
        return write_text_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> InputFormat:
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{path}: no input format file") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from exc
        return cls.from_dict(d)


def slot_mask(events: np.ndarray) -> np.ndarray:
    """float32 (N,57) mask: 1 for the (pT, eta, phi) of filled slots, 0 for zero-padded slots and MET eta.

    A slot is filled when its pT is non-zero (ADC2021: empty slots are all-zero). MET's eta is always 0
    and carries no information, so it is masked too.
    """
    x = as_flat(events).reshape(-1, N_OBJECTS, 3)
    filled = x[:, :, 0] != 0
    mask = np.repeat(filled[:, :, None], 3, axis=2).astype(np.float32)
    mask[:, 0, 1] = 0.0
    return mask.reshape(-1, N_INPUTS)


@dataclasses.dataclass(frozen=True)
class ReconstructionTarget:
    """The AD@L1 reconstruction target: per-slot standardized pT (empty slots exactly 0), raw eta and phi.

    ``pt_mean[i]`` / ``pt_std[i]`` are the mean and standard deviation of the pT of row ``i`` over ALL training
    events (empty slots count as 0), as a StandardScaler on the (N, 19) pT matrix; a filled slot's target is
    ``(pT - pt_mean) / pt_std``, an empty slot's is 0. A row that is never filled in training has std 0 and
    uses 1 instead.
    """

    pt_mean: tuple[float, ...]
    pt_std: tuple[float, ...]

    def __post_init__(self) -> None:
        for name in ("pt_mean", "pt_std"):
            values = tuple(float(v) for v in getattr(self, name))
            if len(values) != N_OBJECTS or not all(math.isfinite(v) for v in values):
                raise ValueError(f"ReconstructionTarget {name} must be {N_OBJECTS} finite numbers, got {values}")
            object.__setattr__(self, name, values)
        if min(self.pt_std) <= 0:
            raise ValueError(f"ReconstructionTarget pt_std must be positive, got {self.pt_std}")

    @classmethod
    def fit(cls, events: np.ndarray) -> ReconstructionTarget:
        pt = as_flat(events).reshape(-1, N_OBJECTS, 3)[:, :, 0]
        if len(pt) == 0:
            raise ValueError("cannot fit a ReconstructionTarget on zero events")
        std = pt.std(axis=0)
        return cls(tuple(pt.mean(axis=0).tolist()), tuple(np.where(std > 0, std, 1.0).tolist()))

    def transform(self, events: np.ndarray) -> np.ndarray:
        """(N, 57) float32 target: standardized pT of filled slots, 0 for empty ones; eta and phi unchanged."""
        x = as_flat(events).reshape(-1, N_OBJECTS, 3).copy()
        pt = x[:, :, 0]
        filled = pt != 0
        x[:, :, 0] = np.where(filled, (pt - np.asarray(self.pt_mean)) / np.asarray(self.pt_std), 0.0)
        return x.reshape(-1, N_INPUTS).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "standardized_pt", "pt_mean": list(self.pt_mean), "pt_std": list(self.pt_std)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReconstructionTarget:
        try:
            return cls(tuple(d["pt_mean"]), tuple(d["pt_std"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"invalid reconstruction target description: {exc!r}") from exc

    def save(self, path: str | os.PathLike) -> Path:
        return write_text_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> ReconstructionTarget:
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{path}: no reconstruction target file") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from exc
