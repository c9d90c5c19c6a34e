"""Input-scaling descriptions (:class:`~l1ad.fixed.scaling.InputScaling`) from a JSON file or a C++ header.

JSON: ``{"raw_type": "ap_fixed<16,13>", "offsets": [...], "shifts": [...]}`` (``raw_type`` optional when given
on the command line). C++ header: two initialised constant arrays, one whose name contains ``offset`` and one
whose name contains ``shift`` (as a deployed emulator declares them); the raw type comes from the command line, or
from the offsets array's element type when that is an ``ap_fixed``. Offsets are values of the raw type (exactly
representable), shifts integers (> 0 right, < 0 left). Every problem is reported naming the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from l1ad.fixed.formats import FixedFormat, parse_ap_type
from l1ad.fixed.scaling import InputScaling
from l1ad.imports import cpp

__all__ = ["ScalingFileError", "read_input_scaling"]


class ScalingFileError(ValueError):
    """The input-scaling file cannot be used; the message names the file and the problem."""


def _numbers(path: Path, what: str, values: list) -> list[float]:
    try:
        return [float(str(v).rstrip("fFuUlL")) for v in values]
    except ValueError as exc:
        raise ScalingFileError(f"{path}: {what} has an entry that is not a number ({exc})") from exc


def _from_json(path: Path) -> tuple[list[float], list[float], str | None]:
    try:
        d = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ScalingFileError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(d, dict):
        raise ScalingFileError(f"{path}: expected an object with offsets and shifts")
    offsets, shifts = d.get("offsets", d.get("offset")), d.get("shifts", d.get("shift"))
    if not isinstance(offsets, list) or not isinstance(shifts, list):
        raise ScalingFileError(f"{path}: needs the lists 'offsets' and 'shifts'")
    raw = d.get("raw_type")
    return _numbers(path, "offsets", offsets), _numbers(path, "shifts", shifts), raw if isinstance(raw, str) else None


def _from_header(path: Path) -> tuple[list[float], list[float], str | None]:
    found = cpp.arrays(path.read_text(errors="replace"))
    chosen = {}
    for role in ("offset", "shift"):
        names = [name for name in found if role in name.lower()]
        if len(names) != 1:
            raise ScalingFileError(
                f"{path}: expected one initialised array named like '{role}', found "
                f"{names or 'none'} (arrays: {', '.join(found) or 'none'})"
            )
        chosen[role] = found[names[0]]
    for array in chosen.values():
        declared = array.size.strip()
        if declared and declared.isdigit() and int(declared) != len(array.values):
            raise ScalingFileError(
                f"{path}: array {array.name} is declared with {declared} entries "
                f"but initialised with {len(array.values)}"
            )
    element = re.search(r"ap_u?fixed\s*<[^<>]*>|ap_u?int\s*<[^<>]*>", chosen["offset"].type)
    return (
        _numbers(path, chosen["offset"].name, chosen["offset"].values),
        _numbers(path, chosen["shift"].name, chosen["shift"].values),
        element.group(0) if element else None,
    )


def read_input_scaling(path: str | Path, n_inputs: int, raw_type: str | FixedFormat | None = None) -> InputScaling:
    """The input-scaling stage described by ``path`` (JSON or C++ header) for a model with ``n_inputs`` inputs."""
    path = Path(path)
    if not path.is_file():
        raise ScalingFileError(f"{path}: no such input-scaling file")
    offsets, shifts, file_type = _from_json(path) if path.suffix.lower() == ".json" else _from_header(path)
    for what, values in (("offsets", offsets), ("shifts", shifts)):
        if len(values) != n_inputs:
            raise ScalingFileError(f"{path}: {len(values)} {what}, but the model has {n_inputs} inputs")
    if raw_type is None and file_type is None:
        raise ScalingFileError(f"{path}: the raw type is not given (--raw-type 'ap_fixed<W,I>')")
    try:
        raw = raw_type if isinstance(raw_type, FixedFormat) else parse_ap_type(raw_type or file_type or "")
    except ValueError as exc:
        raise ScalingFileError(f"{path}: raw type: {exc}") from exc
    codes = np.ldexp(np.asarray(offsets, dtype=np.float64), raw.frac)
    bad = np.flatnonzero((codes != np.rint(codes)) | (codes < raw.min_code) | (codes > raw.max_code))
    if bad.size:
        raise ScalingFileError(
            f"{path}: offset {offsets[bad[0]]} (input {bad[0]}) is not a value of the raw type {raw.ap_type()}"
        )
    shift = np.asarray(shifts, dtype=np.float64)
    bad = np.flatnonzero((shift != np.rint(shift)) | (np.abs(shift) >= raw.width))
    if bad.size:
        raise ScalingFileError(
            f"{path}: shift {shifts[bad[0]]} (input {bad[0]}) must be an integer with |shift| < {raw.width}"
        )
    return InputScaling(raw, codes.astype(np.int64), shift.astype(np.int64))
