"""The input-scaling stage (:mod:`l1ad.fixed.scaling`) as an hls4ml custom layer (hls4ml Extension API).

Same pieces as :mod:`l1ad.hls.score_layer`: a tf_keras layer ``InputScaling`` placed right after the input of the
conversion carrier (its float ``call`` applies the stage exactly, through the integer codes), an hls4ml IR layer
whose output is typed with the model's input format, config/function templates and the HLS source
``nnet_input_scaling.h``. :func:`register` (called by :mod:`l1ad.hls.project`) imports hls4ml.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from l1ad import keras_compat
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.scaling import InputScaling

__all__ = ["keras_scaling_layer", "config_struct", "register", "scaling_to_config", "LAYER_CLASS", "IR_CLASS"]

LAYER_CLASS = "InputScaling"
IR_CLASS = "HInputScaling"
HEADER = Path(__file__).with_name("nnet_input_scaling.h")
BACKENDS = ("Vivado", "Vitis")
#: Offsets are written as double literals: exact up to 53 bits.
MAX_RAW_WIDTH = 53


def scaling_to_config(scaling: InputScaling, input_format: FixedFormat) -> dict[str, Any]:
    """JSON-able description of the stage (what the Keras layer carries to the hls4ml parser)."""
    if scaling.raw_format.width > MAX_RAW_WIDTH:
        raise ValueError(f"input scaling: raw type {scaling.raw_format.ap_type()} is wider than {MAX_RAW_WIDTH} bits")
    return {
        "raw_format": scaling.raw_format.to_dict(),
        "input_format": input_format.to_dict(),
        "offset": [int(v) for v in scaling.offset],
        "shift": [int(v) for v in scaling.shift],
    }


def config_to_scaling(config: dict[str, Any]) -> tuple[InputScaling, FixedFormat]:
    raw = FixedFormat.from_dict(config["raw_format"])
    scaling = InputScaling(raw, np.asarray(config["offset"], np.int64), np.asarray(config["shift"], np.int64))
    return scaling, FixedFormat.from_dict(config["input_format"])


@functools.cache
def _keras_layer_class() -> type:
    keras = keras_compat.keras()
    tf = keras_compat.tensorflow()
    layer_base: Any = keras.layers.Layer  # a class of a dynamically imported module

    class InputScalingLayer(layer_base):
        """Raw values -> input values through the integer stage (conversion carrier; exact in float64)."""

        def __init__(self, scaling: dict[str, Any], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.scaling = scaling

        def call(self, inputs: Any) -> Any:
            stage, input_format = config_to_scaling(self.scaling)

            def evaluate(x: np.ndarray) -> np.ndarray:
                codes = np.rint(np.ldexp(x.astype(np.float64), stage.raw_format.frac)).astype(np.int64)
                return input_format.to_float(stage.apply(codes, input_format)).astype(x.dtype)

            out = tf.numpy_function(evaluate, [inputs], inputs.dtype)
            out.set_shape(inputs.shape)
            return out

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "scaling": self.scaling}

    InputScalingLayer.__name__ = LAYER_CLASS
    return InputScalingLayer


def keras_scaling_layer(scaling: InputScaling, input_format: FixedFormat, name: str = "input_scaling") -> Any:
    """A tf_keras ``InputScaling`` layer (to put right after the carrier's input)."""
    return _keras_layer_class()(scaling_to_config(scaling, input_format), name=name)


def config_struct(config: dict[str, Any], index: int, namespace: str = "nnet") -> str:
    """The C++ config struct: the raw type, the offsets (exact double literals) and the shifts."""
    stage, _ = config_to_scaling(config)
    raw = stage.raw_format
    offsets = ", ".join(repr(float(v)) for v in raw.to_float(stage.offset))
    shifts = ", ".join(str(int(s)) for s in stage.shift)
    return "\n".join(
        [
            f"struct config{index} : {namespace}::input_scaling_config {{",
            f"    static const unsigned n_in = {stage.n};",
            f"    typedef {raw.ap_type()} raw_t;",
            "    static raw_t offset(unsigned i) {",
            f"        static const double table[{stage.n}] = {{{offsets}}};",
            "        return raw_t(table[i]);",
            "    }",
            "    static int shift(unsigned i) {",
            f"        static const int table[{stage.n}] = {{{shifts}}};",
            "        return table[i];",
            "    }",
            "};",
            "",
        ]
    )


@functools.cache
def register() -> None:
    """Register the input-scaling layer with hls4ml (parser, IR layer, templates, source); idempotent."""
    import hls4ml
    from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
    from hls4ml.converters.keras_v2_to_hls import parse_default_keras_layer
    from hls4ml.model.attributes import Attribute

    class HInputScaling(hls4ml.model.layers.Layer):
        """hls4ml IR of the input-scaling stage: n outputs typed with the model's input format."""

        _expected_attributes = [Attribute("scaling", value_type=dict)]

        def initialize(self) -> None:
            stage, fmt = config_to_scaling(self.get_attr("scaling"))
            types = hls4ml.model.types
            precision = types.FixedPrecisionType(
                width=fmt.width,
                integer=fmt.integer,
                signed=fmt.signed,
                rounding_mode=getattr(types.RoundingMode, fmt.rounding),
                saturation_mode=getattr(types.SaturationMode, fmt.overflow),
            )
            self.add_output_variable([stage.n], precision=precision)

    class ScalingConfigTemplate(LayerConfigTemplate):
        def __init__(self) -> None:
            super().__init__(HInputScaling)

        def format(self, node: Any) -> str:
            namespace = node.model.config.get_writer_config().get("Namespace", None) or "nnet"
            return config_struct(node.get_attr("scaling"), node.index, namespace)

    class ScalingFunctionTemplate(FunctionCallTemplate):
        def __init__(self) -> None:
            super().__init__(HInputScaling, include_header=[f"nnet_utils/{HEADER.name}"])

        def format(self, node: Any) -> str:
            inp, out = node.get_input_variable(), node.get_output_variable()
            return f"nnet::input_scaling<{inp.type.name}, {out.type.name}, config{node.index}>({inp.name}, {out.name});"

    def parse_scaling_layer(keras_layer: dict, input_names: list, input_shapes: list, data_reader: Any) -> tuple:
        layer = parse_default_keras_layer(keras_layer, input_names)
        layer["scaling"] = keras_layer["config"]["scaling"]
        return layer, list(input_shapes[0])

    hls4ml.converters.register_keras_v2_layer_handler(LAYER_CLASS, parse_scaling_layer)
    hls4ml.model.layers.register_layer(LAYER_CLASS, HInputScaling)
    for name in BACKENDS:
        backend = hls4ml.backends.get_backend(name)
        backend.register_template(ScalingConfigTemplate)
        backend.register_template(ScalingFunctionTemplate)
        backend.register_source(HEADER)
