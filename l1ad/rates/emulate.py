"""L1 rate emulation on integer score codes.

rate(t) = f_coll x (weighted) fraction of background events with score > t (strictly greater), with
f_coll = 40 MHz by default or n_bunches x 11.245 kHz (LHC revolution frequency). The threshold for a
target rate is the smallest INTEGER code t with rate(t) <= target: the value the firmware loads.

Uncertainties: for a selected fraction p = W_pass / W_tot with weights w,
var(p) = [(1 - p)^2 sum_pass w^2 + p^2 sum_fail w^2] / W_tot^2, which is the binomial p (1 - p) / N for
unit weights (the sqrt(sum w^2) estimate for weighted events).

Everything here works on :class:`~l1ad.rates.histogram.IntHistogram` s of score codes, so results are the
same whether the histogram was filled in memory, chunk by chunk or on Dask.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from l1ad.rates.histogram import IntHistogram

__all__ = [
    "LHC_REVOLUTION_HZ",
    "DEFAULT_COLLISION_HZ",
    "DEFAULT_TARGET_RATES_HZ",
    "MAX_BUNCHES",
    "ScoreFunction",
    "RateAtThreshold",
    "TargetResult",
    "collision_frequency",
    "parse_rate",
    "format_rate",
    "check_scores",
    "check_weights",
    "score_histogram",
    "weighted_fraction",
    "fraction_above",
    "rate_at_threshold",
    "threshold_for_rate",
    "rate_curve",
    "efficiency_curve",
    "emulate",
]

#: LHC revolution frequency [Hz]: one bunch crossing per filled bunch per turn.
LHC_REVOLUTION_HZ = 11_245.0
DEFAULT_COLLISION_HZ = 40e6
DEFAULT_TARGET_RATES_HZ = (100.0, 500.0, 1_000.0, 5_000.0, 10_000.0)
#: Maximum number of bunches in the LHC (3564 25-ns buckets).
MAX_BUNCHES = 3564

#: A score function: events (N, 19, 4) -> integer score codes (N,).
ScoreFunction = Callable[[np.ndarray], np.ndarray]


def collision_frequency(n_bunches: int | None = None) -> float:
    """Bunch-crossing frequency in Hz: 40 MHz, or ``n_bunches`` x 11.245 kHz."""
    if n_bunches is None:
        return DEFAULT_COLLISION_HZ
    if int(n_bunches) != n_bunches or not 1 <= n_bunches <= MAX_BUNCHES:
        raise ValueError(f"number of bunches must be an integer in [1, {MAX_BUNCHES}], got {n_bunches}")
    return int(n_bunches) * LHC_REVOLUTION_HZ


_RATE_UNITS = {"hz": 1.0, "khz": 1e3, "mhz": 1e6}
_RATE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([kKmM]?[hH][zZ])?\s*$")


def parse_rate(text: str | float) -> float:
    """A rate in Hz from '1kHz', '500Hz', '0.5 kHz', '2e3' (bare numbers are Hz)."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        match = _RATE_RE.match(str(text))
        if not match:
            raise ValueError(
                f"cannot parse rate {text!r}: expected a number with an optional unit Hz, kHz or MHz "
                "(e.g. '1kHz', '500Hz', '0.5 kHz')"
            )
        value = float(match.group(1)) * _RATE_UNITS[(match.group(2) or "hz").lower()]
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"rate must be a positive finite number of Hz, got {text!r}")
    return value


def format_rate(hz: float) -> str:
    """'1 kHz', '500 Hz', '2.5 MHz'."""
    for unit, scale in (("MHz", 1e6), ("kHz", 1e3)):
        if abs(hz) >= scale:
            return f"{hz / scale:.4g} {unit}"
    return f"{hz:.4g} Hz"


# ---- input checks ---------------------------------------------------------------------------------
def check_scores(scores: np.ndarray, n_events: int | None = None, source: str = "scores") -> np.ndarray:
    """Validate score codes and return them as int64 (N,).

    Integer arrays pass; float arrays must hold whole numbers (no NaN/inf): thresholds are integer codes.
    """
    arr = np.asarray(scores)
    if arr.ndim != 1:
        raise ValueError(f"{source}: scores have shape {arr.shape}, expected (N,)")
    if n_events is not None and len(arr) != n_events:
        raise ValueError(f"{source}: {len(arr)} scores for {n_events} events")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind != "f":
        raise ValueError(f"{source}: scores have dtype {arr.dtype}, expected integer score codes")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{source}: NaN or inf scores in {int(bad.sum())} event(s), first at event {int(np.flatnonzero(bad)[0])}"
        )
    if np.any(arr != np.round(arr)) or np.any(np.abs(arr) >= 2.0**62):
        raise ValueError(
            f"{source}: scores are not integer codes (fractional values); thresholds are integer "
            "score codes, pass the golden model's codes"
        )
    return arr.astype(np.int64)


def check_weights(weights: np.ndarray | None, n_events: int, source: str = "weights") -> np.ndarray:
    """Validate per-event weights: shape (N,), finite, non-negative (ones when None)."""
    if weights is None:
        return np.ones(n_events, dtype=np.float64)
    w = np.asarray(weights)
    if w.dtype.kind not in "iuf":
        raise ValueError(f"{source}: weights have dtype {w.dtype}, expected numbers")
    w = w.astype(np.float64, copy=False)
    if w.shape != (n_events,):
        raise ValueError(f"{source}: weights have shape {w.shape}, but there are {n_events} events (weights mismatch)")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{source}: weights contain NaN or inf")
    if np.any(w < 0):
        raise ValueError(f"{source}: weights contain negative values")
    return w


