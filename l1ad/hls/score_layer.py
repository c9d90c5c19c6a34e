"""The anomaly score as an hls4ml custom layer (hls4ml Extension API).

Pieces, following hls4ml's extension-API example (``hls4ml/contrib/kl_layer``):

- :func:`keras_score_layer` -> a tf_keras layer ``AnomalyScore`` appended to the encoder only for conversion
  (its float ``call`` is the float score formula; its config carries the :class:`ScoreSpec`);
- an hls4ml IR layer, a Keras-v2 parser handler, config/function templates and the HLS source
  ``nnet_anomaly_score.h`` (integer arithmetic, the definition of :mod:`l1ad.fixed.score`), registered for
  the Vivado and Vitis backends by :func:`register` (called by :mod:`l1ad.hls.project`, which owns the
  hls4ml import: this module imports hls4ml only inside :func:`register`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from l1ad import keras_compat
from l1ad.fixed.model import FixedFormat, ScoreSpec

LAYER_CLASS = "AnomalyScore"
IR_CLASS = "HAnomalyScore"
HEADER = Path(__file__).with_name("nnet_anomaly_score.h")
BACKENDS = ("Vivado", "Vitis")
KIND_CODES = {"mu2": "score_mu2", "kl": "score_kl", "rz": "score_rz"}


def spec_to_config(spec: ScoreSpec, n_in: int) -> dict[str, Any]:
    """JSON-able description of a ScoreSpec (what the Keras layer carries to the hls4ml parser)."""
    return {
        "kind": spec.kind,
        "latent": spec.latent,
        "n_in": n_in,
        "latent_format": spec.latent_format.to_dict(),
        "output_format": spec.output_format.to_dict(),
        "lut_input_format": spec.lut_input_format.to_dict() if spec.lut_input_format else None,
        "lut_format": spec.lut_format.to_dict() if spec.lut_format else None,
        "lut": [int(v) for v in spec.lut] if spec.lut is not None else None,
    }


@functools.cache
def _keras_layer_class() -> type:
    keras = keras_compat.keras()
    tf = keras_compat.tensorflow()

    class AnomalyScore(keras.layers.Layer):
        """Float score of [mu | logvar] (conversion placeholder; the firmware computes the integer score)."""

        def __init__(self, score: dict[str, Any], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.score = score

        def call(self, inputs: Any) -> Any:
            latent = self.score["latent"]
            mu = inputs[:, :latent]
            if self.score["kind"] == "mu2":
                value = tf.reduce_sum(mu * mu, axis=1, keepdims=True)
            else:
                lv = inputs[:, latent : 2 * latent]
                if self.score["kind"] == "kl":
                    value = 0.5 * tf.reduce_sum(mu * mu + tf.exp(lv) - 1.0 - lv, axis=1, keepdims=True)
                else:
                    value = tf.reduce_sum(mu * mu * tf.exp(-lv), axis=1, keepdims=True)
            return value

        def compute_output_shape(self, input_shape: Any) -> tuple:
            return (input_shape[0], 1)

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "score": self.score}

    return AnomalyScore


def keras_score_layer(spec: ScoreSpec, n_in: int, name: str = "anomaly_score") -> Any:
    """A tf_keras ``AnomalyScore`` layer for ``spec`` (to append to the encoder before conversion)."""
    return _keras_layer_class()(spec_to_config(spec, n_in), name=name)


def _ff(d: dict[str, Any] | None) -> FixedFormat | None:
    return FixedFormat.from_dict(d) if d else None


def _hls_type(fmt: FixedFormat) -> str:
    return fmt.ap_type()


def config_struct(score: dict[str, Any], index: int, namespace: str = "nnet") -> str:
    """The C++ config struct of one score layer (formats, shifts and the lookup table)."""
    latent_format, out = _ff(score["latent_format"]), _ff(score["output_format"])
    kind = score["kind"]
    f_mu = latent_format.frac
    index_fmt, lut_fmt = _ff(score["lut_input_format"]), _ff(score["lut_format"])
    mu2_shift = table_shift = 0
    if kind == "kl":
        frac = max(2 * f_mu, lut_fmt.frac)
        mu2_shift, table_shift = frac - 2 * f_mu, frac - lut_fmt.frac
    if index_fmt is None:  # mu2: dummies keep the (unused) index/table branch compilable
        index_fmt = FixedFormat(latent_format.width, latent_format.integer, rounding="TRN")
        table_width, entries = 1, "0"
    else:
        table_width = lut_fmt.width
        entries = ", ".join(str(int(v)) for v in score["lut"])
    lines = [
        f"struct config{index} : {namespace}::anomaly_score_config {{",
        f"    static const unsigned n_in = {score['n_in']};",
        f"    static const unsigned n_latent = {score['latent']};",
        f"    static const unsigned kind = {namespace}::{KIND_CODES[kind]};",
        f"    static const unsigned mu_width = {latent_format.width};",
        f"    static const unsigned index_width = {index_fmt.width};",
        f"    static const bool index_signed = {'true' if index_fmt.signed else 'false'};",
        f"    static const unsigned mu2_shift = {mu2_shift};",
        f"    static const unsigned table_shift = {table_shift};",
        f"    typedef {_hls_type(FixedFormat(index_fmt.width, index_fmt.integer, index_fmt.signed, 'TRN', 'SAT'))} index_t;",
        f"    typedef ap_uint<{table_width}> table_t;",
        f"    typedef ap_uint<{out.width}> accum_t;",
        "    static table_t table(unsigned i) {",
        f"        static const table_t values[{1 << index_fmt.width if score['lut'] else 1}] = {{{entries}}};",
        "        return values[i];" if score["lut"] else "        return values[0];",
        "    }",
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
            out = FixedFormat.from_dict(self.get_attr("score")["output_format"])
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
            inp, out = node.get_input_variable(), node.get_output_variable()
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
