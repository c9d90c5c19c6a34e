#!/usr/bin/env python
"""Physics check of generated samples: multiplicities, lepton filter, acceptance, spectra, mixture.

Generates (or reads, with --inputs) the background mixture and the four signals, then prints
- object multiplicities per sample, the minimum leading-lepton pT (must be > 23 GeV),
- the largest |eta| per object type (must be < 3.0 e/gamma, 2.1 muons, 4.0 jets),
- the background mixture fractions (sigma x filter efficiency from the run) next to the ADC2021 ones,
and writes MET / leading-jet / leading-lepton pT spectra and multiplicity plots (mplhep) to --out.

ADC2021 fractions and where they come from (including what could not be verified): see
l1ad.data.processes.ADC2021_FRACTIONS and ADC2021_SOURCE.

Example: python scripts/physics_check.py --background 2000 --signal 300 --workers 2 --out /tmp/physcheck
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from l1ad.data import adc2021, generate, processes

#: Why each generated background fraction can differ from the ADC2021 one (printed next to the table).
WHY_DIFFERENT = {
    "wlnu": "LO Pythia ffbar -> W (no NNLO K-factor), 13.6 TeV vs 13 TeV, no pile-up",
    "zll": "LO pure Z (no gamma*), m(ll) > 40 GeV, no K-factor; pile-up-free isolation",
    "ttbar": "LO gg/qqbar -> ttbar (no NNLO K-factor); tiny share, large relative error",
    "qcd": "L1 e/gamma here accepts photons: QCD passes through shower photons (ADC2021: Delphes electrons); "
    "HardQCD only (no prompt gamma+jet), pT-hat > 20 GeV, parton pre-filter loss in metadata; "
    "large statistical error (few, weighted events)",
}


def mixture_table(components: dict[str, dict]) -> list[str]:
    """Markdown rows: bookkeeping and mixture fraction per component next to ADC2021, with the reasons."""
    rows = [
        "| component | events | N_eff | sigma_gen [pb] | filter eff. | sigma x eff [pb] | fraction (this run) "
        "| ADC2021 | why different |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in components.items():
        rows.append(
            f"| {name} | {c['events']} | {c['n_effective']:.1f} | {c['sigma_gen_pb']:.4g} | "
            f"{c['filter_efficiency']:.3g} | {c['sigma_filtered_pb']:.4g} | {c['fraction']:.3f} | "
            f"{processes.ADC2021_FRACTIONS[name]:.3f} | {WHY_DIFFERENT[name]} |"
        )
    return rows


def summarise(name: str, parts: np.ndarray, weights: np.ndarray) -> dict:
    pt, eta, cls = parts[..., 0], parts[..., 1], parts[..., 3]
    eg, mu, jet = cls[:, 1:5] == 2, cls[:, 5:9] == 3, cls[:, 9:] == 4
    leading = np.maximum(pt[:, 1:5].max(1), pt[:, 5:9].max(1))
    ordered = all((np.diff(pt[:, r], axis=1) <= 0).all() for r in (slice(1, 5), slice(5, 9), slice(9, 19)))
    return {
        "sample": name,
        "events": len(parts),
        "n_eg": eg.sum(1).mean(),
        "n_mu": mu.sum(1).mean(),
        "n_jet": jet.sum(1).mean(),
        "min_lead_lep_pt": leading.min(),
        "max_eta_eg": np.abs(eta[:, 1:5][eg]).max(initial=0),
        "max_eta_mu": np.abs(eta[:, 5:9][mu]).max(initial=0),
        "max_eta_jet": np.abs(eta[:, 9:][jet]).max(initial=0),
        "pt_ordered": ordered,
        "mean_met": np.average(pt[:, 0], weights=weights),
        "w_max_over_mean": weights.max() / weights.mean(),
    }


def plot(samples: dict[str, tuple[np.ndarray, np.ndarray]], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep as hep

    hep.style.use("CMS")
    written = []
    variables = {
        "met": ("MET [GeV]", lambda p: p[:, 0, 0], np.linspace(0, 200, 41)),
        "leading_jet_pt": ("leading jet pT [GeV]", lambda p: p[:, 9, 0], np.linspace(0, 300, 31)),
        "leading_lepton_pt": (
            "leading e/gamma or muon pT [GeV]",
            lambda p: np.maximum(p[:, 1:5, 0].max(1), p[:, 5:9, 0].max(1)),
            np.linspace(0, 200, 41),
        ),
        "n_jets": ("jet multiplicity", lambda p: (p[:, 9:, 3] > 0).sum(1), np.arange(-0.5, 11.5)),
        "n_leptons": ("e/gamma + muon multiplicity", lambda p: (p[:, 1:9, 3] > 0).sum(1), np.arange(-0.5, 9.5)),
    }
    for key, (label, fn, bins) in variables.items():
        fig, ax = plt.subplots(figsize=(8, 6))
        for name, (parts, w) in samples.items():
            h, edges = np.histogram(fn(parts), bins=bins, weights=w)
            if h.sum() > 0:
                hep.histplot(h / h.sum(), edges, ax=ax, label=name)
        ax.set_xlabel(label)
        ax.set_ylabel("fraction of events")
        ax.set_yscale("log")
        ax.legend(fontsize=12)
        path = out / f"{key}.png"
        fig.savefig(path, dpi=80, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--background", type=int, default=2000, help="background events to generate")
    ap.add_argument("--signal", type=int, default=300, help="events per signal to generate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/tmp/physcheck"))
    ap.add_argument(
        "--inputs",
        type=Path,
        nargs="*",
        default=None,
        help="existing files named <process>.h5 to check instead of generating",
    )
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    if args.inputs:
        files = {p.stem: p for p in args.inputs}
    else:
        files = {}
        for name in (processes.BACKGROUND, *processes.SIGNALS):
            n = args.background if name == processes.BACKGROUND else args.signal
            files[name] = args.out / f"{name}.h5"
            s = generate.generate_to_file(name, n, files[name], seed=args.seed, workers=args.workers)
            print(f"generated {name}: {s.events} events in {s.seconds:.0f} s")

    samples = {name: (adc2021.read_particles(p), adc2021.read_weights(p)) for name, p in files.items()}
    rows = [summarise(name, *sw) for name, sw in samples.items()]
    cols = list(rows[0])
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    ok = all(
        r["min_lead_lep_pt"] > 23
        and r["max_eta_eg"] < 3.0
        and r["max_eta_mu"] < 2.1
        and r["max_eta_jet"] < 4.0
        and r["pt_ordered"]
        for r in rows
    )
    print(f"\nlepton filter, acceptance and ordering checks: {'PASS' if ok else 'FAIL'}")

    if processes.BACKGROUND in files:
        meta = adc2021.read_metadata(files[processes.BACKGROUND])
        print("\n" + "\n".join(mixture_table(meta["components"])))
        print(
            "effective number of background events (weights): "
            f"{meta['n_effective']:.1f} of {len(samples[processes.BACKGROUND][0])}"
        )
        print(f"\nADC2021 fractions: {processes.ADC2021_SOURCE}")
    for path in plot(samples, args.out):
        print(f"wrote {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
