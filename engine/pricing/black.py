"""The one Black-Scholes-Merton kernel: forward, total standard deviation, discount factor.

Everything European in volarb (price, Greeks, risk-neutral probabilities, implied vol) and the
American approximation reuse :func:`black_parts` and :func:`black_value`; there is no second copy
of the formula in the package (house style rule 3).

Glossary (the same order and units everywhere in volarb)
--------------------------------------------------------
spot : underlying price S (currency per share), > 0
strike : strike K (currency per share), > 0
t : time to expiry in years, ACT/365 (days / 365), >= 0
rate : continuously compounded risk-free rate r (0.05 = 5%)
vol : annualized volatility sigma as a decimal (4.25 = 425%), >= 0
kind : "call"/"put" ("C"/"P", any case) or +1/-1; internally w = +1 call, -1 put
q : continuous dividend yield (0.01 = 1%)

Raw units: prices per share; vega per 1.00 of vol; theta per year; rho per 1.00 of rate.
See :mod:`engine.units` for the per-day theta and per-vol-point vega used for display.

References
----------
Hull, J. C. *Options, Futures, and Other Derivatives*, 10th ed., ch. 15 and 19.
Haug, E. G. *The Complete Guide to Option Pricing Formulas*, 2nd ed., sec. 1.1-1.2.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import log_ndtr, ndtr

from engine._validate import finish, prepare

__all__ = [
    "BlackParts",
    "black_parts",
    "black_d2",
    "black_value",
    "bs_price",
    "european_greeks",
    "prob_itm",
    "prob_touch",
    "norm_pdf",
    "norm_cdf",
]

_INV_SQRT_2PI = 0.3989422804014327


def _inplace(func, x, *more):
    """``func(x, *more)``, written into ``x`` when ``x`` is an array of the result's shape.

    ``x`` must be a fresh temporary of the caller's.  At N = 1e6 a new 8 MB temporary costs more
    than the arithmetic done in it (page faults), so the Black kernel reuses its temporaries;
    a 0-d value or one that ``more`` broadcasts to a larger shape gets a new result instead.
    """
    if isinstance(x, np.ndarray) and x.ndim and x.shape == np.broadcast_shapes(x.shape, *map(np.shape, more)):
        return func(x, *more, out=x)
    return func(x, *more)


def norm_pdf(x: np.ndarray) -> np.ndarray:
    """Standard normal density."""
    return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def norm_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal distribution function (scipy's ``ndtr``: accurate in both tails)."""
    return ndtr(x)


class BlackParts(NamedTuple):
    """The normalized quantities of the Black formula for arrays of options.

    ``fwd = spot * exp((rate - q) t)``, ``sd = vol sqrt(t)``, ``df = exp(-rate t)``,
    ``dq = exp(-q t)``; ``d1, d2`` are the usual ``(ln(F/K) +- sd^2/2) / sd`` and are set to
    +-inf (by the sign of ``ln F/K``, 0 when at the money) where ``sd == 0``.
    """

    fwd: np.ndarray
    sd: np.ndarray
    df: np.ndarray
    dq: np.ndarray
    d1: np.ndarray
    d2: np.ndarray


def black_parts(spot, strike, t, rate, vol, q) -> BlackParts:
    """Forward, total standard deviation, discount factors and d1/d2 (arrays, no checks).

    Examples
    --------
    >>> p = black_parts(100.0, 100.0, 1.0, 0.0, 0.2, 0.0)
    >>> round(float(p.d1), 6), round(float(p.d2), 6)
    (0.1, -0.1)
    """
    spot, strike, t, rate, vol, q = (np.asarray(a, dtype=float) for a in (spot, strike, t, rate, vol, q))
    # written with in-place operations on fresh temporaries: at N = 1e6 a new 8 MB temporary costs
    # more than the arithmetic done in it (page faults), so fewer allocations is faster
    df = _inplace(np.exp, np.negative(rate) * t)
    dq = _inplace(np.exp, np.negative(q) * t)
    fwd = spot * dq
    fwd /= df
    sd = np.sqrt(t)
    sd *= vol
    logm = _inplace(np.log, fwd / strike)
    if sd.size and sd.min() > 0:  # the common case: no limits to take (one pass)
        d1 = _inplace(np.divide, logm, sd)
        d1 += 0.5 * sd
        return BlackParts(fwd, sd, df, dq, d1, d1 - sd)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = sd > 0
        safe_sd = np.where(pos, sd, 1.0)
        d1 = np.where(pos, logm / safe_sd + 0.5 * safe_sd, np.sign(logm) * np.inf)
        d2 = np.where(pos, d1 - safe_sd, d1)
    d1 = np.where(pos | (logm != 0), d1, 0.0)
    d2 = np.where(pos | (logm != 0), d2, 0.0)
    return BlackParts(fwd, sd, df, dq, d1, d2)


