"""tastytrade through its maintained Python SDK (``tastytrade`` on PyPI; extra ``volarb[tastytrade]``).

Credentials are an OAuth client secret and a refresh token (tastytrade's API takes OAuth2
only).  They are read **only** from environment variables (``data.tastytrade_secret_env``,
``data.tastytrade_token_env``; default ``TASTYTRADE_CLIENT_SECRET`` and
``TASTYTRADE_REFRESH_TOKEN``) or, when those are unset, the OS keyring (service
``volarb-tastytrade``, users ``client_secret`` and ``refresh_token``; needs the ``keyring``
package), never from a file.

:func:`fetch_raw` is the thin network layer (the SDK is imported inside it):
``Session(secret, token)``, ``NestedOptionChain.get(session, symbol)``,
``get_market_data_by_type(session, equities=..., options=...)`` (at most 100 symbols a call)
and ``get_market_metrics(session, [symbol])``; each model is dumped with pydantic's
``model_dump(mode="json")``.  :func:`parse_raw` is pure and reads those dumps; keys may be the
SDK's snake_case or the REST API's kebab-case (``strike-price``).

Raw shape (fields as in the SDK's ``NestedOptionChain``/``Strike``, ``MarketData`` and
``MarketMetricInfo`` models)::

    {"symbol": "ASST",
     "chain": {"underlying_symbol": "ASST", "expirations": [{"expiration_date": "2025-10-17",
               "days_to_expiration": 20, "strikes": [{"strike_price": "2.5",
               "call": "ASST  251017C00002500", "put": "ASST  251017P00002500"}, ...]}, ...]},
     "equity": {"symbol": "ASST", "last": "3.15", "mark": "3.15", "updated_at": "...Z",
                "close": "3.15", "summary_date": "2025-10-17"},
     "options": [{"symbol": "ASST  251017P00002500", "bid": "0.9", "ask": "1.0",
                  "open_interest": "120", "updated_at": "..."}, ...],
     "metrics": [{"symbol": "ASST", "earnings": {"expected_report_date": "2025-11-13"}}]}
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Mapping
from typing import Any

from engine._validate import VolarbInputError
from engine.data.marketfiles import MarketDataError, MarketSnapshot, chain_frame

__all__ = ["TastytradeProvider", "credentials", "fetch_raw", "parse_raw", "KEYRING_SERVICE"]

KEYRING_SERVICE = "volarb-tastytrade"


def _keyring_get(service: str, user: str) -> str | None:  # pragma: no cover - OS keyring
    try:
        import keyring
    except ImportError:
        return None
    try:
        return keyring.get_password(service, user)
    except Exception:  # a locked or absent keyring backend means "not stored there"
        return None


def credentials(
    data_cfg,
    env: Mapping[str, str] | None = None,
    keyring_get: Callable[[str, str], str | None] | None = None,
) -> tuple[str, str]:
    """``(client_secret, refresh_token)`` from the environment, else the OS keyring.

    Raises
    ------
    CredentialsError
        Naming the environment variable that is not set (and the keyring entry to use instead).

    Examples
    --------
    >>> from engine.config import default_config
    >>> credentials(default_config().data, env={"TASTYTRADE_CLIENT_SECRET": "s", "TASTYTRADE_REFRESH_TOKEN": "t"},
    ...             keyring_get=lambda s, u: None)
    ('s', 't')
    """
    from connect.marketdata import CredentialsError

    env = os.environ if env is None else env
    get = _keyring_get if keyring_get is None else keyring_get
    out = []
    for var, user in (
        (data_cfg.tastytrade_secret_env, "client_secret"),
        (data_cfg.tastytrade_token_env, "refresh_token"),
    ):
        value = env.get(var) or get(KEYRING_SERVICE, user)
        if not value:
            raise CredentialsError(
                f"tastytrade: the environment variable {var} is not set (nor the OS keyring entry "
                f"service {KEYRING_SERVICE!r}, user {user!r}); credentials are never read from a file"
            )
        out.append(value)
    return out[0], out[1]


def _dump(model: Any) -> Any:  # pragma: no cover - SDK objects
    return model.model_dump(mode="json") if hasattr(model, "model_dump") else model


def fetch_raw(
    symbol: str, secret: str, token: str, max_expiries: int = 8
) -> dict[str, Any]:  # pragma: no cover
    """Ask tastytrade through the SDK (network; the tests mock this function).

    Raises
    ------
    VolarbInputError
        The SDK is not installed (``pip install "volarb[tastytrade]"``).
    MarketDataError
        ``rate_limited`` (HTTP 429), ``unreachable`` (any other failure), ``no_options``.
    """
    try:
        from tastytrade import Session
        from tastytrade.instruments import NestedOptionChain
        from tastytrade.market_data import get_market_data_by_type
        from tastytrade.metrics import get_market_metrics
    except ImportError:
        raise VolarbInputError(
            'data.provider = "tastytrade" needs the tastytrade SDK: pip install "volarb[tastytrade]"'
        ) from None
    try:
        session = Session(secret, token)
        chains = NestedOptionChain.get(session, symbol)
        chain = chains[0] if isinstance(chains, list) else chains
        if chain is None or not chain.expirations:
            raise MarketDataError("no_options", f"tastytrade: {symbol} has no listed options")
        chain.expirations = chain.expirations[:max_expiries]
        symbols = [s for e in chain.expirations for k in e.strikes for s in (k.call, k.put)]
        equity = get_market_data_by_type(session, equities=[symbol])
        options = []
        for i in range(0, len(symbols), 100):
            options.extend(get_market_data_by_type(session, options=symbols[i : i + 100]))
        metrics = get_market_metrics(session, [symbol])
    except MarketDataError:
        raise
    except Exception as exc:  # the thin layer maps every client failure to one fault
        text = str(exc)
        if "429" in text or "rate" in text.lower():
            raise MarketDataError(
                "rate_limited", f"tastytrade: rate-limited ({text[:120]}); try again later"
            ) from None
        raise MarketDataError(
            "unreachable", f"tastytrade: request failed ({type(exc).__name__}: {text[:160]})"
        ) from None
    return {
        "symbol": symbol.upper(),
        "chain": _dump(chain),
        "equity": _dump(equity[0]) if equity else {},
        "options": [_dump(o) for o in options],
        "metrics": [_dump(m) for m in metrics],
    }


def _snake(d: Any) -> Any:
    """Keys kebab-case -> snake_case, recursively (REST JSON and SDK dumps read alike)."""
    if isinstance(d, dict):
        return {str(k).replace("-", "_"): _snake(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_snake(v) for v in d]
    return d


def _time(text: Any) -> _dt.datetime | None:
    if not text:
        return None
    try:
        t = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.UTC)


def parse_raw(raw: dict[str, Any]) -> MarketSnapshot:
    """A :class:`MarketSnapshot` from :func:`fetch_raw`'s data (pure).

    Spot is the equity's ``last`` (else ``mark``) at ``updated_at``; each option symbol of the
    nested chain is matched to its market data for bid, ask and open interest (iv is left
    blank: tastytrade's per-expiration vol is not a per-strike quote; :func:`atm_iv` implies it
    from the mids).  The next earnings date is ``metrics[].earnings.expected_report_date``.

    Raises
    ------
    MarketDataError
        ``no_options``, ``malformed`` (no equity price or time, a chain without expirations
        list), ``empty_chain``.
    """
    import pandas as pd

    r = _snake(raw)
    sym = str(r.get("symbol", "")).upper()
    chain = r.get("chain") or {}
    exps = chain.get("expirations")
    if not exps:
        raise MarketDataError("no_options", f"tastytrade: {sym} has no listed options")
    if not isinstance(exps, list):
        raise MarketDataError("malformed", f"tastytrade: {sym}: chain expirations is not a list")
    eq = r.get("equity") or {}
    price = eq.get("last") if eq.get("last") is not None else eq.get("mark")
    when = _time(eq.get("updated_at"))
    if price is None or when is None:
        raise MarketDataError(
            "malformed", f"tastytrade: {sym}: equity market data has no last/mark or updated_at"
        )
    quotes = {str(o.get("symbol")): o for o in r.get("options") or [] if isinstance(o, dict)}
    rows = []
    for e in exps:
        for k in e.get("strikes") or []:
            for kind in ("call", "put"):
                q = quotes.get(str(k.get(kind)))
                if q is None:
                    continue
                rows.append(
                    {
                        "expiry": e.get("expiration_date"),
                        "strike": k.get("strike_price"),
                        "kind": kind,
                        "bid": q.get("bid"),
                        "ask": q.get("ask"),
                        "iv": None,
                        "open_interest": q.get("open_interest"),
                    }
                )
    frame = chain_frame(rows, f"tastytrade {sym}")
    closes = []
    if eq.get("close") is not None and eq.get("summary_date"):
        closes.append(
            {"date": _dt.date.fromisoformat(str(eq["summary_date"])[:10]), "close": float(eq["close"])}
        )
    earnings = None
    for m in r.get("metrics") or []:
        d = ((m or {}).get("earnings") or {}).get("expected_report_date")
        if d:
            earnings = _dt.date.fromisoformat(str(d)[:10])
    return MarketSnapshot(
        sym,
        float(price),
        when,
        frame,
        pd.DataFrame(closes, columns=["date", "close"]),
        earnings,
        "tastytrade",
    )


class TastytradeProvider:
    """tastytrade through its SDK; credentials from the environment or the OS keyring."""

    name = "tastytrade"

    def __init__(self, data_cfg) -> None:
        self.data_cfg = data_cfg

    def snapshot(self, symbol: str, now: _dt.datetime) -> MarketSnapshot:  # pragma: no cover - network
        secret, token = credentials(self.data_cfg)
        return parse_raw(fetch_raw(symbol, secret, token))
