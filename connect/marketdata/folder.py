"""The offline provider: today's quote and chain from a folder of files another tool drops there.

Files in the source folder (``data.source_folder``):

=================  ===========================================================================
``quote.json``     ``{"symbol": "ASST", "last": 3.15, "time": "2025-10-17T20:00:00Z",
                   "next_earnings": "2025-11-13"}`` (``time`` ISO 8601 with an offset; Z = UTC;
                   ``next_earnings`` optional)
``chain.csv``      ``expiry, strike, kind, bid, ask`` and optionally ``iv``, ``open_interest``
``prices.csv``     optional ``date, close`` daily closes
=================  ===========================================================================

:func:`fetch_raw` reads the files (the "network" of this provider: a missing folder is an
unreachable source); :func:`parse_raw` is pure.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
from pathlib import Path
from typing import Any

from engine.data.marketfiles import MarketDataError, MarketSnapshot, chain_frame

__all__ = ["FolderProvider", "fetch_raw", "parse_raw"]


def fetch_raw(folder: str | Path) -> dict[str, Any]:
    """The folder's files as plain data: ``{"quote": dict, "chain": [row dicts], "closes": [...]}``.

    Raises
    ------
    MarketDataError
        ``unreachable`` (folder or quote/chain file missing), ``malformed`` (unreadable JSON).
    """
    root = Path(folder)
    if not root.is_dir():
        raise MarketDataError(
            "unreachable", f"folder provider: source folder {root} not found (data.source_folder)"
        )
    qpath, cpath = root / "quote.json", root / "chain.csv"
    for p in (qpath, cpath):
        if not p.is_file():
            raise MarketDataError("unreachable", f"folder provider: {p} not found")
    try:
        quote = json.loads(qpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MarketDataError(
            "malformed", f"folder provider: {qpath.name} is not valid JSON ({exc})"
        ) from None
    with cpath.open(encoding="utf-8-sig", newline="") as fh:
        chain = [{str(k).strip().lower(): v for k, v in r.items()} for r in csv.DictReader(fh)]
    closes: list[dict[str, Any]] = []
    ppath = root / "prices.csv"
    if ppath.is_file():
        with ppath.open(encoding="utf-8-sig", newline="") as fh:
            closes = [{str(k).strip().lower(): v for k, v in r.items()} for r in csv.DictReader(fh)]
    return {"quote": quote, "chain": chain, "closes": closes}


def _time(text: Any, where: str) -> _dt.datetime:
    try:
        t = _dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise MarketDataError(
            "malformed", f"{where}: expected an ISO 8601 time such as 2025-10-17T20:00:00Z, got {text!r}"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=_dt.UTC)


def parse_raw(raw: dict[str, Any], symbol: str) -> MarketSnapshot:
    """A :class:`MarketSnapshot` from :func:`fetch_raw`'s data (pure).

    Raises
    ------
    MarketDataError
        ``malformed`` (quote fields missing or of another symbol), ``empty_chain``.

    Examples
    --------
    >>> raw = {"quote": {"symbol": "ASST", "last": 3.15, "time": "2025-10-17T20:00:00Z"},
    ...        "chain": [{"expiry": "2025-11-21", "strike": "3", "kind": "put", "bid": "1.1", "ask": "1.2"}],
    ...        "closes": [{"date": "2025-10-17", "close": "3.15"}]}
    >>> s = parse_raw(raw, "ASST")
    >>> s.spot, s.quote_time.isoformat(), len(s.chain), s.closes["close"].tolist()
    (3.15, '2025-10-17T20:00:00+00:00', 1, [3.15])
    """
    import pandas as pd

    q = raw.get("quote")
    if not isinstance(q, dict) or "last" not in q or "time" not in q:
        raise MarketDataError("malformed", "folder provider: quote.json needs symbol, last and time")
    qsym = str(q.get("symbol", symbol)).strip().upper()
    if qsym != symbol.upper():
        raise MarketDataError("malformed", f"folder provider: quote.json is for {qsym}, not {symbol.upper()}")
    try:
        spot = float(q["last"])
    except (TypeError, ValueError):
        raise MarketDataError(
            "malformed", f"folder provider: quote.json last: expected a price, got {q['last']!r}"
        ) from None
    earnings = None
    if q.get("next_earnings"):
        try:
            earnings = _dt.date.fromisoformat(str(q["next_earnings"])[:10])
        except ValueError:
            raise MarketDataError(
                "malformed",
                f"folder provider: quote.json next_earnings: expected YYYY-MM-DD, got {q['next_earnings']!r}",
            ) from None
    chain = chain_frame(raw.get("chain") or [], "folder provider chain.csv")
    rows = []
    for i, r in enumerate(raw.get("closes") or []):
        try:
            rows.append({"date": _dt.date.fromisoformat(str(r["date"]).strip()), "close": float(r["close"])})
        except (KeyError, ValueError, TypeError):
            raise MarketDataError(
                "malformed", f"folder provider: prices.csv line {i + 2}: expected date, close"
            ) from None
    return MarketSnapshot(
        qsym,
        spot,
        _time(q["time"], "folder provider: quote.json time"),
        chain,
        pd.DataFrame(rows, columns=["date", "close"]),
        earnings,
        "folder",
    )


class FolderProvider:
    """Today's market from the files in ``folder`` (see the module docstring)."""

    name = "folder"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def snapshot(self, symbol: str, now: _dt.datetime) -> MarketSnapshot:
        return parse_raw(fetch_raw(self.folder), symbol)
