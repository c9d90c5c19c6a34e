"""Shared pieces of the analysis tests."""

from __future__ import annotations

import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def one_thread():
    """The test machine is shared: OpenMP threads of the boosted trees only slow it down."""
    with threadpool_limits(1):
        yield


def light_classifier() -> HistGradientBoostingClassifier:
    """A small, deterministic boosted-tree classifier for fast tests."""
    return HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=15, class_weight="balanced",
                                          early_stopping=True, random_state=0)
