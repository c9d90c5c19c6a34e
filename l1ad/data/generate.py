"""Generate events with Pythia 8 + L1 object emulation and write ADC2021-layout files.

The request (``n_events`` events *after* the lepton filter) is split into jobs of ``job_size`` kept
events. Job ``j`` seeds Pythia with :func:`job_seed` (seed, process, j) and its smearing generator with
the same number, generates batches of ``BATCH_SIZE`` events (``Pythia.nextBatch``, read as awkward
arrays: no per-particle Python), emulates the L1 objects (:mod:`l1ad.data.l1emu`) and keeps events whose
leading e/gamma or muon has pT > 23 GeV. Jobs run in a process pool and are concatenated in job order,
so the output depends on (seed, settings) only, never on the number of workers.

Single processes stream to the output through ``adc2021.ParticleWriter`` (atomic: an interrupted run
leaves no file). QCD is generated with a mild pT-hat bias and its file carries per-event weights (mean 1).
A process with a ``parton_filter`` (QCD) runs a Pythia UserHooks veto after the showers, before
hadronization: events that cannot pass the lepton filter are dropped cheaply, Pythia lowers its cross section
by the dropped fraction, and the measured loss of the veto is written to the metadata.

The ``background`` mixture generates each SM component with a share of the events
(``BACKGROUND_SHARES``), then weights every event so that the weight of component i is proportional to
sigma_i x filter-efficiency_i (fractions in the metadata), and shuffles the events with the seed. Counts
follow the shares, the physical mixture follows the weights: use the weights.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import math
import multiprocessing
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from l1ad.data import adc2021, l1emu, processes
from l1ad.data.processes import CrossSection

__all__ = [
    "LEPTON_FILTER_PT",
    "DEFAULT_JOB_SIZE",
    "BACKGROUND_SHARES",
    "JobSpec",
    "JobResult",
    "GenerationSummary",
    "job_seed",
    "passes_parton_filter",
    "make_parton_filter_hook",
    "run_job",
    "plan_jobs",
    "background_counts",
    "effective_events",
    "versions",
    "generate_to_file",
]

LEPTON_FILTER_PT = 23.0  # GeV, leading e/gamma or muon (ADC2021 lepton filter)
DEFAULT_JOB_SIZE = 250  # kept events per job
BATCH_SIZE = 100  # events per Pythia.nextBatch call
MAX_SEED = 900_000_000  # Pythia's Random:seed range is [1, 900_000_000]
MAX_TRIED_PER_KEPT = 100_000  # give up when the filter efficiency is below ~1 / this
PILEUP_SETTINGS = ("SoftQCD:nonDiffractive = on",)

#: Share of the events of each component in the ``background`` file (counts; the weights carry the
#: physical fractions). QCD passes the filter rarely (~20 s of CPU per kept, nearly unweighted event), so its
#: share is small.
BACKGROUND_SHARES = {"wlnu": 0.77, "zll": 0.15, "ttbar": 0.06, "qcd": 0.02}


def job_seed(seed: int, process: str, job_index: int) -> int:
    """Pythia seed in [1, 900_000_000] derived from (seed, process, job index)."""
    digest = hashlib.sha256(f"l1ad:{seed}:{process}:{job_index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % MAX_SEED + 1


@dataclass(frozen=True)
class JobSpec:
    """Everything one worker needs to produce ``n_keep`` filtered events of one process."""

    process: str
    job_index: int
    n_keep: int
    pythia_seed: int
    settings: tuple[str, ...]
    weighted: bool
    pileup: float = 0.0
    pileup_settings: tuple[str, ...] = ()
    emu_config: l1emu.L1EmuConfig = l1emu.DEFAULT_CONFIG
    lepton_pt_min: float = LEPTON_FILTER_PT
    batch_size: int = BATCH_SIZE
    sigma_factor: float = 1.0
    parton_filter: processes.PartonFilter | None = None


@dataclass
class JobResult:
    spec: JobSpec
    particles: np.ndarray
    weights: np.ndarray  # raw Pythia event weights (1 for unbiased processes)
    xsec: CrossSection
    seconds: float


@dataclass
class GenerationSummary:
    """What :func:`generate_to_file` did; ``as_dict`` is also stored as the file metadata."""

    process: str
    events: int
    seconds: float
    out: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def filter_efficiency(self) -> float:
        value = self.metadata.get("filter_efficiency")
        return float("nan") if value is None else float(value)

    @property
    def cross_section_pb(self) -> float:
        return float(self.metadata.get("sigma_filtered_pb", float("nan")))

    def as_dict(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "events": self.events,
            "seconds": self.seconds,
            "out": self.out,
            "filter_efficiency": self.filter_efficiency,
            "cross_section_pb": self.cross_section_pb,
            "n_effective": self.metadata.get("n_effective", self.events),
            "events_per_second": self.events / self.seconds if self.seconds > 0 else float("nan"),
        }


# ----------------------------------------------------------------------------------------- Pythia side
def passes_parton_filter(event, parton_filter: processes.PartonFilter) -> bool:
    """Whether a Pythia parton-level ``event`` has a particle selected by ``parton_filter``."""
    ids = parton_filter.abs_ids
    for i in range(event.size()):
        particle = event[i]
        abs_id = particle.idAbs()
        if abs_id in ids and parton_filter.selects(abs_id, particle.pT(), particle.isFinal()):
            return True
    return False


@functools.cache
def _hook_class() -> type:
    """``pythia8mc.UserHooks`` subclass applying a :class:`processes.PartonFilter` (built on first use)."""
    import pythia8mc

    class PartonFilterHook(pythia8mc.UserHooks):
        """Vetoes events that fail the filter after the showers, before hadronization, and books them.

        ``info`` (``Pythia.infoPython()``, set after construction) gives the weight of the current event
        (1 without it). ``vetoed_before_pass[k]`` = (number, weight sum) of the vetoes before passing event k.
        """

        def __init__(self, parton_filter: processes.PartonFilter) -> None:
            pythia8mc.UserHooks.__init__(self)
            self.parton_filter = parton_filter
            self.info = None
            self.n_seen = 0
            self.n_vetoed = 0
            self.w_vetoed = 0.0
            self.vetoed_before_pass: list[tuple[int, float]] = []

        def canVetoPartonLevel(self) -> bool:
            return True

        def doVetoPartonLevel(self, event) -> bool:
            self.n_seen += 1
            if passes_parton_filter(event, self.parton_filter):
                self.vetoed_before_pass.append((self.n_vetoed, self.w_vetoed))
                return False
            self.n_vetoed += 1
            self.w_vetoed += 1.0 if self.info is None else self.info.weight()
            return True

    return PartonFilterHook


def make_parton_filter_hook(parton_filter: processes.PartonFilter):
    """A UserHooks object that applies ``parton_filter`` (pass it to ``Pythia.setUserHooksPtr``)."""
    return _hook_class()(parton_filter)


def _make_pythia(settings: tuple[str, ...], seed: int, parton_filter: processes.PartonFilter | None = None):
    """An initialised Pythia and its parton-filter hook (None without filter; keep it referenced)."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in (*settings, "Random:setSeed = on", f"Random:seed = {seed}"):
        if not pythia.readString(line):
            raise ValueError(f"Pythia rejected the setting {line!r}")
    hook = None if parton_filter is None else make_parton_filter_hook(parton_filter)
    if hook is not None:
        if not pythia.setUserHooksPtr(hook):
            raise RuntimeError("Pythia refused the parton-level filter hook")
        hook.info = pythia.infoPython()
    if not pythia.init():
        raise RuntimeError(f"Pythia initialisation failed for settings {list(settings)}")
    return pythia, hook


