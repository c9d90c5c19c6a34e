"""``l1ad import hls4ml``: projects written by hls4ml 1.3 and 0.8.1 with awkward types and an input-scaling header
import, and the golden model equals each project's own C++ (compiled with g++ against its own generation's
nnet_utils and ap_types) integer for integer; then the RTL. Bad projects are refused naming the file, leaving no
run directory behind.

Default run: small projects (57-10-6-4), a few thousand vectors. ``-m slow``: 57-32-16-8, >= 1e5 raw vectors over
the full raw range, ``l1ad rtl`` at 40 and 200 MHz and ``l1ad verify`` (cocotb on Verilator).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hls4ml_projects import RAW_TYPE, hls4ml08_dir, write_project, write_scaling_header

from l1ad.cli import main
from l1ad.fixed.formats import parse_ap_type
from l1ad.fixed.golden import golden_forward
from l1ad.fixed.model import ActivationLayer, DenseLayer, FixedPointModel
from l1ad.fixed.vectors import corner_codes, random_codes, verification_codes
from l1ad.imports.hls4ml_project import ProjectError, read_project
from l1ad.imports.project_csim import build_project_csim
from l1ad.imports.source import hls4ml_source_model, hls4ml_source_project, load_source
from l1ad.pipeline import open_run
from l1ad.pipeline.verification import source_stage
from l1ad.rtl.trace import trace_model

SCORE_TYPE = "ap_ufixed<18,10>"
NO_08 = "hls4ml 0.8.1 not installed: make hls4ml08 (scripts/install_hls4ml08.sh) puts it in .cache/hls4ml-0.8.1"
needs_08 = pytest.mark.skipif(hls4ml08_dir() is None, reason=NO_08)


def import_project(project: Path, out: Path, header: Path, *extra: str) -> int:
    return main(
        ["import", "hls4ml", str(project), "--out", str(out), "--input-scaling", str(header), "--score", "mu2",
         "--score-type", SCORE_TYPE, *extra]
    )  # fmt: skip


@pytest.fixture(scope="module")
def header(tmp_path_factory) -> Path:
    return write_scaling_header(tmp_path_factory.mktemp("scaling") / "input_scaling.h")


@pytest.fixture(scope="module")
def project13(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("hls13") / "prj", "1.3", "small")


@pytest.fixture(scope="module")
def project08(tmp_path_factory) -> Path:
    if hls4ml08_dir() is None:
        pytest.skip(NO_08)
    return write_project(tmp_path_factory.mktemp("hls08") / "prj", "0.8", "small")


@pytest.fixture(scope="module")
def run13(project13, header, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "awkward13"
    assert import_project(project13, out, header, "--check", "2000") == 0
    return out


def raw_vectors(model, n: int, seed: int = 0) -> np.ndarray:
    """Corner cases, then raw codes uniform over the full raw range and at mixed magnitudes."""
    return np.concatenate([corner_codes(model), random_codes(model, n, seed)])


# ---- what is read ----------------------------------------------------------------------------------------
def test_types_and_layers_are_read_as_declared(run13):
    run = open_run(run13)
    source = load_source(run.dir)
    assert source is not None and source.generation == "1.x" and source.kind == "hls4ml"
    model = hls4ml_source_model(run.dir, source, "mu2")
    assert model.input_format == parse_ap_type("ap_fixed<12,6,AP_RND_CONV,AP_SAT>")
    assert model.raw_format == parse_ap_type(RAW_TYPE) and model.input_scaling is not None
    assert sorted(set(model.input_scaling.shift.tolist()) & {-2, -1, 0, 6}) == [-2, -1, 0, 6]
    d1, r1, d2, d3 = model.layers
    assert isinstance(d1, DenseLayer) and isinstance(r1, ActivationLayer)
    assert d1.accum_format == parse_ap_type("ap_fixed<14,7>") and d1.result_format == parse_ap_type("ap_fixed<10,5>")
    assert d1.output_format == parse_ap_type("ap_fixed<9,4,AP_RND,AP_SAT>") and d1.activation == "linear"
    assert r1.activation == "relu" and r1.output_format == parse_ap_type("ap_ufixed<8,4,AP_RND_CONV,AP_SAT>")
    assert d2.activation == "relu" and d2.result_format == parse_ap_type("ap_fixed<11,5>")
    assert d3.accum_format == parse_ap_type("ap_fixed<13,5,AP_RND,AP_SAT>")
    assert model.latent_format == parse_ap_type("ap_fixed<10,4,AP_RND_CONV,AP_SAT>") and not model.has_logvar
    assert model.score.output_format == parse_ap_type(SCORE_TYPE)
    # the types matter on these vectors: the truncating accumulator differs from exact accumulation
    codes = raw_vectors(model, 2000)
    exact = dataclasses.replace(d1, accum_format=None)
    other = dataclasses.replace(model, layers=[exact, r1, d2, d3])
    assert (golden_forward(other, codes).score != golden_forward(model, codes).score).any()
    config = json.loads(run.dir.config_json.read_text())
    assert config["model"] == "dnn-ae" and config["latent"] == 4 and config["hidden"] == [10, 6]
    assert (run.dir.source_project / "firmware" / "myproject.cpp").is_file()
    assert FixedPointModel.load(run.dir.fixed_dir("mu2")).name == "awkward13"  # the run's name, not a temporary one
    assert run.dir.source_file("input_scaling.h").is_file() and source.check["score"]["mismatched_values"] == 0


def test_golden_equals_the_projects_cpp_and_the_rtl_trace(run13):
    run = open_run(run13)
    model = hls4ml_source_model(run.dir, load_source(run.dir), "mu2")
    codes = raw_vectors(model, 6000, seed=3)
    stage = source_stage(run, "mu2", codes)  # the g++ emulator built at import is reused
    assert stage["ok"] and stage["encoder"]["mismatched_values"] == 0 and stage["score"]["mismatched_values"] == 0
    golden = golden_forward(model, codes)
    assert len(np.unique(golden.score)) > 1000 and (golden.layers[-1] == model.latent_format.max_code).any()
    traced = trace_model(model, with_latent=True).emulate(codes)
    np.testing.assert_array_equal(traced[:, 1:], golden.layers[-1])
    np.testing.assert_array_equal(traced[:, 0], golden.score)


def test_the_cpp_comparison_can_fail(run13):
    """A golden model one declared type away from the project's disagrees with the compiled C++."""
    run = open_run(run13)
    source = load_source(run.dir)
    project = hls4ml_source_project(run.dir, source)
    model = hls4ml_source_model(run.dir, source, "mu2", project=project)
    csim = build_project_csim(model, project, run.dir.source_csim_dir / "mu2")
    codes = raw_vectors(model, 2000, seed=5)
    out = csim.run(codes)
    d1 = model.layers[0]
    assert isinstance(d1, DenseLayer)
    for wrong in (
        dataclasses.replace(model, layers=[dataclasses.replace(d1, result_format=None), *model.layers[1:]]),
        model.with_score("mu2"),  # the exact score instead of the declared type
    ):
        golden = golden_forward(wrong, codes)
        assert (golden.layers[-1] != out.encoder).any() or (golden.score != out.score).any()


