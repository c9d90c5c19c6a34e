"""``l1ad import keras``: a QKeras encoder file built outside l1ad (odd widths, alpha=None, quantizers as QDense
activations, a plain ReLU, latent 5) becomes a run whose description is derived from the model and checked against
any given one; verify compares golden with QKeras and the hls4ml C-simulation (and the RTL, ``-m slow``). Files
that are not deployable encoders are refused with one message naming the file and every problem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from outside_models import odd_qkeras_encoder
from synthetic_events import background

from l1ad import keras_compat
from l1ad.cli import main
from l1ad.data.adc2021 import write_particles
from l1ad.data.preprocess import InputFormat
from l1ad.pipeline import open_run


def save(model, path: Path) -> Path:
    model.save(path, save_format="h5", include_optimizer=False)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("keras")
    events = root / "bkg.h5"
    write_particles(events, background(2000, seed=5))
    fmt = InputFormat.fit(background(2000, seed=6), width=13, integer=5)
    fmt.save(root / "input_format.json")
    return {
        "model": save(odd_qkeras_encoder(seed=3), root / "outside.h5"),
        "events": events,
        "format": root / "input_format.json",
        "root": root,
    }


@pytest.fixture(scope="module")
def run(files):
    out = files["root"] / "runs" / "outside"
    rc = main(
        ["import", "keras", str(files["model"]), "--input-format", str(files["format"]), "--latent", "5",
         "--out", str(out)]
    )  # fmt: skip
    assert rc == 0
    return out


def test_description_is_derived_from_the_model(run):
    r = open_run(run)
    assert r.config.model == "dnn-vae" and r.config.latent == 5 and tuple(r.config.hidden) == (23, 11)
    assert (r.config.input_bits, r.config.input_integer) == (13, 5)
    assert r.dir.fixed_scores() == ["kl"]  # a VAE's default score
    source = json.loads(r.dir.source_json.read_text())
    assert source["kind"] == "keras" and source["check"]["encoder"]["mismatched_values"] == 0
    assert r.dir.encoder_h5.read_bytes() == Path(source["original"]).read_bytes()


def test_verify_qkeras_and_csim(run, tmp_path):
    rc = main(["verify", str(run), "--events", "2000", "--firmware", "hls4ml", "--hls-dir", str(tmp_path)])
    summary = json.loads((run / "verify.json").read_text())
    assert rc == 0 and summary["ok"] and summary["total_mismatches"] == 0
    assert set(summary["stages"]) == {"qkeras_vs_golden", "hls_csim_vs_golden[kl]"}


def test_fit_input_format_and_ae_reading(files, tmp_path):
    out = tmp_path / "ae"
    model = save(odd_qkeras_encoder(seed=4, variational=False), tmp_path / "ae.h5")  # 5 outputs: odd -> AE
    assert main(["import", "keras", str(model), "--fit-input-format", str(files["events"]), "--out", str(out)]) == 0
    r = open_run(out)
    assert r.config.model == "dnn-ae" and r.dir.fixed_scores() == ["mu2"] and r.input_format.width == 13
    assert r.data_files() == [files["events"].resolve()]


@pytest.mark.parametrize(
    "case,args,words",
    [
        ("config latent 3", ["--latent", "5"], ["model.yaml", "latent 3, but the model has latent 5"]),
        ("even outputs", [], ["10 outputs", "--kind vae"]),
        ("latent contradicts", ["--latent", "4"], ["latent 4 given"]),
    ],
)
def test_description_errors(files, tmp_path, capsys, case, args, words):
    extra = list(args)
    if case == "config latent 3":
        config = tmp_path / "model.yaml"
        config.write_text("model: dnn-vae\nlatent: 3\nhidden: [23, 11]\ninput_bits: 13\ninput_integer: 5\n")
        extra += ["--config", str(config)]
    out = tmp_path / "r"
    rc = main(
        ["import", "keras", str(files["model"]), "--input-format", str(files["format"]), "--out", str(out), *extra]
    )
    err = capsys.readouterr().err
    assert rc == 1 and all(w in err for w in words), err
    assert not out.exists() and not list(tmp_path.glob(".r.*"))


def not_encoders(root: Path) -> dict[str, tuple[Path, list[str]]]:
    keras, qk = keras_compat.keras(), keras_compat.qkeras()
    events = root / "events.h5"
    write_particles(events, background(20, seed=1))

    def model(*layers):
        inp = keras.Input((57,))
        x = qk.QActivation(qk.quantized_bits(13, 4, alpha=1))(inp)
        for layer in layers:
            x = layer(x)
        return keras.Model(inp, x)

    qb = qk.quantized_bits(8, 2, alpha=1)
    autoencoder = model(qk.QDense(8, kernel_quantizer=qb, bias_quantizer=qb), qk.QActivation(qk.quantized_relu(6, 2)),
                        qk.QDense(57, kernel_quantizer=qb, bias_quantizer=qb), qk.QActivation(qb))  # fmt: skip
    batchnorm = model(qk.QDense(8, kernel_quantizer=qb, bias_quantizer=qb), keras.layers.BatchNormalization(name="bn"),
                      qk.QActivation(qb))  # fmt: skip
    bad_quantizer = qk.quantized_bits(8, 2, alpha=1, symmetric=True, use_stochastic_rounding=True)
    refused = model(qk.QDense(6, kernel_quantizer=qb, bias_quantizer=qb), qk.QActivation(bad_quantizer, name="act"))
    return {
        "events file": (events, ["events.h5", "not a loadable Keras model"]),
        "autoencoder": (save(autoencoder, root / "ae_full.h5"), ["ae_full.h5", "not an encoder", "57"]),
        "batchnorm": (save(batchnorm, root / "bn.h5"), ["bn.h5", "layer bn (BatchNormalization)"]),
        "refused quantizer": (save(refused, root / "q.h5"), ["q.h5", "layer act", "symmetric", "stochastic"]),
    }


def test_files_that_are_not_deployable_encoders(files, tmp_path, capsys):
    for case, (path, words) in not_encoders(tmp_path).items():
        out = tmp_path / "runs" / case.replace(" ", "_")
        rc = main(
            ["import", "keras", str(path), "--input-format", str(files["format"]), "--kind", "ae", "--out", str(out)]
        )
        err = capsys.readouterr().err
        assert rc == 1 and all(w in err for w in words), (case, err)
        assert not out.exists()
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


@pytest.mark.slow
def test_outside_encoder_verifies_with_rtl(run, tmp_path):
    rc = main(["verify", str(run), "--events", "10000", "--hls-dir", str(tmp_path)])
    summary = json.loads((run / "verify.json").read_text())
    assert rc == 0 and summary["ok"]
    assert {"qkeras_vs_golden", "hls_csim_vs_golden[kl]", "rtl_vs_golden[kl]"} <= set(summary["stages"])
    assert np.isfinite(summary["stages"]["rtl_vs_golden[kl]"]["latency_cycles"])
