"""Run directories: `l1ad train` writes one; it reloads and reproduces its scores exactly; determinism."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from synthetic_events import background, signal

from l1ad import cli, keras_compat
from l1ad.data import adc2021
from l1ad.models import augment, export, store
from l1ad.models.config import ModelConfig
from l1ad.pipeline import train
from l1ad.rundir import RunDirError

TINY = ["--epochs", "1", "--seed", "3", "--no-progress"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("events")
    bkg = adc2021.write_particles(d / "bkg.h5", background(400, seed=0))
    sig = adc2021.write_particles(d / "Ato4l_lepFilter_13TeV.h5", signal(100, seed=1))
    return bkg, sig


@pytest.fixture(scope="module")
def run_dir(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "vae"
    bkg, sig = files
    assert cli.main(["train", "--data", str(bkg), "--out", str(out), "--signals", str(sig), *TINY]) == 0
    return out


def test_run_directory_layout(run_dir, files):
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "config.json",
        "input_format.json",
        "model.h5",
        "encoder.h5",
        "decoder.h5",
        "float_model.h5",
        "history.json",
        "metadata.json",
        "scores",
        "reconstruction_target.json",
        "student.h5",
        "float_student.h5",
        "student.json",
    } <= names
    assert sorted(p.name for p in (run_dir / "scores").iterdir()) == ["Ato4l.npz", "background.npz"]
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert meta["data_files"]["background"]["sha256"] == store.sha256(files[0])
    assert meta["seed"] == 3 and meta["versions"]["qkeras"] == "0.9.0"
    assert meta["split_sizes"] == {"train": 240, "val": 80, "test": 80}
    hist = json.loads((run_dir / "history.json").read_text())
    assert len(hist["quantized"]["val_loss"]) == 1 and len(hist["float"]["loss"]) == 1


def test_reloaded_run_reproduces_saved_scores_exactly(run_dir, files):
    run = store.load_run(run_dir)
    assert run.config.model == "dnn-vae" and run.config.epochs == 1 and run.deployable
    saved = run.scores("background")
    assert set(saved) >= {"quantized_kl", "quantized_rz", "quantized_mu2", "quantized_mse", "float_kl", "weights"}
    events = adc2021.read_particles(files[0])[saved["event_index"]]
    again = run.score(events)
    for kind, values in again.items():
        assert np.array_equal(values, saved[f"quantized_{kind}"]), kind
    again_float = run.score(events, quantized=False)
    assert np.array_equal(again_float["kl"], saved["float_kl"])
    sig = run.scores("Ato4l")
    assert len(sig["quantized_kl"]) == 100


def test_saved_encoder_obeys_contract_and_matches_full_model(run_dir, files):
    run = store.load_run(run_dir)
    export.check_encoder_contract(run.encoder)
    x = run.input_format.to_model_input(adc2021.read_particles(files[1]))
    enc_out = run.encoder.predict(x, verbose=0)
    full_enc, recon = run.model.predict(x, verbose=0)
    assert np.array_equal(enc_out, full_enc)
    assert enc_out.shape == (100, 6) and recon.shape == (100, 57)
    # stored weights are already quantized: quantized_bits(8, 1) kernels -> 6 fraction bits, (12, 3) biases -> 8
    qk = keras_compat.qkeras()
    for layer in (lay for lay in run.encoder.layers if isinstance(lay, qk.QDense)):
        kernel, bias = layer.get_weights()
        assert np.array_equal(kernel * 64, np.round(kernel * 64)) and np.abs(kernel).max() <= 2
        assert np.array_equal(bias * 256, np.round(bias * 256)) and np.abs(bias).max() <= 8
    # encoder outputs lie on the output quantizer grid: quantized_bits(16, 4) -> 11 fraction bits
    codes = enc_out.astype(np.float64) * 2**11
    assert np.array_equal(codes, np.round(codes)) and np.abs(codes).max() <= 2**15


def test_training_is_deterministic_with_a_seed(run_dir, files, tmp_path):
    cfg = store.load_run(run_dir).config
    b = train(files[0], tmp_path / "again", cfg, signals=[files[1]], progress=False)
    a = store.load_run(run_dir)
    for wa, wb in zip(a.encoder.get_weights(), b.encoder.get_weights(), strict=True):
        assert np.array_equal(wa, wb)
    assert np.array_equal(a.scores("Ato4l")["quantized_kl"], b.scores("Ato4l")["quantized_kl"])


def test_existing_run_is_not_overwritten(run_dir, files):
    before = (run_dir / "config.json").read_text()
    with pytest.raises(RunDirError, match="not empty"):
        train(files[0], run_dir, ModelConfig(epochs=1), progress=False)
    assert (run_dir / "config.json").read_text() == before
    assert cli.main(["train", "--data", str(files[0]), "--out", str(run_dir), *TINY]) == 1


def test_interrupted_write_leaves_no_directory(run_dir, tmp_path, monkeypatch):
    trained_run = store.load_run(run_dir)

    class Trained:  # a TrainedModels-like view of the saved run
        config, input_format = trained_run.config, trained_run.input_format
        encoder, decoder = trained_run.encoder, trained_run.decoder
        float_encoder = float_decoder = None
        reconstruction_target = trained_run.reconstruction_target
        student = float_student = student_info = None
        history, timings = {}, {}

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(store.np, "savez", interrupt)
    with pytest.raises(KeyboardInterrupt):
        store.write_run(tmp_path / "x", Trained, {"background": {"a": np.zeros(2)}}, {})
    assert list(tmp_path.iterdir()) == []


def test_run_written_before_distillation_settings_reports_none(run_dir, tmp_path):
    current = store.load_run(run_dir).config
    assert (current.distill, current.distill_tail) == (10.0, 0.0)
    older = tmp_path / "older"
    shutil.copytree(run_dir, older)
    saved = json.loads((older / "config.json").read_text())
    for key in store.OLDER_RUN_SETTINGS:
        saved.pop(key)
    (older / "config.json").write_text(json.dumps(saved))
    cfg = store.load_run(older).config
    assert (cfg.distill, cfg.distill_tail) == (0.0, 0.0)
    # settings added with the AD@L1 recipe read back as the earlier behaviour (input-code target, SSE + KL sum)
    assert (cfg.target, cfg.reduction, cfg.input_standardize, cfg.student) == ("input", "sum", False, False)


def test_missing_or_incomplete_run_directory(tmp_path):
    with pytest.raises(RunDirError, match="no such run directory"):
        store.load_run(tmp_path / "nope")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(RunDirError, match="input_format.json is missing"):
        store.load_run(tmp_path / "half")


def test_cli_rejects_bad_data_file(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    assert cli.main(["train", "--data", str(bad), "--out", str(tmp_path / "r"), *TINY]) == 1
    assert not (tmp_path / "r").exists()


def _train_kind(files, tmp_path, *extra):
    out = tmp_path / "run"
    assert (
        cli.main(["train", "--data", str(files[0]), "--out", str(out), "--signals", str(files[1]), *TINY, *extra]) == 0
    )
    return store.load_run(out)


def test_cnn_ae_trains_and_is_flagged_not_deployable(files, tmp_path):
    run = _train_kind(files, tmp_path, "--model", "cnn-ae", "--latent", "2")
    assert not run.deployable and run.config.model == "cnn-ae"
    s = run.scores("Ato4l")
    assert sorted(k for k in s if k.startswith("quantized_")) == ["quantized_mse", "quantized_mu2"]
    assert run.encoder.output_shape == (None, 2)


def test_student_options_reach_the_run_config(files, tmp_path):
    run = _train_kind(files, tmp_path, "--no-student")
    assert not run.config.student and not run.has_student
    assert "quantized_student" not in run.scores("Ato4l") and "student" not in run.score(background(20, seed=8))


def test_distillation_options_reach_the_run_config(files, tmp_path):
    run = _train_kind(files, tmp_path, "--distill", "3", "--distill-tail", "0.5")
    assert (run.config.distill, run.config.distill_tail) == (3.0, 0.5)
    assert "distill" in run.history["quantized"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra",
    [("--model", "dnn-ae"), ("--model", "cnn-vae"), ("--prune", "0.5"), ("--quantization", "ptq", "--prune", "0")],
)  # plain PTQ: no fine-tuning
def test_other_models_and_options_train(files, tmp_path, extra):
    run = _train_kind(files, tmp_path, *extra)
    assert run.config.model == (extra[1] if extra[0] == "--model" else "dnn-vae")
    if extra[0] == "--prune":
        from l1ad.models import pruning

        assert pruning.sparsity(run.encoder) >= 0.45
    if extra[0] == "--quantization":
        assert "quantized" not in run.history and run.deployable


def test_student_is_the_runs_trigger_score_and_extracts_bit_exactly(run_dir, files):
    """The teacher-student regressor: contract, one output, the run's default trigger score; its FixedPointModel
    (score ``student``) outputs the codes of QKeras' exact reference, its score is the offset-binary output
    code, and the saved quantized scores are its outputs."""
    from l1ad.fixed.extract import qkeras_reference
    from l1ad.fixed.golden import golden_forward
    from l1ad.pipeline import extract

    run = store.load_run(run_dir)
    assert run.has_student and run.student.output_shape == (None, 1)
    assert run.trigger_score == "student" and "student" in run.firmware_scores() and "kl" in run.firmware_scores()
    export.check_encoder_contract(run.student)
    fixed = extract(run)
    assert fixed.score.kind == "student" and fixed.latent == 1 and not fixed.has_logvar
    events = adc2021.read_particles(files[1])
    codes = run.input_format.to_codes(events)
    golden = golden_forward(fixed, codes)
    assert np.array_equal(golden.mu, qkeras_reference(run.student, fixed, codes))
    # the exact lepton term: table[lepton count], the count taken from the input codes as the firmware does
    count = fixed.score.count
    assert count is not None and count.name == "leptons" and count.max_count == 8
    n_egamma, n_muon, _ = augment.multiplicities(events)
    assert np.array_equal(count.counts(codes), n_egamma + n_muon) and len(np.unique(n_egamma + n_muon)) > 2
    min_code, lsb = fixed.latent_format.min_code, fixed.latent_format.lsb
    assert np.array_equal(golden.score, golden.mu[:, 0] - min_code + count.table[n_egamma + n_muon])
    assert np.all(np.diff(count.table[1:]) > 0)  # each lepton beyond the first is rarer in the background
    saved = run.scores("Ato4l")["quantized_student"]  # QKeras output + the rounded table: the golden value
    assert np.array_equal((golden.score + min_code) * lsb, saved)
    assert extract(run, "kl").latent == run.config.latent  # the VAE's scores still come from its encoder
    info = run.student_info
    assert info["teacher_score"] == "kl" and info["scale"] > 0 and info["lepton_term"] == "exact"
    assert info["occupancy"] == ModelConfig().student_occupancy
    assert info["jet_occupancy"] == ModelConfig().student_jet_occupancy
    assert info["density"]["lepton_model"] == "count" and len(info["density"]["lepton"]) == 9  # n_e + n_mu


def test_verify_checks_each_network_that_computes_a_checked_score(run_dir):
    from l1ad.pipeline import verify

    run = store.load_run(run_dir)
    summary = verify(run, scores=["kl", "student"], n_vectors=300, backends=[])
    assert set(summary["stages"]["qkeras_vs_golden"]) == {"encoder", "student"}
    assert summary["ok"] and summary["total_mismatches"] == 0
    assert verify(run, n_vectors=50, backends=[])["stages"]["qkeras_vs_golden"].keys() == {"student"}


def test_a_new_student_on_the_same_teacher(run_dir, files, tmp_path):
    """``l1ad train --teacher``: the VAE files are copied byte for byte, only the regressor is new (its settings
    from the config), and the saved student scores are the new trigger's (golden model, integer for integer)."""
    from l1ad.fixed.golden import golden_score
    from l1ad.pipeline import extract

    config = tmp_path / "student.yaml"
    config.write_text("student_jet_occupancy: 1.0\nepochs: 40\n")  # the epochs stay the teacher run's
    out = tmp_path / "new_student"
    args = ["train", "--teacher", str(run_dir), "--out", str(out), "--config", str(config), "--student-occupancy", "3"]
    assert cli.main([*args, "--no-progress"]) == 0
    teacher, new = store.load_run(run_dir), store.load_run(out)
    for name in ("encoder.h5", "decoder.h5", "float_model.h5", "input_format.json"):
        assert store.sha256(out / name) == store.sha256(run_dir / name)
    assert (new.config.student_occupancy, new.config.student_jet_occupancy) == (3.0, 1.0)
    assert new.config.epochs == teacher.config.epochs  # the teacher's own settings stay
    assert new.student_info["occupancy"] == 3.0 and new.metadata["teacher"] == str(run_dir.resolve())
    events = adc2021.read_particles(files[1])
    fixed = extract(new)
    saved = new.scores("Ato4l")["quantized_student"]
    golden = golden_score(fixed, new.input_format.to_codes(events))
    assert np.array_equal((golden + fixed.latent_format.min_code) * fixed.latent_format.lsb, saved)
    assert not np.array_equal(saved, teacher.scores("Ato4l")["quantized_student"])
    assert np.array_equal(new.scores("Ato4l")["quantized_kl"], teacher.scores("Ato4l")["quantized_kl"])
    with pytest.raises(SystemExit, match="either --data"):
        cli.main(["train", "--out", str(tmp_path / "x")])
