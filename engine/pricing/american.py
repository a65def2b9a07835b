"""American option prices by the Andersen-Lake-Offengenden (ALO, 2016) spectral collocation method.

What this module holds
----------------------
* :func:`american_price` - the public, validated, broadcasting price function;
* :func:`american_kernel` - the same on validated 1-D float arrays (``w = +1`` call, ``-1`` put),
  called by :mod:`engine.greeks` (finite differences) and :mod:`engine.pricing.impliedvol`;
* :func:`exercise_boundary` - the early-exercise boundary ``B(tau)`` the kernel solves for.

Method (all options of a call are priced together, no Python loop over options)
--------------------------------------------------------------------------------
A call is priced as a put through McDonald-Schroder symmetry
``C(S, K, r, q, sigma) = P(K, S, q, r, sigma)``.  For a put with ``r > 0`` the price is the
European value (the one Black kernel of :mod:`engine.pricing.black`) plus the early exercise premium
(Kim 1990; ALO eq. 2)::

    V(S, T) = p(S, T) + int_0^T [ r K e^{-r t} N(-d-(t, S/B(T-t)))
                                  - q S e^{-q t} N(-d+(t, S/B(T-t))) ] dt,
    d+-(t, z) = (ln z + (r - q) t) / (sigma sqrt t) +- sigma sqrt(t) / 2,

where ``B(tau)`` is the exercise boundary at time-to-expiry ``tau``.  ``B`` is the fixed point
of ALO's equation "FP-B" (their eq. 18-19)::

    B(tau) = K e^{-(r-q) tau} N(tau, B) / D(tau, B),
    N = N(d-(tau, B/K)) + r int_0^tau e^{r u} N(d-(tau-u, B(tau)/B(u))) du,
    D = N(d+(tau, B/K)) + q int_0^tau e^{q u} N(d+(tau-u, B(tau)/B(u))) du,

and ``B(0+) = X = K min(1, r/q)``.  Following ALO sec. 4, the boundary is represented by the
transformed function ``H(sqrt tau) = ln(B(tau)/X)^2``, which is smooth enough in ``sqrt tau`` to
be interpolated by a polynomial at ``n + 1`` Chebyshev-Lobatto nodes of ``[0, sqrt T]``.
The nodes start from a precomputed table of converged boundaries (engine/pricing/american_start.npz,
made by tools/gen_american_start.py: ``ln(B/K)`` at the 10 nodes of a put with ``K = T = 1`` on a
grid of ``(ln sigma^2 T, ln rT, log2(1 + q/r))``, the three numbers the boundary at ``tau_k / T``
depends on; trilinear interpolation, about 1e-3 in ``ln B``), or where the table does not
reach (and just above ``q = r``) at the QD+ approximation of Li (2005) (solved by a few safeguarded
Newton steps in ``ln B``).  They then take Newton steps on the collocation equations
``ln B_k = ln f_k(B)`` with the full ``n x n`` Jacobian (the fixed-point map's dependence on the
boundary at every node through the interpolated ``H``, not only ALO's Jacobi-Newton diagonal of
eq. 34), so the iteration converges quadratically: 2-3 steps from the table, about 4 from QD+
instead of ~8 Jacobi-Newton steps.  The Jacobian is diagonally dominant, so its linear system is
solved by a few Jacobi sweeps (LAPACK where they do not converge), and an option whose last step
moved by less than 1e-3 reuses its last Jacobian (a chord step).  Integrals use ``l`` (fixed point) and ``p`` (price) Gauss-Legendre
points after the change of variable ``u = tau sin^2(theta)``, under which both ``sqrt u`` (where
the boundary is smooth) and ``sqrt(tau - u)`` (where the Black terms are smooth) are smooth
functions of ``theta``; ALO use ``u = tau - tau (1+y)^2 / 4`` for the same purpose at one end.
Because every quadrature point sits at a fixed fraction of ``sqrt T``, interpolating ``H`` at
all of them is one small matrix product shared by every option.  The node count is chosen per
option from the total variance ``sigma^2 T``, ``kappa = 2 max(rT, qT) / (sigma^2 T)`` and the
moneyness (see :data:`SCHEMES` and :func:`_scheme_index`: 6, 8 or 10 nodes, FP-B where
``kappa > 2``); each option takes Newton steps until its boundary moves by less than 1e-5
in ``ln B`` at every node (the error left after that step is of the order of its square), and an
option that has not converged within its scheme's step limit is
re-priced with a 12-node FP-B scheme (the residual check).  Every scheme is accurate to well inside
the target (1e-6 x strike against QuantLib's QdFp high precision, tests/pricing/test_american_reference.py),
so a change of scheme between neighbouring inputs is not visible in the price.

Cases with no early-exercise premium (a put with ``r <= 0`` and ``q >= r``; a call with
``q <= 0`` and ``r >= q``) return the European value.  The double-boundary case of a put with
``q < r < 0`` (ALO sec. 7; Battauz, De Donno and Sbuelz 2015: exercise only while the spot is
between two boundaries below the strike) is outside the single-boundary method and is solved by
finite differences (:func:`_fd_put_unit`: Crank-Nicolson in ``ln S`` with a Rannacher start,
the constraint imposed exactly by policy iteration, Richardson extrapolation over three grids),
as are calls with ``r < q < 0`` by symmetry.  ``t == 0`` gives the intrinsic
value; ``vol == 0`` gives the best deterministic exercise value ``max_t e^{-rt} max(w (S e^{(r-q)t}
- K), 0)`` over ``t in [0, T]`` (the larger of intrinsic and discounted forward intrinsic, or an
interior optimum when rates and dividends make one).

Units follow the glossary of :mod:`engine.pricing.black` (years ACT/365, continuous rates, decimal vol).

References
----------
Andersen, L., Lake, M. and Offengenden, D. (2016), "High-performance American option pricing",
*Journal of Computational Finance* 20(1), 39-87.
Li, M. (2005), "Analytical approximations for the critical stock prices of American options: a
performance comparison", *Review of Derivatives Research* 13, 75-99 (the QD+ boundary).
Kim, I. J. (1990), "The analytic valuation of American options", *Review of Financial Studies* 3.
McDonald, R. and Schroder, M. (1998), "A parity result for American options", *Journal of
Computational Finance* 1(3).
QuantLib ``QdFpAmericanEngine`` (K. Spanderen, 2022) implements the same method; the tests compare
against its high-precision scheme.
Battauz, A., De Donno, M. and Sbuelz, A. (2015), "Real options and American derivatives: the
double continuation region", *Management Science* 61(5).
Rannacher, R. (1984), "Finite element solution of diffusion problems with irregular data",
*Numerische Mathematik* 43; Forsyth, P. A. and Vetzal, K. R. (2002), "Quadratic convergence for
valuing American options using a penalty method", *SIAM J. Sci. Comput.* 23(6) (policy iteration).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import ndtr

from engine._validate import finish, prepare
from engine.pricing.black import _INV_SQRT_2PI, black_parts, black_value, norm_pdf

__all__ = [
    "american_price",
    "american_kernel",
    "american_unit_grid",
    "exercise_boundary",
    "scheme_index",
    "SCHEMES",
    "double_boundary",
    "fd_spot_greeks",
]

# Quadrature schemes: (n Chebyshev intervals, l fixed-point points, p price points, m_max
# Newton steps, FP-A, tolerance).  The node count is chosen per option by :func:`_scheme_index` from
# the total variance sigma^2 T, kappa = 2 max(rT, qT) / (sigma^2 T) and the moneyness; each
# option iterates until its boundary moves by less than the tolerance (in ln B) and an option that has
# not converged after m_max steps is re-priced with the fine scheme _FINE (the residual check).
SCHEMES: tuple[tuple[int, int, int, int, bool, float], ...] = (
    (6, 7, 20, 12, True, 1e-5),  # 0: far out of the money (premium tiny)
    (8, 7, 24, 12, True, 1e-5),  # 1: sigma^2 T <= 0.5
    (10, 7, 24, 12, True, 1e-5),  # 2: sigma^2 T > 0.5
    (6, 7, 20, 12, False, 1e-5),  # 3-5: the same with FP-B, where kappa > _KAPPA_FP_B
    (8, 7, 24, 12, False, 1e-5),
    (10, 7, 24, 12, False, 1e-5),
    (12, 16, 65, 40, False, 1e-9),  # 6: _FINE (tanh-sinh price rule), for unconverged fixed points and Greeks
)
_FINE = len(SCHEMES) - 1
_VAR_SPLIT = 0.5  # sigma^2 T above which 10 nodes are used
_KAPPA_SPLIT = 20.0  # kappa above which 10 nodes are used (low vol, high rates: steep boundary)
_KAPPA_FP_B = 2.0  # FP-A is unstable for large kappa (ALO sec. 5.2)
_FAR_OTM = 8.0  # ln(S/K) above this many sigma sqrt T: 6 nodes
# the last entry of a scheme is its fixed-point tolerance: max |d ln B| of the last Newton step
# over the nodes.  Newton converges quadratically, so after a step of 1e-5 the boundary is within
# ~1e-10 and the price within ~1e-10 K (the premium integral's error is of the order of the
# boundary's times r T); the fine scheme's 1e-9 keeps finite-difference Greeks free of iteration
# noise.  (l = 7 fixed-point points: 6.6e-7 x K on the plan grid, 7.0e-7 x K on the wide one;
# l = 8: 4.3e-7 and 6.9e-7; l = 6: 3.3e-6 and 3.5e-6.)
_DIAG = np.diag_indices(64)
_ONES = np.ones(64)
_CHUNK = 384  # options per block: keeps the (options x nodes x points) arrays in cache (1024: 2x slower)
# below this (put-side) rate the early-exercise premium (< rate * strike * t) is treated as 0
_MIN_RATE = 1e-10
# Newton start table (engine/pricing/american_start.npz, made by tools/gen_american_start.py): the
# converged ln(B / K) at the nodes of the n-node schemes of a put with K = 1, T = 1 on a regular
# grid of (ln sigma^2 T, ln rT, log2(1 + q / r)): q = r, where B(0+) has a kink, is a grid line (the boundary at tau_k / T depends on the three
# only); axes as (first value, step, count).  Options outside the grid start from QD+.
START_AXES: tuple[tuple[float, float, int], ...] = ((-7.0, 0.125, 93), (-10.0, 0.5, 21), (0.0, 0.125, 36))
START_N = 10  # the start table's node count (other schemes interpolate it)
_START_KINK = 1.3  # no table start for r < q < 1.3 r
_START_FILE = Path(__file__).with_name("american_start.npz")
_SWEEPS = 4  # Jacobi sweeps per Newton solve (_newton_solve)
_CHORD_BELOW = 1e-3  # an option whose last step moved less takes a chord step (no new Jacobian)
_USE_TABLE = True  # False: always start from QD+ (tools/gen_american_start.py, A/B runs)


@dataclass(frozen=True)
class _Scheme:
    """Quadrature and interpolation tables for ``n`` Chebyshev intervals (option-independent)."""

    n: int
    m: int
    fp_a: bool
    tol: float  # fixed-point tolerance in ln B
    a: np.ndarray  # sqrt(tau_k / T) at the nodes k = 1..n (node 0 is tau = 0)
    fp_u: np.ndarray  # (n, l): u / T at the fixed-point quadrature points
    fp_rem: np.ndarray  # (n, l): sqrt((tau_k - u) / T)
    fp_w: np.ndarray  # (n, l): du / T quadrature weight
    fp_interp: np.ndarray  # (n, n * l): H at the nodes -> H at B(u) points
    pr_t: np.ndarray  # (p,): t / T at the price quadrature points
    pr_sqrt_t: np.ndarray  # (p,): sqrt(t / T)
    pr_w: np.ndarray  # (p,): dt / T weight
    pr_interp: np.ndarray  # (n, p): H at the nodes -> H at B(T - t)
    fp_jac: np.ndarray  # (n, l, n): fp_interp as P[k, l, j] (node j -> point l of node k)
    fp_inv_rem: np.ndarray  # (n, l): 1 / fp_rem
    fp_w_rem: np.ndarray  # (n, l): fp_w / fp_rem


def _cheb_interp_matrix(x: np.ndarray, n: int) -> np.ndarray:
    """Barycentric interpolation from Chebyshev-Lobatto nodes ``-cos(k pi / n)`` to points ``x``.

    Returns the ``(len(x), n)`` matrix acting on the node values ``k = 1..n``; the value at node
    ``k = 0`` (``tau = 0``) is ``H = 0`` and drops out.
    """
    z = -np.cos(np.pi * np.arange(n + 1) / n)
    bw = (-1.0) ** np.arange(n + 1)
    bw[0] *= 0.5
    bw[-1] *= 0.5
    diff = x[:, None] - z[None, :]
    exact = np.isclose(diff, 0.0, rtol=0.0, atol=1e-15)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = bw / diff
        mat = c / c.sum(axis=1, keepdims=True)
    rows = exact.any(axis=1)
    mat[rows] = exact[rows].astype(float)
    return mat[:, 1:]


def _tanh_sinh(p_pts: int) -> tuple[np.ndarray, np.ndarray]:
    """Tanh-sinh (double-exponential) nodes and weights on ``[-1, 1]``, ``p_pts`` (odd) points.

    Step ``h = 6.4 / (p_pts - 1)`` over ``|k h| <= 3.2`` (the weights beyond are below 1e-16).
    The nodes cluster double-exponentially at both ends, which resolves an integrand feature of
    any width at an end point (Takahasi and Mori 1974).
    """
    half = (p_pts - 1) // 2
    h = 3.2 / half
    kh = h * np.arange(-half, half + 1)
    u = 0.5 * np.pi * np.sinh(kh)
    return np.tanh(u), 0.5 * np.pi * h * np.cosh(kh) / np.cosh(u) ** 2


@lru_cache(maxsize=16)
def _scheme(
    n: int, l_pts: int, p_pts: int, m: int, fp_a: bool, tol: float = 1e-6, tanh_sinh: bool = False
) -> _Scheme:
    z = -np.cos(np.pi * np.arange(1, n + 1) / n)
    a = 0.5 * (1.0 + z)
    # Gauss-Legendre on theta in [0, pi/2]; u = tau sin^2(theta), du = tau sin(2 theta) dtheta
    y, wy = np.polynomial.legendre.leggauss(l_pts)
    th, wth = 0.25 * np.pi * (y + 1.0), 0.25 * np.pi * wy
    s, c = np.sin(th), np.cos(th)
    fp_u = (a[:, None] * s[None, :]) ** 2
    fp_rem = a[:, None] * c[None, :]
    fp_w = (a * a)[:, None] * (2.0 * s * c * wth)[None, :]
    # B(u) with sqrt(u / T) = a_k sin(theta): Chebyshev coordinate 2 a_k sin(theta) - 1
    fp_interp = _cheb_interp_matrix((2.0 * a[:, None] * s[None, :] - 1.0).ravel(), n).T
    # the price integral: Gauss-Legendre, or tanh-sinh for the fine scheme (an option just outside
    # the exercise region has a premium integrand that turns on within t ~ (ln(S/B) / sigma)^2 of
    # t = 0, too sharp for Gauss-Legendre points: the price is still within the target, but its
    # slope in vol, rate or spot, which the finite-difference Greeks take, is not)
    y, wy = _tanh_sinh(p_pts) if tanh_sinh else np.polynomial.legendre.leggauss(p_pts)
    th, wth = 0.25 * np.pi * (y + 1.0), 0.25 * np.pi * wy
    s, c = np.sin(th), np.cos(th)
    # t = T sin^2(theta); the boundary is needed at T - t = T cos^2(theta): coordinate 2 cos - 1
    pr_interp = _cheb_interp_matrix(2.0 * c - 1.0, n).T
    return _Scheme(
        n,
        m,
        fp_a,
        tol,
        a,
        fp_u,
        fp_rem,
        fp_w,
        np.ascontiguousarray(fp_interp),
        s * s,
        s,
        2.0 * s * c * wth,
        np.ascontiguousarray(pr_interp),
        np.ascontiguousarray(fp_interp.reshape(n, n, l_pts).transpose(1, 2, 0)),
        1.0 / fp_rem,
        fp_w / fp_rem,
    )


def _col(x: np.ndarray) -> np.ndarray:
    return x[:, None]


def _qd_plus_boundary(K, T_k, r, q, sig, X, steps: int = 8) -> np.ndarray:
    """QD+ exercise boundary of Li (2005) at times ``T_k`` (shape ``(M, n)``): ``ln(B / X)``.

    Solves ``(1 - e^{-q tau} N(-d+)) B - beta (K - B - p(B)) + alpha Theta(B) / (r e^{-r tau}) = 0``
    (Li's eq. with ``c0`` expanded; ``p`` and ``Theta`` the European put value and theta) by
    Newton steps in ``x = ln(B / X) <= 0``, started from the Barone-Adesi-Whaley seed.
    """
    Kc, rc, qc, sc, Xc = _col(K), _col(r), _col(q), _col(sig), _col(X)
    s2 = sc * sc
    dr, dq = np.exp(-rc * T_k), np.exp(-qc * T_k)
    h = -np.expm1(-rc * T_k)
    om = 2.0 * (rc - qc) / s2
    disc = np.sqrt((om - 1.0) ** 2 + 8.0 * rc / (s2 * h))
    lam = 0.5 * (-(om - 1.0) - disc)
    lam_p = 2.0 * rc / (s2 * h * h * disc)
    den = 2.0 * lam + om - 1.0
    alpha = 2.0 * dr * rc / (s2 * den)
    beta = alpha * (1.0 / h + lam_p / den) - lam
    v = sc * np.sqrt(T_k)
    # seed: perpetual boundary B_inf and the BAW interpolation towards X
    lam_inf = 0.5 * (-(om - 1.0) - np.sqrt((om - 1.0) ** 2 + 8.0 * rc / s2))
    b_inf = Kc * lam_inf / (lam_inf - 1.0)
    b_inf = np.minimum(b_inf, 0.999 * Xc)
    hh = -(2.0 * v + np.abs(rc - qc) * T_k) * Xc / (Xc - b_inf)
    x = np.log((b_inf + (Xc - b_inf) * np.exp(hh)) / Xc)
    # Newton on the flattened nodes; a node leaves once its step is below 1e-9 (most take 4-5
    # steps, about one in ten all 8), so the later steps cost a fraction of the first ones
    shape = x.shape

    def flat(y):
        return np.broadcast_to(y, shape).ravel()

    x = x.ravel().copy()
    Kdr = Kc * dr
    inv_v = 1.0 / v
    ca = alpha / (dr * rc)
    live = [
        flat(a)
        for a in (
            Xc,
            np.log(dq) - np.log(Kdr) + 0.5 * v * v,  # dp = (x + ln X) / v + this / v
            np.log(Xc),
            inv_v,
            v,
            dq,
            Kdr,
            Kc,
            rc,
            qc,
            0.5 * s2 * inv_v,
            (rc - qc) * inv_v,
            0.5 / T_k,
            beta,
            ca,
        )
    ]
    act = np.arange(x.size)
    xa = x
    for _ in range(steps):
        Xa, c_d, lnXa, iv, va, dqa, Kdra, Ka, ra, qa, hs2v, rqv, h2t, be, caa = live
        S = Xa * np.exp(xa)
        dp = (xa + lnXa + c_d) * iv
        dm = dp - va
        n_dp, n_dm, pdf = ndtr(-dp), ndtr(-dm), norm_pdf(dp)
        sdq_np = S * dqa * n_dp
        put = Kdra * n_dm - sdq_np
        theta = ra * Kdra * n_dm - qa * sdq_np - hs2v * S * dqa * pdf
        charm = -dqa * (pdf * (rqv - dm * h2t) + qa * n_dp)
        one_m = 1.0 - dqa * n_dp
        g = one_m * S - be * (Ka - S - put) + caa * theta
        gp = one_m * (1.0 + be) + dqa * pdf * iv + caa * charm
        step = g / (gp * S)
        step = np.where(np.isfinite(step), np.clip(step, -1.0, 1.0), 0.0)
        x_new = np.minimum(xa - step, 0.0)
        going = np.abs(x_new - xa) >= 1e-9  # (a node held at x = 0 does not move)
        xa = x_new
        x[act] = xa
        if not going.all():
            act, xa = act[going], xa[going]
            if act.size == 0:
                break
            live = [y[going] for y in live]
    x = x.reshape(shape)
    return np.clip(x, -60.0, 0.0)


@lru_cache(maxsize=1)
def _start_table() -> np.ndarray | None:
    """The Newton start table, ``(cells, START_N)`` (None where the file is missing)."""
    if not _START_FILE.exists():
        return None
    with np.load(_START_FILE) as f:
        tab = f[f"n{START_N}"]
    if tab.shape != (*(cnt for _, _, cnt in START_AXES), START_N):
        return None  # a table of other axes (regenerate it with tools/gen_american_start.py)
    return np.ascontiguousarray(tab.astype(float).reshape(-1, START_N))


@lru_cache(maxsize=1)
def _corner_offsets() -> np.ndarray:
    """Flat offsets of the 8 corners of a table cell and which axes step up at each, ``(8, 4)``."""
    counts = [cnt for _, _, cnt in START_AXES]
    strides = (counts[1] * counts[2], counts[2], 1)
    rows = []
    for c in range(8):
        up = [(c >> d) & 1 for d in range(3)]
        rows.append([sum(u * st for u, st in zip(up, strides)), *up])
    return np.array(rows, dtype=np.intp)


@lru_cache(maxsize=8)
def _node_map(n: int) -> np.ndarray:
    """``(START_N, n)`` matrix: values at the start table's nodes -> values at ``n`` nodes."""
    a = _scheme(n, 8, 24, 1, True).a
    return np.ascontiguousarray(_cheb_interp_matrix(2.0 * a - 1.0, START_N).T)


def _table_start(T, r, q, sig):
    """Trilinear interpolation of the start table: ``(ln(B / K) at the START_N nodes, ok)``.

    ``ok`` is False outside the table, just above ``q = r`` and where a corner of the cell has
    no converged value.
    """
    tab = _start_table()
    if tab is None:
        return np.zeros((T.size, START_N)), np.zeros(T.size, dtype=bool)
    coords = (np.log(sig * sig * T), np.log(r * T), np.log2(1.0 + q / r))
    # just above q = r the boundary has a layer near tau = 0 whose width goes with q / r - 1: the
    # table cannot resolve it, QD+ starts those options
    ok = ~((q > r) & (q < _START_KINK * r))
    flat = np.zeros(T.size, dtype=np.intp)
    corners = _corner_offsets()
    frac = np.empty((T.size, 3))
    stride = corners[[1, 2, 4], 0]  # per axis
    for d, (x, (x0, h, cnt)) in enumerate(zip(coords, START_AXES)):
        pos = (x - x0) / h
        ok &= (pos >= 0.0) & (pos <= cnt - 1)
        i = np.clip(np.floor(np.where(ok, pos, 0.0)).astype(np.intp), 0, cnt - 2)
        frac[:, d] = np.clip(pos - i, 0.0, 1.0)
        flat += i * stride[d]
    up = corners[:, 1:].astype(bool)  # (8, 3)
    wgt = np.where(up[None], frac[:, None, :], 1.0 - frac[:, None, :]).prod(axis=2)  # (M, 8)
    vals = tab[flat[:, None] + corners[None, :, 0]]  # (M, 8, START_N)
    out = np.einsum("mc,mcn->mn", wgt, vals)
    ok &= np.isfinite(out).all(axis=1)
    return out, ok


def start_cells(sig2t, rt, qt) -> np.ndarray:
    """``ln(B / K)`` at the START_N nodes of puts with ``K = 1``, ``T = 1`` (the start table's cells).

    The kernel's own collocation equations (START_N nodes, FP-A where ``kappa = 2 max(r, q) /
    sigma^2 <= 2`` else FP-B, the fixed-point points of :data:`SCHEMES`) solved from the QD+
    start by full Newton steps to 1e-11 in ``ln B``; NaN where the iteration does not converge.  Used by
    tools/gen_american_start.py and the tests.
    """
    global _USE_TABLE, _CHORD_BELOW
    sig = np.sqrt(np.asarray(sig2t, dtype=float))
    r, q = np.asarray(rt, dtype=float), np.asarray(qt, dtype=float)
    one = np.ones(sig.size)
    fp_a = 2.0 * np.maximum(r, q) / sig**2 <= _KAPPA_FP_B
    out = np.full((sig.size, START_N), np.nan)
    l_pts = next(sc[1] for sc in SCHEMES if sc[0] == START_N)
    saved = _USE_TABLE, _CHORD_BELOW
    _USE_TABLE, _CHORD_BELOW = False, 0.0  # QD+ start, full Newton steps throughout
    try:
        with np.errstate(all="ignore"):
            for a in (True, False):
                sch = _scheme(START_N, l_pts, 24, 60, a, 1e-11)
                idx = np.flatnonzero(fp_a == a)
                for start in range(0, idx.size, _CHUNK):
                    j = idx[start : start + _CHUNK]
                    lnX, H, ok = _alo_put(
                        one[j], one[j], one[j], r[j], q[j], sig[j], sch, return_boundary=True
                    )
                    v = lnX[:, None] - np.sqrt(H)
                    v[~ok] = np.nan
                    out[j] = v
    finally:
        _USE_TABLE, _CHORD_BELOW = saved
    return out


def _start_boundary(K, T, r, q, sig, n: int) -> np.ndarray:
    """Newton start ``ln(B / X)`` at the ``n`` nodes: the start table where it covers the option
    (through ``H = ln(B / X)^2``, the function the nodes interpolate, for ``n != START_N``),
    else the QD+ boundary."""
    X = np.where(q > r, K * r / np.where(q > r, q, 1.0), K)
    a = _scheme(n, 8, 24, 1, True).a
    x = np.empty((T.size, n))
    ok = np.zeros(T.size, dtype=bool)
    if _USE_TABLE:
        tab, ok = _table_start(T, r, q, sig)
        x_t = np.minimum(tab[ok] + _col(np.log(K[ok] / X[ok])), 0.0)
        if n != START_N:
            x_t = -np.sqrt(np.maximum(np.square(x_t) @ _node_map(n), 0.0))
        x[ok] = x_t
    rest = ~ok
    if rest.any():
        x[rest] = _qd_plus_boundary(K[rest], _col(T[rest]) * a**2, r[rest], q[rest], sig[rest], X[rest])
    return x


def _newton_solve(jac, rhs, sweeps: int = _SWEEPS) -> np.ndarray:
    """``jac^-1 rhs`` for a batch of Jacobians ``(M, n, n)``: Jacobi sweeps, LAPACK where they fail.

    The collocation Jacobian is diagonally dominant (the spectral radius of ``D^-1 (J - D)`` is
    about 0.2 on the benchmark options, 0.7 at worst), so ``sweeps`` Jacobi sweeps leave a
    relative error of about ``0.2^sweeps`` in the Newton step, which changes the Newton
    iteration's error from ``C e^2`` to ``C e^2 + 0.2^sweeps e``: the same stopping rule still holds.
    A row whose linear residual is above 1e-3 of its right-hand side after the sweeps (or not
    finite) is solved by ``numpy.linalg.solve``; NaN where that fails too.
    """
    with np.errstate(all="ignore"):
        d = np.einsum("mii->mi", jac)
        x = rhs / d
        for _ in range(sweeps):
            x += (rhs - (jac @ x[:, :, None])[:, :, 0]) / d
        res = np.max(np.abs(rhs - (jac @ x[:, :, None])[:, :, 0]), axis=1)
        bad = ~(res <= 1e-3 * np.max(np.abs(rhs), axis=1))
        if bad.any():
            try:
                x[bad] = np.linalg.solve(jac[bad], rhs[bad][:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                x[bad] = np.nan
    return x


def _alo_put(
    S, K, T, r, q, sig, sch: _Scheme, return_boundary: bool = False, newton: bool = True, start=None
):
    """Early-exercise premium of puts with ``r > 0`` (1-D arrays of one block), ALO FP-A/FP-B.

    Returns ``(premium, converged)``, or ``(ln X, H at the nodes, converged)`` with
    ``return_boundary``.  Each option takes Newton steps (full Jacobian; ``newton=False``: ALO's
    Jacobi-Newton) until its boundary moves by less than the scheme's tolerance in ``ln B`` at
    every node (at most ``sch.m``); ``converged`` is False where that did not happen.  The loop
    works on the options still iterating (their loop-invariant tables are compacted when some
    finish).  The boundary (:func:`_alo_boundary`) does not depend on the spot; the premium
    (:func:`_alo_price`) is its integral at the spot.
    """
    lnX, lnB, converged = _alo_boundary(K, T, r, q, sig, sch, newton, start)
    if return_boundary:
        return lnX, (lnB - _col(lnX)) ** 2, converged
    return _alo_price(S, K, T, r, q, sig, sch, lnX, lnB), converged


def _alo_boundary(K, T, r, q, sig, sch: _Scheme, newton: bool = True, start=None):
    """The ALO fixed point of :func:`_alo_put`: ``(ln X, ln B at the nodes, converged)`` per option
    (``start``: the first guess of ``ln B - ln X`` at the nodes; None = the start table or QD+)."""
    X = np.where(q > r, K * r / np.where(q > r, q, 1.0), K)
    lnX = np.log(X)
    sqT = np.sqrt(T)
    T_k = _col(T) * sch.a**2  # (M, n) node times tau_k
    v_k = _col(sig * sqT) * sch.a
    drift_k = _col(r - q) * T_k
    scale_k = _col(K) * np.exp(-drift_k)  # K e^{-(r-q) tau}
    inv_vk = 1.0 / v_k
    # d+(tau_k, B/K) = ln B / v_k + c0
    c0 = (drift_k - _col(np.log(K))) * inv_vk + 0.5 * v_k

    # fixed-point quadrature tables (M, n, l): d-(tau_k - u, B(tau_k)/B(u)) = (sqrt H(u) - sqrt
    # H(tau_k)) / v_u + c_u, with v_u = sigma sqrt(tau_k - u)
    # (every table is an option factor times a scheme table: v_u = sigma sqrt T fp_rem, ...)
    def opt(x):
        return x[:, None, None]

    sv = sig * sqT
    v_u = opt(sv) * sch.fp_rem
    inv_vu = opt(1.0 / sv) * sch.fp_inv_rem
    c_u = opt((r - q) * T / sv - 0.5 * sv) * sch.fp_rem  # ((r - q)(tau_k - u) - v_u^2 / 2) / v_u
    rT, qT = r * T, q * T
    er = np.exp(opt(rT) * sch.fp_u)  # e^{ru}
    eq = np.exp(opt(qT) * sch.fp_u)
    if sch.fp_a:  # weights of phi(d-), N(d+), phi(d+) (1 / sqrt(2 pi) folded in)
        er *= opt(rT / sv * _INV_SQRT_2PI) * sch.fp_w_rem
        wq = eq * opt(qT) * sch.fp_w
        eq *= opt(qT / sv * _INV_SQRT_2PI) * sch.fp_w_rem
        tabs = [er, wq, eq]
    else:  # weights of N(d-), N(d+)
        er *= opt(rT) * sch.fp_w
        eq *= opt(qT) * sch.fp_w
        tabs = [er, eq]
    lnB = _col(lnX) + (_start_boundary(K, T, r, q, sig, sch.n) if start is None else start)
    converged = np.zeros(K.shape, dtype=bool)
    act = np.arange(K.size)
    nl = sch.fp_u.shape
    # the state of the options still iterating (compacted as options finish)
    lx, lb = _col(lnX), lnB.copy()
    node = [v_k, inv_vk, c0, scale_k]
    quad = [v_u, inv_vu, c_u, *tabs]
    prev = None  # each option's last move (max over the nodes)
    jkeep = np.full((K.size, sch.n, sch.n), np.nan)  # each option's last Jacobian
    for _ in range(sch.m):
        if act.size == 0:
            break
        vk, ivk, c0k, sk = node
        vu, ivu, cu = quad[:3]
        sqh = lx - lb  # sqrt(H) at the nodes (ln B <= ln X)
        hu = (sqh * sqh) @ sch.fp_interp
        np.maximum(hu, 0.0, out=hu)
        sq_u = np.sqrt(hu, out=hu).reshape((act.size, *nl))
        dm_u = sq_u - sqh[:, :, None]
        dm_u *= ivu
        dm_u += cu
        dp_u = dm_u + vu
        dp0 = lb * ivk + c0k
        dm0 = dp0 - vk
        B = np.exp(lb)
        bv = B * vk
        pdf_p0, pdf_m0 = norm_pdf(dp0), norm_pdf(dm0)
        # per point: the integrands t_N (of N) and t_D (of D), and their derivatives with
        # respect to d (d- for t_N, d+ for t_D) times d(d)/d(sqrt H(u)) = 1 / v_u
        # a full Newton step (new Jacobian) for the options whose last step moved by _CHORD_BELOW
        # or more (all at the first step); the others, already close, take a chord step with
        # their last Jacobian's inverse (the error after it is of the order of the last move
        # times the current error: ~1e-9 where a full step would give ~1e-12)
        chord = np.zeros(0, dtype=np.intp)
        if not newton:
            sel: slice | np.ndarray = slice(0, 0)
        elif prev is None or not (prev < _CHORD_BELOW).any():
            sel = slice(None)
        else:
            near = prev < _CHORD_BELOW
            sel, chord = np.flatnonzero(~near), np.flatnonzero(near)
        full = newton and (isinstance(sel, slice) or sel.size > 0)
        if sch.fp_a:
            e = np.square(dm_u)
            e *= -0.5
            t_n = np.exp(e, out=e)
            t_n *= quad[3]  # r e^{ru} phi(d-) / v_u
            t_p = np.square(dp_u)
            t_p *= -0.5
            np.exp(t_p, out=t_p)
            t_p *= quad[5]  # q e^{qu} phi(d+) / v_u
            num = t_n @ _ONES[: nl[1]]
            den = t_p @ _ONES[: nl[1]] + np.einsum("mkl,mkl->mk", quad[4], ndtr(dp_u))
            N = pdf_m0 * ivk + num
            D = (pdf_p0 * ivk + ndtr(dp0)) + den
            if full:
                # gm = -(dt_N/d(sqrt H(u)) / N - dt_D/d(sqrt H(u)) / D): the slopes of both
                # integrands in d are -d- t, and d(d)/d(sqrt H(u)) = 1 / v_u
                gm = t_n[sel] * (1.0 / N[sel])[:, :, None]
                gm -= t_p[sel] * (1.0 / D[sel])[:, :, None]
                gm *= dm_u[sel]
                gm *= ivu[sel]
            Nd = -dm0 * pdf_m0 / (bv * vk)
            Dd = (pdf_p0 - dp0 * pdf_p0 * ivk) / bv
        else:
            num = np.einsum("mkl,mkl->mk", quad[3], ndtr(dm_u))
            den = np.einsum("mkl,mkl->mk", quad[4], ndtr(dp_u))
            N = ndtr(dm0) + num
            D = ndtr(dp0) + den
            if full:
                # gm = -(dt_N/d(sqrt H(u)) / N - dt_D/d(sqrt H(u)) / D), t_N = r e^{ru} N(d-),
                # t_D = q e^{qu} N(d+), d(d)/d(sqrt H(u)) = 1 / v_u
                e = np.square(dm_u[sel])
                e *= -0.5
                gm = np.exp(e, out=e)
                gm *= quad[3][sel]
                gm *= (-_INV_SQRT_2PI / N[sel])[:, :, None]
                e = np.square(dp_u[sel])
                e *= -0.5
                np.exp(e, out=e)
                e *= quad[4][sel]
                e *= (_INV_SQRT_2PI / D[sel])[:, :, None]
                gm += e
                gm *= ivu[sel]
            Nd = pdf_m0 / bv
            Dd = pdf_p0 / bv
        f = sk * N / D
        # Jacobi-Newton step (ALO eq. 34): derivative of the non-integral terms only
        fd = sk * (Nd / D - Dd * N / (D * D))
        step_b = B - (f - B) / (fd - 1.0)
        B_new = np.where((step_b > 0.0) & np.isfinite(step_b), step_b, f)
        lb_new = np.minimum(np.log(np.maximum(B_new, 1e-300)), lx)
        if full:
            # Newton on R(b) = b - ln f(b) in b = ln B at all nodes, with the full Jacobian:
            # d d(u)/d b_j = (delta_kj - P[k, l, j] sqrt(H_j) / sqrt(H(u))) / v_u.  An option
            # whose Newton step is not finite takes the Jacobi-Newton step instead.
            Bs, lbs = B[sel], lb[sel]
            diag = 1.0 - Nd[sel] * Bs / N[sel] + Dd[sel] * Bs / D[sel] + gm @ _ONES[: nl[1]]
            sqs = sq_u[sel]
            tiny = sqs <= 1e-150
            np.divide(gm, sqs, out=gm, where=~tiny)
            gm[tiny] = 0.0
            jac = np.matmul(gm.transpose(1, 0, 2), sch.fp_jac).transpose(1, 0, 2)
            jac *= -sqh[sel][:, None, :]
            jac[:, _DIAG[0][: sch.n], _DIAG[1][: sch.n]] += diag
            resid = lbs - np.log(f[sel])
            jkeep[sel] = jac
            step = _newton_solve(jac, resid)
            ok_step = np.asarray(np.isfinite(step).all(axis=1))
            step = np.clip(step, -0.5, 0.5)
            lb_new[sel] = np.where(ok_step[:, None], np.minimum(lbs - step, lx[sel]), lb_new[sel])
        if chord.size:
            lbs = lb[chord]
            step = _newton_solve(jkeep[chord], lbs - np.log(f[chord]))
            ok_step = np.asarray(np.isfinite(step).all(axis=1))
            step = np.clip(step, -0.5, 0.5)
            lb_new[chord] = np.where(ok_step[:, None], np.minimum(lbs - step, lx[chord]), lb_new[chord])
        moved = np.max(np.abs(lb_new - lb), axis=1)
        lnB[act] = lb = lb_new
        prev = moved
        done = ~(moved > sch.tol)  # NaN counts as done (and fails the finite check below)
        if done.any():
            converged[act[done]] = np.isfinite(moved[done])
            keep = ~done
            act = act[keep]
            lx, lb, prev, jkeep = lx[keep], lb[keep], prev[keep], jkeep[keep]
            node = [a[keep] for a in node]
            quad = [a[keep] for a in quad]
    return lnX, lnB, converged


def _alo_price(S, K, T, r, q, sig, sch: _Scheme, lnX, lnB):
    """Early-exercise premium at spot ``S`` of puts whose boundary is ``lnX, lnB`` (:func:`_alo_boundary`);
    ``-inf`` where the spot is already inside the exercise region."""
    sqT = np.sqrt(T)
    H = (lnB - _col(lnX)) ** 2
    # price integral over t = T sin^2(theta)
    sqH_t = np.sqrt(np.maximum(H @ sch.pr_interp, 0.0))
    t = _col(T) * sch.pr_t
    v_t = _col(sig * sqT) * sch.pr_sqrt_t
    dp = (_col(np.log(S) - lnX) + sqH_t + _col(r - q) * t) / v_t + 0.5 * v_t
    dm = dp - v_t
    integrand = _col(r * K) * np.exp(-_col(r) * t) * ndtr(-dm) - _col(q * S) * np.exp(-_col(q) * t) * ndtr(
        -dp
    )
    premium = np.maximum(_col(T) * integrand @ sch.pr_w, 0.0)
    # spot already inside the exercise region (S <= B(T)): the put is worth K - S (flagged by -inf)
    return np.where(np.log(S) <= lnB[:, -1], -np.inf, premium)


def _scheme_index(S, K, T, r, q, sig) -> np.ndarray:
    """Index into :data:`SCHEMES` for puts with ``r > 0`` (arrays): node count and FP-A/FP-B.

    10 nodes where the total variance ``sigma^2 T`` exceeds :data:`_VAR_SPLIT` or
    ``kappa = 2 max(rT, qT) / (sigma^2 T)`` exceeds :data:`_KAPPA_SPLIT` (a steep boundary),
    6 nodes far out of the money (``ln(S/K) > 8 sigma sqrt T``, premium below ~1e-12 K), else 8;
    FP-B where ``kappa > 2`` (ALO sec. 5.2).
    """
    var = sig * sig * T
    kappa = 2.0 * np.maximum(r, q) * T / var
    with np.errstate(divide="ignore", invalid="ignore"):
        far = np.log(S / K) > _FAR_OTM * np.sqrt(var)
    size = np.where((var > _VAR_SPLIT) | (kappa > _KAPPA_SPLIT), 2, np.where(far, 0, 1))
    return np.where(kappa > _KAPPA_FP_B, size + 3, size)


def _get_scheme(i: int) -> _Scheme:
    return _scheme(*SCHEMES[i], tanh_sinh=i == _FINE)


def _premium(S, K, T, r, q, sig, which=None) -> np.ndarray:
    """ALO early-exercise premium of puts (``r > 0``, ``T > 0``, ``sig > 0``), grouped by scheme.

    Options whose fixed point has not converged within their scheme's step limit are re-priced
    with the fine scheme (:data:`_FINE`, 12 nodes, FP-B, up to 40 steps).
    """
    out = np.empty(S.shape)
    ok = np.ones(S.shape, dtype=bool)
    if which is None:
        which = _scheme_index(S, K, T, r, q, sig)
    for i in np.unique(which):
        sch = _get_scheme(int(i))
        idx = np.flatnonzero(which == i)
        x0 = _start_boundary(K[idx], T[idx], r[idx], q[idx], sig[idx], sch.n)
        for start in range(0, idx.size, _CHUNK):
            j = idx[start : start + _CHUNK]
            sl = slice(start, start + _CHUNK)
            out[j], ok[j] = _alo_put(S[j], K[j], T[j], r[j], q[j], sig[j], sch, start=x0[sl])
    redo = np.flatnonzero(~ok & (which != _FINE))
    if redo.size:
        j = redo
        out[j], _ = _alo_put(S[j], K[j], T[j], r[j], q[j], sig[j], _get_scheme(_FINE))
    return out


def _fd_put_unit(x0, T, r, q, sig, nx: int, nt: int):
    """American put per unit strike at log-moneyness ``x0`` by Crank-Nicolson with Rannacher start.

    Each option gets its own grid, uniform in ``x = ln(S/K)``, centred on its spot (``nx`` odd:
    the spot is the middle node, so no interpolation, and the value moves smoothly with every
    input), half-width ``|x0| + 6 sigma sqrt T + |mu| T``; all grids are stacked into one
    tridiagonal system so every time step is one LAPACK ``gtsv`` solve for all options.  The
    first two steps are four fully implicit half steps (Rannacher 1984), the initial condition is
    the cell-averaged payoff (Pooley, Vetzal and Forsyth 2003) and the constraint
    ``V >= max(1 - e^x, 0)`` is imposed exactly at every step by policy iteration (Howard;
    Forsyth and Vetzal 2002), which handles an exercise region of any shape: the
    double-boundary interval of a put with ``q < r < 0``.

    Returns ``(V, V_x, V_xx)`` at the spot node (central differences on the grid).
    """
    from scipy.linalg.lapack import dgtsv as gtsv

    G = x0.size
    mu = r - q - 0.5 * sig * sig
    reach = np.abs(x0) + 6.0 * sig * np.sqrt(T) + np.abs(mu) * T
    h = 2.0 * reach / (nx - 1)
    c = (nx - 1) // 2
    x = x0[:, None] + h[:, None] * (np.arange(nx) - c)[None, :]  # (G, nx)
    ex = np.exp(x)
    payoff = np.maximum(1.0 - ex, 0.0)
    # cell average of the payoff over [x - h/2, x + h/2]
    a_ = x - 0.5 * h[:, None]
    b_ = np.minimum(x + 0.5 * h[:, None], 0.0)
    u = np.where(b_ > a_, ((b_ - a_) - (np.exp(b_) - np.exp(a_))) / h[:, None], 0.0)
    s2 = (sig * sig)[:, None]
    hh = h[:, None]
    lo_c = np.broadcast_to(0.5 * s2 / hh**2 - 0.5 * mu[:, None] / hh, (G, nx)).copy()  # of V_{i-1}
    up_c = np.broadcast_to(0.5 * s2 / hh**2 + 0.5 * mu[:, None] / hh, (G, nx)).copy()  # of V_{i+1}
    di_c = np.broadcast_to(-s2 / hh**2 - r[:, None], (G, nx)).copy()
    edge = np.zeros((G, nx), dtype=bool)
    edge[:, 0] = edge[:, -1] = True
    lo_c[edge] = up_c[edge] = di_c[edge] = 0.0
    interior = ~edge.ravel()
    dt_full = T / nt
    steps = [0.5] * 4 + [1.0] * (nt - 2)
    thetas = [1.0] * 4 + [0.5] * (nt - 2)
    tau = 0.0
    flat_pay = payoff.ravel()
    active = np.zeros(G * nx, dtype=bool)
    for frac, th in zip(steps, thetas):
        dt = (frac * dt_full)[:, None]
        tau = tau + frac * dt_full
        rhs = u.copy()
        if th < 1.0:
            e = (1.0 - th) * dt
            rhs[:, 1:-1] += e * (
                lo_c[:, 1:-1] * u[:, :-2] + di_c[:, 1:-1] * u[:, 1:-1] + up_c[:, 1:-1] * u[:, 2:]
            )
        # Dirichlet ends: deep in the money the European value (or intrinsic), far out 0
        rhs[:, 0] = np.maximum(np.exp(-r * tau) - ex[:, 0] * np.exp(-q * tau), payoff[:, 0])
        rhs[:, -1] = 0.0
        sub = (-th * dt * lo_c).ravel()
        sup = (-th * dt * up_c).ravel()
        diag = (1.0 - th * dt * di_c).ravel()
        b = rhs.ravel()
        for _ in range(50):
            sol = gtsv(
                np.where(active, 0.0, sub)[1:],
                np.where(active, 1.0, diag),
                np.where(active, 0.0, sup)[:-1],
                np.where(active, flat_pay, b),
                overwrite_dl=True,
                overwrite_d=True,
                overwrite_du=True,
                overwrite_b=True,
            )[3]
            # Howard: the row takes the constraint where the PDE residual exceeds u - g
            resid = diag * sol - b
            resid[1:] += sub[1:] * sol[:-1]
            resid[:-1] += sup[:-1] * sol[1:]
            new_active = (resid > sol - flat_pay) & interior
            if np.array_equal(new_active, active):
                break
            active = new_active
        u = np.maximum(sol, flat_pay).reshape(G, nx)
    um, u0, up = u[:, c - 1], u[:, c], u[:, c + 1]
    return u0, (up - um) / (2.0 * h), (up - 2.0 * u0 + um) / (h * h)


# node and step counts of the finite-difference solver (coarsest grid; the finer two double both)
_FD_NX = 321  # odd: the spot is the middle node
_FD_NT = 960


def _fd_put(S, K, T, r, q, sig, greeks: bool = False):
    """American put by :func:`_fd_put_unit` on three grids, Richardson-extrapolated twice.

    Used for the double-boundary case ``q < r < 0`` (ALO's single-boundary method does not
    apply there).  The grids (``h``, ``h/2``, ``h/4`` in space and time) share the spot node;
    with ``R(a, b) = (4 P_b - P_a) / 3`` the value is ``(4 R(h/2, h/4) - R(h, h/2)) / 3 =
    (16 P_h/4 - 8 P_h/2 + P_h) / 9``.  The once-extrapolated values still converge at second
    order here (their differences fall by 4: 3.9e-6 then 9.6e-7 x K on the reference options), so
    the second extrapolation removes that term too: against QuantLib's Leisen-Reimer tree
    (4001/8001 steps, Richardson) the two-grid value was off by up to 1.4e-6 x K, this one by
    1.6e-7 x K (30 options; tests/test_american_reference.py checks all 120).  With ``greeks``
    returns ``(price, delta, gamma)``: delta and gamma from the grid at the spot node
    (``dV/dS = V_x / S``, ``d2V/dS2 = (V_xx - V_x) / S^2``, per unit strike scaled back to
    ``K``), extrapolated the same way.
    """
    x0 = np.log(S / K)
    levels = [_fd_put_unit(x0, T, r, q, sig, 2**j * (_FD_NX - 1) + 1, 2**j * _FD_NT) for j in range(3)]
    v, vx, vxx = ((16.0 * f - 8.0 * m + c) / 9.0 for c, m, f in zip(*levels))
    if not greeks:
        return K * v
    return K * v, K * vx / S, K * (vxx - vx) / (S * S)


def double_boundary(spot, strike, t, rate, vol, w, q) -> np.ndarray:
    """True where the option is in the double-boundary case (put ``q < r < 0``, call ``r < q < 0``).

    Validated arrays; these options are priced by the finite-difference solver.
    """
    call = np.asarray(w) > 0
    r = np.where(call, q, rate)
    d = np.where(call, rate, q)
    return (np.asarray(t) > 0) & (np.asarray(vol) > 0) & (r < 0) & (d < r)


def fd_spot_greeks(spot, strike, t, rate, vol, w, q):
    """``(price, delta, gamma)`` of double-boundary options from the finite-difference grid.

    Calls go through McDonald-Schroder symmetry ``C(S, K, r, q) = P(K, S, q, r)`` and the
    homogeneity of degree one of the put in ``(S', K') = (K, S)``: ``dC/dS = (P - S' dP/dS') / K'``
    and ``d2C/dS2 = (S'/K')^2 d2P/dS'2``.  Validated 1-D arrays, all in the double-boundary case.
    """
    call = w > 0
    S = np.where(call, strike, spot)
    K = np.where(call, spot, strike)
    r = np.where(call, q, rate)
    d = np.where(call, rate, q)
    p, dp, gp = _fd_put(S, K, t, r, d, vol, greeks=True)
    euro = black_value(w, strike, black_parts(spot, strike, t, rate, vol, q))
    intrinsic = np.maximum(w * (spot - strike), 0.0)
    price = np.maximum(p, np.maximum(euro, intrinsic))
    delta = np.where(call, (p - S * dp) / K, dp)
    gamma = np.where(call, (S / K) ** 2 * gp, gp)
    return price, delta, gamma


def _deterministic_put(S, K, T, r, q) -> np.ndarray:
    """``vol == 0``: best of ``e^{-rt} K - e^{-qt} S`` (floored at 0) over ``t in [0, T]``."""

    def val(t):
        return np.maximum(K * np.exp(-r * t) - S * np.exp(-q * t), 0.0)

    best = np.maximum(val(0.0), val(T))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_star = np.log(r * K / (q * S)) / (r - q)
    inside = np.isfinite(t_star) & (t_star > 0) & (t_star < T)
    if inside.any():
        best = np.where(inside, np.maximum(best, val(np.where(inside, t_star, 0.0))), best)
    return best


def scheme_index(spot, strike, t, rate, vol, w, q) -> np.ndarray:
    """The quadrature scheme :func:`american_kernel` picks for each option (see :data:`SCHEMES`).

    Finite-difference Greeks pass the base option's scheme to every bumped price
    (``american_kernel(..., scheme=...)``) so that a bump never crosses a change of node count.
    Options that ALO does not price (no premium, double boundary) get an index too; it is unused.
    """
    spot, strike, t, rate, vol, w, q = (
        np.asarray(a, dtype=float) for a in (spot, strike, t, rate, vol, w, q)
    )
    call = w > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return _scheme_index(
            np.where(call, strike, spot),
            np.where(call, spot, strike),
            t,
            np.where(call, q, rate),
            np.where(call, rate, q),
            vol,
        )


def american_kernel(spot, strike, t, rate, vol, w, q, scheme=None) -> np.ndarray:
    """American price on validated 1-D float arrays (kernel: no checks, no broadcasting).

    Parameters
    ----------
    spot, strike, t, rate, vol, q : ndarray
        Equal-length float arrays in glossary units (see :mod:`engine.pricing.black`), already valid.
    w : ndarray
        +1.0 for a call, -1.0 for a put.
    scheme : ndarray of int, optional
        Force the quadrature scheme per option (from :func:`scheme_index`); by default each
        option gets the scheme of its own total variance.

    Returns
    -------
    ndarray
        Price per share, ``>= max(European, intrinsic)``.

    References
    ----------
    Andersen, Lake and Offengenden (2016); McDonald and Schroder (1998) for calls.

    Examples
    --------
    >>> import numpy as np
    >>> one = np.ones(2)
    >>> p = american_kernel(3.15 * one, 5.0 * one, 150 / 365 * one, 0.05 * one, 4.25 * one,
    ...                     np.array([-1.0, 1.0]), 0.0 * one)
    >>> np.round(p, 4).tolist()
    [4.2524, 2.4756]
    """
    spot, strike, t, rate, vol, w, q = (
        np.asarray(a, dtype=float) for a in (spot, strike, t, rate, vol, w, q)
    )
    euro = black_value(w, strike, black_parts(spot, strike, t, rate, vol, q))
    intrinsic = np.maximum(w * (spot - strike), 0.0)
    # McDonald-Schroder: a call is a put with spot <-> strike and rate <-> dividend yield
    call = w > 0
    S = np.where(call, strike, spot)
    K = np.where(call, spot, strike)
    r = np.where(call, q, rate)
    d = np.where(call, rate, q)
    out = np.maximum(euro, intrinsic)
    live = t > 0
    flat = live & (vol == 0)
    if flat.any():
        out[flat] = _deterministic_put(S[flat], K[flat], t[flat], r[flat], d[flat])
    moving = live & (vol > 0)
    main = moving & (r > _MIN_RATE)
    if main.any():
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            which = None if scheme is None else np.asarray(scheme)[main]
            prem = _premium(S[main], K[main], t[main], r[main], d[main], vol[main], which)
        out[main] = np.where(
            np.isneginf(prem), intrinsic[main], np.maximum(euro[main] + prem, intrinsic[main])
        )
    double = moving & (r < 0) & (d < r)
    if double.any():
        fd = _fd_put(S[double], K[double], t[double], r[double], d[double], vol[double])
        out[double] = np.maximum(fd, out[double])
    return out


def american_price(spot, strike, t, rate, vol, kind, q=0.0):
    """American option price per share (ALO 2016 spectral collocation).

    Parameters
    ----------
    spot, strike : array_like
        Underlying price and strike (currency per share), both > 0.
    t : array_like
        Time to expiry in years (ACT/365), >= 0.  ``t == 0`` gives the intrinsic value.
    rate : array_like
        Continuously compounded risk-free rate (0.05 = 5%).
    vol : array_like
        Annualized volatility as a decimal (4.25 = 425%), >= 0.  ``vol == 0`` gives the best
        deterministic exercise value (at least ``max(discounted forward intrinsic, intrinsic)``).
    kind : str or array_like
        "call"/"put" (also "C"/"P", any case, or +1/-1).
    q : array_like, optional
        Continuous dividend yield (default 0).

    Returns
    -------
    float or ndarray
        Price per share, broadcast over the arguments; a float when every argument is a
        scalar.  In an array call an element with a bad argument is NaN; in a scalar call it
        raises :class:`engine.VolarbInputError` naming the argument.

    References
    ----------
    Andersen, Lake and Offengenden (2016), "High-performance American option pricing", J.
    Comput. Finance 20(1); Li (2005) for the QD+ starting boundary.  The absolute error against
    QuantLib's ``QdFpAmericanEngine`` high-precision scheme is below 1e-6 x strike on the seeded
    test grids (spot 3.15, strikes 0.5-10, vol 50%-600%; spot 100, strikes 50-200, vol 2%-150%,
    1 day-5 years, r -2%..10%, q 0-8%), and against QuantLib's Leisen-Reimer tree (4001/8001
    steps, Richardson) in the double-boundary region (finite differences here, three grids:
    about 0.2-0.6 s per such option).

    Examples
    --------
    A short-dated put at 425% vol on a $3.15 stock (European value 4.2239):

    >>> round(american_price(3.15, 5.0, 150 / 365, 0.05, 4.25, "put"), 4)
    4.2524
    >>> american_price([3.0, 3.15], 5.0, 7 / 365, 0.05, 1.5, "P").round(4).tolist()
    [2.0004, 1.8518]
    """
    a, bad, scalar = prepare(spot=spot, strike=strike, t=t, rate=rate, vol=vol, kind=kind, q=q)
    shape = a["spot"].shape
    args = (a[k].ravel() for k in ("spot", "strike", "t", "rate", "vol", "kind", "q"))
    return finish(american_kernel(*args).reshape(shape), bad, scalar)


def american_unit_grid(x, t, rate, vol, w, q) -> np.ndarray:
    """American prices per unit strike at the spots ``exp(x)`` of several options (one per row).

    Row ``i`` is the option of kind ``w[i]`` (+1 call, -1 put), expiry ``t[i]`` years and vol
    ``vol[i]``, strike 1; column ``j`` its spot ``exp(x[j])``.  Equal, to float round-off, to
    ``american_kernel(exp(x[j]), 1, t[i], rate, vol[i], w[i], q)`` element by element, but a put's
    exercise boundary (the ALO fixed point, which does not depend on the spot) is solved once per
    row and quadrature scheme instead of once per grid point; only the premium integral is
    evaluated per point.  Rows the fixed point does not price (calls, ``rate`` at or below 0,
    ``t`` or ``vol`` 0) go through :func:`american_kernel` point by point.

    Parameters
    ----------
    x : array_like, shape (nx,)
        Log-moneyness ``ln(S / K)``.
    t, vol, w : array_like, shape (m,)
        Years to expiry (> 0), annualized vol (decimal), +1 call / -1 put.
    rate, q : float
        Continuously compounded rate and dividend yield (decimals).

    Returns
    -------
    ndarray, shape (m, nx)
        Price per unit strike (currency per share / strike).

    References
    ----------
    Andersen, Lake and Offengenden (2016), sec. 4-5 (the boundary is a function of time alone).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.log([0.4, 0.63, 1.0, 1.6])
    >>> g = american_unit_grid(x, [21 / 252, 0.5], 0.04, [4.25, 1.0], [-1.0, -1.0], 0.0)
    >>> k = american_kernel(np.exp(np.tile(x, 2)), np.ones(8), np.repeat([21 / 252, 0.5], 4),
    ...                     np.full(8, 0.04), np.repeat([4.25, 1.0], 4), -np.ones(8), np.zeros(8))
    >>> bool(np.allclose(g.ravel(), k, rtol=1e-13, atol=1e-15))
    True
    """
    x = np.asarray(x, dtype=float).ravel()
    t, vol, w = (np.asarray(a, dtype=float).ravel() for a in (t, vol, w))
    m, nx = t.size, x.size
    rate, q = float(rate), float(q)
    spot = np.tile(np.exp(x), m)
    ti, vi, wi = (np.repeat(a, nx) for a in (t, vol, w))
    one, rr, qq = np.ones(m * nx), np.full(m * nx, rate), np.full(m * nx, q)
    shared = (w < 0) & (t > 0) & (vol > 0) & (rate > _MIN_RATE)
    out = np.empty(m * nx)
    other = ~np.repeat(shared, nx)
    if other.any():
        out[other] = american_kernel(
            spot[other], one[other], ti[other], rr[other], vi[other], wi[other], qq[other]
        )
    rows = np.flatnonzero(shared)
    if rows.size == 0:
        return out.reshape(m, nx)
    pts = (rows[:, None] * nx + np.arange(nx)[None, :]).ravel()  # the shared rows' points
    S, T, sig = spot[pts], ti[pts], vi[pts]
    euro = black_value(-1.0, 1.0, black_parts(S, 1.0, T, rate, sig, q))
    intrinsic = np.maximum(1.0 - S, 0.0)
    row_of = np.repeat(np.arange(rows.size), nx)
    prem = np.empty(pts.size)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        which = _scheme_index(S, np.ones(pts.size), T, np.full(pts.size, rate), np.full(pts.size, q), sig)
        for i in np.unique(which):
            sel = np.flatnonzero(which == i)
            prem[sel] = _unit_premium(S[sel], row_of[sel], t[rows], rate, q, vol[rows], int(i))
    out[pts] = np.where(np.isneginf(prem), intrinsic, np.maximum(euro + prem, intrinsic))
    return out.reshape(m, nx)


def _unit_premium(S, row, t, rate: float, q: float, vol, i: int) -> np.ndarray:
    """Premium at spots ``S`` of the unit-strike puts ``row`` (indices into ``t, vol``) under scheme
    ``i``: one fixed point per distinct row, re-solved with the fine scheme where it did not
    converge (as :func:`_premium` does per option)."""
    u, inv = np.unique(row, return_inverse=True)
    K, T, r, d, sig = np.ones(u.size), t[u], np.full(u.size, rate), np.full(u.size, q), vol[u]
    sch = _get_scheme(i)
    lnX, lnB, ok = _alo_boundary(K, T, r, d, sig, sch)
    out = _alo_price(S, K[inv], T[inv], r[inv], d[inv], sig[inv], sch, lnX[inv], lnB[inv])
    redo = np.flatnonzero(~ok[inv]) if i != _FINE else np.zeros(0, dtype=np.int64)
    if redo.size:
        fine = _get_scheme(_FINE)
        need, j = np.unique(inv[redo], return_inverse=True)
        lnX2, lnB2, _ = _alo_boundary(K[need], T[need], r[need], d[need], sig[need], fine)
        k = need[j]
        out[redo] = _alo_price(S[redo], K[k], T[k], r[k], d[k], sig[k], fine, lnX2[j], lnB2[j])
    return out


def exercise_boundary(strike, tau, rate, vol, kind, q=0.0, t=None):
    """Early-exercise boundary ``B(tau)`` (critical spot) at time-to-expiry ``tau``.

    The boundary of an option with expiry ``t`` (default ``tau``) as solved by the kernel and
    interpolated at ``tau <= t``.  A put is exercised for spot ``<= B``, a call for spot ``>= B``.
    Where there is no early exercise the result is 0 (put) or ``inf`` (call).

    Parameters
    ----------
    strike, tau, rate, vol, kind, q
        As in :func:`american_price` (``tau`` in years).
    t : array_like, optional
        Expiry whose boundary is solved (default ``tau``).

    Returns
    -------
    float or ndarray
        Critical spot price (currency per share).

    References
    ----------
    Andersen, Lake and Offengenden (2016), sec. 4-5; McDonald and Schroder (1998).

    Examples
    --------
    >>> b = exercise_boundary(100.0, 1.0, 0.05, 0.25, "put")
    >>> round(b, 2)
    74.89
    """
    t = tau if t is None else t
    a, bad, scalar = prepare(spot=1.0, strike=strike, t=t, rate=rate, vol=vol, kind=kind, q=q)
    tau_a = np.broadcast_to(np.asarray(tau, dtype=float), a["t"].shape).ravel()
    shape = a["t"].shape
    K, T, rr, sig, w, qq = (a[k].ravel() for k in ("strike", "t", "rate", "vol", "kind", "q"))
    call = w > 0
    r = np.where(call, qq, rr)
    d = np.where(call, rr, qq)
    put_b = np.zeros(K.shape)
    ok = (T > 0) & (sig > 0) & (r > 0) & (tau_a >= 0) & (tau_a <= T)
    # a put boundary at strike K for the symmetric put is B_put; the call boundary is K^2 / B_put
    with np.errstate(divide="ignore", invalid="ignore"):
        which = _scheme_index(K, K, T, r, d, sig)
    for i in np.unique(which[ok]):
        sch = _get_scheme(int(i))
        n = sch.n
        j = np.flatnonzero(ok & (which == i))
        lnX, H, _ = _alo_put(K[j], K[j], T[j], r[j], d[j], sig[j], sch, return_boundary=True)
        zc = 2.0 * np.sqrt(tau_a[j] / T[j]) - 1.0
        rows = _cheb_interp_matrix(zc, n)
        h_tau = np.maximum(np.einsum("mk,mk->m", rows, H), 0.0)
        put_b[j] = np.exp(lnX - np.sqrt(h_tau))
    bad = bad | ((tau_a < 0) | (tau_a > T)).reshape(shape)
    with np.errstate(divide="ignore"):
        b = np.where(call, np.where(put_b > 0, K * K / np.where(put_b > 0, put_b, 1.0), np.inf), put_b)
    return finish(b.reshape(shape), bad, scalar)
