"""hls4ml projects with awkward types, written by hls4ml itself: 1.3 (this environment) or 0.8.1 (installed in a
target directory by ``scripts/install_hls4ml08.sh``, run in a subprocess with it first on the path).

The QKeras encoder 57 -> h1 -> h2 -> latent is converted with precisions set per layer the way a deployed trigger
declares them: accumulators narrower than exact (dropping product fraction bits and wrapping, keeping them and
wrapping, rounding and saturating every partial sum), dense result types narrower than the accumulator (AP_TRN,
AP_WRAP), a linear cast layer (AP_RND, AP_SAT) and relu / output types with AP_RND_CONV, AP_SAT.

Run as a script (``python tests/hls4ml_projects.py --out DIR --size small``) it writes one project with whatever
hls4ml the interpreter imports.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"small": (57, 10, 6, 4), "full": (57, 32, 16, 8)}
INPUT_TYPE = "ap_fixed<12,6,AP_RND_CONV,AP_SAT>"
PRECISIONS = {
    "inputs": {"result": INPUT_TYPE},
    "in_q": {"result": INPUT_TYPE},
    "d1": {"accum": "ap_fixed<14,7>", "result": "ap_fixed<10,5,AP_TRN,AP_WRAP>"},
    "d1_linear": {"result": "ap_fixed<9,4,AP_RND,AP_SAT>"},
    "r1": {"result": "ap_ufixed<8,4,AP_RND_CONV,AP_SAT>"},
    "d2": {"accum": "ap_fixed<16,6>", "result": "ap_fixed<11,5>"},
    "d2_linear": {"result": "ap_fixed<11,5>"},
    "r2": {"result": "ap_ufixed<7,3,AP_RND_CONV,AP_SAT>"},
    "d3": {"accum": "ap_fixed<13,5,AP_RND,AP_SAT>", "result": "ap_fixed<12,5,AP_RND_CONV,AP_SAT>"},
    "d3_linear": {"result": "ap_fixed<12,5,AP_RND_CONV,AP_SAT>"},
    "out": {"result": "ap_fixed<10,4,AP_RND_CONV,AP_SAT>"},
}
#: raw inputs: hardware units with 3 fraction bits
RAW_TYPE = "ap_fixed<16,13>"


def hls4ml08_dir() -> Path | None:
    """Where hls4ml 0.8.1 is installed (``L1AD_HLS4ML08`` or ``.cache/hls4ml-0.8.1``), None if nowhere."""
    path = Path(os.environ.get("L1AD_HLS4ML08", ROOT / ".cache" / "hls4ml-0.8.1"))
    return path if (path / "hls4ml" / "__init__.py").is_file() else None


def build_encoder(size: str = "small", seed: int = 0):
    """The QKeras encoder (every quantizer alpha=1; the types that matter are set in the hls4ml configuration)."""
    from l1ad import keras_compat

    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    n_in, h1, h2, latent = SIZES[size]
    rng = np.random.default_rng(seed)
    inp = keras.Input((n_in,), name="inputs")
    x = qk.QActivation(qk.quantized_bits(12, 5, alpha=1), name="in_q")(inp)
    for name, n, wq, act in (
        ("d1", h1, qk.quantized_bits(6, 0, alpha=1), qk.quantized_relu(8, 4)),
        ("d2", h2, qk.quantized_bits(5, 0, alpha=1), qk.quantized_relu(7, 3)),
        ("d3", latent, qk.quantized_bits(6, 1, alpha=1), qk.quantized_bits(10, 3, alpha=1)),
    ):
        x = qk.QDense(n, kernel_quantizer=wq, bias_quantizer=qk.quantized_bits(8, 2, alpha=1), name=name)(x)
        x = qk.QActivation(act, name={"d1": "r1", "d2": "r2", "d3": "out"}[name])(x)
    model = keras.Model(inp, x, name="awkward_encoder")
    for layer in model.layers:
        if layer.get_weights():
            layer.set_weights([rng.normal(0.0, 0.7, w.shape) for w in layer.get_weights()])
    return model


def convert(out: Path, size: str, seed: int) -> None:
    """Write the project with the hls4ml this interpreter imports (Vitis for >= 1.0, Vivado for 0.8)."""
    from l1ad import keras_compat

    model = build_encoder(size, seed)
    with keras_compat.keras2_as_keras():
        import hls4ml

        backend = "Vivado" if hls4ml.__version__.startswith("0.") else "Vitis"
        config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
        for name, precision in PRECISIONS.items():
            config["LayerName"].setdefault(name, {}).setdefault("Precision", {}).update(precision)
        hls_model = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=config,
            output_dir=str(out),
            io_type="io_parallel",
            backend=backend,
            part="xcvu9p-flga2104-2L-e",
            clock_period=5,
        )
        hls_model.write()


def write_project(out: Path, generation: str = "1.3", size: str = "small", seed: int = 0) -> Path:
    """Write the project into ``out`` with hls4ml ``generation`` ("1.3" here, "0.8" in a subprocess)."""
    if generation == "1.3":
        convert(out, size, seed)
        return out
    site = hls4ml08_dir()
    if site is None:
        raise FileNotFoundError("hls4ml 0.8.1 is not installed: run scripts/install_hls4ml08.sh")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    command = [sys.executable, str(Path(__file__)), "--out", str(out), "--size", size, "--seed", str(seed)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"hls4ml 0.8.1 could not write the project:\n{done.stderr[-3000:]}")
    return out


def write_scaling_header(path: Path, n: int = 57, seed: int = 0) -> Path:
    """A C++ header with the two constant arrays of an input-scaling stage (negative and positive shifts)."""
    rng = np.random.default_rng(seed)
    offsets = rng.integers(-400, 400, n) * 0.125  # values of ap_fixed<16,13>: multiples of 1/8
    offsets[::5] = 0.0
    shifts = rng.integers(-2, 7, n)
    shifts[:4] = [-2, -1, 0, 6]
    return _write(
        path,
        "// input scaling of the awkward test trigger (raw hardware units -> model inputs)\n"
        f"static const {RAW_TYPE} ad_offsets[{n}] = {{{', '.join(f'{v:g}' for v in offsets)}}};\n"
        f"static const int ad_shifts[{n}] = {{{', '.join(str(int(s)) for s in shifts)}}};\n",
    )


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    convert(args.out, args.size, args.seed)
