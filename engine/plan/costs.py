"""Trading costs of the simulation: the bid/ask half-spread model and its calibration on a chain.

A quoted option's half-spread (half of ask minus bid, $ per share) is modelled as

    ``h(mid) = max(pct x mid, minimum)``,

a fraction of the mid price with a dollar floor (listed options trade in $0.01-$0.05 ticks,
so a cheap option's spread does not shrink with its price).  A sale fills at the bid
``max(mid - h, 0)``, a purchase at the ask ``mid + h``.  The two parameters are measured from a
chain of quotes by :func:`measure_half_spread`; the config's defaults
(``execution.half_spread_pct`` and ``execution.half_spread_min``) are that measurement on the
built-in example chain ``engine/data/example_chain.csv`` (:func:`example_half_spread`), not
numbers typed in.

Commissions ($ per contract traded, $ per assignment or exercise event) and the fill limits
(``execution.max_order_size`` contracts per order, ``execution.max_orders_per_day`` orders per
option series per day) are plain config values, applied by :mod:`engine.risk.simulate`.

This module imports only the standard library and numpy (the config's defaults call it).

References
----------
Hull, J. C. (2018), *Options, Futures, and Other Derivatives*, ch. 10 (mechanics of options
markets: market makers' bid and offer quotes, commissions).  Cboe minimum price variations for
options: $0.05 below $3, $0.10 from $3 ($0.01/$0.05 for penny classes), the ``execution.tick_*``
keys.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["measure_half_spread", "example_half_spread", "half_spread"]


def measure_half_spread(bid, ask, tol: float = 1e-9) -> tuple[float, float]:
    """Fit ``h = max(pct x mid, minimum)`` to quotes: returns ``(pct, minimum)``.

    ``minimum`` is the tightest quoted half-spread ($ per share).  ``pct`` is the median of
    ``h / mid`` over the quotes whose half-spread is wider than that floor (by more than
    ``tol``), 0 when every quote sits on the floor.  Quotes with ``bid < 0``, ``ask <= bid``
    or a non-finite value are ignored.

    Parameters
    ----------
    bid, ask : array_like
        Quotes, $ per share.
    tol : float
        Half-spreads within ``tol`` of the floor count as on it ($ per share).

    Returns
    -------
    tuple of float
        ``(pct, minimum)``: fraction of mid, and $ per share.  ``(nan, nan)`` with no valid quote.

    Examples
    --------
    Two quotes on a $0.02 floor and one 5%-of-mid quote ($2.00 mid, $0.10 half-spread):

    >>> measure_half_spread([0.48, 0.98, 1.90], [0.52, 1.02, 2.10])
    (0.05, 0.02)
    """
    b = np.asarray(bid, dtype=float).ravel()
    a = np.asarray(ask, dtype=float).ravel()
    ok = np.isfinite(b) & np.isfinite(a) & (b >= 0) & (a > b)
    if not ok.any():
        return float("nan"), float("nan")
    half = (a[ok] - b[ok]) / 2.0
    mid = (a[ok] + b[ok]) / 2.0
    minimum = float(np.round(half.min(), 10))
    wide = half > minimum + tol
    pct = float(np.round(np.median(half[wide] / mid[wide]), 10)) if wide.any() else 0.0
    return pct, minimum


@lru_cache(maxsize=1)
def example_half_spread() -> tuple[float, float]:
    """:func:`measure_half_spread` on the built-in example chain (``engine/data/example_chain.csv``).

    >>> example_half_spread()
    (0.0, 0.02)
    """
    path = Path(__file__).resolve().parents[1] / "data" / "example_chain.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return measure_half_spread([float(r["bid"]) for r in rows], [float(r["ask"]) for r in rows])


def half_spread(mid, pct: float, minimum: float) -> np.ndarray:
    """Half-spread ``max(pct x mid, minimum)``, $ per share (arrays in, arrays out).

    >>> half_spread([0.10, 2.00], 0.05, 0.02).tolist()
    [0.02, 0.1]
    """
    return np.maximum(pct * np.asarray(mid, dtype=float), minimum)
