"""InputFormat: fitted (and standardized) shifts, rounding, saturation, errors, serialization; slot mask;
the AD@L1 reconstruction target."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic_events import background

from l1ad.data import adc2021
from l1ad.data.adc2021 import N_INPUTS
from l1ad.data.preprocess import CONSTANT_SHIFT, InputFormat, ReconstructionTarget, slot_mask


def _fmt(width: int = 8, integer: int = 4, shift: int = 0) -> InputFormat:
    return InputFormat(width, integer, (shift,) * N_INPUTS)


def test_derived_quantities_of_ap_fixed_16_6():
    fmt = _fmt(16, 6)
    assert (fmt.frac, fmt.min_code, fmt.max_code) == (10, -32768, 32767)
    assert fmt.lsb == 2.0**-10
    assert fmt.qkeras_quantizer_args == (16, 5)


def test_fit_chooses_power_of_two_shifts_from_quantile_and_max():
    flat = np.zeros((1000, N_INPUTS))
    flat[:, 0] = np.linspace(1.0, 100.0, 1000)  # 99% quantile ~99 -> ceil(log2 99) = 7
    flat[:, 1] = np.linspace(-0.3, 0.3, 1000)  # |x| quantile ~0.3 -> ceil(log2 0.3) = -1
    flat[:, 3] = np.full(1000, 3.0)
    flat[0, 3] = 1000.0  # quantile 3 -> 2, but max 1000 must fit 31.99 -> shift 5
    fmt = InputFormat.fit(flat, width=16, integer=6, quantile=0.99)
    assert fmt.shift[0] == 7 and fmt.shift[1] == -1 and fmt.shift[3] == 5
    assert fmt.shift[2] == 0  # never filled
    codes, n_sat = fmt.to_codes(flat, return_saturated=True)
    assert n_sat == 0


def test_rarely_filled_slot_borrows_the_scale_of_its_object_type():
    ev = background(2000, seed=3)
    flat = ev[..., :3].reshape(len(ev), -1)
    flat[:, 3 * 4] = 0.0  # 4th e/gamma slot pT: empty ...
    flat[:5, 3 * 4] = 2.0  # ... except 5 soft entries
    fmt = InputFormat.fit(flat, min_filled=100)
    assert fmt.shift[3 * 4] >= fmt.shift[3 * 1] - 1  # scaled like e/gamma pT, not blown up to the soft values
    assert fmt.shift[3 * 4] > 1


def test_round_half_to_even_and_saturation():
    fmt = _fmt(8, 4)  # frac 4, lsb 1/16, codes [-128, 127]
    flat = np.zeros((1, N_INPUTS))
    flat[0, :6] = [0.5 / 16, 1.5 / 16, 2.5 / 16, -2.5 / 16, 100.0, -100.0]
    codes, n_sat = fmt.to_codes(flat, return_saturated=True)
    assert codes.dtype == np.int64
    assert codes[0, :6].tolist() == [0, 2, 2, -2, 127, -128]
    assert n_sat == 2


def test_shift_and_offset_are_applied_before_rounding():
    fmt = InputFormat(8, 4, (2,) * N_INPUTS, (1,) * N_INPUTS)
    flat = np.full((1, N_INPUTS), 9.0)
    assert np.all(fmt.to_codes(flat) == 32)  # (9 - 1) / 4 = 2.0 -> 2 * 16


def test_codes_to_float_is_exact_and_checks_range():
    fmt = _fmt(16, 6)
    codes = np.array([[-32768, -1, 0, 1, 32767] * 11 + [5, 7]])
    assert np.array_equal(fmt.codes_to_float(codes), codes / 1024.0)
    with pytest.raises(ValueError, match="outside"):
        fmt.codes_to_float(codes * 2)
    with pytest.raises(ValueError, match="integers"):
        fmt.codes_to_float(codes.astype(float))


def test_accepts_particles_and_flat_alike():
    ev = background(50, seed=1)
    fmt = InputFormat.fit(ev)
    assert np.array_equal(fmt.to_codes(ev), fmt.to_codes(ev[..., :3].reshape(50, -1)))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.full((2, N_INPUTS), np.nan), "NaN"),
        (np.full((2, N_INPUTS), np.inf), "NaN or inf"),
        (np.zeros((2, 56)), "shape"),
        (np.array([["a"] * N_INPUTS]), "dtype"),
    ],
)
def test_bad_input_raises_naming_the_problem(bad, match):
    with pytest.raises(ValueError, match=match):
        _fmt().to_codes(bad)


def test_invalid_formats_are_rejected():
    with pytest.raises(ValueError, match="integer bits"):
        InputFormat(8, 9, (0,) * N_INPUTS)
    with pytest.raises(ValueError, match="57 entries"):
        InputFormat(8, 4, (0,) * 3)
    with pytest.raises(ValueError, match="integers"):
        InputFormat(8, 4, (0.5,) * N_INPUTS)
    with pytest.raises(ValueError, match="frac"):
        InputFormat.from_dict({**_fmt().to_dict(), "frac": 3})


def test_json_round_trip(tmp_path):
    fmt = InputFormat.fit(background(300, seed=2), width=14, integer=5)
    path = fmt.save(tmp_path / "input_format.json")
    assert InputFormat.load(path) == fmt
    d = json.loads(path.read_text())
    assert d["frac"] == 9 and d["rounding"] == "half_to_even" and d["overflow"] == "saturate"
    with pytest.raises(FileNotFoundError):
        InputFormat.load(tmp_path / "missing.json")


def test_slot_mask_marks_filled_slots_but_not_met_eta():
    ev = np.zeros((1, 19, 4), dtype=np.float32)
    ev[0, 0] = [50.0, 0.0, 1.0, 1]
    ev[0, 9] = [30.0, -1.0, 2.0, 4]
    mask = slot_mask(ev).reshape(19, 3)
    assert mask[0].tolist() == [1, 0, 1]
    assert mask[9].tolist() == [1, 1, 1]
    assert mask.sum() == 5


def test_standardize_folds_mean_and_std_into_offsets_and_power_of_two_shifts():
    ev = background(3000, seed=4)
    flat = adc2021.to_flat(ev).astype(np.float64)
    fmt = InputFormat.fit(ev, width=10, integer=3, standardize=True)
    mean, std = flat.mean(0), flat.std(0)
    varying = std > 0
    assert np.array_equal(np.asarray(fmt.offset), np.rint(mean).astype(int))
    assert np.array_equal(np.asarray(fmt.shift)[varying], np.rint(np.log2(std[varying])).astype(int))
    assert np.all(np.asarray(fmt.shift)[~varying] == CONSTANT_SHIFT)  # MET eta
    scaled = fmt.scale(ev)[:, varying]  # ~unit variance (a power of two off by at most 2**0.5)
    assert np.all((scaled.std(0) > 0.7) & (scaled.std(0) < 1.42))


def test_standardize_makes_a_rarely_filled_slot_saturate():
    ev = background(3000, seed=5)
    ev[:, 8] = 0  # 4th muon slot: never filled in training...
    ev[:10, 8, :] = [20.0, 0.5, 0.5, 3]  # ...except ten times
    fmt = InputFormat.fit(ev, width=10, integer=3, standardize=True)
    probe = ev[10:11].copy()
    probe[0, 8] = [8.0, 0.1, -0.1, 3]  # a soft 4th muon
    codes = fmt.to_codes(probe)[0].reshape(19, 3)
    assert codes[8, 0] == fmt.max_code  # its pT code saturates: the rare slot stands out
    assert fmt.offset[24] == 0 and fmt.to_codes(ev[20:21])[0].reshape(19, 3)[8, 0] == 0  # empty: code 0


def test_reconstruction_target_standardizes_filled_pt_and_keeps_empty_slots_zero(tmp_path):
    ev = background(2000, seed=6)
    target = ReconstructionTarget.fit(ev)
    pt = ev[:, :, 0].astype(np.float64)
    np.testing.assert_allclose(target.pt_mean, pt.mean(0), rtol=1e-6)
    t = target.transform(ev).reshape(-1, 19, 3)
    empty = ev[:, :, 0] == 0
    assert np.all(t[:, :, 0][empty] == 0.0) and empty.any()
    filled = ~empty
    want = (pt - pt.mean(0)) / np.where(pt.std(0) > 0, pt.std(0), 1.0)
    np.testing.assert_allclose(t[:, :, 0][filled], want[filled], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(t[:, :, 1:], ev[:, :, 1:3])  # eta and phi raw
    assert ReconstructionTarget.load(target.save(tmp_path / "t.json")) == target
    with pytest.raises(ValueError, match="pt_std"):
        ReconstructionTarget((0.0,) * 19, (0.0,) * 19)
