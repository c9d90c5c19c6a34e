"""The golden model: bit-exact numpy emulation of the fixed-point encoder + score, on integer codes.

Every other form of the trigger (QKeras quantized inference, hls4ml C-simulation, an imported project's own C++,
RTL simulation) is checked against it, integer for integer. Layer semantics are documented in
``l1ad.fixed.model``, the input-scaling stage in ``l1ad.fixed.scaling``, the score in ``l1ad.fixed.scores``.

Two exact implementations:

- :func:`reference_forward`: plain int64 arithmetic, line by line the definition (slow: numpy has no
  integer BLAS, and a declared accumulator is summed input by input, casting every product and partial sum);
- the fast path used by :func:`golden_forward` / :func:`golden_score`: the same integers carried in
  floating point, so that matrix products run in BLAS. It is exact because every value is an integer
  times a power of two whose magnitude is bounded below the float's significand: each layer picks
  float32 when every intermediate (the worst-case accumulator, a bound on every partial sum in any order, and
  each cast) fits in 24 bits, float64 when it fits in 53, and otherwise falls back to int64. A declared
  accumulator runs in float when it cannot change the sum (:meth:`DenseLayer.accumulates_exactly`) or when it
  wraps without dropping fraction bits (:meth:`DenseLayer.products_exact_modulo`: the wrap of every product and
  partial sum equals one wrap of the sum); one that drops fraction bits of the products, or saturates partial
  sums, takes the int64 path. Casts are :meth:`FixedFormat.requantize_float` (``np.rint`` = RND_CONV,
  ``floor(t + 0.5)`` = RND, ``floor`` = TRN; clip = SAT, floor-modulo = WRAP). Tests check both paths agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from l1ad.fixed import scores
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.model import ActivationLayer, DenseLayer, FixedPointModel, Layer
from l1ad.fixed.scores import score_codes

__all__ = [
    "GoldenOutputs",
    "golden_forward",
    "golden_score",
    "reference_forward",
    "check_input_codes",
    "scale_inputs",
    "dense_forward",
    "layer_forward",
]

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
    fmt = model.raw_format
    if arr.size and (arr.min() < fmt.min_code or arr.max() > fmt.max_code):
        what = "raw input codes" if model.input_scaling is not None else "input codes"
        raise ValueError(
            f"{what} outside {fmt.ap_type()} [{fmt.min_code}, {fmt.max_code}]: "
            "saturate them in preprocessing (InputFormat.to_codes)"
        )


def check_input_codes(model: FixedPointModel, codes: np.ndarray) -> np.ndarray:
    """Validate input codes (integer dtype, shape (N, n_inputs), inside ``model.raw_format``) and return int64."""
    arr = _check_layout(model, codes)
    _check_range(model, arr)
    return arr.astype(np.int64, copy=False)


def scale_inputs(model: FixedPointModel, codes: np.ndarray) -> np.ndarray:
    """The encoder's input codes of (validated, int64) model codes: the input-scaling stage if the model has one."""
    if model.input_scaling is None:
        return codes
    return model.input_scaling.apply(codes, model.input_format)


# ---- reference: int64 ---------------------------------------------------------------------------------
def _activate(activation: str, fmt: FixedFormat, x: np.ndarray, frac: int) -> np.ndarray:
    if activation == "relu":
        x = np.maximum(x, 0)
    return fmt.requantize(x, frac)