def _veto_bookkeeping(hook, n_returned: int) -> tuple[float, int, float]:
    """(sigma factor, vetoes, vetoed weight) that put the vetoed events back into the bookkeeping.

    Pythia lowers sigmaGen by the *unweighted* fraction of vetoed events (wrong with a pT-hat bias), so the
    factor n_seen / n_passed restores the total cross section; the vetoes (and their weights) that came before
    the last of the ``n_returned`` used events are then counted as tried events that failed the filter.
    """
    if hook is None or hook.n_seen == 0:
        return 1.0, 0, 0.0
    scale = hook.n_seen / max(hook.n_seen - hook.n_vetoed, 1)
    if n_returned < 1 or not hook.vetoed_before_pass:
        return scale, hook.n_vetoed, hook.w_vetoed
    n_vetoed, w_vetoed = hook.vetoed_before_pass[min(n_returned, len(hook.vetoed_before_pass)) - 1]
    return scale, n_vetoed, w_vetoed


def _final_state_arrays(batch) -> tuple[np.ndarray, ...]:
    """Flat (px, py, pz, e, id, counts) of the final-state particles of a nextBatch result."""
    import awkward as ak

    prt = batch.prt
    final = prt[prt.status > 0]
    counts = ak.to_numpy(ak.num(final)).astype(np.int64)
    flat = ak.flatten(final)
    p4 = flat.p
    return (ak.to_numpy(p4.px), ak.to_numpy(p4.py), ak.to_numpy(p4.pz), ak.to_numpy(p4.e), ak.to_numpy(flat.id), counts)


