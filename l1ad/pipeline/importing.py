"""Importing triggers made outside l1ad (``l1ad import``): a QKeras encoder file or an hls4ml project becomes a run
directory that ``convert``, ``rtl``, ``verify``, ``rates`` and ``score`` take like a trained one.

Both imports derive the run's description (``config.json``) from the model and check any description the user
gives against it, choose or check the input format (events -> the codes the model takes), compare the golden
model with the source on ``check`` vectors (QKeras inference; the project's own C++ compiled with g++) and write
the run directory atomically: on any error nothing is left behind.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from l1ad.data import adc2021
from l1ad.data.preprocess import InputFormat, as_flat
from l1ad.fixed import scores
from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.golden import golden_forward
from l1ad.fixed.model import FixedPointModel
from l1ad.fixed.vectors import verification_codes
from l1ad.imports.source import TEMPLATES_DIR, Source, hls4ml_source_model
from l1ad.models.config import ModelConfig
from l1ad.models.store import Run, load_run, package_versions, sha256
from l1ad.pipeline.analysis import write_json
from l1ad.rundir import RunDir

__all__ = ["import_keras", "import_hls4ml", "derived_config", "check_config", "choose_input_format", "ImportFailed"]

#: what is not copied from an hls4ml project (build products)
_PROJECT_IGNORE = shutil.ignore_patterns("*.so", "*.o", "*_prj", ".git", "__pycache__", "*.log", "tb_data")


class ImportFailed(ValueError):
    """The import cannot proceed; the message names the file and the problem."""


# ---- descriptions ------------------------------------------------------------------------------------
def _bits(value: int) -> int:
    return int(min(max(value, 2), 32))


def derived_config(fixed: FixedPointModel) -> ModelConfig:
    """The run description of an imported model: architecture from the model, quantization fields from its
    first and last layers' formats (clipped to the ranges ModelConfig accepts), no training settings."""
    dense = fixed.dense_layers
    first, raw, latent_fmt = dense[0], fixed.raw_format, fixed.latent_format
    return ModelConfig(
        model="dnn-vae" if fixed.has_logvar else "dnn-ae",
        hidden=tuple(layer.n_out for layer in dense[:-1]) or (dense[-1].n_out,),
        latent=fixed.latent,
        input_bits=_bits(raw.width),
        input_integer=int(min(max(raw.integer, 1), _bits(raw.width))),
        weight_bits=_bits(first.weight_format.width),
        weight_integer=first.weight_format.integer - 1,
        bias_bits=_bits(first.bias_format.width),
        bias_integer=first.bias_format.integer - 1,
        act_bits=_bits(first.output_format.width),
        act_integer=first.output_format.integer,
        output_bits=_bits(latent_fmt.width),
        output_integer=latent_fmt.integer - 1,
        prune=0.0,
        distill=0.0,
        score_distill=0.0,
        distill_augment=0.0,
        student=False,
        train_float=False,
        epochs=1,
    )


def check_config(path: Path, fixed: FixedPointModel) -> None:
    """Raise :class:`ImportFailed` naming ``path`` where the description disagrees with the model."""
    try:
        given = ModelConfig.load(path)
    except (OSError, ValueError) as exc:
        raise ImportFailed(f"{path}: {exc}") from exc
    derived = derived_config(fixed)
    problems = []
    if given.variational != fixed.has_logvar:
        problems.append(
            f"model {given.model} ({'VAE' if given.variational else 'AE'}), but the encoder is "
            f"{'a VAE ([mu | logvar])' if fixed.has_logvar else 'an AE (mu only)'}"
        )
    if given.latent != fixed.latent:
        problems.append(f"latent {given.latent}, but the model has latent {fixed.latent}")
    if tuple(given.hidden) != tuple(derived.hidden):
        problems.append(f"hidden {list(given.hidden)}, but the model's hidden widths are {list(derived.hidden)}")
    if (given.input_bits, given.input_integer) != (derived.input_bits, derived.input_integer):
        problems.append(
            f"input ap_fixed<{given.input_bits},{given.input_integer}>, "
            f"but the model takes {fixed.raw_format.ap_type()}"
        )
    if problems:
        raise ImportFailed(f"{path}: " + "; ".join(problems))


