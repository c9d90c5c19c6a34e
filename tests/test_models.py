"""Builders, deployable encoder contract, losses (TF), input quantizer exactness."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from l1ad import keras_compat
from l1ad.data import adc2021
from l1ad.data.adc2021 import N_INPUTS
from l1ad.data.preprocess import InputFormat
from l1ad.models import augment, builders, export, layers, losses
from l1ad.models.config import MODEL_KINDS, ModelConfig


@pytest.fixture(scope="module")
def keras():
    return keras_compat.keras()


@pytest.mark.parametrize("kind", MODEL_KINDS)
@pytest.mark.parametrize("quantized", [False, True])
def test_shapes(kind, quantized):
    cfg = ModelConfig(model=kind, latent=4)
    enc, dec = builders.build_encoder(cfg, quantized), builders.build_decoder(cfg, quantized)
    x = np.random.default_rng(0).normal(size=(5, N_INPUTS)).astype(np.float32)
    out = enc.predict(x, verbose=0)
    assert out.shape == (5, 8 if cfg.variational else 4)
    assert dec.predict(out[:, :4], verbose=0).shape == (5, N_INPUTS)


def test_quantized_dnn_encoders_obey_the_contract_and_cnn_does_not():
    for kind in ("dnn-vae", "dnn-ae"):
        export.check_encoder_contract(builders.build_encoder(ModelConfig(model=kind), True))
    with pytest.raises(export.EncoderContractError, match="QDense"):
        export.check_encoder_contract(builders.build_encoder(ModelConfig(model="cnn-vae"), True))
    with pytest.raises(export.EncoderContractError, match="QActivation"):
        export.check_encoder_contract(builders.build_encoder(ModelConfig(input_batchnorm=False), False))
    with pytest.raises(export.EncoderContractError, match="BatchNormalization"):
        export.check_encoder_contract(builders.build_encoder(ModelConfig(), False))


def test_contract_rejects_batchnorm_and_wrong_quantizers(keras):
    qk = keras_compat.qkeras()
    inp = keras.Input((N_INPUTS,))
    x = qk.QActivation(qk.quantized_bits(16, 5, alpha=1))(inp)
    x = qk.QDense(
        8, kernel_quantizer=qk.quantized_bits(8, 0, alpha=1), bias_quantizer=qk.quantized_bits(8, 0, alpha=1)
    )(x)
    bn = keras.layers.BatchNormalization(name="bn")(x)
    y = qk.QActivation(qk.quantized_bits(16, 4, alpha=1))(
        qk.QDense(
            6, kernel_quantizer=qk.quantized_bits(8, 0, alpha=1), bias_quantizer=qk.quantized_bits(8, 0, alpha=1)
        )(qk.QActivation(qk.quantized_relu(8, 3))(bn))
    )
    with pytest.raises(export.EncoderContractError):
        export.check_encoder_contract(keras.Model(inp, y))
    z = qk.QActivation(qk.quantized_bits(16, 4, alpha="auto_po2"))(
        qk.QDense(
            6, kernel_quantizer=qk.quantized_bits(8, 0, alpha=1), bias_quantizer=qk.quantized_bits(8, 0, alpha=1)
        )(qk.QActivation(qk.quantized_relu(8, 3))(x))
    )
    with pytest.raises(export.EncoderContractError, match="alpha=1"):
        export.check_encoder_contract(keras.Model(inp, z))


def test_random_encoder_builder_and_deployable_copy_store_quantized_weights():
    enc = builders.build_quantized_encoder(
        hidden=(12, 7),
        latent=2,
        weight_bits=6,
        weight_integer=0,
        bias_bits=10,
        bias_integer=2,
        seed=4,
        random_biases=True,
    )
    assert enc.output_shape == (None, 4)
    dep = export.deployable_encoder(enc)
    qk = keras_compat.qkeras()
    dense = [layer for layer in dep.layers if isinstance(layer, qk.QDense)]
    assert [d.units for d in dense] == [12, 7, 4]
    for d in dense:
        kernel, bias = d.get_weights()
        k_codes, b_codes = kernel * 2**5, bias * 2**7  # 6 bits, 0 int -> 5 frac; 10 bits, 2 int -> 7 frac
        assert np.array_equal(k_codes, np.round(k_codes)) and np.abs(k_codes).max() <= 32
        assert np.array_equal(b_codes, np.round(b_codes)) and np.abs(b_codes).max() <= 512
        assert np.count_nonzero(bias) > 0
    x = np.random.default_rng(1).normal(size=(200, N_INPUTS)).astype(np.float32)
    assert np.array_equal(enc.predict(x, verbose=0), dep.predict(x, verbose=0))


def test_input_quantizer_is_exact_on_format_values():
    rng = np.random.default_rng(5)
    fmt = InputFormat(16, 6, (0,) * N_INPUTS)
    codes = rng.integers(fmt.min_code, fmt.max_code + 1, size=(500, N_INPUTS))
    codes[0, :2] = [fmt.min_code, fmt.max_code]
    values = fmt.codes_to_float(codes).astype(np.float32)
    qk = keras_compat.qkeras()
    quantizer = qk.quantized_bits(*fmt.qkeras_quantizer_args, alpha=1)
    out = quantizer(values).numpy()
    assert np.array_equal((out.astype(np.float64) * 2**fmt.frac).astype(np.int64), codes)


def test_masked_mse_ignores_padded_slots():
    target = np.random.default_rng(2).normal(size=(4, N_INPUTS)).astype(np.float32)
    mask = np.ones_like(target)
    mask[:, 30:] = 0
    y_true = losses.pack_targets(target, mask)
    pred = target + 0.5
    changed = pred.copy()
    changed[:, 30:] = 1e3
    a, b = losses.masked_mse(y_true, pred).numpy(), losses.masked_mse(y_true, changed).numpy()
    assert np.array_equal(a, b)
    np.testing.assert_allclose(a, 30 * 0.25 / 57, rtol=1e-6)
    changed[:, 0] += 1.0
    assert np.all(losses.masked_mse(y_true, changed).numpy() > a)


def test_tf_kl_matches_hand_value():
    mu = np.array([[1.0, 2.0, 0.0]], np.float32)
    logvar = np.array([[0.0, math.log(4.0), -math.log(2.0)]], np.float32)
    expected = 0.5 * (1.0 + (7.0 - math.log(4.0)) + (-0.5 + math.log(2.0)))
    assert losses.kl_divergence(mu, logvar).numpy()[0] == pytest.approx(expected, rel=1e-6)
    assert float(losses.vae_loss(2.0, 4.0, 0.25)) == 2.5


def test_config_validation_and_yaml(tmp_path):
    with pytest.raises(ValueError, match="model must be"):
        ModelConfig(model="gan")
    with pytest.raises(ValueError, match="beta"):
        ModelConfig(beta=2.0)
    with pytest.raises(ValueError, match="student_jet_occupancy"):
        ModelConfig(student_jet_occupancy=-1.0)
    with pytest.raises(ValueError, match="student_lepton_density"):
        ModelConfig(student_lepton_density="joint")
    with pytest.raises(ValueError, match="student_lepton_term"):
        ModelConfig(student_lepton_term="learned")
    with pytest.raises(ValueError, match="needs student_lepton_density 'count'"):
        ModelConfig(student_lepton_density="pattern", student_lepton_term="exact")
    # a run saved before the exact lepton term: its pattern density and jet weight are kept, regressed
    older = {k: v for k, v in ModelConfig().to_dict().items() if not k.startswith("student_lepton")}
    older = {k: v for k, v in older.items() if k != "student_jet_occupancy"}
    restored = ModelConfig.from_dict(older)
    assert (restored.student_lepton_term, restored.student_lepton_density) == ("regressed", "pattern")
    assert restored.student_jet_occupancy == restored.student_occupancy
    assert ModelConfig.from_dict({"student_lepton_density": "pattern"}).student_lepton_term == "regressed"
    path = tmp_path / "cfg.yaml"
    path.write_text("model: dnn-ae\nhidden: [24, 12]\nlatent: 2\n")
    cfg = ModelConfig.load(path)
    assert (cfg.model, cfg.hidden, cfg.latent, cfg.variational) == ("dnn-ae", (24, 12), 2, False)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    path.write_text("latnet: 2\n")
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.load(path)


def test_copy_weights_folds_batchnorm_into_the_quantized_layers():
    """The BN-free model built from a float model with trained BN statistics computes the same function."""
    from l1ad.models.train import copy_weights

    cfg = ModelConfig(hidden=(8, 4), latent=2)
    float_enc = builders.build_encoder(cfg, quantized=False)
    rng = np.random.default_rng(3)
    for layer in float_enc.layers:  # non-trivial BN statistics
        if layer.name.endswith("_bn"):
            n = layer.get_weights()[0].size
            layer.set_weights(
                [rng.uniform(0.5, 2, n), rng.normal(0, 0.3, n), rng.normal(0, 0.5, n), rng.uniform(0.2, 3, n)]
            )
    plain = builders.build_encoder(dataclasses.replace(cfg, batchnorm=False), quantized=False)
    copy_weights(float_enc, plain)
    x = rng.normal(0, 1, (64, N_INPUTS)).astype(np.float32)
    want = float_enc.predict(x, verbose=0)
    got = plain.predict(x, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)  # float32 arithmetic, two evaluation orders
    assert not np.allclose(want, plain.predict(x * 0, verbose=0))  # guard: the function is not constant


def test_distillation_loss_is_the_squared_distance_per_event():
    student = np.array([[1.0, 2.0, 0.0], [0.5, 0.5, 0.5]], np.float32)
    teacher = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]], np.float32)
    assert losses.distillation(student, teacher).numpy().tolist() == [5.0, 0.0]
    with pytest.raises(ValueError, match="distill"):
        ModelConfig(distill=-1.0)


def test_tail_weights_are_a_batch_softmax_of_the_teacher_score():
    score = np.array([0.0, np.log(3.0)], np.float32)
    np.testing.assert_allclose(losses.tail_weights(score, 1.0).numpy(), [0.5, 1.5], rtol=1e-6)
    assert losses.tail_weights(score, 0.0).numpy().tolist() == [1.0, 1.0]
    extreme = losses.tail_weights(np.array([1e4, 0.0, 0.0, 0.0], np.float32), 1.0).numpy()
    assert extreme.tolist() == [4.0, 0.0, 0.0, 0.0]  # no overflow: all weight on the outlier
    with pytest.raises(ValueError, match="distill_tail"):
        ModelConfig(distill_tail=-0.5)


def test_teacher_score_is_the_kl_for_a_vae_and_half_mu2_for_an_ae():
    out = np.array([[1.0, -2.0, 0.0, np.log(2.0)]], np.float32)  # mu = (1, -2), logvar = (0, ln 2)
    want_kl = 0.5 * ((1.0 + 1.0 - 1.0 - 0.0) + (4.0 + 2.0 - 1.0 - np.log(2.0)))
    np.testing.assert_allclose(losses.teacher_score(out, 2, True).numpy(), [want_kl], rtol=1e-6)
    np.testing.assert_allclose(losses.teacher_score(out[:, :2], 2, False).numpy(), [2.5], rtol=1e-6)


def test_distilled_qat_follows_the_float_encoder_more_closely():
    """QAT with the distillation term ends nearer to the float encoder than QAT without it (same seed)."""
    from synthetic_events import background

    from l1ad.models.train import configure_tensorflow, train_models

    events = background(1200, seed=4)
    gaps = {}
    for distill in (0.0, 100.0):
        cfg = ModelConfig(
            hidden=(16, 8),
            epochs=8,
            batch_size=128,
            seed=2,
            prune=0.0,
            distill=distill,
            score_distill=0.0,
            distill_augment=0.0,
            student=False,
        )
        configure_tensorflow(cfg.seed)
        trained = train_models(cfg, events[:1000], events[1000:], progress=False)
        x = trained.input_format.to_model_input(events[1000:])
        q, f = trained.encoder.predict(x, verbose=0), trained.float_encoder.predict(x, verbose=0)
        gaps[distill] = float(np.mean(np.sum((q - f) ** 2, axis=1)))
        assert ("distill" in trained.history["quantized"]) == (distill > 0)
    assert gaps[100.0] < 0.8 * gaps[0.0], gaps


def test_first_layer_weight_bits_sets_only_the_first_encoder_layer():
    cfg = ModelConfig(hidden=(8, 4), latent=2, weight_bits=3, first_layer_weight_bits=6)
    enc = builders.build_encoder(cfg, quantized=True)
    bits = {layer.name: layer.kernel_quantizer_internal.bits for layer in enc.layers if hasattr(layer, "kernel")}
    assert bits == {"enc_dense0": 6, "enc_dense1": 3, "enc_head": 3}
    assert (
        builders.build_encoder(dataclasses.replace(cfg, first_layer_weight_bits=None), True)
        .get_layer("enc_dense0")
        .kernel_quantizer_internal.bits
        == 3
    )
    with pytest.raises(ValueError, match="first_layer_weight_bits"):
        ModelConfig(first_layer_weight_bits=1)


def _random_batchnorm_statistics(model, rng):
    for layer in model.layers:
        if layer.name.endswith("_bn"):
            n = layer.get_weights()[0].size
            layer.set_weights(
                [rng.uniform(0.5, 2, n), rng.normal(0, 0.3, n), rng.normal(0, 0.5, n), rng.uniform(0.2, 3, n)]
            )


def test_input_batchnorm_is_folded_into_the_first_layer():
    """A float encoder with BN on its inputs and after each layer == the BN-free encoder after copy_weights."""
    from l1ad.models.train import copy_weights

    cfg = ModelConfig(hidden=(8, 4), latent=2)
    float_enc = builders.build_encoder(cfg, quantized=False)
    assert float_enc.layers[1].name == "input_bn"
    rng = np.random.default_rng(7)
    _random_batchnorm_statistics(float_enc, rng)
    plain = builders.build_encoder(dataclasses.replace(cfg, batchnorm=False, input_batchnorm=False), quantized=False)
    assert "input_bn" not in [layer.name for layer in plain.layers]
    copy_weights(float_enc, plain)
    x = rng.normal(0, 1, (64, N_INPUTS)).astype(np.float32)
    np.testing.assert_allclose(plain.predict(x, verbose=0), float_enc.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
    # and into the quantized encoder's first QDense (its unquantized weights compute the same function)
    q = builders.build_encoder(cfg, quantized=True)
    copy_weights(float_enc, q)
    folded = plain.get_layer("enc_dense0").get_weights()[0]
    np.testing.assert_allclose(q.get_layer("enc_dense0").get_weights()[0], folded)


def test_bounded_decoder_outputs_stay_within_their_bounds():
    from l1ad.models.layers import ETA_BOUNDS

    cfg = ModelConfig(hidden=(8, 4), latent=2)
    dec = builders.build_decoder(cfg, quantized=False)
    for layer in dec.layers:  # huge weights: the linear outputs reach +-1e4
        if layer.name == "dec_out":
            k, b = layer.get_weights()
            layer.set_weights([np.full_like(k, 300.0), np.linspace(-1e4, 1e4, b.size).astype(np.float32)])
    z = np.random.default_rng(1).normal(0, 5, (200, 2)).astype(np.float32)
    out = dec.predict(z, verbose=0).reshape(-1, 19, 3)
    eta, phi, pt = out[:, :, 1], out[:, :, 2], out[:, :, 0]
    assert np.all(np.abs(eta[:, 1:]) <= np.array(ETA_BOUNDS[1:])[None, :] + 1e-6)
    assert np.all(np.abs(phi) <= math.pi + 1e-6)
    assert np.abs(pt).max() > 100  # pT is not bounded
    assert np.abs(eta[:, 1:]).max() > 2.0  # the bounds are reached, not a constant
    # the decoder (with its BoundedOutput layer) survives a save / load round trip
    unbounded = builders.build_decoder(dataclasses.replace(cfg, bounded_outputs=False, target="input"), False)
    assert "bounded_out" not in [layer.name for layer in unbounded.layers]
    with pytest.raises(ValueError, match="bounded_outputs"):
        ModelConfig(target="input")


def test_bounded_decoder_round_trips_through_h5(tmp_path):
    cfg = ModelConfig(hidden=(8, 4), latent=2)
    dec = builders.build_decoder(cfg, quantized=False)
    dec.save(tmp_path / "d.h5", save_format="h5")
    again = keras_compat.keras().models.load_model(tmp_path / "d.h5", custom_objects=layers.custom_objects())
    z = np.random.default_rng(2).normal(size=(10, 2)).astype(np.float32)
    assert np.array_equal(dec.predict(z, verbose=0), again.predict(z, verbose=0))


def test_mean_reduction_weighs_mse_and_kl_per_dimension():
    """reduction "mean": (1 - beta) mse + beta kl / latent; "sum": (1 - beta) sse + beta kl (per event)."""
    from l1ad.models.train import _trainer_class

    enc = builders.build_encoder(ModelConfig(hidden=(4,), latent=2, input_batchnorm=False), False)
    dec = builders.build_decoder(ModelConfig(hidden=(4,), latent=2, bounded_outputs=False, target="input"), False)
    x = np.random.default_rng(3).normal(size=(16, N_INPUTS)).astype(np.float32)
    y = losses.pack_targets(x, np.ones_like(x))
    terms = {}
    for reduction in ("mean", "sum"):
        tr = _trainer_class()(enc, dec, 2, True, 0.8, reduction=reduction)
        terms[reduction] = {k: float(v) for k, v in tr._loss_terms(x, y, training=False).items()}
    mse, kl = terms["mean"]["mse"], terms["mean"]["kl"]
    assert terms["mean"]["loss"] == pytest.approx(0.2 * mse + 0.8 * kl / 2, rel=1e-5)
    assert terms["sum"]["loss"] == pytest.approx(0.2 * mse * N_INPUTS + 0.8 * kl, rel=1e-5)


def test_augmented_events_enter_only_the_distillation_terms():
    """Events flagged 0 (augmented) change the distillation term but not the reconstruction / KL terms."""
    from l1ad.models.train import _trainer_class

    cfg = ModelConfig(hidden=(4,), latent=2, input_batchnorm=False)
    enc, dec, teacher = (
        builders.build_encoder(cfg, False),
        builders.build_decoder(cfg, False),
        builders.build_encoder(cfg, False),
    )
    rng = np.random.default_rng(4)
    x = rng.normal(size=(8, N_INPUTS)).astype(np.float32)
    real = losses.pack_targets(x, np.ones_like(x), np.ones(8))
    extra = rng.normal(size=(8, N_INPUTS)).astype(np.float32) * 5
    both_x = np.concatenate([x, extra])
    both_y = np.concatenate([real, losses.pack_targets(extra, np.ones_like(extra), np.zeros(8))])
    tr = _trainer_class()(enc, dec, 2, True, 0.8, teacher, 1.0, reduction="mean", score_distill=1.0)
    a = {k: float(v) for k, v in tr._loss_terms(x, real, training=False).items()}
    b = {k: float(v) for k, v in tr._loss_terms(both_x, both_y, training=False).items()}
    assert b["mse"] == pytest.approx(a["mse"], rel=1e-5) and b["kl"] == pytest.approx(a["kl"], rel=1e-5)
    assert b["distill"] != pytest.approx(a["distill"], rel=1e-3)


def test_score_distillation_vanishes_only_for_equal_scores():
    out = np.array([[0.3, -0.2, 0.1, 0.0, -0.5, 0.2]], np.float32)
    assert float(losses.score_distillation(out, out, 3)[0]) == 0.0
    other = out.copy()
    other[0, 0] = 1.3
    assert float(losses.score_distillation(other, out, 3)[0]) > 0.1


def test_add_objects_keeps_the_layout_and_adds_objects():
    from synthetic_events import background

    events = background(500, seed=9)
    more = augment.add_objects(events, np.random.default_rng(0), max_add=3)
    adc2021.validate_particles(more)  # classes, empty slots, phi ranges all still valid
    n_before, n_after = (np.count_nonzero(e[:, 1:, 0] > 0, axis=1) for e in (events, more))
    assert np.all(n_after >= n_before) and np.all(n_after <= n_before + 3) and np.mean(n_after > n_before) > 0.9
    assert np.array_equal(more[:, 0], events[:, 0])  # MET unchanged
    for lo, hi in augment.TYPE_ROWS:  # pT-ordered inside each type, empties last
        pt = more[:, lo:hi, 0]
        assert np.all(np.diff(pt, axis=1) <= 0)
    added_pt = np.sort(more[:, 1:, 0][more[:, 1:, 0] > 0])
    assert np.isin(added_pt, events[:, 1:, 0]).all()  # every object is copied from some event


def test_occupancy_density_ranks_rare_patterns_higher():
    from synthetic_events import background

    events = background(2000, seed=3)
    dens = augment.OccupancyDensity.fit(events, lepton_model="pattern")
    ne, nm, nj = augment.multiplicities(events)
    common = int(np.argmax((ne == np.bincount(ne).argmax()) & (nm == np.bincount(nm).argmax())))
    rare = events[common : common + 1].copy()
    rare[0, 1:5, :3] = [[50, 0.1, 0.1], [40, 0.2, 0.2], [30, 0.3, 0.3], [20, 0.4, 0.4]]
    rare[0, 1:5, 3] = 2
    assert dens(rare)[0] > dens(events[common : common + 1])[0] + 2.0
    assert augment.OccupancyDensity.from_dict(dens.to_dict())(events).tolist() == dens(events).tolist()


def test_lepton_count_density_extrapolates_a_geometric_tail():
    # 1000 events with one lepton, 100 with two, 10 with three, 1 with four: the last bin with >= 10 events is 3
    n_lep = np.repeat([1, 2, 3, 4], [1000, 100, 10, 1])
    nll = augment.lepton_count_density(n_lep, np.ones(n_lep.size))
    total = n_lep.size + 0.5 * 9
    assert nll[2] == pytest.approx(-np.log(100.5 / total)) and nll[3] == pytest.approx(-np.log(10.5 / total))
    step = nll[3] - nll[2]
    assert nll[4] == pytest.approx(nll[3] + step) and nll[8] == pytest.approx(nll[3] + 5 * step)
    assert np.all(np.diff(nll[1:]) > 0)  # each further lepton is rarer, also where the background has none
    # too few filled bins to estimate a tail: the counts alone
    flat = augment.lepton_count_density(np.ones(50, int), np.ones(50))
    assert flat[5] == pytest.approx(-np.log(0.5 / (50 + 4.5)))


def test_occupancy_density_count_model_orders_by_lepton_count():
    from synthetic_events import background

    events = background(3000, seed=4)
    dens = augment.OccupancyDensity.fit(events, lepton_model="count")
    assert dens.lepton_model == "count" and len(dens.lepton) == 9
    ne, nm, _ = augment.multiplicities(events)
    lepton, jet = dens.terms(events)
    assert np.array_equal(lepton, np.asarray(dens.lepton)[ne + nm])
    assert np.allclose(dens(events, jet_weight=2.0), lepton + 2.0 * jet)
    assert np.array_equal(dens(events), lepton + jet)
    back = augment.OccupancyDensity.from_dict(dens.to_dict())
    assert back == dens and back(events).tolist() == dens(events).tolist()
    old = dens.to_dict() | {"lepton": augment.OccupancyDensity.fit(events, lepton_model="pattern").lepton}
    del old["lepton_model"]  # a run written before the count model: read as the pattern table
    assert augment.OccupancyDensity.from_dict(old).lepton_model == "pattern"
    with pytest.raises(ValueError, match="lepton_model"):
        augment.OccupancyDensity.fit(events, lepton_model="joint")


def test_student_trigger_score_adds_the_exact_lepton_table():
    """The teacher-student score: output + occupancy x -log p(n_lepton) / scale for an exact lepton term (the
    QKeras twin rounds the table to its output lsb, as the firmware's integer table), nothing for a regressed one."""
    from synthetic_events import background

    from l1ad.data.preprocess import InputFormat
    from l1ad.fixed.formats import FixedFormat
    from l1ad.models import augment, student_score
    from l1ad.models.train import StudentInfo

    events = background(400, seed=3)
    density = augment.OccupancyDensity.fit(events, lepton_model="count")
    info = StudentInfo("kl", 1e-6, 4.0, 0.0, 3.0, 7.9, density, 2.0, "exact")
    table = 4.0 * np.asarray(density.lepton) / 3.0
    out = np.linspace(-1.0, 1.0, len(events))
    n_egamma, n_muon, _ = augment.multiplicities(events)
    np.testing.assert_allclose(student_score.trigger_score(out, info, events), out + table[n_egamma + n_muon])
    lsb = 2.0**-6
    quantized = student_score.trigger_score(out, info, events, lsb=lsb)
    assert np.all(np.abs(quantized - out - table[n_egamma + n_muon]) <= lsb / 2)
    term = student_score.count_term(info, InputFormat(10, 3, (0,) * 57), FixedFormat(10, 4))
    assert term is not None and term.inputs == (3, 6, 9, 12, 15, 18, 21, 24) and term.empty == (0,) * 8
    np.testing.assert_array_equal(term.table * lsb, np.rint(table / lsb) * lsb)
    regressed = StudentInfo("kl", 1e-6, 4.0, 0.0, 3.0, 7.9, density, 2.0, "regressed")
    assert np.array_equal(student_score.trigger_score(out, regressed, events), out)
    assert student_score.count_term(regressed, InputFormat(10, 3, (0,) * 57), FixedFormat(10, 4)) is None
    saved_before = {k: v for k, v in info.to_dict().items() if k != "lepton_term"}  # student.json of older runs
    assert StudentInfo.from_dict(saved_before).lepton_term == "regressed"
