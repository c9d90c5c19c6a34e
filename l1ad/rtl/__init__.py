"""l1ad.rtl: trigger firmware from the FixedPointModel with da4ml, and its verification.

- :mod:`l1ad.rtl.trace`     FixedPointModel -> da4ml combinational trace (bit-exact with the golden model)
- :mod:`l1ad.rtl.generate`  pipelining for a clock, Verilog + metadata.json
- :mod:`l1ad.rtl.resources` yosys ``synth_xilinx`` LUT/FF/DSP estimates (VU9P / VU13P percentages)
- :mod:`l1ad.rtl.vectors`   golden expectations for the cocotb testbench (``sim/``)
- :mod:`l1ad.rtl.simulate`  build + run that testbench on Verilator / Icarus (cocotb runner)
- :mod:`l1ad.rtl.backend`   the ``rtl`` firmware backend (build, simulate, report) that ``l1ad verify`` runs
- :mod:`l1ad.rtl.example`   random-weight models with the default formats (tests, benchmarks)
"""

__all__: list[str] = []
