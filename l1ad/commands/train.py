"""``l1ad train``: train a quantized AE/VAE on a background file and write a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from l1ad.models.config import MODEL_KINDS, QUANTIZATION_MODES, ModelConfig

__all__ = ["HELP", "add_arguments", "run"]

HELP = "train a quantized AE/VAE (QKeras) and its teacher-student regressor on background events; write a run directory"


def _widths(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc
    if not values:
        raise argparse.ArgumentTypeError("expected at least one width")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="background event file (ADC2021 HDF5); required unless --teacher")
    parser.add_argument(
        "--teacher",
        metavar="RUN",
        help="keep the VAE of this run (and its training events) and train only a new teacher-student regressor "
        "with the student settings of --config / --student-occupancy (default: the current defaults)",
    )
    parser.add_argument("--out", required=True, help="run directory to create (e.g. runs/x)")
    parser.add_argument("--model", choices=MODEL_KINDS, help="architecture (default dnn-vae)")
    parser.add_argument("--signals", nargs="*", default=[], help="signal event files to score")
    parser.add_argument("--config", help="YAML file with ModelConfig settings (CLI options override it)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--beta", type=float, help="VAE loss = (1-beta) MSE + beta KL")
    parser.add_argument("--bits", type=int, help="weight bit width (quantized_bits(bits, weight_integer))")
    parser.add_argument("--latent", type=int)
    parser.add_argument("--hidden", type=_widths, help="encoder widths, e.g. 32,16")
    parser.add_argument("--quantization", choices=QUANTIZATION_MODES, help="qat (default) or ptq")
    parser.add_argument("--prune", type=float, help="target sparsity of magnitude pruning, e.g. 0.5")
    parser.add_argument(
        "--distill", type=float, help="QAT: weight of the |quantized - float encoder output|^2 term (0 = off)"
    )
    parser.add_argument(
        "--distill-tail",
        type=float,
        help="QAT: distillation event weights ~ exp(distill_tail x float score) (0 = uniform)",
    )
    parser.add_argument(
        "--no-student", action="store_true", help="do not train the teacher-student regressor (student.h5)"
    )
    parser.add_argument(
        "--student-occupancy",
        type=float,
        help="weight of the background lepton density -log p(n_e + n_mu) in the student trigger score (added "
        "exactly by a table of the lepton count; 0 = off)",
    )
    parser.add_argument("--max-events", type=int, help="use at most this many background events")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def run(args: argparse.Namespace) -> int:
    from l1ad.pipeline import retrain_student, train

    if (args.data is None) == (args.teacher is None):
        raise SystemExit("l1ad train: give either --data (train everything) or --teacher RUN (a new student only)")
    cfg = ModelConfig.load(args.config) if args.config else ModelConfig()
    if args.teacher is not None:
        cfg = cfg.updated(student_occupancy=args.student_occupancy)
        run_obj = retrain_student(args.teacher, args.out, cfg, progress=not args.no_progress, overwrite=args.overwrite)
        print(f"l1ad train: wrote {Path(args.out)} (the VAE of {args.teacher}, a new teacher-student regressor)")
        _print_scores(run_obj)
        return 0
    cfg = cfg.updated(
        model=args.model,
        epochs=args.epochs,
        beta=args.beta,
        weight_bits=args.bits,
        latent=args.latent,
        hidden=args.hidden,
        quantization=args.quantization,
        prune=args.prune,
        distill=args.distill,
        distill_tail=args.distill_tail,
        student=False if args.no_student else None,
        student_occupancy=args.student_occupancy,
        max_events=args.max_events,
        seed=args.seed,
    )
    run_obj = train(
        args.data, args.out, cfg, signals=args.signals, progress=not args.no_progress, overwrite=args.overwrite
    )
    student = ", teacher-student regressor: student.h5 (score: its output)" if run_obj.has_student else ""
    print(f"l1ad train: wrote {Path(args.out)} ({cfg.model}, deployable encoder: {run_obj.deployable}{student})")
    _print_scores(run_obj)
    return 0


def _print_scores(run_obj: Any) -> None:
    for sample in run_obj.samples():
        s = run_obj.scores(sample)
        kinds = sorted(k[len("quantized_") :] for k in s if k.startswith("quantized_"))
        means = ", ".join(f"{k}={s['quantized_' + k].mean():.4g}" for k in kinds)
        print(f"  {sample:<16} {len(s['weights']):>8} events  mean quantized scores: {means}")
