"""The market-data folder (``data.folder``): what ``volarb fetch`` writes and ``volarb daily`` reads.

=====================  ==========================================================================
``spot.json``          symbol, spot ($), quote_time (UTC), source, valuation_date, atm_iv
                       (decimal, ``target_dte`` days), next_earnings, expiries, fetched_at
``chain.csv``          ``expiry, strike, kind, bid, ask, iv, open_interest`` (replaced each fetch)
``iv-history.csv``     ``date, iv``: one row per session, today's 30-day ATM IV appended
``prices.csv``         ``date, close``: the provider's closes merged in (today's once the session
                       has closed)
=====================  ==========================================================================

Every file is written to a temporary file first and moved into place only after all of them
were written, so a failed fetch leaves the previous files as they were.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from engine._validate import VolarbInputError
from engine.data.marketfiles import AtmIv, MarketSnapshot, merge_history

__all__ = [
    "SPOT_FILE",
    "CHAIN_FILE",
    "IV_FILE",
    "PRICES_FILE",
    "MarketFolder",
    "write_market_files",
    "read_market_folder",
]

SPOT_FILE, CHAIN_FILE, IV_FILE, PRICES_FILE = "spot.json", "chain.csv", "iv-history.csv", "prices.csv"


@dataclasses.dataclass(frozen=True)
class MarketFolder:
    """What a market-data folder holds (paths None when the file is absent)."""

    folder: Path
    symbol: str
    spot: float
    atm_iv: float | None
    quote_time: _dt.datetime
    valuation_date: _dt.date
    next_earnings: _dt.date | None
    source: str
    chain: Path | None
    iv_history: Path | None
    prices: Path | None

    def age_text(self, now: _dt.datetime) -> str:
        """ "quotes of 2025-10-17 20:00 UTC, 14.0 hours old"."""
        hours = (now - self.quote_time).total_seconds() / 3600.0
        return f"quotes of {self.quote_time.astimezone(_dt.UTC):%Y-%m-%d %H:%M} UTC, {hours:.1f} hours old"


def _write_text_tmp(folder: Path, name: str, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return Path(tmp)


def _session_closed(when: _dt.datetime, day: _dt.date, exchange: str) -> bool:
    from engine.data.calendar import _calendar

    cal = _calendar(exchange)
    try:
        close = cal.session_close(day.isoformat()).to_pydatetime()
    except Exception:  # not a session: nothing closed that day
        return False
    return when >= close


def write_market_files(
    folder: str | Path,
    snap: MarketSnapshot,
    valuation_date: _dt.date,
    atm: AtmIv,
    now: _dt.datetime,
    exchange: str = "XNYS",
) -> dict[str, Any]:
    """Write the snapshot into ``folder`` (created if missing); returns what was written.

    Raises
    ------
    VolarbInputError
        An existing ``iv-history.csv`` or ``prices.csv`` that does not read (named; it is not
        overwritten).
    """
    from engine.data.ivhistory import read_iv_history
    from engine.data.prices import read_price_history

    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    old_iv = read_iv_history(root / IV_FILE) if (root / IV_FILE).exists() else None
    old_px = read_price_history(root / PRICES_FILE) if (root / PRICES_FILE).exists() else None
    iv = merge_history(old_iv, valuation_date, atm.iv, "iv")
    px = old_px
    for d, c in zip(snap.closes["date"], snap.closes["close"]):
        if d <= valuation_date:
            px = merge_history(px, d, float(c), "close")
    if _session_closed(snap.quote_time, valuation_date, exchange):
        px = merge_history(px, valuation_date, snap.spot, "close")
    meta = {
        "symbol": snap.symbol,
        "spot": snap.spot,
        "quote_time": snap.quote_time.astimezone(_dt.UTC).isoformat(),
        "source": snap.source,
        "valuation_date": valuation_date.isoformat(),
        "atm_iv": atm.iv,
        "target_dte": atm.target_dte,
        "atm_expiries": [{"expiry": e.isoformat(), "days": d, "iv": v} for e, d, v in atm.expiries],
        "next_earnings": snap.earnings.isoformat() if snap.earnings else None,
        "expiries": sorted({e.isoformat() for e in snap.chain["expiry"]}),
        "fetched_at": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
    }
    chain = snap.chain.copy()
    chain["expiry"] = [e.isoformat() for e in chain["expiry"]]
    texts = {
        CHAIN_FILE: chain.to_csv(index=False, float_format="%.6g", na_rep=""),
        IV_FILE: iv.assign(date=[d.isoformat() for d in iv["date"]]).to_csv(index=False, float_format="%.6g"),
        SPOT_FILE: json.dumps(meta, indent=2) + "\n",
    }
    if px is not None:
        texts[PRICES_FILE] = px.assign(date=[d.isoformat() for d in px["date"]]).to_csv(
            index=False, float_format="%.6g"
        )
    tmps: dict[str, Path] = {}
    try:
        for name, text in texts.items():
            tmps[name] = _write_text_tmp(root, name, text)
        for name, tmp in tmps.items():
            os.replace(tmp, root / name)
    finally:
        for tmp in tmps.values():
            if tmp.exists():
                tmp.unlink()
    return {
        "folder": str(root),
        "files": [str(root / n) for n in texts],
        "iv_rows": len(iv),
        "price_rows": 0 if px is None else len(px),
        **meta,
    }


def read_market_folder(folder: str | Path) -> MarketFolder | None:
    """The folder's ``spot.json`` and the files beside it; None when there is no ``spot.json``.

    Raises
    ------
    VolarbInputError
        ``spot.json`` present but unreadable (named).
    """
    root = Path(folder)
    p = root / SPOT_FILE
    if not p.is_file():
        return None
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
        qt = _dt.datetime.fromisoformat(d["quote_time"])
        out = MarketFolder(
            root,
            str(d["symbol"]),
            float(d["spot"]),
            None if d.get("atm_iv") is None else float(d["atm_iv"]),
            qt if qt.tzinfo else qt.replace(tzinfo=_dt.UTC),
            _dt.date.fromisoformat(d["valuation_date"]),
            _dt.date.fromisoformat(d["next_earnings"]) if d.get("next_earnings") else None,
            str(d.get("source", "")),
            *((root / n) if (root / n).is_file() else None for n in (CHAIN_FILE, IV_FILE, PRICES_FILE)),
        )
    except (KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
        raise VolarbInputError(
            f"{p}: not a volarb market snapshot ({type(exc).__name__}: {exc}); run volarb fetch again"
        ) from None
    return out
