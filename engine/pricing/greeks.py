"""Option sensitivities: analytic for European exercise, finite differences for American.

:func:`greeks` returns raw units (vega per 1.00 vol, theta per year, rho per 1.00 rate) and
also the display conversions under their own names (``theta_per_day``, ``vega_per_point``),
so no function called ``vega`` or ``theta`` ever returns a rescaled number.
"""

from __future__ import annotations

import numpy as np

from engine._validate import finish, parse_style, prepare
from engine.pricing.american import _FINE, american_kernel, double_boundary, fd_spot_greeks
from engine.pricing.black import european_greeks
from engine.units import DAYS_PER_YEAR

__all__ = ["greeks", "decay_1d", "GREEK_NAMES"]

GREEK_NAMES = ("delta", "gamma", "vega", "theta", "rho")

Style = str  # "european" or "american" (checked by parse_style)


def _american_fd(spot, strike, t, rate, vol, w, q) -> dict[str, np.ndarray]:
    """Central finite differences of the American price (bumps relative to each input).

    Every price of the stencil uses the fine quadrature scheme (``engine.pricing.american._FINE``), so a
    bump never crosses a change of node count (see :func:`engine.pricing.american.scheme_index`).  Theta is the
    instantaneous ``-dV/dt`` per year, a central difference with a bump of ``1e-3 t``, the same
    quantity as the analytic European theta.  Where a spot bump lands in the exercise region a
    second-order one-sided stencil is used; double-boundary options (finite differences) take
    delta and gamma from their grid (:func:`engine.pricing.american.fd_spot_greeks`).
    """
    spot, strike, t, rate, vol, w, q = np.broadcast_arrays(spot, strike, t, rate, vol, w, q)
    # every price of the stencil on the fine 12-node scheme: its error is smooth in the inputs and
    # small enough that differences of it are accurate to ~1e-5 relative (the 8/10-node schemes
    # meet the price target but their error's slope can reach 3e-4 of a vega)
    scheme = np.full(spot.shape, _FINE)

    def price(s=spot, tt=t, r=rate, v=vol):
        return american_kernel(*np.broadcast_arrays(s, strike, tt, r, v, w, q), scheme=scheme)

    hs = 1e-3 * spot
    dbl = double_boundary(spot, strike, t, rate, vol, w, q)
    if dbl.any():
        # the finite-difference solver's own delta and gamma at the spot node (bumped spots would
        # each get their own grid, and differencing would difference the grids' errors)
        fd_price, fd_delta, fd_gamma = fd_spot_greeks(
            *(np.ascontiguousarray(a[dbl]) for a in (spot, strike, t, rate, vol, w, q))
        )
        keep = ~dbl
        sub = [a[keep] for a in (spot, strike, t, rate, vol, w, q)]
        up, mid, dn = (np.empty(spot.shape) for _ in range(3))
        for arr, s in ((up, sub[0] + hs[keep]), (mid, sub[0]), (dn, sub[0] - hs[keep])):
            arr[keep] = american_kernel(s, *sub[1:], scheme=scheme[keep])  # type: ignore[misc]
        up[dbl] = mid[dbl] = dn[dbl] = fd_price
    else:
        up, mid, dn = price(s=spot + hs), price(), price(s=spot - hs)
    delta = (up - dn) / (2 * hs)
    gamma = (up - 2 * mid + dn) / (hs * hs)
    # a bump into the exercise region (where V = intrinsic and gamma jumps to 0) spoils the
    # central stencil: there take the second-order one-sided stencil away from the boundary
    tiny = 1e-12 * strike
    mid_live = mid > np.maximum(w * (spot - strike), 0.0) + tiny
    into = (
        mid_live
        & ~dbl
        & np.where(
            w < 0,
            dn <= np.maximum(strike - spot + hs, 0.0) + tiny,
            up <= np.maximum(spot + hs - strike, 0.0) + tiny,
        )
    )
    if into.any():
        j = np.flatnonzero(into)
        sgn = -w[j]  # +1: step up, away from a put's boundary; -1: step down (calls)
        v1 = np.where(sgn > 0, up[j], dn[j])
        s_j, h_j = spot[j], sgn * hs[j]
        rest = [a[j] for a in (strike, t, rate, vol, w, q)]
        v2 = american_kernel(s_j + 2 * h_j, *rest, scheme=scheme[j])  # type: ignore[misc]
        v3 = american_kernel(s_j + 3 * h_j, *rest, scheme=scheme[j])  # type: ignore[misc]
        v0 = mid[j]
        delta[j] = (-3.0 * v0 + 4.0 * v1 - v2) / (2.0 * h_j)
        gamma[j] = (2.0 * v0 - 5.0 * v1 + 4.0 * v2 - v3) / (h_j * h_j)
    if dbl.any():
        delta[dbl], gamma[dbl] = fd_delta, fd_gamma
    hv = np.maximum(1e-4, 1e-3 * vol)
    vol_dn = np.maximum(vol - hv, 0.0)
    vega = (price(v=vol + hv) - price(v=vol_dn)) / (vol + hv - vol_dn)
    hr = 1e-4
    rho = (price(r=rate + hr) - price(r=rate - hr)) / (2 * hr)
    ht = 1e-3 * t
    with np.errstate(divide="ignore", invalid="ignore"):
        dvdt = (price(tt=t + ht) - price(tt=t - ht)) / (2.0 * ht)
    theta = np.where(t > 0, -dvdt, 0.0)
    return {"price": mid, "delta": delta, "gamma": gamma, "vega": vega, "theta": theta, "rho": rho}


