"""Implied volatility: the vol that reproduces a given option price, European or American.

The European solver works in the normalized Black variables of :mod:`engine.pricing.black` (forward
``F``, total standard deviation ``s = vol sqrt(t)``, discount factor) and prices through the one
kernel (:func:`engine.pricing.black.black_value`).  It is vectorized: a fixed, small number of masked
Householder iterations over the elements that are still active, never a Python loop over options.

Statuses (:class:`IVStatus`) say why an element has no vol; :func:`iv_status_message` gives the
human text.  An element without a status ``OK`` is always NaN, never a wrong number.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
from scipy.special import ndtri

from engine._validate import finish, parse_style, prepare
from engine.pricing.american import american_price
from engine.pricing.black import BlackParts, black_parts, black_value, norm_pdf

__all__ = ["implied_vol", "IVResult", "IVStatus", "iv_status_message"]

_EPS = np.finfo(float).eps
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_S_MAX = 50.0  # largest total standard deviation vol*sqrt(t) searched (vol 10 at t=2y is s=14.1)
_MAX_ITER = 60  # Householder steps with bisection fallback; typical convergence in 3-6
_AMER_VOL_LO = 1e-3  # American bracket in vol (annualized decimal): 0.1%
_AMER_VOL_HI = 20.0
_AMER_MAX_ITER = 60


class IVStatus(IntEnum):
    """Outcome of an implied-vol solve for one element (the vol is NaN unless ``OK``)."""

    OK = 0
    BELOW_INTRINSIC = 1
    ABOVE_BOUND = 2
    NO_VEGA = 3
    NOT_CONVERGED = 4
    BAD_INPUT = 5


_MESSAGES = {
    IVStatus.OK: "solved",
    IVStatus.BELOW_INTRINSIC: "price is below the option's lower bound (intrinsic value): no vol produces it",
    IVStatus.ABOVE_BOUND: "price is at or above the upper bound (spot for a call, strike for a put, "
    "discounted for European) or above the value at the largest vol searched",
    IVStatus.NO_VEGA: "price sits at the lower bound where vol is undetermined "
    "(expired option, or price equal to the lowest attainable value)",
    IVStatus.NOT_CONVERGED: "solver did not converge to full precision",
    IVStatus.BAD_INPUT: "an argument is invalid (non-numeric, negative, NaN or unknown kind)",
}


def iv_status_message(code: Any) -> str:
    """Short human explanation of an :class:`IVStatus` code.

    Examples
    --------
    >>> iv_status_message(IVStatus.BELOW_INTRINSIC)
    "price is below the option's lower bound (intrinsic value): no vol produces it"
    >>> iv_status_message(0)
    'solved'
    """
    try:
        return _MESSAGES[IVStatus(int(code))]
    except (ValueError, TypeError):
        return f"unknown status code {code!r}"


class IVResult(NamedTuple):
    """Implied vol (NaN unless solved) and its :class:`IVStatus` code(s)."""

    vol: Any
    status: Any


def _classify_bounds(price, intrinsic, upper, t, status) -> np.ndarray:
    """Mark prices outside the no-arbitrage bounds in ``status``; return the solvable indices.

    Below ``intrinsic`` (beyond a few ulps): BELOW_INTRINSIC; at it: NO_VEGA (every small vol
    gives it); at or above ``upper``, or ``t == 0`` with time value: ABOVE_BOUND.
    """
    excess = price - intrinsic
    tol = 4.0 * _EPS * (price + intrinsic)
    below = excess < -tol
    at_low = ~below & (excess <= tol)
    above = ~below & ~at_low & ((price >= upper) | (t == 0))
    status[below] = IVStatus.BELOW_INTRINSIC
    status[at_low] = IVStatus.NO_VEGA
    status[above] = IVStatus.ABOVE_BOUND
    return np.flatnonzero(~(below | at_low | above))


# --------------------------------------------------------------------------- European kernel


def _otm_value(theta, strike, fwd, df, dq, logm, s):
    """Black value per share of option ``theta`` (+1/-1) at total std-dev ``s`` (> 0) through the
    kernel :func:`engine.pricing.black.black_value`, and its derivative ``dV/ds = df F phi(d1)``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        d1 = logm / s + 0.5 * s
        d2 = d1 - s
        value = black_value(theta, strike, BlackParts(fwd, s, df, dq, d1, d2))
        dvds = df * fwd * norm_pdf(d1)
    return value, dvds


