"""l1ad.rtl: trigger firmware from the FixedPointModel with da4ml, and its verification.

- :mod:`l1ad.rtl.trace`     FixedPointModel -> da4ml combinational trace (bit-exact with the golden model)
- :mod:`l1ad.rtl.generate`  pipelining for a clock, Verilog + metadata.json (``firmware/generated/...``)
- :mod:`l1ad.rtl.resources` yosys ``synth_xilinx`` LUT/FF/DSP estimates (VU9P / VU13P percentages)
- :mod:`l1ad.rtl.vectors`   golden expectations for the cocotb testbench (``sim/``)
- :mod:`l1ad.rtl.simulate`  build + run that testbench on Verilator / Icarus (cocotb runner)
- :mod:`l1ad.rtl.verify`    ``rtl_check``: generate + simulate + summarize (used by ``l1ad verify``)
- :mod:`l1ad.rtl.example`   random-weight models with the default formats (tests, benchmarks)
"""
