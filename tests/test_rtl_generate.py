"""RTL generation: clock parsing, pipelining per clock, metadata.json, the `l1ad rtl` verb."""

from __future__ import annotations

import json

import pytest

from l1ad.cli import main as l1ad_main
from l1ad.rtl.example import example_model
from l1ad.rtl.generate import GeneratedDesign, generate_rtl, latency_cutoff_for, model_digest, parse_clock


@pytest.mark.parametrize(
    "text,period", [("200MHz", 5.0), ("240 MHz", 1e3 / 240), ("40MHz", 25.0), ("0.2GHz", 5.0), ("5ns", 5.0), (200, 5.0)]
)
def test_parse_clock(text, period):
    assert parse_clock(text) == pytest.approx(period)


@pytest.mark.parametrize("bad", ["fast", "-5MHz", "0MHz", "200 Hz", 0])
def test_parse_clock_rejects(bad):
    with pytest.raises(ValueError, match="clock"):
        parse_clock(bad)


def test_latency_cutoff_for_clocks():
    assert [latency_cutoff_for(parse_clock(c)) for c in ("200MHz", "240MHz", "40MHz")] == [5, 4, 25]


@pytest.fixture(scope="module")
def small():
    return example_model("kl", sizes=(57, 8), sparsity=0.5, seed=3, name="small")


def test_generate_writes_core_and_metadata(small, tmp_path):
    design = generate_rtl(small, tmp_path / "small-kl")
    meta = json.loads((tmp_path / "small-kl" / "metadata.json").read_text())
    info = meta["l1ad"]
    assert meta["latency"] == design.latency == info["core_latency_cycles"] >= 1
    assert info["trigger_latency_cycles"] == design.latency  # the core compares with the threshold itself
    assert info["trigger_latency_ns"] == pytest.approx(5.0 * design.latency)
    assert info["threshold_width"] == info["score_width"]
    assert meta["reg_bits"] > 0 and meta["cost"] > 0
    assert info["model_sha256"] == model_digest(small)
    assert info["score_width"] == small.score.output_format.width
    assert info["core_score_width"] + info["score_shift"] <= info["score_width"]
    names = {p.name for p in design.sources()}
    assert {"l1ad_core.v", "l1ad_core_wrapper.v", "lookup_table.v"} <= names
    assert design.memfiles(), "kl needs its lookup table memfile"
    assert (tmp_path / "small-kl" / "fixed_model" / "model.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left behind


def test_faster_clock_needs_more_stages(small, tmp_path):
    lat = {c: generate_rtl(small, tmp_path / c, clock=c).latency for c in ("40MHz", "200MHz", "240MHz")}
    assert lat["40MHz"] < lat["200MHz"] <= lat["240MHz"]


def test_regenerate_replaces_directory(small, tmp_path):
    out = tmp_path / "d"
    generate_rtl(small, out)
    (out / "stale.txt").write_text("old")
    generate_rtl(small, out, clock="40MHz")
    assert not (out / "stale.txt").exists()
    assert GeneratedDesign.load(out).l1ad["clock_mhz"] == pytest.approx(40.0)


def test_load_rejects_non_design(tmp_path):
    with pytest.raises(FileNotFoundError, match="metadata.json"):
        GeneratedDesign.load(tmp_path)


def test_cli_rtl_from_saved_fixed_model(small, tmp_path, capsys):
    run_dir = tmp_path / "runs" / "demo"
    small.save(run_dir / "fixed" / "kl")
    out = tmp_path / "gen"
    rc = l1ad_main(["rtl", str(run_dir), "--score", "kl", "--clock", "240MHz", "--out", str(out), "--no-resources"])
    assert rc == 0
    assert "cycles" in capsys.readouterr().out
    summary = json.loads((run_dir / "rtl" / "kl" / "rtl.json").read_text())
    assert summary["clock_mhz"] == pytest.approx(240.0)
    assert summary["trigger_latency_cycles"] == GeneratedDesign.load(out).latency


def test_cli_rtl_missing_run(tmp_path, capsys):
    rc = l1ad_main(["rtl", str(tmp_path / "nope"), "--score", "mu2", "--no-resources", "--out", str(tmp_path / "o")])
    assert rc == 1
    assert "no such run directory" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
