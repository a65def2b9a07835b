"""Option sensitivities: analytic for European exercise, finite differences for American.

:func:`greeks` returns raw units (vega per 1.00 vol, theta per year, rho per 1.00 rate) and
also the display conversions under their own names (``theta_per_day``, ``vega_per_point``),
so no function called ``vega`` or ``theta`` ever returns a rescaled number.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from engine._validate import finish, parse_style, prepare
from engine.pricing.american import american_kernel, scheme_index
from engine.pricing.black import european_greeks
from engine.units import DAYS_PER_YEAR

__all__ = ["greeks", "GREEK_NAMES"]

GREEK_NAMES = ("delta", "gamma", "vega", "theta", "rho")

Style = Literal["european", "american"]


def _american_fd(spot, strike, t, rate, vol, w, q) -> dict[str, np.ndarray]:
    """Central finite differences of the American price (bumps relative to each input).

    Every bumped price uses the base option's quadrature scheme, so a bump never crosses a
    change of node count (see :func:`engine.pricing.american.scheme_index`).
    """
    scheme = scheme_index(t, rate, vol, w, q)

    def price(s=spot, tt=t, r=rate, v=vol):
        return american_kernel(*np.broadcast_arrays(s, strike, tt, r, v, w, q), scheme=scheme)

    hs = 1e-3 * spot
    up, mid, dn = price(s=spot + hs), price(), price(s=spot - hs)
    delta = (up - dn) / (2 * hs)
    gamma = (up - 2 * mid + dn) / (hs * hs)
    hv = np.maximum(1e-4, 1e-3 * vol)
    vol_dn = np.maximum(vol - hv, 0.0)
    vega = (price(v=vol + hv) - price(v=vol_dn)) / (vol + hv - vol_dn)
    hr = 1e-4
    rho = (price(r=rate + hr) - price(r=rate - hr)) / (2 * hr)
    # theta: one calendar day forward (or to expiry if closer), per year
    ht = np.minimum(1.0 / DAYS_PER_YEAR, t)
    t_dn = t - ht
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(ht > 0, (price(tt=t_dn) - mid) / np.where(ht > 0, ht, 1.0), 0.0)
    return {"price": mid, "delta": delta, "gamma": gamma, "vega": vega, "theta": theta, "rho": rho}


def greeks(spot, strike, t, rate, vol, kind, q=0.0, style: Style = "european") -> dict:
    """Delta, gamma, vega, theta and rho of an option, per share, in raw units.

    Parameters
    ----------
    spot, strike, t, rate, vol, kind, q
        As in :func:`engine.bs_price` (years ACT/365, continuous rates, decimal vol).
    style : {"european", "american"}
        European Greeks are analytic (Black-Scholes-Merton); American Greeks are central
        finite differences of :func:`engine.american_price`.

    Returns
    -------
    dict
        ``price`` (per share, computed in the same pass), ``delta`` (per 1.00 spot), ``gamma`` (per 1.00 spot squared), ``vega`` (per 1.00 vol),
        ``theta`` (per year of calendar time), ``rho`` (per 1.00 rate), and the display
        conversions ``theta_per_day`` (theta / 365) and ``vega_per_point`` (vega / 100).
        Floats when every argument is a scalar, arrays otherwise (NaN for bad elements).

    References
    ----------
    Hull (2018), ch. 19; Haug (2007), ch. 2.

    Examples
    --------
    >>> g = greeks(49, 50, 0.3846, 0.05, 0.20, "call")   # Hull example 19.1
    >>> round(g["delta"], 3), round(g["gamma"], 4), round(g["vega_per_point"], 3)
    (0.522, 0.0655, 0.121)
    """
    style = parse_style(style)
    a, bad, scalar = prepare(spot=spot, strike=strike, t=t, rate=rate, vol=vol, kind=kind, q=q)
    args = (a["spot"], a["strike"], a["t"], a["rate"], a["vol"], a["kind"], a["q"])
    raw = european_greeks(*args) if style == "european" else _american_fd(*args)
    out = {name: finish(raw[name], bad, scalar) for name in ("price", *GREEK_NAMES)}
    out["theta_per_day"] = out["theta"] / DAYS_PER_YEAR
    out["vega_per_point"] = out["vega"] / 100.0
    return out