_EMPTY_FINAL_STATE = (*(np.zeros(0) for _ in range(4)), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def _event_weights(batch) -> np.ndarray:
    import awkward as ak

    return ak.to_numpy(ak.firsts(batch.info.weights)).astype(np.float64)


def _overlay(hard: tuple[np.ndarray, ...], pu: tuple[np.ndarray, ...], n_pu: np.ndarray) -> l1emu.FinalState:
    """Merge hard events with their pile-up events (event k gets the next n_pu[k] pile-up events)."""
    *h_cols, h_counts = hard
    *p_cols, p_counts = pu
    n_ev = len(h_counts)
    owner_of_pu_event = np.repeat(np.arange(n_ev), n_pu)
    owner = np.concatenate([np.repeat(np.arange(n_ev), h_counts), np.repeat(owner_of_pu_event, p_counts)])
    order = np.argsort(owner, kind="stable")
    px, py, pz, e, pid = (np.concatenate([h, p])[order] for h, p in zip(h_cols, p_cols, strict=True))
    counts = np.bincount(owner, minlength=n_ev)
    return l1emu.FinalState.from_arrays(px, py, pz, e, pid, np.concatenate([[0], np.cumsum(counts)]))


def run_job(spec: JobSpec) -> JobResult:
    """Generate until ``spec.n_keep`` events pass the filter (runs in a worker process)."""
    t0 = time.perf_counter()
    pythia, hook = _make_pythia(spec.settings, spec.pythia_seed, spec.parton_filter)
    pileup = _make_pythia(spec.pileup_settings, job_seed(spec.pythia_seed, "pileup", 0))[0] if spec.pileup > 0 else None
    rng = np.random.default_rng(spec.pythia_seed)
    kept_parts: list[np.ndarray] = []
    kept_w: list[np.ndarray] = []
    n_kept = n_tried = 0
    wsum_tried = 0.0
    while n_kept < spec.n_keep:
        batch = pythia.nextBatch(spec.batch_size)
        if len(batch) == 0:
            raise RuntimeError(f"{spec.process}: Pythia produced no events (check the settings)")
        hard = _final_state_arrays(batch)
        weights = _event_weights(batch) if spec.weighted else np.ones(len(batch))
        if pileup is not None:
            n_pu = rng.poisson(spec.pileup, size=len(batch))
            pu_batch = pileup.nextBatch(int(n_pu.sum())) if n_pu.sum() else None
            pu = _final_state_arrays(pu_batch) if pu_batch is not None else _EMPTY_FINAL_STATE
            n_pu = n_pu if pu_batch is None or len(pu_batch) == n_pu.sum() else _trim(n_pu, len(pu_batch))
            final_state = _overlay(hard, pu, n_pu)
        else:
            px, py, pz, e, pid, counts = hard
            final_state = l1emu.FinalState.from_arrays(px, py, pz, e, pid, np.concatenate([[0], np.cumsum(counts)]))
        parts, kept = l1emu.emulate(final_state, rng, spec.emu_config, spec.lepton_pt_min)
        need = spec.n_keep - n_kept
        if len(kept) >= need:  # stop exactly after the event that completes the job
            parts, kept = parts[:need], kept[:need]
            used = int(kept[-1]) + 1
        else:
            used = len(batch)
        n_tried += used
        wsum_tried += float(weights[:used].sum())
        kept_parts.append(parts)
        kept_w.append(weights[kept])
        n_kept += len(kept)
        if n_tried > MAX_TRIED_PER_KEPT * (n_kept + 1):
            raise RuntimeError(
                f"{spec.process}: only {n_kept} of {n_tried} events passed the lepton filter "
                f"(efficiency < 1/{MAX_TRIED_PER_KEPT}); check the process settings"
            )
    info = pythia.infoPython()
    w = np.concatenate(kept_w)
    pb = 1e9 * spec.sigma_factor  # Pythia gives mb
    scale, n_vetoed, w_vetoed = _veto_bookkeeping(hook, n_tried)
    xsec = CrossSection(
        info.sigmaGen() * pb * scale,
        info.sigmaErr() * pb * scale,
        n_tried + n_vetoed,
        n_kept,
        wsum_tried + w_vetoed,
        float(w.sum()),
        n_vetoed,
    )
    return JobResult(spec, np.concatenate(kept_parts), w, xsec, time.perf_counter() - t0)


def _trim(n_pu: np.ndarray, available: int) -> np.ndarray:
    """Reduce pile-up counts when Pythia skipped failed minimum-bias events (rare)."""
    out = n_pu.copy()
    excess = int(out.sum()) - available
    for k in range(len(out) - 1, -1, -1):
        take = min(excess, out[k])
        out[k] -= take
        excess -= take
        if excess == 0:
            break
    return out


# ------------------------------------------------------------------------------------------- planning
def _check_request(process: str, n_events: int, seed: int, workers: int | None, job_size: int, pileup: float) -> None:
    if process != processes.BACKGROUND:
        processes.get_process(process)
    if isinstance(n_events, bool) or not isinstance(n_events, (int, np.integer)) or n_events <= 0:
        raise ValueError(f"number of events must be a positive integer, got {n_events!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if not isinstance(job_size, int) or job_size < 1:
        raise ValueError(f"job size must be a positive integer, got {job_size!r}")
    if not (math.isfinite(pileup) and 0.0 <= pileup <= 300.0):
        raise ValueError(f"pile-up mean must be in [0, 300], got {pileup!r}")


def plan_jobs(
    process: str,
    n_events: int,
    seed: int,
    job_size: int = DEFAULT_JOB_SIZE,
    *,
    sqrt_s: float = processes.DEFAULT_SQRT_S,
    mass: float | None = None,
    qcd_pthat_min: float = processes.DEFAULT_QCD_PTHAT_MIN,
    pileup: float = 0.0,
    emu_config: l1emu.L1EmuConfig = l1emu.DEFAULT_CONFIG,
) -> list[JobSpec]:
    """The fixed job list of one process: sizes and seeds depend only on the arguments."""
    proc = processes.get_process(process)
    settings = tuple(proc.pythia_settings(sqrt_s, mass, qcd_pthat_min))
    pu_settings = (f"Beams:eCM = {sqrt_s:g}", *processes.COMMON_SETTINGS, *PILEUP_SETTINGS)
    n_jobs = -(-n_events // job_size)
    return [
        JobSpec(
            process,
            j,
            min(job_size, n_events - j * job_size),
            job_seed(seed, process, j),
            settings,
            proc.weighted,
            pileup,
            pu_settings if pileup > 0 else (),
            emu_config,
            sigma_factor=proc.sigma_factor,
            parton_filter=proc.parton_filter,
        )
        for j in range(n_jobs)
    ]


def background_counts(n_events: int, shares: dict[str, float] | None = None) -> dict[str, int]:
    """Events per component of the background mixture (largest remainder; each share >= 1 event)."""
    shares = dict(BACKGROUND_SHARES if shares is None else shares)
    if set(shares) - set(processes.BACKGROUND_COMPONENTS) or any(not v >= 0 for v in shares.values()):
        raise ValueError(f"background shares must be >= 0 for components of {processes.BACKGROUND_COMPONENTS}")
    total = sum(shares.values())
    if not total > 0:
        raise ValueError("background shares sum to zero")
    active = [k for k in processes.BACKGROUND_COMPONENTS if shares.get(k, 0) > 0]
    if n_events < len(active):
        raise ValueError(f"background needs at least {len(active)} events (one per component)")
    exact = {k: n_events * shares[k] / total for k in active}
    counts = {k: max(1, int(exact[k])) for k in active}
    for k in sorted(active, key=lambda k: exact[k] - int(exact[k]), reverse=True):
        if sum(counts.values()) >= n_events:
            break
        counts[k] += 1
    while sum(counts.values()) > n_events:  # minimum-1 rule overshot: take from the largest
        counts[max(counts, key=counts.__getitem__)] -= 1
    return counts


# ------------------------------------------------------------------------------------------- running
def _run_jobs(jobs: list[JobSpec], workers: int, desc: str) -> Iterator[JobResult]:
    """Yield job results in job order, with a progress bar over kept events."""
    total = sum(j.n_keep for j in jobs)
    with tqdm(total=total, desc=desc, unit="ev", disable=None) as bar:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                result = run_job(job)
                bar.update(job.n_keep)
                yield result
            return
        ctx = multiprocessing.get_context("spawn")  # safe even if the parent imported TensorFlow
        with ctx.Pool(min(workers, len(jobs))) as pool:
            for result in pool.imap(run_job, jobs):
                bar.update(result.spec.n_keep)
                yield result


def effective_events(weights: np.ndarray) -> float:
    """Kish effective number of events (sum w)^2 / sum w^2 of a weighted sample."""
    w = np.asarray(weights, dtype=np.float64)
    return float(w.sum() ** 2 / np.square(w).sum()) if len(w) and np.square(w).sum() > 0 else 0.0


def versions() -> dict[str, str]:
    out = {}
    for pkg in ("l1ad", "pythia8mc", "fastjet", "awkward", "numpy"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _base_metadata(
    process: str, n_events: int, seed: int, sqrt_s: float, pileup: float, job_size: int, emu_config: l1emu.L1EmuConfig
) -> dict[str, Any]:
    return {
        "generator": "l1ad.data.generate (Pythia 8 + l1ad.data.l1emu)",
        "process": process,
        "n_events": n_events,
        "seed": seed,
        "sqrt_s_gev": sqrt_s,
        "pileup_mean": pileup,
        "job_size": job_size,
        "lepton_filter": f"leading e/gamma or muon pT > {LEPTON_FILTER_PT:g} GeV",
        "lepton_filter_pt_gev": LEPTON_FILTER_PT,
        "l1emu": emu_config.as_dict(),
        "versions": versions(),
    }


def generate_to_file(
    process: str,
    n_events: int,
    out: str | os.PathLike,
    seed: int = 0,
    workers: int | None = None,
    *,
    sqrt_s: float = processes.DEFAULT_SQRT_S,
    mass: float | None = None,
    pileup: float = 0.0,
    qcd_pthat_min: float = processes.DEFAULT_QCD_PTHAT_MIN,
    job_size: int = DEFAULT_JOB_SIZE,
    background_shares: dict[str, float] | None = None,
    emu_config: l1emu.L1EmuConfig = l1emu.DEFAULT_CONFIG,
) -> GenerationSummary:
    """Generate ``n_events`` filtered events of ``process`` into ``out`` (ADC2021 layout, atomic write).

    ``workers`` defaults to all cores; results do not depend on it. Returns a summary (events, filter
    efficiency, filtered cross section, seconds); the file metadata holds the full bookkeeping.
    """
    workers = (os.cpu_count() or 1) if workers is None else workers
    _check_request(process, n_events, seed, workers, job_size, pileup)
    processes.check_sqrt_s(sqrt_s)
    if process != processes.BACKGROUND and processes.get_process(process).mass_pdg is not None and mass is not None:
        processes.check_mass(process, mass, sqrt_s)
    t0 = time.perf_counter()
    out = Path(out)
    meta = _base_metadata(process, n_events, seed, sqrt_s, pileup, job_size, emu_config)
    if process == processes.BACKGROUND:
        if mass is not None:
            raise ValueError("the background mixture has no mass parameter")
        meta.update(
            _generate_background(
                n_events,
                out,
                seed,
                workers,
                sqrt_s,
                pileup,
                qcd_pthat_min,
                job_size,
                background_shares,
                emu_config,
                meta,
            )
        )
    else:
        meta.update(
            _generate_single(
                process, n_events, out, seed, workers, sqrt_s, mass, pileup, qcd_pthat_min, job_size, emu_config, meta
            )
        )
    return GenerationSummary(process, n_events, time.perf_counter() - t0, str(out), meta)


def _process_metadata(process: str, jobs: list[JobSpec], xsec: CrossSection, mass: float | None) -> dict[str, Any]:
    proc = processes.get_process(process)
    pfilter = proc.parton_filter
    return {
        "description": proc.description,
        "adc2021_counterpart": proc.adc2021_name,
        "signal": proc.signal,
        "mass_gev": proc.mass(mass),
        "pythia_settings": list(jobs[0].settings),
        "pythia_seeds": [j.pythia_seed for j in jobs],
        **xsec.as_dict(),
        "parton_filter": None if pfilter is None else pfilter.as_dict(),
    }


def _generate_single(
    process, n_events, out, seed, workers, sqrt_s, mass, pileup, qcd_pthat_min, job_size, emu_config, meta
) -> dict[str, Any]:
    jobs = plan_jobs(
        process,
        n_events,
        seed,
        job_size,
        sqrt_s=sqrt_s,
        mass=mass,
        qcd_pthat_min=qcd_pthat_min,
        pileup=pileup,
        emu_config=emu_config,
    )
    weighted = jobs[0].weighted
    results: list[CrossSection] = []
    if weighted:  # weights are normalised with the total: collect (QCD files are small), then write
        parts, raw_w = [], []
        for result in _run_jobs(jobs, workers, f"generate {process}"):
            results.append(result.xsec)
            parts.append(result.particles)
            raw_w.append(result.weights)
        xsec = processes.combine(results)
        w = np.concatenate(raw_w)
        extra = {
            **_process_metadata(process, jobs, xsec, mass),
            "n_effective": effective_events(w),
            "weights": f"pT-hat bias (pT-hat/ref)^{processes.QCD_BIAS_POWER:g} compensation, normalised to mean 1",
        }
        adc2021.write_particles(out, np.concatenate(parts), w * (len(w) / w.sum()), metadata={**meta, **extra})
        return extra
    with adc2021.ParticleWriter(out, metadata=meta) as writer:
        for result in _run_jobs(jobs, workers, f"generate {process}"):
            results.append(result.xsec)
            writer.append(result.particles)
        extra = _process_metadata(process, jobs, processes.combine(results), mass)
        writer.update_metadata(**extra)
    return extra


def _generate_background(
    n_events, out, seed, workers, sqrt_s, pileup, qcd_pthat_min, job_size, shares, emu_config, meta
) -> dict[str, Any]:
    counts = background_counts(n_events, shares)
    plans = {
        name: plan_jobs(
            name, n, seed, job_size, sqrt_s=sqrt_s, qcd_pthat_min=qcd_pthat_min, pileup=pileup, emu_config=emu_config
        )
        for name, n in counts.items()
    }
    all_jobs = [job for name in counts for job in plans[name]]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in counts}
    raw_w: dict[str, list[np.ndarray]] = {name: [] for name in counts}
    xsecs: dict[str, list[CrossSection]] = {name: [] for name in counts}
    for result in _run_jobs(all_jobs, workers, "generate background"):
        name = result.spec.process
        parts[name].append(result.particles)
        raw_w[name].append(result.weights)
        xsecs[name].append(result.xsec)
    combined = {name: processes.combine(xsecs[name]) for name in counts}
    fractions = processes.mixture_fractions({name: c.sigma_filtered_pb for name, c in combined.items()})
    particles, weights = [], []
    n_effective = {}
    for name in counts:
        w = np.concatenate(raw_w[name])
        n_effective[name] = effective_events(w)
        particles.append(np.concatenate(parts[name]))
        weights.append(w / w.sum() * fractions[name] * n_events)  # sum over component = fraction * N
    order = np.random.default_rng(job_seed(seed, "background-shuffle", 0)).permutation(n_events)
    components = {
        name: {
            **_process_metadata(name, plans[name], combined[name], None),
            "events": counts[name],
            "fraction": fractions[name],
            "share_of_events": counts[name] / n_events,
            "n_effective": n_effective[name],
        }
        for name in counts
    }
    extra = {
        "description": "SM mixture after the lepton filter; weights carry sigma x efficiency fractions (mean 1)",
        "components": components,
        "fractions": fractions,
        "adc2021_fractions": processes.ADC2021_FRACTIONS,
        "sigma_filtered_pb": sum(c.sigma_filtered_pb for c in combined.values()),
        "filter_efficiency": None,
        "shuffle_seed": job_seed(seed, "background-shuffle", 0),
        "component_order": list(counts),
    }
    all_weights = np.concatenate(weights)
    extra["n_effective"] = effective_events(all_weights)
    adc2021.write_particles(out, np.concatenate(particles)[order], all_weights[order], metadata={**meta, **extra})
    return extra
