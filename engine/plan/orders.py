"""Order tickets: the plan's execution rules applied to planned trades.

The plan ("Order Management Best Practices"): limit orders only, seek $0.05 better than mid,
accept at most $0.10 worse than mid, day orders, at most 10 contracts per order, trade in the
09:45-10:30 and 14:00-15:30 windows and avoid the first and last 15 minutes.  Every number
comes from :class:`engine.config.ExecutionConfig`.

Prices ($ per share):

* selling: ``limit = mid + price_improvement`` rounded **up** to the tick,
  ``worst = mid - max_slippage`` rounded **up** (never accept more than the slippage);
* buying: ``limit = mid - price_improvement`` rounded **down**,
  ``worst = mid + max_slippage`` rounded **down**;
* the tick is ``tick_small`` for prices below ``tick_threshold`` and ``tick_large`` from it
  (Cboe: $0.05 under $3, $0.10 from $3 for non-penny classes); a price is rounded onto that
  two-part grid, and no limit or worst price is below one small tick.

A trade of ``n`` contracts becomes ``ceil(n / max_order_size)`` orders: full slices first, the
remainder last (23 at 10 -> 10, 10, 3).

References
----------
Cboe Options Exchange Rules, Rule 5.4 (minimum increments: $0.05 below $3, $0.10 at $3 and up).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine._validate import VolarbInputError

__all__ = ["order_tickets", "round_to_tick", "tick_size", "OrdersError", "TICKET_COLUMNS", "TICKET_STATUSES"]

TICKET_COLUMNS = (
    "sequence",
    "trade",
    "slice",
    "slices",
    "underlying",
    "symbol",
    "action",
    "kind",
    "strike",
    "expiry",
    "contracts",
    "order_type",
    "mid",
    "limit",
    "worst",
    "tick",
    "time_in_force",
    "windows",
    "status",
    "reason",
    "buying_power_after",
)
#: ticket statuses: proposed to the broker, or held back (with the reason)
TICKET_STATUSES = ("PROPOSED", "HELD")
_EPS = 1e-9


class OrdersError(VolarbInputError):
    """A planned trade that cannot become an order (message names the trade row and column)."""


def tick_size(price, execution=None):
    """The option tick at ``price``: ``tick_small`` below ``tick_threshold``, else ``tick_large``.

    >>> tick_size([2.95, 3.0]).tolist()
    [0.05, 0.1]
    """
    ex = _execution(execution)
    p = np.asarray(price, dtype=float)
    out = np.where(p < ex.tick_threshold - _EPS, ex.tick_small, ex.tick_large)
    return float(out) if out.ndim == 0 else out


def round_to_tick(price, direction: str, execution=None):
    """Round a price onto the two-part tick grid, ``"up"`` or ``"down"``; never below one small tick.

    The grid is the multiples of ``tick_small`` below ``tick_threshold`` and of ``tick_large``
    from it.  "up" gives the smallest grid price >= ``price``, "down" the largest <= ``price``.

    Examples
    --------
    >>> round_to_tick([1.01, 2.98, 3.01, 0.0], "up").tolist()
    [1.05, 3.0, 3.1, 0.05]
    >>> round_to_tick([1.04, 3.09, 3.04], "down").tolist()
    [1.0, 3.0, 3.0]
    """
    ex = _execution(execution)
    if direction not in ("up", "down"):
        raise OrdersError(f"direction must be 'up' or 'down', got {direction!r}")
    p = np.asarray(price, dtype=float)
    ts, tl, thr = ex.tick_small, ex.tick_large, ex.tick_threshold
    first_large = math.ceil(thr / tl - _EPS) * tl  # first large-grid price at/above threshold
    last_small = (math.ceil(thr / ts - _EPS) - 1) * ts  # last small-grid price below threshold
    if direction == "up":
        small = np.ceil(p / ts - _EPS) * ts
        large = np.ceil(p / tl - _EPS) * tl
        out = np.where(
            p >= thr - _EPS, np.maximum(large, first_large), np.where(small < thr - _EPS, small, first_large)
        )
    else:
        small = np.floor(p / ts + _EPS) * ts
        large = np.floor(p / tl + _EPS) * tl
        out = np.where(p < thr - _EPS, small, np.where(large >= thr - _EPS, large, last_small))
    out = np.round(np.maximum(out, ts), 10)
    return float(out) if out.ndim == 0 else out


def _execution(execution):
    if execution is None:
        from engine.config import ExecutionConfig

        return ExecutionConfig()
    return execution


_ACTIONS = {
    "sell": "sell",
    "s": "sell",
    "sto": "sell",
    "short": "sell",
    "buy": "buy",
    "b": "buy",
    "bto": "buy",
    "long": "buy",
}


def _trade_rows(trades) -> list[dict[str, Any]]:
    if hasattr(trades, "to_dict"):
        return [{str(k).strip().lower(): v for k, v in r.items()} for r in trades.to_dict("records")]
    if isinstance(trades, dict):
        trades = [trades]
    return [{str(k).strip().lower(): v for k, v in dict(r).items()} for r in trades]


def _normalize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from engine.data.positions import (
        _cell_contracts,
        _cell_date,
        _cell_kind,
        _cell_strike,
        _CellError,
        _number,
        parse_occ_symbol,
    )

    out, errors = [], []
    for i, r in enumerate(rows):
        where = f"trades row {i}"
        rec: dict[str, Any] = {"underlying": str(r.get("underlying") or "").strip().upper()}
        sym = r.get("symbol")
        if isinstance(sym, str) and sym.strip():
            try:
                rec.update(parse_occ_symbol(sym))
            except VolarbInputError as exc:
                errors.append(f"{where}, column 'symbol': {exc}")
                continue
        act = _ACTIONS.get(str(r.get("action", "")).strip().lower())
        if act is None:
            errors.append(f"{where}, column 'action': expected sell or buy, got {r.get('action')!r}")
        rec["action"] = act
        parsers = (
            ("kind", _cell_kind),
            ("strike", _cell_strike),
            ("expiry", _cell_date),
            ("contracts", _cell_contracts),
        )
        for col, fn in parsers:
            if col in rec and col != "contracts":
                continue
            try:
                rec[col] = fn(r.get(col))
            except (_CellError, TypeError, AttributeError) as exc:
                msg = (
                    str(exc) if isinstance(exc, _CellError) else f"required value missing, got {r.get(col)!r}"
                )
                errors.append(f"{where}, column {col!r}: {msg}")
        try:
            mid = _number(r.get("mid"), "a mid price in $ per share >= 0")
            if mid < 0:
                raise _CellError(f"expected a mid price in $ per share >= 0, got {r.get('mid')!r}")
            rec["mid"] = mid
        except _CellError as exc:
            errors.append(f"{where}, column 'mid': {exc}")
        out.append(rec)
    if errors:
        raise OrdersError("\n".join(errors[:20]) if len(errors) > 1 else errors[0])
    return out


def _hold_reason(t: dict, state: dict, alerts: frozenset, mult: float) -> tuple[str, float]:
    """Why a ticket is held ("" if it may be proposed) and the buying power after it ($, NaN: no account)."""
    from engine.plan.account import evaluate_account

    reasons = []
    sell = t["action"] == "sell"
    delta_sign = (1.0 if t["kind"] == "put" else -1.0) * (1.0 if sell else -1.0)  # sign of the order's delta
    if "CONCENTRATION_RISK" in alerts and sell and t["kind"] == "put":
        ob = state.setdefault("obligations", {})
        top = max(ob.values(), default=0.0)
        new_ob = ob.get(float(t["strike"]), 0.0) + float(t["strike"]) * mult * t["contracts"]
        if new_ob > top + 1e-9:  # the largest strike obligation (the alert's value) would grow
            reasons.append(
                f"CONCENTRATION_RISK is firing and this short put raises the largest strike obligation "
                f"to {new_ob:,.0f} $ (from {top:,.0f})"
            )
    if "VAR_LIMIT_BREACH" in alerts and sell:
        reasons.append("VAR_LIMIT_BREACH is firing and a short option adds to the loss tail")
    if "HIGH_DELTA_EXPOSURE" in alerts and state.get("delta") is not None and delta_sign * state["delta"] > 0:
        reasons.append("HIGH_DELTA_EXPOSURE is firing and the order adds delta of the same sign")
    bp_after = float("nan")
    if state.get("arrays") is not None:
        a = state["arrays"]
        new = {
            "kind": t["kind"],
            "side": "short" if sell else "long",
            "strike": float(t["strike"]),
            "qty": float(t["contracts"]),
            "mark": float(t["mid"]),
            "dte": (t["expiry"] - state["valuation_date"]).days,
            "underlying": t["underlying"] or (a["underlying"][0] if a["underlying"] else ""),
        }
        trial = {k: v + [new[k]] for k, v in a.items()}
        cash = state["cash"] + (1.0 if sell else -1.0) * t["mid"] * mult * t["contracts"]
        after = evaluate_account(
            trial["kind"],
            trial["side"],
            trial["strike"],
            trial["qty"],
            trial["mark"],
            state["spot"],
            cash=cash,
            margin=state["margin"],
            dte=trial["dte"],
            underlying=trial["underlying"],
            multiplier=int(mult),
        )
        bp_after = after.buying_power
        before = state["buying_power"]
        if bp_after < 0 and bp_after < before - 1e-9:
            reasons.append(
                f"would exceed buying power: available funds {before:,.2f} -> {bp_after:,.2f} $ "
                f"(EWL - initial requirement, {state['margin'].account} account)"
            )
        elif "BUYING_POWER_EXCEEDED" in alerts and bp_after < before - 1e-9:
            reasons.append("BUYING_POWER_EXCEEDED is firing and the order uses buying power")
        if not reasons:
            state["arrays"], state["cash"], state["buying_power"] = trial, cash, bp_after
    if not reasons and sell and t["kind"] == "put":
        ob = state.setdefault("obligations", {})
        ob[float(t["strike"])] = ob.get(float(t["strike"]), 0.0) + float(t["strike"]) * mult * t["contracts"]
    return "; ".join(reasons), bp_after


def order_tickets(
    trades,
    execution=None,
    *,
    account=None,
    alerts=(),
    valuation_date=None,
    spot=None,
    margin=None,
    multiplier: int = 100,
):
    """Split planned trades into limit-order tickets under the plan's execution rules.

    Parameters
    ----------
    trades : pandas.DataFrame, list of dict or dict
        One row per trade with ``action`` ("sell"/"buy"), ``kind`` (put/call), ``strike`` ($),
        ``expiry`` (date), ``contracts`` (whole number > 0), ``mid`` ($ per share) and optional
        ``underlying``; or ``symbol`` (OCC) in place of underlying/kind/strike/expiry.
    execution : ExecutionConfig, optional
        Price improvement, slippage, order size, ticks, time in force, windows (default: the plan's).
    account : engine.plan.account.AccountState, optional
        The account before the orders (its ``positions`` frame from
        :func:`engine.plan.account.account_state`).  Each ticket, in sequence, is re-margined with
        the book and the tickets proposed before it (filled at its mid); a ticket after which
        buying power (available funds, ``EWL - initial requirement``) would be below 0, and
        lower than before it, is HELD.
    alerts : iterable of str
        Names of the risk alerts firing now (:data:`engine.risk.checks.ALERT_NAMES`).  A ticket that
        would deepen one is HELD: a short put that raises the largest strike obligation (strike x
        multiplier x contracts, over the book and the tickets proposed before it) under
        CONCENTRATION_RISK, any short option under
        VAR_LIMIT_BREACH, an order adding delta of the book's sign under HIGH_DELTA_EXPOSURE
        (needs ``account``), an order using buying power under BUYING_POWER_EXCEEDED.
    valuation_date : datetime.date, optional
        For the days to expiry of the new orders (needed with ``account``).
    spot : float, optional
        Underlying price, $ (needed with ``account``).
    margin : MarginConfig, optional
        The account's rules (default: a margin account at the FINRA minimums).
    multiplier : int
        Shares per contract.

    Returns
    -------
    pandas.DataFrame
        :data:`TICKET_COLUMNS`, one row per order: ``sequence`` (1, 2, ... across all orders),
        ``trade`` (row of ``trades``), ``slice`` / ``slices``, ``symbol`` (OCC, when the
        underlying is known), ``order_type`` ("LIMIT"), ``mid``, ``limit``, ``worst``, ``tick``
        ($ per share; ``tick`` is the tick at the limit price), ``time_in_force``, ``windows``,
        ``status`` ("PROPOSED" or "HELD"), ``reason`` (why held; "" when proposed) and
        ``buying_power_after`` ($, available funds after the ticket; NaN without ``account``).
        Held tickets never change the account seen by the tickets after them.

    Raises
    ------
    OrdersError
        A trade row with a bad action, kind, strike, expiry, contracts or mid (row and column named).

    Examples
    --------
    Selling 23 puts at a $1.12 mid: 10, 10, 3; limit 1.17 rounded up to 1.20; worst 1.02 -> 1.05:

    >>> t = order_tickets([{"action": "sell", "underlying": "ASST", "kind": "put", "strike": 2.5,
    ...                     "expiry": "2025-11-21", "contracts": 23, "mid": 1.12}])
    >>> t["contracts"].tolist(), t["limit"].tolist(), t["worst"].tolist(), t["symbol"].iloc[0]
    ([10, 10, 3], [1.2, 1.2, 1.2], [1.05, 1.05, 1.05], 'ASST  251121P00002500')
    """
    import pandas as pd

    from engine.data.positions import occ_symbol

    ex = _execution(execution)
    rows = _normalize(_trade_rows(trades))
    windows = (
        f"{ex.morning_window}, {ex.afternoon_window} exchange time (avoid the first and last 15 minutes)"
    )
    mids = np.array([r["mid"] for r in rows], dtype=float)
    sell = np.array([r["action"] == "sell" for r in rows], dtype=bool)
    limit = np.where(
        sell,
        round_to_tick(mids + ex.price_improvement, "up", ex),
        round_to_tick(np.maximum(mids - ex.price_improvement, 0.0), "down", ex),
    )
    worst = np.where(
        sell,
        round_to_tick(np.maximum(mids - ex.max_slippage, 0.0), "up", ex),
        round_to_tick(mids + ex.max_slippage, "down", ex),
    )
    tick = tick_size(limit, ex)
    from engine.config import MarginConfig

    rules = (
        margin
        if margin is not None
        else (MarginConfig(account=account.account) if account is not None else MarginConfig())
    )
    firing = frozenset(str(a) for a in alerts)
    state: dict[str, Any] = {"margin": rules}
    if account is not None:
        if valuation_date is None or spot is None:
            raise OrdersError("order_tickets: account needs valuation_date and spot")
        pf = account.positions
        stock = pf["kind"].astype(str).to_numpy() == "stock"
        state.update(
            {
                "arrays": {
                    "kind": list(pf["kind"]),
                    "side": list(pf["side"]),
                    "strike": [float(x) for x in pf["strike"]],
                    "qty": [
                        float(sh) if st else float(c)
                        for st, sh, c in zip(stock, pf["shares"], pf["contracts"], strict=True)
                    ],
                    "mark": [float(x) for x in pf["mark"]],
                    "dte": [int(x) for x in pf["dte"]],
                    "underlying": list(pf["underlying"]),
                },
                "cash": float(account.cash),
                "buying_power": float(account.buying_power),
                "valuation_date": valuation_date,
                "spot": float(spot),
                "delta": float(pf["delta_shares"].sum()) if "delta_shares" in pf else None,
            }
        )
        sp = (pf["kind"].astype(str) == "put") & (pf["side"].astype(str) == "short")
        ob = pf.loc[sp, "strike"].astype(float) * float(multiplier) * pf.loc[sp, "contracts"].astype(float)
        state["obligations"] = {
            float(k): float(v) for k, v in ob.groupby(pf.loc[sp, "strike"].astype(float)).sum().items()
        }
    tickets = []
    seq = 0
    for i, r in enumerate(rows):
        n, size = r["contracts"], ex.max_order_size
        parts = [size] * (n // size) + ([n % size] if n % size else [])
        symbol = occ_symbol(r["underlying"], r["expiry"], r["kind"], r["strike"]) if r["underlying"] else ""
        for j, c in enumerate(parts):
            seq += 1
            reason, bp_after = _hold_reason({**r, "contracts": c}, state, firing, float(multiplier))
            tickets.append(
                {
                    "status": "HELD" if reason else "PROPOSED",
                    "reason": reason,
                    "buying_power_after": bp_after,
                    "sequence": seq,
                    "trade": i,
                    "slice": j + 1,
                    "slices": len(parts),
                    "underlying": r["underlying"],
                    "symbol": symbol,
                    "action": r["action"],
                    "kind": r["kind"],
                    "strike": r["strike"],
                    "expiry": r["expiry"],
                    "contracts": c,
                    "order_type": "LIMIT",
                    "mid": r["mid"],
                    "limit": float(limit[i]),
                    "worst": float(worst[i]),
                    "tick": float(tick[i]),
                    "time_in_force": ex.time_in_force,
                    "windows": windows,
                }
            )
    return pd.DataFrame(tickets, columns=list(TICKET_COLUMNS))
