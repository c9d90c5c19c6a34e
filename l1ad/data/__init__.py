"""Event input: ADC2021-layout files, generation, preprocessing."""

__all__: list[str] = []
