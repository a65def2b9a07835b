"""Today's market in the files the other commands read: snapshot, chain rows, 30-day ATM IV, histories.

Pure shaping (no network, no file writes): a provider (:mod:`connect.marketdata`) turns its
response into a :class:`MarketSnapshot` with :func:`chain_frame`; :func:`check_snapshot`
refuses what must not overwrite yesterday's files (no spot, no options, an empty or malformed
chain, stale quotes); :func:`atm_iv` gives the day's 30-day at-the-money implied vol for the IV
history and :func:`merge_history` appends one dated value to a ``date, iv`` or ``date, close``
table (a rerun the same day replaces that day's value).

File formats (as :func:`engine.pricing.surface.read_option_chain`,
:func:`engine.data.ivhistory.read_iv_history` and :func:`engine.risk.var.read_price_history`
read them): ``chain.csv`` ``expiry, strike, kind, bid, ask, iv, open_interest`` (iv and open
interest blank when the provider gives none), ``iv-history.csv`` ``date, iv`` (decimal),
``prices.csv`` ``date, close`` ($ per share).

30-day ATM IV
-------------
For each listed expiry ``T_i`` (calendar days ACT/365 from the valuation date) the ATM vol
``sigma_i`` is the mean of the put and call implied vols at the strike nearest the spot (the
provider's iv when given, else the American implied vol of the bid/ask mid).  The target
``T* = target_dte / 365`` is reached by linear interpolation of total variance
``w = sigma^2 T`` between the two expiries around it, ``sigma* = sqrt(w(T*) / T*)``, the
interpolation of the CBOE VIX method (Cboe VIX White Paper, 2019, "interpolate ... to arrive at
a single value with a constant maturity of 30 days"); outside the listed expiries the nearest
expiry's vol is used flat.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from typing import Any

import numpy as np

from engine.units import days_to_years

__all__ = [
    "MarketDataError",
    "MarketSnapshot",
    "AtmIv",
    "CHAIN_FILE_COLUMNS",
    "FAULTS",
    "chain_frame",
    "check_snapshot",
    "atm_iv",
    "merge_history",
]

CHAIN_FILE_COLUMNS = ("expiry", "strike", "kind", "bid", "ask", "iv", "open_interest")
#: an implied vol below this (0.1%) is a provider's "could not invert" placeholder, not a vol
IV_PLACEHOLDER = 1e-3
#: Kinds of :class:`MarketDataError` (each exits 3 in the CLI, previous files untouched).
FAULTS = ("unreachable", "rate_limited", "empty_chain", "malformed", "no_options", "stale")


class MarketDataError(Exception):
    """The data source failed or returned data that must not replace the previous files.

    Not a :class:`engine.VolarbInputError`: nothing the user typed is wrong, the source is
    (the CLI exits 3, not 2).  ``kind`` is one of :data:`FAULTS`.
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclasses.dataclass(frozen=True)
class MarketSnapshot:
    """One provider's answer for one symbol, parsed.

    Attributes
    ----------
    symbol : str
    spot : float
        Last price, $ per share.
    quote_time : datetime.datetime
        Time of that price (timezone-aware UTC).
    chain : pandas.DataFrame
        :data:`CHAIN_FILE_COLUMNS` (expiry as date; bid/ask $ per share; iv decimal or NaN;
        open_interest contracts or NaN).
    closes : pandas.DataFrame
        ``date, close``: daily closes the provider gave (today's last, if the session closed).
    earnings : datetime.date or None
        Next earnings date, where the provider has one.
    source : str
        Provider name ("folder", "yahoo", "tastytrade").
    """

    symbol: str
    spot: float
    quote_time: _dt.datetime
    chain: Any
    closes: Any
    earnings: _dt.date | None
    source: str


@dataclasses.dataclass(frozen=True)
class AtmIv:
    """The constant-maturity at-the-money implied vol of one day (see the module docstring).

    Attributes
    ----------
    iv : float
        Annualized decimal vol at ``target_dte`` days.
    target_dte : int
    expiries : tuple of (date, days, vol)
        The per-expiry ATM vols used (one or two).
    """

    iv: float
    target_dte: int
    expiries: tuple[tuple[_dt.date, int, float], ...]


def _num(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):
        t = value.strip().replace("$", "").replace(",", "")
        if not t or t.lower() in ("nan", "none", "null", "-"):
            return math.nan
        return float(t)
    return float(value)


def _date(value: Any) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # epoch seconds (Yahoo)
        return _dt.datetime.fromtimestamp(float(value), tz=_dt.UTC).date()
    return _dt.date.fromisoformat(str(value).strip()[:10])


