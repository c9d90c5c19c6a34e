"""Training: seeded data split, input format fit, float + quantized (QAT or PTQ) training, optional pruning,
and the teacher-student regressor.

One :class:`AutoencoderTrainer` (a ``keras.Model`` with its own train/test steps) trains any encoder/decoder
pair: AE loss = masked MSE; VAE loss = (1 - beta) * reconstruction + beta * KL (see :mod:`l1ad.models.losses`;
``reduction`` "mean": masked MSE and KL / latent, the AD@L1 recipe; "sum": SSE and summed KL) with the
reparametrization ``z = mu + exp(logvar / 2) * eps`` (validation uses ``z = mu``). Adam with gradient-norm
clipping (``clipnorm``), learning-rate halving on validation plateaus (``lr_plateau``), early stopping on the
validation loss restores the best weights. With ``distill`` > 0, QAT adds ``distill`` x |quantized - float
encoder output|^2 (knowledge distillation from the frozen float encoder), so that the firmware scores follow
the float ones event by event; ``distill_tail`` weights each event by exp(distill_tail x teacher score)
(normalized over the batch); ``score_distill`` adds the squared difference of log kl / rz / mu2. The
distillation terms also run over ``distill_augment`` x as many augmented background events
(:func:`l1ad.models.augment.add_objects`), which enter no other term. Progress is shown with tqdm.
Determinism: ``keras.utils.set_random_seed`` + ``tf.config.experimental.enable_op_determinism`` (same seed,
same data, same machine -> same weights).

The teacher-student regressor (:func:`train_student`): the float VAE (teacher) scores the background and the
augmented events; a float student network learns the mapped log score (mean squared error), its batch
normalizations are folded into the quantized student, which is fine-tuned quantization-aware with magnitude
pruning.

The whole training step (events file in, run directory out) is :func:`l1ad.pipeline.train`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from l1ad import keras_compat
from l1ad.data import adc2021
from l1ad.data.adc2021 import N_INPUTS
from l1ad.data.preprocess import InputFormat, ReconstructionTarget, slot_mask
from l1ad.models import augment, builders, losses
from l1ad.models import scores as score_fns
from l1ad.models.config import ModelConfig


def configure_tensorflow(seed: int, threads: int | None = 1) -> None:
    """Seed Python/numpy/TF, make ops deterministic and (if possible) limit TF to ``threads`` threads."""
    tf = keras_compat.tensorflow()
    keras = keras_compat.keras()
    if threads:
        keras_compat.limit_threads(threads)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _trainer_class() -> type:
    keras, tf = keras_compat.keras(), keras_compat.tensorflow()
    model_base: Any = keras.Model  # a class of a dynamically imported module

    class AutoencoderTrainer(model_base):
        """Trains ``encoder`` + ``decoder`` with the (beta-V)AE loss; ``y`` = packed [target | mask (| real)]."""

        def __init__(
            self,
            encoder: Any,
            decoder: Any,
            latent: int,
            variational: bool,
            beta: float,
            teacher: Any = None,
            distill: float = 0.0,
            distill_tail: float = 0.0,
            reduction: str = "sum",
            score_distill: float = 0.0,
            **kw: Any,
        ):
            super().__init__(**kw)
            self.encoder, self.decoder = encoder, decoder
            self.latent, self.variational, self.beta = latent, variational, float(beta)
            self.teacher, self.distill, self.distill_tail = teacher, float(distill), float(distill_tail)
            self.reduction, self.score_distill = reduction, float(score_distill)
            names = ("loss", "mse", "kl") + (("distill",) if teacher is not None else ())
            self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

        @property
        def metrics(self) -> list:
            return list(self.trackers.values())

        def _loss_terms(self, x: Any, y: Any, training: bool) -> dict[str, Any]:
            enc = self.encoder(x, training=training)
            mu = enc[:, : self.latent]
            if self.variational:
                logvar = enc[:, self.latent :]
                z = mu + tf.exp(0.5 * logvar) * tf.random.normal(tf.shape(mu)) if training else mu
                kl = losses.kl_divergence(mu, logvar)
            else:
                z, kl = mu, tf.zeros_like(mu[:, 0])
            mse = losses.masked_mse(y, self.decoder(z, training=training))
            if not self.variational:
                per_event = mse
            elif self.reduction == "mean":
                per_event = losses.vae_loss(mse, kl / float(self.latent), self.beta)
            else:
                per_event = losses.vae_loss(mse * float(N_INPUTS), kl, self.beta)
            real = losses.real_flags(y)
            n_real = tf.maximum(tf.reduce_sum(real), 1.0)

            def real_mean(v: Any) -> Any:
                return tf.reduce_sum(real * v) / n_real

            terms = {"loss": real_mean(per_event), "mse": real_mean(mse), "kl": real_mean(kl)}
            if self.teacher is not None:
                target = self.teacher(x, training=False)
                gap = losses.distillation(enc, target)
                if self.distill_tail > 0:
                    score = losses.teacher_score(target, self.latent, self.variational)
                    gap = gap * losses.tail_weights(score, self.distill_tail)
                terms["distill"] = tf.reduce_mean(gap)
                terms["loss"] = terms["loss"] + self.distill * terms["distill"]
                if self.score_distill > 0 and self.variational:
                    scores = tf.reduce_mean(losses.score_distillation(enc, target, self.latent))
                    terms["distill"] = terms["distill"] + scores
                    terms["loss"] = terms["loss"] + self.score_distill * scores
            return terms

        def _record(self, terms: dict) -> dict:
            for name, value in terms.items():
                self.trackers[name].update_state(value)
            return {name: t.result() for name, t in self.trackers.items()}

        def train_step(self, data: Any) -> dict:
            x, y = data
            with tf.GradientTape() as tape:
                terms = self._loss_terms(x, y, training=True)
                total = terms["loss"] + tf.add_n(self.losses) if self.losses else terms["loss"]
            grads = tape.gradient(total, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
            return self._record(terms)

        def test_step(self, data: Any) -> dict:
            x, y = data
            return self._record(self._loss_terms(x, y, training=False))

        def call(self, x: Any, training: bool = False) -> Any:
            return self.decoder(self.encoder(x, training=training)[:, : self.latent], training=training)

    return AutoencoderTrainer


class _TqdmEpochs:
    """Keras callback factory: one tqdm bar over epochs showing the latest losses."""

    @staticmethod
    def make(total: int, desc: str, enabled: bool) -> Any:
        keras = keras_compat.keras()
        from tqdm.auto import tqdm

        callback_base: Any = keras.callbacks.Callback  # a class of a dynamically imported module

        class Bar(callback_base):
            def on_train_begin(self, logs: dict | None = None) -> None:
                self.bar = tqdm(total=total, desc=desc, unit="epoch", disable=not enabled, leave=True)

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                logs = logs or {}
                self.bar.set_postfix(
                    {k: f"{v:.4g}" for k, v in logs.items() if k in ("loss", "val_loss", "val_mse", "val_kl")}
                )
                self.bar.update(1)

            def on_train_end(self, logs: dict | None = None) -> None:
                self.bar.close()

        return Bar()


def adam(learning_rate: float, clipnorm: float = 0.0) -> Any:
    """Adam, with gradient-norm clipping when ``clipnorm`` > 0."""
    keras = keras_compat.keras()
    return keras.optimizers.Adam(learning_rate, **({"clipnorm": clipnorm} if clipnorm > 0 else {}))


def _schedule_callbacks(cfg: ModelConfig) -> list:
    """Early stopping (best weights restored) and, with ``lr_plateau``, learning-rate halving on plateaus."""
    keras = keras_compat.keras()
    out = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True)]
    if cfg.lr_plateau:
        out.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=4, min_lr=1e-5))
    return out


def fit_pair(
    cfg: ModelConfig,
    encoder: Any,
    decoder: Any,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    desc: str,
    progress: bool = True,
    prune: float = 0.0,
    teacher: Any = None,
    quantized_phase: bool = False,
) -> tuple[Any, Any, dict[str, list[float]]]:
    """Train an encoder/decoder pair; returns (encoder, decoder, history). ``prune`` > 0: magnitude pruning.

    ``quantized_phase``: use ``cfg.quantized_epochs`` / ``cfg.quantized_learning_rate`` (QAT fine-tuning).

    ``teacher`` (a trained float encoder, kept frozen): adds ``cfg.distill`` x the squared distance of the
    encoder outputs to the teacher's to the loss, so that the quantized scores follow the float ones; each
    event's distance is weighted by ``losses.tail_weights(teacher score, cfg.distill_tail)``.
    """
    epochs = cfg.epochs if quantized_phase is False else cfg.quantized_epochs
    rate = cfg.learning_rate if quantized_phase is False else cfg.quantized_learning_rate
    callbacks: list = [_TqdmEpochs.make(epochs, desc, progress)]
    if prune > 0:
        from l1ad.models import pruning

        encoder, decoder, prune_callbacks = pruning.wrap(encoder, decoder, prune, cfg, n_train=len(train[0]))
        callbacks += prune_callbacks  # no early stopping / plateau: they would fight the pruning schedule
    else:
        callbacks += _schedule_callbacks(cfg)
    if teacher is not None:
        teacher.trainable = False  # its weights stay out of the optimizer
    try:
        trainer = _trainer_class()(
            encoder,
            decoder,
            cfg.latent,
            cfg.variational,
            cfg.beta,
            teacher,
            cfg.distill,
            cfg.distill_tail,
            reduction=cfg.reduction,
            score_distill=cfg.score_distill if teacher is not None else 0.0,
        )
        trainer.compile(optimizer=adam(rate, cfg.clipnorm))
        hist = trainer.fit(
            train[0],
            train[1],
            validation_data=val,
            epochs=epochs,
            batch_size=cfg.batch_size,
            shuffle=True,
            callbacks=callbacks,
            verbose=0,
        )
    finally:
        if teacher is not None:
            teacher.trainable = True
    if prune > 0:
        from l1ad.models import pruning

        encoder, decoder = pruning.strip(trainer.encoder, trainer.decoder)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    return encoder, decoder, history


def copy_weights(src: Any, dst: Any) -> None:
    """Copy weights layer by layer (by name) from a float model into a same-shaped quantized model.

    A float layer followed by batch normalization (``<name>_bn``) is copied with the normalization folded
    in: ``kernel * g``, ``(bias - mean) * g + beta`` with ``g = gamma / sqrt(var + eps)`` per output
    channel, so the BN-free quantized layer computes what the float layer + BN computed at inference. A batch
    normalization of the inputs (``input_bn``) is folded into the first layer with weights: ``kernel * g[:, None]``,
    ``bias + (beta - mean * g) @ kernel``.
    """
    by_name = {layer.name: layer for layer in src.layers}
    first = True
    for layer in dst.layers:
        if not layer.weights:
            continue
        if layer.name not in by_name:
            raise ValueError(f"float model has no layer {layer.name!r} to copy into the quantized model")
        weights = by_name[layer.name].get_weights()
        input_bn = by_name.get("input_bn")
        if first and input_bn is not None and "input_bn" not in {x.name for x in dst.layers}:
            weights = fold_input_batchnorm(weights[0], weights[1], input_bn)
        first = False
        bn = by_name.get(f"{layer.name}_bn")
        if bn is not None:
            weights = fold_batchnorm(weights[0], weights[1], bn)
        layer.set_weights(weights)


def _bn_gain(bn: Any) -> tuple[np.ndarray, np.ndarray]:
    """(g, c) with BN(x) = g * x + c at inference."""
    gamma, beta, mean, var = (np.asarray(w, dtype=np.float64) for w in bn.get_weights())
    gain = gamma / np.sqrt(var + bn.epsilon)
    return gain, beta - mean * gain


def fold_input_batchnorm(kernel: np.ndarray, bias: np.ndarray, bn: Any) -> list[np.ndarray]:
    """[kernel, bias] of a dense layer with the (inference-mode) BatchNormalization of its INPUTS folded in."""
    gain, shift = _bn_gain(bn)
    k, b = np.asarray(kernel, np.float64), np.asarray(bias, np.float64)
    return [(gain[:, None] * k).astype(kernel.dtype), (b + shift @ k).astype(bias.dtype)]


def fold_batchnorm(kernel: np.ndarray, bias: np.ndarray, bn: Any) -> list[np.ndarray]:
    """[kernel, bias] of a layer with the following (inference-mode) BatchNormalization folded in."""
    gamma, beta, mean, var = (np.asarray(w, dtype=np.float64) for w in bn.get_weights())
    gain = gamma / np.sqrt(var + bn.epsilon)
    return [(kernel * gain).astype(kernel.dtype), ((bias - mean) * gain + beta).astype(bias.dtype)]


@dataclasses.dataclass
class StudentInfo:
    """How the teacher-student regressor's target was made: ``(log(teacher score + eps) + occupancy x
    -log p(leptons) + jet_occupancy x -log p(n_jet) - center) / scale``, clipped to +-``clip`` (the student
    output range). ``jet_occupancy`` None (runs written before it existed): the same as ``occupancy``.
    ``lepton_term`` "exact": the lepton term is not in the target; the trigger score adds
    ``occupancy x -log p(leptons) / scale`` exactly (:mod:`l1ad.models.student_score`)."""

    teacher_score: str
    eps: float
    occupancy: float
    center: float
    scale: float
    clip: float
    density: augment.OccupancyDensity | None = None
    jet_occupancy: float | None = None
    lepton_term: str = "regressed"  # runs written before "exact" existed

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["density"] = None if self.density is None else self.density.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StudentInfo:
        d = dict(d)
        dens = d.pop("density", None)
        return cls(**d, density=None if dens is None else augment.OccupancyDensity.from_dict(dens))


@dataclasses.dataclass
class TrainedModels:
    """Everything a training produces before it is written to a run directory."""

    config: ModelConfig
    input_format: InputFormat
    encoder: Any  # quantized encoder (QKeras)
    decoder: Any
    float_encoder: Any | None
    float_decoder: Any | None
    history: dict[str, dict[str, list[float]]]
    timings: dict[str, float]
    reconstruction_target: ReconstructionTarget | None = None
    student: Any = None  # quantized teacher-student regressor (QKeras, one output)
    float_student: Any = None
    student_info: StudentInfo | None = None


def reconstruction_target_values(
    fmt: InputFormat, target: ReconstructionTarget | None, particles: np.ndarray
) -> np.ndarray:
    """The (N,57) reconstruction target: the AD@L1 standardized target, or the model input (target None)."""
    return fmt.to_model_input(particles) if target is None else target.transform(particles)


def make_xy(
    fmt: InputFormat,
    particles: np.ndarray,
    target: ReconstructionTarget | None = None,
    real: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Events -> (model input float32 (N,57), packed [target | mask] (N,114)); ``real`` given: a 115th column
    flags the events as real (1) or augmented (0)."""
    x = fmt.to_model_input(particles)
    flags = None if real is None else np.full(len(x), float(real), np.float32)
    return x, losses.pack_targets(reconstruction_target_values(fmt, target, particles), slot_mask(particles), flags)


