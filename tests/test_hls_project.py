"""hls4ml projects (encoder + score custom layer): C-simulation == golden model == QKeras, as integers.

Compiling a project takes ~10 s: each project is compiled once per module (module-scoped fixtures).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from synthetic_events import background

from l1ad.data.preprocess import InputFormat
from l1ad.fixed import scores
from l1ad.fixed.extract import extract_fixed_model, qkeras_reference
from l1ad.fixed.golden import golden_forward
from l1ad.fixed.vectors import verification_codes
from l1ad.hls.project import HLSSettings, create_project, to_codes
from l1ad.models.builders import build_quantized_encoder

SCORES = scores.names()


@pytest.fixture(scope="module")
def encoder():
    return build_quantized_encoder(seed=21, random_biases=True)


def saturating_event_codes() -> np.ndarray:
    """Physics-like events with pT blown up x1000, preprocessed: pT codes saturate at the format's maximum."""
    events = background(300, seed=4)
    events[:, :, 0] *= 1000.0
    codes, n_saturated = InputFormat(16, 6, (0,) * 57).to_codes(events, return_saturated=True)
    assert n_saturated > 300
    return codes


@pytest.fixture(scope="module")
def codes(encoder):
    return np.concatenate(
        [verification_codes(extract_fixed_model(encoder, score="mu2"), 3000), saturating_event_codes()]
    )


@pytest.fixture(scope="module", params=SCORES)
def csim_result(request, encoder, codes, tmp_path_factory):
    fixed = extract_fixed_model(encoder, score=request.param)
    project = create_project(encoder, fixed, tmp_path_factory.mktemp(f"hls-{request.param}"))
    return fixed, project, project.csim(codes)


def test_csim_equals_golden_and_qkeras(csim_result, encoder, codes):
    fixed, project, out = csim_result
    golden = golden_forward(fixed, codes)
    assert out.encoder.dtype == np.int64 and out.score.dtype == np.int64
    assert np.array_equal(out.encoder, golden.layers[-1])
    assert np.array_equal(out.score, golden.score)
    assert np.array_equal(qkeras_reference(encoder, fixed, codes), golden.layers[-1])
    # the comparison is not degenerate: scores vary, hidden activations saturate and clip at zero
    assert len(np.unique(golden.score)) > 100
    relu = fixed.layers[0].output_format
    assert (golden.layers[0] == relu.max_code).any() and (golden.layers[0] == 0).any()


def test_project_files_and_precisions(csim_result):
    fixed, project, _ = csim_result
    out = project.output_dir
    assert (out / "build.sh").is_file() and (out / "build_prj.tcl").is_file()
    assert "vitis_hls -f build_prj.tcl" in (out / "build.sh").read_text()
    defines = (out / "firmware" / "defines.h").read_text()
    assert "typedef ap_fixed<16,6,AP_RND_CONV,AP_SAT,0> input_t;" in defines
    assert f"typedef ap_ufixed<{fixed.score.output_format.width},{fixed.score.output_format.integer}" in defines
    assert "ap_ufixed<8,3,AP_RND_CONV,AP_SAT" in defines and "ap_fixed<16,5,AP_RND_CONV,AP_SAT" in defines
    acc = fixed.layers[0].accumulator_format(fixed.input_format)
    assert f"ap_fixed<{acc.width},{acc.integer}>" in defines  # exact accumulator (AP_TRN, AP_WRAP defaults)
    top = (out / "firmware" / "myproject.cpp").read_text()
    assert "nnet::anomaly_score<" in top
    params = (out / "firmware" / "parameters.h").read_text()
    assert f"typedef ap_uint<{fixed.score.output_format.width}> accum_t;" in params
    assert "static accum_t term(data_T mu_v, data_T lv_v)" in params
    assert (out / "firmware" / "nnet_utils" / "nnet_anomaly_score.h").is_file()


def test_predict_score_only(csim_result, codes):
    fixed, project, out = csim_result
    assert np.array_equal(project.predict(codes[:200]), out.score[:200])


def test_csim_rejects_bad_codes(csim_result):
    fixed, project, _ = csim_result
    with pytest.raises(ValueError, match="outside"):
        project.predict(np.full((1, 57), fixed.input_format.max_code + 1, dtype=np.int64))
    with pytest.raises(ValueError, match="integers of shape"):
        project.predict(np.zeros((1, 57), dtype=np.float32))


def test_to_codes_rejects_inexact_values():
    from l1ad.fixed.formats import FixedFormat

    fmt = FixedFormat(8, 3)
    assert np.array_equal(to_codes(np.array([0.25, -1.0]), fmt, "x"), [8, -32])
    with pytest.raises(ValueError, match="exact multiples"):
        to_codes(np.array([0.25 + 2**-9]), fmt, "x")


