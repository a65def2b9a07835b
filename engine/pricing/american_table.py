"""Fast American revaluation: the exact European value plus a tabulated early-exercise premium.

What this module holds
----------------------
* :func:`american_fast` - American prices of many spots/strikes/vols sharing one expiry and kind;
* :class:`EEPCache` - the premium tables, reused across calls (the simulator keeps one per run);
* ``_eep_table`` / ``_interp2`` - the table on a (log-moneyness, log-vol) grid and its bilinear
  interpolation.

The tables are computed with :func:`engine.pricing.american.american_price` (ALO, or the finite-difference
solver in the double-boundary case) and scaled to every strike by homogeneity.  Units follow the
glossary of :mod:`engine.pricing.black`.  :mod:`engine.risk.var` re-exports these names for its callers.

References
----------
Barone-Adesi, G. and Whaley, R. (1987), *J. Finance* 42(2) (price = European + early exercise
premium); Hull (2018), sec. 21.6 (homogeneity in S and K).
"""

from __future__ import annotations

import math

import numpy as np

from engine.pricing.black import black_parts, black_value

__all__ = ["american_fast", "EEPCache", "NX", "NSIG"]

NX = 241  # log-moneyness grid points of the early-exercise-premium table
NSIG = 33  # log-vol grid points when the vol varies across the query points
_NX, _NSIG = NX, NSIG


def _eep_table(
    t: float,
    rate: float,
    q: float,
    w: float,
    x_lo: float,
    x_hi: float,
    s_lo: float,
    s_hi: float,
    nx: int,
    nsig: int,
):
    """Early-exercise premium per unit strike on a (log-moneyness, log-vol) grid."""
    from engine.pricing.american import american_price

    x = np.linspace(x_lo, x_hi, nx)
    if s_hi / s_lo - 1.0 < 1e-12:
        lsig = np.array([math.log(s_lo)])
    else:
        lsig = np.linspace(math.log(s_lo), math.log(s_hi), nsig)
    xx, ll = np.meshgrid(x, lsig, indexing="ij")
    spot = np.exp(xx).ravel()
    vol = np.exp(ll).ravel()
    amer = np.asarray(american_price(spot, 1.0, t, rate, vol, w, q), dtype=float)
    euro = black_value(w, 1.0, black_parts(spot, 1.0, t, rate, vol, q))
    eep = np.maximum(amer - euro, 0.0).reshape(xx.shape)
    return x, lsig, eep


def _interp2(x_grid, l_grid, table, x, lsig):
    """Bilinear interpolation on uniform grids (clamped at the edges)."""
    nx = x_grid.size
    fx = (np.clip(x, x_grid[0], x_grid[-1]) - x_grid[0]) / (x_grid[1] - x_grid[0])
    ix = np.minimum(fx.astype(np.int64), nx - 2)
    ax = fx - ix
    if l_grid.size == 1:
        return table[ix, 0] * (1.0 - ax) + table[ix + 1, 0] * ax
    ns = l_grid.size
    fl = (np.clip(lsig, l_grid[0], l_grid[-1]) - l_grid[0]) / (l_grid[1] - l_grid[0])
    il = np.minimum(fl.astype(np.int64), ns - 2)
    al = fl - il
    return (table[ix, il] * (1 - al) + table[ix, il + 1] * al) * (1 - ax) + (
        table[ix + 1, il] * (1 - al) + table[ix + 1, il + 1] * al
    ) * ax


class EEPCache:
    """Cache of early-exercise-premium tables keyed by (t, rate, q, w, grid box).

    The simulation reuses one table for every chunk so results do not depend on chunking.
    """

    def __init__(
        self,
        x_lo: float = -6.0,
        x_hi: float = 4.0,
        s_lo: float | None = None,
        s_hi: float | None = None,
        nx: int = _NX,
        nsig: int = _NSIG,
    ) -> None:
        self.box = (x_lo, x_hi, s_lo, s_hi)
        self.nx, self.nsig = nx, nsig
        self.tables: dict[tuple, tuple] = {}

    def get(self, t: float, rate: float, q: float, w: float, s_lo: float, s_hi: float):
        key = (round(t, 12), rate, q, w)
        if key not in self.tables:
            x_lo, x_hi, b_lo, b_hi = self.box
            lo = s_lo if b_lo is None else b_lo
            hi = s_hi if b_hi is None else b_hi
            self.tables[key] = _eep_table(t, rate, q, w, x_lo, x_hi, lo, hi, self.nx, self.nsig)
        return self.tables[key]


def american_fast(
    spot, strike, t: float, rate: float, vol, w: float, q: float = 0.0, cache: EEPCache | None = None
) -> np.ndarray:
    """American price per share for many spots/strikes/vols sharing one expiry and kind.

    The value is the exact Black-Scholes-Merton European price plus the early-exercise
    premium ``K e(ln(S/K), sigma)``, where ``e`` is computed with :func:`engine.american_price`
    on a grid (241 log-moneyness points; 33 log-vol points when the vols differ) and
    interpolated bilinearly.  The premium is a small, smooth part of the price, so the
    interpolation error is far below a tick (tests compare with direct pricing).

    Parameters
    ----------
    spot, strike, vol : array_like
        Broadcast together; $ per share and annualized decimal vol, all > 0 (trusted).
    t : float
        Common time to expiry, years (ACT/365), > 0.
    rate, q : float
        Continuous rate and dividend yield.
    w : float
        +1 call, -1 put.
    cache : EEPCache, optional
        Reuse tables across calls (the grid box then comes from the cache).

    Returns
    -------
    ndarray
        American price per share.

    References
    ----------
    Barone-Adesi, G. and Whaley, R. (1987), *J. Finance* 42(2) (price = European + early
    exercise premium); Hull (2018), sec. 21.6 (homogeneity in S and K).

    Examples
    --------
    >>> from engine.pricing.american import american_price
    >>> fast = american_fast([2.0, 3.15], 2.5, 30 / 365, 0.04, 4.25, -1.0)
    >>> direct = american_price([2.0, 3.15], 2.5, 30 / 365, 0.04, 4.25, "put")
    >>> bool(np.allclose(fast, direct, atol=2e-4))
    True
    """
    spot, strike, vol = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (spot, strike, vol)))
    euro = black_value(w, strike, black_parts(spot, strike, t, rate, vol, q))
    if t <= 0:
        return np.maximum(w * (spot - strike), 0.0)
    x = np.log(spot / strike)
    lsig = np.log(vol)
    if cache is None:
        s_lo, s_hi = float(vol.min()), float(vol.max())
        x_lo, x_hi = float(x.min()) - 0.05, float(x.max()) + 0.05
        if x_hi - x_lo < 0.2:
            x_lo, x_hi = x_lo - 0.1, x_hi + 0.1
        xg, lg, tab = _eep_table(t, rate, q, w, x_lo, x_hi, s_lo, s_hi, _NX, _NSIG)
    else:
        xg, lg, tab = cache.get(t, rate, q, w, float(vol.min()), float(vol.max()))
    return euro + strike * _interp2(xg, lg, tab, x, lsig)
