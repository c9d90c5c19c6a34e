"""Rate emulation on integer score codes: analytic rates, thresholds, weights, exact sums, errors."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest

from l1ad.rates.emulate import (
    DEFAULT_COLLISION_HZ,
    collision_frequency,
    efficiency_curve,
    emulate,
    fraction_above,
    parse_rate,
    rate_at_threshold,
    rate_curve,
    score_histogram,
    threshold_for_rate,
)
from l1ad.rates.histogram import IntHistogram


def uniform_codes(n_codes: int = 1000, per_code: int = 40) -> np.ndarray:
    """Every code 0..n_codes-1 exactly ``per_code`` times: P(score > t) = (n_codes - 1 - t) / n_codes."""
    return np.repeat(np.arange(n_codes), per_code)[np.random.default_rng(3).permutation(n_codes * per_code)]


def test_rate_of_uniform_codes_equals_analytic_value():
    h = score_histogram(uniform_codes())
    for t in (-5, 0, 500, 989, 998, 999, 2000):
        p = min(max((999 - t) / 1000, 0.0), 1.0)
        r = rate_at_threshold(h, t)
        assert r.rate_hz == pytest.approx(40e6 * p, rel=1e-12, abs=0)
        assert r.rate_err_hz == pytest.approx(40e6 * math.sqrt(p * (1 - p) / 40_000), rel=1e-9, abs=1e-9)
    assert rate_at_threshold(h, 989).n_events_above == 10 * 40
    # 40 MHz x (999 - t) / 1000 <= 100 kHz  <=>  t >= 996.5: smallest integer 997 (rate 80 kHz)
    assert threshold_for_rate(h, 100e3) == 997
    assert threshold_for_rate(h, 80e3) == 997
    assert threshold_for_rate(h, 79_999.0) == 998
    assert threshold_for_rate(h, 1.0) == 999  # nothing passes above the largest code
    f = collision_frequency(2544)
    assert f == pytest.approx(2544 * 11_245.0)
    assert rate_at_threshold(h, 989, f).rate_hz == pytest.approx(f * 0.01)


def test_rate_of_geometric_scores_matches_survival_function_within_errors():
    q = 0.97  # P(S > t) = q**(t+1) for S = number of failures before a success, success prob 1 - q
    scores = np.random.default_rng(7).geometric(1 - q, 400_000) - 1
    h = score_histogram(scores)
    for t in (0, 10, 50, 120):
        r = rate_at_threshold(h, t)
        expected = DEFAULT_COLLISION_HZ * q ** (t + 1)
        assert abs(r.rate_hz - expected) < 5 * r.rate_err_hz, (t, r, expected)
    t = threshold_for_rate(h, 1e6)  # analytic: q**(t+1) <= 1/40  ->  t >= ln(1/40)/ln(q) - 1 = 120.1
    assert abs(t - (math.log(1e6 / DEFAULT_COLLISION_HZ) / math.log(q) - 1)) < 6


def test_threshold_is_minimal_and_monotonic_in_target_rate():
    h = score_histogram(np.random.default_rng(1).poisson(300, 50_000) + np.arange(50_000) % 7)
    targets = np.geomspace(50, 1e7, 40)
    thresholds = [threshold_for_rate(h, r) for r in targets]
    assert all(isinstance(t, int) for t in thresholds)
    assert all(a >= b for a, b in pairwise(thresholds)), thresholds
    assert thresholds[0] > thresholds[-1]
    for target, t in zip(targets, thresholds, strict=True):
        assert rate_at_threshold(h, t).rate_hz <= target
        assert rate_at_threshold(h, t - 1).rate_hz > target  # one code lower is too much


def test_weighted_fraction_and_uncertainty_by_hand():
    h = score_histogram(np.array([5, 10]), np.array([1.0, 3.0]))
    p, err = fraction_above(h, 5)
    assert p == 0.75
    # var = [(1-p)^2 * 9 + p^2 * 1] / 4^2 = (0.5625 + 0.5625) / 16
    assert err == pytest.approx(math.sqrt(1.125 / 16), rel=1e-14)
    assert fraction_above(h, 4) == (1.0, 0.0)
    assert fraction_above(h, 10) == (0.0, 0.0)


def test_integer_weights_equal_replicated_events():
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 300, 5_000)
    weights = rng.integers(0, 5, 5_000)
    weighted = score_histogram(scores, weights.astype(float))
    replicated = score_histogram(np.repeat(scores, weights))
    for target in (1e3, 1e5, 3e6):
        t = threshold_for_rate(weighted, target)
        assert t == threshold_for_rate(replicated, target)
        assert rate_at_threshold(weighted, t).rate_hz == rate_at_threshold(replicated, t).rate_hz


def test_histogram_sums_are_exact_whatever_the_chunking():
    rng = np.random.default_rng(5)
    scores = rng.integers(-50, 50, 20_000)
    weights = rng.lognormal(0, 3, 20_000)  # many binades: float summation order would matter
    whole = IntHistogram.of(scores, weights)
    cuts = np.sort(rng.choice(np.arange(1, 20_000), 25, replace=False))
    parts = [IntHistogram.of(s, w) for s, w in zip(np.split(scores, cuts), np.split(weights, cuts), strict=True)]
    merged = parts[0]
    for part in reversed(parts[1:]):  # other order too
        merged = part + merged
    assert merged == whole
    assert whole.total_weight == math.fsum(weights)  # exact sum, rounded once
    code = int(whole.keys[10])
    assert whole.sum_weights[10] == math.fsum(weights[scores == code])
    assert whole.above(0)[0] == math.fsum(weights[scores > 0])
    assert whole.above(0)[1] == math.fsum(weights[scores > 0] ** 2)


def test_single_exponent_fast_path_is_correctly_rounded():
    rng = np.random.default_rng(9)
    scores = rng.integers(0, 5_000, 30_000)
    for weights in (np.ones(30_000), np.full(30_000, 0.1), np.where(rng.random(30_000) < 0.3, 0.0, 0.7)):
        h = IntHistogram.of(scores, weights)
        assert h.total_weight == math.fsum(weights)
        for t in (-1, 100, 2500, 4998):
            assert h.above(t) == (math.fsum(weights[scores > t]), math.fsum(weights[scores > t] ** 2))
        parts = IntHistogram.merge_all([IntHistogram.of(scores[i::3], weights[i::3]) for i in range(3)])
        assert parts == h and np.array_equal(parts.weight_above, h.weight_above)


def test_emulate_signal_efficiencies():
    bkg = score_histogram(uniform_codes())
    sig = score_histogram(np.arange(900, 1100))  # 200 codes, one event each
    results = emulate(bkg, {"sig": sig}, [100e3, 1e6])
    assert [r.threshold for r in results] == [997, 974]
    # codes > 997 among 900..1099: 102 of 200; > 974: 125 of 200
    assert results[0].efficiencies["sig"][0] == 102 / 200
    assert results[1].efficiencies["sig"][0] == 125 / 200
    d = results[0].to_dict()
    assert d["threshold"] == 997 and d["signals"]["sig"]["efficiency"] == 0.51
    np.testing.assert_array_equal(efficiency_curve(sig, [-1, 899, 997, 1099]), [1.0, 1.0, 0.51, 0.0])
    t, rates, errs = rate_curve(bkg)
    assert t[0] == 0 and rates[0] == pytest.approx(40e6 * 0.999) and rates[-1] == 0 and errs[-1] == 0


@pytest.mark.parametrize(
    "text, hz",
    [
        ("1kHz", 1e3),
        ("500Hz", 500.0),
        ("0.5 kHz", 500.0),
        ("2 MHz", 2e6),
        ("250", 250.0),
        ("1e3 hz", 1e3),
        (100, 100.0),
    ],
)
def test_parse_rate(text, hz):
    assert parse_rate(text) == hz


@pytest.mark.parametrize("text", ["", "kHz", "1 GHz", "-1kHz", "0Hz", "fast", "1 kHz 2"])
def test_parse_rate_rejects_bad_text(text):
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


def test_bad_inputs_give_clear_errors():
    h = score_histogram(uniform_codes(10, 3))
    with pytest.raises(ValueError, match="not below the collision frequency"):
        threshold_for_rate(h, 40e6)
    with pytest.raises(ValueError, match="not below the collision frequency"):
        threshold_for_rate(h, 2e3, collision_frequency(1) / 10)
    with pytest.raises(ValueError, match="must be > 0"):
        threshold_for_rate(h, 0)
    with pytest.raises(ValueError, match="empty sample"):
        threshold_for_rate(IntHistogram.empty(), 1e3)
    with pytest.raises(ValueError, match="empty sample"):
        emulate(h, {"sig": IntHistogram.empty()}, [1e3])
    with pytest.raises(ValueError, match="total weight"):
        rate_at_threshold(score_histogram([1, 2], [0.0, 0.0]), 1)
    with pytest.raises(ValueError, match="NaN"):
        score_histogram(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="not integer codes"):
        score_histogram(np.array([1.0, 2.5]))
    with pytest.raises(ValueError, match="weights mismatch"):
        score_histogram(np.array([1, 2, 3]), np.ones(2))
    with pytest.raises(ValueError, match="negative"):
        score_histogram(np.array([1, 2]), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="shape"):
        score_histogram(np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match="bunches"):
        collision_frequency(0)
    assert score_histogram(np.array([3.0, 4.0])) == score_histogram(np.array([3, 4]))
