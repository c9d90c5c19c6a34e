"""Offline analysis: metrics, bump hunts, CWoLa hunting, QUAK, density-based (CATHODE-style) search."""

__all__: list[str] = []
