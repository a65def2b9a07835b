"""Implied volatility (INTERIM: vectorized bisection; to be replaced by the fast solver)."""

from __future__ import annotations

import numpy as np

from engine._validate import finish, prepare
from engine.american import american_price
from engine.black import black_parts, black_value

__all__ = ["implied_vol"]


def implied_vol(price, spot, strike, t, rate, kind, q=0.0, style="european"):
    """Implied volatility (NaN where no vol reproduces the price)."""
    a, bad, scalar = prepare(price=price, spot=spot, strike=strike, t=t, rate=rate, kind=kind, q=q)
    lo = np.full(a["price"].shape, 1e-6)
    hi = np.full(a["price"].shape, 20.0)

    def f(v):
        if style == "european":
            return black_value(a["kind"], a["strike"], black_parts(a["spot"], a["strike"], a["t"], a["rate"], v, a["q"]))
        return american_price(a["spot"], a["strike"], a["t"], a["rate"], v, a["kind"], a["q"])

    plo, phi = f(lo), f(hi)
    ok = (a["price"] >= plo) & (a["price"] <= phi)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = f(mid) > a["price"]
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return finish(np.where(ok, 0.5 * (lo + hi), np.nan), bad, scalar)
