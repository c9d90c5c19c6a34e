"""Random-weight FixedPointModels with the default formats: a stand-in for a trained run (tests, benchmarks).

Default formats are those of ``l1ad.models.config.ModelConfig``: inputs ``ap_fixed<16,6>``, weights
``quantized_bits(8,1)`` = ``ap_fixed<8,2>``, biases ``ap_fixed<12,4>``, hidden ``quantized_relu(8,3)`` =
``ap_ufixed<8,3>``, encoder output ``quantized_bits(16,4)`` = ``ap_fixed<16,5>``; all RND_CONV + SAT.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from l1ad.fixed.formats import FixedFormat
from l1ad.fixed.model import DenseLayer, FixedPointModel, Layer
from l1ad.fixed.scores import make_score

__all__ = ["INPUT_FORMAT", "WEIGHT_FORMAT", "BIAS_FORMAT", "HIDDEN_FORMAT", "LATENT_FORMAT", "example_model"]

INPUT_FORMAT = FixedFormat(16, 6)
WEIGHT_FORMAT = FixedFormat(8, 2)
BIAS_FORMAT = FixedFormat(12, 4)
HIDDEN_FORMAT = FixedFormat(8, 3, signed=False)
LATENT_FORMAT = FixedFormat(16, 5)


def example_model(
    score: str = "mu2",
    sizes: Sequence[int] = (57, 32, 16),
    latent: int = 3,
    seed: int = 0,
    weights: str = "glorot",
    sparsity: float = 0.0,
    name: str | None = None,
    variational: bool = True,
) -> FixedPointModel:
    """A VAE encoder ``sizes[0] -> ... -> 2*latent`` with random integer weights (``variational=False``: an
    encoder with ``latent`` outputs and no logvar, e.g. a teacher-student regressor with ``latent=1``).

    ``weights="glorot"``: N(0, 2/(n_in+n_out)) floats quantized to the weight format (what training gives);
    ``weights="uniform"``: every weight code equally likely (worst case for logic size).
    ``sparsity``: fraction of weights set to zero.
    """
    rng = np.random.default_rng(seed)
    widths = list(sizes) + [2 * latent if variational else latent]
    layers: list[Layer] = []
    for n, (n_in, n_out) in enumerate(pairwise(widths)):
        if weights == "glorot":
            w = WEIGHT_FORMAT.quantize(rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), (n_in, n_out)))
        elif weights == "uniform":
            w = rng.integers(WEIGHT_FORMAT.min_code, WEIGHT_FORMAT.max_code + 1, (n_in, n_out))
        else:
            raise ValueError(f"weights must be 'glorot' or 'uniform', got {weights!r}")
        w[rng.random((n_in, n_out)) < sparsity] = 0
        b = BIAS_FORMAT.quantize(rng.normal(0.0, 0.25, n_out))
        last = n == len(widths) - 2
        layers.append(
            DenseLayer(
                name=f"dense{n}",
                weight=w,
                weight_format=WEIGHT_FORMAT,
                bias=b,
                bias_format=BIAS_FORMAT,
                activation="linear" if last else "relu",
                output_format=LATENT_FORMAT if last else HIDDEN_FORMAT,
            )
        )
    return FixedPointModel(
        name=name or f"example-{score}",
        input_format=INPUT_FORMAT,
        layers=layers,
        latent=latent,
        has_logvar=variational,
        score=make_score(score, latent, LATENT_FORMAT),
    )
