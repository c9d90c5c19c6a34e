"""``l1ad verify``: bit-exactness of every form of the trigger against the golden model, as integers.

Stages (each: number of vectors, mismatching vectors and values):
- ``qkeras_vs_golden``: QKeras encoder outputs (float64 inference, exact) vs golden encoder outputs;
- ``hls_csim_vs_golden[<score>]``: hls4ml C-simulation encoder outputs and score vs golden;
- ``rtl_vs_golden[<score>]``: RTL simulation (``l1ad.rtl.verify.rtl_check``) when that module is importable.
Vectors: corner cases (zeros, every input at max / min, alternating extremes, saturated pT), then events
from ``--data`` (default: the run's data files), then random codes, ``--events`` in all.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data.atomic import write_text_atomic
from l1ad.fixed.model import FixedPointModel
from l1ad.fixed.vectors import corner_codes, verification_codes

HELP = "check QKeras, hls4ml C-sim (and RTL) against the golden model, integer for integer; writes verify.json"
SCORES = ("kl", "rz", "mu2")
VERIFY_JSON = "verify.json"


# ---- vectors ----------------------------------------------------------------------------------------
def share_events(available: list[int], n: int) -> list[int]:
    """How many events to take from each file: ``n`` in all, evenly, small files giving all they have."""
    take = [0] * len(available)
    remaining = n
    order = sorted(range(len(available)), key=lambda i: available[i])
    for rank, i in enumerate(order):
        take[i] = min(available[i], remaining // (len(order) - rank))
        remaining -= take[i]
    return take


def data_codes(run: Any, files: list[Path], n: int) -> np.ndarray:
    """Up to ``n`` events from ``files`` (shared evenly, see :func:`share_events`) as input codes of the run."""
    from l1ad.data.adc2021 import count_events, read_particles

    take = share_events([count_events(p) for p in files], n)
    parts = [run.input_format.to_codes(read_particles(p, 0, k)) for p, k in zip(files, take) if k > 0]
    return np.concatenate(parts) if parts else np.zeros((0, 57), dtype=np.int64)


def run_codes(run: Any, fixed: FixedPointModel, files: list[Path], n: int, seed: int = 0) -> tuple[np.ndarray, int]:
    """``n`` vectors: corner cases, then events of ``files`` filling the rest, then random codes; and the
    number of vectors that came from events."""
    budget = max(n - len(corner_codes(fixed)), 0)
    data = data_codes(run, files, budget) if files else None
    return verification_codes(fixed, n, data, seed), 0 if data is None else len(data)


def run_data_files(run: Any) -> list[Path]:
    """The run's data files (``metadata.json``) that still exist."""
    try:
        files = run.metadata.get("data_files", {})
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    paths = [Path(v["path"] if isinstance(v, dict) else v) for v in files.values()]
    return [p for p in paths if p.is_file()]


# ---- comparisons ------------------------------------------------------------------------------------
def compare(expected: np.ndarray, got: np.ndarray) -> dict[str, Any]:
    """Integer comparison summary: vectors, mismatching vectors and values, first mismatching vector."""
    e, g = np.asarray(expected, dtype=np.int64), np.asarray(got, dtype=np.int64)
    if e.shape != g.shape:
        raise ValueError(f"shapes differ: expected {e.shape}, got {g.shape}")
    diff = (e != g).reshape(len(e), -1)
    bad_rows = np.flatnonzero(diff.any(axis=1))
    return {
        "vectors": int(len(e)),
        "mismatched_vectors": int(bad_rows.size),
        "mismatched_values": int(diff.sum()),
        "first_mismatch": int(bad_rows[0]) if bad_rows.size else None,
    }


def hls_stage(
    run: Any, fixed: FixedPointModel, codes: np.ndarray, golden: Any, settings: Any, hls_dir: Path
) -> dict[str, Any]:
    """Build + compile the hls4ml project of ``fixed`` and compare C-sim with golden."""
    from l1ad.hls.project import create_project

    start = time.perf_counter()
    project = create_project(run.encoder, fixed, hls_dir / f"{run.path.name}-{fixed.score.kind}", settings)
    out = project.csim(codes)
    return {
        "encoder": compare(golden.layers[-1], out.encoder),
        "score": compare(golden.score, out.score),
        "project": str(project.output_dir),
        "seconds": round(time.perf_counter() - start, 2),
    }


def rtl_stage(run_dir: Path, fixed: FixedPointModel, codes: np.ndarray) -> dict[str, Any]:
    try:
        from l1ad.rtl.verify import rtl_check
    except ImportError as exc:
        return {"skipped": f"l1ad.rtl.verify not available ({exc})"}
    return rtl_check(run_dir, fixed, codes)


def total_mismatches(stage: dict[str, Any]) -> int:
    """Sum of mismatched_values over a (nested) stage summary."""
    if not isinstance(stage, dict):
        return 0
    own = int(stage.get("mismatched_values", 0) or 0) + int(stage.get("mismatches", 0) or 0)
    return own + sum(total_mismatches(v) for v in stage.values() if isinstance(v, dict))


