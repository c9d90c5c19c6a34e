"""FixedPointModel -> da4ml combinational trace (encoder + score), integer-equal to the golden model.

Every value is traced with da4ml's symbolic fixed-point arrays, so each intermediate keeps an exact
interval and lsb; nothing is rounded unless the FixedPointModel says so:

- input codes of ``model.raw_format`` enter as ``FixedVariableArrayInput`` quantized to that format; an input-scaling
  stage subtracts the offsets in the raw type, shifts (floor right, wrapping left) and casts to the input type
  (:func:`scale_inputs`);
- a :class:`~l1ad.fixed.model.DenseLayer` is an exact constant matmul (integer weights scaled by
  ``2**-frac``, solved by da4ml's CMVM optimizer) plus the exact bias; a declared accumulator that cannot change
  the sum is ignored, one that only wraps is one wrap of the exact sum, any other casts every product and
  partial sum as hls4ml's latency dense does (:func:`dense`); then the result cast, ``relu`` (max(acc, 0)),
  and the output format's rounding and overflow (:func:`requantize`); an
  :class:`~l1ad.fixed.model.ActivationLayer` is the relu and the cast;
- the score: ``mu2`` exact; ``kl`` / ``rz`` index the ScoreSpec's own integer table (passed to da4ml's
  ``FixedVariable.lookup`` as an explicit table, so its contents are the spec's integers) with the
  logvar floored + saturated into ``lut_input_format``;
- a score's count term (:mod:`l1ad.fixed.scores.count`): each counted input compared with its empty code
  (``any`` bit of ``x - empty``), the bits summed, and the count looked up in the term's integer table
  (:func:`count_term`);
- optionally the trigger bit ``score > threshold`` with the threshold as one more input (:func:`trigger`).

da4ml's ``quantize`` offers TRN (floor) and RND (half up) only; RND_CONV (half to even, QKeras'
``tf.round``) is built from exact ops: ``floor((acc + half - ulp + lsb(floor(acc))) / 2**s)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from da4ml.trace import FixedVariableArray, FixedVariableArrayInput, HWConfig, comb_trace
from da4ml.types import CombLogic

from l1ad.fixed import scores
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.model import ActivationLayer, DenseLayer, FixedPointModel, Layer
from l1ad.fixed.scaling import InputScaling
from l1ad.fixed.scores.base import ScoreSpec

__all__ = [
    "DEFAULT_HWCONF",
    "DSP_LEVELS",
    "TracedModel",
    "kif",
    "requantize",
    "scale_inputs",
    "dense",
    "activation",
    "layer",
    "lookup",
    "dsp_levels",
    "score_terms",
    "score_value",
    "count_term",
    "trigger",
    "trace_model",
]

#: da4ml's default hardware configuration for tracing (adder size, carry size, cutoff: pipelining later).
DEFAULT_HWCONF = HWConfig(1, -1, -1)
#: Delay of one DSP48E2 product in adder levels (~1 ns each, da4ml's unit): ~4 ns unregistered on UltraScale+ -2.
DSP_LEVELS = 4
#: Integer bits for intermediate WRAP quantizers: da4ml clamps them to the exact range, so any large value works.
_WIDE = 62


def kif(fmt: FixedFormat) -> tuple[int, int, int]:
    """da4ml (keep_negative, integer bits without sign, fraction bits) of an ap_fixed-style format."""
    k = int(fmt.signed)
    return k, fmt.integer - k, fmt.frac


def _floor_to(x: FixedVariableArray, frac: int) -> FixedVariableArray:
    """floor(x) onto a grid of ``2**-frac`` (exact, no overflow)."""
    return x.quantize(k=1, i=_WIDE, f=frac, overflow_mode="WRAP", round_mode="TRN")


def requantize(x: FixedVariableArray, frac_in: int, fmt: FixedFormat) -> FixedVariableArray:
    """Trace ``fmt.requantize(codes, frac_in)``: rounding of ``fmt`` (TRN / RND / RND_CONV), then SAT or WRAP."""
    k, i, f = kif(fmt)
    shift = frac_in - f
    if shift > 0 and fmt.rounding == "RND":
        x = _floor_to(x + 2.0 ** (-f - 1), f)
    elif shift > 0 and fmt.rounding == "RND_CONV":
        # half to even: add (half - 1 ulp) plus the lsb of floor(x), then floor.
        lsb = _floor_to(x, f).quantize(k=0, i=1 - f, f=f, overflow_mode="WRAP", round_mode="TRN")
        x = _floor_to(x + (2.0 ** (-f - 1) - 2.0 ** (-frac_in)) + lsb * 2.0 ** (f - frac_in), f)
    elif shift > 0:
        x = _floor_to(x, f)
    return x.quantize(k=k, i=i, f=f, overflow_mode=fmt.overflow, round_mode="TRN")


def scale_inputs(x: FixedVariableArray, scaling: InputScaling, input_format: FixedFormat) -> FixedVariableArray:
    """Trace the input-scaling stage (:mod:`l1ad.fixed.scaling`) on traced raw codes."""
    raw = scaling.raw_format
    k, i, f = kif(raw)
    offsets = raw.to_float(scaling.offset)
    out = []
    for j in range(scaling.n):
        d = (x[j] - float(offsets[j])).quantize(k=k, i=i, f=f, overflow_mode=raw.overflow, round_mode="TRN")
        s = int(scaling.shift[j])
        if s > 0:  # floor onto the raw grid; cannot overflow
            d = _floor_to(d * 2.0**-s, f).quantize(k=k, i=i, f=f, overflow_mode="WRAP", round_mode="TRN")
        elif s < 0:  # ap_fixed's left shift wraps whatever the overflow mode
            d = (d * 2.0**-s).quantize(k=k, i=i, f=f, overflow_mode="WRAP", round_mode="TRN")
        out.append(requantize(d, f, input_format))
    return FixedVariableArray(np.array(out), x.solver_options)


def _declared_accumulation(layer: DenseLayer, x: FixedVariableArray, input_format: FixedFormat) -> FixedVariableArray:
    """hls4ml's latency dense in a declared accumulator A: acc = A(b); acc = A(acc + A(x_i * w_i)), input by input."""
    acc_fmt = layer.accum_format
    assert acc_fmt is not None
    k, i, f = kif(acc_fmt)
    f_p = input_format.frac + layer.weight_format.frac
    weight = layer.weight.astype(np.float64) * 2.0**-layer.weight_format.frac
    bias = acc_fmt.to_float(layer.accum_bias())
    columns = []
    for j in range(layer.n_out):
        products = [requantize(x[n] * float(weight[n, j]), f_p, acc_fmt) for n in range(layer.n_in)]
        if acc_fmt.overflow == "WRAP":  # wrapping every partial sum = wrapping the sum
            total = products[0] + float(bias[j])
            for p in products[1:]:
                total = total + p
            columns.append(total.quantize(k=k, i=i, f=f, overflow_mode="WRAP", round_mode="TRN"))
            continue
        total = (products[0] + float(bias[j])).quantize(k=k, i=i, f=f, overflow_mode="SAT", round_mode="TRN")
        for p in products[1:]:
            total = (total + p).quantize(k=k, i=i, f=f, overflow_mode="SAT", round_mode="TRN")
        columns.append(total)
    return FixedVariableArray(np.array(columns), x.solver_options)