def choose_input_format(
    raw: FixedFormat, input_format: Path | None, fit_events: Path | None, say: Callable[[str], None]
) -> InputFormat:
    """Events -> the model's codes: a given ``input_format.json`` (checked against ``raw``), one fitted on
    ``fit_events``, or events taken to be in ``raw``'s units (shift 0, offset 0)."""
    if input_format is not None and fit_events is not None:
        raise ImportFailed("give either an input format or events to fit one on, not both")
    if not raw.signed or not (2 <= raw.width <= 32 and 1 <= raw.integer <= raw.width):
        raise ImportFailed(
            f"the model takes {raw.ap_type()}: an input format (events -> codes) needs a signed ap_fixed<W,I> "
            "with 2 <= W <= 32 and 1 <= I <= W"
        )
    if input_format is not None:
        try:
            fmt = InputFormat.load(input_format)
        except (OSError, ValueError) as exc:
            raise ImportFailed(f"{input_format}: {exc}") from exc
        if (fmt.width, fmt.integer) != (raw.width, raw.integer):
            raise ImportFailed(
                f"{input_format}: codes of ap_fixed<{fmt.width},{fmt.integer}>, but the model takes {raw.ap_type()}"
            )
        return fmt
    if fit_events is not None:
        try:
            events = adc2021.read_particles(fit_events)
        except (OSError, ValueError) as exc:
            raise ImportFailed(f"{fit_events}: {exc}") from exc
        say(f"input format fitted on {len(events)} events of {fit_events}")
        return InputFormat.fit(as_flat(events), width=raw.width, integer=raw.integer)
    say(f"no input format given: events are taken in units of {raw.ap_type()} (shift 0, offset 0)")
    return InputFormat(raw.width, raw.integer, (0,) * adc2021.N_INPUTS)


def _check(model: FixedPointModel, reference: Callable[[np.ndarray], tuple], n: int, what: str) -> dict[str, Any]:
    """Golden model vs the source on ``n`` vectors; :class:`ImportFailed` on any mismatch."""
    from l1ad.pipeline.verification import compare

    codes = verification_codes(model, n, seed=1)
    golden = golden_forward(model, codes)
    outputs, score = reference(codes)
    result = {"vectors": int(len(codes)), "encoder": compare(golden.layers[-1], outputs)}
    if score is not None:
        result["score"] = compare(golden.score, score)
    bad = sum(v["mismatched_values"] for v in result.values() if isinstance(v, dict))
    if bad:
        raise ImportFailed(f"the golden model differs from {what} in {bad} value(s) on {len(codes)} vectors")
    return result


def _write_common(
    tmp: RunDir, fixed: FixedPointModel, fmt: InputFormat, source: Source, data_files: dict[str, Path]
) -> None:
    write_json(tmp.config_json, {**derived_config(fixed).to_dict(), "deployable": True})
    fmt.save(tmp.input_format_json)
    source.save(tmp)
    write_json(
        tmp.metadata_json,
        {
            "imported": source.kind,
            "data_files": {k: {"path": str(Path(p).resolve()), "sha256": sha256(p)} for k, p in data_files.items()},
            "versions": package_versions(),
        },
    )
    fixed.save(tmp.fixed_dir(fixed.score.kind))


def _check_inputs(fixed: FixedPointModel, where: Path) -> None:
    if fixed.n_inputs != adc2021.N_INPUTS:
        raise ImportFailed(
            f"{where}: the model takes {fixed.n_inputs} inputs; a run takes the {adc2021.N_INPUTS} ADC2021 inputs "
            "(pT, eta, phi of MET, 4 e/gamma, 4 muons, 10 jets)"
        )


def _score_choice(score: str | None, variational: bool, score_type: str | None = None) -> str:
    """The score written at import, checked against the model through the score registry: a score needing logvar
    needs a VAE; a score computed by another kind of encoder (``student``: a regressor) needs a model without
    logvar; ``score_type`` is mu2's option."""
    kind = score or ("kl" if variational else "mu2")
    try:
        entry = scores.get(kind)
    except ValueError as exc:
        raise ImportFailed(str(exc)) from None
    if not variational and entry.needs_logvar:
        raise ImportFailed(f"score {kind} needs logvar: an AE encoder (mu only) has {', '.join(scores.names(False))}")
    if variational and entry.encoder != "encoder":
        raise ImportFailed(
            f"score {kind} is computed by a {entry.encoder} model (outputs without logvar); this model's outputs "
            f"are read as [mu | logvar]: a VAE encoder has {', '.join(scores.names(encoder='encoder'))}"
        )
    if score_type is not None and kind != "mu2":
        raise ImportFailed(f"--score-type declares mu2's type; score {kind} has no declared type")
    return kind


# ---- Keras ---------------------------------------------------------------------------------------------
def _load_keras(path: Path) -> Any:
    from l1ad import keras_compat

    if not path.is_file():
        raise ImportFailed(f"{path}: no such Keras model file")
    keras = keras_compat.keras()
    try:
        model = keras.models.load_model(path, custom_objects=keras_compat.custom_objects(), compile=False)
    except Exception as exc:  # noqa: BLE001 - h5py, Keras and QKeras raise many kinds
        raise ImportFailed(f"{path}: not a loadable Keras model ({type(exc).__name__}: {exc})") from exc
    if not hasattr(model, "layers"):
        raise ImportFailed(f"{path}: not a Keras model")
    return model


