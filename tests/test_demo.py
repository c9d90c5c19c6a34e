"""The end-to-end demo: its summary lines, its sizes, and (slow) a tiny run of every stage."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from l1ad.demo import QUICK, SIGNAL_LABELS, DemoSizes, headline


def test_quick_sizes_cover_every_signal_and_limit_the_slow_one():
    sizes = QUICK.signal_events
    assert set(sizes) == set(SIGNAL_LABELS)
    assert sizes["hplus_taunu"] == QUICK.n_hplus < QUICK.n_signal == sizes["ato4l"]
    assert DemoSizes(10, 10, 5, 1, 10).signal_events["hplus_taunu"] == 5  # n_hplus 0: same as the others


def test_headline_reports_thresholds_efficiencies_and_bit_exactness(tmp_path):
    (tmp_path / "rates.json").write_text(
        json.dumps(
            {
                "targets": [
                    {
                        "target_hz": 1000.0,
                        "threshold": 1234,
                        "rate_hz": 950.0,
                        "signals": {"ato4l": {"efficiency": 0.125}, "lq_btau": {"efficiency": 0.5}},
                    }
                ]
            }
        )
    )
    (tmp_path / "verify.json").write_text(
        json.dumps(
            {
                "vectors": 2000,
                "stages": {
                    "qkeras_vs_golden": {"encoder": {"mismatched_values": 0}},
                    "hls_csim_vs_golden[kl]": {"encoder": {"mismatched_values": 0}, "score": {"mismatched_values": 3}},
                    "rtl_vs_golden[kl]": {"ok": True, "mismatches": 0, "latency_cycles": 8, "latency_ns": 40.0},
                },
            }
        )
    )
    lines = headline(tmp_path)
    assert lines[0] == "1 kHz: threshold code 1234 (rate 0.95 kHz); signal efficiency: ato4l 12.5%, lq_btau 50%"
    assert "qkeras_vs_golden: bit-exact on 2000 vectors" in lines
    assert "hls_csim_vs_golden[kl]: 3 mismatches, ok=None on 2000 vectors" in lines
    assert "rtl_vs_golden[kl]: bit-exact on 2000 vectors, latency 8 cycles = 40.0 ns" in lines


def test_headline_without_outputs_is_empty(tmp_path):
    assert headline(tmp_path) == []


@pytest.mark.slow
def test_tiny_demo_runs_every_stage(tmp_path):
    script = textwrap.dedent(f"""
        from l1ad.demo import DemoSizes, run_demo
        if __name__ == "__main__":
            sizes = DemoSizes(300, 300, 40, 1, 200, n_hplus=20,
                              background_shares=(("wlnu", 0.8), ("zll", 0.15), ("ttbar", 0.05)))
            results = run_demo({str(tmp_path / "run")!r}, sizes=sizes, workers=2)
            bad = [k for k, r in results.items() if k != "summary" and r["status"] != "done"]
            raise SystemExit(1 if bad else 0)
    """)
    (tmp_path / "tiny_demo.py").write_text(script)
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "tiny_demo.py")], cwd=tmp_path, capture_output=True, text=True, timeout=3000
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    verify = json.loads((tmp_path / "run" / "verify.json").read_text())
    assert verify["total_mismatches"] == 0 and verify["ok"]
    assert (tmp_path / "run" / "report.html").is_file()
    assert json.loads((tmp_path / "run" / "evaluation.json").read_text())["scores"]  # the evaluate stage
    assert "threshold code" in proc.stdout and "trigger score student AUC" in proc.stdout
