"""How the weight of the exact lepton term changes the student trigger (docs/physics.md).

The regressor of a run with ``student_lepton_term: exact`` does not see the lepton term, so its weight can be
scanned without retraining: score = quantized regressor output + w x -log p(n_e + n_mu) / scale (the table rounded
to the output lsb, as the firmware adds it). Prints AUC and TPR at FPR 1e-3 / 1e-4 per signal and the mean.

    python scripts/bench_physics/lepton_weight_scan.py data/bench/runs/exact_s1 \\
        --background data/bench/bkg_test_s6.h5 data/bench/bkg_test_s7.h5 \\
        --signals data/bench/ato4l_s7.h5 data/bench/lq_btau_s7.h5 data/bench/h0_tautau_s7.h5 \\
        data/bench/hplus_taunu_s7.h5 --weights 0 2 3 4 6
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from l1ad.analysis import metrics
from l1ad.data import adc2021
from l1ad.models.scores import predict
from l1ad.models.store import load_run
from l1ad.models.student_score import output_lsb, trigger_score
from l1ad.models.train import StudentInfo
from l1ad.pipeline.evaluation import read_events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("--background", nargs="+", required=True)
    parser.add_argument("--signals", nargs="+", required=True)
    parser.add_argument("--weights", nargs="+", type=float, default=[0.0, 2.0, 3.0, 4.0, 6.0])
    args = parser.parse_args()
    run = load_run(args.run)
    info = StudentInfo.from_dict(run.student_info)
    if info.lepton_term != "exact":
        raise SystemExit(f"{args.run}: the run regresses its lepton term; the scan needs student_lepton_term exact")
    lsb = output_lsb(run.config)

    def output(events: np.ndarray) -> np.ndarray:
        return predict(run.student, run.input_format.to_model_input(events))[:, 0]

    bkg, bkg_w = read_events(args.background, "background")
    signals = {adc2021.sample_name(p): adc2021.read_particles(p) for p in args.signals}
    raw = {"background": output(bkg), **{name: output(ev) for name, ev in signals.items()}}
    for weight in args.weights:
        scaled = dataclasses.replace(info, occupancy=weight)
        b = trigger_score(raw["background"], scaled, bkg, lsb)
        cells, mean = [], {1e-3: 0.0, 1e-4: 0.0}
        for name, ev in signals.items():
            s = trigger_score(raw[name], scaled, ev, lsb)
            tpr = {f: metrics.tpr_at_fpr(b, s, f, bkg_w)[0] for f in mean}
            mean = {f: mean[f] + tpr[f] / len(signals) for f in mean}
            cells.append(f"{name} {metrics.auc(b, s, bkg_w):.3f}/{100 * tpr[1e-3]:.1f}/{100 * tpr[1e-4]:.2f}")
        print(f"weight {weight:g}: " + " | ".join(cells) + f" | mean {100 * mean[1e-3]:.2f} / {100 * mean[1e-4]:.2f} %")


if __name__ == "__main__":
    main()