def _variational(path: Path, n_out: int, kind: str | None, latent: int | None) -> bool:
    if kind is not None:
        variational = kind == "vae"
    elif latent is not None:
        variational = n_out == 2 * latent
    elif n_out % 2:
        variational = False
    else:
        raise ImportFailed(
            f"{path}: the encoder has {n_out} outputs: say --kind vae (latent {n_out // 2}: [mu | logvar]) "
            f"or --kind ae (latent {n_out})"
        )
    want = n_out // 2 if variational else n_out
    if latent is not None and latent != want:
        raise ImportFailed(
            f"{path}: latent {latent} given, but {n_out} outputs make latent {want} for "
            f"{'a VAE' if variational else 'an AE'}"
        )
    return variational


def import_keras(
    model_path: str | os.PathLike,
    out: str | os.PathLike | RunDir,
    input_format: str | os.PathLike | None = None,
    fit_input_format: str | os.PathLike | None = None,
    kind: str | None = None,
    latent: int | None = None,
    config: str | os.PathLike | None = None,
    score: str | None = None,
    score_type: str | None = None,
    check: int = 1000,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Run:
    """Import a deployable (Q)Keras encoder file as a run (see the module doc).

    ``kind`` ('vae' / 'ae') or ``latent`` say how to read the outputs (an odd output count is an AE); ``config``:
    a ModelConfig file checked against the model; ``score`` (default kl for a VAE, mu2 for an AE) is written to
    ``fixed/<score>`` with ``score_type`` (mu2's declared type).
    """
    from l1ad.fixed.extract import ExtractionError, extract_fixed_model, input_quantizer_format, qkeras_reference

    say = progress or (lambda _m: None)
    path = Path(model_path)
    run_dir = out if isinstance(out, RunDir) else RunDir(Path(out))
    run_dir.check_writable(overwrite)
    if kind not in (None, "vae", "ae"):
        raise ImportFailed(f"kind must be vae or ae, got {kind!r}")
    encoder = _load_keras(path)
    shape = tuple(encoder.output_shape) if not isinstance(encoder.output_shape, list) else None
    if shape is None or len(shape) != 2:
        raise ImportFailed(
            f"{path}: not an encoder: it has outputs {encoder.output_shape} (expected one flat output [mu | logvar] "
            "or mu; a full autoencoder or a model with several outputs cannot be imported)"
        )
    n_in = int(tuple(encoder.input_shape)[-1]) if not isinstance(encoder.input_shape, list) else -1
    if int(shape[1]) == n_in:
        raise ImportFailed(
            f"{path}: not an encoder: its output has as many values as its input ({n_in}), like a full autoencoder's "
            "reconstruction; import the encoder part (outputs [mu | logvar] or mu)"
        )
    variational = _variational(path, int(shape[1]), kind, latent)
    kind_score = _score_choice(score, variational, score_type)
    options = {"score_type": score_type} if score_type else {}
    fmt_path = Path(input_format) if input_format is not None else None
    fit_path = Path(fit_input_format) if fit_input_format is not None else None
    try:
        raw = input_quantizer_format(encoder)
    except ExtractionError as exc:
        raise ImportFailed(f"{path}: {exc}") from exc
    if raw is None:  # no input quantizer: the given input format is the model's input
        if fmt_path is None:
            raise ImportFailed(
                f"{path}: the encoder has no input quantizer (QActivation(quantized_bits) after the input): "
                "give its input format (--input-format)"
            )
        try:
            given = InputFormat.load(fmt_path)
        except (OSError, ValueError) as exc:
            raise ImportFailed(f"{fmt_path}: {exc}") from exc
        raw = FixedFormat(given.width, given.integer, True, "RND_CONV", "SAT")
    fmt = choose_input_format(raw, fmt_path, fit_path, say)
    try:
        fixed = extract_fixed_model(
            encoder,
            FixedFormat(fmt.width, fmt.integer, True, "RND_CONV", "SAT"),
            kind_score,
            name=run_dir.name,
            variational=variational,
            **options,
        )
    except (ExtractionError, ValueError) as exc:
        raise ImportFailed(f"{path}: {exc}") from exc
    _check_inputs(fixed, path)
    if config is not None:
        check_config(Path(config), fixed)
    start = time.perf_counter()
    result = None
    if check > 0:
        result = _check(fixed, lambda c: (qkeras_reference(encoder, fixed, c), None), check, f"QKeras ({path})")
        result["seconds"] = round(time.perf_counter() - start, 2)
        say(f"golden == QKeras on {result['vectors']} vectors")
    source = Source(
        kind="keras",
        original=str(path.resolve()),
        variational=variational,
        score=kind_score,
        score_options={kind_score: options} if options else {},
        sha256={path.name: sha256(path)},
        check=result,
    )
    data_files = {"input_format_fit": fit_path} if fit_path is not None else {}
    with run_dir.create(overwrite) as tmp:
        shutil.copyfile(path, tmp.encoder_h5)
        _write_common(
            tmp, replace(fixed, metadata={**fixed.metadata, "imported_from": str(path)}), fmt, source, data_files
        )
    return load_run(run_dir)


# ---- hls4ml ----------------------------------------------------------------------------------------------
def import_hls4ml(
    project_dir: str | os.PathLike,
    out: str | os.PathLike | RunDir,
    input_scaling: str | os.PathLike | None = None,
    raw_type: str | None = None,
    score: str | None = None,
    score_type: str | None = None,
    variational: bool = False,
    input_format: str | os.PathLike | None = None,
    fit_input_format: str | os.PathLike | None = None,
    templates: str | os.PathLike | None = None,
    check: int = 1000,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Run:
    """Import an hls4ml project (its C++) as a run (see the module doc and :mod:`l1ad.imports.hls4ml_project`).

    ``input_scaling`` (JSON or C++ header) with ``raw_type``: the stage in front of the project; ``score`` (default
    mu2) with ``score_type``; ``variational``: the outputs are [mu | logvar]; ``templates``: the generation's
    ``nnet_utils``/``ap_types`` when the project ships none (copied into the run); ``check``: vectors compared with
    the project's own C++ (compiled with g++; 0 skips it).
    """
    from l1ad.imports.hls4ml_project import read_project
    from l1ad.imports.project_csim import build_project_csim
    from l1ad.imports.scaling_file import read_input_scaling

    say = progress or (lambda _m: None)
    source_path = Path(project_dir)
    run_dir = out if isinstance(out, RunDir) else RunDir(Path(out))
    run_dir.check_writable(overwrite)
    if raw_type is not None and input_scaling is None:
        raise ImportFailed("--raw-type describes the raw inputs of an input-scaling stage: give --input-scaling too")
    project = read_project(source_path, templates=templates)
    say(f"{source_path}: project {project.name}, {len(project.layers)} layers, generation {project.generation}")
    kind_score = _score_choice(score, variational, score_type)
    options = {"score_type": score_type} if score_type else {}
    scaling_path = Path(input_scaling) if input_scaling is not None else None
    stage = read_input_scaling(scaling_path, project.n_inputs, raw_type) if scaling_path is not None else None
    fixed = project.fixed_model(kind_score, variational, stage, name=run_dir.name, **options)
    _check_inputs(fixed, source_path)
    fit_path = Path(fit_input_format) if fit_input_format is not None else None
    fmt = choose_input_format(fixed.raw_format, Path(input_format) if input_format is not None else None, fit_path, say)
    source = Source(
        kind="hls4ml",
        original=str(source_path.resolve()),
        variational=variational,
        score=kind_score,
        score_options={kind_score: options} if options else {},
        sha256={str(p.relative_to(source_path)): sha256(p) for p in project.files},
        project=project.name,
        generation=project.generation,
        templates=templates is not None,
        input_scaling=(
            {"file": scaling_path.name, "raw_type": stage.raw_format.ap_type(), "original": str(scaling_path.resolve())}
            if scaling_path is not None and stage is not None
            else None
        ),
    )
    with run_dir.create(overwrite) as tmp:
        tmp.source_dir.mkdir()
        shutil.copytree(source_path / "firmware", tmp.source_project / "firmware", ignore=_PROJECT_IGNORE)
        for extra in ("hls4ml_config.yml", "build_prj.tcl", "project.tcl"):
            if (source_path / extra).is_file():
                shutil.copy2(source_path / extra, tmp.source_project / extra)
        if templates is not None:
            for part in ("nnet_utils", "ap_types"):
                shutil.copytree(Path(templates) / part, tmp.source_dir / TEMPLATES_DIR / part)
        if scaling_path is not None:
            shutil.copy2(scaling_path, tmp.source_file(scaling_path.name))
        # rebuilt from the copy: what later steps will see
        model = hls4ml_source_model(tmp, source, kind_score, name=run_dir.name)
        if check > 0:
            start = time.perf_counter()
            from l1ad.imports.source import hls4ml_source_project

            csim = build_project_csim(model, hls4ml_source_project(tmp, source), tmp.source_csim_dir / kind_score)
            say(f"compiled the project's C++ in {csim.compile_seconds:.1f} s")

            def reference(codes: np.ndarray) -> tuple:
                out_ = csim.run(codes)
                return out_.encoder, out_.score

            source.check = _check(model, reference, check, f"the project's C++ ({source_path})")
            source.check["seconds"] = round(time.perf_counter() - start, 2)
            say(f"golden == the project's C++ on {source.check['vectors']} vectors")
        _write_common(tmp, model, fmt, source, {"input_format_fit": fit_path} if fit_path is not None else {})
    return load_run(run_dir)
