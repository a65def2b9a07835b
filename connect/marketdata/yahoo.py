"""Yahoo Finance through ``yfinance`` (optional extra ``volarb[yahoo]``).

Terms: Yahoo Finance data reached through ``yfinance`` is for **personal use only**; yfinance is
not affiliated with Yahoo, and Yahoo's terms of service
(https://legal.yahoo.com/us/en/yahoo/terms/otos/index.html) forbid redistribution and
commercial use of the data.  Quotes may be delayed (15 minutes or more for options).

:func:`fetch_raw` is the thin network layer: it calls yfinance's public API
(``Ticker.options``, ``Ticker.option_chain(date)``, ``Ticker.history``, ``Ticker.calendar``)
and turns the answers into plain JSON-able data (the recorded fixtures have this shape);
:func:`parse_raw` is pure.

Raw shape (``Ticker.option_chain`` columns as yfinance documents them in ``_options2df``)::

    {"symbol": "ASST",
     "underlying": {"regularMarketPrice": 3.15, "regularMarketTime": 1760731200, ...},
     "expirations": ["2025-10-17", ...],
     "chains": {"2025-10-17": {"calls": [{"contractSymbol", "lastTradeDate", "strike",
                "lastPrice", "bid", "ask", "change", "percentChange", "volume",
                "openInterest", "impliedVolatility", "inTheMoney", "contractSize",
                "currency"}, ...], "puts": [...]}},
     "history": [{"date": "2025-10-17", "close": 3.15}, ...],
     "calendar": {"Earnings Date": ["2025-11-13"]}}
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from engine._validate import VolarbInputError
from engine.data.marketfiles import MarketDataError, MarketSnapshot, chain_frame

__all__ = ["YahooProvider", "fetch_raw", "parse_raw", "TERMS"]

TERMS = (
    "Yahoo Finance data through yfinance: personal use only (Yahoo terms of service); "
    "not affiliated with Yahoo; option quotes may be delayed"
)


def _records(df: Any) -> list[dict[str, Any]]:
    out = []
    for r in df.to_dict(orient="records"):
        ltd = r.get("lastTradeDate")
        if ltd is not None and hasattr(ltd, "isoformat"):
            r["lastTradeDate"] = ltd.isoformat()
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()})
    return out


def fetch_raw(symbol: str, max_expiries: int = 8) -> dict[str, Any]:  # pragma: no cover - network
    """Ask Yahoo through yfinance (network; the tests mock this function).

    Raises
    ------
    VolarbInputError
        yfinance not installed (``pip install "volarb[yahoo]"``).
    MarketDataError
        ``rate_limited`` (Yahoo's 429 / ``YFRateLimitError``), ``unreachable`` (any other
        failure of the request), ``no_options``.
    """
    try:
        import yfinance as yf
    except ImportError:
        raise VolarbInputError(
            'data.provider = "yahoo" needs yfinance: pip install "volarb[yahoo]"'
        ) from None
    try:
        t = yf.Ticker(symbol)
        expirations = list(t.options)
        if not expirations:
            raise MarketDataError("no_options", f"yahoo: {symbol} has no listed options")
        chains: dict[str, Any] = {}
        underlying: dict[str, Any] = {}
        for e in expirations[:max_expiries]:
            oc = t.option_chain(e)
            chains[e] = {"calls": _records(oc.calls), "puts": _records(oc.puts)}
            underlying = dict(oc.underlying or underlying)
        hist = t.history(period="1mo", auto_adjust=False)
        history = [
            {"date": ts.date().isoformat(), "close": float(c)} for ts, c in zip(hist.index, hist["Close"])
        ]
        try:
            cal = t.calendar or {}
        except Exception:  # the calendar is optional; its absence must not fail the fetch
            cal = {}
        calendar = {
            "Earnings Date": [d.isoformat() for d in cal.get("Earnings Date", []) if hasattr(d, "isoformat")]
        }
    except MarketDataError:
        raise
    except Exception as exc:  # the thin layer maps every client failure to one fault
        name = type(exc).__name__
        if "RateLimit" in name or "429" in str(exc) or "Too Many Requests" in str(exc):
            raise MarketDataError(
                "rate_limited", f"yahoo: rate-limited by Yahoo ({name}); try again later"
            ) from None
        raise MarketDataError("unreachable", f"yahoo: request failed ({name}: {str(exc)[:160]})") from None
    return {
        "symbol": symbol.upper(),
        "underlying": underlying,
        "expirations": expirations,
        "chains": chains,
        "history": history,
        "calendar": calendar,
    }


def _epoch(value: Any) -> _dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _dt.datetime.fromtimestamp(float(value), tz=_dt.UTC)
    try:
        t = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.UTC)


def parse_raw(raw: dict[str, Any], today: _dt.date | None = None) -> MarketSnapshot:
    """A :class:`MarketSnapshot` from :func:`fetch_raw`'s data (pure).

    ``spot`` is ``underlying.regularMarketPrice`` at ``regularMarketTime``; ``impliedVolatility``
    becomes ``iv`` (Yahoo's decimal) and ``openInterest`` ``open_interest``; the next earnings
    date is the first ``calendar["Earnings Date"]`` on or after ``today`` (else the quote's
    ``earningsTimestamp``).

    Raises
    ------
    MarketDataError
        ``no_options`` (no expirations), ``malformed`` (no price, a chain not of rows),
        ``empty_chain``.
    """
    import pandas as pd

    sym = str(raw.get("symbol", "")).upper()
    if not raw.get("expirations"):
        raise MarketDataError("no_options", f"yahoo: {sym} has no listed options")
    und = raw.get("underlying") or {}
    price = und.get("regularMarketPrice")
    when = _epoch(und.get("regularMarketTime"))
    if price is None or when is None:
        raise MarketDataError(
            "malformed", f"yahoo: {sym}: the quote has no regularMarketPrice/regularMarketTime"
        )
    rows = []
    chains = raw.get("chains")
    if not isinstance(chains, dict):
        raise MarketDataError("malformed", f"yahoo: {sym}: chains is not a table of expiries")
    for expiry, sides in chains.items():
        for kind, key in (("call", "calls"), ("put", "puts")):
            recs = (sides or {}).get(key) or []
            if not isinstance(recs, list):
                raise MarketDataError(
                    "malformed", f"yahoo: {sym} {expiry} {key}: expected a list of contracts"
                )
            for r in recs:
                if not isinstance(r, dict):
                    raise MarketDataError(
                        "malformed", f"yahoo: {sym} {expiry} {key}: a contract is not a record"
                    )
                rows.append(
                    {
                        "expiry": expiry,
                        "strike": r.get("strike"),
                        "kind": kind,
                        "bid": r.get("bid"),
                        "ask": r.get("ask"),
                        "iv": r.get("impliedVolatility"),
                        "open_interest": r.get("openInterest"),
                    }
                )
    chain = chain_frame(rows, f"yahoo {sym}")
    closes = pd.DataFrame(
        [
            {"date": _dt.date.fromisoformat(h["date"][:10]), "close": float(h["close"])}
            for h in raw.get("history") or []
            if h.get("close") is not None
        ],
        columns=["date", "close"],
    )
    ref = today or when.date()
    earnings = None
    for d in (raw.get("calendar") or {}).get("Earnings Date", []):
        day = _dt.date.fromisoformat(str(d)[:10])
        if day >= ref:
            earnings = day
            break
    if earnings is None:
        et = _epoch(und.get("earningsTimestamp"))
        if et is not None and et.date() >= ref:
            earnings = et.date()
    return MarketSnapshot(sym, float(price), when, chain, closes, earnings, "yahoo")


class YahooProvider:
    """Yahoo Finance through yfinance (personal use; see :data:`TERMS`)."""

    name = "yahoo"

    def snapshot(self, symbol: str, now: _dt.datetime) -> MarketSnapshot:  # pragma: no cover - network
        return parse_raw(fetch_raw(symbol), today=now.date())