# ---- CLI --------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="run directory (runs/<name>)")
    parser.add_argument(
        "--score", nargs="+", choices=SCORES, default=None, help="score(s) to check (default: those in fixed/, else kl)"
    )
    parser.add_argument("--events", type=int, default=10000, help="number of test vectors (default 10000)")
    parser.add_argument(
        "--data",
        type=Path,
        nargs="*",
        default=None,
        metavar="FILE.h5",
        help="event files for the vectors (default: the run's data files)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random vectors")
    parser.add_argument(
        "--backend",
        choices=("Vitis", "Vivado"),
        default=None,
        help="hls4ml backend (default: the one `l1ad convert` used, else Vitis)",
    )
    parser.add_argument("--hls-dir", type=Path, default=Path("hls_projects"), help="where hls4ml projects go")
    parser.add_argument("--no-hls", action="store_true", help="skip the hls4ml C-simulation stage")
    parser.add_argument("--no-rtl", action="store_true", help="skip the RTL simulation stage")


def scores_to_check(run_dir: Path, requested: list[str] | None) -> list[str]:
    if requested:
        return list(dict.fromkeys(requested))
    present = [s for s in SCORES if (run_dir / "fixed" / s / "model.json").is_file()]
    return present or ["kl"]


def run(args: argparse.Namespace) -> int:
    from l1ad.fixed.extract import extract_fixed_model, qkeras_reference, run_input_fixed_format
    from l1ad.fixed.golden import golden_forward
    from l1ad.models.rundir import load_run

    if args.events < 1:
        raise ValueError(f"--events must be >= 1, got {args.events}")
    run_obj = load_run(args.run_dir)
    scores = scores_to_check(args.run_dir, args.score)
    fixed = extract_fixed_model(
        run_obj.encoder,
        run_input_fixed_format(run_obj.input_format),
        score=scores[0],
        name=args.run_dir.name,
        variational=run_obj.config.variational,
    )
    files = list(args.data) if args.data is not None else run_data_files(run_obj)
    codes, n_data = run_codes(run_obj, fixed, files, args.events, args.seed)
    summary: dict[str, Any] = {
        "run": str(args.run_dir),
        "vectors": int(len(codes)),
        "corner_vectors": len(corner_codes(fixed)),
        "data_vectors": int(n_data),
        "data_files": [str(p) for p in files],
        "stages": {},
    }
    stages = summary["stages"]
    golden = golden_forward(fixed, codes)
    stages["qkeras_vs_golden"] = {
        "encoder": compare(golden.layers[-1], qkeras_reference(run_obj.encoder, fixed, codes))
    }
    _print_stage("qkeras_vs_golden", stages["qkeras_vs_golden"])
    for score in scores:
        model = fixed.with_score(score)
        saved = args.run_dir / "fixed" / score
        if (saved / "model.json").is_file():
            model = FixedPointModel.load(saved)  # the converted model is what firmware is built from
            _check_same_encoder(model, fixed)
        golden_s = golden_forward(model, codes)
        settings = convert_settings(saved, args.backend)
        if not args.no_hls:
            stages[f"hls_csim_vs_golden[{score}]"] = hls_stage(run_obj, model, codes, golden_s, settings, args.hls_dir)
            _print_stage(f"hls_csim_vs_golden[{score}]", stages[f"hls_csim_vs_golden[{score}]"])
        if not args.no_rtl:
            stages[f"rtl_vs_golden[{score}]"] = rtl_stage(args.run_dir, model, codes)
            _print_stage(f"rtl_vs_golden[{score}]", stages[f"rtl_vs_golden[{score}]"])
    summary["total_mismatches"] = total_mismatches(stages)
    summary["failed_stages"] = [name for name, stage in stages.items() if stage.get("ok") is False]
    summary["ok"] = summary["total_mismatches"] == 0 and not summary["failed_stages"]
    write_text_atomic(args.run_dir / VERIFY_JSON, json.dumps(summary, indent=1, sort_keys=True, default=str) + "\n")
    print(
        f"verify: {summary['vectors']} vectors ({summary['corner_vectors']} corner cases, "
        f"{summary['data_vectors']} from data), total mismatches {summary['total_mismatches']} "
        f"-> {args.run_dir / VERIFY_JSON}"
    )
    if summary["failed_stages"]:
        print(f"verify: failed stages: {', '.join(summary['failed_stages'])}")
    return 0 if summary["ok"] else 1


def convert_settings(fixed_dir: Path, backend: str | None) -> Any:
    """The HLS settings `l1ad convert` used for this score (``hls_settings.json``), else the defaults."""
    from l1ad.hls.project import HLSSettings

    path = fixed_dir / "hls_settings.json"
    settings = json.loads(path.read_text()) if path.is_file() else {}
    if backend is not None:
        settings["backend"] = backend
    return HLSSettings(**settings)


def _check_same_encoder(saved: FixedPointModel, extracted: FixedPointModel) -> None:
    for a, b in zip(saved.layers, extracted.layers, strict=True):
        if not (
            np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias) and a.output_format == b.output_format
        ):
            raise ValueError(
                f"fixed/{saved.score.kind}: layer {a.name} differs from the run's encoder (re-run `l1ad convert`)"
            )


def _print_stage(name: str, stage: dict[str, Any]) -> None:
    if "skipped" in stage:
        print(f"  {name:<28} skipped: {stage['skipped']}")
        return
    parts = [
        f"{k}: {v['mismatched_values']} mismatches / {v['vectors']} vectors"
        for k, v in stage.items()
        if isinstance(v, dict) and "vectors" in v
    ]
    if not parts and "mismatches" in stage:
        parts = [
            f"{stage['mismatches']} mismatches / {stage.get('vectors', '?')} vectors"
            + (f", latency {stage['latency_cycles']} cycles" if "latency_cycles" in stage else "")
            + ("" if stage.get("ok", True) else " (FAILED)")
        ]
    if not parts:
        parts = [json.dumps(stage, default=str)[:200]]
    print(f"  {name:<28} " + "; ".join(parts))