def black_d2(spot, strike, t, rate, vol, q, sd) -> np.ndarray:
    """``d2 = (ln(S/K) + (r - q - vol^2/2) t) / sd`` in one pass (arrays, no checks; ``sd = vol sqrt t``).

    The same d2 as :func:`black_parts` (``ln(F/K)/sd - sd/2``) without the discount factors and
    the forward, for callers that need d2 alone (:func:`prob_itm`); ``inf``/``nan`` where ``sd`` is
    0 (the caller takes the limits of :func:`black_parts` there).

    >>> round(float(black_d2(100.0, 100.0, 1.0, 0.0, 0.2, 0.0, 0.2)), 6)
    -0.1
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        vol = np.asarray(vol, dtype=float)
        x = _inplace(np.log, np.asarray(spot, dtype=float) / strike)
        drift = _inplace(np.subtract, np.asarray(rate, dtype=float) - q, 0.5 * vol * vol)
        drift = _inplace(np.multiply, drift, t)
        return _inplace(np.divide, _inplace(np.add, x, drift), sd)


def black_value(w, strike, parts: BlackParts, nd1=None, nd2=None) -> np.ndarray:
    """Undiscounted-then-discounted Black value ``df * w * (F N(w d1) - K N(w d2))``.

    At ``sd == 0`` this is the discounted forward intrinsic value ``df * max(w (F - K), 0)``.
    ``nd1 = N(w d1)`` and ``nd2 = N(w d2)`` may be passed when the caller already has them.
    """
    f, k = parts.fwd, np.asarray(strike, dtype=float)
    if nd1 is None:
        nd1 = _inplace(ndtr, w * parts.d1)
    if nd2 is None:
        nd2 = _inplace(ndtr, w * parts.d2)
    val = _inplace(np.subtract, f * nd1, k * nd2)
    val = _inplace(np.multiply, val, w)
    val = _inplace(np.multiply, val, parts.df)
    # sd == 0: the formula is exact except at F == K, where N(0) = 1/2 would leave a 0 anyway
    return _inplace(np.maximum, val, 0.0)


def bs_price(spot, strike, t, rate, vol, kind, q=0.0):
    """European Black-Scholes-Merton price per share.

    Parameters
    ----------
    spot, strike : array_like
        Underlying price and strike (currency per share), both > 0.
    t : array_like
        Time to expiry in years (ACT/365), >= 0.  ``t == 0`` gives the intrinsic value.
    rate : array_like
        Continuously compounded risk-free rate (0.05 = 5%).
    vol : array_like
        Annualized volatility as a decimal (4.25 = 425%), >= 0.  ``vol == 0`` gives the
        discounted forward intrinsic value ``exp(-rate t) max(w (F - K), 0)``.
    kind : str or array_like
        "call"/"put" (also "C"/"P", any case, or +1/-1).
    q : array_like, optional
        Continuous dividend yield (default 0).

    Returns
    -------
    float or ndarray
        Price per share; a float when every argument is a scalar.  In an array call an element
        with a bad argument is NaN; in a scalar call it raises :class:`VolarbInputError`.

    References
    ----------
    Hull (2018), eq. 15.20-15.21 and 17.4-17.5; Haug (2007), sec. 1.1.6.

    Examples
    --------
    Hull's example 15.6: S=42, K=40, r=10%, sigma=20%, T=0.5.

    >>> round(bs_price(42, 40, 0.5, 0.10, 0.20, "call"), 4)
    4.7594
    >>> round(bs_price(42, 40, 0.5, 0.10, 0.20, "put"), 4)
    0.8086
    """
    a, bad, scalar = prepare(False, spot=spot, strike=strike, t=t, rate=rate, vol=vol, kind=kind, q=q)
    parts = black_parts(a["spot"], a["strike"], a["t"], a["rate"], a["vol"], a["q"])
    value = black_value(a["kind"], a["strike"], parts)
    if a["t"].min() == 0:
        expired = a["t"] == 0
        value = np.where(expired, np.maximum(a["kind"] * (a["spot"] - a["strike"]), 0.0), value)
    return finish(value, bad, scalar)


def european_greeks(spot, strike, t, rate, vol, w, q) -> dict[str, np.ndarray]:
    """Analytic BSM price and Greeks in raw units on validated arrays (kernel; no checks).

    Returns ``price`` (per share) and delta per 1.00 of spot, gamma per 1.00 of spot squared,
    vega per 1.00 of vol, theta per year of calendar time (``-dV/dt``), rho per 1.00 of rate,
    all from one evaluation of :func:`black_parts`.  Where ``t == 0`` or ``vol == 0`` the limits
    are used: delta is the (forward) intrinsic slope, gamma and vega are 0, theta and rho are
    those of the discounted forward intrinsic value (all zero at ``t == 0``).

    References
    ----------
    Hull (2018), sec. 19.4-19.8 with dividend yield (Table 19.6); Haug (2007), sec. 2.1.
    """
    p = black_parts(spot, strike, t, rate, vol, q)
    sqrt_t = np.sqrt(t)
    nd1 = ndtr(w * p.d1)
    nd2 = ndtr(w * p.d2)
    kdf = strike * p.df
    sdq = spot * p.dq
    price = black_value(w, strike, p, nd1, nd2)
    live = p.sd > 0
    all_live = bool(np.all(live))
    if all_live:
        pdf1 = norm_pdf(p.d1)
        gamma = p.dq * pdf1 / (spot * p.sd)
        vega = sdq * pdf1 * sqrt_t
        decay = -0.5 * vega * vol / t
    else:
        safe_sd = np.where(live, p.sd, 1.0)
        pdf1 = norm_pdf(np.where(live, p.d1, 0.0))
        gamma = np.where(live, p.dq * pdf1 / (spot * safe_sd), 0.0)
        vega = np.where(live, sdq * pdf1 * sqrt_t, 0.0)
        decay = np.where(live, -0.5 * vega * vol / np.where(live, t, 1.0), 0.0)
    delta = w * p.dq * nd1
    theta = decay - w * rate * kdf * nd2 + w * q * sdq * nd1
    rho = w * kdf * t * nd2
    if not all_live:
        expired = t == 0
        if np.any(expired):
            itm = (w * (spot - strike) > 0).astype(float)
            price = np.where(expired, np.maximum(w * (spot - strike), 0.0), price)
            delta = np.where(expired, w * itm, delta)
            theta = np.where(expired, 0.0, theta)
            rho = np.where(expired, 0.0, rho)
    return {"price": price, "delta": delta, "gamma": gamma, "vega": vega, "theta": theta, "rho": rho}


def prob_itm(spot, strike, t, rate, vol, kind, q=0.0):
    """Risk-neutral probability that the option finishes in the money, ``N(w d2)``.

    This is the plan's "assignment probability" of a short put (for an American put held to
    expiry; early assignment is not included).  ``t == 0`` or ``vol == 0`` give 1 or 0 by
    whether the spot (``t == 0``) or the forward (``vol == 0``) is in the money.

    Parameters
    ----------
    spot, strike, t, rate, vol, kind, q
        As in :func:`bs_price`.

    Returns
    -------
    float or ndarray
        Probability in [0, 1].

    References
    ----------
    Hull (2018), sec. 15.8 (N(d2) is the risk-neutral probability of exercise).

    Examples
    --------
    >>> round(prob_itm(100, 100, 1.0, 0.0, 0.2, "call"), 6)
    0.460172
    """
    a, bad, scalar = prepare(False, spot=spot, strike=strike, t=t, rate=rate, vol=vol, kind=kind, q=q)
    w = a["kind"]
    t, vol = a["t"], a["vol"]
    sd = np.sqrt(t)
    sd *= vol
    x = black_d2(a["spot"], a["strike"], t, a["rate"], vol, a["q"], sd)
    x *= w
    prob = _inplace(ndtr, x)
    if sd.size and not sd.min() > 0:  # sd == 0: the limits of black_parts (forward in the money or not)
        p = black_parts(a["spot"], a["strike"], t, a["rate"], vol, a["q"])
        prob = np.where(sd > 0, prob, ndtr(w * p.d2))
    if t.min() == 0:
        expired = a["t"] == 0
        prob = np.where(expired, (w * (a["spot"] - a["strike"]) > 0).astype(float), prob)
    return finish(prob, bad, scalar)


def prob_touch(spot, strike, t, rate, vol, kind, q=0.0):
    """Risk-neutral probability that the spot touches the strike at some time before expiry.

    For a put the strike is touched from above (the spot falls to ``K``), for a call from below.
    Under GBM with log drift ``mu = rate - q - vol^2 / 2`` and ``x = ln(K / S)`` the first-passage
    (reflection-principle) probabilities are, with ``s = vol sqrt(t)``::

        put  (K < S):  N((x - mu t) / s) + exp(2 mu x / vol^2) N((x + mu t) / s)
        call (K > S):  N((mu t - x) / s) + exp(2 mu x / vol^2) N((-x - mu t) / s)

    An option already in the money (or at it) has touched: 1.  With zero drift (``rate - q =
    vol^2 / 2``) this is twice :func:`prob_itm` (reflection).  ``t == 0`` gives 1 or 0 by the
    spot; ``vol == 0`` gives 1 when the deterministic forward path ``S e^{(r - q) u}``,
    ``u <= t``, reaches the strike.  It is at least :func:`prob_itm` and, for a short put at
    high vol, far above it: the chance that the put goes in the money at some point, which is
    what exposes a short put to early assignment.

    Parameters
    ----------
    spot, strike, t, rate, vol, kind, q
        As in :func:`bs_price`.

    Returns
    -------
    float or ndarray
        Probability in [0, 1]; pandas in, pandas out.

    References
    ----------
    Reiner, E. and Rubinstein, M. (1991), "Breaking down the barriers", *Risk* 4(8), 28-35;
    Haug (2007), sec. 4.19 (barrier hit probabilities); Shreve, *Stochastic Calculus for
    Finance II* (2004), sec. 7.2 (first passage of Brownian motion with drift).

    Examples
    --------
    Zero drift: touching is twice as likely as finishing beyond the strike.

    >>> r = 0.5 * 0.2 ** 2
    >>> round(prob_touch(100, 90, 1.0, r, 0.2, "put") / prob_itm(100, 90, 1.0, r, 0.2, "put"), 12)
    2.0
    >>> round(prob_touch(3.15, 2.5, 30 / 365, 0.05, 4.25, "put"), 4)
    0.9296
    """
    a, bad, form = prepare(False, spot=spot, strike=strike, t=t, rate=rate, vol=vol, kind=kind, q=q)
    w, S, K, T, sig = a["kind"], a["spot"], a["strike"], a["t"], a["vol"]
    drift = a["rate"] - a["q"]
    x = np.log(K / S)
    touched = w * x <= 0.0  # in (or at) the money already
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = sig * np.sqrt(T)
        mu = drift - 0.5 * sig * sig
        # put: barrier below (x < 0, w = -1); call: above (x > 0, w = +1).  With y = w x > 0:
        y = w * x
        m = w * mu
        first = ndtr((m * T - y) / s)
        second = np.exp(2.0 * m * y / (sig * sig) + log_ndtr((-y - m * T) / s))
        p = np.minimum(first + second, 1.0)
        # vol == 0 (or t == 0): the deterministic path S e^{drift u}, u <= t, reaches K
        det = w * (x - drift * T) <= 0.0
    p = np.where(s > 0, p, det.astype(float))
    p = np.where(touched, 1.0, p)
    return finish(p, bad, form)