@needs_08
def test_hls4ml_08_project_equals_its_own_cpp(project08, header, tmp_path):
    out = tmp_path / "awkward08"
    assert import_project(project08, out, header, "--check", "0") == 0
    run = open_run(out)
    source = load_source(run.dir)
    assert source.generation == "0.x"
    assert "template kernel" not in (run.dir.source_project / "firmware/nnet_utils/nnet_dense.h").read_text()
    model = hls4ml_source_model(run.dir, source, "mu2")
    stage = source_stage(run, "mu2", raw_vectors(model, 4000, seed=8))
    assert stage["ok"] and stage["generation"] == "0.x"


def test_08_and_13_projects_of_one_model_import_to_the_same_fixed_point_model(project08, run13, header, tmp_path):
    """The two generations' projects of one QKeras model describe one trigger: the same integer weights, formats
    and score, hence the same golden model and the same generated RTL (verified once, for either)."""
    out = tmp_path / "awkward08_same"
    assert import_project(project08, out, header, "--check", "0") == 0
    models = []
    for path in (out, run13):
        run = open_run(path)
        models.append(hls4ml_source_model(run.dir, load_source(run.dir), "mu2"))
    described = [{k: v for k, v in m.to_json_dict().items() if k not in ("name", "metadata")} for m in models]
    assert described[0] == described[1]
    arrays = [m.arrays() for m in models]
    assert arrays[0].keys() == arrays[1].keys()
    assert all(np.array_equal(arrays[0][k], arrays[1][k]) for k in arrays[0])


