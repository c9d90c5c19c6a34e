"""Bringing triggers made outside l1ad in: hls4ml projects (their C++), input-scaling descriptions, and the
project's own C++ compiled as the reference of an imported run (``l1ad import``; :mod:`l1ad.pipeline.importing`)."""

__all__: list[str] = []
