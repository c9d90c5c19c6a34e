"""The benchmark script end to end on a small synthetic benchmark (references, closure, SIC figures, JSON)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from l1ad.analysis import resonant
from tests.analysis_helpers import one_thread  # noqa: F401

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_analysis" / "run.py"


def _write(path: Path, n_qcd: int, n_sig: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cols = resonant.COLUMNS
    x = np.abs(rng.normal(1, 0.2, (n_qcd + n_sig, len(cols))))
    x[:n_qcd, 0] = 2800 * (1 + rng.pareto(6.0, n_qcd))
    x[n_qcd:, 0] = rng.normal(3500, 100, n_sig)
    x[n_qcd:, 3] = rng.normal(0.3, 0.05, n_sig)  # tau21_j1 of the signal: two-prong
    x[:, 1:3] *= x[:, :1] / 10  # jet masses scale with m_jj
    y = np.concatenate([np.zeros(n_qcd), np.ones(n_sig)]).astype(np.int8)
    with h5py.File(path, "w") as f:
        f.create_dataset("features", data=x)
        f.create_dataset("label", data=y)
        f.attrs["columns"] = json.dumps(list(cols))


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return _load(SCRIPT)


def test_bench_script_references_closure_and_sic(tmp_path, script):
    _write(tmp_path / "bench.h5", 4000, 400, 1)
    _write(tmp_path / "ref.h5", 4000, 0, 2)
    argv = [
        "--benchmark", str(tmp_path / "bench.h5"),
        "--reference", str(tmp_path / "ref.h5"),
        "--inject", "0", "60",
        "--methods", "cwola", "density", "idealized", "supervised",
        "--centres", "3500", "3700", "200",
        "--method-centres", "density=3500:3500:200",
        "--fit-range", "2800", "4600",
        "--density-estimator", "gmm",
        "--n-ensemble", "1",
        "--folds", "3",
        "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    assert script.main(argv) == 0
    result = json.loads((tmp_path / "out" / "bench_analysis.json").read_text())
    rows = {(r["method"], r["n_injected"]): r for r in result["rows"]}
    assert set(rows) == {(m, n) for m in ("cwola", "density", "idealized", "supervised") for n in (0, 60)}
    assert rows[("density", 0)]["closure"]["auc"] < 0.6 and rows[("idealized", 0)]["closure"] is None
    assert rows[("cwola", 0)]["closure"]["auc"] < 0.6  # CWoLa's model, the sidebands: features / m_jj do not vary
    assert rows[("supervised", 60)]["sic_max_true_window"] > 2
    assert rows[("density", 60)]["scan_centres"] == [3500.0] and len(rows[("cwola", 60)]["scan_centres"]) == 2
    assert all(r["wall_s"] > 0 and "z_global" in r for r in result["rows"])
    assert (tmp_path / "out" / "sic_S60.png").is_file()
    assert len(rows[("idealized", 60)]["sic_curve"]["sic"]) == 100
    with pytest.raises(SystemExit):
        script.main([*argv[:2], "--inject", "0", "--methods", "idealized"])  # no --reference
    combine = _load(SCRIPT.with_name("combine.py"))
    assert combine.main([str(tmp_path / "out" / "bench_analysis.json"), "--out", str(tmp_path / "c")]) == 0
    text = (tmp_path / "c" / "bench_table.md").read_text()
    assert "| density | 0 / 60 |" in text and "0.5" in text  # closure AUC of the density model
    assert (tmp_path / "c" / "bench_sic_S60.png").is_file() and not (tmp_path / "c" / "bench_sic_S0.png").exists()


def test_seeds_summary_averages_over_seeds_and_pairs_methods(tmp_path, capsys):
    seeds = _load(SCRIPT.with_name("seeds.py"))

    def row(method: str, z: float, s: int, b: int) -> dict:
        return {"method": method, "n_injected": 610, "z": z, "sic_max_true_window": 10.0,
                "sr_signal_selected": s, "sr_background_selected": b,
                "z_signal_only": z - 1.0, "z_background_only": 1.0}  # fmt: skip

    paths = []
    for seed, (z_a, z_b) in enumerate([(5.0, 4.0), (7.0, 4.0), (6.0, 7.0)], start=1):
        path = tmp_path / f"s{seed}.json"
        path.write_text(json.dumps({"seed": seed, "rows": [row("a", z_a, 200, 400), row("b", z_b, 100, 400)]}))
        paths.append(path)
    assert seeds.main([*map(str, paths), "--compare", "a", "b"]) == 0
    out = capsys.readouterr().out
    assert "| a | 610 | 1,2,3 | 6.00 +- 1.00 (5.00 / 7.00 / 6.00)" in out  # local Z mean +- sd (per seed)
    assert "| 10.00 +- 0.00 (10.00 / 10.00 / 10.00) |" in out  # S/sqrt(B) of a: 200 / sqrt(400)
    assert "| 5.00 +- 0.00 (5.00 / 5.00 / 5.00) |" in out
    assert "| 610 | S/sqrt(B) sel. in SR | +5.00 +- 0.00 | 3 |" in out
    assert "| 610 | local Z | +1.00 +- 1.15 | 3 |" in out  # paired: differences 1, 3, -1
    assert "| 610 | signal-only Z | +1.00 +- 1.15 | 3 |" in out
    assert "| 610 | background-only Z | +0.00 +- 0.00 | 3 |" in out
    assert out.splitlines()[1] == "|---" * 8 + "|"  # one separator per column
    with pytest.raises(SystemExit, match="no runs of 'c'"):
        seeds.main([*map(str, paths), "--compare", "a", "c"])
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"rows": [row("a", 1.0, 1, 1)]}))
    with pytest.raises(SystemExit, match="no seed recorded"):
        seeds.main([str(old)])
