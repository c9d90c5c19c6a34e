"""The fixed-point description of a trigger encoder + score: the hinge every firmware form is built from.

A :class:`FixedPointModel` holds integer weights and biases, the fixed-point format of every tensor
(ap_fixed convention: ``integer`` bits include the sign bit), the rounding and overflow modes, and the
score (:class:`ScoreSpec`). The golden model (``l1ad.fixed.golden``), the hls4ml project and the da4ml RTL
are all derived from it, and all must agree with it bit for bit.

Integer semantics of a :class:`DenseLayer` on input codes ``x`` (format ``fin``)::

    acc  = (x @ W) << (f_acc - f_in - f_w)  +  b << (f_acc - f_b)     # exact, f_acc = max(f_in + f_w, f_b)
    acc  = max(acc, 0)                                                # if activation == "relu"
    out  = output_format.requantize(acc, f_acc)                       # rounding + overflow of the output format
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
from l1ad.fixed.scores.base import ScoreSpec

__all__ = ["DenseLayer", "FixedPointModel", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "linear")


@dataclass
class DenseLayer:
    """A fully connected layer with integer weights, followed by its activation quantizer."""

    name: str
    weight: np.ndarray  # int64 (n_in, n_out)
    weight_format: FixedFormat
    bias: np.ndarray  # int64 (n_out,)
    bias_format: FixedFormat
    activation: Literal["relu", "linear"]
    output_format: FixedFormat

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

    def accumulator_frac(self, input_format: FixedFormat) -> int:
        return max(input_format.frac + self.weight_format.frac, self.bias_format.frac)

    def accumulator_bound(self, input_format: FixedFormat) -> int:
        """Largest |accumulator code| over all inputs in ``input_format`` (worst case, per output, maximised)."""
        f_acc = self.accumulator_frac(input_format)
        x_max = max(abs(input_format.min_code), abs(input_format.max_code))
        w_shift = f_acc - input_format.frac - self.weight_format.frac
        b_shift = f_acc - self.bias_format.frac
        col = np.abs(self.weight).sum(axis=0).astype(object) * x_max
        return int(max((c << w_shift) + (abs(int(b)) << b_shift) for c, b in zip(col, self.bias, strict=True)))

    def accumulator_format(self, input_format: FixedFormat) -> FixedFormat:
        """The exact (never overflowing, never rounding) accumulator format for inputs in ``input_format``."""
        return FixedFormat.for_range(
            self.accumulator_bound(input_format),
            self.accumulator_frac(input_format),
            signed=True,
            rounding="TRN",
            overflow="WRAP",
        )


@dataclass
class FixedPointModel:
    """Encoder layers + score in fixed point. The last layer outputs [mu | logvar] (or mu alone for an AE)."""

    name: str
    input_format: FixedFormat
    layers: list[DenseLayer]
    latent: int
    has_logvar: bool
    score: ScoreSpec
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("FixedPointModel needs at least one layer")
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

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def latent_format(self) -> FixedFormat:
        return self.layers[-1].output_format

    def layer_input_formats(self) -> list[FixedFormat]:
        """The format of each layer's input (the model input, then the previous layer's output)."""
        return [self.input_format] + [layer.output_format for layer in self.layers[:-1]]

    def with_score(self, kind: str, **score_options: Any) -> FixedPointModel:
        """The same encoder with another (registered) score kind."""
        return replace(self, score=scores.make_score(kind, self.latent, self.latent_format, **score_options))

    # ---- serialization: model.json (formats, structure) + model.npz (integer arrays) ----
    def to_json_dict(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "name": self.name,
            "input_format": self.input_format.to_dict(),
            "latent": self.latent,
            "has_logvar": self.has_logvar,
            "layers": [
                {
                    "name": layer.name,
                    "n_in": layer.n_in,
                    "n_out": layer.n_out,
                    "activation": layer.activation,
                    "weight_format": layer.weight_format.to_dict(),
                    "bias_format": layer.bias_format.to_dict(),
                    "output_format": layer.output_format.to_dict(),
                }
                for layer in self.layers
            ],
            "score": self.score.to_json_dict(),
            "metadata": self.metadata,
        }

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``model.json`` and ``model.npz`` into ``directory`` (each atomically)."""
        directory = Path(directory)
        arrays = {f"{layer.name}/weight": layer.weight for layer in self.layers}
        arrays.update({f"{layer.name}/bias": layer.bias for layer in self.layers})
        if self.score.lut is not None:
            arrays["score/lut"] = self.score.lut
        with atomic_path(directory / "model.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, allow_pickle=True, **arrays)
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
        with np.load(directory / "model.npz") as npz:
            arrays = {k: npz[k] for k in npz.files}
        ff = FixedFormat.from_dict
        layers = [
            DenseLayer(
                name=spec["name"],
                weight=arrays[f"{spec['name']}/weight"],
                weight_format=ff(spec["weight_format"]),
                bias=arrays[f"{spec['name']}/bias"],
                bias_format=ff(spec["bias_format"]),
                activation=spec["activation"],
                output_format=ff(spec["output_format"]),
            )
            for spec in d["layers"]
        ]
        score = ScoreSpec.from_json_dict(d["score"], lut=arrays.get("score/lut"))
        return cls(
            name=d["name"],
            input_format=ff(d["input_format"]),
            layers=layers,
            latent=d["latent"],
            has_logvar=d["has_logvar"],
            score=score,
            metadata=d.get("metadata", {}),
        )
