"""Firmware backends: one interface for every form of the trigger built from a :class:`FixedPointModel`.

A backend builds the firmware of a model in a work directory, simulates it on integer input codes (returning
integer codes to compare with the golden model) and reports its latency and resources. ``l1ad verify``
iterates the registered backends; a backend whose tools are missing says why and is skipped.

Built in (imported only when used): ``hls4ml`` (hls4ml project, C-simulation; :mod:`l1ad.hls.backend`) and
``rtl`` (da4ml Verilog + hand-written trigger wrapper, cocotb on Verilator; :mod:`l1ad.rtl.backend`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from l1ad.fixed.model import FixedPointModel
from l1ad.registry import Registry

__all__ = ["Simulation", "FirmwareBackend", "register_backend", "get_backend", "backend_names"]


@dataclass
class Simulation:
    """What a backend's simulation returns, as integer codes of the model's own formats.

    ``score`` (N,) score codes; ``encoder`` (N, n_out) encoder output codes where the backend exposes them;
    ``trigger`` (N,) trigger bits for the per-event ``thresholds`` where the backend computes the decision;
    ``checks`` backend-specific tests (name -> passed) and ``figures`` (e.g. the measured latency).
    """

    score: np.ndarray
    encoder: np.ndarray | None = None
    trigger: np.ndarray | None = None
    thresholds: np.ndarray | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


class FirmwareBackend(ABC):
    """Build, simulate and report one firmware form of a FixedPointModel."""

    #: registry key
    name: ClassVar[str]
    #: name of its stage in ``verify.json`` (``<stage>[<score>]``)
    stage: ClassVar[str]
    #: one line for ``--help`` and reports
    description: ClassVar[str]

    def unavailable(self) -> str | None:
        """Why this backend cannot run here (a missing tool), or None."""
        return None

    @abstractmethod
    def build(self, model: FixedPointModel, workdir: Path, settings: Mapping[str, Any] | None = None) -> Any:
        """Build the firmware of ``model`` in ``workdir``; returns the backend's build handle."""

    @abstractmethod
    def simulate(self, build: Any, codes: np.ndarray) -> Simulation:
        """Run the built firmware on int64 (N, n_inputs) input codes."""

    @abstractmethod
    def report(self, build: Any) -> dict[str, Any]:
        """Latency (``latency_cycles``, ``latency_ns``, where known) and resources of a build."""


_REGISTRY: Registry[FirmwareBackend] = Registry("firmware backend")
_REGISTRY.register_lazy("hls4ml", "l1ad.hls.backend:HLS4MLBackend")  # built-ins: imported on first use
_REGISTRY.register_lazy("rtl", "l1ad.rtl.backend:RTLBackend")


def register_backend(backend: FirmwareBackend) -> FirmwareBackend:
    """Add a backend instance (its ``name`` must be new)."""
    return _REGISTRY.register(backend.name, backend)


def backend_names() -> tuple[str, ...]:
    """Names of the registered backends, in verification order."""
    return _REGISTRY.names()


def get_backend(name: str) -> FirmwareBackend:
    """The backend ``name`` (a built-in one is imported now)."""
    return _REGISTRY.get(name)
