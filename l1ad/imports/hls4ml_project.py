"""Read an hls4ml project's C++ into the layers of a :class:`FixedPointModel`.

What is read (paths relative to the project directory):

- ``firmware/<project>.cpp``: the top function ``void <project>(input_t in[N], result_t out[M])`` and, in its body,
  the ``nnet::`` layer calls in order (``dense``, ``relu``, ``linear``; anything else is refused, naming the layer);
- ``firmware/defines.h``: the typedefs of every tensor type (``ap_fixed``/``ap_ufixed``/``ap_int``/``ap_uint`` with
  their rounding and overflow modes);
- ``firmware/parameters.h``: each layer's config struct (``n_in``/``n_out``, ``accum_t``, ``weight_t``, ``bias_t``,
  ``io_type``, ``strategy``, the dense ``kernel`` and ``product``), and the weight headers it includes;
- weights: the initialisers of the arrays the dense calls name, from ``firmware/weights/*.h`` or one ``weights.h``
  (a ``.txt`` copy next to a header, which C-simulation loads instead, must hold the same values).

Generations. hls4ml < 1.0 writes dense configs without a ``kernel`` and its ``nnet::dense`` dispatches on
``strategy``; hls4ml >= 1.0 dispatches through ``CONFIG_T::kernel``, whose default does nothing, so a < 1.0 project
compiled against >= 1.0 ``nnet_utils`` outputs zeros. Both generations' latency dense computes the same thing (each
product cast to ``accum_t``, summed in ``accum_t`` from the bias, the sum cast to the result type: the
:class:`DenseLayer` semantics), so a project is emulated by what its configs say; the ``nnet_utils`` shipped in the
project (or given with ``templates``) must be of the same generation, else the import is refused.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from l1ad.fixed.formats import FixedFormat, parse_ap_type
from l1ad.fixed.model import ActivationLayer, DenseLayer, FixedPointModel, Layer
from l1ad.fixed.scaling import InputScaling
from l1ad.fixed.scores import make_score
from l1ad.imports import cpp

__all__ = ["ProjectError", "HLS4MLProject", "read_project", "GENERATIONS", "templates_generation"]

#: generation key -> description
GENERATIONS = {
    "1.x": "hls4ml >= 1.0 (dense dispatched through CONFIG_T::kernel)",
    "0.x": "hls4ml < 1.0 (dense dispatched on CONFIG_T::strategy)",
}
LAYER_FUNCTIONS = ("dense", "relu", "linear")
#: nnet:: calls in a top function that are not layers (weight loading, tracing)
_NOT_LAYERS = ("load_weights_from_txt", "save_layer_output", "save_output_array", "save_trace")


class ProjectError(ValueError):
    """The project cannot be imported; the message names the file and the problem."""


@dataclass
class HLS4MLProject:
    """A parsed hls4ml project: its layers as FixedPointModel layers and what it was read from."""

    path: Path
    name: str
    generation: str
    input_type: str  # the C++ type names of the top function's input and output arrays
    output_type: str
    input_format: FixedFormat
    layers: list[Layer]
    templates: Path | None  # the directory holding nnet_utils/ and ap_types/ (the project's firmware/ if shipped)
    files: list[Path] = field(default_factory=list)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    def fixed_model(
        self,
        score: str = "mu2",
        variational: bool = False,
        input_scaling: InputScaling | None = None,
        name: str | None = None,
        **score_options: Any,
    ) -> FixedPointModel:
        """The FixedPointModel of the project with ``score`` (on mu = all outputs, or the first half with
        ``variational``) and an optional input-scaling stage in front."""
        n = self.n_outputs
        if variational and n % 2:
            raise ProjectError(f"{self.path}: a VAE encoder outputs [mu | logvar], but the project has {n} outputs")
        latent = n // 2 if variational else n
        try:
            return FixedPointModel(
                name=name or self.name,
                input_format=self.input_format,
                layers=self.layers,
                latent=latent,
                has_logvar=variational,
                score=make_score(score, latent, self.layers[-1].output_format, **score_options),
                metadata={"source": "hls4ml", "project": str(self.path), "generation": self.generation},
                input_scaling=input_scaling,
            )
        except ValueError as exc:
            raise ProjectError(f"{self.path}: {exc}") from exc


def templates_generation(templates: Path) -> str | None:
    """The generation of the ``nnet_utils`` in ``templates`` ("1.x", "0.x"), None if there are none."""
    dense = templates / "nnet_utils" / "nnet_dense.h"
    if not dense.is_file():
        return None
    return "1.x" if "template kernel" in dense.read_text(errors="replace") else "0.x"


@dataclass
class _Sources:
    firmware: Path
    defines: dict[str, str]  # #define NAME VALUE of every read file
    types: dict[str, tuple[str, Path]]  # typedef name -> (type text, file)
    configs: dict[str, cpp.Struct]
    config_file: Path
    arrays: dict[str, tuple[cpp.Array, Path]]
    files: list[Path]


def _read(path: Path, why: str) -> str:
    if not path.is_file():
        raise ProjectError(f"{path}: missing ({why})")
    return path.read_text(errors="replace")


def _sources(firmware: Path, top: Path, top_text: str) -> _Sources:
    defines_h, parameters_h = firmware / "defines.h", firmware / "parameters.h"
    texts = {defines_h: _read(defines_h, "the project's typedefs"), parameters_h: _read(parameters_h, "layer configs")}
    texts[top] = top_text
    # headers the project includes (weights/*.h, weights.h, ...), nnet_utils and ap_types aside
    pending = [(inc, path) for path in (parameters_h, top) for inc in cpp.includes(texts[path])]
    while pending:
        inc, by = pending.pop(0)
        if inc.startswith(("nnet_utils/", "ap_")) or inc.endswith(("hls_stream.h", "ap_fixed.h", "ap_int.h")):
            continue
        path = firmware / inc
        if path in texts:
            continue
        texts[path] = _read(path, f"included by {by}")
        pending += [(nested, path) for nested in cpp.includes(texts[path])]
    defines: dict[str, str] = {}
    types: dict[str, tuple[str, Path]] = {}
    found_arrays: dict[str, tuple[cpp.Array, Path]] = {}
    for path, text in texts.items():
        defines.update(cpp.defines(text))
        types.update({name: (t, path) for name, t in cpp.typedefs(text).items()})
        found_arrays.update({name: (a, path) for name, a in cpp.arrays(text).items()})
    return _Sources(firmware, defines, types, cpp.structs(texts[parameters_h]), parameters_h, found_arrays, list(texts))


def _format(src: _Sources, name: str, where: str) -> FixedFormat:
    """The FixedFormat of a type name (following typedef chains), or of a literal type."""
    seen, text, path = set(), name, None
    while text in src.types and text not in seen:
        seen.add(text)
        text, path = src.types[text]
    try:
        return parse_ap_type(text)
    except ValueError as exc:
        origin = f"{path}: typedef {name}" if path else f"{where}: type {name}"
        raise ProjectError(f"{origin}: {exc}") from exc


def _int(src: _Sources, expr: str, where: str) -> int:
    """An integer constant expression of a config or array size (#define names, * + - //)."""
    text = expr.strip().rstrip("uUlL")
    for _ in range(10):
        replaced = " ".join(src.defines.get(tok, tok) for tok in text.replace("*", " * ").split())
        if replaced == text:
            break
        text = replaced
    try:
        return _evaluate(ast.parse(text, mode="eval").body)
    except (SyntaxError, ValueError) as exc:
        raise ProjectError(f"{where}: cannot read the integer {expr!r}") from exc


def _evaluate(node: ast.expr) -> int:
    """An integer expression of literals, + - * and parentheses."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
        left, right = _evaluate(node.left), _evaluate(node.right)
        return (
            left + right
            if isinstance(node.op, ast.Add)
            else left - right
            if isinstance(node.op, ast.Sub)
            else left * right
        )
    raise ValueError("not an integer expression")


def _config(src: _Sources, name: str, layer: str) -> cpp.Struct:
    if name not in src.configs:
        raise ProjectError(f"{src.config_file}: no config struct {name} (layer {layer})")
    return src.configs[name]


def _config_type(src: _Sources, config: cpp.Struct, member: str, layer: str) -> FixedFormat:
    where = f"{src.config_file}: {config.name} (layer {layer})"
    if member not in config.types:
        raise ProjectError(f"{where}: no {member}")
    return _format(src, config.types[member], where)


def _weights(src: _Sources, name: str, fmt: FixedFormat, size: int, layer: str) -> np.ndarray:
    """Integer codes of weight array ``name``: its initialiser's literals assigned to ``fmt`` (as C++ does)."""
    if name not in src.arrays:
        weights = src.firmware / "weights" / f"{name}.h"
        raise ProjectError(
            f"{weights if not weights.is_file() else src.firmware}: no initialised array {name} "
            f"(weights of layer {layer}; looked in {', '.join(str(p.name) for p in src.files)})"
        )
    array, path = src.arrays[name]
    try:
        values = np.array([float(v.rstrip("fF")) for v in array.values], dtype=np.float64)
    except ValueError as exc:
        raise ProjectError(f"{path}: array {name} has an entry that is not a number ({exc})") from exc
    if len(values) != size:
        raise ProjectError(f"{path}: array {name} has {len(values)} values, layer {layer} needs {size}")
    txt = src.firmware / "weights" / f"{name}.txt"
    if txt.is_file():  # what C-simulation loads instead of the header
        text = txt.read_text().replace("\n", " ").strip().rstrip(",")
        loaded = np.array([float(v) for v in text.split(",") if v.strip()], dtype=np.float64)
        if len(loaded) != size or not np.array_equal(fmt.quantize(loaded), fmt.quantize(values)):
            raise ProjectError(f"{txt}: the weights differ from {path} (C-simulation and synthesis would differ)")
    return fmt.quantize(values)


@dataclass
class _Step:
    call: cpp.Call
    name: str
    function: str
    in_var: str
    out_var: str
    out_type: str
    config: str


def _steps(calls: list[cpp.Call], top: Path) -> list[_Step]:
    steps = []
    for call in calls:
        if call.function in _NOT_LAYERS:
            continue
        name = call.comment or (call.args[1] if len(call.args) > 1 else call.function)
        if call.function not in LAYER_FUNCTIONS:
            raise ProjectError(
                f"{top}: layer {name} calls nnet::{call.function}, which cannot be imported "
                f"(supported: {', '.join(LAYER_FUNCTIONS)})"
            )
        if len(call.template_args) != 3 or len(call.args) < 2:
            raise ProjectError(f"{top}: cannot read the call of layer {name} (nnet::{call.function})")
        _, out_type, config = call.template_args
        steps.append(_Step(call, name, call.function, call.args[0], call.args[1], out_type, config))
    return steps


def _top(firmware: Path, project: str | None) -> tuple[str, Path, str]:
    """(project name, top file, its text): ``firmware/<project>.cpp`` defining ``void <project>(...)``."""
    candidates = [firmware / f"{project}.cpp"] if project else sorted(firmware.glob("*.cpp"))
    for path in candidates:
        if path.is_file() and cpp.function(path.read_text(errors="replace"), path.stem) is not None:
            return path.stem, path, path.read_text(errors="replace")
    if project:
        raise ProjectError(f"{firmware / f'{project}.cpp'}: missing, or no function void {project}(...) in it")
    raise ProjectError(f"{firmware}: no <project>.cpp defining the top function void <project>(...)")


def _project_name(path: Path) -> str | None:
    """ProjectName from hls4ml_config.yml if the project has one."""
    config = path / "hls4ml_config.yml"
    if config.is_file():
        for line in config.read_text(errors="replace").splitlines():
            if line.startswith("ProjectName:"):
                return line.split(":", 1)[1].strip().strip("'\"") or None
    return None


def _dense(src: _Sources, step: _Step, config: cpp.Struct, in_format: FixedFormat, generation: str) -> DenseLayer:
    where = f"{src.config_file}: {config.name} (layer {step.name})"
    io_type = config.values.get("io_type", "nnet::io_parallel")
    if io_type.split("::")[-1] != "io_parallel":
        raise ProjectError(f"{where}: io_type {io_type} is not supported (io_parallel only)")
    kernel = config.aliases.get("kernel")
    if generation == "1.x" and (kernel is None or not kernel.startswith("nnet::DenseLatency")):
        raise ProjectError(f"{where}: dense kernel {kernel} is not supported (nnet::DenseLatency only)")
    strategy = config.values.get("strategy", "nnet::latency")
    if generation == "0.x" and strategy.split("::")[-1] != "latency":
        raise ProjectError(f"{where}: strategy {strategy} is not supported (latency only)")
    product = config.aliases.get("product", "nnet::product::mult")
    if not product.startswith("nnet::product::mult"):
        raise ProjectError(f"{where}: product {product} is not supported (nnet::product::mult only)")
    n_in, n_out = (_int(src, config.values.get(k, ""), f"{where} {k}") for k in ("n_in", "n_out"))
    if len(step.call.args) != 4:
        raise ProjectError(f"{where}: the dense call of layer {step.name} does not name its weights and biases")
    w_fmt = _config_type(src, config, "weight_t", step.name)
    b_fmt = _config_type(src, config, "bias_t", step.name)
    weights = _weights(src, step.call.args[2], w_fmt, n_in * n_out, step.name)
    biases = _weights(src, step.call.args[3], b_fmt, n_out, step.name)
    out = _format(src, step.out_type, where)
    return DenseLayer(
        name=step.name,
        weight=weights.reshape(n_in, n_out),  # nnet::dense_latency: weights[ii * n_out + jj]
        weight_format=w_fmt,
        bias=biases,
        bias_format=b_fmt,
        activation="linear",
        output_format=out,
        accum_format=_config_type(src, config, "accum_t", step.name),
    )


def read_project(
    path: str | os.PathLike, templates: str | os.PathLike | None = None, project: str | None = None
) -> HLS4MLProject:
    """Parse the hls4ml project in ``path`` (see the module doc). ``templates``: a directory with ``nnet_utils/`` and
    ``ap_types/`` of the project's generation, when the project's ``firmware/`` does not ship them."""
    path = Path(path)
    firmware = path / "firmware"
    if not firmware.is_dir():
        raise ProjectError(f"{path}: not an hls4ml project (no firmware/ directory)")
    name, top, top_text = _top(firmware, project or _project_name(path))
    src = _sources(firmware, top, top_text)
    definition = cpp.function(top_text, name)
    assert definition is not None
    params, body = definition
    param_list = cpp.split_args(params)
    if len(param_list) != 2 or any("[" not in p for p in param_list):
        raise ProjectError(f"{top}: the top function must take one input array and one output array, got ({params})")
    declared = [p.split("[")[0].split() for p in param_list]  # "input_t inputs[N]" -> [input_t, inputs]
    if any(len(words) < 2 for words in declared):
        raise ProjectError(f"{top}: cannot read the parameters of {name}({params})")
    (in_type, in_var), (out_type, out_var) = ((words[-2], words[-1]) for words in declared)
    steps = _steps(cpp.nnet_calls(body), top)
    if not steps:
        raise ProjectError(f"{top}: no nnet:: layer calls in {name}()")
    dense_configs = [_config(src, s.config, s.name) for s in steps if s.function == "dense"]
    generation = "1.x" if any("kernel" in c.aliases for c in dense_configs) else "0.x"
    if any(("kernel" in c.aliases) != (generation == "1.x") for c in dense_configs):
        raise ProjectError(f"{src.config_file}: dense configs of both hls4ml generations (some with a kernel)")
    template_dir = Path(templates) if templates is not None else firmware
    shipped = templates_generation(template_dir)
    if templates is not None and shipped is None:
        raise ProjectError(f"{template_dir}: no nnet_utils/nnet_dense.h (expected an hls4ml templates directory)")
    if shipped is not None and shipped != generation:
        raise ProjectError(
            f"{template_dir / 'nnet_utils' / 'nnet_dense.h'}: nnet_utils of {GENERATIONS[shipped]}, but the dense "
            f"configs in {src.config_file} were written for {GENERATIONS[generation]}"
            + (": compiled together, the dense layers output zeros" if generation == "0.x" else "")
            + "; give the templates of the project's own generation (--templates)"
        )
    current, var = _format(src, in_type, f"{top}: input {in_var}"), in_var
    input_format = current
    layers: list[Layer] = []
    pending: DenseLayer | None = None  # a dense layer whose activation may follow
    for step in steps:
        if step.in_var != var:
            raise ProjectError(f"{top}: layer {step.name} reads {step.in_var}, but the previous layer wrote {var}")
        config = _config(src, step.config, step.name)
        if step.function == "dense":
            if pending is not None:
                layers.append(pending)
            pending = _dense(src, step, config, current, generation)
            if pending.n_in != (layers[-1].n_out if layers else _int(src, _array_size(param_list[0]), str(top))):
                raise ProjectError(
                    f"{src.config_file}: {config.name} (layer {step.name}) n_in does not match its input"
                )
            current = pending.output_format
        else:
            where = f"{src.config_file}: {config.name} (layer {step.name})"
            n = _int(src, config.values.get("n_in", ""), f"{where} n_in")
            fmt = _format(src, step.out_type, where)
            activation: Literal["relu", "linear"] = "relu" if step.function == "relu" else "linear"
            if pending is not None and pending.n_out == n:  # the dense layer's activation
                pending.result_format, pending.activation, pending.output_format = (
                    pending.output_format,
                    activation,
                    fmt,
                )
                layers.append(pending)
                pending = None
            else:
                if pending is not None:
                    layers.append(pending)
                    pending = None
                layers.append(ActivationLayer(step.name, n, activation, fmt))
            current = fmt
        var = step.out_var
    if pending is not None:
        layers.append(pending)
    if var != out_var:
        raise ProjectError(f"{top}: the last layer writes {var}, but {name}() outputs {out_var}")
    if not any(isinstance(layer, DenseLayer) for layer in layers):
        raise ProjectError(f"{top}: the project has no dense layer")
    out_size = _int(src, _array_size(param_list[1]), str(top))
    if layers[-1].n_out != out_size:
        raise ProjectError(f"{top}: the last layer has {layers[-1].n_out} outputs, {name}() outputs {out_size}")
    return HLS4MLProject(
        path=path,
        name=name,
        generation=generation,
        input_type=in_type,
        output_type=out_type,
        input_format=input_format,
        layers=layers,
        templates=template_dir if shipped is not None else None,
        files=src.files,
    )


def _array_size(param: str) -> str:
    return param.split("[", 1)[1].split("]", 1)[0]
