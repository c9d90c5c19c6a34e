"""Packaging: the cocotb testbench (``sim/``) and the wrapper Verilog (``firmware/hdl/``) ship inside l1ad.

The wheel test builds a wheel of this checkout, installs it (``--no-deps``) into a fresh virtual environment
outside the checkout that sees this environment's dependencies through a ``.pth`` file, then, with the
working directory outside the checkout, trains a tiny run and runs the installed ``l1ad verify`` (QKeras,
hls4ml C-sim and RTL simulation against the golden model) and ``l1ad rtl`` (yosys estimate of core + wrapper).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from synthetic_events import background, signal

from l1ad import shipped
from l1ad.data.adc2021 import write_particles

ROOT = Path(__file__).resolve().parents[1]


def test_package_list_matches_the_source_tree():
    """pyproject lists every package under l1ad/ plus the mapped folders, mapped as l1ad.shipped expects."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "l1ad").rglob("__init__.py")}
    assert sorted(cfg["packages"]) == sorted(on_disk | set(shipped.SOURCE_FOLDERS))
    assert cfg["package-dir"] == shipped.SOURCE_FOLDERS


def test_checkout_finds_its_own_files():
    assert shipped.source_tree() == ROOT
    assert shipped.testbench_dir() == ROOT / "sim"
    assert shipped.wrapper_hdl() == ROOT / "firmware" / "hdl" / "l1ad_trigger.v"


def test_missing_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(shipped, "package_dir", lambda package: tmp_path)
    with pytest.raises(FileNotFoundError, match="l1ad_trigger.v"):
        shipped.wrapper_hdl()
    with pytest.raises(FileNotFoundError, match="test_trigger.py"):
        shipped.testbench_dir()


# ---- wheel ------------------------------------------------------------------------------------------
def copy_sources(dest: Path) -> Path:
    """The checkout's files as git sees them (tracked, and untracked but not ignored) copied to ``dest``.

    Building from a copy leaves no build/ or egg-info in the checkout, and no stale build/lib file can slip
    into the wheel."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout ({exc})")
    for name in filter(None, listing.decode().split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def fresh_venv(path: Path) -> tuple[Path, Path]:
    """A venv without l1ad whose ``.pth`` file lists this environment's site-packages (for the
    dependencies); returns its python and its site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # a plain path entry: .pth files in there (e.g. an editable l1ad's finder) are not processed
    (Path(purelib) / "l1ad-test-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python, Path(purelib)


def run_in(cwd: Path, *cmd: str | Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``cmd`` in ``cwd`` without PYTHONPATH (nothing of the checkout leaks in); fail with its output."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(venv python, its site-packages, a work directory) with the wheel of this checkout installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = copy_sources(tmp / "src")
    run_in(tmp, sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", src, "-w", tmp)
    (wheel,) = tmp.glob("l1ad-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped_files = {
        "l1ad/sim/test_trigger.py",
        "l1ad/hdl/l1ad_trigger.v",
        "l1ad/hls/nnet_anomaly_score.h",
        "l1ad/py.typed",
    }
    assert shipped_files <= set(names)
    assert not [n for n in names if "generated" in n or n.endswith("runner.py")]
    python, purelib = fresh_venv(tmp / "venv")
    run_in(tmp, sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel)
    work = tmp / "work"
    work.mkdir()
    return python, purelib, work


def test_wheel_imports_its_own_files(installed):
    python, purelib, work = installed
    code = "import l1ad, l1ad.shipped as s; print(l1ad.__file__); print(s.testbench_dir()); print(s.wrapper_hdl())"
    for line in run_in(work, python, "-c", code).stdout.split():
        assert Path(line).is_relative_to(purelib / "l1ad"), line


def test_wheel_verifies_rtl(installed):
    """Installed `l1ad train`, `l1ad verify` (RTL stage ran, 0 mismatches) and `l1ad rtl` outside the checkout."""
    python, _, work = installed
    l1ad = python.parent / "l1ad"
    write_particles(work / "bkg.h5", background(400, seed=0))
    write_particles(work / "sig.h5", signal(100, seed=1))
    tiny = ["--epochs", "1", "--hidden", "8", "--latent", "3", "--seed", "3", "--no-progress"]
    run_in(work, l1ad, "train", "--data", "bkg.h5", "--signals", "sig.h5", "--out", "run", *tiny)

    run_in(work, l1ad, "verify", "run", "--score", "mu2", "--events", "200", "--hls-dir", "hls")
    summary = json.loads((work / "run" / "verify.json").read_text())
    assert summary["ok"] and summary["total_mismatches"] == 0
    rtl = summary["stages"]["rtl_vs_golden[mu2]"]
    assert "skipped" not in rtl, rtl
    assert rtl["ok"] and rtl["score"]["mismatched_values"] == 0 and rtl["score"]["vectors"] >= 200
    assert rtl["trigger"]["mismatched_values"] == 0 and all(rtl["checks"].values())
    assert summary["stages"]["hls_csim_vs_golden[mu2]"]["score"]["mismatched_values"] == 0

    run_in(work, l1ad, "rtl", "run", "--score", "mu2", "--out", "fw")
    resources = json.loads((work / "run" / "rtl" / "mu2" / "rtl.json").read_text())["resources"]
    if shutil.which("yosys"):
        assert resources["lut"] > 0 and resources["top"] == "l1ad_trigger"
    else:
        assert "yosys" in resources["skipped"]
