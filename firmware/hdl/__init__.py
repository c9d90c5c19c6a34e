"""Hand-written Verilog, shipped inside the package as ``l1ad.hdl`` (see pyproject.toml, l1ad/shipped.py)."""