def dense_forward(layer: DenseLayer, x: np.ndarray, input_format: FixedFormat) -> np.ndarray:
    """One dense layer on int64 input codes: accumulation (exact or in the declared accumulator, input by input),
    result cast, activation, output cast."""
    acc_fmt = layer.accum_format
    if acc_fmt is None:
        f_acc = layer.exact_frac(input_format)
        acc = (x @ layer.weight) << (f_acc - input_format.frac - layer.weight_format.frac)
        acc += layer.bias << (f_acc - layer.bias_format.frac)
    else:
        f_acc, f_p = acc_fmt.frac, input_format.frac + layer.weight_format.frac
        acc = np.repeat(layer.accum_bias()[None, :], len(x), axis=0)
        for i in range(layer.n_in):
            acc = acc_fmt.overflow_codes(acc + acc_fmt.requantize(x[:, i : i + 1] * layer.weight[i], f_p))
    if layer.result_format is not None:
        acc, f_acc = layer.result_format.requantize(acc, f_acc), layer.result_format.frac
    return _activate(layer.activation, layer.output_format, acc, f_acc)


def layer_forward(layer: Layer, x: np.ndarray, input_format: FixedFormat) -> np.ndarray:
    """Any layer on int64 input codes of ``input_format`` (int64 reference arithmetic)."""
    if isinstance(layer, ActivationLayer):
        return _activate(layer.activation, layer.output_format, x, input_format.frac)
    return dense_forward(layer, x, input_format)


def reference_forward(model: FixedPointModel, codes: np.ndarray) -> GoldenOutputs:
    """The int64 implementation, straight from the definitions (the fast path is tested against it)."""
    raw = check_input_codes(model, codes)
    x = scale_inputs(model, raw)
    outputs = []
    for layer, fmt in zip(model.layers, model.layer_input_formats(), strict=True):
        x = layer_forward(layer, x, fmt)
        outputs.append(x)
    mu = x[:, : model.latent]
    logvar = x[:, model.latent :] if model.has_logvar else None
    return GoldenOutputs(layers=outputs, mu=mu, logvar=logvar, score=score_codes(model.score, mu, logvar, raw))


# ---- fast path: exact integers in float ---------------------------------------------------------------
@dataclass
class _Cast:
    """One cast of the float path: optional relu, then ``fmt.requantize_float(t, frac_in)``."""

    fmt: FixedFormat
    frac_in: int
    relu: bool = False


@dataclass
class _FloatLayer:
    """A layer prepared for the float path: ``t = x @ w + b`` (dense layers; accumulator codes), an optional wrap
    into the declared accumulator, then the casts."""

    dtype: type
    w: np.ndarray | None
    b: np.ndarray | None
    wrap: _Cast | None
    casts: list[_Cast] = field(default_factory=list)


def _bits(bound: int) -> int:
    return max(int(bound).bit_length(), 1)


def _dtype_for(bits: int) -> type[np.floating] | None:
    if bits <= FLOAT32_BITS:
        return np.float32
    if bits <= FLOAT64_BITS:
        return np.float64
    return None


def _plan_casts(steps: list[tuple[FixedFormat, bool]], frac: int, bits: int) -> tuple[list[_Cast], int]:
    """Casts of (format, relu) steps from codes at ``frac`` of magnitude below 2**bits; and the bits they need."""
    casts, need = [], bits
    for fmt, relu in steps:
        need = max(need, bits + max(0, fmt.frac - frac) + 1)  # scaled onto the target grid, + the RND half
        casts.append(_Cast(fmt, frac, relu))
        frac, bits = fmt.frac, fmt.width
    return casts, max(need, bits)