def dense(layer: DenseLayer, x: FixedVariableArray, input_format: FixedFormat) -> FixedVariableArray:
    """Trace one DenseLayer on traced input codes of ``input_format``."""
    acc_fmt = layer.accum_format
    f_acc = layer.accumulator_frac(input_format)
    if acc_fmt is None or layer.accumulates_exactly(input_format) or layer.products_exact_modulo(input_format):
        weight = layer.weight.astype(np.float64) * 2.0**-layer.weight_format.frac
        bias = layer.bias.astype(np.float64) * 2.0**-layer.bias_format.frac
        acc = x @ weight + bias
        if acc_fmt is not None and not layer.accumulates_exactly(input_format):
            k, i, f = kif(acc_fmt)  # one wrap of the exact sum (no fraction bits are lost)
            acc = acc.quantize(k=k, i=i, f=f, overflow_mode="WRAP", round_mode="TRN")
    else:
        acc = _declared_accumulation(layer, x, input_format)
    if layer.result_format is not None:
        acc, f_acc = requantize(acc, f_acc, layer.result_format), layer.result_format.frac
    if layer.activation == "relu":
        acc = acc.relu()
    return requantize(acc, f_acc, layer.output_format)


def activation(layer: ActivationLayer, x: FixedVariableArray, input_format: FixedFormat) -> FixedVariableArray:
    """Trace one ActivationLayer: relu (or identity), then the cast to its result type."""
    if layer.activation == "relu":
        x = x.relu()
    return requantize(x, input_format.frac, layer.output_format)


def layer(item: Layer, x: FixedVariableArray, input_format: FixedFormat) -> FixedVariableArray:
    """Trace any layer of a FixedPointModel."""
    if isinstance(item, ActivationLayer):
        return activation(item, x, input_format)
    return dense(item, x, input_format)


def lookup(spec: ScoreSpec, logvar: list) -> list:
    """T[index(logvar)] for each traced logvar, with the spec's integer table as an explicit da4ml table."""
    assert spec.lut is not None and spec.lut_input_format is not None and spec.lut_format is not None
    index_format = spec.lut_input_format
    table = spec.lut.astype(np.float64) * 2.0**-spec.lut_format.frac
    lsb = index_format.lsb
    full_range = (index_format.min_code * lsb, index_format.max_code * lsb, lsb)
    return [
        requantize(v, spec.latent_format.frac, index_format).lookup(table, original_qint=full_range) for v in logvar
    ]