@needs_08
def test_an_08_project_with_13_templates_is_refused(project08, header, tmp_path):
    import hls4ml

    templates = Path(hls4ml.__file__).parent / "templates" / "vivado"
    bare = tmp_path / "bare"
    shutil.copytree(project08 / "firmware", bare / "firmware", ignore=shutil.ignore_patterns("nnet_utils", "ap_types"))
    with pytest.raises(ProjectError, match="output zeros"):
        read_project(bare, templates=templates)
    rc = main(["import", "hls4ml", str(bare), "--out", str(tmp_path / "r"), "--templates", str(templates)])
    assert rc == 1 and not (tmp_path / "r").exists()


# ---- bad input: an error naming the file, no run directory ---------------------------------------------------
def broken_copy(project: Path, tmp_path: Path, edit) -> Path:
    copy = tmp_path / "broken"
    shutil.copytree(project, copy)
    edit(copy / "firmware")
    return copy


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    "case",
    ["unsupported layer", "missing weights", "unparsable type", "short scaling header", "io_stream-like config"],
)
def test_bad_input_names_the_file_and_leaves_nothing(case, project13, header, tmp_path, capsys):
    scaling = header
    if case == "unsupported layer":
        project = broken_copy(
            project13, tmp_path, lambda fw: replace_in(fw / "myproject.cpp", "nnet::relu<", "nnet::sigmoid<")
        )
        expected = ["myproject.cpp", "r1", "sigmoid"]
    elif case == "missing weights":
        project = broken_copy(project13, tmp_path, lambda fw: (fw / "weights" / "w6.h").unlink())
        expected = ["weights/w6.h", "missing"]
    elif case == "unparsable type":
        project = broken_copy(
            project13,
            tmp_path,
            lambda fw: replace_in(fw / "defines.h", "ap_fixed<10,5> layer3_t", "ap_fixed<10,5,AP_RND_ZERO> layer3_t"),
        )
        expected = ["defines.h", "layer3_t", "AP_RND_ZERO"]
    elif case == "short scaling header":
        project = project13
        text = header.read_text().replace("[57]", "[56]")
        scaling = tmp_path / "short.h"
        scaling.write_text(text.replace("ad_offsets[56] = {0, ", "ad_offsets[56] = {", 1))
        expected = ["short.h"]
    else:
        project = broken_copy(
            project13, tmp_path, lambda fw: replace_in(fw / "parameters.h", "nnet::io_parallel", "nnet::io_stream")
        )
        expected = ["parameters.h", "io_stream"]
    out = tmp_path / "runs" / "bad"
    assert import_project(project, out, scaling) == 1
    err = capsys.readouterr().err
    assert all(word in err for word in expected), err
    assert not out.exists()
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())  # no half-written run


