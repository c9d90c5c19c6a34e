"""The golden model: bit-exact numpy emulation of the fixed-point encoder + score, on integer codes.

Every other form of the trigger (QKeras quantized inference, hls4ml C-simulation, RTL simulation) is
checked against it, integer for integer. Layer semantics are documented in ``l1ad.fixed.model``, the
score in ``l1ad.fixed.scores``.

Two exact implementations:

- :func:`reference_forward`: plain int64 arithmetic, line by line the definition (slow: numpy has no
  integer BLAS);
- the fast path used by :func:`golden_forward` / :func:`golden_score`: the same integers carried in
  floating point, so that matrix products run in BLAS. It is exact because every value is an integer
  times a power of two whose magnitude is bounded below the float's significand: each layer picks
  float32 when its worst-case accumulator (``DenseLayer.accumulator_format``, a bound on every partial
  sum, in any order) and its output fit in 24 bits, float64 when they fit in 53, and otherwise falls back
  to int64. The requantization shift is folded into the (power-of-two scaled) weights, rounding is
  ``np.rint`` (ties to even = RND_CONV), ``floor(t + 0.5)`` (RND) or ``floor`` (TRN), saturation a clip.
  WRAP overflow and scores wider than 53 bits use the int64 path. Tests check both paths agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from l1ad.fixed import scores
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.model import DenseLayer, FixedPointModel
from l1ad.fixed.scores import score_codes

__all__ = ["GoldenOutputs", "golden_forward", "golden_score", "reference_forward", "check_input_codes", "dense_forward"]

FLOAT32_BITS = 24
FLOAT64_BITS = 53
#: Events per block of the fast path (keeps intermediates in cache).
BLOCK = 8192


@dataclass
class GoldenOutputs:
    """Integer codes of every layer output, the latent split and the score."""

    layers: list[np.ndarray]
    mu: np.ndarray
    logvar: np.ndarray | None
    score: np.ndarray


def _check_layout(model: FixedPointModel, codes: np.ndarray) -> np.ndarray:
    arr = np.asarray(codes)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"input codes must be integers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != model.n_inputs:
        raise ValueError(f"input codes have shape {arr.shape}, expected (N, {model.n_inputs})")
    return arr


def _check_range(model: FixedPointModel, arr: np.ndarray) -> None:
    fmt = model.input_format
    if arr.size and (arr.min() < fmt.min_code or arr.max() > fmt.max_code):
        raise ValueError(
            f"input codes outside {fmt.ap_type()} [{fmt.min_code}, {fmt.max_code}]: "
            "saturate them in preprocessing (InputFormat.to_codes)"
        )


def check_input_codes(model: FixedPointModel, codes: np.ndarray) -> np.ndarray:
    """Validate input codes (integer dtype, shape (N, n_inputs), inside the input format) and return int64."""
    arr = _check_layout(model, codes)
    _check_range(model, arr)
    return arr.astype(np.int64, copy=False)


# ---- reference: int64 ---------------------------------------------------------------------------------
def dense_forward(layer: DenseLayer, x: np.ndarray, input_format: FixedFormat) -> np.ndarray:
    """One layer on int64 input codes: exact accumulation, activation, requantization."""
    f_acc = layer.accumulator_frac(input_format)
    acc = (x @ layer.weight) << (f_acc - input_format.frac - layer.weight_format.frac)
    acc += layer.bias << (f_acc - layer.bias_format.frac)
    if layer.activation == "relu":
        np.maximum(acc, 0, out=acc)
    return layer.output_format.requantize(acc, f_acc)


def reference_forward(model: FixedPointModel, codes: np.ndarray) -> GoldenOutputs:
    """The int64 implementation, straight from the definitions (the fast path is tested against it)."""
    x = check_input_codes(model, codes)
    outputs = []
    for layer, fmt in zip(model.layers, model.layer_input_formats(), strict=True):
        x = dense_forward(layer, x, fmt)
        outputs.append(x)
    return _outputs(model, outputs, score_codes)


def _outputs(model: FixedPointModel, layers: list[np.ndarray], scorer) -> GoldenOutputs:
    x = layers[-1]
    mu = x[:, : model.latent]
    logvar = x[:, model.latent :] if model.has_logvar else None
    return GoldenOutputs(layers=layers, mu=mu, logvar=logvar, score=scorer(model.score, mu, logvar))


# ---- fast path: exact integers in float ---------------------------------------------------------------
@dataclass
class _FloatLayer:
    """A dense layer prepared for the float path: t = x @ w + b is the accumulator scaled to the output LSB."""

    dtype: type
    w: np.ndarray
    b: np.ndarray
    rounding: str
    lo: float  # relu is folded in: clip(round(t), max(lo, 0), hi) == clip(round(max(t, 0)), lo, hi)
    hi: float


def _plan_layer(layer: DenseLayer, input_format: FixedFormat) -> _FloatLayer | None:
    out = layer.output_format
    if out.overflow != "SAT":
        return None
    acc = layer.accumulator_format(input_format)
    f_acc = acc.frac
    need = max(acc.width + 1, out.width, input_format.width)  # +1: the RND half-LSB addition
    dtype: type[np.floating]
    if need <= FLOAT32_BITS:
        dtype = np.float32
    elif need <= FLOAT64_BITS:
        dtype = np.float64
    else:
        return None
    shift = f_acc - out.frac  # t = acc * 2**-shift; rounding of t gives the output code
    w = np.ldexp(layer.weight.astype(np.float64), f_acc - input_format.frac - layer.weight_format.frac - shift)
    b = np.ldexp(layer.bias.astype(np.float64), f_acc - layer.bias_format.frac - shift)
    rounding = "TRN" if shift <= 0 else out.rounding  # no fraction bits to round away
    lo = max(out.min_code, 0) if layer.activation == "relu" else out.min_code
    return _FloatLayer(dtype, w.astype(dtype), b.astype(dtype), rounding, float(lo), float(out.max_code))


def _run_float_layer(p: _FloatLayer, x: np.ndarray) -> np.ndarray:
    t = x.astype(p.dtype, copy=False) @ p.w
    t += p.b
    if p.rounding == "RND_CONV":
        np.rint(t, out=t)
    elif p.rounding == "RND":
        t += 0.5
        np.floor(t, out=t)
    else:
        np.floor(t, out=t)
    np.clip(t, p.lo, p.hi, out=t)
    return t


@dataclass
class _Plan:
    layers: list[_FloatLayer | None]
    score_float: bool  # the score's integers fit float64 (its own fast path is then exact)


def _plan(model: FixedPointModel) -> _Plan:
    layers = [_plan_layer(layer, fmt) for layer, fmt in zip(model.layers, model.layer_input_formats(), strict=True)]
    spec = model.score
    return _Plan(layers, spec.output_format.width <= FLOAT64_BITS and 2 * spec.latent_format.width <= FLOAT64_BITS)


def _block_score(model: FixedPointModel, plan: _Plan, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
    """The integer score of a block: the score's float64 fast path when it offers one and it is exact, else int64."""
    if plan.score_float:
        lv = None if logvar is None else logvar.astype(np.float64, copy=False)
        fast = scores.get(model.score.kind).codes_float(model.score, mu.astype(np.float64, copy=False), lv)
        if fast is not None:
            return fast.astype(np.int64)
    return score_codes(model.score, mu.astype(np.int64), None if logvar is None else logvar.astype(np.int64))