def chain_frame(rows, source: str):
    """Validate provider chain rows (dicts) into the ``chain.csv`` table.

    Each row needs ``expiry``, ``strike``, ``kind`` (put/call, P/C), ``bid`` and ``ask``;
    ``iv`` (decimal; below 0.1% it is a placeholder and left blank) and ``open_interest`` are
    optional.  A quote without a two-sided market
    (bid or ask missing, ask < bid, or ask 0) is dropped: it is no price.

    Raises
    ------
    MarketDataError
        ``malformed`` when a row cannot be read (the first bad row named); ``empty_chain`` when
        no row has a two-sided quote.

    Examples
    --------
    >>> df = chain_frame([{"expiry": "2025-10-17", "strike": 2.5, "kind": "P", "bid": 0.9, "ask": 1.1},
    ...                   {"expiry": "2025-10-17", "strike": 3, "kind": "put", "bid": None, "ask": 1.2}], "demo")
    >>> df[["strike", "kind", "bid", "ask"]].values.tolist()
    [[2.5, 'put', 0.9, 1.1]]
    """
    import pandas as pd

    kinds = {"put": "put", "p": "put", "call": "call", "c": "call"}
    out = []
    for i, r in enumerate(rows):
        try:
            kind = kinds[str(r["kind"]).strip().lower()]
            expiry = _date(r["expiry"])
            strike, bid, ask = _num(r["strike"]), _num(r.get("bid")), _num(r.get("ask"))
            iv, oi = _num(r.get("iv")), _num(r.get("open_interest"))
        except (KeyError, ValueError, TypeError, OverflowError) as exc:
            raise MarketDataError(
                "malformed",
                f"{source}: chain row {i + 1} is malformed "
                f"({type(exc).__name__}: {exc}); expected expiry, strike, kind, bid, ask",
            ) from None
        if not (strike > 0):
            raise MarketDataError(
                "malformed", f"{source}: chain row {i + 1}: strike must be > 0, got {r['strike']!r}"
            )
        if iv == iv and not iv >= IV_PLACEHOLDER:
            iv = math.nan  # Yahoo reports 0 or 1e-05 for quotes it could not invert
        if bid == bid and ask == ask and 0 <= bid <= ask and ask > 0:
            out.append(
                {
                    "expiry": expiry,
                    "strike": strike,
                    "kind": kind,
                    "bid": bid,
                    "ask": ask,
                    "iv": iv,
                    "open_interest": oi,
                }
            )
    if not out:
        raise MarketDataError(
            "empty_chain", f"{source}: the option chain has no two-sided quote (bid and ask)"
        )
    df = pd.DataFrame(out, columns=list(CHAIN_FILE_COLUMNS))
    return df.sort_values(["expiry", "strike", "kind"], kind="stable").reset_index(drop=True)


def check_snapshot(snap: MarketSnapshot, now: _dt.datetime, max_age_hours: float) -> None:
    """Refuse a snapshot that must not replace yesterday's files.

    Raises
    ------
    MarketDataError
        ``malformed`` (no positive spot), ``no_options`` (no chain), ``stale`` (quote older
        than ``max_age_hours``, the age and the limit named).

    Examples
    --------
    >>> import pandas as pd
    >>> t = _dt.datetime(2025, 10, 17, 20, 0, tzinfo=_dt.UTC)
    >>> snap = MarketSnapshot("ASST", 3.1, t, pd.DataFrame({"strike": [3.0]}), None, None, "demo")
    >>> check_snapshot(snap, t + _dt.timedelta(hours=100), 96)
    Traceback (most recent call last):
    ...
    engine.data.marketfiles.MarketDataError: demo: ASST quotes are 100.0 hours old (2025-10-17 20:00 UTC), older than data.max_quote_age_hours = 96
    """
    if not (isinstance(snap.spot, (int, float)) and math.isfinite(snap.spot) and snap.spot > 0):
        raise MarketDataError(
            "malformed", f"{snap.source}: {snap.symbol}: no valid last price (got {snap.spot!r})"
        )
    if snap.chain is None or len(snap.chain) == 0:
        raise MarketDataError("no_options", f"{snap.source}: {snap.symbol} has no listed options")
    qt = snap.quote_time if snap.quote_time.tzinfo else snap.quote_time.replace(tzinfo=_dt.UTC)
    age = (now - qt).total_seconds() / 3600.0
    if age > max_age_hours:
        raise MarketDataError(
            "stale",
            f"{snap.source}: {snap.symbol} quotes are {age:.1f} hours old "
            f"({qt.astimezone(_dt.UTC):%Y-%m-%d %H:%M} UTC), older than "
            f"data.max_quote_age_hours = {max_age_hours:g}",
        )


