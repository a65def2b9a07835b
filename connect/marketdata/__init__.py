"""Market data providers behind one small interface: ``provider.snapshot(symbol, now)``.

A provider returns an :class:`engine.data.marketfiles.MarketSnapshot` (spot, quote time, the
option chain, recent closes, next earnings date) or raises
:class:`engine.data.marketfiles.MarketDataError` (unreachable, rate-limited, empty or
malformed chain, no options, stale quotes: the CLI exits 3 and leaves the previous files
alone) or :class:`CredentialsError` (a missing secret, named by its environment variable).

Every provider is a thin network layer (``fetch_raw``) over a pure parser (``parse_raw``) that
the tests run on recorded responses (``tests/fixtures/marketdata``):

* :mod:`connect.marketdata.folder` - a folder of CSV/JSON files (offline; the default of
  ``volarb fetch``);
* :mod:`connect.marketdata.yahoo` - Yahoo Finance through ``yfinance`` (extra ``yahoo``);
* :mod:`connect.marketdata.tastytrade` - tastytrade through its maintained SDK (extra
  ``tastytrade``; credentials from environment variables or the OS keyring only).

Importing this package imports nothing networked; each provider imports its client library
when it is asked for data.
"""

from __future__ import annotations

import datetime as _dt
from typing import Protocol

from engine._validate import VolarbInputError
from engine.data.marketfiles import MarketDataError, MarketSnapshot

__all__ = ["Provider", "CredentialsError", "MarketDataError", "MarketSnapshot", "PROVIDERS", "get_provider"]

PROVIDERS = ("folder", "yahoo", "tastytrade")


class CredentialsError(VolarbInputError):
    """A provider's secret is not set (the message names the environment variable)."""


class Provider(Protocol):
    """What ``volarb fetch`` needs from a data source."""

    name: str

    def snapshot(self, symbol: str, now: _dt.datetime) -> MarketSnapshot:
        """Spot, chain, closes and earnings of ``symbol`` (parsed and validated)."""
        ...


def get_provider(config, name: str | None = None, source_folder: str | None = None) -> Provider:
    """The provider named by ``name`` or ``config.data.provider`` (``none`` means ``folder``).

    Raises
    ------
    VolarbInputError
        An unknown provider name, or its optional library not installed (the pip extra named).
    """
    choice = (name or config.data.provider or "folder").strip().lower()
    if choice == "none":
        choice = "folder"
    if choice == "folder":
        from connect.marketdata.folder import FolderProvider

        return FolderProvider(source_folder or config.data.source_folder)
    if choice == "yahoo":
        from connect.marketdata.yahoo import YahooProvider

        return YahooProvider()
    if choice == "tastytrade":
        from connect.marketdata.tastytrade import TastytradeProvider

        return TastytradeProvider(config.data)
    raise VolarbInputError(f"data.provider: unknown provider {choice!r} (one of {', '.join(PROVIDERS)})")


def fetch_to_folder(
    provider: Provider, symbol: str, config, folder, valuation_date: _dt.date, now: _dt.datetime
) -> dict:
    """Ask ``provider`` for ``symbol``, validate, and write the market-data folder.

    Steps: ``provider.snapshot`` -> :func:`engine.data.marketfiles.check_snapshot` (age limit
    ``data.max_quote_age_hours``) -> :func:`engine.data.marketfiles.atm_iv` (``data.target_dte``
    days, ``market.rate`` and ``market.dividend_yield``) -> :func:`store.write_market_files`.
    Nothing is written unless every step before succeeded.

    Returns
    -------
    dict
        What :func:`connect.marketdata.store.write_market_files` wrote (files, spot, atm_iv,
        next_earnings, expiries, ...), plus ``chain`` (the chain table).

    Raises
    ------
    MarketDataError, CredentialsError, VolarbInputError
    """
    from connect.marketdata.store import write_market_files
    from engine.data.marketfiles import atm_iv, check_snapshot

    snap = provider.snapshot(symbol, now)
    if snap.symbol.upper() != symbol.upper():
        raise MarketDataError("malformed", f"{provider.name}: asked for {symbol.upper()}, got {snap.symbol}")
    check_snapshot(snap, now, config.data.max_quote_age_hours)
    m = config.market
    atm = atm_iv(snap.chain, snap.spot, valuation_date, config.data.target_dte, m.rate, m.dividend_yield)
    out = write_market_files(folder, snap, valuation_date, atm, now, config.execution.exchange)
    out["chain"] = snap.chain
    return out