def test_scaling_json_and_errors(tmp_path):
    from l1ad.imports.scaling_file import ScalingFileError, read_input_scaling

    good = tmp_path / "s.json"
    good.write_text(json.dumps({"raw_type": "ap_fixed<8,8>", "offsets": [0, 3, -4], "shifts": [1, -2, 0]}))
    stage = read_input_scaling(good, 3)
    assert stage.offset.tolist() == [0, 3, -4] and stage.shift.tolist() == [1, -2, 0]
    assert read_input_scaling(good, 3, "ap_fixed<10,8>").offset.tolist() == [0, 12, -16]  # --raw-type wins
    for content, message in (
        ({"offsets": [0, 1], "shifts": [0, 0, 0], "raw_type": "ap_fixed<8,8>"}, "2 offsets, but the model has 3"),
        ({"offsets": [0.5, 0, 0], "shifts": [0, 0, 0], "raw_type": "ap_fixed<8,8>"}, "not a value of the raw type"),
        ({"offsets": [0, 0, 0], "shifts": [8, 0, 0], "raw_type": "ap_fixed<8,8>"}, r"\|shift\| < 8"),
        ({"offsets": [0, 0, 0], "shifts": [0, 0, 0]}, "raw type is not given"),
    ):
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(content))
        with pytest.raises(ScalingFileError, match=message) as err:
            read_input_scaling(bad, 3)
        assert str(bad) in str(err.value)


# ---- slow: full size, >= 1e5 vectors, RTL at 40 and 200 MHz, verify ----------------------------------------------
def full_chain(project: Path, header: Path, tmp_path: Path) -> dict:
    run_path = tmp_path / "runs" / "awkward"
    assert import_project(project, run_path, header, "--check", "0") == 0
    run = open_run(run_path)
    model = hls4ml_source_model(run.dir, load_source(run.dir), "mu2")
    codes = raw_vectors(model, 100_000, seed=11)
    stage = source_stage(run, "mu2", codes)
    assert len(codes) >= 100_000
    assert stage["encoder"]["mismatched_values"] == 0 and stage["score"]["mismatched_values"] == 0
    figures = {"source": stage}
    out = tmp_path / "rtl-40MHz"
    assert main(["rtl", str(run_path), "--clock", "40MHz", "--out", str(out)]) == 0
    figures["40MHz"] = json.loads(run.dir.rtl_summary_json("mu2").read_text())
    assert figures["40MHz"]["trigger_latency_ns"] > 0 and figures["40MHz"]["resources"]["lut"] > 0
    hls_dir = tmp_path / "hls"
    assert main(["verify", str(run_path), "--events", "10000", "--hls-dir", str(hls_dir)]) == 0  # RTL at 200 MHz
    verify = json.loads(run.dir.verify_json.read_text())
    assert verify["ok"] and verify["total_mismatches"] == 0
    assert {"hls4ml_source_vs_golden[mu2]", "hls_csim_vs_golden[mu2]", "rtl_vs_golden[mu2]"} <= set(verify["stages"])
    figures["200MHz"] = verify["stages"]["rtl_vs_golden[mu2]"]["report"]
    assert figures["200MHz"]["clock_mhz"] == 200.0 and figures["200MHz"]["resources"]["lut"] > 0
    print(f"\n{project.name}: {len(codes)} raw vectors, source {stage.get('generation')}, mismatches 0")  # -s shows
    for clock in ("40MHz", "200MHz"):
        print(f"{clock}: {json.dumps(figures[clock], sort_keys=True)}")
    return figures


@pytest.mark.slow
def test_full_hls4ml_13_project(header, tmp_path):
    full_chain(write_project(tmp_path / "prj", "1.3", "full"), header, tmp_path)


@pytest.mark.slow
@needs_08
def test_full_hls4ml_08_project(header, tmp_path):
    full_chain(write_project(tmp_path / "prj", "0.8", "full"), header, tmp_path)


