"""The registry behind scores, firmware backends and search methods."""

from __future__ import annotations

import pytest

from l1ad.backends import backend_names, get_backend
from l1ad.registry import Registry


def test_register_get_list_and_refuse_duplicates():
    reg: Registry[int] = Registry("number")
    reg.register("one", 1)
    reg.register_lazy("pi", "math:pi", factory=False)
    assert reg.names() == ("pi", "one") and "pi" in reg and "two" not in reg
    assert reg.get("one") == 1 and reg.get("pi") == pytest.approx(3.14159265)
    with pytest.raises(ValueError, match="a number named 'one' is already registered"):
        reg.register("one", 2)
    with pytest.raises(ValueError, match=r"unknown number 'two' \(registered: pi, one\)"):
        reg.get("two")
    reg.unregister("one")
    assert reg.names() == ("pi",)


def test_builtin_backends_load_on_use():
    assert backend_names()[:2] == ("hls4ml", "rtl")
    assert get_backend("rtl").stage == "rtl_vs_golden" and get_backend("hls4ml").stage == "hls_csim_vs_golden"
