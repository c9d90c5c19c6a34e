"""What an anomaly score is: its specification (:class:`ScoreSpec`) and its definition (:class:`Score`).

A score is a sum over latent dimensions of one integer *term* per dimension, computed from that dimension's
mu code (and logvar code, for scores that need it), read in a declared output format. Each :class:`Score`
defines that term once for every form of the trigger:

- ``float_score``: the float definition on (mu, logvar) arrays (what the float model's score is);
- ``make_spec``: the exact fixed-point specification (output format, lookup table, shifts) for a latent format;
- ``codes``: the integer score of every event (the golden model; int64 numpy);
- ``trace_terms``: the same terms on da4ml's traced fixed-point variables (the RTL);
- ``hls_term``: the same term as a C++ function body (the hls4ml custom layer).

Scores register themselves in :mod:`l1ad.fixed.scores`; adding one is adding one module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from l1ad.fixed.formats import FixedFormat, as_codes
from l1ad.fixed.scores.count import CountTerm

__all__ = ["ScoreSpec", "Score", "TraceOps"]


@dataclass
class ScoreSpec:
    """The fixed-point score of a model: kind, latent format, exact output format and (optional) lookup table.

    ``params`` holds further integer constants of a score kind (e.g. shifts); ``lut`` (int64, one entry per
    code of ``lut_input_format``) is the table of scores that look a function of logvar up. ``count`` (optional)
    adds ``table[n objects]`` read from the trigger's inputs; ``output_format`` then holds the sum.
    """

    kind: str
    latent: int
    latent_format: FixedFormat
    output_format: FixedFormat
    lut_input_format: FixedFormat | None = None
    lut: np.ndarray | None = None
    lut_format: FixedFormat | None = None
    params: dict[str, int] = field(default_factory=dict)
    count: CountTerm | None = None  # an exact object-count table added to the score (l1ad.fixed.scores.count)

    def __post_init__(self) -> None:
        if self.latent < 1:
            raise ValueError(f"score {self.kind}: latent must be >= 1, got {self.latent}")
        has_table = (self.lut is not None, self.lut_input_format is not None, self.lut_format is not None)
        if any(has_table) and not all(has_table):
            raise ValueError(f"score {self.kind}: a lookup table needs lut, lut_input_format and lut_format")
        if self.lut is not None:
            assert self.lut_input_format is not None
            self.lut = as_codes(self.lut, "score lut")
            if self.lut.shape != (1 << self.lut_input_format.width,):
                raise ValueError(f"score lut has {self.lut.shape} entries, expected 2**{self.lut_input_format.width}")
        self.params = {str(k): int(v) for k, v in self.params.items()}

    def to_json_dict(self) -> dict[str, Any]:
        """JSON description (the table itself travels separately as an integer array; a count term inline)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "latent": self.latent,
            "latent_format": self.latent_format.to_dict(),
            "output_format": self.output_format.to_dict(),
            "lut_input_format": self.lut_input_format.to_dict() if self.lut_input_format else None,
            "lut_format": self.lut_format.to_dict() if self.lut_format else None,
            "params": dict(self.params),
        }
        if self.count is not None:
            out["count"] = self.count.to_dict()
        return out

    @classmethod
    def from_json_dict(cls, d: dict[str, Any], lut: np.ndarray | None = None) -> ScoreSpec:
        def fmt(key: str) -> FixedFormat | None:
            return FixedFormat.from_dict(d[key]) if d.get(key) else None

        latent_format, output_format = fmt("latent_format"), fmt("output_format")
        if latent_format is None or output_format is None:
            raise ValueError("score description needs latent_format and output_format")
        return cls(
            kind=d["kind"],
            latent=int(d["latent"]),
            latent_format=latent_format,
            output_format=output_format,
            lut_input_format=fmt("lut_input_format"),
            lut=lut,
            lut_format=fmt("lut_format"),
            params=d.get("params", {}),
            count=CountTerm.from_dict(d["count"]) if d.get("count") else None,
        )


class TraceOps(Protocol):
    """What the RTL tracer offers a score's ``trace_terms`` (see :mod:`l1ad.rtl.trace`)."""

    def product(self, a: Any, b: Any) -> Any:
        """``a * b`` of two traced variables, delay-modelled as a DSP product."""

    def lookup(self, spec: ScoreSpec, logvar: list[Any]) -> list[Any]:
        """``spec.lut[index(lv)]`` (values, ``lut_format`` lsb) of each traced logvar."""

    def cast(self, value: Any, frac_in: int, fmt: FixedFormat) -> Any:
        """``fmt.requantize`` of a traced value with ``frac_in`` fraction bits (its rounding, then overflow)."""


class Score(ABC):
    """One anomaly score kind, defined for float, golden, RTL and HLS evaluation (see the module doc)."""

    #: registry key, e.g. "kl"
    name: ClassVar[str]
    #: whether the score reads logvar (a VAE encoder); otherwise mu alone
    needs_logvar: ClassVar[bool]
    #: one line: the float definition
    formula: ClassVar[str]
    #: which of a run's deployable encoders computes the score's inputs: "encoder" (the (V)AE encoder, mu and
    #: logvar) or "student" (the teacher-student regressor)
    encoder: ClassVar[str] = "encoder"

    @abstractmethod
    def float_score(self, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        """Float score per event of float (N, latent) mu / logvar."""

    @abstractmethod
    def make_spec(self, latent: int, latent_format: FixedFormat, **options: Any) -> ScoreSpec:
        """The exact fixed-point specification for latent codes in ``latent_format``."""

    @abstractmethod
    def codes(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        """Integer score (codes of ``spec.output_format``) of int64 (N, latent) mu / logvar codes."""

    def codes_float(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray | None:
        """The same integers computed in float64 from float64 codes (fast path), or None if not offered.

        Only called when ``spec.output_format`` fits 53 bits; must then be exact.
        """
        return None

    @abstractmethod
    def trace_terms(
        self, spec: ScoreSpec, mu: list[Any], logvar: list[Any] | None, ops: TraceOps
    ) -> tuple[list[Any], float]:
        """The score as ``scale * sum(terms)`` on da4ml traced variables (values, not codes)."""

    @abstractmethod
    def hls_term(self, spec: ScoreSpec) -> str:
        """C++ body of ``template <class data_T> static accum_t term(data_T mu_v, data_T lv_v)``.

        ``mu_v`` / ``lv_v`` are one dimension's encoder outputs in the latent ap_fixed type; the body returns
        that dimension's term as an ``accum_t`` (:meth:`hls_accum_type`), which the layer sums in ``accum_t``.
        """

    def hls_accum_type(self, spec: ScoreSpec) -> str:
        """C++ type the HLS layer sums the terms in: by default the unsigned output word (integer codes)."""
        return f"ap_uint<{spec.output_format.width}>"

    def check_inputs(self, spec: ScoreSpec, mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray | None:
        """Validate code shapes; returns logvar as int64 (or None when the score does not read it)."""
        if mu.ndim != 2 or mu.shape[1] != spec.latent:
            raise ValueError(f"mu codes have shape {mu.shape}, expected (N, {spec.latent})")
        if not self.needs_logvar:
            return None
        if logvar is None:
            raise ValueError(f"score {self.name} needs logvar codes")
        lv = np.asarray(logvar, dtype=np.int64)
        if lv.shape != mu.shape:
            raise ValueError(f"logvar codes have shape {lv.shape}, expected {mu.shape}")
        return lv
