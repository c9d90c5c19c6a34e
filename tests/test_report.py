"""The report renders from a synthetic run directory: PNGs exist and are referenced; verify.json is rendered."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from synthetic_events import background, signal

from l1ad.rates.menu import BaselineMenu
from l1ad.rates.stream import SampleHistograms, histogram_events
from l1ad.rates.summary import load_histograms, save_histograms, summarize
from l1ad.report.html import render_value, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MENU = BaselineMenu()


def sum_pt_score(particles: np.ndarray) -> np.ndarray:
    return np.floor(particles[..., 0].sum(axis=1, dtype=np.float64)).astype(np.int64)


def make_run(path, with_verify: bool = True):
    path.mkdir()
    bkg, sig = background(2000, seed=31), signal(400, seed=32)
    samples: dict[str, SampleHistograms] = {
        "background": histogram_events(bkg, sum_pt_score, None, MENU),
        "Ato4l": histogram_events(sig, sum_pt_score, None, MENU),
    }
    summary = summarize(samples["background"], {"Ato4l": samples["Ato4l"]}, [1e3, 1e5], menu=MENU, score_lsb=0.5)
    summary.update(score={"kind": "kl", "lsb": 0.5}, histograms="rates_histograms.npz")
    (path / "rates.json").write_text(json.dumps(summary))
    save_histograms(path / "rates_histograms.npz", samples)
    (path / "config.json").write_text(json.dumps({"model": "dnn-vae", "latent": 3}))
    (path / "scores").mkdir()
    rng = np.random.default_rng(0)
    np.savez(path / "scores" / "background.npz", quantized_kl=rng.exponential(1, 500), weights=np.ones(500))
    np.savez(path / "scores" / "Ato4l.npz", quantized_kl=rng.exponential(3, 300), weights=np.ones(300))
    if with_verify:
        (path / "verify.json").write_text(
            json.dumps(
                {
                    "vectors": 2000,
                    "stages": [
                        {"stage": "qkeras", "mismatches": 0},
                        {"stage": "hls_csim", "mismatches": 0},
                        {"stage": "rtl_cocotb", "mismatches": 3},
                    ],
                    "rtl": {"latency_cycles": 7, "bit_exact": False, "resources": {"LUT": 41600, "DSP": 3}},
                }
            )
        )
    return path


def test_report_renders_figures_tables_and_verification(tmp_path):
    run = make_run(tmp_path / "toy", with_verify=True)
    report = write_report(run)
    assert report == run / "report.html"
    text = report.read_text()
    sources = re.findall(r'<img src="([^"]+)"', text)
    expected = {
        "score_distributions",
        "rate_vs_threshold",
        "roc_curves",
        "efficiency_vs_rate",
        "offline_score_distributions",
        "offline_roc_curves",
    }
    assert {p.split("/")[-1].removesuffix(".png") for p in sources} == expected
    for src in sources:
        assert (run / src).read_bytes()[:8] == PNG_MAGIC
    assert "Verification summary" in text
    assert "hls_csim" in text and "rtl_cocotb" in text and "latency_cycles" in text and "41600" in text
    assert re.search(r'class="bad">3<', text)  # the RTL mismatches are flagged
    assert re.search(r'class="ok">0<', text)  # the others pass
    rates = json.loads((run / "rates.json").read_text())
    for t in rates["targets"]:
        assert f"<td>{t['threshold']}</td>" in text  # threshold codes in the table
    assert "Baseline menu" in text and "Ato4l" in text
    assert not list(run.glob(".*tmp*")) and not list((run / "report_files").glob(".*tmp*"))


def test_report_without_verify_json_has_no_verification_section(tmp_path):
    run = tmp_path / "toy"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "dnn-vae"}))
    text = write_report(run).read_text()
    assert "Verification summary" not in text and "<img" not in text
    assert "Run configuration" in text and "dnn-vae" in text


def test_report_of_an_empty_and_a_missing_run_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "Nothing to report" in write_report(tmp_path / "empty").read_text()
    with pytest.raises(FileNotFoundError, match="no such run directory"):
        write_report(tmp_path / "missing")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "verify.json").write_text("{not json")
    with pytest.raises(ValueError, match="verify.json: not valid JSON"):
        write_report(tmp_path / "broken")


def test_saved_histograms_round_trip(tmp_path):
    h = histogram_events(background(300, seed=5), sum_pt_score)
    save_histograms(tmp_path / "h.npz", {"background": h})
    loaded = load_histograms(tmp_path / "h.npz")["background"]
    np.testing.assert_array_equal(loaded["codes"], h.scores.keys)
    np.testing.assert_array_equal(loaded["counts"], h.scores.counts)
    assert loaded["sumw"].sum() == 300


def test_render_value_generic_structures():
    html = render_value({"a": {"b": 1.23456789}, "rows": [{"x": 1, "y": "ok"}, {"x": 2}], "list": [1, 2]})
    assert "<th>x</th><th>y</th>" in html and "1.23457" in html and "1, 2" in html
    assert "&lt;script&gt;" in render_value({"k": "<script>"})
