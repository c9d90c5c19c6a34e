"""L1 rate emulation: thresholds (integer score codes) for target rates, signal efficiencies, pure rates.

- :mod:`~l1ad.rates.histogram`: exact weighted histograms of integer codes (chunking-independent sums)
- :mod:`~l1ad.rates.emulate`: rate = f_coll x weighted fraction with score > threshold; thresholds, efficiencies
- :mod:`~l1ad.rates.menu`: a configurable baseline L1 menu, pure rate and efficiency gain of the AD trigger
- :mod:`~l1ad.rates.stream`: chunked (memory-bounded) and Dask histogramming of HDF5 event files
- :mod:`~l1ad.rates.summary`: results as JSON / text table, histograms saved for the report

The score function is a run's :class:`l1ad.trigger.Trigger` (the golden model); :func:`l1ad.pipeline.rates`
runs the whole step on a run directory.
"""

from l1ad.rates.emulate import (
    DEFAULT_COLLISION_HZ,
    DEFAULT_TARGET_RATES_HZ,
    collision_frequency,
    emulate,
    parse_rate,
    rate_at_threshold,
    score_histogram,
    threshold_for_rate,
)
from l1ad.rates.histogram import IntHistogram
from l1ad.rates.menu import BaselineMenu
from l1ad.rates.stream import SampleHistograms, dask_histograms, histogram_events, stream_histograms

__all__ = [
    "DEFAULT_COLLISION_HZ",
    "DEFAULT_TARGET_RATES_HZ",
    "BaselineMenu",
    "IntHistogram",
    "SampleHistograms",
    "collision_frequency",
    "dask_histograms",
    "emulate",
    "histogram_events",
    "parse_rate",
    "rate_at_threshold",
    "score_histogram",
    "stream_histograms",
    "threshold_for_rate",
]
