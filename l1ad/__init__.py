"""l1ad: real-time anomaly detection for the Level-1 trigger.

Flow: events -> preprocess -> model -> (golden | hls | rtl) -> scores -> rates / analysis.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
