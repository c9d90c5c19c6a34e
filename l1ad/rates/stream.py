"""Score HDF5 event files chunk by chunk into histograms of integer score codes (memory bounded).

A score function (events (N, 19, 4) -> int score codes (N,)) is applied to one block of events at a
time; only histograms (size ~ number of distinct codes) are kept. The in-process path streams the files
with :func:`l1ad.data.adc2021.iter_chunks`; the Dask path maps the same block function over (file, event
range) blocks with ``dask.bag`` and reduces the histograms (tree reduction). Histogram sums are exact
(:mod:`l1ad.rates.histogram`), so both paths give identical results for any chunking.

For many files on a cluster, create a ``dask.distributed.Client`` first and pass ``scheduler=None``
(Dask then uses the client); on one machine the local "threads" or "processes" scheduler is used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from l1ad.data.adc2021 import EventFormatError, count_events, iter_chunks, read_particles, read_weights
from l1ad.rates.emulate import ScoreFunction, check_scores, check_weights
from l1ad.rates.histogram import IntHistogram
from l1ad.rates.menu import BaselineMenu

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "SampleHistograms",
    "histogram_events",
    "plan_blocks",
    "stream_histograms",
    "dask_histograms",
]

DEFAULT_CHUNK_SIZE = 100_000
#: Chunk histograms are merged into the running total in batches of this many (bounds memory and cost).
MERGE_EVERY = 16


@dataclass(frozen=True, eq=False)
class SampleHistograms:
    """Everything rate emulation needs from one sample.

    ``scores``: histogram of score codes of all events; with a menu also ``menu_rejected`` (score codes
    of the events the menu rejects) and ``seeds`` (weighted counts per seed, see :mod:`l1ad.rates.menu`).
    """

    scores: IntHistogram
    menu_rejected: IntHistogram | None = None
    seeds: IntHistogram | None = None

    @property
    def n_events(self) -> int:
        return self.scores.n_events

    def merged(self, other: SampleHistograms) -> SampleHistograms:
        return SampleHistograms.merge_all([self, other])

    @staticmethod
    def merge_all(parts: Sequence[SampleHistograms]) -> SampleHistograms:
        """The histograms of the union of all parts (filled all with or all without a menu)."""
        if len({p.menu_rejected is None for p in parts}) > 1:
            raise ValueError("cannot merge histograms filled with and without a menu")

        def merge(field: str) -> IntHistogram | None:
            hists = [getattr(p, field) for p in parts]
            return None if hists[0] is None else IntHistogram.merge_all(hists)

        scores = IntHistogram.merge_all([p.scores for p in parts])
        return SampleHistograms(scores, merge("menu_rejected"), merge("seeds"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SampleHistograms):
            return NotImplemented
        return all(
            (a is None and b is None) or (a is not None and b is not None and a == b)
            for a, b in (
                (self.scores, other.scores),
                (self.menu_rejected, other.menu_rejected),
                (self.seeds, other.seeds),
            )
        )


def histogram_events(
    particles: np.ndarray,
    score_fn: ScoreFunction,
    weights: np.ndarray | None = None,
    menu: BaselineMenu | None = None,
    source: str = "events",
) -> SampleHistograms:
    """Score one block of events (in memory) and histogram the codes (and menu decisions)."""
    n = len(particles)
    w = check_weights(weights, n, source)
    scores = check_scores(score_fn(particles), n, f"{source}: score function output")
    hist = IntHistogram.of(scores, w)
    if menu is None:
        return SampleHistograms(hist)
    decisions = menu.decisions(particles)
    rejected = ~decisions.any(axis=1)
    return SampleHistograms(hist, IntHistogram.of(scores[rejected], w[rejected]), menu.seed_histogram(decisions, w))


def _empty(menu: BaselineMenu | None) -> SampleHistograms:
    e = IntHistogram.empty()
    return SampleHistograms(e) if menu is None else SampleHistograms(e, e, e)


def plan_blocks(paths: Sequence[str | os.PathLike], chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[tuple[str, int, int]]:
    """(file, start, stop) blocks of at most ``chunk_size`` events; an empty file is an error."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not paths:
        raise ValueError("no event files given")
    names = [str(Path(p).resolve()) for p in paths]
    if len(set(names)) != len(names):
        raise ValueError(f"an event file is given more than once: {[str(p) for p in paths]}")
    blocks = []
    for path in paths:
        n = count_events(path)
        if n == 0:
            raise EventFormatError(f"{path}: empty sample (the file holds 0 events)")
        blocks += [(str(path), start, min(start + chunk_size, n)) for start in range(0, n, chunk_size)]
    return blocks


def stream_histograms(
    paths: Sequence[str | os.PathLike],
    score_fn: ScoreFunction,
    menu: BaselineMenu | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = True,
    desc: str | None = None,
) -> SampleHistograms:
    """Histograms of one sample (one or more files) streamed in chunks in this process."""
    blocks = plan_blocks(paths, chunk_size)
    total, pending = _empty(menu), []
    with tqdm(
        total=sum(stop - start for _, start, stop in blocks),
        unit="ev",
        unit_scale=True,
        desc=desc or Path(paths[0]).name,
        disable=not progress,
    ) as bar:
        for path in paths:
            start = 0
            for chunk, weights in iter_chunks(path, chunk_size, with_weights=True):
                source = f"{path} events {start}..{start + len(chunk)}"
                pending.append(histogram_events(chunk, score_fn, weights, menu, source))
                if len(pending) == MERGE_EVERY:  # merge in batches: one regrouping per batch
                    total, pending = SampleHistograms.merge_all([total, *pending]), []
                start += len(chunk)
                bar.update(len(chunk))
    return SampleHistograms.merge_all([total, *pending])


def _histogram_block(
    block: tuple[str, int, int], score_fn: ScoreFunction, menu: BaselineMenu | None
) -> SampleHistograms:
    path, start, stop = block
    particles = read_particles(path, start, stop)
    weights = read_weights(path, start, stop)
    return histogram_events(particles, score_fn, weights, menu, f"{path} events {start}..{stop}")


def _merge_many(parts) -> SampleHistograms:
    return SampleHistograms.merge_all(list(parts))


def dask_histograms(
    paths: Sequence[str | os.PathLike],
    score_fn: ScoreFunction,
    menu: BaselineMenu | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    scheduler: str | None = "threads",
    num_workers: int | None = None,
    progress: bool = False,
) -> SampleHistograms:
    """Same result as :func:`stream_histograms`, computed with ``dask.bag`` over (file, event-range) blocks.

    ``scheduler``: 'threads', 'processes' or 'synchronous' (local), or None for Dask's default / an active
    ``dask.distributed`` client. The score function must be picklable for 'processes' and clusters.
    """
    import dask
    import dask.bag as db

    blocks = plan_blocks(paths, chunk_size)
    bag = db.from_sequence(blocks, npartitions=len(blocks))
    # one regrouping per reduction step (tree of width 8), not pairwise merges of growing histograms
    result = bag.map(_histogram_block, score_fn=score_fn, menu=menu).reduction(_merge_many, _merge_many, split_every=8)
    config = {} if num_workers is None else {"num_workers": num_workers}
    with dask.config.set(config):
        if progress:
            from dask.diagnostics import ProgressBar

            with ProgressBar():
                return result.compute(scheduler=scheduler)
        return result.compute(scheduler=scheduler)
