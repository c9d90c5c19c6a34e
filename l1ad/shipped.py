"""Where the non-Python files shipped inside l1ad are: the cocotb testbench and the hand-written Verilog.

The source tree keeps them in ``sim/`` and ``firmware/hdl/``; ``pyproject.toml`` maps those folders to the
packages ``l1ad.sim`` and ``l1ad.hdl`` (``[tool.setuptools.package-dir]``), so an editable install and an
installed wheel both find them through :mod:`importlib.resources`. This module is the only place that knows
where they live.

One exception: when ``l1ad`` itself is imported from a source checkout (``pyproject.toml`` next to the
``l1ad/`` folder) whose mapped packages resolve elsewhere or not at all (the checkout is on ``sys.path``
but the environment's install points to another checkout, or to none), the checkout's own folders are used,
so a checkout always runs its own testbench and wrapper.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = [
    "TESTBENCH_PACKAGE",
    "HDL_PACKAGE",
    "SOURCE_FOLDERS",
    "TESTBENCH_MODULE",
    "WRAPPER_HDL",
    "source_tree",
    "package_dir",
    "shipped_file",
    "testbench_dir",
    "wrapper_hdl",
]

TESTBENCH_PACKAGE = "l1ad.sim"
HDL_PACKAGE = "l1ad.hdl"
#: Folder of each shipped package in the source tree (as in pyproject.toml's package-dir).
SOURCE_FOLDERS = {TESTBENCH_PACKAGE: "sim", HDL_PACKAGE: "firmware/hdl"}
#: cocotb test module of ``l1ad_trigger`` (imported by name inside the simulator).
TESTBENCH_MODULE = "test_trigger"
#: Hand-written top level around a generated core.
WRAPPER_HDL = "l1ad_trigger.v"


def source_tree() -> Path | None:
    """The source checkout ``l1ad`` is imported from, or None (an installed wheel)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def _installed_dir(package: str) -> Path | None:
    """Folder of ``package`` as the import system finds it; None when it is not importable or not on disk."""
    try:
        ref = files(package)
    except ModuleNotFoundError:
        return None
    return ref.resolve() if isinstance(ref, Path) else None


def package_dir(package: str) -> Path:
    """Folder holding the files of the shipped ``package`` (see the module docstring for the rule)."""
    found = _installed_dir(package)
    tree = source_tree()
    if tree is not None and (found is None or not found.is_relative_to(tree)):
        own = tree / SOURCE_FOLDERS[package]
        if own.is_dir():
            return own
    if found is None:
        raise FileNotFoundError(f"package {package} is not installed with l1ad as files on disk (reinstall l1ad)")
    return found


def shipped_file(package: str, name: str) -> Path:
    """The file ``name`` of the shipped ``package``; FileNotFoundError naming it when it is missing."""
    path = package_dir(package) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: l1ad is installed without {name} (package {package})")
    return path


def testbench_dir() -> Path:
    """Folder of the cocotb test module: it goes on the simulator's ``PYTHONPATH``."""
    return shipped_file(TESTBENCH_PACKAGE, f"{TESTBENCH_MODULE}.py").parent


def wrapper_hdl() -> Path:
    """``l1ad_trigger.v``, the hand-written trigger wrapper (Verilog-2001)."""
    return shipped_file(HDL_PACKAGE, WRAPPER_HDL)
