"""hls4ml projects of the quantized encoder + anomaly score: the only l1ad module that imports hls4ml.

A Keras encoder is converted with ``AnomalyScore`` appended (:mod:`l1ad.hls.score_layer`); every
precision is taken from the :class:`FixedPointModel` (not inferred by hls4ml): the input format, each
dense layer's weight/bias formats with its accumulator (the declared one, else the exact one) as ``accum_t``
and its result type, each activation's output format (``AP_RND_CONV, AP_SAT`` where QKeras rounds and
saturates, or whatever type an imported model declares), the score's output format. A FixedPointModel becomes
a Keras *carrier* (:func:`carrier_model`): QDense layers with its weights, a QActivation where a QKeras quantizer
equals the result type and a plain Keras ``Activation`` (typed through the configuration) elsewhere, and the
``InputScaling`` layer (:mod:`l1ad.hls.scaling_layer`) in front when the model has an input-scaling stage.
C-simulation (``compile`` + ``trace``/``predict``) returns integer codes, checked to be exact multiples of their
LSB, for integer comparison with the golden model.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from l1ad import keras_compat
from l1ad.fixed.extract import ExtractionError, format_quantizer
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.model import ActivationLayer, DenseLayer, FixedPointModel
from l1ad.hls import scaling_layer, score_layer

__all__ = [
    "DEFAULT_PART",
    "DEFAULT_CLOCK_PERIOD",
    "BACKENDS",
    "HLSSettings",
    "CSimOutputs",
    "HLSProject",
    "layer_precisions",
    "carrier_model",
    "hls_config",
    "to_codes",
    "encoder_with_score",
    "create_project",
    "write_build_script",
]

DEFAULT_PART = "xcvu9p-flga2104-2L-e"
DEFAULT_CLOCK_PERIOD = 5.0
BACKENDS = ("Vitis", "Vivado")
#: HLS executables of each backend (looked up on PATH by :meth:`HLSProject.build`).
HLS_TOOLS = {"Vitis": "vitis_hls", "Vivado": "vivado_hls"}
SCORE_LAYER_NAME = "anomaly_score"
#: Widest output that C-simulation returns exactly through float64.
FLOAT64_BITS = 53


@dataclass(frozen=True)
class HLSSettings:
    """Backend, part, clock and implementation choices of an hls4ml project."""

    backend: str = "Vitis"
    part: str = DEFAULT_PART
    clock_period: float = DEFAULT_CLOCK_PERIOD
    io_type: str = "io_parallel"
    strategy: str = "Latency"
    reuse_factor: int = 1

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown HLS backend {self.backend!r} (expected one of {BACKENDS})")
        if not self.clock_period > 0:
            raise ValueError(f"clock period must be positive (ns), got {self.clock_period}")
        if self.reuse_factor < 1:
            raise ValueError(f"reuse factor must be >= 1, got {self.reuse_factor}")


@dataclass
class CSimOutputs:
    """C-simulation results as integer codes: encoder outputs (latent format) and score (output format)."""

    encoder: np.ndarray | None
    score: np.ndarray | None


def _precision(fmt: FixedFormat) -> str:
    return fmt.ap_type()


_ACTIVATION_KINDS = ("QActivation", "Activation", "ReLU")


def _slots(fixed: FixedPointModel) -> list[tuple[str, Any]]:
    """The Keras layers a model's carrier (or extracted encoder) has after its input, in order: ('dense',
    DenseLayer) and ('activation', result format)."""
    out: list[tuple[str, Any]] = []
    for layer in fixed.layers:
        if isinstance(layer, DenseLayer):
            out += [("dense", layer), ("activation", layer.output_format)]
        else:
            out.append(("activation", layer.output_format))
    return out


def layer_precisions(encoder: Any, fixed: FixedPointModel) -> dict[str, dict[str, str]]:
    """hls4ml ``Precision`` entries per Keras layer name, from the FixedPointModel's formats.

    ``encoder``: the carrier of ``fixed`` or a QKeras encoder it was extracted from (QDense -> QActivation pairs).
    """
    inputs = dict(zip([layer.name for layer in fixed.layers], fixed.layer_input_formats(), strict=True))
    slots = _slots(fixed)
    out: dict[str, dict[str, str]] = {}
    started = False  # a QDense (or the input stage) has been seen
    for layer in encoder.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            out[layer.name] = {"result": _precision(fixed.raw_format)}
        elif kind == scaling_layer.LAYER_CLASS:
            out[layer.name] = {"result": _precision(fixed.input_format)}
            started = True
        elif kind in _ACTIVATION_KINDS and not started:  # the input quantizer
            out[layer.name] = {"result": _precision(fixed.input_format)}
            started = True
        elif kind in _ACTIVATION_KINDS or kind == "QDense":
            started = True
            if not slots or slots[0][0] != ("dense" if kind == "QDense" else "activation"):
                raise ExtractionError(f"layer {layer.name} ({kind}) does not match the fixed-point model {fixed.name}")
            _, item = slots.pop(0)
            if kind != "QDense":
                out[layer.name] = {"result": _precision(item)}
                continue
            if layer.name != item.name:
                raise ExtractionError(f"layer {layer.name} is not in the fixed-point model {fixed.name}")
            acc = item.accum_type(inputs[item.name])
            result = item.result_format or acc
            out[layer.name] = {
                "weight": _precision(item.weight_format),
                "bias": _precision(item.bias_format),
                "accum": _precision(acc),
                "result": _precision(result),
            }
            # hls4ml splits QDense's (linear) activation into a '<name>_linear' layer: keep it exact too
            out[f"{layer.name}_linear"] = {"result": _precision(result)}
        else:
            raise ExtractionError(f"layer {layer.name} ({kind}) is not part of the deployable encoder contract")
    if slots:
        raise ExtractionError(f"the Keras encoder lacks layers of the fixed-point model {fixed.name}")
    return out


def _weight_quantizer(fmt: FixedFormat) -> Any:
    """A QKeras quantizer that leaves the codes of ``fmt`` unchanged (the values are exact; modes do not matter)."""
    qk = keras_compat.qkeras()
    if fmt.signed:
        return qk.quantized_bits(fmt.width, fmt.integer - 1, alpha=1)
    return qk.quantized_bits(fmt.width, fmt.integer, keep_negative=False, alpha=1)


def _activation(fmt: FixedFormat, relu: bool, name: str) -> Any:
    """QActivation when a QKeras quantizer equals ``fmt`` (and the activation), else a plain Keras Activation."""
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    try:
        return qk.QActivation(format_quantizer(fmt, relu=relu), name=name)
    except ExtractionError:
        return keras.layers.Activation("relu" if relu else "linear", name=name)


def carrier_model(fixed: FixedPointModel) -> Any:
    """The Keras model hls4ml converts for ``fixed`` (see the module doc); its precisions come from
    :func:`layer_precisions`. For a model extracted from QKeras it is an exact QKeras encoder of the model."""
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    inp = keras.Input((fixed.n_inputs,), name="inputs")
    if fixed.input_scaling is not None:
        x = scaling_layer.keras_scaling_layer(fixed.input_scaling, fixed.input_format)(inp)
    else:
        x = _activation(fixed.input_format, False, "input_quant")(inp)
    for layer in fixed.layers:
        if isinstance(layer, ActivationLayer):  # suffixed: hls4ml names a QDense's own activation '<dense>_linear'
            x = _activation(layer.output_format, layer.activation == "relu", f"{layer.name}_act")(x)
            continue
        dense = qk.QDense(
            layer.n_out,
            kernel_quantizer=_weight_quantizer(layer.weight_format),
            bias_quantizer=_weight_quantizer(layer.bias_format),
            name=layer.name,
        )
        x = dense(x)
        dense.set_weights([layer.weight_format.to_float(layer.weight), layer.bias_format.to_float(layer.bias)])
        x = _activation(layer.output_format, layer.activation == "relu", f"{layer.name}_out")(x)
    return keras.Model(inp, x, name=fixed.name.replace("-", "_") or "encoder")


def hls_config(encoder_with_score: Any, encoder: Any, fixed: FixedPointModel, settings: HLSSettings) -> dict:
    """The hls4ml configuration (granularity 'name') with every precision set from ``fixed``."""
    import hls4ml

    config = hls4ml.utils.config_from_keras_model(
        encoder_with_score, granularity="name", backend=settings.backend, default_reuse_factor=settings.reuse_factor
    )
    config["Model"]["Strategy"] = settings.strategy
    config["Model"]["ReuseFactor"] = settings.reuse_factor
    for name, precision in layer_precisions(encoder, fixed).items():
        entry = config["LayerName"].setdefault(name, {})
        entry.setdefault("Precision", {}).update(precision)
        entry["ReuseFactor"] = settings.reuse_factor
        entry["Strategy"] = settings.strategy
    return config


class HLSProject:
    """One hls4ml project (encoder + score) with C-simulation on integer codes."""

    def __init__(
        self, hls_model: Any, fixed: FixedPointModel, output_dir: Path, settings: HLSSettings, with_score: bool
    ) -> None:
        self.hls_model = hls_model
        self.fixed = fixed
        self.output_dir = output_dir
        self.settings = settings
        self.with_score = with_score
        self._compiled = False

    def compile(self) -> None:
        """Write the project and compile its C++ (g++) for C-simulation."""
        if not self._compiled:
            self.hls_model.compile()
            self._compiled = True

    def _input_floats(self, input_codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(input_codes)
        if codes.dtype.kind not in "iu" or codes.ndim != 2 or codes.shape[1] != self.fixed.n_inputs:
            raise ValueError(
                f"input codes must be integers of shape (N, {self.fixed.n_inputs}), got {codes.dtype} {codes.shape}"
            )
        fmt = self.fixed.raw_format
        if codes.size and (codes.min() < fmt.min_code or codes.max() > fmt.max_code):
            raise ValueError(f"input codes outside {fmt.ap_type()}")
        return np.ascontiguousarray(fmt.to_float(codes.astype(np.int64)))

    def predict(self, input_codes: np.ndarray) -> np.ndarray:
        """C-simulated output codes: the score (N,) with the score layer, else the encoder outputs (N, n_out)."""
        self.compile()
        y = np.asarray(self.hls_model.predict(self._input_floats(input_codes)), dtype=np.float64)
        if self.with_score:
            return to_codes(y.reshape(-1), self.fixed.score.output_format, "C-sim score")
        return to_codes(y.reshape(len(y), -1), self.fixed.latent_format, "C-sim encoder output")

    def csim(self, input_codes: np.ndarray) -> CSimOutputs:
        """C-simulated encoder outputs and score (traced: one recompilation per call)."""
        if not self.with_score:
            return CSimOutputs(encoder=self.predict(input_codes), score=None)
        x = self._input_floats(input_codes)
        encoder_node = self.score_input_node()
        encoder_node.set_attr("trace", True)
        y, trace = self.hls_model.trace(x)
        self._compiled = True
        enc = np.asarray(trace[encoder_node.name], dtype=np.float64).reshape(len(x), -1)
        score = np.asarray(y, dtype=np.float64).reshape(-1)
        return CSimOutputs(
            encoder=to_codes(enc, self.fixed.latent_format, "C-sim encoder output"),
            score=to_codes(score, self.fixed.score.output_format, "C-sim score"),
        )

    def score_input_node(self) -> Any:
        """The hls4ml layer whose output feeds the score (the encoder output)."""
        layers = list(self.hls_model.get_layers())
        score_nodes = [node for node in layers if node.class_name == score_layer.IR_CLASS]
        if not score_nodes:
            return layers[-1]
        input_name = score_nodes[0].inputs[0]
        for layer in layers:
            if input_name in layer.outputs:
                return layer
        raise RuntimeError(f"cannot find the layer feeding {score_nodes[0].name}")

    def build(
        self, csim: bool = False, synth: bool = True, cosim: bool = False, export: bool = False, vsynth: bool = False
    ) -> dict[str, Any]:
        """Run HLS synthesis (needs vitis_hls / vivado_hls on PATH) and return the parsed csynth report."""
        from l1ad.hls.report import find_csynth_report, parse_csynth_report

        tool = HLS_TOOLS[self.settings.backend]
        if shutil.which(tool) is None:
            raise RuntimeError(
                f"{tool} is not on PATH: HLS synthesis needs the {self.settings.backend} HLS tool; "
                f"the project in {self.output_dir} can be built elsewhere with build.sh"
            )
        self.hls_model.build(csim=csim, synth=synth, cosim=cosim, export=export, vsynth=vsynth)
        return parse_csynth_report(find_csynth_report(self.output_dir), part=self.settings.part)


def to_codes(values: np.ndarray, fmt: FixedFormat, what: str) -> np.ndarray:
    """Float64 values -> int64 codes of ``fmt``; raises ValueError unless they are exact multiples of its LSB."""
    if fmt.width > FLOAT64_BITS:
        raise ValueError(f"{what}: {fmt.ap_type()} is wider than float64's {FLOAT64_BITS} bits")
    scaled = np.ldexp(np.asarray(values, dtype=np.float64), fmt.frac)
    if not np.all(np.isfinite(scaled)) or not np.array_equal(scaled, np.rint(scaled)):
        raise ValueError(f"{what}: values are not exact multiples of the LSB of {fmt.ap_type()}")
    return scaled.astype(np.int64)


def encoder_with_score(encoder: Any, fixed: FixedPointModel) -> Any:
    """The encoder with the ``AnomalyScore`` layer appended (a tf_keras functional model)."""
    keras = keras_compat.keras()
    layer = score_layer.keras_score_layer(
        fixed.score,
        n_in=fixed.layers[-1].n_out,
        name=SCORE_LAYER_NAME,
        n_raw=fixed.n_inputs,
        raw_lsb=fixed.raw_format.lsb,
    )
    inputs = encoder.output if fixed.score.count is None else [encoder.output, encoder.input]
    return keras.Model(encoder.input, layer(inputs), name=f"{encoder.name}_score")


def create_project(
    encoder: Any,
    fixed: FixedPointModel,
    output_dir: str | os.PathLike,
    settings: HLSSettings = HLSSettings(),
    with_score: bool = True,
    project_name: str = "myproject",
) -> HLSProject:
    """Convert ``encoder`` (+ the score of ``fixed``) to an hls4ml project in ``output_dir`` and write it."""
    output_dir = Path(output_dir)
    model = encoder_with_score(encoder, fixed) if with_score else encoder
    with keras_compat.keras2_as_keras():
        import hls4ml

        score_layer.register()
        scaling_layer.register()
        config = hls_config(model, encoder, fixed, settings)
        hls_model = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=config,
            output_dir=str(output_dir),
            project_name=project_name,
            io_type=settings.io_type,
            part=settings.part,
            clock_period=settings.clock_period,
            backend=settings.backend,
        )
        hls_model.write()
    write_build_script(output_dir, settings)
    return HLSProject(hls_model, fixed, output_dir, settings, with_score)


def write_build_script(output_dir: Path, settings: HLSSettings) -> Path:
    """``build.sh``: run HLS synthesis (and optionally IP export) of the project where the HLS tool exists."""
    tool = HLS_TOOLS[settings.backend]
    script = output_dir / "build.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"# HLS synthesis of this hls4ml project ({settings.backend}, part {settings.part}, "
        f"clock {settings.clock_period} ns).\n"
        '# Usage: ./build.sh ["csim=0 synth=1 cosim=0 export=1 vsynth=0"]  (export=1 exports the IP)\n'
        "set -e\n"
        'cd "$(dirname "$0")"\n'
        f'{tool} -f build_prj.tcl "${{1:-csim=0 synth=1 cosim=0 export=0 vsynth=0}}"\n'
        'echo "reports: $(ls -d */solution1/syn/report 2>/dev/null)"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script