def _with_augmented(
    fmt: InputFormat,
    target: ReconstructionTarget | None,
    events: np.ndarray,
    fraction: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of ``events`` (real) followed by ``fraction`` x as many augmented events (flagged 0)."""
    x, y = make_xy(fmt, events, target, real=True)
    n_aug = int(round(fraction * len(events)))
    if n_aug == 0 or len(events) == 0:
        return x, y
    extra = augment.add_objects(events[rng.integers(0, len(events), n_aug)], rng)
    xa, ya = make_xy(fmt, extra, target, real=False)
    return np.concatenate([x, xa]), np.concatenate([y, ya])


def train_models(
    cfg: ModelConfig, train: np.ndarray, val: np.ndarray, progress: bool = True, train_weights: np.ndarray | None = None
) -> TrainedModels:
    """Fit the input format (and reconstruction target) on ``train`` events, then train the float model, the
    quantized model and (``cfg.trains_student``) the teacher-student regressor. ``train_weights``: background
    weights of the training events (used for the occupancy density of the student target)."""
    fmt = InputFormat.fit(
        adc2021.to_flat(train),
        width=cfg.input_bits,
        integer=cfg.input_integer,
        quantile=cfg.input_quantile,
        standardize=cfg.input_standardize,
    )
    recon = ReconstructionTarget.fit(train) if cfg.target == "standardized" else None
    xy_train, xy_val = make_xy(fmt, train, recon), make_xy(fmt, val, recon)
    history: dict[str, dict[str, list[float]]] = {}
    timings: dict[str, float] = {}
    float_enc = float_dec = None
    float_cfg = dataclasses.replace(cfg, batchnorm=False, input_batchnorm=False) if cfg.quantization == "ptq" else cfg
    if cfg.train_float or cfg.quantization == "ptq":
        t0 = time.perf_counter()
        float_enc, float_dec, history["float"] = fit_pair(
            float_cfg,
            builders.build_encoder(float_cfg, False),
            builders.build_decoder(float_cfg, False),
            xy_train,
            xy_val,
            f"float {cfg.model}",
            progress,
        )
        timings["train_float_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    q_enc, q_dec = builders.build_encoder(cfg, True), builders.build_decoder(cfg, True)
    if cfg.quantization == "ptq":
        copy_weights(float_enc, q_enc)
        copy_weights(float_dec, q_dec)
        if cfg.prune > 0:
            q_enc, q_dec, history["quantized"] = fit_pair(
                cfg,
                q_enc,
                q_dec,
                xy_train,
                xy_val,
                f"prune {cfg.model}",
                progress,
                prune=cfg.prune,
                quantized_phase=True,
            )
    else:
        if float_enc is not None and cfg.qat_from_float:  # fine-tune the trained float model, BN folded
            copy_weights(float_enc, q_enc)
            copy_weights(float_dec, q_dec)
        teacher = float_enc if (cfg.distill > 0 or cfg.score_distill > 0) else None
        qat_train, qat_val = xy_train, xy_val
        if teacher is not None and cfg.distill_augment > 0:
            rng = np.random.default_rng(cfg.seed + 1000)
            qat_train = _with_augmented(fmt, recon, train, cfg.distill_augment, rng)
            qat_val = _with_augmented(fmt, recon, val, cfg.distill_augment, rng)
        q_enc, q_dec, history["quantized"] = fit_pair(
            cfg,
            q_enc,
            q_dec,
            qat_train,
            qat_val,
            f"QAT {cfg.model}",
            progress,
            prune=cfg.prune,
            teacher=teacher,
            quantized_phase=True,
        )
    timings["train_quantized_s"] = time.perf_counter() - t0
    trained = TrainedModels(cfg, fmt, q_enc, q_dec, float_enc, float_dec, history, timings, recon)
    if cfg.trains_student:
        t0 = time.perf_counter()
        train_student(trained, train, val, train_weights, progress)
        timings["train_student_s"] = time.perf_counter() - t0
    return trained


# ---- teacher-student regressor -----------------------------------------------------------------------------
#: eps inside log(teacher score + eps) of the student target (the background's KL reaches ~1e-5).
STUDENT_EPS = 1e-6
#: The background quantile (1 - 1e-4) of the target maps to this student output (the output saturates at
#: 2**student_output_integer = 8 by default, above every background event of the training set).
STUDENT_TOP = 5.0


def teacher_scores(trained: TrainedModels, particles: np.ndarray) -> dict[str, np.ndarray]:
    """Float teacher scores kl, rz, mu2, mse (the VAE's, with its reconstruction target) of events."""
    cfg = trained.config
    x = trained.input_format.to_model_input(particles)
    enc_out, rec = score_fns.predict(
        builders.full_model(trained.float_encoder, trained.float_decoder, cfg, "teacher"), x
    )
    target = reconstruction_target_values(trained.input_format, trained.reconstruction_target, particles)
    return score_fns.model_scores(enc_out, rec, target, slot_mask(particles), cfg)


def student_raw_target(trained: TrainedModels, info: StudentInfo, particles: np.ndarray) -> np.ndarray:
    """log(teacher score + eps) [+ the weighted multiplicity terms] of events (before the mapping)."""
    raw = np.log(teacher_scores(trained, particles)[info.teacher_score] + info.eps)
    if info.density is not None:
        lepton, jet = info.density.terms(particles)
        jet_weight = info.occupancy if info.jet_occupancy is None else info.jet_occupancy
        lepton_weight = 0.0 if info.lepton_term == "exact" else info.occupancy
        raw = raw + lepton_weight * lepton + jet_weight * jet
    return raw


def student_target(trained: TrainedModels, info: StudentInfo, particles: np.ndarray) -> np.ndarray:
    """The student's regression target: the mapped, clipped raw target (float32 (N,1))."""
    raw = student_raw_target(trained, info, particles)
    return np.clip((raw - info.center) / info.scale, -info.clip, info.clip).astype(np.float32)[:, None]


def train_student(
    trained: TrainedModels,
    train: np.ndarray,
    val: np.ndarray,
    train_weights: np.ndarray | None = None,
    progress: bool = True,
) -> None:
    """Train the teacher-student regressor (float, then fold + QAT with pruning) into ``trained``."""
    keras = keras_compat.keras()
    cfg = trained.config
    scfg = builders.student_config(cfg)
    uses_density = cfg.student_occupancy > 0 or cfg.student_jet_occupancy > 0
    density = (
        augment.OccupancyDensity.fit(train, train_weights, lepton_model=cfg.student_lepton_density)
        if uses_density
        else None
    )
    out_max = 2.0**cfg.student_output_integer
    info = StudentInfo(
        cfg.student_target,
        STUDENT_EPS,
        cfg.student_occupancy,
        0.0,
        1.0,
        0.99 * out_max,
        density,
        cfg.student_jet_occupancy,
        cfg.student_lepton_term,
    )
    raw = student_raw_target(trained, info, train)
    info.center = float(np.median(raw))
    spread = float(np.quantile(raw, 1.0 - 1e-4)) - info.center
    info.scale = spread / STUDENT_TOP if spread > 0 else 1.0
    rng = np.random.default_rng(cfg.seed + 2000)

    def data(events: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_aug = int(round(cfg.student_augment * len(events)))
        if n_aug and len(events):
            events = np.concatenate([events, augment.add_objects(events[rng.integers(0, len(events), n_aug)], rng)])
        target = student_target(trained, info, events)
        weights = np.exp(cfg.student_tail * np.clip(target[:, 0], 0.0, None))
        return trained.input_format.to_model_input(events), target, (weights / weights.mean()).astype(np.float32)

    xy_train, xy_val = data(train), data(val)

    def fit(model: Any, optimizer: Any, epochs: int, callbacks: list) -> list[float]:
        """Weighted MSE regression of the mapped target; the per-epoch validation losses."""
        model.compile(optimizer=optimizer, loss="mse", weighted_metrics=[])
        x, y, w = xy_train
        hist = model.fit(
            x, y, sample_weight=w, validation_data=xy_val, epochs=epochs, batch_size=cfg.batch_size, shuffle=True,
            callbacks=callbacks, verbose=0,
        )  # fmt: skip
        return [float(v) for v in hist.history["val_loss"]]

    history: dict[str, list[float]] = {}
    float_student = builders.build_student(cfg, False)
    history["float_student"] = fit(
        float_student,
        adam(cfg.learning_rate, cfg.clipnorm),
        cfg.epochs,
        [_TqdmEpochs.make(cfg.epochs, "float student", progress), *_schedule_callbacks(cfg)],
    )
    student = builders.build_student(cfg, True)
    copy_weights(float_student, student)
    model, callbacks = student, [_TqdmEpochs.make(cfg.quantized_epochs, "QAT student", progress)]
    if scfg.prune > 0:
        from l1ad.models import pruning

        model, _, prune_callbacks = pruning.wrap(student, None, scfg.prune, cfg, n_train=len(xy_train[0]))
        callbacks += prune_callbacks
    history["student"] = fit(model, keras.optimizers.Adam(cfg.quantized_learning_rate), cfg.quantized_epochs, callbacks)
    if scfg.prune > 0:
        from l1ad.models import pruning

        student, _ = pruning.strip(model, None)
    trained.student, trained.float_student, trained.student_info = student, float_student, info
    trained.history["student"] = history


def split_indices(n: int, cfg: ModelConfig) -> dict[str, np.ndarray]:
    """Seeded random split of ``n`` events into train / val / test index arrays (sorted)."""
    perm = np.random.default_rng(cfg.seed).permutation(n)
    n_val, n_test = int(round(n * cfg.val_fraction)), int(round(n * cfg.test_fraction))
    parts = {"val": perm[:n_val], "test": perm[n_val : n_val + n_test], "train": perm[n_val + n_test :]}
    if len(parts["train"]) < 2 or len(parts["val"]) < 1:
        raise ValueError(f"too few events ({n}) for a train/validation split")
    return {k: np.sort(v) for k, v in parts.items()}
