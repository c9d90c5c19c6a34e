"""The `l1ad` command line: every verb answers --help; verbs without a module say so and exit non-zero;
TensorFlow's C++ log lines stay hidden unless `l1ad --verbose`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from l1ad import cli, keras_compat
from l1ad.keras_compat import VERBOSE_ENV


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "l1ad.cli", *args], capture_output=True, text=True, timeout=300)


def test_top_level_help_lists_every_verb():
    result = run_cli("--help")
    assert result.returncode == 0
    for verb in ("generate", "train", "convert", "rtl", "verify", "rates", "analyze", "demo"):
        assert verb in result.stdout


@pytest.mark.parametrize("verb", sorted(cli.VERBS))
def test_verb_help(verb):
    result = run_cli(verb, "--help")
    assert result.returncode == 0, result.stderr
    assert verb in result.stdout


def test_no_verb_prints_help_and_fails():
    result = run_cli()
    assert result.returncode == 2
    assert "VERB" in result.stdout


def test_unimplemented_verb_exits_nonzero(monkeypatch, capsys):
    monkeypatch.setitem(cli.VERBS, "frobnicate", "a verb nobody wrote")
    assert cli.main(["frobnicate"]) == 2
    assert "frobnicate: not implemented yet" in capsys.readouterr().err


def test_console_script_is_declared():
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["l1ad"] == "l1ad.cli:main"


# A verb that imports TensorFlow through keras_compat, builds a QKeras model and fits it for one epoch
# (tf.data logs at run time), registered in a subprocess so that `l1ad [--verbose] tfprobe` runs cli.main.
TF_PROBE = textwrap.dedent("""
    import importlib.machinery, sys, types
    import numpy as np
    from l1ad import cli

    def run(args):
        from l1ad import keras_compat
        keras, qk = keras_compat.keras(), keras_compat.qkeras()
        model = keras.Sequential([keras.layers.Input((4,)), qk.QDense(2, kernel_quantizer=qk.quantized_bits(4, 1))])
        model.compile(loss="mse")
        model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=1, verbose=0)
        print("probe done", model.predict(np.zeros((1, 4)), verbose=0).shape, "l1ad from", cli.__file__)
        keras_compat.tensorflow().get_logger().warning("python-level TF warning after import")
        return 0

    name = cli.command_module_name("tfprobe")
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.HELP, module.add_arguments, module.run = "TensorFlow probe", lambda parser: None, run
    sys.modules[name] = module
    cli.VERBS["tfprobe"] = module.HELP
    sys.exit(cli.main(sys.argv[1:]))
""")
REPO = Path(__file__).resolve().parents[1]
ABSL_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]|absl::InitializeLog|cuInit|oneDNN|cuda", re.M)


def run_tf_probe(tmp_path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "tf_probe.py").write_text(TF_PROBE)
    env = {
        k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", VERBOSE_ENV)
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))  # this checkout's l1ad
    return subprocess.run(
        [sys.executable, str(tmp_path / "tf_probe.py"), *args, "tfprobe"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_tensorflow_native_log_lines_are_hidden(tmp_path):
    result = run_tf_probe(tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"probe done (1, 2) l1ad from {REPO}" in result.stdout
    assert not ABSL_LINE.search(result.stdout + result.stderr), result.stderr
    # TF's Python logger, created while its import was filtered, still writes to the real stderr afterwards
    assert "python-level TF warning after import" in result.stderr and "Logging error" not in result.stderr


def test_verbose_shows_tensorflow_native_log_lines(tmp_path):
    result = run_tf_probe(tmp_path, "--verbose")
    assert result.returncode == 0, result.stderr
    assert f"probe done (1, 2) l1ad from {REPO}" in result.stdout
    assert ABSL_LINE.search(result.stderr), result.stderr


def test_native_noise_filter_keeps_what_is_not_tensorflow_noise():
    lines = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        "I0000 00:00:1796017228.897588    9096 port.cc:153] oneDNN custom operations are on.\n",
        "I0000 00:00:1796017330.439808   10373 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\n",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow\n",
        "E0000 00:00:1796017234.084659    9096 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n",
        "E0000 00:00:1796017234.084659    9096 op_kernel.cc:52] a real error\n",
        "F0000 00:00:1796017234.084659    9096 main.cc:1] fatal\n",
    ]
    assert keras_compat.is_native_noise(lines) == [True, True, True, True, True, False, False]