@pytest.mark.slow
@needs_08
def test_08_configs_compiled_against_13_nnet_utils_output_zeros(project08, header, tmp_path):
    """Why the generation guard exists: bypassed, the 0.8 project's dense layers output zeros under 1.3's nnet_utils."""
    import hls4ml

    project = read_project(project08)
    templates = Path(hls4ml.__file__).parent / "templates" / "vivado"
    mismatched = dataclasses.replace(project, templates=templates)
    model = project.fixed_model("mu2")
    codes = verification_codes(model, 500, seed=2)
    wrong = build_project_csim(model, mismatched, tmp_path / "wrong").run(codes)
    right = build_project_csim(model, project, tmp_path / "right").run(codes)
    golden = golden_forward(model, codes)
    np.testing.assert_array_equal(right.encoder, golden.layers[-1])
    assert (wrong.encoder == 0).all() and (golden.layers[-1] != 0).any()


# ---- l1ad score: the emulator offline, equal to what rates uses ------------------------------------------------
def test_score_equals_the_golden_trigger_rates_uses(run13, tmp_path, capsys):
    from synthetic_events import background

    from l1ad.data.adc2021 import read_particles, write_particles
    from l1ad.fixed.golden import golden_score
    from l1ad.pipeline import trigger
    from l1ad.pipeline.rates import histograms_for

    events = tmp_path / "bkg.h5"
    write_particles(events, background(3000, seed=3), weights=np.linspace(0.5, 1.5, 3000))
    run = open_run(run13)
    scorer = trigger(run)  # the golden trigger `l1ad rates` histograms
    expected = scorer(read_particles(events))
    threshold = int(np.quantile(expected, 0.9))
    out = tmp_path / "scores.npz"
    assert main(["score", str(run13), "--data", str(events), "--out", str(out), "--threshold", str(threshold)]) == 0
    with np.load(out) as z:
        assert z["score_code"].dtype == np.int64 and z["score"].dtype == np.float64
        np.testing.assert_array_equal(z["score_code"], expected)
        np.testing.assert_array_equal(z["score"], scorer.values(expected))
        np.testing.assert_array_equal(z["trigger"], expected > threshold)
        assert 0 < z["trigger"].sum() < len(expected) and str(z["score_format"]) == parse_ap_type(SCORE_TYPE).ap_type()
        assert np.array_equal(z["weights"], np.linspace(0.5, 1.5, 3000))
    hist = histograms_for([events], scorer, None, progress=False).scores
    keys, counts = np.unique(expected, return_counts=True)
    assert np.array_equal(hist.keys, keys) and np.array_equal(hist.counts, counts)
    assert len(keys) > 50
    # l1ad rates on the imported run: its threshold keeps at most the target fraction of the scored events
    assert main(["rates", str(run13), "--data", str(events), "--target-rate", "4MHz", "--quiet", "--no-menu"]) == 0
    rates = json.loads(run.dir.rates_json.read_text())
    threshold_40 = rates["targets"][0]["threshold"]
    weights = np.linspace(0.5, 1.5, 3000)
    assert weights[expected > threshold_40].sum() / weights.sum() <= 4e6 / rates["f_coll_hz"]
    assert rates["score"]["kind"] == "mu2" and (run.dir.report_html).is_file()

    model = scorer.model
    raw = raw_vectors(model, 1500, seed=4)
    np.save(tmp_path / "raw.npy", raw)
    assert main(["score", str(run13), "--raw-codes", str(tmp_path / "raw.npy"), "--out", str(tmp_path / "r.npz")]) == 0
    with np.load(tmp_path / "r.npz") as z:
        np.testing.assert_array_equal(z["score_code"], golden_score(model, raw))
    capsys.readouterr()
    for bad, message in ((raw.astype(np.float32), "integers"), (raw[:, :56], "shape"), (raw + 2**20, "outside")):
        np.save(tmp_path / "bad.npy", bad)
        assert (
            main(["score", str(run13), "--raw-codes", str(tmp_path / "bad.npy"), "--out", str(tmp_path / "b.npz")]) == 1
        )
        err = capsys.readouterr().err
        assert "bad.npy" in err and message in err, err
    assert not (tmp_path / "b.npz").exists()