def score_histogram(scores: np.ndarray, weights: np.ndarray | None = None, source: str = "scores") -> IntHistogram:
    """Histogram of score codes (validated) with optional per-event weights."""
    s = check_scores(scores, source=source)
    return IntHistogram.of(s, check_weights(weights, len(s), source))


def _check_sample(hist: IntHistogram, name: str) -> None:
    if hist.n_events == 0:
        raise ValueError(f"{name}: empty sample (0 events)")
    if hist.total_weight <= 0:
        raise ValueError(f"{name}: total weight of the sample is zero")


def _check_target(target_hz: float, f_coll_hz: float) -> float:
    target = float(target_hz)
    if not math.isfinite(target) or target <= 0:
        raise ValueError(f"target rate must be > 0 Hz, got {target_hz}")
    if target >= f_coll_hz:
        raise ValueError(
            f"target rate {format_rate(target)} is not below the collision frequency {format_rate(f_coll_hz)}"
        )
    return target


# ---- fractions, rates, thresholds -----------------------------------------------------------------
def weighted_fraction(w_pass: float, w2_pass: float, w_tot: float, w2_tot: float) -> tuple[float, float]:
    """(p, sigma_p) for p = w_pass / w_tot (see the module doc for the variance)."""
    p = w_pass / w_tot
    var = ((1 - p) ** 2 * w2_pass + p**2 * max(w2_tot - w2_pass, 0.0)) / w_tot**2
    return p, math.sqrt(max(var, 0.0))


def fraction_above(hist: IntHistogram, threshold: int, name: str = "sample") -> tuple[float, float]:
    """(weighted fraction of events with score > ``threshold``, its statistical uncertainty)."""
    _check_sample(hist, name)
    return weighted_fraction(*hist.above(int(threshold)), hist.total_weight, hist.total_weight2)


@dataclass(frozen=True)
class RateAtThreshold:
    """Rate of a background sample at one integer threshold."""

    threshold: int
    fraction: float
    fraction_err: float
    rate_hz: float
    rate_err_hz: float
    n_events_above: int  # unweighted background events passing: the statistics behind the rate

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def rate_at_threshold(
    background: IntHistogram, threshold: int, f_coll_hz: float = DEFAULT_COLLISION_HZ
) -> RateAtThreshold:
    """Rate (and uncertainty) of events with score > ``threshold``."""
    p, err = fraction_above(background, threshold, "background")
    return RateAtThreshold(
        int(threshold), p, err, p * f_coll_hz, err * f_coll_hz, background.count_above(int(threshold))
    )


def threshold_for_rate(background: IntHistogram, target_hz: float, f_coll_hz: float = DEFAULT_COLLISION_HZ) -> int:
    """The smallest integer threshold t with rate(t) <= ``target_hz`` (selection: score > t).

    The rate only changes where t crosses a score code present in the sample, so t is one of those codes.
    """
    _check_sample(background, "background")
    target = _check_target(target_hz, f_coll_hz)
    rates = background.weight_above / background.total_weight * f_coll_hz  # rate at t = keys[i]
    ok = np.flatnonzero(rates <= target)  # non-empty: the last code always gives rate 0
    return int(background.keys[ok[0]])


def rate_curve(
    background: IntHistogram, f_coll_hz: float = DEFAULT_COLLISION_HZ
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, rates, rate uncertainties) at every code present, thresholds ascending."""
    _check_sample(background, "background")
    w, w2 = background.weight_above, background.weight2_above
    p = w / background.total_weight
    var = ((1 - p) ** 2 * w2 + p**2 * np.maximum(background.total_weight2 - w2, 0.0)) / background.total_weight**2
    return background.keys.copy(), p * f_coll_hz, np.sqrt(np.maximum(var, 0.0)) * f_coll_hz


def efficiency_curve(signal: IntHistogram, thresholds: np.ndarray, name: str = "signal") -> np.ndarray:
    """Weighted signal efficiency (score > t) at each integer threshold ``t``."""
    _check_sample(signal, name)
    t = np.asarray(thresholds, dtype=np.int64)
    i = np.searchsorted(signal.keys, t, side="right")
    above = np.r_[signal.total_weight, signal.weight_above][i]  # index 0 -> all events pass
    above = np.where(i == len(signal.keys), 0.0, above)
    return above / signal.total_weight


@dataclass(frozen=True)
class TargetResult:
    """Threshold for one target rate, the rate it gives, and each signal's efficiency there."""

    target_hz: float
    rate: RateAtThreshold
    efficiencies: dict[str, tuple[float, float]]

    @property
    def threshold(self) -> int:
        return self.rate.threshold

    def to_dict(self) -> dict:
        return {
            "target_hz": self.target_hz,
            **self.rate.to_dict(),
            "signals": {name: {"efficiency": e, "efficiency_err": de} for name, (e, de) in self.efficiencies.items()},
        }


def emulate(
    background: IntHistogram,
    signals: Mapping[str, IntHistogram] | None = None,
    target_rates_hz: Sequence[float] = DEFAULT_TARGET_RATES_HZ,
    f_coll_hz: float = DEFAULT_COLLISION_HZ,
) -> list[TargetResult]:
    """Thresholds for each target rate and every signal's efficiency (with uncertainty) at them."""
    if len(target_rates_hz) == 0:
        raise ValueError("no target rates given")
    for name, hist in (signals or {}).items():
        _check_sample(hist, name)
    results = []
    for target in target_rates_hz:
        t = threshold_for_rate(background, target, f_coll_hz)
        effs = {name: fraction_above(hist, t, name) for name, hist in (signals or {}).items()}
        results.append(TargetResult(float(target), rate_at_threshold(background, t, f_coll_hz), effs))
    return results
