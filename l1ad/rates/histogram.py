"""Weighted histogram of integer score codes whose sums are EXACT (independent of chunking and order).

Rates are tail sums of a histogram of integer score codes, so the threshold for a target rate can be found
exactly from the histogram alone. To make the streamed, the in-memory and the Dask result equal bit for bit
(not only to rounding), weights are summed exactly: every float64 weight is ``M * 2**(e - 53)`` with an
integer mantissa ``M < 2**53`` (:func:`numpy.frexp`); per (code, e) the mantissas are summed as two int64
halves (high and low 26/27 bits), which cannot overflow before ~2**36 events. Integer sums are associative,
so any grouping of events into chunks gives the same arrays. Totals are turned into floats only at the end,
with one correct rounding: vectorized when all weights share one binary exponent (unit weights), else with
Python big integers (slower for many distinct codes, same result).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["IntHistogram"]

_MANTISSA_BITS = 53
_SPLIT_BITS = 26
_LOW_MASK = (1 << _SPLIT_BITS) - 1
#: Totals are exact integers in units of 2**_UNIT_EXP (below the smallest subnormal's mantissa unit).
_UNIT_EXP = -1126
_UNIT_DENOMINATOR = 1 << -_UNIT_EXP


@dataclass(frozen=True)
class _ExactSums:
    """Exact sums of non-negative float64 values per integer key, grouped by (key, binary exponent)."""

    key: np.ndarray  # int64, sorted (key, exp) groups
    exp: np.ndarray  # int64
    high: np.ndarray  # int64, sum of mantissa >> 26
    low: np.ndarray  # int64, sum of mantissa & (2**26 - 1)

    @staticmethod
    def _grouped(key: np.ndarray, exp: np.ndarray, high: np.ndarray, low: np.ndarray) -> _ExactSums:
        if key.size == 0:
            empty = np.zeros(0, np.int64)
            return _ExactSums(empty, empty, empty, empty)
        order = np.argsort(key, kind="stable") if exp.min() == exp.max() else np.lexsort((exp, key))
        key, exp, high, low = key[order], exp[order], high[order], low[order]
        starts = np.flatnonzero(np.r_[True, (np.diff(key) != 0) | (np.diff(exp) != 0)])
        return _ExactSums(key[starts], exp[starts], np.add.reduceat(high, starts), np.add.reduceat(low, starts))

    @classmethod
    def of(cls, key: np.ndarray, values: np.ndarray) -> _ExactSums:
        mantissa, exp = np.frexp(values)
        m = np.ldexp(mantissa, _MANTISSA_BITS).astype(np.int64)  # exact: 53-bit integer
        return cls._grouped(key.astype(np.int64), exp.astype(np.int64), m >> _SPLIT_BITS, m & _LOW_MASK)

    @classmethod
    def merge_all(cls, parts: list[_ExactSums]) -> _ExactSums:
        return cls._grouped(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("key", "exp", "high", "low")))

    def floats(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """(sum per key, sum of keys strictly above each key, total) for sorted unique ``keys`` (a superset of the
        stored keys), each the exact sum rounded once to float64."""
        nonzero = (self.high != 0) | (self.low != 0)
        exps = np.unique(self.exp[nonzero])
        if len(exps) <= 1:
            fast = self._floats_one_exponent(keys, nonzero, int(exps[0]) if len(exps) else 0)
            if fast is not None:
                return fast
        exact = self._exact_totals(keys)
        above, running = np.zeros(len(keys)), 0
        for i in range(len(keys) - 1, -1, -1):
            above[i] = _to_float(running)
            running += exact[i]
        return np.array([_to_float(v) for v in exact], dtype=np.float64), above, _to_float(running)

    def _floats_one_exponent(
        self, keys: np.ndarray, nonzero: np.ndarray, exp: int
    ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """Vectorized :meth:`floats` when all non-zero groups share one exponent (e.g. unit weights).

        Sums are int64 (high, low) pairs H, L < 2**53, so ``float(H) * 2**26 + float(L)`` is one correctly
        rounded addition of exact operands: the same float as the exact big-integer path.
        """
        high = np.zeros(len(keys), np.int64)
        low = np.zeros(len(keys), np.int64)
        index = np.searchsorted(keys, self.key[nonzero])
        high[index], low[index] = self.high[nonzero], self.low[nonzero]  # one group per key
        high_above = np.cumsum(high[::-1])[::-1] - high
        low_above = np.cumsum(low[::-1])[::-1] - low
        high_total, low_total = int(high.sum()), int(low.sum())
        if max(high_total, low_total) >= 1 << 53 or exp - _MANTISSA_BITS < -1000:
            return None  # beyond the exact range of this path: use the big-integer one

        def to_float(h: np.ndarray, lo: np.ndarray) -> np.ndarray:
            return np.ldexp(
                h.astype(np.float64) * float(1 << _SPLIT_BITS) + lo.astype(np.float64), exp - _MANTISSA_BITS
            )

        total = float(to_float(np.array([high_total]), np.array([low_total]))[0])
        return to_float(high, low), to_float(high_above, low_above), total

    def _exact_totals(self, keys: np.ndarray) -> list[int]:
        """Exact sum per key (Python ints in units 2**_UNIT_EXP)."""
        out = [0] * len(keys)
        index = np.searchsorted(keys, self.key)
        shifts = self.exp - _MANTISSA_BITS - _UNIT_EXP
        for i, high, low, shift in zip(
            index.tolist(), self.high.tolist(), self.low.tolist(), shifts.tolist(), strict=True
        ):
            out[i] += ((high << _SPLIT_BITS) + low) << shift
        return out


def _to_float(exact: int) -> float:
    return exact / _UNIT_DENOMINATOR  # int / int: correctly rounded


@dataclass(frozen=True, eq=False)
class IntHistogram:
    """Number of events, sum of weights and sum of squared weights per integer key (e.g. a score code).

    Build with :meth:`of`, combine with :meth:`merged` (or ``+``); equal inputs give equal histograms
    whatever the chunking. ``keys`` are sorted and unique.
    """

    keys: np.ndarray
    counts: np.ndarray
    _w: _ExactSums = field(repr=False)
    _w2: _ExactSums = field(repr=False)

    @classmethod
    def of(cls, keys: np.ndarray, weights: np.ndarray | None = None) -> IntHistogram:
        """Histogram of integer ``keys`` (N,) with non-negative finite ``weights`` (N,) (ones when None).

        The caller validates; see :func:`l1ad.rates.emulate.check_scores` / ``check_weights``.
        """
        keys = np.asarray(keys, dtype=np.int64)
        w = np.ones(len(keys)) if weights is None else np.asarray(weights, dtype=np.float64)
        unique, counts = np.unique(keys, return_counts=True)
        return cls(unique, counts.astype(np.int64), _ExactSums.of(keys, w), _ExactSums.of(keys, w * w))

    @classmethod
    def empty(cls) -> IntHistogram:
        return cls.of(np.zeros(0, np.int64))

    def merged(self, other: IntHistogram) -> IntHistogram:
        """The histogram of the union of both event sets."""
        return IntHistogram.merge_all([self, other])

    @classmethod
    def merge_all(cls, hists: list[IntHistogram]) -> IntHistogram:
        """The histogram of the union of all event sets (one regrouping: cheaper than pairwise merges)."""
        if not hists:
            return cls.empty()
        keys = np.concatenate([h.keys for h in hists])
        counts = np.concatenate([h.counts for h in hists])
        unique, inverse = np.unique(keys, return_inverse=True)
        summed = np.zeros(len(unique), np.int64)
        np.add.at(summed, inverse, counts)
        return IntHistogram(
            unique, summed, _ExactSums.merge_all([h._w for h in hists]), _ExactSums.merge_all([h._w2 for h in hists])
        )

    __add__ = merged

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IntHistogram):
            return NotImplemented
        return all(np.array_equal(a, b) for a, b in zip(self._arrays(), other._arrays(), strict=True))

    def _arrays(self) -> list[np.ndarray]:
        return [
            self.keys,
            self.counts,
            *(getattr(s, f) for s in (self._w, self._w2) for f in ("key", "exp", "high", "low")),
        ]

    @property
    def n_events(self) -> int:
        return int(self.counts.sum())

    @cached_property
    def _w_floats(self) -> tuple[np.ndarray, np.ndarray, float]:
        return self._w.floats(self.keys)

    @cached_property
    def _w2_floats(self) -> tuple[np.ndarray, np.ndarray, float]:
        return self._w2.floats(self.keys)

    @property
    def sum_weights(self) -> np.ndarray:
        """float64 (K,): sum of weights per key."""
        return self._w_floats[0]

    @property
    def sum_weights2(self) -> np.ndarray:
        """float64 (K,): sum of squared weights per key."""
        return self._w2_floats[0]

    @property
    def weight_above(self) -> np.ndarray:
        """float64 (K,): sum of weights of events with key > keys[i] (exact, then rounded once)."""
        return self._w_floats[1]

    @property
    def weight2_above(self) -> np.ndarray:
        """float64 (K,): sum of squared weights of events with key > keys[i]."""
        return self._w2_floats[1]

    @property
    def total_weight(self) -> float:
        return self._w_floats[2]

    @property
    def total_weight2(self) -> float:
        return self._w2_floats[2]

    def count_above(self, threshold: int) -> int:
        """Number of events (unweighted) with key > ``threshold``."""
        i = int(np.searchsorted(self.keys, threshold, side="right"))
        return int(self.counts[i:].sum())

    def above(self, threshold: int) -> tuple[float, float]:
        """(sum of weights, sum of squared weights) of events with key > ``threshold``."""
        i = int(np.searchsorted(self.keys, threshold, side="right"))  # first key > threshold
        if i == len(self.keys):
            return 0.0, 0.0
        if i == 0:
            return self.total_weight, self.total_weight2
        return float(self.weight_above[i - 1]), float(self.weight2_above[i - 1])
