"""American exercise (INTERIM: vectorized binomial tree; to be replaced by the ALO QD+ method)."""

from __future__ import annotations

import numpy as np

from engine._validate import finish, prepare
from engine.black import black_parts, black_value

__all__ = ["american_price"]


def _american_kernel(spot, strike, t, rate, vol, w, q, steps: int = 400) -> np.ndarray:
    euro = black_value(w, strike, black_parts(spot, strike, t, rate, vol, q))
    dt = t / steps
    u = np.exp(vol * np.sqrt(dt))
    d = 1.0 / u
    disc = np.exp(-rate * dt)
    p = (np.exp((rate - q) * dt) - d) / (u - d)
    j = np.arange(steps + 1)
    s = spot[:, None] * u[:, None] ** (steps - 2 * j[None, :])
    v = np.maximum(w[:, None] * (s - strike[:, None]), 0.0)
    for n in range(steps, 0, -1):
        s = s[:, 1:] * u[:, None]
        v = disc[:, None] * (p[:, None] * v[:, :-1] + (1 - p[:, None]) * v[:, 1:])
        v = np.maximum(v, w[:, None] * (s - strike[:, None]))
    out = np.maximum(v[:, 0], euro)
    return out


def american_price(spot, strike, t, rate, vol, kind, q=0.0):
    """American option price per share (same arguments as :func:`engine.bs_price`)."""
    a, bad, scalar = prepare(spot=spot, strike=strike, t=t, rate=rate, vol=vol, kind=kind, q=q)
    shape = a["spot"].shape
    flat = {k: v.ravel() for k, v in a.items()}
    intrinsic = np.maximum(flat["kind"] * (flat["spot"] - flat["strike"]), 0.0)
    out = intrinsic.copy()
    live = (flat["t"] > 0) & (flat["vol"] > 0)
    if live.any():
        out[live] = _american_kernel(*(flat[k][live] for k in ("spot", "strike", "t", "rate", "vol", "kind", "q")))
    dead = (flat["t"] > 0) & (flat["vol"] == 0)
    if dead.any():
        sub = {k: flat[k][dead] for k in flat}
        euro = black_value(sub["kind"], sub["strike"], black_parts(sub["spot"], sub["strike"], sub["t"], sub["rate"], sub["vol"], sub["q"]))
        out[dead] = np.maximum(euro, intrinsic[dead])
    return finish(out.reshape(shape), bad, scalar)
