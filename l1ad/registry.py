"""A named registry of interchangeable parts (scores, firmware backends, search methods): register, look up,
list. Built-in entries can be registered lazily as ``"module:attribute"`` so that heavy modules load on use."""

from __future__ import annotations

import importlib
from typing import Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries by name, in registration order; ``what`` names the kind in error messages."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, str] = {}

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` as ``name`` (new names only); returns it."""
        self._check_new(name)
        self._entries[name] = entry
        return entry

    def register_lazy(self, name: str, target: str, factory: bool = True) -> None:
        """Add ``name`` as ``"module:attribute"``, imported on first :meth:`get` (called if ``factory``)."""
        self._check_new(name)
        self._lazy[name] = target + ("()" if factory else "")

    def unregister(self, name: str) -> None:
        """Remove ``name`` (e.g. an entry a test added); unknown names are ignored."""
        self._entries.pop(name, None)
        self._lazy.pop(name, None)

    def get(self, name: str) -> T:
        """The entry ``name``; an unknown name raises ``ValueError`` listing the registered ones."""
        if name not in self._entries and name in self._lazy:
            target = self._lazy[name]
            module, attribute = target.removesuffix("()").split(":")
            entry = getattr(importlib.import_module(module), attribute)
            self._entries[name] = entry() if target.endswith("()") else entry
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(f"unknown {self.what} {name!r} (registered: {', '.join(self.names())})") from None

    def names(self) -> tuple[str, ...]:
        """Registered names, in registration order."""
        return tuple(dict.fromkeys([*self._lazy, *self._entries]))

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._lazy

    def _check_new(self, name: str) -> None:
        if name in self:
            raise ValueError(f"a {self.what} named {name!r} is already registered")