def decay_1d(spot, strike, t, rate, vol, kind, q=0.0, style: Style = "european"):
    """Value change over the next calendar day, ``V(t - 1/365) - V(t)``, $ per share.

    The one-day decay a presentation layer may show beside theta: to expiry when that is closer
    than a day.  Not the same number as ``theta_per_day`` (the instantaneous theta / 365) for
    short-dated options, where the decay accelerates within the day.

    Parameters
    ----------
    spot, strike, t, rate, vol, kind, q, style
        As in :func:`greeks`.

    Returns
    -------
    float or ndarray
        $ per share (negative when the option loses value); pandas in, pandas out.

    References
    ----------
    Hull (2018), sec. 19.5 (theta as the rate of decay).

    Examples
    --------
    >>> round(decay_1d(3.15, 3.0, 2 / 365, 0.05, 4.25, "put"), 4)
    -0.1099
    """
    style = parse_style(style)
    a, bad, form = prepare(
        style == "american", spot=spot, strike=strike, t=t, rate=rate, vol=vol, kind=kind, q=q
    )
    args = [a[k] for k in ("spot", "strike", "t", "rate", "vol", "kind", "q")]
    t_next = np.maximum(args[2] - 1.0 / DAYS_PER_YEAR, 0.0)
    if style == "european":
        now = european_greeks(*args)["price"]
        nxt = european_greeks(args[0], args[1], t_next, *args[3:])["price"]
    else:
        now = american_kernel(*(np.ravel(x) for x in np.broadcast_arrays(*args))).reshape(a["t"].shape)
        moved = np.broadcast_arrays(args[0], args[1], t_next, *args[3:])
        nxt = american_kernel(*(np.ravel(x) for x in moved)).reshape(a["t"].shape)
    return finish(nxt - now, bad, form)


def greeks(spot, strike, t, rate, vol, kind, q=0.0, style: Style = "european") -> dict:
    """Delta, gamma, vega, theta and rho of an option, per share, in raw units.

    Parameters
    ----------
    spot, strike, t, rate, vol, kind, q
        As in :func:`engine.bs_price` (years ACT/365, continuous rates, decimal vol).
    style : {"european", "american"}
        European Greeks are analytic (Black-Scholes-Merton); American Greeks are central
        finite differences of :func:`engine.american_price` (see :func:`_american_fd`).

    Returns
    -------
    dict
        ``price`` (per share, computed in the same pass), ``delta`` (per 1.00 spot), ``gamma``
        (per 1.00 spot squared), ``vega`` (per 1.00 vol), ``theta`` (instantaneous ``-dV/dt``
        per year of calendar time, for both styles), ``rho`` (per 1.00 rate), the display
        conversions ``theta_per_day`` (theta / 365: the instantaneous rate, per day) and
        ``vega_per_point`` (vega / 100).  The value change over the next calendar day is the
        separately named :func:`decay_1d`.
        Floats when every argument is a scalar, pandas when a pandas argument was given (index
        and name kept), arrays otherwise (NaN for bad elements).

    References
    ----------
    Hull (2018), ch. 19; Haug (2007), ch. 2.

    Examples
    --------
    >>> g = greeks(49, 50, 0.3846, 0.05, 0.20, "call")   # Hull example 19.1
    >>> round(g["delta"], 3), round(g["gamma"], 4), round(g["vega_per_point"], 3)
    (0.522, 0.0655, 0.121)
    >>> round(g["theta_per_day"], 4)                      # Hull: -4.31 per year = -0.0118 per day
    -0.0118
    """
    style = parse_style(style)
    a, bad, form = prepare(
        style == "american", spot=spot, strike=strike, t=t, rate=rate, vol=vol, kind=kind, q=q
    )
    args = (a["spot"], a["strike"], a["t"], a["rate"], a["vol"], a["kind"], a["q"])
    raw = european_greeks(*args) if style == "european" else _american_fd(*args)
    raw["theta_per_day"] = raw["theta"] / DAYS_PER_YEAR
    raw["vega_per_point"] = raw["vega"] / 100.0
    return {
        name: finish(raw[name], bad, form)
        for name in ("price", *GREEK_NAMES, "theta_per_day", "vega_per_point")
    }
