"""The fixed-point description of a trigger encoder + score: the hinge every firmware form is built from.

A :class:`FixedPointModel` holds integer weights and biases, the fixed-point format of every tensor
(ap_fixed convention: ``integer`` bits include the sign bit), the rounding and overflow modes, and the
score (:class:`ScoreSpec`). The golden model (``l1ad.fixed.golden``), the hls4ml project and the da4ml RTL
are all derived from it, and all must agree with it bit for bit.

Layers are :class:`DenseLayer` (a dense layer with its activation) and :class:`ActivationLayer` (a further
activation with its own result type, e.g. an hls4ml ``linear`` cast). ``F(v)`` below is the cast of ``v`` to
format ``F``: its rounding, then its overflow (ap_fixed assignment). Integer semantics of a :class:`DenseLayer`
on input codes ``x`` (format ``fin``)::

    accumulator exact (accum_format None, what QKeras computes):
        acc = (x @ W) << (f_acc - f_in - f_w)  +  b << (f_acc - f_b)    # f_acc = max(f_in + f_w, f_b)
    accumulator declared A (hls4ml's latency dense: products, bias and every partial sum are accum_t):
        acc = A(b);  for i in 0..n_in-1:  acc = A(acc + A(x_i * W_i))
    r   = result_format(acc) if result_format else acc                  # the dense layer's own result type
    r   = max(r, 0)                                                     # if activation == "relu"
    out = output_format(r)                                              # the activation's result type

An :class:`ActivationLayer` computes ``out = output_format(max(x, 0) or x)``. An optional
:class:`~l1ad.fixed.scaling.InputScaling` turns raw codes into the input codes first; :attr:`FixedPointModel.raw_format`
is then the format of the codes the model takes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import numpy as np

from l1ad.data.atomic import atomic_path
from l1ad.fixed import scores
from l1ad.fixed.formats import FixedFormat, as_codes
from l1ad.fixed.scaling import InputScaling
from l1ad.fixed.scores.base import ScoreSpec

__all__ = ["DenseLayer", "ActivationLayer", "Layer", "FixedPointModel", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "linear")


@dataclass
class DenseLayer:
    """A fully connected layer with integer weights, its accumulator and result types, then its activation."""

    name: str
    weight: np.ndarray  # int64 (n_in, n_out)
    weight_format: FixedFormat
    bias: np.ndarray  # int64 (n_out,)
    bias_format: FixedFormat
    activation: Literal["relu", "linear"]
    output_format: FixedFormat
    accum_format: FixedFormat | None = None  # None: exact accumulation
    result_format: FixedFormat | None = None  # None: the accumulator goes to the activation as is

    def __post_init__(self) -> None:
        self.weight = as_codes(self.weight, f"{self.name}.weight")
        self.bias = as_codes(self.bias, f"{self.name}.bias")
        if self.weight.ndim != 2 or self.bias.shape != (self.weight.shape[1],):
            raise ValueError(f"{self.name}: weight {self.weight.shape} and bias {self.bias.shape} do not match")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"{self.name}: unknown activation {self.activation!r}")
        for what, codes, fmt in (("weight", self.weight, self.weight_format), ("bias", self.bias, self.bias_format)):
            if codes.size and (codes.min() < fmt.min_code or codes.max() > fmt.max_code):
                raise ValueError(f"{self.name}: {what} codes outside {fmt.ap_type()}")

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[1])

    def exact_frac(self, input_format: FixedFormat) -> int:
        """Fraction bits of the exact accumulator: ``max(f_in + f_w, f_b)``."""
        return max(input_format.frac + self.weight_format.frac, self.bias_format.frac)

    def accumulator_frac(self, input_format: FixedFormat) -> int:
        """Fraction bits of the accumulator codes (the declared accumulator's, else the exact one's)."""
        return self.accum_format.frac if self.accum_format is not None else self.exact_frac(input_format)

    def accumulator_bound(self, input_format: FixedFormat) -> int:
        """Largest |exact accumulator code| (at :meth:`exact_frac`) over all inputs in ``input_format``."""
        f_acc = self.exact_frac(input_format)
        x_max = max(abs(input_format.min_code), abs(input_format.max_code))
        w_shift = f_acc - input_format.frac - self.weight_format.frac
        b_shift = f_acc - self.bias_format.frac
        col = np.abs(self.weight).sum(axis=0).astype(object) * x_max
        return int(max((c << w_shift) + (abs(int(b)) << b_shift) for c, b in zip(col, self.bias, strict=True)))

    def accumulator_format(self, input_format: FixedFormat) -> FixedFormat:
        """The exact (never overflowing, never rounding) accumulator format for inputs in ``input_format``."""
        return FixedFormat.for_range(
            self.accumulator_bound(input_format),
            self.exact_frac(input_format),
            signed=True,
            rounding="TRN",
            overflow="WRAP",
        )

    def accum_type(self, input_format: FixedFormat) -> FixedFormat:
        """The accumulator the firmware declares: ``accum_format``, else the exact one."""
        return self.accum_format if self.accum_format is not None else self.accumulator_format(input_format)

    def accumulates_exactly(self, input_format: FixedFormat) -> bool:
        """Whether the declared accumulator never rounds nor overflows (then it equals exact accumulation)."""
        acc = self.accum_format
        if acc is None:
            return True
        f_exact = self.exact_frac(input_format)
        if acc.frac < f_exact:
            return False
        bound = self.accumulator_bound(input_format) << (acc.frac - f_exact)
        return -bound >= acc.min_code and bound <= acc.max_code

    def products_exact_modulo(self, input_format: FixedFormat) -> bool:
        """Whether a declared WRAP accumulator loses no fraction bits (products and bias exact up to the wrap)."""
        acc = self.accum_format
        return (
            acc is not None
            and acc.overflow == "WRAP"
            and acc.frac >= input_format.frac + self.weight_format.frac
            and acc.frac >= self.bias_format.frac
        )

    def accum_bias(self) -> np.ndarray:
        """The bias cast to the declared accumulator (int64 codes at its fraction bits)."""
        assert self.accum_format is not None
        return self.accum_format.requantize(self.bias, self.bias_format.frac)

    def stage_formats(self) -> list[FixedFormat]:
        """Every declared type of the layer, in order (accumulator, result, output), for range checks."""
        return [f for f in (self.accum_format, self.result_format, self.output_format) if f is not None]


@dataclass
class ActivationLayer:
    """An activation layer (relu or linear) with its own result type: ``out = output_format(max(x, 0) or x)``."""

    name: str
    n: int
    activation: Literal["relu", "linear"]
    output_format: FixedFormat

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"{self.name}: unknown activation {self.activation!r}")
        if self.n < 1:
            raise ValueError(f"{self.name}: an activation layer needs at least one value, got {self.n}")

    @property
    def n_in(self) -> int:
        return self.n

    @property
    def n_out(self) -> int:
        return self.n

    def stage_formats(self) -> list[FixedFormat]:
        return [self.output_format]


Layer = DenseLayer | ActivationLayer


@dataclass
class FixedPointModel:
    """Encoder layers + score in fixed point. The last layer outputs [mu | logvar] (or mu alone for an AE)."""

    name: str
    input_format: FixedFormat
    layers: list[Layer]
    latent: int
    has_logvar: bool
    score: ScoreSpec
    metadata: dict[str, Any] = field(default_factory=dict)
    input_scaling: InputScaling | None = None

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("FixedPointModel needs at least one layer")
        if not self.dense_layers:
            raise ValueError("FixedPointModel needs at least one dense layer")
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}")
        for prev, layer in pairwise(self.layers):
            if prev.n_out != layer.n_in:
                raise ValueError(f"layer {layer.name} takes {layer.n_in} inputs, {prev.name} gives {prev.n_out}")
        expected = self.latent * (2 if self.has_logvar else 1)
        if self.layers[-1].n_out != expected:
            raise ValueError(f"last layer has {self.layers[-1].n_out} outputs, expected {expected}")
        if scores.get(self.score.kind).needs_logvar and not self.has_logvar:
            raise ValueError(f"score {self.score.kind} needs logvar outputs (a VAE encoder)")
        if self.score.latent != self.latent:
            raise ValueError(f"score {self.score.kind} reads {self.score.latent} latent dims, model has {self.latent}")
        if self.score.count is not None:
            self.score.count.check_inputs(self.n_inputs)
        if self.input_scaling is not None and self.input_scaling.n != self.n_inputs:
            raise ValueError(f"input scaling has {self.input_scaling.n} entries, the model has {self.n_inputs} inputs")

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def dense_layers(self) -> list[DenseLayer]:
        return [layer for layer in self.layers if isinstance(layer, DenseLayer)]

    @property
    def raw_format(self) -> FixedFormat:
        """Format of the codes the model takes: the raw type with an input-scaling stage, else ``input_format``."""
        return self.input_scaling.raw_format if self.input_scaling is not None else self.input_format

    @property
    def latent_format(self) -> FixedFormat:
        return self.layers[-1].output_format

    @property
    def is_plain(self) -> bool:
        """Whether the model uses none of the declared-type features (declared accumulators or result types,
        activation layers, input scaling): the form QKeras encoders used to extract to."""
        return self.input_scaling is None and all(
            isinstance(layer, DenseLayer) and layer.accum_format is None and layer.result_format is None
            for layer in self.layers
        )

    def layer_input_formats(self) -> list[FixedFormat]:
        """The format of each layer's input (the model input, then the previous layer's output)."""
        return [self.input_format] + [layer.output_format for layer in self.layers[:-1]]

    def with_score(self, kind: str, **score_options: Any) -> FixedPointModel:
        """The same encoder with another (registered) score kind."""
        return replace(self, score=scores.make_score(kind, self.latent, self.latent_format, **score_options))

    # ---- serialization: model.json (formats, structure) + model.npz (integer arrays) ----
    def to_json_dict(self) -> dict[str, Any]:
        """JSON description; a model using none of the declared-type features writes exactly format 1."""
        out: dict[str, Any] = {
            "format_version": 1 if self.is_plain else 2,
            "name": self.name,
            "input_format": self.input_format.to_dict(),
            "latent": self.latent,
            "has_logvar": self.has_logvar,
            "layers": [_layer_json(layer) for layer in self.layers],
            "score": self.score.to_json_dict(),
            "metadata": self.metadata,
        }
        if self.input_scaling is not None:
            out["input_scaling"] = {"raw_format": self.input_scaling.raw_format.to_dict()}
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """The integer arrays of ``model.npz``."""
        arrays: dict[str, np.ndarray] = {}
        for layer in self.dense_layers:
            arrays[f"{layer.name}/weight"] = layer.weight
        for layer in self.dense_layers:
            arrays[f"{layer.name}/bias"] = layer.bias
        if self.score.lut is not None:
            arrays["score/lut"] = self.score.lut
        if self.input_scaling is not None:
            arrays["input_scaling/offset"] = self.input_scaling.offset
            arrays["input_scaling/shift"] = self.input_scaling.shift
        return arrays

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``model.json`` and ``model.npz`` into ``directory`` (each atomically)."""
        directory = Path(directory)
        with atomic_path(directory / "model.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, allow_pickle=True, **self.arrays())
        with atomic_path(directory / "model.json") as tmp:
            tmp.write_text(json.dumps(self.to_json_dict(), indent=2, sort_keys=True, default=str))
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> FixedPointModel:
        directory = Path(directory)
        for name in ("model.json", "model.npz"):
            if not (directory / name).is_file():
                raise FileNotFoundError(f"{directory}: no {name} (not a FixedPointModel directory; run `l1ad convert`)")
        d = json.loads((directory / "model.json").read_text())
        if d.get("format_version", 1) not in (1, 2):
            raise ValueError(f"{directory / 'model.json'}: unknown format_version {d.get('format_version')}")
        with np.load(directory / "model.npz") as npz:
            arrays = {k: npz[k] for k in npz.files}
        scaling = None
        if d.get("input_scaling"):
            scaling = InputScaling(
                FixedFormat.from_dict(d["input_scaling"]["raw_format"]),
                arrays["input_scaling/offset"],
                arrays["input_scaling/shift"],
            )
        return cls(
            name=d["name"],
            input_format=FixedFormat.from_dict(d["input_format"]),
            layers=[_layer_from_json(spec, arrays) for spec in d["layers"]],
            latent=d["latent"],
            has_logvar=d["has_logvar"],
            score=ScoreSpec.from_json_dict(d["score"], lut=arrays.get("score/lut")),
            metadata=d.get("metadata", {}),
            input_scaling=scaling,
        )


def _layer_json(layer: Layer) -> dict[str, Any]:
    if isinstance(layer, ActivationLayer):
        return {
            "kind": "activation",
            "name": layer.name,
            "n_in": layer.n,
            "n_out": layer.n,
            "activation": layer.activation,
            "output_format": layer.output_format.to_dict(),
        }
    out = {
        "name": layer.name,
        "n_in": layer.n_in,
        "n_out": layer.n_out,
        "activation": layer.activation,
        "weight_format": layer.weight_format.to_dict(),
        "bias_format": layer.bias_format.to_dict(),
        "output_format": layer.output_format.to_dict(),
    }
    for key in ("accum_format", "result_format"):
        fmt = getattr(layer, key)
        if fmt is not None:
            out[key] = fmt.to_dict()
    return out


def _layer_from_json(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Layer:
    ff = FixedFormat.from_dict
    if spec.get("kind", "dense") == "activation":
        return ActivationLayer(spec["name"], int(spec["n_in"]), spec["activation"], ff(spec["output_format"]))
    return DenseLayer(
        name=spec["name"],
        weight=arrays[f"{spec['name']}/weight"],
        weight_format=ff(spec["weight_format"]),
        bias=arrays[f"{spec['name']}/bias"],
        bias_format=ff(spec["bias_format"]),
        activation=spec["activation"],
        output_format=ff(spec["output_format"]),
        accum_format=ff(spec["accum_format"]) if spec.get("accum_format") else None,
        result_format=ff(spec["result_format"]) if spec.get("result_format") else None,
    )
