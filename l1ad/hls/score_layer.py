"""The anomaly score as an hls4ml custom layer (hls4ml Extension API).

Pieces, following hls4ml's extension-API example (``hls4ml/contrib/kl_layer``):

- :func:`keras_score_layer` -> a tf_keras layer ``AnomalyScore`` appended to the encoder only for conversion
  (its float ``call`` is the float score formula; its config carries the :class:`ScoreSpec`);
- an hls4ml IR layer, a Keras-v2 parser handler, config/function templates and the HLS source
  ``nnet_anomaly_score.h`` (the sum over latent dimensions of the registered score's own C++ term,
  ``Score.hls_term`` in :mod:`l1ad.fixed.scores`), registered for
  the Vivado and Vitis backends by :func:`register` (called by :mod:`l1ad.hls.project`, which owns the
  hls4ml import: this module imports hls4ml only inside :func:`register`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from l1ad import keras_compat
from l1ad.fixed import scores
from l1ad.fixed.scores.base import ScoreSpec

__all__ = ["keras_score_layer", "config_struct", "register", "spec_to_config", "LAYER_CLASS", "IR_CLASS"]

LAYER_CLASS = "AnomalyScore"
IR_CLASS = "HAnomalyScore"
HEADER = Path(__file__).with_name("nnet_anomaly_score.h")
BACKENDS = ("Vivado", "Vitis")


def spec_to_config(spec: ScoreSpec, n_in: int, n_raw: int = 0, raw_lsb: float = 1.0) -> dict[str, Any]:
    """JSON-able description of a ScoreSpec (what the Keras layer carries to the hls4ml parser); ``n_raw`` and
    ``raw_lsb``: the number and lsb of the trigger's input codes, which a count term reads (second input)."""
    return {
        "n_in": n_in,
        "n_raw": n_raw,
        "raw_lsb": raw_lsb,
        "spec": spec.to_json_dict(),
        "lut": [int(v) for v in spec.lut] if spec.lut is not None else None,
    }


def config_to_spec(config: dict[str, Any]) -> ScoreSpec:
    lut = np.asarray(config["lut"], dtype=np.int64) if config.get("lut") is not None else None
    return ScoreSpec.from_json_dict(config["spec"], lut=lut)


@functools.cache
def _keras_layer_class() -> type:
    keras = keras_compat.keras()
    tf = keras_compat.tensorflow()
    layer_base: Any = keras.layers.Layer  # a class of a dynamically imported module

    class AnomalyScore(layer_base):
        """Float score of [mu | logvar] (conversion carrier; the firmware computes the integer score)."""

        def __init__(self, score: dict[str, Any], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.score = score

        def call(self, inputs: Any) -> Any:
            spec = config_to_spec(self.score)
            score, latent = scores.get(spec.kind), spec.latent
            encoded, raw = (inputs[0], inputs[1]) if isinstance(inputs, (list, tuple)) else (inputs, None)

            def evaluate(x: np.ndarray, *raw_values: np.ndarray) -> np.ndarray:
                lv = x[:, latent : 2 * latent] if score.needs_logvar else None
                value = score.float_score(x[:, :latent], lv)
                if spec.count is not None:  # the count term on the raw values' codes (their lsb: raw_lsb)
                    raw_codes = np.rint(raw_values[0] / float(self.score["raw_lsb"])).astype(np.int64)
                    value = value + spec.output_format.to_float(spec.count.codes(raw_codes))
                return value[:, None].astype(x.dtype)

            args = [encoded] if raw is None else [encoded, raw]
            out = tf.numpy_function(evaluate, args, encoded.dtype)
            out.set_shape((encoded.shape[0], 1))
            return out

        def compute_output_shape(self, input_shape: Any) -> tuple:
            first = input_shape[0] if isinstance(input_shape, list) else input_shape
            return (first[0], 1)

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "score": self.score}

    return AnomalyScore


def keras_score_layer(
    spec: ScoreSpec, n_in: int, name: str = "anomaly_score", n_raw: int = 0, raw_lsb: float = 1.0
) -> Any:
    """A tf_keras ``AnomalyScore`` layer for ``spec`` (to append to the encoder before conversion; with a count
    term it takes [encoder output, model input])."""
    return _keras_layer_class()(spec_to_config(spec, n_in, n_raw, raw_lsb), name=name)


