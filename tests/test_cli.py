"""The `l1ad` command line: every verb answers --help; verbs without a module say so and exit non-zero."""

from __future__ import annotations

import subprocess
import sys

import pytest

from l1ad import cli


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