RANDOM_ARCHITECTURES = {
    "w4-latent8-kl": (
        dict(
            hidden=(16,),
            latent=8,
            weight_bits=4,
            weight_integer=0,
            bias_bits=6,
            bias_integer=1,
            act_bits=6,
            act_integer=2,
        ),
        "kl",
        False,
    ),
    "w12-latent3-rz": (
        dict(
            hidden=(20, 10),
            latent=3,
            weight_bits=12,
            weight_integer=1,
            bias_bits=12,
            bias_integer=3,
            act_bits=10,
            act_integer=3,
            output_bits=12,
            output_integer=3,
        ),
        "rz",
        False,
    ),
    "w6-latent8-mu2": (
        dict(
            hidden=(24, 12),
            latent=8,
            weight_bits=6,
            weight_integer=1,
            bias_bits=8,
            bias_integer=2,
            act_bits=8,
            act_integer=3,
        ),
        "mu2",
        True,
    ),
    "w8-latent3-kl": (
        dict(
            hidden=(32, 16),
            latent=3,
            weight_bits=8,
            weight_integer=1,
            bias_bits=10,
            bias_integer=2,
            act_bits=6,
            act_integer=2,
            output_bits=14,
            output_integer=3,
        ),
        "kl",
        True,
    ),
}


@pytest.mark.parametrize(
    "name", [pytest.param(k, marks=pytest.mark.slow) if v[2] else k for k, v in RANDOM_ARCHITECTURES.items()]
)
def test_random_architectures_golden_qkeras_csim(name, tmp_path):
    arch, score, _ = RANDOM_ARCHITECTURES[name]
    encoder = build_quantized_encoder(seed=len(name), random_biases=True, **arch)
    fixed = extract_fixed_model(encoder, score=score)
    codes = verification_codes(fixed, 1500, seed=3)
    golden = golden_forward(fixed, codes)
    assert np.array_equal(qkeras_reference(encoder, fixed, codes), golden.layers[-1])
    out = create_project(encoder, fixed, tmp_path / name).csim(codes)
    assert np.array_equal(out.encoder, golden.layers[-1])
    assert np.array_equal(out.score, golden.score)


@pytest.mark.parametrize(
    "backend,part",
    [("Vivado", "xcvu9p-flga2104-2L-e"), ("Vitis", "xcvu13p-flga2577-2-e"), ("Vivado", "xc7vx690tffg1927-2")],
)
def test_project_generation_backends_and_parts(encoder, tmp_path, backend, part):
    fixed = extract_fixed_model(encoder, score="kl")
    settings = HLSSettings(backend=backend, part=part, clock_period=4.0)
    project = create_project(encoder, fixed, tmp_path / "prj", settings)
    tcl = (tmp_path / "prj" / "project.tcl").read_text()
    assert part in tcl and re.search(r"clock_period\s+4", tcl)
    tool = "vivado_hls" if backend == "Vivado" else "vitis_hls"
    assert f"{tool} -f build_prj.tcl" in (tmp_path / "prj" / "build.sh").read_text()
    assert "nnet::anomaly_score<" in (tmp_path / "prj" / "firmware" / "myproject.cpp").read_text()
    assert project.settings.part == part


def test_build_without_hls_tool_says_so(encoder, tmp_path, monkeypatch):
    fixed = extract_fixed_model(encoder, score="mu2")
    project = create_project(encoder, fixed, tmp_path / "prj")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match="vitis_hls is not on PATH"):
        project.build()


def test_settings_validation():
    with pytest.raises(ValueError, match="backend"):
        HLSSettings(backend="Quartus")
    with pytest.raises(ValueError, match="clock period"):
        HLSSettings(clock_period=0)


@pytest.mark.slow
@pytest.mark.parametrize("score", SCORES)
def test_csim_equals_golden_1e5_vectors(encoder, tmp_path, score):
    fixed = extract_fixed_model(encoder, score=score)
    codes = verification_codes(fixed, 100_000, seed=7)
    golden = golden_forward(fixed, codes)
    out = create_project(encoder, fixed, tmp_path / score).csim(codes)
    assert np.array_equal(out.encoder, golden.layers[-1])
    assert np.array_equal(out.score, golden.score)
    assert np.array_equal(qkeras_reference(encoder, fixed, codes), golden.layers[-1])


def test_declared_types_input_scaling_and_typed_score_csim_equals_golden(tmp_path):
    """The hls4ml backend carries every declared type (accumulators, result types, activation layers), the input
    scaling layer and the typed mu2 score into C++: C-simulation equals the golden model on raw codes."""
    from declared_models import awkward_model

    from l1ad.backends import get_backend

    model = awkward_model(1)
    codes = verification_codes(model, 3000, seed=5)
    backend = get_backend("hls4ml")
    build = backend.build(model, tmp_path / "prj", {})
    sim = backend.simulate(build, codes)
    golden = golden_forward(model, codes)
    np.testing.assert_array_equal(sim.encoder, golden.layers[-1])
    np.testing.assert_array_equal(sim.score, golden.score)
    defines = (tmp_path / "prj" / "firmware" / "defines.h").read_text()
    assert "typedef ap_fixed<14,7> dense1_accum_t;" in defines and "typedef ap_fixed<16,13> input_t;" in defines
    top = (tmp_path / "prj" / "firmware" / "myproject.cpp").read_text()
    assert "nnet::input_scaling<input_t" in top and "// dense1_linear_act" in top
