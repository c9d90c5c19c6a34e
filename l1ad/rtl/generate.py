"""Pipeline the traced trigger logic for a target clock and write its Verilog with da4ml's ``RTLModel``.

Output directory (``firmware/generated/<run-name>-<score>/`` by default)::

    src/l1ad_core.v, src/l1ad_core_stage*.v   pipelined core (da4ml)
    src/l1ad_core_wrapper.v                   da4ml's own wrapper (common-lsb bus; not used by l1ad_trigger)
    src/static/*.v, src/memfiles/*.mem        da4ml primitives and lookup-table contents ($readmemh)
    metadata.json                             da4ml's (latency, reg_bits, cost) + l1ad's "l1ad" section
    fixed_model/                              the FixedPointModel the core was built from

Pipelining: da4ml counts delay in adder levels. ``latency_cutoff`` (adder levels per stage) defaults to
the clock period in ns (da4ml's own default is 5 levels at 5 ns): 5 at 200 MHz, 4 at 240 MHz, 25 at 40 MHz.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from da4ml.codegen import RTLModel
from da4ml.trace import to_pipeline
from da4ml.types import minimal_kif

from l1ad.fixed.model import FixedPointModel
from l1ad.rtl.trace import trace_model

__all__ = [
    "CORE_NAME",
    "WRAPPER_LATENCY",
    "DEFAULT_CLOCK",
    "GeneratedDesign",
    "parse_clock",
    "latency_cutoff_for",
    "model_digest",
    "generate_rtl",
    "design_for",
]

CORE_NAME = "l1ad_core"
#: Registers the hand-written wrapper (firmware/hdl/l1ad_trigger.v) adds after the core: none, the core
#: compares the score with the threshold itself (an input traced with the model) and registers both.
WRAPPER_LATENCY = 0
DEFAULT_CLOCK = "200MHz"


def parse_clock(clock: str | float) -> float:
    """Clock period in ns from '200MHz', '0.2GHz', '5ns' or a number of MHz."""
    if isinstance(clock, (int, float)):
        mhz = float(clock)
        if mhz <= 0:
            raise ValueError(f"clock frequency must be positive, got {clock}")
        return 1e3 / mhz
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(mhz|ghz|ns)?\s*", str(clock).lower())
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"cannot read clock {clock!r}: use e.g. 200MHz, 0.24GHz or 5ns")
    value, unit = float(m.group(1)), m.group(2) or "mhz"
    return {"mhz": 1e3 / value, "ghz": 1.0 / value, "ns": value}[unit]


def latency_cutoff_for(period_ns: float) -> int:
    """Adder levels per pipeline stage for a clock period (about 1 ns per level on UltraScale+)."""
    return max(1, math.floor(period_ns + 1e-9))


@dataclass
class GeneratedDesign:
    """A generated core: where it is and the numbers the wrapper and the testbench need."""

    path: Path
    metadata: dict[str, Any]

    @property
    def l1ad(self) -> dict[str, Any]:
        return self.metadata["l1ad"]

    @property
    def latency(self) -> int:
        return int(self.metadata["latency"])

    def sources(self) -> list[Path]:
        """Verilog files of the core (without the trigger wrapper), as absolute paths."""
        src = self.path.resolve() / "src"
        return sorted(src.glob("*.v")) + sorted((src / "static").glob("*.v"))

    def memfiles(self) -> list[Path]:
        return sorted((self.path / "src/memfiles").glob("*.mem"))

    def wrapper_parameters(self) -> dict[str, int]:
        """Verilog parameters of ``l1ad_trigger`` for this core."""
        info = self.l1ad
        return {
            "N_IN": info["n_inputs"],
            "IN_W": info["input_width"],
            "CORE_W": info["core_score_width"],
            "SCORE_W": info["score_width"],
            "SCORE_SHIFT": info["score_shift"],
            "LATENCY": self.latency,
        }

    @classmethod
    def load(cls, path: str | Path) -> GeneratedDesign:
        path = Path(path)
        meta_file = path / "metadata.json"
        if not meta_file.is_file():
            raise FileNotFoundError(f"{path}: no metadata.json (not a generated design; run `l1ad rtl`)")
        metadata = json.loads(meta_file.read_text())
        if "l1ad" not in metadata:
            raise ValueError(f"{meta_file}: no 'l1ad' section (not written by l1ad.rtl.generate)")
        return cls(path=path, metadata=metadata)


def model_digest(model: FixedPointModel) -> str:
    """sha256 of the model's JSON description and integer arrays (identifies what the RTL was built from)."""
    h = hashlib.sha256(json.dumps(model.to_json_dict(), sort_keys=True, default=str).encode())
    for layer in model.dense_layers:
        h.update(layer.weight.tobytes())
        h.update(layer.bias.tobytes())
    if model.score.lut is not None:
        h.update(model.score.lut.tobytes())
    if model.input_scaling is not None:
        h.update(model.input_scaling.offset.tobytes())
        h.update(model.input_scaling.shift.tobytes())
    return h.hexdigest()


