"""Input-code test vectors for checking any form of a FixedPointModel against the golden model.

Corner cases (zeros, every input at its maximum and minimum, alternating and one-hot extremes, +-1 LSB),
then physics events' codes when given, then in-range random codes: every other vector uniform over the full
range, the others at mixed magnitudes (down to a few LSBs). Codes are of ``model.raw_format`` (the raw type of a
model with an input-scaling stage).
"""

from __future__ import annotations

import numpy as np

from l1ad.fixed.model import FixedPointModel

__all__ = ["corner_codes", "random_codes", "verification_codes"]


def corner_codes(model: FixedPointModel) -> np.ndarray:
    """Zeros, all max, all min, alternating extremes, +-1, every third input at max, one-hot extremes."""
    fmt, n = model.raw_format, model.n_inputs
    idx = np.arange(n)
    rows = [
        np.zeros(n),
        np.full(n, fmt.max_code),
        np.full(n, fmt.min_code),
        np.where(idx % 2 == 0, fmt.max_code, fmt.min_code),
        np.where(idx % 2 == 0, fmt.min_code, fmt.max_code),
        np.ones(n),
        -np.ones(n) if fmt.signed else np.zeros(n),
        np.where(idx % 3 == 0, fmt.max_code, 0),
    ]
    for j in range(n):
        for value in (fmt.max_code, fmt.min_code):
            row = np.zeros(n)
            row[j] = value
            rows.append(row)
    return np.asarray(rows, dtype=np.int64)


def random_codes(model: FixedPointModel, n: int, seed: int = 0) -> np.ndarray:
    """In-range random codes: even rows uniform over the full range, odd rows at mixed magnitudes."""
    rng = np.random.default_rng(seed)
    fmt = model.raw_format
    codes = rng.integers(fmt.min_code, fmt.max_code + 1, (n, model.n_inputs), dtype=np.int64)
    shifts = rng.integers(0, max(fmt.width - 1, 1), size=(n, 1))
    shifts[::2] = 0
    return codes >> shifts


def verification_codes(model: FixedPointModel, n: int, data: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Corner cases + ``data`` codes + random codes: ``n`` vectors in all (at least the corner cases)."""
    parts = [corner_codes(model)]
    if data is not None and len(data):
        parts.append(np.asarray(data, dtype=np.int64))
    have = sum(len(p) for p in parts)
    if have < n:
        parts.append(random_codes(model, n - have, seed))
    return np.concatenate(parts)[: max(n, len(parts[0]))]