def _count_lines(score: dict[str, Any], spec: ScoreSpec) -> list[str]:
    """C++ of the count term: compare each counted input with its empty code, look the count up."""
    count = spec.count
    if count is None:
        return []
    lsb = float(score["raw_lsb"])
    table = ", ".join(f"accum_t({int(v)})" for v in count.table)
    lines = [
        f"    static const unsigned n_raw = {int(score['n_raw'])};",
        f"    // {count.name}: table[number of inputs whose code differs from an empty slot's]",
        "    template <class raw_T> static accum_t count_term(raw_T raw[n_raw]) {",
        f"        ap_uint<{max(count.max_count.bit_length(), 1)}> n = 0;",
    ]
    lines += [f"        n += raw[{j}] != raw_T({e * lsb!r});" for j, e in zip(count.inputs, count.empty, strict=True)]
    lines += [f"        const accum_t table[{count.max_count + 1}] = {{{table}}};", "        return table[n];", "    }"]
    return lines


def config_struct(score: dict[str, Any], index: int, namespace: str = "nnet") -> str:
    """The C++ config struct of one score layer: sizes, the output word and the score's per-dimension term."""
    spec = config_to_spec(score)
    definition = scores.get(spec.kind)
    body = "\n".join(f"        {line}" if line else "" for line in definition.hls_term(spec).splitlines())
    lines = [
        f"struct config{index} : {namespace}::anomaly_score_config {{",
        f"    static const unsigned n_in = {score['n_in']};",
        f"    static const unsigned n_latent = {spec.latent};",
        f"    static const bool has_logvar = {'true' if definition.needs_logvar else 'false'};",
        f"    typedef {definition.hls_accum_type(spec)} accum_t;",
        "    template <class data_T> static accum_t term(data_T mu_v, data_T lv_v) {",
        body,
        "    }",
        *_count_lines(score, spec),
        "};",
        "",
    ]
    return "\n".join(lines)


@functools.cache
def register() -> None:
    """Register the score layer with hls4ml (parser, IR layer, templates, source); idempotent."""
    import hls4ml
    from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
    from hls4ml.converters.keras_v2_to_hls import parse_default_keras_layer
    from hls4ml.model.attributes import Attribute

    class HAnomalyScore(hls4ml.model.layers.Layer):
        """hls4ml IR of the anomaly score: one output, typed with the score's output format."""

        _expected_attributes = [Attribute("score", value_type=dict)]

        def initialize(self) -> None:
            out = config_to_spec(self.get_attr("score")).output_format
            precision = hls4ml.model.types.FixedPrecisionType(
                width=out.width,
                integer=out.integer,
                signed=out.signed,
                rounding_mode=hls4ml.model.types.RoundingMode.TRN,
                saturation_mode=hls4ml.model.types.SaturationMode.WRAP,
            )
            self.add_output_variable([1], precision=precision)

    class ScoreConfigTemplate(LayerConfigTemplate):
        def __init__(self) -> None:
            super().__init__(HAnomalyScore)

        def format(self, node: Any) -> str:
            namespace = node.model.config.get_writer_config().get("Namespace", None) or "nnet"
            return config_struct(node.get_attr("score"), node.index, namespace)

    class ScoreFunctionTemplate(FunctionCallTemplate):
        def __init__(self) -> None:
            super().__init__(HAnomalyScore, include_header=[f"nnet_utils/{HEADER.name}"])

        def format(self, node: Any) -> str:
            inp, out = node.get_input_variable(node.inputs[0]), node.get_output_variable()
            if len(node.inputs) > 1:  # a count term: the model input is the second input
                raw = node.get_input_variable(node.inputs[1])
                types = f"{inp.type.name}, {raw.type.name}, {out.type.name}"
                return f"nnet::anomaly_score_count<{types}, config{node.index}>({inp.name}, {raw.name}, {out.name});"
            return f"nnet::anomaly_score<{inp.type.name}, {out.type.name}, config{node.index}>({inp.name}, {out.name});"

    def parse_score_layer(keras_layer: dict, input_names: list, input_shapes: list, data_reader: Any) -> tuple:
        layer = parse_default_keras_layer(keras_layer, input_names)
        layer["score"] = keras_layer["config"]["score"]
        return layer, [input_shapes[0][0], 1]

    hls4ml.converters.register_keras_v2_layer_handler(LAYER_CLASS, parse_score_layer)
    hls4ml.model.layers.register_layer(LAYER_CLASS, HAnomalyScore)
    for name in BACKENDS:
        backend = hls4ml.backends.get_backend(name)
        backend.register_template(ScoreConfigTemplate)
        backend.register_template(ScoreFunctionTemplate)
        backend.register_source(HEADER)
