"""FPGA resource estimate of a generated trigger with yosys ``synth_xilinx -family xcup`` (no Vivado needed).

Counts LUTs (LUT1..LUT6), flip-flops (FD*), DSP48E2, CARRY8 and distributed-RAM/ROM cells of the whole
``l1ad_trigger`` (core + wrapper) and their share of a VU9P and a VU13P. yosys is not Vivado: the numbers
are a pre-place-and-route estimate (yosys packs less aggressively than Vivado).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from l1ad.rtl.generate import GeneratedDesign
from l1ad.shipped import wrapper_hdl

__all__ = ["DEVICES", "YosysNotFound", "Resources", "yosys_path", "count_cells", "parse_stat_json", "estimate"]

#: Device capacities (AMD UltraScale+ data sheets).
DEVICES = {
    "VU9P": {"LUT": 1_182_240, "FF": 2_364_480, "DSP": 6_840},
    "VU13P": {"LUT": 1_728_000, "FF": 3_456_000, "DSP": 12_288},
}


class YosysNotFound(RuntimeError):
    """yosys is not on PATH."""


@dataclass
class Resources:
    lut: int
    ff: int
    dsp: int
    carry: int
    lutram: int
    cells: dict[str, int]
    top: str

    def percent(self, device: str) -> dict[str, float]:
        cap = DEVICES[device]
        return {
            "LUT": 100.0 * self.lut / cap["LUT"],
            "FF": 100.0 * self.ff / cap["FF"],
            "DSP": 100.0 * self.dsp / cap["DSP"],
        }

    def to_dict(self) -> dict:
        d = asdict(self)
        d["percent"] = {dev: self.percent(dev) for dev in DEVICES}
        return d


def yosys_path() -> str:
    path = shutil.which("yosys")
    if path is None:
        raise YosysNotFound(
            "yosys not found on PATH: install it (`make sysdeps`, or apt-get install yosys) for LUT/FF/DSP estimates"
        )
    return path


def count_cells(cells: dict[str, int], top: str = "l1ad_trigger") -> Resources:
    """Group yosys' Xilinx cell counts into LUT / FF / DSP / CARRY / LUTRAM."""

    def total(prefixes: tuple[str, ...]) -> int:
        return sum(n for name, n in cells.items() if name.startswith(prefixes))

    return Resources(
        lut=total(("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6")),
        ff=total(("FDRE", "FDSE", "FDCE", "FDPE")),
        dsp=total(("DSP48E2",)),
        carry=total(("CARRY8", "CARRY4")),
        lutram=total(("RAM", "ROM", "SRL")),
        cells=dict(sorted(cells.items())),
        top=top,
    )


def parse_stat_json(text: str) -> dict[str, int]:
    """Cell counts of the design from ``stat -json`` output (the whole flattened design)."""
    start = text.index("{")
    data = json.loads(text[start:])
    design = data.get("design") or next(iter(data["modules"].values()))
    return {name.lstrip("\\$"): int(n) for name, n in design["num_cells_by_type"].items()}


def estimate(design: GeneratedDesign, timeout_s: float = 3600, log: str | Path | None = None) -> Resources:
    """Run yosys on the trigger (wrapper + generated core) and count its cells."""
    exe = yosys_path()
    params = design.wrapper_parameters()
    files = " ".join(f'"{p}"' for p in design.sources() + [wrapper_hdl()])
    chparams = " ".join(f"-chparam {k} {v}" for k, v in params.items())
    with tempfile.TemporaryDirectory(prefix="l1ad-yosys-") as tmp:
        stat_file = Path(tmp) / "stat.json"
        # lookup tables: yosys 0.23 finds no Xilinx mapping for da4ml's distributed ROMs, so they are
        # turned into logic (memory_map) first, as Vivado's distributed ROM would be LUTs too.
        script = (
            f"read_verilog -defer -sv {files}; hierarchy -top l1ad_trigger {chparams}; "
            "proc; flatten; memory -nomap; memory_map; opt -fast; "
            f"synth_xilinx -family xcup -flatten -noiopad -top l1ad_trigger; tee -q -o {stat_file} stat -json"
        )
        cwd = design.path / "src" / "memfiles"  # $readmemh paths are relative to the cwd
        cwd.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([exe, "-q", "-p", script], cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
        if log is not None:
            Path(log).write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0 or not stat_file.exists():
            tail = (proc.stderr or proc.stdout)[-2000:]
            raise RuntimeError(f"yosys failed (exit {proc.returncode}): {tail}")
        return count_cells(parse_stat_json(stat_file.read_text()))
