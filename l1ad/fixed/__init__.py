"""l1ad.fixed"""

__all__: list[str] = []
