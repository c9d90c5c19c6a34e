"""The physics benchmark: baselines by hand, working points that refuse what the statistics cannot resolve,
the supervised bound, and `l1ad evaluate` end to end on a tiny trained run (with its bad-input messages)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from synthetic_events import background, signal

from l1ad import cli
from l1ad.analysis import baselines, evaluation
from l1ad.data import adc2021
from l1ad.pipeline import open_run, trigger


def one_event() -> np.ndarray:
    ev = np.zeros((1, 19, 4), dtype=np.float32)
    ev[0, 0] = (40.0, 0.0, 1.0, 1)  # MET
    ev[0, 1] = (30.0, 0.5, 0.1, 2)  # e/gamma
    ev[0, 5] = (25.0, -1.0, 2.0, 3)  # muons
    ev[0, 6] = (10.0, 1.0, -2.0, 3)
    ev[0, 9] = (100.0, 2.0, 0.3, 4)  # jets
    ev[0, 10] = (50.0, -3.0, 0.2, 4)
    return ev


def test_baselines_by_hand():
    got = baselines.baseline_scores(one_event())
    assert {k: float(v[0]) for k, v in got.items()} == {
        "n_leptons": 3.0,
        "lepton_pt_sum": 65.0,
        "ht": 150.0,
        "met": 40.0,
        "n_objects": 5.0,
        "leading_pt": 100.0,
    }
    assert list(baselines.BASELINES) == list(got)


def test_working_point_reports_what_the_background_can_resolve():
    rng = np.random.default_rng(0)
    bkg, sig = rng.normal(0, 1, 2000), rng.normal(2, 1, 500)
    wp = evaluation.working_point(bkg, np.ones(2000), sig, np.ones(500), 1e-2)
    assert wp["bkg_passing"] == 20 and wp["fpr_achieved"] == pytest.approx(0.01)
    assert 0 < wp["tpr"] < 1 and wp["tpr_err"] == pytest.approx(np.sqrt(wp["tpr"] * (1 - wp["tpr"]) / 500))
    skipped = evaluation.working_point(bkg, np.ones(2000), sig, np.ones(500), 1e-3)
    assert "needs >= 10000 background events" in skipped["skipped"] and "2000" in skipped["skipped"]


def test_mean_over_seeds_and_best_baseline():
    def table(auc: float, tpr: float, err: float, passing: int) -> dict:
        return {"x": {"s": {"auc": auc, "fpr": {"0.01": {"tpr": tpr, "tpr_err": err, "bkg_passing": passing}}}}}

    mean = evaluation.mean_over_seeds([table(0.6, 0.1, 0.02, 19), table(0.8, 0.3, 0.04, 20)])["x"]
    assert mean["s"]["auc"] == pytest.approx(0.7) and mean["s"]["auc_sem"] == pytest.approx(0.1)
    assert mean["s"]["tpr@0.01_binomial"] == pytest.approx(0.03) and mean["s"]["bkg_passing@0.01"] == 19.5
    assert mean["mean_over_signals"]["tpr@0.01"] == pytest.approx(0.2)
    text = evaluation.format_table({"x": mean}, ["s"], [0.01])
    assert "| x | 20 ± 10 [3] % | 20 % |" in text  # TPR: mean ± seed s.e. [binomial], in %; mean over signals
    assert "| x | 20 |" in text  # background events above the threshold (19.5 rounds to even)
    summary = {"a": {"mean_over_signals": {"auc": 0.7}}, "b": {"mean_over_signals": {"auc": 0.9}}}
    assert evaluation.best_baseline(summary, ["a", "b"], "auc") == "b"


def test_supervised_bound_separates_a_separable_signal():
    bkg_train, bkg_test = adc2021.to_flat(background(1500, 1)), adc2021.to_flat(background(1500, 2))
    res = evaluation.supervised_bound(bkg_train, bkg_test, np.ones(1500), adc2021.to_flat(signal(600, 3)), [1e-2])
    assert res["folds"] == 2 and res["auc"] > 0.9 and res["tpr@0.01"] > 0.2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("evaluate")
    train = adc2021.write_particles(d / "train.h5", background(600, seed=0))
    test = adc2021.write_particles(d / "test.h5", background(1500, seed=5))
    sig = adc2021.write_particles(d / "Ato4l.h5", signal(300, seed=6))
    run = d / "run"
    argv = ["train", "--data", str(train), "--out", str(run), "--epochs", "1", "--hidden", "8", "--no-progress"]
    assert cli.main(argv) == 0
    return d, run, test, sig


def test_evaluate_end_to_end(tiny, capsys):
    d, run, test, sig = tiny
    out = d / "bench"
    argv = ["evaluate", str(run), "--background", str(test), "--signals", str(sig), "--out", str(out)]
    assert cli.main([*argv, "--fpr", "1e-2", "1e-3"]) == 0
    printed = capsys.readouterr().out
    assert "FPR 0.001 needs >= 10000 background events" in printed and "best baseline" in printed
    result = json.loads((out / "evaluation.json").read_text())
    scores = result["scores"]
    assert {"kl (quantized)", "rz (quantized)", "mu2 (quantized)", "mse (float)", "n_leptons", "supervised BDT"} <= set(
        scores
    )
    assert scores["kl (quantized)"]["Ato4l"]["tpr@0.01"] is not None
    assert scores["kl (quantized)"]["Ato4l"]["tpr@0.001"] is None
    assert result["best_baseline"]["auc"] in baselines.BASELINES
    # the quantized/float ratio comes with the signal events the float score keeps
    n_sig = result["signals"]["Ato4l"]["events"]
    kept = result["quantized_over_float_events"]["kl"]["Ato4l"]["tpr@0.01"]
    assert kept == pytest.approx(scores["kl (float)"]["Ato4l"]["tpr@0.01"] * n_sig)
    assert "(n = signal events the float score keeps" in printed
    interval = result["quantized_over_float_interval"]["kl"]["Ato4l"]["tpr@0.01"]
    if kept >= result["ratio_min_events"]:  # resolved: an interval around the ratio
        assert interval[0] <= interval[1]
    else:
        assert interval is None
    assert (out / "evaluation.md").read_text().startswith("**AUC**")
    assert json.loads((run / "evaluation.json").read_text())["scores"]["kl (quantized)"]["Ato4l"]["auc"] > 0
    # the quantized score is the golden trigger's value
    events = adc2021.read_particles(sig)
    trig = trigger_values(run, events)
    from l1ad.pipeline.evaluation import model_scores

    got = model_scores(open_run(run), events, ["kl"])["kl (quantized)"]
    np.testing.assert_array_equal(got, trig)


def trigger_values(run, events):
    from l1ad.pipeline import convert

    convert(open_run(run), "kl", n_vectors=0)
    t = trigger(open_run(run), "kl")
    return t.values(t(events))


def test_evaluate_bad_inputs(tiny, tmp_path, capsys):
    d, run, test, sig = tiny
    base = ["evaluate", str(run), "--out", str(tmp_path / "o"), "--no-supervised"]
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.create_dataset("Particles", shape=(0, 19, 4), dtype="f4")
    assert cli.main([*base, "--background", str(test), "--signals", str(empty)]) == 1
    assert "empty.h5" in capsys.readouterr().err
    wrong = tmp_path / "wrong.h5"
    with h5py.File(wrong, "w") as f:
        f.create_dataset("Particles", data=np.zeros((5, 18, 4), dtype="f4"))
    assert cli.main([*base, "--background", str(test), "--signals", str(wrong)]) == 1
    err = capsys.readouterr().err
    assert "wrong.h5" in err and "(5, 18, 4)" in err
    assert cli.main([*base, "--background", str(tmp_path / "nope.h5"), "--signals", str(sig)]) == 1
    assert "nope.h5" in capsys.readouterr().err


def test_report_shows_the_benchmark(tiny):
    from l1ad.pipeline import report

    d, run, test, sig = tiny
    if not (run / "evaluation.json").is_file():
        argv = ["evaluate", str(run), "--background", str(test), "--signals", str(sig), "--out", str(d / "b2")]
        assert cli.main([*argv, "--fpr", "1e-2", "--no-supervised"]) == 0
    page = report(open_run(run)).read_text()
    assert "Physics benchmark" in page and "n_leptons" in page and "kl (quantized)" in page


def test_ratio_interval_only_where_the_float_score_keeps_enough_signal():
    from l1ad.analysis import evaluation as ev
    from l1ad.pipeline import evaluation as pe

    rng = np.random.default_rng(5)
    b = rng.normal(0, 1, 20_000)
    big, small = rng.normal(3, 1, 5_000), rng.normal(3, 1, 50)
    noisy = b + rng.normal(0, 0.3, b.size)
    bkg = ev.Sample({"kl (float)": b, "kl (quantized)": noisy}, np.ones(b.size))
    sigs = {
        "big": ev.Sample({"kl (float)": big, "kl (quantized)": big + rng.normal(0, 0.3, big.size)}, np.ones(big.size)),
        "small": ev.Sample({"kl (float)": small, "kl (quantized)": small}, np.ones(small.size)),
    }
    out = pe._ratio_intervals(bkg, sigs, ["kl"], [1e-2, 1e-5])
    lo, hi = out["kl"]["big"]["tpr@0.01"]
    assert 0.5 < lo < hi < 1.5  # resolved: ~1,500 float-selected events
    assert "tpr@0.01" not in out["kl"]["small"]  # ~20 events: not resolved
    assert "tpr@1e-05" not in out["kl"]["big"]  # the background cannot resolve the FPR
    assert pe._mean_interval([[0.9, 1.0], [0.8, 1.2]]) == pytest.approx([0.85, 1.1])
    assert pe._mean_interval([[0.9, 1.0], None]) is None
