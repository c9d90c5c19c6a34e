"""cocotb testbench of ``l1ad_trigger``, shipped inside the package as ``l1ad.sim`` (see pyproject.toml).

cocotb imports ``test_trigger`` by name, with this folder on the simulator's ``PYTHONPATH``
(:func:`l1ad.shipped.testbench_dir`); the runner that builds and runs it is :mod:`l1ad.rtl.simulate`.
"""
