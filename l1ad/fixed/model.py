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
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from l1ad.data.atomic import atomic_path

Rounding = Literal["RND_CONV", "RND", "TRN"]
Overflow = Literal["SAT", "WRAP"]
ROUNDING_MODES = ("RND_CONV", "RND", "TRN")
OVERFLOW_MODES = ("SAT", "WRAP")
SCORE_KINDS = ("kl", "rz", "mu2")
ACTIVATIONS = ("relu", "linear")

#: Largest magnitude handled exactly by the int64 arithmetic of the golden model.
INT64_SAFE = 2**62


def _as_codes(values: Any, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{what}: integer codes expected, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


@dataclass(frozen=True)
class FixedFormat:
    """A fixed-point number format: ``width`` bits, ``integer`` of them left of the binary point (incl. sign)."""

    width: int
    integer: int
    signed: bool = True
    rounding: Rounding = "RND_CONV"
    overflow: Overflow = "SAT"

    def __post_init__(self) -> None:
        if not 1 <= self.width <= 62:
            raise ValueError(f"FixedFormat width must be in 1..62, got {self.width}")
        if self.rounding not in ROUNDING_MODES:
            raise ValueError(f"unknown rounding mode {self.rounding!r} (expected one of {ROUNDING_MODES})")
        if self.overflow not in OVERFLOW_MODES:
            raise ValueError(f"unknown overflow mode {self.overflow!r} (expected one of {OVERFLOW_MODES})")

    @property
    def frac(self) -> int:
        """Number of fraction bits (may be negative)."""
        return self.width - self.integer

    @property
    def min_code(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        return math.ldexp(1.0, -self.frac)

    def ap_type(self) -> str:
        """The Vivado/Vitis HLS type, e.g. ``ap_fixed<16,6,AP_RND_CONV,AP_SAT>``."""
        base = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{base}<{self.width},{self.integer},AP_{self.rounding},AP_{self.overflow}>"

    def _overflow(self, codes: np.ndarray) -> np.ndarray:
        if self.overflow == "SAT":
            return np.clip(codes, self.min_code, self.max_code)
        wrapped = codes & ((1 << self.width) - 1)
        if self.signed:
            wrapped = np.where(wrapped > self.max_code, wrapped - (1 << self.width), wrapped)
        return wrapped

    def requantize(self, codes: Any, frac_in: int) -> np.ndarray:
        """Re-scale integer ``codes`` with ``frac_in`` fraction bits into this format (integer arithmetic only)."""
        c = _as_codes(codes, "requantize")
        shift = frac_in - self.frac
        if shift <= 0:
            out = c << (-shift)
        else:
            q = c >> shift  # floor
            if self.rounding != "TRN":
                rem = c - (q << shift)
                half = 1 << (shift - 1)
                up = rem > half
                if self.rounding == "RND":
                    up |= rem == half
                else:  # RND_CONV: ties to even
                    up |= (rem == half) & ((q & 1) == 1)
                q = q + up
            out = q
        return self._overflow(out)

    def quantize(self, values: Any) -> np.ndarray:
        """Float values -> codes of this format (rounding, then overflow). NaN/inf raise ``ValueError``."""
        x = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError("quantize: NaN or inf in the values")
        scaled = np.ldexp(x, self.frac)
        if self.rounding == "TRN":
            r = np.floor(scaled)
        elif self.rounding == "RND":
            r = np.floor(scaled + 0.5)
        else:
            r = np.round(scaled)  # numpy rounds half to even
        limit = float(INT64_SAFE)
        r = np.clip(r, -limit, limit)
        return self._overflow(r.astype(np.int64))

    def to_float(self, codes: Any) -> np.ndarray:
        """Codes -> their exact values (float64)."""
        return np.ldexp(_as_codes(codes, "to_float").astype(np.float64), -self.frac)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FixedFormat:
        return cls(**d)

    @classmethod
    def for_range(cls, max_abs_code: int, frac: int, signed: bool, **modes: Any) -> FixedFormat:
        """The narrowest format with ``frac`` fraction bits holding codes up to ``max_abs_code`` in magnitude."""
        magnitude_bits = max(int(max_abs_code).bit_length(), 1)
        width = magnitude_bits + (1 if signed else 0)
        return cls(width=width, integer=width - frac, signed=signed, **modes)


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
        self.weight = _as_codes(self.weight, f"{self.name}.weight")
        self.bias = _as_codes(self.bias, f"{self.name}.bias")
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
        return int(max((c << w_shift) + (abs(int(b)) << b_shift) for c, b in zip(col, self.bias)))

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
class ScoreSpec:
    """The anomaly score computed from the latent codes; see ``l1ad.fixed.score`` for its integer definition."""

    kind: Literal["kl", "rz", "mu2"]
    latent: int
    latent_format: FixedFormat
    output_format: FixedFormat
    lut_input_format: FixedFormat | None = None
    lut: np.ndarray | None = None  # int64, len 2**lut_input_format.width
    lut_format: FixedFormat | None = None

    def __post_init__(self) -> None:
        if self.kind not in SCORE_KINDS:
            raise ValueError(f"unknown score kind {self.kind!r} (expected one of {SCORE_KINDS})")
        needs_lut = self.kind in ("kl", "rz")
        if needs_lut != (self.lut is not None):
            raise ValueError(f"score {self.kind}: a lookup table is {'required' if needs_lut else 'not used'}")
        if self.lut is not None:
            assert self.lut_input_format is not None and self.lut_format is not None
            self.lut = _as_codes(self.lut, "score lut")
            if self.lut.shape != (1 << self.lut_input_format.width,):
                raise ValueError(f"score lut has {self.lut.shape} entries, expected 2**{self.lut_input_format.width}")


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
        for prev, layer in zip(self.layers, self.layers[1:]):
            if prev.n_out != layer.n_in:
                raise ValueError(f"layer {layer.name} takes {layer.n_in} inputs, {prev.name} gives {prev.n_out}")
        expected = self.latent * (2 if self.has_logvar else 1)
        if self.layers[-1].n_out != expected:
            raise ValueError(f"last layer has {self.layers[-1].n_out} outputs, expected {expected}")
        if self.score.kind != "mu2" and not self.has_logvar:
            raise ValueError(f"score {self.score.kind} needs logvar outputs (a VAE encoder)")

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
        """The same encoder with another score kind."""
        from l1ad.fixed.score import make_score

        return replace(self, score=make_score(kind, self.latent, self.latent_format, **score_options))

    # ---- serialization: model.json (formats, structure) + model.npz (integer arrays) ----
    def to_json_dict(self) -> dict[str, Any]:
        s = self.score
        return {
            "format_version": 1,
            "name": self.name,
            "input_format": self.input_format.to_dict(),
            "latent": self.latent,
            "has_logvar": self.has_logvar,
            "layers": [
                {
                    "name": l.name,
                    "n_in": l.n_in,
                    "n_out": l.n_out,
                    "activation": l.activation,
                    "weight_format": l.weight_format.to_dict(),
                    "bias_format": l.bias_format.to_dict(),
                    "output_format": l.output_format.to_dict(),
                }
                for l in self.layers
            ],
            "score": {
                "kind": s.kind,
                "latent": s.latent,
                "latent_format": s.latent_format.to_dict(),
                "output_format": s.output_format.to_dict(),
                "lut_input_format": s.lut_input_format.to_dict() if s.lut_input_format else None,
                "lut_format": s.lut_format.to_dict() if s.lut_format else None,
            },
            "metadata": self.metadata,
        }

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``model.json`` and ``model.npz`` into ``directory`` (each atomically)."""
        directory = Path(directory)
        arrays = {f"{l.name}/weight": l.weight for l in self.layers}
        arrays.update({f"{l.name}/bias": l.bias for l in self.layers})
        if self.score.lut is not None:
            arrays["score/lut"] = self.score.lut
        with atomic_path(directory / "model.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
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
                name=l["name"],
                weight=arrays[f"{l['name']}/weight"],
                weight_format=ff(l["weight_format"]),
                bias=arrays[f"{l['name']}/bias"],
                bias_format=ff(l["bias_format"]),
                activation=l["activation"],
                output_format=ff(l["output_format"]),
            )
            for l in d["layers"]
        ]
        s = d["score"]
        score = ScoreSpec(
            kind=s["kind"],
            latent=s["latent"],
            latent_format=ff(s["latent_format"]),
            output_format=ff(s["output_format"]),
            lut_input_format=ff(s["lut_input_format"]) if s["lut_input_format"] else None,
            lut=arrays.get("score/lut"),
            lut_format=ff(s["lut_format"]) if s["lut_format"] else None,
        )
        return cls(
            name=d["name"],
            input_format=ff(d["input_format"]),
            layers=layers,
            latent=d["latent"],
            has_logvar=d["has_logvar"],
            score=score,
            metadata=d.get("metadata", {}),
        )
