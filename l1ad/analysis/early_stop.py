"""Early stopping for the analysis' hand-written TensorFlow training loops (flow, per-class VAEs)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BestWeights"]


class BestWeights:
    """Tracks the validation loss per epoch and keeps the variables' values at its minimum."""

    def __init__(self, variables: list[Any], patience: int, min_delta: float = 1e-4):
        self.variables, self.patience, self.min_delta = variables, int(patience), float(min_delta)
        self.best, self.waited = np.inf, 0
        self.weights = [v.numpy() for v in variables]

    def should_stop(self, val_loss: float) -> bool:
        """Record one epoch's validation loss; True when ``patience`` epochs passed without improvement."""
        if val_loss < self.best - self.min_delta:
            self.best, self.waited = val_loss, 0
            self.weights = [v.numpy() for v in self.variables]
            return False
        self.waited += 1
        return self.waited >= self.patience

    def restore(self) -> None:
        """Put the best values back into the variables."""
        for var, w in zip(self.variables, self.weights, strict=True):
            var.assign(w)
