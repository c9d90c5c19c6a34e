"""Shared pieces of the analysis tests."""

from __future__ import annotations

import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def one_thread():
    """The test machine is shared: OpenMP threads of the boosted trees (and TensorFlow's) only slow it down."""
    from l1ad import keras_compat

    keras_compat.limit_threads(1)  # effective before TensorFlow's runtime starts (the first test)
    with threadpool_limits(1):
        yield


def light_classifier() -> HistGradientBoostingClassifier:
    """A small, deterministic boosted-tree classifier for fast tests."""
    return HistGradientBoostingClassifier(
        max_iter=60, max_leaf_nodes=15, class_weight="balanced", early_stopping=True, random_state=0
    )
