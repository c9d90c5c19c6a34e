"""Binned bump hunt: smooth background fit + Gaussian signal, mass scan, local significance, Fisher combination.

Background models (expected counts integrated over each bin with 3-point Gauss-Legendre):
- ``dijet``: f(x) = p0 (1 - x)^p1 / x^(p2 + p3 ln x), x = m / sqrt(s) (``dijet3`` fixes p3 = 0);
- ``bernstein``: non-negative Bernstein polynomial of degree ``degree`` on the fit range.
Signal: Gaussian of mass ``mass`` and width ``width`` (set by the resolution), yield ``mu`` >= 0.
Local significance: q0 = 2 (NLL_B - NLL_S+B) from the binned Poisson likelihood, Z = sqrt(q0) (asymptotic,
one-sided, q0 = 0 for a deficit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

__all__ = [
    "FitResult",
    "ScanResult",
    "binned_counts",
    "fit_background",
    "fit_signal_plus_background",
    "local_significance",
    "fit_mass",
    "scan",
    "fisher_combination",
    "p_to_z",
    "z_to_p",
    "asimov_significance",
    "truth_split_significance",
    "ftest_degree",
    "n_independent_windows",
    "global_significance",
    "BACKGROUND_MODELS",
]

SQRT_S = 13000.0
BACKGROUND_MODELS = ("dijet", "dijet3", "bernstein")
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(3)


@dataclass
class FitResult:
    """A binned maximum-likelihood fit."""

    model: str
    params: np.ndarray  # background parameters
    nll: float
    mu: float = 0.0  # signal yield (events)
    mu_err: float = float("nan")
    mass: float = float("nan")
    width: float = float("nan")
    expected: np.ndarray = field(default_factory=lambda: np.zeros(0))  # total expected counts per bin
    converged: bool = True


@dataclass
class ScanResult:
    """Local significance versus signal mass hypothesis."""

    masses: np.ndarray
    z: np.ndarray
    mu: np.ndarray
    best_mass: float
    best_z: float


def p_to_z(p: float | np.ndarray) -> float | np.ndarray:
    """One-sided Gaussian significance of a p-value."""
    return stats.norm.isf(p)


def z_to_p(z: float | np.ndarray) -> float | np.ndarray:
    return stats.norm.sf(z)


def binned_counts(values: np.ndarray, edges: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Histogram of ``values`` in ``edges`` (events outside are dropped); checks inputs."""
    v = np.asarray(values, dtype=np.float64)
    if not np.isfinite(v).all():
        raise ValueError("values to histogram contain NaN/inf")
    return np.histogram(v, bins=_checked_edges(edges), weights=weights)[0].astype(np.float64)


def _checked_edges(edges: np.ndarray) -> np.ndarray:
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 3 or not np.all(np.diff(e) > 0) or not np.isfinite(e).all():
        raise ValueError("bin edges must be a finite, strictly increasing 1-D array with at least 2 bins")
    return e


