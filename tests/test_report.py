"""The report renders from a synthetic run directory: PNGs exist and are referenced; verify.json is rendered;
numbers are rounded to ~3 significant digits and units are named in the headers."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from synthetic_events import background, signal

from l1ad.rates.menu import BaselineMenu
from l1ad.rates.stream import SampleHistograms, histogram_events
from l1ad.rates.summary import load_histograms, save_histograms, summarize
from l1ad.report.html import format_number, format_with_error, key_label, render_value, write_report

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
    assert "<th>x</th><th>y</th>" in html and ">1.23<" in html and "1.2345" not in html and "1, 2" in html
    assert "&lt;script&gt;" in render_value({"k": "<script>"})


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (41600, "41600"),  # integers stay integers
        (12345678, "12345678"),
        (3000.0, "3000"),  # integral floats (JSON weight sums) too
        (0.0595024, "0.0595"),
        (84794.4, "84800"),
        (267.588, "268"),
        (1.23456789, "1.23"),
        (0.5, "0.5"),
        (9.996, "10"),
        (-2.5, "-2.5"),
        (0.00012345, "1.23e-4"),
        (1.5e7, "1.5e7"),
        (float("nan"), "nan"),
        (np.float32(0.1), "0.1"),
        (np.int64(7), "7"),
    ],
)
def test_format_number_three_significant_digits(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (493.3, 81.2, "493 ± 81"),
        (5000.0, 241.3, "5000 ± 240"),
        (4547.0, 230.0, "4550 ± 230"),
        (1.25, 0.39, "1.25 ± 0.39"),
        (9.0, 1.0, "9.0 ± 1.0"),
        (0.1234, 0.0996, "0.12 ± 0.10"),
        (0.0, 0.0, "0 ± 0"),
    ],
)
def test_format_with_error_rounds_to_the_error(value, error, text):
    assert format_with_error(value, error) == text


@pytest.mark.parametrize(
    ("key", "values", "label", "scale"),
    [
        ("seconds", [0.06], "time [s]", 1.0),
        ("train_float_s", [3.2], "train float [s]", 1.0),
        ("events_per_s", [8e4], "events/s", 1.0),
        ("latency_ns", [25], "latency [ns]", 1.0),
        ("latency_cycles", [5], "latency [cycles]", 1.0),
        ("clock_mhz", [200.0], "clock [MHz]", 1.0),
        ("rate_hz", [500.0], "rate [Hz]", 1.0),
        ("rate_hz", [1.2e4, 10.0], "rate [kHz]", 1e-3),
        ("f_coll_hz", [4e7], "f coll [MHz]", 1e-6),
        ("efficiency", [0.25], "efficiency [%]", 100.0),
        ("lut", [7177], "LUT", 1.0),
        ("n_events", [3000], "n_events", 1.0),  # no unit: unchanged
        ("train_s", [{"a": 1}], "train_s", 1.0),  # not a number (e.g. a sample name): unchanged
        ("first_mismatch", [None], "first_mismatch", 1.0),
    ],
)
def test_key_label_names_units(key, values, label, scale):
    assert key_label(key, values) == (label, scale)


def test_report_tables_are_rounded_and_name_their_units(tmp_path):
    run = make_run(tmp_path / "toy", with_verify=True)
    rates = json.loads((run / "rates.json").read_text())
    rates["timing"] = {"seconds": 0.0595024, "events": 4300, "events_per_s": 84794.4, "backend": "in-process stream"}
    (run / "rates.json").write_text(json.dumps(rates))
    verify = json.loads((run / "verify.json").read_text())
    verify["rtl"].update(latency_ns=25.0, clock_mhz=200.0, efficiency=0.123456, resources={"lut": 7177, "dsp": 3})
    (run / "verify.json").write_text(json.dumps(verify))
    text = write_report(run).read_text()
    assert '<td class="k" title="seconds">time [s]</td><td class="">0.0595</td>' in text
    assert "0.0595024" not in text and "84794" not in text
    assert '>events/s</td><td class="">84800<' in text
    assert ">4300<" in text  # an integer stays an integer
    assert '>latency [ns]</td><td class="">25<' in text and '>latency [cycles]</td><td class="">7<' in text
    assert '>clock [MHz]</td><td class="">200<' in text and '>efficiency [%]</td><td class="">12.3<' in text
    assert '>LUT</td><td class="">7177<' in text and '>DSP</td><td class="">3<' in text
    # rates table: values with errors rounded to the error's precision, no exponent notation
    rows = re.findall(r"<td>([^<]*± [^<]*)</td>", text)
    assert rows and all(re.fullmatch(r"-?\d+(\.\d+)? ± \d+(\.\d+)?", r) for r in rows), rows
    assert "e+" not in text
