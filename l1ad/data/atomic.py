"""Atomic file output: write to a temporary file beside the target, rename on success.

An interrupted job (exception, Ctrl-C) leaves no partial file and keeps any earlier file at the target.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

__all__ = ["atomic_path", "write_text_atomic"]


class atomic_path:  # noqa: N801 - used like a function: ``with atomic_path(p) as tmp:``
    """Context manager yielding a temporary path; renamed onto ``path`` when the block succeeds."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.unlink(missing_ok=True)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)
        return False


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write a text file atomically and return its path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)