def _fast_block(model: FixedPointModel, plan: _Plan, x: np.ndarray, keep_layers: bool) -> tuple[list, np.ndarray]:
    layers: list[np.ndarray] = []
    current: np.ndarray = x
    for layer, fmt, p in zip(model.layers, model.layer_input_formats(), plan.layers, strict=True):
        if p is None:
            current = dense_forward(layer, np.asarray(current).astype(np.int64), fmt)
        else:
            current = _run_float_layer(p, current)
        if keep_layers:
            layers.append(current.astype(np.int64))
    out = np.asarray(current)
    mu = out[:, : model.latent]
    logvar = out[:, model.latent :] if model.has_logvar else None
    return layers, _block_score(model, plan, mu, logvar)


def golden_forward(model: FixedPointModel, codes: np.ndarray) -> GoldenOutputs:
    """Run the encoder and the score on a batch of input codes (every layer's output codes kept)."""
    x = check_input_codes(model, codes)
    plan = _plan(model)
    layers, score = _fast_block(model, plan, x, keep_layers=True)
    return GoldenOutputs(
        layers=layers,
        mu=layers[-1][:, : model.latent],
        logvar=layers[-1][:, model.latent :] if model.has_logvar else None,
        score=score,
    )


def golden_score(model: FixedPointModel, codes: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """Integer score codes (``model.score.output_format``) of a batch of input codes (fast path, in blocks)."""
    x = _check_layout(model, codes)
    plan = _plan(model)
    out = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), block):
        chunk = x[start : start + block]
        _check_range(model, chunk)  # per block, while it is in cache
        _, out[start : start + block] = _fast_block(model, plan, chunk.astype(np.int64, copy=False), keep_layers=False)
    return out