def one_weights_header(project: Path, out: Path) -> Path:
    """The project rewritten the way hand-maintained emulators ship it: every weight array initialised in one
    ``firmware/weights.h`` (no txt files, no load-from-txt block in the top function)."""
    import re

    shutil.copytree(project, out)
    firmware = out / "firmware"
    arrays = []
    for header in sorted((firmware / "weights").glob("*.h")):
        text = header.read_text()
        arrays.append(re.search(r"#else\s*\n(.*?);\s*#endif", text, re.S).group(1) + ";")
    shutil.rmtree(firmware / "weights")
    (firmware / "weights.h").write_text("#ifndef WEIGHTS_H_\n#define WEIGHTS_H_\n" + "\n".join(arrays) + "\n#endif\n")
    params = firmware / "parameters.h"
    params.write_text(re.sub(r'#include "weights/\w+\.h"\n', "", params.read_text()).replace(
        "// hls-fpga-machine-learning insert weights", '#include "weights.h"'))  # fmt: skip
    top = firmware / "myproject.cpp"
    top.write_text(
        re.sub(r"#ifndef __SYNTHESIS__\n\s*static bool loaded_weights.*?#endif\n", "", top.read_text(), flags=re.S)
    )
    return out


def test_one_weights_header_project_equals_its_cpp(project13, header, tmp_path):
    project = one_weights_header(project13, tmp_path / "single")
    assert "load_weights_from_txt" not in (project / "firmware" / "myproject.cpp").read_text()
    out = tmp_path / "run"
    assert import_project(project, out, header, "--check", "3000") == 0  # g++ on the rewritten project
    source = load_source(open_run(out).dir)
    assert source.check["encoder"]["mismatched_values"] == 0 and source.check["score"]["mismatched_values"] == 0
    assert "firmware/weights.h" in source.sha256


def test_the_score_is_checked_through_the_score_registry():
    """The import's score comes from the registry: a regressor score (``student``) needs a model without logvar,
    a logvar score needs a VAE, and ``--score-type`` is mu2's alone."""
    from l1ad.fixed import scores
    from l1ad.pipeline.importing import ImportFailed, _score_choice

    assert _score_choice(None, True) == "kl" and _score_choice(None, False) == "mu2"
    assert _score_choice("student", False) == "student" and scores.get("student").encoder == "student"
    for args, message in (
        (("student", True), "student is computed by a student model"),
        (("kl", False), "needs logvar"),
        (("kl", True, "ap_ufixed<18,10>"), "no declared type"),
        (("nonesuch", False), "unknown score 'nonesuch'"),
    ):
        with pytest.raises(ImportFailed, match=message):
            _score_choice(*args)


def test_a_count_term_on_an_imported_project_equals_its_cpp(run13, tmp_path):
    """A score with a count term around an imported project (raw codes through its input-scaling stage): the
    compiled harness counts the raw codes as the golden model does."""
    from l1ad.fixed.scores import CountTerm

    run = open_run(run13)
    source = load_source(run.dir)
    project = hls4ml_source_project(run.dir, source)
    model = hls4ml_source_model(run.dir, source, "mu2", project=project)
    inputs = (0, 3, 6, 9)
    codes = raw_vectors(model, 2000, seed=8)
    codes[::2, 3] = 0  # the empty code of input 3 on every other event
    term = CountTerm(inputs, (int(codes[0, 0]), 0, 5, -7), np.array([0, 3, 40, 500, 9000]), name="objects")
    counted = dataclasses.replace(model, score=model.with_score("mu2", count=term).score)
    out = build_project_csim(counted, project, tmp_path / "count").run(codes)
    golden = golden_forward(counted, codes)
    np.testing.assert_array_equal(out.score, golden.score)
    assert len(np.unique(term.counts(codes))) >= 3
