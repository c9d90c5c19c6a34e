"""ModelConfig: every setting of a training run (architecture, quantization, training), JSON/YAML round trip."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

MODEL_KINDS = ("dnn-vae", "dnn-ae", "cnn-vae", "cnn-ae")
QUANTIZATION_MODES = ("qat", "ptq")


@dataclasses.dataclass
class ModelConfig:
    """Settings of one model + its training. Defaults: the published DNN VAE (57 -> 32 -> 16 -> 3).

    Quantization (QKeras convention: ``integer`` bits exclude the sign for ``quantized_bits``):
    weights ``quantized_bits(weight_bits, weight_integer, alpha=1)``, biases
    ``quantized_bits(bias_bits, bias_integer, alpha=1)``, hidden activations
    ``quantized_relu(act_bits, act_integer)``, encoder output ``quantized_bits(output_bits, output_integer,
    alpha=1)`` (mu and logvar in [-2**output_integer, 2**output_integer)), input ``ap_fixed<input_bits,
    input_integer>`` (integer INCLUDING sign, see :mod:`l1ad.data.preprocess`).

    The default quantization is sized for the L1 trigger (README, "RTL"): 10-bit inputs, 4-bit weights,
    6-bit activations, 10-bit latent outputs and 75 % magnitude pruning, trained quantization-aware starting
    from the trained float model. A strong distillation term (weight 100; events weighted towards the float
    model's high-score tail, ``distill_tail``) pulls the quantized encoder outputs onto the float ones: with it
    the quantized TPR at FPR 1e-4 matches the float one for ato4l (README, "Models"; with weight 10 it kept ~2/3),
    not for signals at the threshold (h0_tautau 0.6-0.8), which take ~8-bit unpruned weights (35 ns).
    beta = 0.1 keeps the latent informative (at 0.5 the VAE nearly collapses and its small mu variations vanish
    below the 1/64 latent lsb). With the score compare inside the pipeline this meets 25 ns at 200 MHz and
    < 1 % of a VU9P for mu2.
    """

    model: str = "dnn-vae"
    hidden: tuple[int, ...] = (32, 16)  # DNN encoder widths (decoder mirrors them)
    conv_filters: tuple[int, ...] = (16, 32)  # CNN encoder filters (Conv -> pool -> Conv -> flatten)
    latent: int = 3
    activation: str = "relu"  # float model hidden activation: relu | leaky_relu
    batchnorm: bool = True  # float model only; the quantized model has no BN (contract)
    # quantization
    input_bits: int = 10
    input_integer: int = 3
    input_quantile: float = 0.99
    weight_bits: int = 4
    weight_integer: int = 1
    first_layer_weight_bits: int | None = None  # the encoder's first layer (57 inputs); None: weight_bits
    bias_bits: int = 12
    bias_integer: int = 3
    act_bits: int = 6
    act_integer: int = 2
    output_bits: int = 10
    output_integer: int = 3
    quantization: str = "qat"  # qat: train quantized model | ptq: quantize the float weights
    prune: float = 0.75  # target sparsity of magnitude pruning (0 = off)
    qat_from_float: bool = True  # QAT starts from the trained float model (BN folded)
    distill: float = 100.0  # QAT loss += distill x |quantized - float output|^2 (not PTQ)
    distill_tail: float = 1.0  # distillation event weights ~ exp(distill_tail x float score)
    # training
    beta: float = 0.1  # VAE loss = (1 - beta) * masked SSE + beta * KL
    epochs: int = 60
    batch_size: int = 1024
    learning_rate: float = 1e-3
    patience: int = 5
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    max_events: int | None = None
    train_float: bool = True
    seed: int = 1

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        self.conv_filters = tuple(int(f) for f in self.conv_filters)
        if self.model not in MODEL_KINDS:
            raise ValueError(f"model must be one of {MODEL_KINDS}, got {self.model!r}")
        if self.quantization not in QUANTIZATION_MODES:
            raise ValueError(f"quantization must be one of {QUANTIZATION_MODES}, got {self.quantization!r}")
        if self.activation not in ("relu", "leaky_relu"):
            raise ValueError(f"activation must be relu or leaky_relu, got {self.activation!r}")
        if not self.hidden or min(self.hidden) < 1 or self.latent < 1:
            raise ValueError(f"hidden widths and latent must be >= 1, got hidden={self.hidden} latent={self.latent}")
        if len(self.conv_filters) != 2 or min(self.conv_filters) < 1:
            raise ValueError(f"conv_filters must be two positive numbers, got {self.conv_filters}")
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {self.beta}")
        if not self.distill >= 0.0:
            raise ValueError(f"distill must be >= 0, got {self.distill}")
        if not 0.0 <= self.distill_tail <= 100.0:
            raise ValueError(f"distill_tail must be in [0, 100], got {self.distill_tail}")
        if self.distill > 0 and self.quantization == "qat" and not self.train_float:
            raise ValueError(
                "distill > 0 needs the trained float encoder as teacher: set train_float true or distill 0"
            )
        if not 0.0 <= self.prune < 1.0:
            raise ValueError(f"prune (target sparsity) must be in [0, 1), got {self.prune}")
        for name in ("weight_bits", "first_layer_weight_bits", "bias_bits", "act_bits", "output_bits", "input_bits"):
            if getattr(self, name) is not None and not 2 <= getattr(self, name) <= 32:
                raise ValueError(f"{name} must be in [2, 32], got {getattr(self, name)}")
        if not (
            0 < self.val_fraction < 1 and 0 <= self.test_fraction < 1 and self.val_fraction + self.test_fraction < 1
        ):
            raise ValueError("val_fraction and test_fraction must be fractions summing to less than 1")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 0:
            raise ValueError("epochs and batch_size must be >= 1, patience >= 0")

    @property
    def variational(self) -> bool:
        return self.model.endswith("-vae")

    @property
    def convolutional(self) -> bool:
        return self.model.startswith("cnn-")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden"], d["conv_filters"] = list(self.hidden), list(self.conv_filters)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {unknown} (known: {sorted(known)})")
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