def _width(v) -> int:
    return int(sum(v.kif))


def dsp_levels(width_a: int, width_b: int) -> int:
    """Delay, in adder levels (~1 ns), of a product mapped to DSP48E2 (27 x 18 signed multipliers).

    da4ml models a product as a LUT shift-add array (one adder level per operand bit, 16 levels for a
    16-bit square). Synthesis maps these few products to DSP48E2 slices (yosys reports them), whose
    unregistered multiply takes about 4 ns; wider products cascade DSPs and add an adder tree.
    """
    long, short = max(width_a, width_b), min(width_a, width_b)
    n_dsp = -(-long // 27) * -(-short // 18)
    return DSP_LEVELS if n_dsp == 1 else DSP_LEVELS + 1 + int(np.ceil(np.log2(n_dsp)))


def _product(a, b, latency_cutoff: float | None):
    """a * b with its delay modelled as a DSP48E2 product, kept inside one pipeline stage."""
    p = a * b
    if latency_cutoff is None or p.opr != "vmul":
        return p
    base = max(float(a.latency), float(b.latency))
    levels = dsp_levels(_width(a), _width(b))
    if levels > latency_cutoff:
        return p  # does not fit a stage: keep da4ml's (LUT multiplier) delay model
    end = base + levels
    if np.ceil(end / latency_cutoff) > np.ceil(base / latency_cutoff):  # would straddle a register: start after it
        end = np.ceil(base / latency_cutoff) * latency_cutoff + levels
    p.latency = float(end)
    return p


@dataclass(frozen=True)
class _Ops:
    """The tracing operations a score's ``trace_terms`` uses (:class:`l1ad.fixed.scores.base.TraceOps`)."""

    dsp_cutoff: float | None

    def product(self, a, b):
        return _product(a, b, self.dsp_cutoff)

    def lookup(self, spec: ScoreSpec, logvar: list) -> list:
        return lookup(spec, logvar)

    def cast(self, value, frac_in: int, fmt: FixedFormat):
        return requantize(value, frac_in, fmt)


def score_terms(
    spec: ScoreSpec, mu: FixedVariableArray, logvar: FixedVariableArray | None, dsp_cutoff: float | None = None
) -> tuple[list, float]:
    """The registered score's ``scale * sum(terms)`` on traced latent values (see :mod:`l1ad.fixed.scores`).

    ``dsp_cutoff``: the pipeline's latency cutoff; when given, products are modelled as DSP48E2 (see
    :func:`dsp_levels`) for pipelining, instead of da4ml's LUT-multiplier delay.
    """
    score = scores.get(spec.kind)
    if score.needs_logvar and logvar is None:
        raise ValueError(f"score {spec.kind} needs logvar outputs")
    lv = _elements(logvar) if (logvar is not None and score.needs_logvar) else None
    return score.trace_terms(spec, _elements(mu), lv, _Ops(dsp_cutoff))


def count_term(spec: ScoreSpec, raw: FixedVariableArray, raw_format: FixedFormat, scale: float):
    """The count term's ``table[n]`` on the traced input values (codes of ``raw_format``), as a term of
    ``scale * sum(terms)`` (None without a count term): ``n`` counts the inputs whose code differs from their
    empty code."""
    count = spec.count
    if count is None:
        return None
    lsb = 2.0**-spec.output_format.frac
    present = [
        (raw[j] - e * raw_format.lsb).unary_bit_op("any") for j, e in zip(count.inputs, count.empty, strict=True)
    ]
    n = _signed_sum([(bit, 1) for bit in present])
    table = count.table.astype(np.float64) * (lsb / scale)
    return n.lookup(table, original_qint=(0.0, float(count.max_count), 1.0))


def score_value(terms: list, scale: float):
    """``scale * sum(terms)``, summed earliest-first; equals ``score_codes * 2**-output_format.frac`` exactly."""
    total = _signed_sum([(t, 1) for t in terms])
    return total * scale if scale != 1.0 else total


def trigger(terms: list, scale: float, threshold):
    """1 where ``scale * sum(terms) > threshold`` else 0: the sign of ``threshold / scale - sum(terms)``.

    The difference is summed earliest-first together with the score's own terms, so the comparison
    costs no adder level beyond the score's (it replaces the wrapper's output register).
    """
    diff = _signed_sum([(threshold * (1.0 / scale), 1)] + [(t, -1) for t in terms])
    return diff.is_negative()


def _elements(arr: FixedVariableArray) -> list:
    """The scalar FixedVariables of a 1-D traced array."""
    return [arr[j] for j in range(len(arr))]


def _signed_sum(items: list[tuple]):
    """sum(sign * value) over (value, sign) items, always adding the two earliest-ready partial sums first
    (minimal adder depth for unequal arrival times). Needs at least one + item."""
    pending = [(float(v.latency), n, v, sign) for n, (v, sign) in enumerate(items)]
    counter = len(pending)
    while len(pending) > 1:
        pending.sort(key=lambda item: (item[0], item[1]))
        (_, _, a, sa), (_, _, b, sb) = pending[0], pending[1]
        if sa == sb:
            value, sign = a + b, sa
        else:
            value, sign = (a - b, sa) if sa > 0 else (b - a, sb)
        pending = pending[2:] + [(float(value.latency), counter, value, sign)]
        counter += 1
    _, _, value, sign = pending[0]
    if sign < 0:
        raise ValueError("signed sum without a positive term")
    return value


@dataclass
class TracedModel:
    """The traced logic. Inputs: the input codes' values (+ the threshold with ``with_trigger``); outputs:
    [score] (+ trigger bit with ``with_trigger``) (+ latent codes with ``with_latent``)."""

    comb: CombLogic
    model: FixedPointModel
    with_latent: bool
    with_trigger: bool = False

    @property
    def output_fracs(self) -> list[int]:
        """Fraction bits that turn each output value into the golden model's integer codes."""
        fracs = [self.model.score.output_format.frac]
        if self.with_trigger:
            fracs.append(0)
        if self.with_latent:
            fracs += [self.model.latent_format.frac] * self.model.layers[-1].n_out
        return fracs

    def emulate(self, codes: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
        """Run the traced logic in da4ml's bit-exact interpreter; int64 (N, n_outputs), score first.

        ``thresholds``: score-format threshold codes per event (required with ``with_trigger``).
        """
        fmt = self.model.raw_format
        values = np.asarray(codes, dtype=np.int64).astype(np.float64) * 2.0**-fmt.frac
        if self.with_trigger:
            if thresholds is None:
                raise ValueError("this trace compares with a threshold: pass thresholds")
            thr = np.asarray(thresholds, dtype=np.int64).astype(np.float64)
            values = np.column_stack([values, thr * 2.0**-self.model.score.output_format.frac])
        out = np.asarray(self.comb.predict(values), dtype=np.float64).reshape(len(values), -1)
        scaled = out * np.ldexp(1.0, np.array(self.output_fracs))
        as_int = np.rint(scaled)
        if not np.array_equal(as_int, scaled):
            raise ArithmeticError("traced outputs are not on the expected fixed-point grid")
        return as_int.astype(np.int64)


def trace_model(
    model: FixedPointModel,
    with_latent: bool = False,
    hwconf: HWConfig = DEFAULT_HWCONF,
    latency_cutoff: float | None = None,
    hard_dc: int | None = 0,
    with_trigger: bool = False,
) -> TracedModel:
    """Trace the encoder + score of ``model``; outputs the score (see :class:`TracedModel` for the rest).

    ``latency_cutoff``: the pipelining cutoff the trace will be split with (products then use the DSP
    delay model, see :func:`dsp_levels`). ``hard_dc``: da4ml's CMVM delay constraint (0: adder trees of
    minimal depth, which costs no more LUTs here and saves levels; None: da4ml's default, unconstrained).
    ``with_trigger``: one more input, the threshold in the score format, and one more output,
    ``score > threshold`` (the trigger bit, computed inside the pipeline).
    """
    solver_options = {} if hard_dc is None else {"hard_dc": hard_dc}
    n = model.n_inputs
    formats = [kif(model.raw_format)] * n + ([kif(model.score.output_format)] if with_trigger else [])
    k, i, f = (np.array(column) for column in zip(*formats, strict=True))
    inp = FixedVariableArrayInput((len(formats),), hwconf=hwconf, solver_options=solver_options)
    quantized = inp.quantize(k, i, f, overflow_mode="WRAP", round_mode="TRN")
    x = quantized[:n]
    if model.input_scaling is not None:
        x = scale_inputs(x, model.input_scaling, model.input_format)
    for item, fmt in zip(model.layers, model.layer_input_formats(), strict=True):
        x = layer(item, x, fmt)
    mu = x[: model.latent]
    logvar = x[model.latent :] if model.has_logvar else None
    terms, scale = score_terms(model.score, mu, logvar, dsp_cutoff=latency_cutoff)
    counted = count_term(model.score, quantized[:n], model.raw_format, scale)
    if counted is not None:
        terms = [*terms, counted]
    outputs = [score_value(terms, scale)]
    if with_trigger:
        outputs.append(trigger(terms, scale, quantized[n]))
    if with_latent:
        outputs += _elements(x)
    comb = comb_trace(inp, outputs, keep_dead_inputs=True)
    return TracedModel(comb=comb, model=model, with_latent=with_latent, with_trigger=with_trigger)
