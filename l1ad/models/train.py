"""Training: seeded data split, input format fit, float + quantized (QAT or PTQ) training, optional pruning.

One :class:`AutoencoderTrainer` (a ``keras.Model`` with its own train/test steps) trains any encoder/decoder
pair: AE loss = masked MSE; VAE loss = (1 - beta) * masked SSE + beta * KL (see :mod:`l1ad.models.losses`)
with the reparametrization
``z = mu + exp(logvar / 2) * eps`` (validation uses ``z = mu``). Early stopping on the validation loss
restores the best weights. With ``distill`` > 0, QAT adds ``distill`` x |quantized - float encoder output|^2
(knowledge distillation from the frozen float encoder), so that the firmware scores follow the float ones
event by event; ``distill_tail`` weights each event by exp(distill_tail x teacher score) (normalized over the
batch), so the match is closest in the high-score tail where the trigger threshold lies. Progress is shown with
tqdm. Determinism: ``keras.utils.set_random_seed`` + ``tf.config.experimental.enable_op_determinism`` (same seed,
same data, same machine -> same weights).

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
from l1ad.data.preprocess import InputFormat, slot_mask
from l1ad.models import builders, losses
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
        """Trains ``encoder`` + ``decoder`` with the (beta-V)AE loss; ``y`` = packed [target | mask]."""

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
            **kw: Any,
        ):
            super().__init__(**kw)
            self.encoder, self.decoder = encoder, decoder
            self.latent, self.variational, self.beta = latent, variational, float(beta)
            self.teacher, self.distill, self.distill_tail = teacher, float(distill), float(distill_tail)
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
            per_event = losses.vae_loss(mse * float(N_INPUTS), kl, self.beta) if self.variational else mse
            terms = {"loss": tf.reduce_mean(per_event), "mse": tf.reduce_mean(mse), "kl": tf.reduce_mean(kl)}
            if self.teacher is not None:
                target = self.teacher(x, training=False)
                gap = losses.distillation(enc, target)
                if self.distill_tail > 0:
                    score = losses.teacher_score(target, self.latent, self.variational)
                    gap = gap * losses.tail_weights(score, self.distill_tail)
                terms["distill"] = tf.reduce_mean(gap)
                terms["loss"] = terms["loss"] + self.distill * terms["distill"]
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
) -> tuple[Any, Any, dict[str, list[float]]]:
    """Train an encoder/decoder pair; returns (encoder, decoder, history). ``prune`` > 0: magnitude pruning.

    ``teacher`` (a trained float encoder, kept frozen): adds ``cfg.distill`` x the squared distance of the
    encoder outputs to the teacher's to the loss, so that the quantized scores follow the float ones; each
    event's distance is weighted by ``losses.tail_weights(teacher score, cfg.distill_tail)``.
    """
    keras = keras_compat.keras()
    callbacks: list = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True),
        _TqdmEpochs.make(cfg.epochs, desc, progress),
    ]
    if prune > 0:
        from l1ad.models import pruning

        encoder, decoder, prune_callbacks = pruning.wrap(encoder, decoder, prune, cfg, n_train=len(train[0]))
        callbacks = prune_callbacks + callbacks[1:]  # early stopping would fight the pruning schedule
    if teacher is not None:
        teacher.trainable = False  # its weights stay out of the optimizer
    try:
        trainer = _trainer_class()(
            encoder, decoder, cfg.latent, cfg.variational, cfg.beta, teacher, cfg.distill, cfg.distill_tail
        )
        trainer.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate))
        hist = trainer.fit(
            train[0],
            train[1],
            validation_data=val,
            epochs=cfg.epochs,
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
    channel, so the BN-free quantized layer computes what the float layer + BN computed at inference.
    """
    by_name = {layer.name: layer for layer in src.layers}
    for layer in dst.layers:
        if not layer.weights:
            continue
        if layer.name not in by_name:
            raise ValueError(f"float model has no layer {layer.name!r} to copy into the quantized model")
        weights = by_name[layer.name].get_weights()
        bn = by_name.get(f"{layer.name}_bn")
        if bn is not None:
            weights = fold_batchnorm(weights[0], weights[1], bn)
        layer.set_weights(weights)


def fold_batchnorm(kernel: np.ndarray, bias: np.ndarray, bn: Any) -> list[np.ndarray]:
    """[kernel, bias] of a layer with the following (inference-mode) BatchNormalization folded in."""
    gamma, beta, mean, var = (np.asarray(w, dtype=np.float64) for w in bn.get_weights())
    gain = gamma / np.sqrt(var + bn.epsilon)
    return [(kernel * gain).astype(kernel.dtype), ((bias - mean) * gain + beta).astype(bias.dtype)]


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


def make_xy(fmt: InputFormat, particles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Events -> (model input float32 (N,57), packed [target | mask] (N,114))."""
    x = fmt.to_model_input(particles)
    return x, losses.pack_targets(x, slot_mask(particles))


def train_models(cfg: ModelConfig, train: np.ndarray, val: np.ndarray, progress: bool = True) -> TrainedModels:
    """Fit the input format on ``train`` events, then train the float and the quantized model."""
    fmt = InputFormat.fit(
        adc2021.to_flat(train), width=cfg.input_bits, integer=cfg.input_integer, quantile=cfg.input_quantile
    )
    xy_train, xy_val = make_xy(fmt, train), make_xy(fmt, val)
    history: dict[str, dict[str, list[float]]] = {}
    timings: dict[str, float] = {}
    float_enc = float_dec = None
    float_cfg = dataclasses.replace(cfg, batchnorm=False) if cfg.quantization == "ptq" else cfg
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
                cfg, q_enc, q_dec, xy_train, xy_val, f"prune {cfg.model}", progress, prune=cfg.prune
            )
    else:
        if float_enc is not None and cfg.qat_from_float:  # fine-tune the trained float model, BN folded
            copy_weights(float_enc, q_enc)
            copy_weights(float_dec, q_dec)
        teacher = float_enc if cfg.distill > 0 else None
        q_enc, q_dec, history["quantized"] = fit_pair(
            cfg, q_enc, q_dec, xy_train, xy_val, f"QAT {cfg.model}", progress, prune=cfg.prune, teacher=teacher
        )
    timings["train_quantized_s"] = time.perf_counter() - t0
    return TrainedModels(cfg, fmt, q_enc, q_dec, float_enc, float_dec, history, timings)


def split_indices(n: int, cfg: ModelConfig) -> dict[str, np.ndarray]:
    """Seeded random split of ``n`` events into train / val / test index arrays (sorted)."""
    perm = np.random.default_rng(cfg.seed).permutation(n)
    n_val, n_test = int(round(n * cfg.val_fraction)), int(round(n * cfg.test_fraction))
    parts = {"val": perm[:n_val], "test": perm[n_val : n_val + n_test], "train": perm[n_val + n_test :]}
    if len(parts["train"]) < 2 or len(parts["val"]) < 1:
        raise ValueError(f"too few events ({n}) for a train/validation split")
    return {k: np.sort(v) for k, v in parts.items()}