def generate_rtl(
    model: FixedPointModel,
    out_dir: str | Path,
    clock: str | float = DEFAULT_CLOCK,
    latency_cutoff: int | None = None,
    part: str = "xcvu9p-flga2104-2L-e",
) -> GeneratedDesign:
    """Trace, pipeline and write the core of ``model`` into ``out_dir`` (replaced atomically)."""
    period = parse_clock(clock)
    cutoff = latency_cutoff if latency_cutoff is not None else latency_cutoff_for(period)
    traced = trace_model(model, latency_cutoff=cutoff, with_trigger=True)
    pipe = to_pipeline(traced.comb, cutoff, verbose=False)
    k, i, f = minimal_kif(pipe.out_qint[0])
    score_fmt = model.score.output_format
    shift = score_fmt.frac - f
    if k or shift < 0 or k + i + f + shift > score_fmt.width:
        raise ArithmeticError(f"core score (k={k}, i={i}, f={f}) does not fit {score_fmt.ap_type()}")
    info = {
        "model_name": model.name,
        "model_sha256": model_digest(model),
        "score": model.score.kind,
        "n_inputs": model.n_inputs,
        "input_format": model.raw_format.to_dict(),  # the codes the core takes (raw codes with input scaling)
        "input_width": model.raw_format.width,
        "score_format": score_fmt.to_dict(),
        "score_width": score_fmt.width,
        "core_score_width": int(k + i + f),
        "threshold_width": score_fmt.width,
        "score_shift": int(shift),
        "clock_mhz": 1e3 / period,
        "clock_period_ns": period,
        "latency_cutoff": cutoff,
        "core_latency_cycles": len(pipe.solutions),
        "wrapper_latency_cycles": WRAPPER_LATENCY,
        "trigger_latency_cycles": len(pipe.solutions) + WRAPPER_LATENCY,
        "trigger_latency_ns": (len(pipe.solutions) + WRAPPER_LATENCY) * period,
        "core_module": CORE_NAME,
        "top_module": "l1ad_trigger",
    }
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        rtl = RTLModel(
            pipe,
            CORE_NAME,
            tmp,
            flavor="verilog",
            latency_cutoff=cutoff,
            clock_period=period,
            print_latency=False,
            part_name=part,
        )
        rtl.write(metadata={"l1ad": info})
        model.save(tmp / "fixed_model")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return GeneratedDesign.load(out_dir)


def design_for(model: FixedPointModel, design_dir: Path, clock: str | float = DEFAULT_CLOCK) -> GeneratedDesign:
    """The generated design of ``model`` in ``design_dir``, regenerated unless it was built from this very model."""
    meta_file = design_dir / "metadata.json"
    if meta_file.is_file():
        info = json.loads(meta_file.read_text()).get("l1ad", {})
        if (
            info.get("model_sha256") == model_digest(model)
            and abs(float(info.get("clock_period_ns", -1)) - parse_clock(clock)) < 1e-9
        ):
            return GeneratedDesign.load(design_dir)
    return generate_rtl(model, design_dir, clock=clock)
