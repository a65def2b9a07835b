"""Implied-volatility surface by strike and expiry, solved from an option-chain CSV.

The chain CSV (``expiry, strike, kind, bid, ask`` and optionally ``last``, ``underlying``) is
read and validated by :func:`engine.data.chain.read_chain`.  Each quote's mid ``(bid + ask) / 2`` is inverted
with :func:`engine.implied_vol` (American style by default: listed equity options are American).
Quotes whose mid no vol can produce (below intrinsic value, above the bound, crossed or expired)
are dropped and reported in :attr:`VolSurface.quotes`, never silently used.  At each expiry and
strike the out-of-the-money quote is used (put below spot, call from spot up); the in-the-money
one only when the other is missing, because an American ITM price is mostly intrinsic value and
says little about vol.

Interpolation: within an expiry, linear in strike with flat extrapolation beyond the outermost
strikes; across expiries, linear in total variance ``w = vol^2 t`` at fixed strike, flat in vol
before the first and after the last expiry.  Linear total variance keeps a calendar-arbitrage-free
input (``w`` increasing in ``t``) free of calendar arbitrage between the nodes.

References
----------
Gatheral, J. *The Volatility Surface: A Practitioner's Guide* (Wiley 2006), ch. 1-3 (total
implied variance, calendar spread arbitrage).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from engine._validate import VolarbInputError
from engine.data.chain import ChainError, read_chain
from engine.units import DAYS_PER_YEAR

__all__ = [
    "VolSurface",
    "read_option_chain",
    "example_chain_path",
    "example_smile",
    "example_chain_frame",
    "write_example_chain",
]


class VolSurface:
    """Implied vol by strike and time, from nodes ``(t, strike, vol)``.

    Parameters
    ----------
    t : array_like
        Node times to expiry in years (ACT/365), > 0; nodes with the same ``t`` form a slice.
    strike : array_like
        Node strikes, $ per share, > 0.
    vol : array_like
        Node implied vols, annualized decimal, > 0.
    quotes : pandas.DataFrame, optional
        The chain quotes the nodes came from, with ``iv``, ``used`` and ``reason`` (report).
    valuation_date : datetime.date, optional
        Date the times are measured from (informational).

    Raises
    ------
    VolarbInputError
        If the arrays differ in length, are empty, or hold a non-positive or non-finite value.

    Examples
    --------
    Two expiries, flat in strike: at the middle time the total variance is the average,
    ``(1.0**2 * 0.1 + 2.0**2 * 0.3) / 2 = 0.65`` at ``t = 0.2``, so vol ``sqrt(0.65 / 0.2)``:

    >>> s = VolSurface([0.1, 0.3], [3.0, 3.0], [1.0, 2.0])
    >>> round(s.vol(3.0, 0.2), 12) == round((0.65 / 0.2) ** 0.5, 12)
    True
    """

    def __init__(self, t, strike, vol, *, quotes=None, valuation_date: _dt.date | None = None):
        t, k, v = (np.asarray(x, dtype=float).ravel() for x in (t, strike, vol))
        if not (t.size == k.size == v.size) or t.size == 0:
            raise VolarbInputError(
                f"VolSurface needs equal-length, non-empty t, strike, vol; got {t.size}, {k.size}, {v.size}"
            )
        for name, arr in (("t", t), ("strike", k), ("vol", v)):
            if not np.all(np.isfinite(arr) & (arr > 0)):
                raise VolarbInputError(f"VolSurface {name} must be positive and finite at every node")
        self.times = np.unique(t)
        self._slices = []
        for ti in self.times:
            sel = t == ti
            order = np.argsort(k[sel])
            ks, vs = k[sel][order], v[sel][order]
            if np.any(np.diff(ks) == 0):
                raise VolarbInputError(f"VolSurface: strike repeated at t={ti:g}")
            self._slices.append((ks, vs))
        self.quotes = quotes
        self.valuation_date = valuation_date

    @property
    def nodes(self):
        """The nodes as a DataFrame with columns ``t``, ``strike``, ``vol``."""
        import pandas as pd

        rows = [
            (ti, kk, vv)
            for ti, (ks, vs) in zip(self.times, self._slices, strict=True)
            for kk, vv in zip(ks, vs, strict=True)
        ]
        return pd.DataFrame(rows, columns=["t", "strike", "vol"])

    @property
    def dropped(self):
        """Chain quotes that could not be used (no vol reproduces their mid, crossed, expired)."""
        if self.quotes is None:
            return None
        return self.quotes[~self.quotes["solved"]].reset_index(drop=True)

    def vol(self, strike, t):
        """Interpolated implied vol at ``strike`` ($) and ``t`` (years); broadcasts.

        Returns
        -------
        float or ndarray
            Annualized decimal vol; NaN where ``strike`` or ``t`` is not positive and finite
            (``t == 0`` gives the first slice's vol at that strike).
        """
        scalar = np.ndim(strike) == 0 and np.ndim(t) == 0
        k, tt = np.broadcast_arrays(np.asarray(strike, dtype=float), np.asarray(t, dtype=float))
        shape = k.shape
        k, tt = k.ravel(), tt.ravel()
        bad = ~(np.isfinite(k) & (k > 0) & np.isfinite(tt) & (tt >= 0))
        k = np.where(bad, 1.0, k)
        tt = np.where(bad, 1.0, tt)
        vs = np.stack([np.interp(k, ks, v) for ks, v in self._slices])  # (slices, n)
        n = self.times.size
        if n == 1:
            out = vs[0]
        else:
            j = np.clip(np.searchsorted(self.times, tt, side="right") - 1, 0, n - 2)
            t0, t1 = self.times[j], self.times[j + 1]
            cols = np.arange(k.size)
            w0 = vs[j, cols] ** 2 * t0
            w1 = vs[j + 1, cols] ** 2 * t1
            frac = np.clip((tt - t0) / (t1 - t0), 0.0, 1.0)
            w = w0 + frac * (w1 - w0)
            inside = (tt > self.times[0]) & (tt < self.times[-1])
            safe_t = np.where(inside, tt, 1.0)
            interp = np.sqrt(np.maximum(w, 0.0) / safe_t)
            out = np.where(tt <= self.times[0], vs[0], np.where(tt >= self.times[-1], vs[-1], interp))
        out = np.where(bad, np.nan, out)
        return float(out[0]) if scalar else out.reshape(shape)

    def __repr__(self) -> str:
        return f"VolSurface({self.times.size} expiries, {sum(s[0].size for s in self._slices)} nodes)"


def surface_from_chain(chain, config=None, valuation_date=None, style: str = "american") -> VolSurface:
    """Solve a validated chain DataFrame (see :func:`engine.data.chain.read_chain`) into a surface.

    Parameters
    ----------
    chain : pandas.DataFrame
        Columns expiry, strike, kind, bid, ask, last.
    config : PlanConfig, optional
        Market spot, rate, dividend yield and valuation date (default: the plan's).
    valuation_date : date, optional
        Overrides ``config.valuation_date``.
    style : {"american", "european"}
        Exercise style inverted by :func:`engine.implied_vol`.

    Raises
    ------
    ChainError
        When no quote gives a usable implied vol.
    """
    from engine.config import default_config
    from engine.pricing.impliedvol import implied_vol, iv_status_message

    cfg = config if config is not None else default_config()
    val = valuation_date if valuation_date is not None else cfg.valuation_date
    m = cfg.market
    q = chain.copy().reset_index(drop=True)
    days = np.array([(e - val).days for e in q["expiry"]], dtype=float)
    q["t"] = np.maximum(days, 0.0) / DAYS_PER_YEAR
    bid, ask, last = q["bid"].to_numpy(float), q["ask"].to_numpy(float), q["last"].to_numpy(float)
    two_sided = np.isfinite(bid) & np.isfinite(ask)
    q["mid"] = np.where(two_sided, 0.5 * (bid + ask), last)
    q["price_source"] = np.where(two_sided, "mid", "last")
    reason = np.full(len(q), "", dtype=object)
    crossed = two_sided & (ask < bid)
    reason[crossed] = "crossed quote (ask below bid)"
    expired = days <= 0
    reason[expired] = "expired (expiry on or before the valuation date)"
    live = ~crossed & ~expired
    iv = np.full(len(q), np.nan)
    if live.any():
        res = implied_vol(
            q["mid"].to_numpy(float)[live],
            m.spot,
            q["strike"].to_numpy(float)[live],
            q["t"].to_numpy(float)[live],
            m.rate,
            q["kind"].to_numpy(object)[live],
            m.dividend_yield,
            style=style,
            full_output=True,
        )
        iv[live] = res.vol
        idx = np.flatnonzero(live)
        for j, code in zip(idx, np.atleast_1d(res.status), strict=True):
            if int(code) != 0:
                reason[j] = "no vol reproduces the mid: " + iv_status_message(code)
    q["iv"] = iv
    q["solved"] = np.isfinite(iv)
    otm = np.where(q["kind"] == "put", q["strike"] < m.spot, q["strike"] >= m.spot)
    q["otm"] = otm
    used = np.zeros(len(q), dtype=bool)
    for _, grp in q[q["solved"]].groupby(["expiry", "strike"], sort=False):
        pick = grp.index[grp["otm"].to_numpy()] if grp["otm"].any() else grp.index[:1]
        used[pick[0]] = True
        for j in grp.index:
            if j != pick[0]:
                reason[j] = "not used: the out-of-the-money quote at this strike is used"
    q["used"] = used
    reason[used] = "used"
    q["reason"] = reason
    if not used.any():
        raise ChainError(
            "option chain: no quote gives a usable implied vol (see the reasons: "
            + "; ".join(sorted(set(reason) - {""}))[:300]
            + ")"
        )
    nodes = q[used]
    return VolSurface(nodes["t"], nodes["strike"], nodes["iv"], quotes=q, valuation_date=val)


def read_option_chain(
    path: str | Path, config=None, valuation_date=None, style: str = "american"
) -> VolSurface:
    """Read an option-chain CSV and solve its implied-vol surface.

    Parameters
    ----------
    path : str or Path
        CSV with expiry, strike, kind, bid, ask (last, underlying optional); header any case.
    config : PlanConfig, optional
        Supplies spot, rate, dividend yield and the valuation date (default: the plan's).
    valuation_date : date, optional
        Overrides the config's valuation date.
    style : {"american", "european"}

    Returns
    -------
    VolSurface
        With :attr:`VolSurface.quotes` (every quote: mid, iv, used, reason) and
        :attr:`VolSurface.dropped` (quotes no vol reproduces, crossed or expired).

    Raises
    ------
    ChainError
        Unreadable file, unknown/missing columns, refused cells (file, line, column named), no
        usable quote.

    Examples
    --------
    >>> s = read_option_chain(example_chain_path())
    >>> round(float(s.vol(3.15, 55 / 365)), 2)
    4.25
    """
    chain = read_chain(path)
    return surface_from_chain(chain, config, valuation_date, style)


# --------------------------------------------------------------------------- the example chain
EXAMPLE_EXPIRIES = ("2025-10-17", "2025-11-21", "2025-12-19", "2026-01-16")
EXAMPLE_STRIKES = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0)
EXAMPLE_HALF_SPREAD = 0.02


def example_smile(strike, t, spot: float = 3.15):
    """The known smile the example chain is priced from (annualized decimal vol).

    ``vol = 4.25 - 0.60 ln(K / S) - 2.0 (t - 55/365)``: 425% at the money on the 2025-11-21
    expiry (55 days from 2025-09-27), higher for low strikes (put skew) and short expiries.

    >>> round(float(example_smile(3.15, 55 / 365)), 12)
    4.25
    """
    return (
        4.25
        - 0.60 * np.log(np.asarray(strike, dtype=float) / spot)
        - 2.0 * (np.asarray(t, dtype=float) - 55 / 365)
    )


def example_chain_frame(config=None):
    """Generate the example chain: American model prices at :func:`example_smile`, mid +/- $0.02.

    Bid and ask are rounded to $0.0001 so the mid reproduces the model price to 5e-5.
    """
    import pandas as pd

    from engine.config import default_config
    from engine.pricing.american import american_price

    cfg = config if config is not None else default_config()
    m = cfg.market
    rows = [(e, k, kind) for e in EXAMPLE_EXPIRIES for k in EXAMPLE_STRIKES for kind in ("put", "call")]
    df = pd.DataFrame(rows, columns=["expiry", "strike", "kind"])
    days = np.array([(_dt.date.fromisoformat(e) - cfg.valuation_date).days for e in df["expiry"]])
    t = days / DAYS_PER_YEAR
    vol = example_smile(df["strike"].to_numpy(float), t, m.spot)
    price = american_price(
        m.spot, df["strike"].to_numpy(float), t, m.rate, vol, df["kind"].to_numpy(object), m.dividend_yield
    )
    df["bid"] = np.round(price - EXAMPLE_HALF_SPREAD, 4)
    df["ask"] = np.round(price + EXAMPLE_HALF_SPREAD, 4)
    return df


def write_example_chain(path: str | Path, config=None) -> None:
    """Write :func:`example_chain_frame` as CSV (how ``engine/data/example_chain.csv`` was made)."""
    example_chain_frame(config).to_csv(path, index=False, float_format="%.4f")


def example_chain_path() -> Path:
    """Path of the built-in example option chain (package data)."""
    from importlib import resources

    return Path(str(resources.files("engine") / "data" / "example_chain.csv"))