def _checked_counts(counts: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    e = _checked_edges(edges)
    n = np.asarray(counts, dtype=np.float64)
    if n.shape != (e.size - 1,):
        raise ValueError(f"counts have shape {n.shape}, expected ({e.size - 1},) for {e.size} edges")
    if not np.isfinite(n).all() or (n < 0).any():
        raise ValueError("counts must be finite and non-negative")
    if n.sum() <= 0:
        raise ValueError("no events in the fit range")
    return n, e


def _quadrature(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (bins, 3) and weights (bins, 3) for integrating over each bin."""
    half = 0.5 * np.diff(edges)[:, None]
    mid = 0.5 * (edges[1:] + edges[:-1])[:, None]
    return mid + half * _GL_NODES[None, :], half * _GL_WEIGHTS[None, :]


def _n_bkg_params(model: str, degree: int) -> int:
    if model == "dijet":
        return 4
    if model == "dijet3":
        return 3
    if model == "bernstein":
        return degree + 1
    raise ValueError(f"unknown background model {model!r}; choose one of {BACKGROUND_MODELS}")


def _bkg_density_and_grad(
    model: str, params: np.ndarray, m: np.ndarray, edges: np.ndarray, sqrt_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Density at masses ``m`` and its gradient with respect to the parameters (last axis)."""
    if model in ("dijet", "dijet3"):
        x = m / sqrt_s
        lx = np.log(x)
        feats = [np.ones_like(x), np.log1p(-x), -lx] + ([-(lx**2)] if model == "dijet" else [])
        g = np.stack(feats, axis=-1)
        f = np.exp(g @ params)
        return f, f[..., None] * g
    degree = params.size - 1
    t = (m - edges[0]) / (edges[-1] - edges[0])
    k = np.arange(degree + 1)
    basis = special.comb(degree, k) * t[..., None] ** k * (1 - t[..., None]) ** (degree - k)
    return basis @ params, basis


def _bkg_expected_and_jac(
    model: str, params: np.ndarray, edges: np.ndarray, sqrt_s: float
) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = _quadrature(edges)
    f, grad = _bkg_density_and_grad(model, params, nodes, edges, sqrt_s)
    return np.sum(f * weights, axis=1), np.sum(grad * weights[..., None], axis=1)


def _bkg_expected(model: str, params: np.ndarray, edges: np.ndarray, sqrt_s: float) -> np.ndarray:
    return _bkg_expected_and_jac(model, params, edges, sqrt_s)[0]


def _nll_and_grad(n: np.ndarray, nu: np.ndarray, jac: np.ndarray) -> tuple[float, np.ndarray]:
    """Binned Poisson NLL (up to a constant) and its gradient given d nu / d params."""
    nu = np.maximum(nu, 1e-300)
    return float(np.sum(nu - n * np.log(nu))), (1.0 - n / nu) @ jac


def _signal_shape(edges: np.ndarray, mass: float, width: float) -> np.ndarray:
    """Fraction of a unit Gaussian in each bin."""
    return np.diff(stats.norm.cdf(edges, loc=mass, scale=width))


def _initial_bkg(model: str, n: np.ndarray, edges: np.ndarray, sqrt_s: float, degree: int) -> np.ndarray:
    mid = 0.5 * (edges[1:] + edges[:-1])
    widths = np.diff(edges)
    if model in ("dijet", "dijet3"):
        # ln f is linear in (ln p0, p1, p2, p3): weighted least squares on ln(density) of non-empty bins
        ok = n > 0
        x = mid[ok] / sqrt_s
        cols = [np.ones_like(x), np.log1p(-x), -np.log(x)] + ([-(np.log(x) ** 2)] if model == "dijet" else [])
        a = np.stack(cols, axis=1) * np.sqrt(n[ok])[:, None]
        b = np.log(n[ok] / widths[ok]) * np.sqrt(n[ok])
        if ok.sum() >= a.shape[1]:
            return np.linalg.lstsq(a, b, rcond=None)[0]
        return np.array([np.log(max(n.sum(), 1.0) / (edges[-1] - edges[0])), 0.0, 0.0, 0.0][: a.shape[1]])
    # Bernstein: coefficients ~ local density at the control points
    ctrl = edges[0] + (edges[-1] - edges[0]) * np.arange(degree + 1) / degree
    dens = np.interp(ctrl, mid, n / widths)
    return np.maximum(dens, 1e-3 * max(dens.max(), 1e-9))


def _minimize(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    bounds: list,
    transform: np.ndarray | None = None,
) -> optimize.OptimizeResult:
    """L-BFGS-B with analytic gradient in whitened coordinates x = x0 + T z (T from the Fisher information).

    The dijet parameters are strongly correlated; whitening makes the problem well conditioned. Parameters with
    bounds must have a diagonal transform (their bounds are mapped onto z).
    """
    t = np.eye(x0.size) if transform is None else transform
    diag = np.diag(t)
    zb = []
    for i, (lo, hi) in enumerate(bounds):
        zb.append((None if lo is None else (lo - x0[i]) / diag[i], None if hi is None else (hi - x0[i]) / diag[i]))

    def fz(z: np.ndarray) -> tuple[float, np.ndarray]:
        v, g = fun(x0 + t @ z)
        return v, t.T @ g

    opts = {"maxiter": 10000, "ftol": 1e-13, "gtol": 1e-9}
    res = optimize.minimize(fz, np.zeros(x0.size), jac=True, method="L-BFGS-B", bounds=zb, options=opts)
    res2 = optimize.minimize(fz, res.x, jac=True, method="L-BFGS-B", bounds=zb, options=opts)
    best = res2 if res2.fun <= res.fun else res
    best.x = x0 + t @ best.x
    return best


def _whitening(jac: np.ndarray, nu: np.ndarray, full: np.ndarray) -> np.ndarray:
    """T with T^T F T ~ 1 for the Fisher information F = J^T diag(1/nu) J; ``full`` marks parameters that may
    be mixed (unbounded), the others get a diagonal scale."""
    f = jac.T @ (jac / np.maximum(nu, 1e-12)[:, None])
    scale = 1.0 / np.sqrt(np.maximum(np.diag(f), 1e-300))
    t = np.diag(scale)
    idx = np.flatnonzero(full)
    if idx.size:
        block = f[np.ix_(idx, idx)] + 1e-12 * np.diag(np.diag(f[np.ix_(idx, idx)]))
        try:
            l_chol = np.linalg.cholesky(block)
            t[np.ix_(idx, idx)] = np.linalg.inv(l_chol.T)
        except np.linalg.LinAlgError:
            pass
    return t


def _bounds(model: str, n_bkg: int) -> list:
    if model == "bernstein":
        return [(0.0, None)] * n_bkg
    return [(None, None)] * n_bkg


def fit_background(
    counts: np.ndarray, edges: np.ndarray, model: str = "dijet", degree: int = 4, sqrt_s: float = SQRT_S
) -> FitResult:
    """Background-only binned Poisson fit."""
    n, e = _checked_counts(counts, edges)
    n_par = _n_bkg_params(model, degree)
    x0 = _initial_bkg(model, n, e, sqrt_s, degree)
    nu0, jac0 = _bkg_expected_and_jac(model, x0, e, sqrt_s)
    transform = _whitening(jac0, np.maximum(nu0, n), np.full(n_par, model != "bernstein"))
    res = _minimize(
        lambda p: _nll_and_grad(n, *_bkg_expected_and_jac(model, p, e, sqrt_s)), x0, _bounds(model, n_par), transform
    )
    if model != "bernstein":  # re-whiten at the optimum and polish
        nu1, jac1 = _bkg_expected_and_jac(model, res.x, e, sqrt_s)
        res = _minimize(
            lambda p: _nll_and_grad(n, *_bkg_expected_and_jac(model, p, e, sqrt_s)),
            res.x,
            _bounds(model, n_par),
            _whitening(jac1, nu1, np.ones(n_par, bool)),
        )
    return FitResult(
        model=model,
        params=res.x,
        nll=float(res.fun),
        mu=0.0,
        mu_err=0.0,
        expected=_bkg_expected(model, res.x, e, sqrt_s),
        converged=bool(res.success),
    )


def fit_signal_plus_background(
    counts: np.ndarray,
    edges: np.ndarray,
    mass: float,
    width: float,
    model: str = "dijet",
    degree: int = 4,
    sqrt_s: float = SQRT_S,
    background: FitResult | None = None,
    with_error: bool = True,
) -> FitResult:
    """Background + Gaussian(mass, width) fit with yield mu >= 0; mu_err (upward, from the profile likelihood)
    only when ``with_error``."""
    n, e = _checked_counts(counts, edges)
    if not (width > 0 and np.isfinite(mass)):
        raise ValueError(f"signal width must be > 0 and mass finite, got mass={mass}, width={width}")
    bkg = background or fit_background(n, e, model, degree, sqrt_s)
    shape = _signal_shape(e, mass, width)

    def nll(p: np.ndarray) -> tuple[float, np.ndarray]:
        nu, jac = _bkg_expected_and_jac(model, p[:-1], e, sqrt_s)
        return _nll_and_grad(n, nu + p[-1] * shape, np.column_stack([jac, shape]))

    mu0 = max(float(np.sum((n - bkg.expected) * shape) / max(np.sum(shape**2), 1e-12)), 0.0)
    bounds = _bounds(model, bkg.params.size) + [(0.0, None)]
    x0 = np.append(bkg.params, mu0)
    nu0, jac0 = _bkg_expected_and_jac(model, bkg.params, e, sqrt_s)
    full = np.append(np.full(bkg.params.size, model != "bernstein"), False)
    transform = _whitening(np.column_stack([jac0, shape]), np.maximum(nu0, n), full)
    res = _minimize(nll, x0, bounds, transform)
    self_transform = transform

    if res.fun > bkg.nll:  # mu = 0 reproduces the background fit: never worse than it
        res.x, res.fun = np.append(bkg.params, 0.0), bkg.nll
    mu_err = _profile_error(nll, res.x, float(res.fun), bounds, self_transform) if with_error else float("nan")
    return FitResult(
        model=model,
        params=res.x[:-1],
        nll=float(res.fun),
        mu=float(res.x[-1]),
        mu_err=mu_err,
        mass=float(mass),
        width=float(width),
        expected=_bkg_expected(model, res.x[:-1], e, sqrt_s) + res.x[-1] * shape,
        converged=bool(res.success),
    )


def _profile_error(
    nll: Callable[[np.ndarray], tuple[float, np.ndarray]],
    best: np.ndarray,
    nll_min: float,
    bounds: list,
    transform: np.ndarray,
) -> float:
    """Upward 1-sigma error on mu (last parameter): mu where the profiled NLL rises by 1/2."""

    def fixed_mu(p: np.ndarray, mu: float) -> tuple[float, np.ndarray]:
        v, g = nll(np.append(p, mu))
        return v, g[:-1]

    def profiled(mu: float) -> float:
        r = _minimize(lambda p: fixed_mu(p, mu), best[:-1], bounds[:-1], transform[:-1, :-1])
        return min(float(r.fun), nll(np.append(best[:-1], mu))[0])

    step = max(np.sqrt(max(best[-1], 1.0)), 1.0)
    hi = best[-1] + step
    for _ in range(40):
        if profiled(hi) - nll_min > 0.5:
            break
        hi += step
        step *= 1.5
    try:
        up = optimize.brentq(lambda mu: profiled(mu) - nll_min - 0.5, best[-1], hi, xtol=1e-3 * step)
    except ValueError:
        return float("nan")
    return float(up - best[-1])


def local_significance(
    counts: np.ndarray,
    edges: np.ndarray,
    mass: float,
    width: float,
    model: str = "dijet",
    degree: int = 4,
    sqrt_s: float = SQRT_S,
    with_error: bool = False,
) -> tuple[float, FitResult]:
    """(Z, S+B fit) with Z = sqrt(q0), q0 = 2 (NLL_B - NLL_S+B) >= 0."""
    bkg = fit_background(counts, edges, model, degree, sqrt_s)
    sb = fit_signal_plus_background(
        counts, edges, mass, width, model, degree, sqrt_s, background=bkg, with_error=with_error
    )
    q0 = max(2.0 * (bkg.nll - sb.nll), 0.0) if sb.mu > 0 else 0.0
    return float(np.sqrt(q0)), sb


def _width(mass: float, resolution: float | Callable[[float], float]) -> float:
    return float(resolution(mass)) if callable(resolution) else float(resolution) * float(mass)


def scan(
    counts: np.ndarray,
    edges: np.ndarray,
    masses: Sequence[float] | np.ndarray,
    resolution: float | Callable[[float], float] = 0.05,
    model: str = "dijet",
    degree: int = 4,
    sqrt_s: float = SQRT_S,
) -> ScanResult:
    """Local significance at each signal mass; ``resolution`` is a fractional width or a function mass -> width."""
    grid = np.asarray(masses, dtype=np.float64)
    if grid.size == 0:
        raise ValueError("no mass hypotheses to scan")
    bkg = fit_background(counts, edges, model, degree, sqrt_s)
    z, mu = np.zeros(grid.size), np.zeros(grid.size)
    for i, m in enumerate(grid):
        sb = fit_signal_plus_background(
            counts, edges, m, _width(m, resolution), model, degree, sqrt_s, background=bkg, with_error=False
        )
        mu[i] = sb.mu
        z[i] = np.sqrt(max(2.0 * (bkg.nll - sb.nll), 0.0)) if sb.mu > 0 else 0.0
    i = int(np.argmax(z))
    return ScanResult(masses=grid, z=z, mu=mu, best_mass=float(grid[i]), best_z=float(z[i]))


def fit_mass(
    counts: np.ndarray,
    edges: np.ndarray,
    resolution: float | Callable[[float], float] = 0.05,
    model: str = "dijet",
    degree: int = 4,
    sqrt_s: float = SQRT_S,
    n_start: int = 25,
) -> FitResult:
    """S+B fit with the signal mass free (coarse scan for the start, then a 1-D bounded refinement)."""
    _, e = _checked_counts(counts, edges)
    bkg = fit_background(counts, edges, model, degree, sqrt_s)
    lo, hi = e[0] + 0.5 * (e[1] - e[0]), e[-1] - 0.5 * (e[-1] - e[-2])
    grid = np.linspace(lo, hi, n_start)

    def nll_at(m: float) -> float:
        return fit_signal_plus_background(
            counts, edges, m, _width(m, resolution), model, degree, sqrt_s, background=bkg, with_error=False
        ).nll

    vals = [nll_at(m) for m in grid]
    i = int(np.argmin(vals))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    best = optimize.minimize_scalar(nll_at, bounds=(a, b), method="bounded", options={"xatol": 1e-3 * (hi - lo)})
    m = float(best.x) if best.fun <= vals[i] else float(grid[i])
    return fit_signal_plus_background(counts, edges, m, _width(m, resolution), model, degree, sqrt_s, background=bkg)


def fisher_combination(pvalues: Sequence[float]) -> tuple[float, float]:
    """Fisher's method: (combined p, its one-sided Z). -2 sum ln p ~ chi2(2k) under the null."""
    p = np.asarray(pvalues, dtype=np.float64)
    if p.size == 0 or not np.isfinite(p).all() or (p <= 0).any() or (p > 1).any():
        raise ValueError(f"p-values must be a non-empty list of numbers in (0, 1], got {pvalues}")
    _, combined = stats.combine_pvalues(p, method="fisher")
    return float(combined), float(p_to_z(combined))


def truth_split_significance(
    signal_counts: np.ndarray,
    background_counts: np.ndarray,
    edges: np.ndarray,
    mass: float,
    width: float,
    model: str = "dijet",
    degree: int = 4,
    sqrt_s: float = SQRT_S,
) -> tuple[float, float]:
    """Where a selected spectrum's local Z comes from, for simulated data with truth labels:
    (Z of the selected background alone, Z of the selected signal on the smooth background-only fit of that
    background). The first is the bump the selection sculpts into (or the fluctuation it picks from) the
    background; the second the signal's own significance, free of both."""
    bkg, e = _checked_counts(background_counts, edges)
    sig = np.asarray(signal_counts, dtype=np.float64)
    if sig.shape != bkg.shape or not np.isfinite(sig).all() or (sig < 0).any():
        raise ValueError(f"signal counts must be finite, non-negative and of shape {bkg.shape}, got {sig.shape}")
    z_background, _ = local_significance(bkg, e, mass, width, model, degree, sqrt_s)
    if sig.sum() == 0:
        return z_background, 0.0
    smooth = fit_background(bkg, e, model, degree, sqrt_s).expected
    z_signal, _ = local_significance(sig + smooth, e, mass, width, model, degree, sqrt_s)
    return z_background, z_signal


def asimov_significance(signal: np.ndarray, background: np.ndarray) -> float:
    """Median discovery significance for known per-bin expectations: sqrt(2 sum((s+b) ln(1+s/b) - s))."""
    s, b = np.asarray(signal, dtype=np.float64), np.asarray(background, dtype=np.float64)
    ok = b > 0
    return float(np.sqrt(2 * np.sum((s[ok] + b[ok]) * np.log1p(s[ok] / b[ok]) - s[ok])))


def ftest_degree(
    counts: np.ndarray,
    edges: np.ndarray,
    degrees: Sequence[int] = tuple(range(3, 11)),
    alpha: float = 0.05,
    sqrt_s: float = SQRT_S,
) -> int:
    """Bernstein degree chosen by Fisher's F-test on background-only fits to the data spectrum (no signal
    assumed, no truth used): the lowest degree that no higher degree in ``degrees`` improves significantly
    (F-test on the Poisson deviance, p < ``alpha``)."""
    n, e = _checked_counts(counts, edges)
    degs = sorted(int(d) for d in degrees)

    def deviance(deg: int) -> float:
        nu = fit_background(n, e, "bernstein", deg, sqrt_s).expected
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(n > 0, n * np.log(n / nu), 0.0)
        return float(2 * np.sum(t - (n - nu)))

    dev = {d: deviance(d) for d in degs}
    for d in degs:  # lowest degree that no higher degree improves significantly
        ok = True
        for d2 in (k for k in degs if k > d):
            ndf = n.size - (d2 + 1)
            if ndf <= 0:
                break
            f = ((dev[d] - dev[d2]) / (d2 - d)) / max(dev[d2] / ndf, 1e-12)
            if stats.f.sf(f, d2 - d, ndf) < alpha:
                ok = False
                break
        if ok:
            return d
    return degs[-1]


def n_independent_windows(centres: Sequence[float] | np.ndarray, sr_width: float) -> float:
    """Effective number of independent signal regions in a scan: span / SR width + 1 (>= 1)."""
    c = np.asarray(centres, dtype=np.float64)
    if c.size == 0 or sr_width <= 0:
        raise ValueError("need at least one window centre and a positive SR width")
    return float(max((c.max() - c.min()) / sr_width + 1.0, 1.0))


def global_significance(z_local: float, n_trials: float) -> float:
    """Global Z of the best of ``n_trials`` independent searches (Sidak: p_glob = 1 - (1 - p_loc)^n),
    one-sided, 0 when p_glob >= 0.5."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    p_loc = float(z_to_p(max(float(z_local), 0.0)))
    p_glob = -np.expm1(n_trials * np.log1p(-p_loc)) if p_loc < 1 else 1.0
    return float(max(p_to_z(p_glob), 0.0)) if p_glob < 0.5 else 0.0
