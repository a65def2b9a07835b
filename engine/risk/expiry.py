"""Expiry handling: lots past expiry leave the risk figures and become a to-do list; position events.

A lot whose expiry is before the valuation date is *expired*: it has no time value, no Greeks,
no margin and no assignment risk left, so :func:`split_expired` takes it out of every risk
figure (VaR, concentration, Greeks, the alerts) and :func:`expiry_actions` lists it with what
the trader has to do: record the outcome (``expired_worthless``, ``assigned``, ``exercised``)
in the outcomes file, and, for an option that expired in the money, the share lot it becomes.

Share lot of an expired in-the-money option (per share; ``m`` shares per contract)
--------------------------------------------------------------------------------
* short put, assigned: ``+contracts x m`` shares bought at the strike; cost basis
  ``strike - premium`` (the plan's assignment rules: "cost basis = strike - premium received",
  the figure its assignment tiers are judged on, :mod:`engine.plan.assignment`);
* short call, assigned: ``-contracts x m`` shares (delivered / called away) at the strike;
  effective sale price ``strike + premium``;
* long call, exercised: ``+contracts x m`` shares at the strike; cost basis ``strike + premium``
  paid;
* long put, exercised: ``-contracts x m`` shares sold at the strike; effective sale price
  ``strike - premium`` paid.

In the money is judged at the close on the expiry date when a price history is given, else at
the current spot (the row says which).  OCC exercises equity options 0.01 or more in the money
by exception (Hull 2018, ch. 10; OCC Rule 805), so at-the-money lots (intrinsic < 0.01) are
listed as ``expired_worthless``.

Position events (:func:`position_events`) are the alerts traders ask for beside the plan's
seven: ``SHORT_NEAR_EXPIRY`` (a live short option within ``alerts.expiry_days`` calendar days
of expiry), ``SHORT_ITM`` (a live short option in the money), ``UNCOVERED_SHARES`` (shares held,
from recorded assignments/exercises, not covered by short calls, at least one contract's worth)
and ``EXPIRED_UNRECORDED`` (an expired lot with no outcome recorded).  Each event names one
position by :func:`position_key`, so delivery can send it once per day per position.

References
----------
Hull, J. C. *Options, Futures, and Other Derivatives*, 10th ed. (2018), ch. 10 (exercise and
assignment).  OCC Rule 805 (exercise by exception).  The user's plan, "Assignment Management".
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from pathlib import Path
from typing import Any, Literal

import numpy as np

from engine._validate import VolarbInputError

__all__ = [
    "OUTCOMES",
    "EVENT_NAMES",
    "ShareLotFromExpiry",
    "ExpiryAction",
    "PositionEvent",
    "position_key",
    "expired_mask",
    "split_expired",
    "read_outcomes",
    "expiry_actions",
    "shares_from_outcomes",
    "shares_held",
    "position_events",
    "OutcomesError",
]

Outcome = Literal["expired_worthless", "assigned", "exercised", "closed"]
#: Outcomes a lot can be recorded with (``closed``: bought/sold back before expiry).
OUTCOMES: tuple[str, ...] = ("expired_worthless", "assigned", "exercised", "closed")
EVENT_NAMES = ("SHORT_NEAR_EXPIRY", "SHORT_ITM", "UNCOVERED_SHARES", "EXPIRED_UNRECORDED")
#: Exercise-by-exception threshold, $ per share in the money (OCC Rule 805).
EXERCISE_THRESHOLD = 0.01
OUTCOME_COLUMNS = ("underlying", "kind", "side", "strike", "expiry", "outcome")


class OutcomesError(VolarbInputError):
    """An outcomes file that breaks a rule (message names the file, line and column)."""


@dataclasses.dataclass(frozen=True)
class ShareLotFromExpiry:
    """Shares an expired in-the-money option turns into.

    Attributes
    ----------
    shares : int
        Signed shares: + received (short put assigned, long call exercised), - delivered.
    price : float
        Strike, $ per share (the exchange price of the shares).
    basis : float
        Cost basis (shares received) or effective sale price (shares delivered), $ per share,
        premium included (see the module docstring).
    basis_label : str
        "cost basis" or "effective sale price".
    """

    shares: int
    price: float
    basis: float
    basis_label: str


@dataclasses.dataclass(frozen=True)
class ExpiryAction:
    """One expired lot and what to do about it."""

    key: str
    underlying: str
    kind: str
    side: str
    strike: float
    expiry: _dt.date
    contracts: int
    premium: float
    spot_at_expiry: float
    spot_basis: str
    in_the_money: bool
    expected_outcome: str
    recorded_outcome: str | None
    share_lot: ShareLotFromExpiry | None
    action: str


@dataclasses.dataclass(frozen=True)
class PositionEvent:
    """One position event (alert) for one position."""

    alert: str
    key: str
    detail: str


def position_key(underlying: Any, kind: Any, side: Any, strike: Any, expiry: Any) -> str:
    """A stable text name of a lot: ``"ASST 2025-10-17 P2.5 short"``.

    >>> position_key("asst", "put", "short", 2.5, _dt.date(2025, 10, 17))
    'ASST 2025-10-17 P2.5 short'
    """
    exp = expiry.isoformat() if isinstance(expiry, _dt.date) else str(expiry)
    return f"{str(underlying).upper()} {exp[:10]} {str(kind)[0].upper()}{float(strike):g} {str(side).lower()}"


def _dates(col) -> list[_dt.date | None]:
    """Dates of a column; None for a blank (a stock row has no expiry)."""
    out: list[_dt.date | None] = []
    for e in col:
        if e is None or (isinstance(e, float) and e != e) or str(e) in ("NaT", "None", ""):
            out.append(None)
        elif isinstance(e, _dt.datetime):
            out.append(e.date())
        elif isinstance(e, _dt.date):
            out.append(e)
        else:
            out.append(_dt.date.fromisoformat(str(e)[:10]))
    return out


def expired_mask(positions, valuation_date: _dt.date) -> np.ndarray:
    """True for each lot whose expiry is before ``valuation_date`` (expiring today is still open;
    a stock row, without an expiry, never expires).

    >>> import pandas as pd
    >>> expired_mask(pd.DataFrame({"expiry": [_dt.date(2025, 10, 17), _dt.date(2025, 11, 21)]}),
    ...              _dt.date(2025, 10, 20)).tolist()
    [True, False]
    """
    if len(positions) == 0:
        return np.zeros(0, dtype=bool)
    return np.array([e is not None and e < valuation_date for e in _dates(positions["expiry"])], dtype=bool)


def split_expired(positions, valuation_date: _dt.date, marked=None) -> tuple[Any, Any, Any]:
    """``(live positions, live marked book, expired positions)``, row order kept, index reset.

    ``marked`` (a :func:`engine.risk.book.mark_book` table of the same rows) is filtered the
    same way; None stays None.  With ``positions`` None (a caller that passes only the marked
    book) the marked book's own ``expiry`` column decides, and the first item is None.
    """
    if positions is None:
        if marked is None:
            return None, None, None
        m = marked.reset_index(drop=True)
        gone = expired_mask(m, valuation_date)
        return None, m[~gone].reset_index(drop=True), m[gone].reset_index(drop=True)
    pos = positions.reset_index(drop=True)
    gone = expired_mask(pos, valuation_date)
    live_marked = None
    if marked is not None:
        m = marked.reset_index(drop=True)
        if len(m) != len(pos):
            raise VolarbInputError(f"split_expired: marked book has {len(m)} rows for {len(pos)} positions")
        live_marked = m[~gone].reset_index(drop=True)
    return pos[~gone].reset_index(drop=True), live_marked, pos[gone].reset_index(drop=True)


def read_outcomes(path: str | Path):
    """Read an outcomes CSV: ``underlying, kind, side, strike, expiry, outcome[, date, note]``.

    ``outcome`` is one of :data:`OUTCOMES`; kind/side take the positions file's spellings
    (P/C, S/L).  A missing file is an error naming it; every bad cell is reported with its line.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`OUTCOME_COLUMNS` plus ``key`` (:func:`position_key`).
    """
    import pandas as pd

    from engine.data.positions import parse_date

    p = Path(path)
    if not p.exists():
        raise OutcomesError(f"{p}: outcomes file not found (alerts.outcomes_file / --outcomes)")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise OutcomesError(
            f"{p.name}: not a readable CSV ({type(exc).__name__}); expected the header "
            + ", ".join(OUTCOME_COLUMNS)
        ) from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in OUTCOME_COLUMNS if c not in df.columns]
    if missing:
        raise OutcomesError(
            f"{p.name}: missing column(s) {', '.join(missing)} (expected {', '.join(OUTCOME_COLUMNS)})"
        )
    kinds = {"put": "put", "p": "put", "call": "call", "c": "call"}
    sides = {"short": "short", "s": "short", "sell": "short", "long": "long", "l": "long", "buy": "long"}
    rows, errors = [], []
    for i, r in enumerate(df.to_dict("records")):
        line = i + 2
        try:
            kind = kinds[r["kind"].strip().lower()]
        except KeyError:
            errors.append(f"{p.name}: line {line}, column kind: expected put or call, got {r['kind']!r}")
            continue
        try:
            side = sides[r["side"].strip().lower()]
        except KeyError:
            errors.append(f"{p.name}: line {line}, column side: expected short or long, got {r['side']!r}")
            continue
        try:
            strike = float(r["strike"].replace("$", ""))
            if not strike > 0:
                raise ValueError
        except ValueError:
            errors.append(
                f"{p.name}: line {line}, column strike: expected a positive number, got {r['strike']!r}"
            )
            continue
        try:
            expiry = parse_date(r["expiry"])
        except ValueError as exc:
            errors.append(f"{p.name}: line {line}, column expiry: {exc}")
            continue
        outcome = r["outcome"].strip().lower().replace(" ", "_")
        if outcome not in OUTCOMES:
            errors.append(
                f"{p.name}: line {line}, column outcome: expected one of {', '.join(OUTCOMES)}, "
                f"got {r['outcome']!r}"
            )
            continue
        und = r["underlying"].strip().upper()
        rows.append(
            {
                "underlying": und,
                "kind": kind,
                "side": side,
                "strike": strike,
                "expiry": expiry,
                "outcome": outcome,
                "key": position_key(und, kind, side, strike, expiry),
            }
        )
    if len(errors) == 1:
        raise OutcomesError(errors[0])
    if errors:
        raise OutcomesError("\n".join([f"{p.name}: {len(errors)} bad outcome rows", *errors]))
    return pd.DataFrame(rows, columns=[*OUTCOME_COLUMNS, "key"])


def _spot_on(prices, day: _dt.date) -> float | None:
    """Close on or before ``day`` from a ``date, close`` table, or None."""
    if prices is None or len(prices) == 0:
        return None
    d = _dates(prices["date"])
    best = None
    for di, c in zip(d, prices["close"]):
        if di is not None and di <= day and (best is None or di >= best[0]):
            best = (di, float(c))
    return None if best is None else best[1]


def _share_lot(kind: str, side: str, strike: float, premium: float, shares: int) -> ShareLotFromExpiry:
    if kind == "put" and side == "short":
        return ShareLotFromExpiry(shares, strike, strike - premium, "cost basis")
    if kind == "call" and side == "short":
        return ShareLotFromExpiry(-shares, strike, strike + premium, "effective sale price")
    if kind == "call":
        return ShareLotFromExpiry(shares, strike, strike + premium, "cost basis")
    return ShareLotFromExpiry(-shares, strike, strike - premium, "effective sale price")


def expiry_actions(
    positions, config, valuation_date: _dt.date | None = None, outcomes=None, prices=None
) -> list[ExpiryAction]:
    """The expired lots with their expected outcome, share lot and the action to take.

    Parameters
    ----------
    positions : pandas.DataFrame
        Positions table.
    config : PlanConfig
        ``market.spot`` (fallback spot at expiry), ``capital.contract_multiplier``.
    valuation_date : datetime.date, optional
        Default ``config.valuation_date``.
    outcomes : pandas.DataFrame, optional
        :func:`read_outcomes` table: a recorded lot says so and needs nothing more.
    prices : pandas.DataFrame, optional
        ``date, close``: the close on the expiry date decides in the money.

    Returns
    -------
    list of ExpiryAction
        One per expired lot, in positions order.

    Examples
    --------
    A $2.50 short put (premium 0.98) expired with the stock at $2.00: assigned, 500 shares at a
    cost basis of 2.50 - 0.98 = $1.52:

    >>> import pandas as pd
    >>> from engine.config import default_config
    >>> pos = pd.DataFrame({"underlying": ["ASST"], "kind": ["put"], "side": ["short"], "strike": [2.5],
    ...                     "expiry": [_dt.date(2025, 10, 17)], "contracts": [5], "premium": [0.98]})
    >>> a = expiry_actions(pos, default_config().replace(market__spot=2.0), _dt.date(2025, 10, 20))[0]
    >>> a.expected_outcome, a.share_lot.shares, round(a.share_lot.basis, 2)
    ('assigned', 500, 1.52)
    """
    vd = valuation_date or config.valuation_date
    mult = int(config.capital.contract_multiplier)
    pos = positions.reset_index(drop=True)
    gone = expired_mask(pos, vd)
    recorded = {} if outcomes is None else dict(zip(outcomes["key"], outcomes["outcome"]))
    out = []
    for i in np.flatnonzero(gone):
        r = pos.iloc[int(i)]
        exp = _dates([r["expiry"]])[0]
        if exp is None:  # not reached: expired_mask is False for rows without an expiry
            continue
        kind, side = str(r["kind"]).lower(), str(r["side"]).lower()
        strike, premium = float(r["strike"]), float(r["premium"])
        contracts = int(r["contracts"])
        close = _spot_on(prices, exp)
        spot, basis = (
            (close, f"close on {exp}")
            if close is not None
            else (float(config.market.spot), "current spot (no close on the expiry date given)")
        )
        intrinsic = max(spot - strike, 0.0) if kind == "call" else max(strike - spot, 0.0)
        itm = intrinsic >= EXERCISE_THRESHOLD
        expected = ("assigned" if side == "short" else "exercised") if itm else "expired_worthless"
        lot = _share_lot(kind, side, strike, premium, contracts * mult) if itm else None
        key = position_key(r["underlying"], kind, side, strike, exp)
        rec = recorded.get(key)
        if rec is not None:
            action = f"recorded as {rec}; nothing to do"
        elif lot is not None:
            verb = "received" if lot.shares > 0 else "delivered"
            action = (
                f"record the outcome ({expected}) in the outcomes file; {abs(lot.shares)} shares {verb} at "
                f"${strike:.2f}, {lot.basis_label} ${lot.basis:.2f} per share"
            )
        else:
            action = "record the outcome (expired_worthless) in the outcomes file and drop the lot from the positions"
        out.append(
            ExpiryAction(
                key,
                str(r["underlying"]).upper(),
                kind,
                side,
                strike,
                exp,
                contracts,
                premium,
                spot,
                basis,
                itm,
                expected,
                rec,
                lot,
                action,
            )
        )
    return out


def shares_held(positions, outcomes=None, multiplier: int = 100) -> int:
    """Net shares of the underlying held: the positions' stock rows (kind = stock, + long,
    - short) when there are any (they are the trader's record of the shares); otherwise the
    shares the recorded assignments and exercises delivered (:func:`shares_from_outcomes`)."""
    if len(positions) and "shares" in positions.columns:
        stock = positions["kind"].astype(str).to_numpy() == "stock"
        if stock.any():
            sign = np.where(positions.loc[stock, "side"].astype(str).to_numpy() == "short", -1.0, 1.0)
            return int(np.sum(sign * positions.loc[stock, "shares"].to_numpy(float)))
    return shares_from_outcomes(outcomes, positions, multiplier)


def shares_from_outcomes(outcomes, positions, multiplier: int = 100) -> int:
    """Net shares the recorded assignments and exercises delivered (+ received, - delivered).

    A recorded lot is matched to its positions row by :func:`position_key` for its contracts.
    """
    if outcomes is None or len(outcomes) == 0 or len(positions) == 0:
        return 0
    pos = positions.reset_index(drop=True)
    pos = pos[pos["kind"].astype(str) != "stock"]
    keys = [
        position_key(r.underlying, r.kind, r.side, r.strike, _dates([r.expiry])[0]) for r in pos.itertuples()
    ]
    contracts = dict(zip(keys, pos["contracts"].astype(int)))
    total = 0
    for key, outcome, kind, side in zip(
        outcomes["key"], outcomes["outcome"], outcomes["kind"], outcomes["side"]
    ):
        if outcome not in ("assigned", "exercised") or key not in contracts:
            continue
        n = contracts[key] * multiplier
        total += n if (kind, side) in (("put", "short"), ("call", "long")) else -n
    return int(total)


def position_events(
    marked, config, valuation_date: _dt.date | None = None, outcomes=None, shares_held: int = 0
) -> list[PositionEvent]:
    """The position events of a marked book (see the module docstring).

    Parameters
    ----------
    marked : pandas.DataFrame
        :func:`engine.risk.book.mark_book` output (all lots, expired ones included).
    config : PlanConfig
        ``alerts.expiry_days``, ``market.spot``, ``capital.contract_multiplier``.
    outcomes : pandas.DataFrame, optional
        Recorded outcomes (an expired lot without one is ``EXPIRED_UNRECORDED``).
    shares_held : int
        Shares of the underlying held (e.g. :func:`shares_from_outcomes`).

    Examples
    --------
    >>> from engine.config import default_config
    >>> from engine.data.positions import example_positions
    >>> from engine.risk.book import mark_book
    >>> cfg = default_config()
    >>> ev = position_events(mark_book(example_positions(), cfg), cfg, _dt.date(2025, 10, 14))
    >>> sorted({e.alert for e in ev})
    ['SHORT_ITM', 'SHORT_NEAR_EXPIRY']
    """
    vd = valuation_date or config.valuation_date
    mult = int(config.capital.contract_multiplier)
    spot = float(config.market.spot)
    recorded = set() if outcomes is None else set(outcomes["key"])
    events: list[PositionEvent] = []
    m = marked.reset_index(drop=True)
    short_calls = 0
    for r in m.itertuples():
        exp = _dates([r.expiry])[0]
        if exp is None or r.kind == "stock":  # stock rows: counted in shares_held by the caller
            continue
        key = position_key(r.underlying, r.kind, r.side, r.strike, exp)
        days = (exp - vd).days
        if days < 0:
            if key not in recorded:
                events.append(
                    PositionEvent(
                        "EXPIRED_UNRECORDED",
                        key,
                        f"{key} expired {exp} ({-days} days ago) and no outcome is recorded",
                    )
                )
            continue
        if r.side != "short":
            continue
        if r.kind == "call":
            short_calls += int(r.contracts)
        if days <= config.alerts.expiry_days:
            events.append(
                PositionEvent(
                    "SHORT_NEAR_EXPIRY",
                    key,
                    f"{key}: {days} calendar day(s) to expiry "
                    f"(alerts.expiry_days {config.alerts.expiry_days}); {int(r.contracts)} contracts",
                )
            )
        itm = spot < r.strike if r.kind == "put" else spot > r.strike
        if itm:
            events.append(
                PositionEvent(
                    "SHORT_ITM",
                    key,
                    f"{key} is in the money: spot ${spot:.2f} "
                    f"{'<' if r.kind == 'put' else '>'} strike ${float(r.strike):.2f}",
                )
            )
    uncovered = int(shares_held) - short_calls * mult
    if uncovered >= mult:
        und = str(config.market.underlying).upper()
        events.append(
            PositionEvent(
                "UNCOVERED_SHARES",
                f"{und} shares",
                f"{uncovered} of {int(shares_held)} {und} "
                f"shares have no covered call ({short_calls} short call contracts x {mult})",
            )
        )
    return events