def atm_iv(
    chain, spot: float, valuation_date: _dt.date, target_dte: int = 30, rate: float = 0.04, q: float = 0.0
) -> AtmIv:
    """The constant-maturity ATM implied vol of a chain (see the module docstring).

    Parameters
    ----------
    chain : pandas.DataFrame
        :func:`chain_frame` table.
    spot : float
        Underlying price, $.
    valuation_date : datetime.date
    target_dte : int
        Calendar days of the constant maturity (30).
    rate, q : float
        Continuous rate and dividend yield (for vols implied from mids).

    Returns
    -------
    AtmIv

    Raises
    ------
    MarketDataError
        ``empty_chain`` when no expiry after the valuation date has an ATM vol.

    Examples
    --------
    Two expiries at 20 and 50 days with ATM vols 4.0 and 3.0: total variance
    ``4.0^2 x 20/365`` and ``3.0^2 x 50/365`` interpolated to 30 days,
    ``sqrt((16 x 20 + (9 x 50 - 16 x 20) x 10/30) / 30) = 3.4801``:

    >>> import pandas as pd
    >>> d = _dt.date(2025, 10, 1)
    >>> ch = pd.DataFrame({"expiry": [d + _dt.timedelta(days=20)] * 2 + [d + _dt.timedelta(days=50)] * 2,
    ...                    "strike": [3.0] * 4, "kind": ["put", "call"] * 2, "bid": [1.0] * 4,
    ...                    "ask": [1.1] * 4, "iv": [4.0, 4.0, 3.0, 3.0], "open_interest": [float("nan")] * 4})
    >>> round(atm_iv(ch, 3.0, d).iv, 4)
    3.4801
    """
    from engine.pricing.impliedvol import implied_vol

    per: list[tuple[_dt.date, int, float]] = []
    for expiry, grp in chain.groupby("expiry", sort=True):
        days = (_date(expiry) - valuation_date).days
        if days <= 0:
            continue
        strikes = grp["strike"].to_numpy(float)
        k = strikes[np.argmin(np.abs(strikes - spot))]
        at = grp[grp["strike"] == k]
        vols = at["iv"].to_numpy(float)
        if not np.isfinite(vols).any():
            mid = (at["bid"].to_numpy(float) + at["ask"].to_numpy(float)) / 2.0
            vols = np.atleast_1d(
                implied_vol(
                    mid, spot, k, days_to_years(days), rate, at["kind"].to_numpy(object), q, style="american"
                )
            )
        vols = vols[np.isfinite(vols)]
        if vols.size:
            per.append((_date(expiry), int(days), float(vols.mean())))
    if not per:
        raise MarketDataError(
            "empty_chain", "no expiry after the valuation date has an at-the-money implied vol"
        )
    tt = days_to_years(target_dte)
    below = [p for p in per if p[1] <= target_dte]
    above = [p for p in per if p[1] >= target_dte]
    if not below:
        return AtmIv(above[0][2], target_dte, (above[0],))
    if not above:
        return AtmIv(below[-1][2], target_dte, (below[-1],))
    lo, hi = below[-1], above[0]
    if lo[1] == hi[1]:
        return AtmIv(lo[2], target_dte, (lo,))
    t1, t2 = days_to_years(lo[1]), days_to_years(hi[1])
    w1, w2 = lo[2] ** 2 * t1, hi[2] ** 2 * t2
    w = w1 + (w2 - w1) * (tt - t1) / (t2 - t1)
    return AtmIv(math.sqrt(w / tt), target_dte, (lo, hi))


def merge_history(existing, day: _dt.date, value: float, column: str):
    """``existing`` (``date, column``; None for a new file) with ``day``'s value set.

    A value for ``day`` already there is replaced (a second fetch the same day does not add a
    duplicate date); the result is sorted by date.

    >>> import pandas as pd
    >>> old = pd.DataFrame({"date": [_dt.date(2025, 10, 16), _dt.date(2025, 10, 17)], "iv": [4.1, 4.0]})
    >>> merge_history(old, _dt.date(2025, 10, 17), 4.2, "iv")["iv"].tolist()
    [4.1, 4.2]
    """
    import pandas as pd

    if existing is None or len(existing) == 0:
        return pd.DataFrame({"date": [day], column: [float(value)]})
    df = existing[["date", column]].copy()
    df["date"] = [_date(d) for d in df["date"]]
    df = df[df["date"] != day]
    df = pd.concat([df, pd.DataFrame({"date": [day], column: [float(value)]})], ignore_index=True)
    return df.sort_values("date", kind="stable").reset_index(drop=True)
