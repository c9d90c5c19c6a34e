"""ModelConfig: every setting of a training run (architecture, quantization, training), JSON/YAML round trip."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from l1ad.models.augment import LEPTON_MODELS

MODEL_KINDS = ("dnn-vae", "dnn-ae", "cnn-vae", "cnn-ae")
QUANTIZATION_MODES = ("qat", "ptq")
TARGETS = ("standardized", "input")
REDUCTIONS = ("mean", "sum")
STUDENT_TARGETS = ("kl", "rz", "mu2", "mse")
LEPTON_TERMS = ("exact", "regressed")


@dataclasses.dataclass
class ModelConfig:
    """Settings of one model + its training. Defaults: the AD@L1 DNN VAE recipe (57 -> 32 -> 16 -> 3), carried
    into a quantized encoder, plus a trigger-sized teacher-student regressor (the default trigger score).

    Quantization (QKeras convention: ``integer`` bits exclude the sign for ``quantized_bits``):
    weights ``quantized_bits(weight_bits, weight_integer, alpha=1)``, biases
    ``quantized_bits(bias_bits, bias_integer, alpha=1)``, hidden activations
    ``quantized_relu(act_bits, act_integer)``, encoder output ``quantized_bits(output_bits, output_integer,
    alpha=1)`` (mu and logvar in [-2**output_integer, 2**output_integer)), input ``ap_fixed<input_bits,
    input_integer>`` (integer INCLUDING sign, see :mod:`l1ad.data.preprocess`).

    The float VAE follows the published AD@L1 recipe: batch normalization of the inputs (``input_batchnorm``;
    with ``input_standardize`` the standardization itself is folded into the firmware input format, offsets =
    background means, power-of-two shifts = background standard deviations, so that a rarely filled slot maps
    to a large code), Dense -> BN -> LeakyReLU(0.3) blocks, a reconstruction target with per-slot standardized pT
    (``target: standardized``; empty slots stay 0) and raw eta / phi with tanh-bounded decoder outputs
    (``bounded_outputs``), loss (1 - beta) x masked MSE (mean over the 57 inputs) + beta x KL (mean over the
    latent dimensions) (``reduction: mean``) with beta = 0.8, Adam with gradient-norm clipping (``clipnorm``:
    without it some seeds diverge on the first epoch), learning-rate decay on plateaus and early stopping.

    The quantized VAE encoder (kl / rz / mu2) is fine-tuned quantization-aware from the float model (batch
    normalizations folded) and distilled: ``distill`` x |quantized - float encoder output|^2 on the background
    and on ``distill_augment`` x as many augmented background events (objects added to empty slots,
    :mod:`l1ad.models.augment`), plus ``score_distill`` x the squared difference of log kl, log rz and log mu2.
    Without the augmented events pruning and 4-bit weights cut the inputs that the background never fills, and
    the quantized encoder stops seeing exactly the events the float model finds most anomalous. Its default
    quantization (4-bit weights, 50 % pruning, 8-bit activations, 12-bit latent) keeps the quantized kl / rz
    AUC near 0.9 (75 % pruning: 0.7-0.8) but needs 30 ns (kl, mu2) / 35 ns (rz) at 200 MHz, ~1 % of a VU9P.

    The teacher-student trigger (``student``): a quantized 57 -> ``student_hidden`` -> 1 network trained to
    regress the float VAE's ``log(student_target score)`` + ``student_jet_occupancy`` x the background's
    -log p(n_jet), plus ``student_occupancy`` x the background's lepton density -log p(n_e + n_mu)
    (:class:`l1ad.models.augment.OccupancyDensity`: the per-feature VAE does not see two electrons + two muons
    as rare, the multiplicity density does). ``student_lepton_term: exact`` (default) leaves the lepton term out
    of the regression: the firmware counts the leptons and adds the term from a 9-entry table
    (:mod:`l1ad.fixed.scores.count`), which the small regressor could not learn (measured in docs/physics.md:
    ato4l at FPR 1e-4 33-35 % instead of 20-26 %); ``regressed`` puts it in the target (``student_lepton_density:
    pattern`` then uses the (n_e, n_mu) pattern). The target is mapped linearly so that
    the background median is 0 and its 1 - 1e-4 quantile is 5 (the output saturates at 8, beyond every
    background event of the training set), on the background and ``student_augment`` x as many augmented
    events. Its single output, plus the exact lepton term, is the trigger score. It has its own quantization
    (``student_*``; hidden activations ``quantized_relu(student_act_bits, student_act_integer)``, output
    ``quantized_bits(student_output_bits, student_output_integer)``): 4-bit weights, 50 % pruning and 8-bit
    activations follow the float student (ato4l 41.6 % vs 46.3 % at FPR 1e-3) in 25 ns and 6.7k LUT at
    200 MHz; 75 % pruning and 6-bit activations (3.1k LUT) lose a fifth of it. With the exact lepton term,
    ``student_occupancy`` 4 keeps 33.0-34.9 % of ato4l at FPR 1e-4 on 200k test events (three teachers), 3 keeps
    27.3-29.8 % and 6 33.0-36.0 % (docs/physics.md).
    """

    model: str = "dnn-vae"
    hidden: tuple[int, ...] = (32, 16)  # DNN encoder widths (decoder mirrors them)
    conv_filters: tuple[int, ...] = (16, 32)  # CNN encoder filters (Conv -> pool -> Conv -> flatten)
    latent: int = 3
    activation: str = "leaky_relu"  # float model hidden activation: relu | leaky_relu (quantized: relu)
    batchnorm: bool = True  # float model only; the quantized model has no BN (contract)
    input_batchnorm: bool = True  # float DNN: BN on the inputs, folded into the first quantized layer
    # input format
    input_bits: int = 10
    input_integer: int = 3
    input_quantile: float = 0.99
    input_standardize: bool = True  # offsets / shifts = background mean / std (BN folded into the format)
    # reconstruction target and loss
    target: str = "standardized"  # standardized: per-slot pT standardization, raw eta/phi | input: the input codes
    bounded_outputs: bool = True  # decoder eta 3.0/2.1/4.0 x tanh (e/gamma, mu, jet), phi pi x tanh
    reduction: str = "mean"  # mean: MSE mean over 57 + KL mean over latent | sum: SSE + KL sum
    # quantization of the VAE / AE encoder
    weight_bits: int = 4
    weight_integer: int = 1
    first_layer_weight_bits: int | None = None  # the encoder's first layer (57 inputs); None: weight_bits
    bias_bits: int = 12
    bias_integer: int = 3
    act_bits: int = 8
    act_integer: int = 3
    output_bits: int = 12
    output_integer: int = 4
    quantization: str = "qat"  # qat: train quantized model | ptq: quantize the float weights
    prune: float = 0.5  # target sparsity of magnitude pruning (0 = off)
    qat_from_float: bool = True  # QAT starts from the trained float model (BN folded)
    distill: float = 10.0  # QAT loss += distill x |quantized - float output|^2 (not PTQ)
    distill_tail: float = 0.0  # distillation event weights ~ exp(distill_tail x float score)
    distill_augment: float = 1.0  # augmented events (x training events) in the QAT distillation
    score_distill: float = 1.0  # QAT loss += score_distill x sum over kl, rz, mu2 of (log q - log f)^2
    qat_epochs: int | None = 30  # QAT epochs, at most epochs (None: epochs)
    qat_learning_rate: float | None = 3e-4  # QAT learning rate (None: learning_rate)
    # teacher-student regressor (the default trigger score)
    student: bool = True  # DNN VAE with a float model only (ignored otherwise)
    student_hidden: tuple[int, ...] = (32, 16)
    student_target: str = "kl"  # float teacher score regressed (log): kl | rz | mu2 | mse
    student_occupancy: float = 4.0  # x -log p(leptons): the lepton term of the score
    student_jet_occupancy: float = 2.0  # + this x -log p(n_jet) in the target
    student_lepton_density: str = "count"  # lepton term: total lepton count ("count") | (n_e, n_mu) "pattern"
    student_lepton_term: str = "exact"  # "exact": firmware adds the lepton term by table | "regressed": in target
    student_augment: float = 1.0  # augmented events (x training events) in the student's training set
    student_tail: float = 0.0  # regression event weights ~ exp(student_tail x max(target, 0))
    student_weight_bits: int = 4
    student_prune: float = 0.5
    student_act_bits: int = 8
    student_act_integer: int = 2
    student_output_bits: int = 10
    student_output_integer: int = 3
    # training
    beta: float = 0.8  # VAE loss = (1 - beta) * reconstruction + beta * KL
    epochs: int = 100
    batch_size: int = 1024
    learning_rate: float = 1e-3
    clipnorm: float = 1.0  # Adam gradient-norm clipping (0 = off)
    lr_plateau: bool = True  # halve the learning rate when the validation loss stalls for 4 epochs
    patience: int = 10
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    max_events: int | None = None
    train_float: bool = True
    seed: int = 1

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        self.student_hidden = tuple(int(h) for h in self.student_hidden)
        self.conv_filters = tuple(int(f) for f in self.conv_filters)
        if self.model not in MODEL_KINDS:
            raise ValueError(f"model must be one of {MODEL_KINDS}, got {self.model!r}")
        if self.quantization not in QUANTIZATION_MODES:
            raise ValueError(f"quantization must be one of {QUANTIZATION_MODES}, got {self.quantization!r}")
        if self.activation not in ("relu", "leaky_relu"):
            raise ValueError(f"activation must be relu or leaky_relu, got {self.activation!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {self.target!r}")
        if self.reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {self.reduction!r}")
        if self.bounded_outputs and self.target != "standardized":
            raise ValueError("bounded_outputs (tanh-bounded eta/phi) needs target: standardized (raw eta/phi)")
        if not self.hidden or min(self.hidden) < 1 or self.latent < 1:
            raise ValueError(f"hidden widths and latent must be >= 1, got hidden={self.hidden} latent={self.latent}")
        if not self.student_hidden or min(self.student_hidden) < 1:
            raise ValueError(f"student_hidden widths must be >= 1, got {self.student_hidden}")
        if len(self.conv_filters) != 2 or min(self.conv_filters) < 1:
            raise ValueError(f"conv_filters must be two positive numbers, got {self.conv_filters}")
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {self.beta}")
        for name in ("distill", "distill_augment", "score_distill", "clipnorm", "student_augment", "student_tail"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.distill_tail <= 100.0:
            raise ValueError(f"distill_tail must be in [0, 100], got {self.distill_tail}")
        if (self.distill > 0 or self.score_distill > 0) and self.quantization == "qat" and not self.train_float:
            raise ValueError(
                "distill / score_distill > 0 need the trained float encoder as teacher: set train_float true or "
                "distill and score_distill 0"
            )
        if self.student_target not in STUDENT_TARGETS:
            raise ValueError(f"student_target must be one of {STUDENT_TARGETS}, got {self.student_target!r}")
        for name in ("student_occupancy", "student_jet_occupancy"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.student_lepton_density not in LEPTON_MODELS:
            raise ValueError(
                f"student_lepton_density must be one of {LEPTON_MODELS}, got {self.student_lepton_density!r}"
            )
        if self.student_lepton_term not in LEPTON_TERMS:
            raise ValueError(f"student_lepton_term must be one of {LEPTON_TERMS}, got {self.student_lepton_term!r}")
        if self.student_lepton_term == "exact" and self.student_lepton_density != "count":
            raise ValueError(
                "student_lepton_term 'exact' adds a table of the lepton count: it needs student_lepton_density "
                f"'count', got {self.student_lepton_density!r}"
            )
        for name in ("prune", "student_prune"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} (target sparsity) must be in [0, 1), got {getattr(self, name)}")
        for name in (
            "weight_bits",
            "first_layer_weight_bits",
            "bias_bits",
            "act_bits",
            "output_bits",
            "input_bits",
            "student_weight_bits",
            "student_act_bits",
            "student_output_bits",
        ):
            if getattr(self, name) is not None and not 2 <= getattr(self, name) <= 32:
                raise ValueError(f"{name} must be in [2, 32], got {getattr(self, name)}")
        if not (
            0 < self.val_fraction < 1 and 0 <= self.test_fraction < 1 and self.val_fraction + self.test_fraction < 1
        ):
            raise ValueError("val_fraction and test_fraction must be fractions summing to less than 1")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 0:
            raise ValueError("epochs and batch_size must be >= 1, patience >= 0")
        if self.qat_epochs is not None and self.qat_epochs < 1:
            raise ValueError(f"qat_epochs must be >= 1 (or null: epochs), got {self.qat_epochs}")
        if self.qat_learning_rate is not None and not self.qat_learning_rate > 0:
            raise ValueError(f"qat_learning_rate must be > 0 (or null), got {self.qat_learning_rate}")

    @property
    def trains_student(self) -> bool:
        """The teacher-student regressor is trained for a DNN VAE with a float teacher (``student`` is ignored
        for the other models)."""
        return self.student and self.model == "dnn-vae" and self.train_float

    @property
    def quantized_epochs(self) -> int:
        """Epochs of the quantization-aware fine-tuning: ``qat_epochs``, at most ``epochs`` (None: ``epochs``)."""
        return self.epochs if self.qat_epochs is None else min(self.qat_epochs, self.epochs)

    @property
    def quantized_learning_rate(self) -> float:
        return self.learning_rate if self.qat_learning_rate is None else self.qat_learning_rate

    @property
    def variational(self) -> bool:
        return self.model.endswith("-vae")

    @property
    def convolutional(self) -> bool:
        return self.model.startswith("cnn-")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden"], d["conv_filters"] = list(self.hidden), list(self.conv_filters)
        d["student_hidden"] = list(self.student_hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {unknown} (known: {sorted(known)})")
        if "student_lepton_term" not in d and "student" in d and "student_occupancy" in d:
            # a run saved before these settings existed: its lepton pattern density was regressed, and its jet
            # term weighed as much as the lepton term
            older = {"student_lepton_density": "pattern", "student_jet_occupancy": d["student_occupancy"]}
            d = {**older, **d, "student_lepton_term": "regressed"}
        elif d.get("student_lepton_density") == "pattern" and "student_lepton_term" not in d:
            d = {**d, "student_lepton_term": "regressed"}  # the pattern density can only be regressed
        return cls(**d)

    def updated(self, **changes: Any) -> ModelConfig:
        """A copy with the non-None ``changes`` applied (CLI overrides)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def load(cls, path: str | os.PathLike) -> ModelConfig:
        """Read a YAML (or JSON) config file."""
        import yaml

        path = Path(path)
        try:
            d = yaml.safe_load(path.read_text()) or {}
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{path}: no such config file") from exc
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(d, dict):
            raise ValueError(f"{path}: config must be a mapping of settings")
        return cls.from_dict(d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"