def _initial_guess(beta, x, lower):
    """Normalized initial total std-dev for an out-of-the-money call with ``x = ln(F/K) <= 0``.

    ``beta`` is the normalized price ``V / (df sqrt(F K))``.  Below the inflection point
    ``s_c = sqrt(2|x|)`` (``lower``) the small-``s`` asymptotic ``ln b ~ -x^2/(2 s^2) + 3 ln s -
    2 ln|x| - ln sqrt(2 pi)`` is inverted by two fixed-point steps; above it the large-``s``
    form ``e^{x/2} - b ~ (e^{x/2} + e^{-x/2}) N(-s/2)`` is inverted (exact at the money, where
    it is the Brenner-Subrahmanyam / Manaster-Koehler-style closed form ``s = 2 N^{-1}((1+b)/2)``).
    """
    ax = np.abs(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lb = np.log(beta)
        s = ax / np.sqrt(np.maximum(-2.0 * lb, 1e-300))
        for _ in range(2):
            denom = 2.0 * (-lb + 3.0 * np.log(s) - 2.0 * np.log(ax) - _LOG_SQRT_2PI)
            s = np.where(denom > 0, ax / np.sqrt(np.where(denom > 0, denom, 1.0)), s)
        eh = np.exp(0.5 * x)
        tail = (eh - beta) / (eh + 1.0 / eh)
        s_up = -2.0 * ndtri(np.clip(tail, 1e-300, 0.5))
    return np.where(lower, s, s_up)


def _european_kernel(price, spot, strike, t, rate, w, q):
    """Implied vol and status on validated, flat float arrays (no broadcasting, no checks)."""
    n = price.size
    vol = np.full(n, np.nan)
    status = np.full(n, IVStatus.OK, dtype=np.int64)
    parts = black_parts(spot, strike, t, rate, np.ones(n), q)
    fwd, df, dq = parts.fwd, parts.df, parts.dq
    logm = np.log(fwd / strike)
    intrinsic = df * np.maximum(w * (fwd - strike), 0.0)
    upper = df * np.where(w > 0, fwd, strike)
    idx = _classify_bounds(price, intrinsic, upper, t, status)
    if idx.size == 0:
        return vol, status

    # the out-of-the-money option by parity: theta = +1 call if F <= K else put
    K, F, D, Q, X = strike[idx], fwd[idx], df[idx], dq[idx], logm[idx]
    theta = np.where(X <= 0, 1.0, -1.0)
    p = (price - intrinsic)[idx]
    s_c = np.sqrt(2.0 * np.abs(X))
    v_c, _ = _otm_value(theta, K, F, D, Q, X, np.where(s_c > 0, s_c, 1.0))
    v_c = np.where(s_c > 0, v_c, 0.0)
    lower = p < v_c
    xn = -np.abs(X)
    beta = p / (D * np.sqrt(F * K))
    s = _initial_guess(beta, xn, lower)
    lo = np.where(lower, 0.0, s_c)
    hi = np.where(lower, s_c, np.maximum(_S_MAX, 2.0 * s_c))
    s = np.where((s > lo) & (s < hi) & np.isfinite(s), s, np.where(lower, 0.5 * s_c, s_c + 1.0))
    s = np.minimum(s, hi)
    log_p = np.log(p)
    done = np.zeros(idx.size, dtype=bool)

    act = np.arange(idx.size)
    for _ in range(_MAX_ITER):
        if act.size == 0:
            break
        sa, la, ha, lw = s[act], lo[act], hi[act], lower[act]
        Ka, Fa, Da, Qa, Xa, Ta = K[act], F[act], D[act], Q[act], X[act], theta[act]
        val, dv = _otm_value(Ta, Ka, Fa, Da, Qa, Xa, sa)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            curv = Xa * Xa / (sa * sa * sa) - 0.25 * sa  # V''/V'
            ratio = dv / val  # V'/V
            f = np.where(lw, np.log(val) - log_p[act], val - p[act])
            f1 = np.where(lw, ratio, dv)
            h = np.where(lw, curv - ratio, curv)  # f''/f'
            la = np.where(f < 0, sa, la)
            ha = np.where(f > 0, sa, ha)
            newton = -f / f1
            corr = 1.0 + 0.5 * newton * h
            step = np.where(np.isfinite(corr) & (corr > 0.5), newton / corr, newton)
            s_new = sa + step
        bisect = ~np.isfinite(s_new) | (s_new <= la) | (s_new >= ha)
        s_new = np.where(bisect, 0.5 * (la + ha), s_new)
        conv = (f == 0) | (np.abs(s_new - sa) <= 4.0 * _EPS * s_new) | (ha - la <= 4.0 * _EPS * ha)
        s[act], lo[act], hi[act] = s_new, la, ha
        done[act[conv]] = True
        act = act[~conv]

    val, _ = _otm_value(theta, K, F, D, Q, X, s)
    resid_ok = np.abs(val - p) <= 16.0 * _EPS * (price[idx] + intrinsic[idx])
    good = (done | resid_ok) & np.isfinite(s) & (s > 0)
    vol[idx] = np.where(good, s / np.sqrt(t[idx]), np.nan)
    status[idx] = np.where(good, IVStatus.OK, IVStatus.NOT_CONVERGED)
    return vol, status


# --------------------------------------------------------------------------- American kernel


def _american_kernel(price, spot, strike, t, rate, w, q):
    """Bracketed secant (Illinois) on the American price, started from a Newton step that
    uses the European vega as the derivative, on validated flat arrays."""
    n = price.size
    vol = np.full(n, np.nan)
    status = np.full(n, IVStatus.OK, dtype=np.int64)
    intrinsic = np.maximum(w * (spot - strike), 0.0)
    upper = np.where(w > 0, spot, strike)
    idx = _classify_bounds(price, intrinsic, upper, t, status)
    if idx.size == 0:
        return vol, status

    S, K, T, R, W, Qd, P = (a[idx] for a in (spot, strike, t, rate, w, q, price))

    def amer(v, sel):
        return np.asarray(american_price(S[sel], K[sel], T[sel], R[sel], v, W[sel], Qd[sel]), dtype=float)

    everything = np.arange(idx.size)
    lo = np.full(idx.size, _AMER_VOL_LO)
    hi = np.full(idx.size, _AMER_VOL_HI)
    f_lo = amer(lo, everything) - P
    f_hi = amer(hi, everything) - P
    sub_status = np.full(idx.size, IVStatus.OK, dtype=np.int64)
    sub_status[f_lo >= 0] = IVStatus.NO_VEGA  # at or below the lowest attainable value
    sub_status[f_hi < 0] = IVStatus.ABOVE_BOUND
    solve = sub_status == IVStatus.OK

    # start: the European implied vol of the price (an upper estimate for puts), one Newton step
    # with the European vega as the derivative
    ve, _ = _european_kernel(P, S, K, T, R, W, Qd)
    x = np.where(np.isfinite(ve), np.clip(ve, lo, hi), np.sqrt(lo * hi))
    fx = amer(x, everything) - P
    x_prev, f_prev = np.full(idx.size, np.nan), np.full(idx.size, np.nan)
    side = np.zeros(idx.size)  # Illinois: which end was kept last time
    sol = np.where(fx == 0, x, np.nan)
    act = np.flatnonzero(solve & (fx != 0))
    for it in range(_AMER_MAX_ITER):
        if act.size == 0:
            break
        xa, fa = x[act], fx[act]
        la, ha, fla, fha = lo[act], hi[act], f_lo[act], f_hi[act]
        neg = fa < 0
        la, fla = np.where(neg, xa, la), np.where(neg, fa, fla)
        ha, fha = np.where(neg, ha, xa), np.where(neg, fha, fa)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if it == 0:
                parts = black_parts(S[act], K[act], T[act], R[act], xa, Qd[act])
                vega = parts.dq * S[act] * norm_pdf(parts.d1) * np.sqrt(T[act])
                cand = xa - fa / vega
            else:
                cand = xa - fa * (xa - x_prev[act]) / (fa - f_prev[act])
            # Illinois regula falsi when the secant leaves the bracket
            kept = np.where(neg, 1.0, -1.0)
            fla_i = np.where(side[act] == -1.0, 0.5 * fla, fla) if it else fla
            fha_i = np.where(side[act] == 1.0, 0.5 * fha, fha) if it else fha
            falsi = (la * fha_i - ha * fla_i) / (fha_i - fla_i)
        out = ~np.isfinite(cand) | (cand <= la) | (cand >= ha)
        cand = np.where(out, falsi, cand)
        cand = np.where(~np.isfinite(cand) | (cand <= la) | (cand >= ha), 0.5 * (la + ha), cand)
        side[act] = kept
        x_prev[act], f_prev[act] = xa, fa
        lo[act], hi[act], f_lo[act], f_hi[act] = la, ha, fla, fha
        fc = amer(cand, act) - P[act]
        x[act], fx[act] = cand, fc
        conv = (fc == 0) | (np.abs(cand - xa) <= 1e-12 * cand) | (ha - la <= 1e-12 * ha)
        sol[act[conv]] = cand[conv]
        act = act[~conv]
    sub_status[solve & ~np.isfinite(sol)] = IVStatus.NOT_CONVERGED
    vol[idx] = np.where(sub_status == IVStatus.OK, sol, np.nan)
    status[idx] = sub_status
    return vol, status


# --------------------------------------------------------------------------- public entry point


def implied_vol(price, spot, strike, t, rate, kind, q=0.0, style="european", full_output=False):
    """Implied volatility of European or American options, vectorized.

    Parameters
    ----------
    price : array_like
        Option price per share (currency), >= 0.
    spot, strike : array_like
        Underlying price and strike (currency per share), both > 0.
    t : array_like
        Time to expiry in years (ACT/365), >= 0.
    rate : array_like
        Continuously compounded risk-free rate (0.05 = 5%).
    kind : str or array_like
        "call"/"put" (also "C"/"P", any case, or +1/-1).
    q : array_like, optional
        Continuous dividend yield (default 0).
    style : {"european", "american"}
        Exercise style of the pricer to invert (:func:`engine.bs_price` or
        :func:`engine.american_price`).
    full_output : bool
        If True return ``IVResult(vol, status)`` with :class:`IVStatus` codes.

    Returns
    -------
    float or ndarray, or IVResult
        Annualized vol as a decimal (4.25 = 425%); a float when every argument is a scalar.
        NaN where no vol reproduces the price: below the lower bound (European: discounted
        forward intrinsic ``df max(w (F - K), 0)``; American: intrinsic ``max(w (S - K), 0)``),
        at or above the upper bound (European: ``S e^{-q t}`` for a call, ``K e^{-r t}`` for a
        put; American: ``S`` / ``K``), at the lower bound where the vol is undetermined
        (``t == 0`` or price equal to it), or a bad argument inside an array.

    Raises
    ------
    VolarbInputError
        For a bad argument when every argument is a scalar (message names it), or a bad style.

    Notes
    -----
    European method.  The price is converted by put-call parity to the out-of-the-money
    option and normalized, ``b = V / (df sqrt(F K))``, ``x = ln(F/K)``, unknown
    ``s = vol sqrt(t)``.  ``b(s)`` is convex below the inflection point ``s_c = sqrt(2|x|)``
    and concave above (Jaeckel 2015), so the two branches are solved separately, each inside
    its own bracket (``[0, s_c]`` and ``[s_c, 50]``, i.e. vols up to ``50/sqrt(t)``; at least
    35 for a two-year option).  Initial guesses come from the small-``s`` asymptotic expansion
    (lower branch) and from the large-``s`` tail (upper branch), which at the money is the
    exact inverse ``s = 2 N^{-1}((1+b)/2)`` refining the Brenner-Subrahmanyam guess
    ``s ~ sqrt(2 pi) b``.  Halley (third-order Householder) steps are taken on ``ln V(s)``
    in the lower branch, where prices can be tiny, and on ``V(s)`` in the upper branch, with
    the analytic ``V'`` (vega in ``s``) and ``V''/V' = x^2/s^3 - s/4``; a step leaving the
    maintained bracket is replaced by bisection.  Iteration stops per element when the step
    is below 4 ulp; only unconverged elements are iterated.  Round trips are exact to about
    1e-13 in vol wherever the vega is not negligible.

    American method.  The American price is inverted inside the vol bracket [0.001, 20] by
    a Newton step that uses the European vega as derivative (started from the European implied
    vol of the price), then bracketed secant steps with Illinois regula falsi fallback.

    References
    ----------
    Jaeckel, P. (2015), "Let's be rational", *Wilmott* 2015(75), 40-53.
    Brenner, M. and Subrahmanyam, M. (1988), "A simple formula to compute the implied standard
    deviation", *Financial Analysts Journal* 44(5), 80-83.
    Manaster, S. and Koehler, G. (1982), "The calculation of implied variances from the
    Black-Scholes model: a note", *Journal of Finance* 37(1), 227-230.

    Examples
    --------
    Hull's example 15.6 priced at vol 20% gives back 20%; 425% vol at spot 3.15 is recovered:

    >>> from engine.pricing.black import bs_price
    >>> round(implied_vol(4.759422392871529, 42, 40, 0.5, 0.10, "call"), 12)
    0.2
    >>> p = bs_price(3.15, 3.0, 30 / 365, 0.05, 4.25, "put")
    >>> round(implied_vol(p, 3.15, 3.0, 30 / 365, 0.05, "put"), 10)
    4.25

    A put on S=3.15, K=5 (3 months, r=5%): the first price is below the discounted intrinsic
    value, the last above the discounted strike; ``full_output`` says why:

    >>> r = implied_vol([0.5, 2.0, 6.0], 3.15, 5.0, 0.25, 0.05, "put", full_output=True)
    >>> [round(v, 6) for v in r.vol.tolist()], [IVStatus(c).name for c in r.status]
    ([nan, 1.033939, nan], ['BELOW_INTRINSIC', 'OK', 'ABOVE_BOUND'])
    """
    style = parse_style(style)
    a, bad, form = prepare(price=price, spot=spot, strike=strike, t=t, rate=rate, kind=kind, q=q)
    shape = a["price"].shape
    flat = {k: v.ravel() for k, v in a.items()}
    kernel = _european_kernel if style == "european" else _american_kernel
    vol, status = kernel(
        flat["price"], flat["spot"], flat["strike"], flat["t"], flat["rate"], flat["kind"], flat["q"]
    )
    bad_flat = bad.ravel()
    status = np.where(bad_flat, IVStatus.BAD_INPUT, status).reshape(shape)
    vol = finish(vol.reshape(shape), bad, form)
    if form:
        status = int(status.reshape(-1)[0])
    elif form.index is not None and status.ndim == 1:
        import pandas as pd

        status = pd.Series(status, index=form.index, name=form.name)
    return IVResult(vol, status) if full_output else vol
