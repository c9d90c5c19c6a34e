"""``l1ad import keras|hls4ml``: a trigger made outside l1ad becomes a run directory.

``l1ad import keras MODEL.h5 --input-format FORMAT.json --out runs/NAME`` (or ``--fit-input-format EVENTS.h5``)
and ``l1ad import hls4ml PROJECT_DIR --out runs/NAME [--input-scaling FILE --raw-type 'ap_fixed<W,I>'] [--score mu2
--score-type 'ap_ufixed<W,I>']``. The work is :mod:`l1ad.pipeline.importing`; this module parses and prints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from l1ad.fixed import scores

__all__ = ["HELP", "add_arguments", "run"]

HELP = "import a trigger made elsewhere (a QKeras encoder file or an hls4ml project) as a run directory"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="the run directory to write (runs/<name>)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument(
        "--input-format", type=Path, metavar="FORMAT.json", help="events -> input codes (input_format.json)"
    )
    fmt.add_argument(
        "--fit-input-format", type=Path, metavar="EVENTS.h5", help="fit the input format's shifts on these events"
    )
    p.add_argument("--score", choices=scores.names(), default=None, help="score written to fixed/<score>")
    p.add_argument(
        "--score-type",
        default=None,
        metavar="'ap_ufixed<W,I>'",
        help="mu2 only: hold each square and the sum in this type (truncating and wrapping as it does)",
    )
    p.add_argument(
        "--check", type=int, default=1000, help="vectors compared with the source at import (default 1000; 0 = none)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)
    keras = sub.add_parser(
        "keras",
        help="a deployable (Q)Keras encoder file (.h5)",
        description="Import a deployable (Q)Keras encoder: QDense/Dense with quantizers, quantized_relu/quantized_bits"
        " as QActivation or QDense activation, ReLU. Default score: kl for a VAE, mu2 for an AE.",
    )
    keras.add_argument("model", type=Path, help="the encoder (.h5), outputs [mu | logvar] or mu")
    keras.add_argument("--kind", choices=("vae", "ae"), default=None, help="how to read the outputs (odd count: ae)")
    keras.add_argument("--latent", type=int, default=None, help="latent size, checked against the outputs")
    keras.add_argument(
        "--config", type=Path, default=None, help="a model config (YAML/JSON) to check against the model"
    )
    _common(keras)
    hls = sub.add_parser(
        "hls4ml",
        help="an hls4ml project (its C++: firmware/defines.h, parameters.h, weights, the top function)",
        description="Import an hls4ml project (io_parallel, latency dense, relu and linear layers) written by hls4ml "
        "< 1.0 or >= 1.0. Default score: mu2 over all outputs.",
    )
    hls.add_argument("project", type=Path, help="the project directory (holding firmware/)")
    hls.add_argument("--input-scaling", type=Path, default=None, metavar="FILE", help="offsets and shifts (JSON or .h)")
    hls.add_argument("--raw-type", default=None, metavar="'ap_fixed<W,I>'", help="type of the raw inputs")
    hls.add_argument("--variational", action="store_true", help="the outputs are [mu | logvar] (default: mu only)")
    hls.add_argument(
        "--templates",
        type=Path,
        default=None,
        metavar="DIR",
        help="nnet_utils/ and ap_types/ of the project's hls4ml generation, if its firmware/ has none",
    )
    _common(hls)


def run(args: argparse.Namespace) -> int:
    from l1ad.imports.project_csim import CSimError
    from l1ad.pipeline.importing import import_hls4ml, import_keras

    def say(message: str) -> None:
        print(f"import: {message}", flush=True)

    common = dict(
        score=args.score,
        score_type=args.score_type,
        input_format=args.input_format,
        fit_input_format=args.fit_input_format,
        check=args.check,
        overwrite=args.overwrite,
        progress=say,
    )
    try:
        if args.source == "keras":
            run_obj = import_keras(
                args.model, args.out, kind=args.kind, latent=args.latent, config=args.config, **common
            )
        else:
            run_obj = import_hls4ml(
                args.project,
                args.out,
                input_scaling=args.input_scaling,
                raw_type=args.raw_type,
                variational=args.variational,
                templates=args.templates,
                **common,
            )
    except CSimError as exc:
        print(f"l1ad import: error: {exc}")
        return 1
    from l1ad.imports.source import load_source
    from l1ad.pipeline.fixed import fixed_model

    source = load_source(run_obj.dir)
    assert source is not None
    model = fixed_model(run_obj.dir, source.score)
    print(
        f"import: {run_obj.path}: {len(model.layers)} layers, {model.n_inputs} inputs of {model.raw_format.ap_type()}, "
        f"latent {model.latent} ({'VAE' if model.has_logvar else 'AE'}), score {source.score} -> "
        f"{model.score.output_format.ap_type()}"
    )
    print(f"import: next: l1ad verify {run_obj.path}; l1ad rtl {run_obj.path} --score {source.score}")
    return 0
