"""Fixed-point models with awkward declared types, and an independent scalar reference of their arithmetic.

``awkward_model`` builds what hls4ml projects and deployed emulators declare: accumulators narrower than exact
(truncating products, wrapping or saturating partial sums), dense result types narrower than the accumulator,
relu / linear activation layers with their own types, AP_TRN/AP_WRAP mixed with AP_RND_CONV/AP_SAT, an
input-scaling stage with negative and positive shifts, and a typed mu2 score.

``scalar_reference`` recomputes one event with Python integers and ``Fraction`` values, casting as ap_fixed
assignments do (written from the ap_fixed rules, not from ``FixedFormat.requantize``), so the golden model is
not only checked against itself.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from l1ad.fixed.formats import FixedFormat, parse_ap_type
from l1ad.fixed.model import ActivationLayer, DenseLayer, FixedPointModel
from l1ad.fixed.scaling import InputScaling
from l1ad.fixed.scores import make_score

T = parse_ap_type


def awkward_model(
    seed: int = 0,
    n_in: int = 57,
    hidden: tuple[int, int] = (32, 16),
    latent: int = 8,
    scaling: bool = True,
    score_type: str | None = "ap_ufixed<18,10>",
) -> FixedPointModel:
    """57 -> 32 -> 16 -> latent with every declared-type feature (see the module doc)."""
    rng = np.random.default_rng(seed)

    def codes(fmt: FixedFormat, shape, spread: float = 1.0) -> np.ndarray:
        lo, hi = int(fmt.min_code * spread), int(fmt.max_code * spread)
        return rng.integers(lo, hi + 1, shape)

    w1, b1 = T("ap_fixed<6,1>"), T("ap_fixed<8,3>")
    w2, b2 = T("ap_fixed<5,1>"), T("ap_fixed<8,3>")
    w3, b3 = T("ap_fixed<6,2>"), T("ap_fixed<9,4>")
    h1, h2 = hidden
    layers = [
        DenseLayer(
            "dense1",
            codes(w1, (n_in, h1)),
            w1,
            codes(b1, h1),
            b1,
            "relu",
            T("ap_ufixed<8,4,AP_RND_CONV,AP_SAT>"),
            accum_format=T("ap_fixed<14,7>"),  # drops 4 fraction bits of every product, wraps
            result_format=T("ap_fixed<10,5>"),  # narrower than the accumulator: truncates and wraps
        ),
        ActivationLayer("dense1_linear", h1, "linear", T("ap_fixed<9,4,AP_RND,AP_SAT>")),
        DenseLayer(
            "dense2",
            codes(w2, (h1, h2)),
            w2,
            codes(b2, h2),
            b2,
            "relu",
            T("ap_ufixed<7,3,AP_RND_CONV,AP_SAT>"),
            accum_format=T("ap_fixed<16,6>"),  # keeps every fraction bit, wraps
            result_format=T("ap_fixed<11,5,AP_TRN,AP_WRAP>"),
        ),
        DenseLayer(
            "dense3",
            codes(w3, (h2, latent)),
            w3,
            codes(b3, latent),
            b3,
            "linear",
            T("ap_fixed<10,4,AP_RND_CONV,AP_SAT>"),
            accum_format=T("ap_fixed<13,5,AP_RND,AP_SAT>"),  # rounds products, saturates every partial sum
        ),
    ]
    input_format = T("ap_fixed<12,6,AP_RND_CONV,AP_SAT>")
    stage = None
    if scaling:
        raw = T("ap_fixed<16,13>")
        shifts = rng.integers(-2, 6, n_in)
        shifts[:4] = [-2, -1, 0, 5]
        stage = InputScaling(raw, codes(raw, n_in, 0.25), shifts)
    options = {"score_type": score_type} if score_type else {}
    return FixedPointModel(
        name="awkward",
        input_format=input_format,
        layers=layers,
        latent=latent,
        has_logvar=False,
        score=make_score("mu2", latent, layers[-1].output_format, **options),
        input_scaling=stage,
    )


# ---- independent scalar reference -----------------------------------------------------------------------
def cast(value: Fraction, fmt: FixedFormat) -> int:
    """The code of ``value`` assigned to ``fmt``: quantization mode on the exact value, then overflow mode."""
    scaled = value * Fraction(2) ** fmt.frac
    if fmt.rounding == "TRN":
        code = math.floor(scaled)
    elif fmt.rounding == "RND":
        code = math.floor(scaled + Fraction(1, 2))
    else:
        code = round(scaled)  # Fraction.__round__: half to even
    span = 1 << fmt.width
    if fmt.overflow == "SAT":
        return min(max(code, fmt.min_code), fmt.max_code)
    return (code - fmt.min_code) % span + fmt.min_code


def value(code: int, fmt: FixedFormat) -> Fraction:
    return Fraction(code) / Fraction(2) ** fmt.frac


def scalar_reference(model: FixedPointModel, raw: list[int]) -> tuple[list[int], int]:
    """(latent codes, score code) of one event of raw codes, with Python integers and Fractions."""
    fmt = model.raw_format
    x = [value(c, fmt) for c in raw]
    if model.input_scaling is not None:
        s = model.input_scaling
        rf = s.raw_format
        out = []
        for xv, off, sh in zip(x, s.offset.tolist(), s.shift.tolist(), strict=True):
            d = cast(xv - value(off, rf), rf)
            bits = d >> sh if sh >= 0 else (d << -sh)  # Python ints: arithmetic shifts
            bits = (bits - rf.min_code) % (1 << rf.width) + rf.min_code  # the raw word: shifts wrap
            out.append(value(cast(value(bits, rf), model.input_format), model.input_format))
        x = out
    for layer in model.layers:
        if isinstance(layer, ActivationLayer):
            x = [
                value(cast(max(v, 0) if layer.activation == "relu" else v, layer.output_format), layer.output_format)
                for v in x
            ]
            continue
        w = [[value(int(c), layer.weight_format) for c in row] for row in layer.weight]
        b = [value(int(c), layer.bias_format) for c in layer.bias]
        acc_fmt = layer.accum_format
        res = []
        for j in range(layer.n_out):
            if acc_fmt is None:
                acc = b[j] + sum((x[i] * w[i][j] for i in range(layer.n_in)), Fraction(0))
            else:
                acc = value(cast(b[j], acc_fmt), acc_fmt)
                for i in range(layer.n_in):
                    product = value(cast(x[i] * w[i][j], acc_fmt), acc_fmt)
                    acc = value(cast(acc + product, acc_fmt), acc_fmt)
            if layer.result_format is not None:
                acc = value(cast(acc, layer.result_format), layer.result_format)
            if layer.activation == "relu":
                acc = max(acc, Fraction(0))
            res.append(value(cast(acc, layer.output_format), layer.output_format))
        x = res
    latent_fmt = model.latent_format
    mu = x[: model.latent]
    spec = model.score
    out_fmt = spec.output_format
    if spec.kind == "mu2" and spec.params.get("typed"):
        total = value(cast(mu[0] * mu[0], out_fmt), out_fmt)
        for m in mu[1:]:
            total = value(cast(total + value(cast(m * m, out_fmt), out_fmt), out_fmt), out_fmt)
        score = cast(total, out_fmt)
    elif spec.kind == "mu2":
        score = cast(sum((m * m for m in mu), Fraction(0)), out_fmt)
    else:
        raise NotImplementedError(spec.kind)
    return [cast(v, latent_fmt) for v in x], score