def _plan_dense(layer: DenseLayer, input_format: FixedFormat) -> _FloatLayer | None:
    acc_fmt = layer.accum_format
    f_w = layer.weight_format.frac
    wrap = None
    if acc_fmt is None or layer.accumulates_exactly(input_format):
        f_acc = layer.exact_frac(input_format)
        bias = layer.bias << (f_acc - layer.bias_format.frac)
        bound = layer.accumulator_bound(input_format)
    elif layer.products_exact_modulo(input_format):
        f_acc = acc_fmt.frac
        bias = layer.accum_bias()
        x_max = max(abs(input_format.min_code), abs(input_format.max_code))
        products = int(np.abs(layer.weight).sum(axis=0).max()) * x_max << (f_acc - input_format.frac - f_w)
        bound = products + int(np.abs(bias).max(initial=0))
        wrap = _Cast(acc_fmt, f_acc)
    else:
        return None  # the declared accumulator drops fraction bits or saturates partial sums: int64, input by input
    steps: list[tuple[FixedFormat, bool]] = [] if wrap is None else [(wrap.fmt, False)]
    if layer.result_format is not None:
        steps.append((layer.result_format, False))
    steps.append((layer.output_format, layer.activation == "relu"))
    casts, need = _plan_casts(steps, f_acc, _bits(bound))
    if wrap is not None:
        casts = casts[1:]
    dtype = _dtype_for(max(need, input_format.width))
    if dtype is None:
        return None
    w = np.ldexp(layer.weight.astype(np.float64), f_acc - input_format.frac - f_w)
    return _FloatLayer(dtype, w.astype(dtype), bias.astype(dtype), wrap, casts)


def _plan_layer(layer: Layer, input_format: FixedFormat) -> _FloatLayer | None:
    if isinstance(layer, DenseLayer):
        return _plan_dense(layer, input_format)
    casts, need = _plan_casts(
        [(layer.output_format, layer.activation == "relu")], input_format.frac, input_format.width
    )
    dtype = _dtype_for(need)
    return None if dtype is None else _FloatLayer(dtype, None, None, None, casts)


def _run_float_layer(p: _FloatLayer, x: np.ndarray) -> np.ndarray:
    t: np.ndarray = x.astype(p.dtype, copy=False)
    if p.w is not None and p.b is not None:
        t = t @ p.w
        t += p.b
    if p.wrap is not None:
        t = p.wrap.fmt.requantize_float(t, p.wrap.frac_in)
    for cast in p.casts:
        if cast.relu:
            t = np.maximum(t, 0)
        t = cast.fmt.requantize_float(t, cast.frac_in)
    return t


@dataclass
class _Plan:
    layers: list[_FloatLayer | None]
    score_float: bool  # the score's integers fit float64 (its own fast path is then exact)


def _plan(model: FixedPointModel) -> _Plan:
    layers = [_plan_layer(layer, fmt) for layer, fmt in zip(model.layers, model.layer_input_formats(), strict=True)]
    spec = model.score
    return _Plan(layers, spec.output_format.width <= FLOAT64_BITS and 2 * spec.latent_format.width <= FLOAT64_BITS)


def _block_score(
    model: FixedPointModel, plan: _Plan, mu: np.ndarray, logvar: np.ndarray | None, raw: np.ndarray
) -> np.ndarray:
    """The integer score of a block: the score's float64 fast path when it offers one and it is exact, else int64
    (``raw``: the block's input codes, for a count term)."""
    if plan.score_float:
        lv = None if logvar is None else logvar.astype(np.float64, copy=False)
        fast = scores.get(model.score.kind).codes_float(model.score, mu.astype(np.float64, copy=False), lv)
        if fast is not None:
            return fast.astype(np.int64) + scores.count_codes(model.score, raw)
    return score_codes(model.score, mu.astype(np.int64), None if logvar is None else logvar.astype(np.int64), raw)


def _fast_block(model: FixedPointModel, plan: _Plan, x: np.ndarray, keep_layers: bool) -> tuple[list, np.ndarray]:
    layers: list[np.ndarray] = []
    current: np.ndarray = scale_inputs(model, x)
    for layer, fmt, p in zip(model.layers, model.layer_input_formats(), plan.layers, strict=True):
        if p is None:
            current = layer_forward(layer, np.asarray(current).astype(np.int64), fmt)
        else:
            current = _run_float_layer(p, current)
        if keep_layers:
            layers.append(current.astype(np.int64))
    out = np.asarray(current)
    mu = out[:, : model.latent]
    logvar = out[:, model.latent :] if model.has_logvar else None
    return layers, _block_score(model, plan, mu, logvar, x)


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
