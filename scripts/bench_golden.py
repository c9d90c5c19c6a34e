"""Benchmark: golden model throughput (one core) vs hls4ml C-simulation throughput, in the same run.

Usage: python scripts/bench_golden.py [--events 2000000] [--csim-events 5000] [--score kl] [--no-csim]
Prints events/s of the fast golden path (``golden_score``), of the int64 reference, and of the hls4ml
C-simulation (``predict``) of the default DNN VAE encoder (57-32-16-3x2, random weights) + score.
With ``--no-csim`` the model is built from random integer weights in the default formats (numpy only,
no TensorFlow), so the golden figure can be measured on a machine without the full stack.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy loads BLAS

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from itertools import pairwise  # noqa: E402

import numpy as np  # noqa: E402

from l1ad.fixed import scores  # noqa: E402


def rate(fn, n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def random_default_model(score: str):
    """The default contract encoder's formats (ap_fixed<16,6> in, 8-bit weights, 12-bit biases, ap_ufixed<8,3>
    activations, ap_fixed<16,5> latent) with random integer weights."""
    from l1ad.fixed.formats import FixedFormat
    from l1ad.fixed.model import DenseLayer, FixedPointModel
    from l1ad.fixed.scores import make_score

    rng = np.random.default_rng(1)
    w_fmt, b_fmt = FixedFormat(8, 2), FixedFormat(12, 4)
    dims, layers = [57, 32, 16, 6], []
    for i, (n_in, n_out) in enumerate(pairwise(dims)):
        last = i == len(dims) - 2
        layers.append(
            DenseLayer(
                f"d{i}",
                rng.integers(-40, 41, (n_in, n_out)),
                w_fmt,
                rng.integers(-500, 501, n_out),
                b_fmt,
                "linear" if last else "relu",
                FixedFormat(16, 5) if last else FixedFormat(8, 3, signed=False),
            )
        )
    return FixedPointModel("bench", FixedFormat(16, 6), layers, 3, True, make_score(score, 3, FixedFormat(16, 5)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--csim-events", type=int, default=5000)
    parser.add_argument("--score", choices=scores.names(), default="kl")
    parser.add_argument("--no-csim", action="store_true")
    args = parser.parse_args()

    from l1ad.fixed.golden import golden_score, reference_forward

    if args.no_csim:
        encoder, fixed = None, random_default_model(args.score)
    else:
        from l1ad.fixed.extract import extract_fixed_model
        from l1ad.models.builders import build_quantized_encoder

        encoder = build_quantized_encoder(seed=1, random_biases=True)
        fixed = extract_fixed_model(encoder, score=args.score)
    rng = np.random.default_rng(0)
    codes = np.rint(rng.normal(0, 2**10, (args.events, fixed.n_inputs))).astype(np.int64)
    codes = np.clip(codes, fixed.input_format.min_code, fixed.input_format.max_code)
    n_ref = min(args.events, 200_000)
    fast = golden_score(fixed, codes[:n_ref])
    assert np.array_equal(fast, reference_forward(fixed, codes[:n_ref]).score), "fast golden != int64 reference"
    golden_rate = rate(lambda: golden_score(fixed, codes), args.events)
    ref_rate = rate(lambda: reference_forward(fixed, codes[:n_ref]), n_ref, repeat=1)
    widths = [layer.n_in for layer in fixed.layers] + [fixed.layers[-1].n_out]
    print(f"score {args.score}, encoder {widths}, one BLAS thread")
    print(f"golden (fast path)      : {golden_rate / 1e6:8.2f} M events/s  ({args.events} events, best of 3)")
    print(f"golden (int64 reference): {ref_rate / 1e6:8.2f} M events/s  ({n_ref} events)")
    if args.no_csim:
        return
    from l1ad.hls.project import create_project

    with tempfile.TemporaryDirectory(prefix="l1ad-bench-") as tmp:
        project = create_project(encoder, fixed, tmp)
        project.compile()
        sub = codes[: args.csim_events]
        csim = project.predict(sub)
        assert np.array_equal(csim, golden_score(fixed, sub)), "C-sim != golden"
        csim_rate = rate(lambda: project.predict(sub), len(sub), repeat=1)
    print(f"hls4ml C-sim (predict)  : {csim_rate / 1e6:8.4f} M events/s  ({len(sub)} events)")
    print(f"golden / C-sim          : {golden_rate / csim_rate:8.0f} x")


if __name__ == "__main__":
    main()
