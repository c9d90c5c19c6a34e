"""An exact object-count table added to a score: ``score + table[n]``, ``n`` the number of counted inputs that
hold an object.

The trigger counts, among chosen inputs (e.g. the pT of the 8 lepton slots), those whose code differs from
the code an empty slot gets (``empty``; 0 unless the input format subtracts an offset), and adds
``table[n]`` (codes of the score's output format, ``n = 0 .. len(inputs)``). In firmware this is one
comparison with a constant per input, a popcount and a table of ``len(inputs) + 1`` entries: exact, not
learned. The teacher-student trigger uses it for the lepton-count density of the background, which a
trigger-sized regressor does not learn (see :class:`l1ad.models.train.StudentInfo`).

The codes are the codes the trigger takes (``FixedPointModel.raw_format``). A slot whose pT is non-zero but
rounds to the empty code counts as empty: the float definition (pT > 0) and the firmware then differ, which
only an object below half a code step of its pT can do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from l1ad.fixed.formats import FixedFormat, as_codes

__all__ = ["CountTerm", "widened_format"]


@dataclass
class CountTerm:
    """``table[number of inputs[k] with code != empty[k]]``, in codes of the score's output format."""

    inputs: tuple[int, ...]
    empty: tuple[int, ...]
    table: np.ndarray  # int64 (len(inputs) + 1,), >= 0
    name: str = "objects"

    def __post_init__(self) -> None:
        self.inputs = tuple(int(i) for i in self.inputs)
        self.empty = tuple(int(e) for e in self.empty)
        self.table = as_codes(self.table, f"count term {self.name!r} table").reshape(-1)
        if not self.inputs:
            raise ValueError(f"count term {self.name!r}: no inputs to count")
        if len(set(self.inputs)) != len(self.inputs) or min(self.inputs) < 0:
            raise ValueError(f"count term {self.name!r}: inputs must be distinct indices >= 0, got {self.inputs}")
        if len(self.empty) != len(self.inputs):
            raise ValueError(f"count term {self.name!r}: {len(self.empty)} empty codes for {len(self.inputs)} inputs")
        if self.table.shape != (len(self.inputs) + 1,):
            raise ValueError(
                f"count term {self.name!r}: table has {self.table.size} entries, expected {len(self.inputs) + 1}"
            )
        if self.table.min() < 0:
            raise ValueError(f"count term {self.name!r}: table entries must be >= 0 (an unsigned addition)")

    @property
    def max_count(self) -> int:
        return len(self.inputs)

    def check_inputs(self, n_inputs: int) -> None:
        """Raise if an input index lies outside a model with ``n_inputs`` inputs."""
        if max(self.inputs) >= n_inputs:
            raise ValueError(f"count term {self.name!r}: input {max(self.inputs)} outside the model's {n_inputs}")

    def counts(self, raw_codes: np.ndarray) -> np.ndarray:
        """Number of counted inputs holding an object, per event (int64 (N,)) of int (N, n_inputs) codes."""
        codes = np.asarray(raw_codes)
        return (codes[:, list(self.inputs)] != np.asarray(self.empty)).sum(axis=1).astype(np.int64)

    def codes(self, raw_codes: np.ndarray) -> np.ndarray:
        """``table[count]`` per event (int64 codes of the score's output format)."""
        return self.table[self.counts(raw_codes)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "inputs": list(self.inputs),
            "empty": list(self.empty),
            "table": [int(v) for v in self.table],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CountTerm:
        return cls(tuple(d["inputs"]), tuple(d["empty"]), np.asarray(d["table"], dtype=np.int64), str(d["name"]))


def widened_format(own: FixedFormat, count: CountTerm) -> FixedFormat:
    """The output format holding a score of format ``own`` plus any entry of ``count``'s table (exact)."""
    top = own.max_code + int(count.table.max())
    bound = max(top, abs(own.min_code))
    return FixedFormat.for_range(bound, own.frac, signed=own.signed, rounding=own.rounding, overflow=own.overflow)
