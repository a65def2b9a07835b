"""The account as the broker sees it: cash, options and shares, strategy-based margin, buying power.

One model, used by every figure that depends on the account (the book's margin columns, the
BUYING_POWER_EXCEEDED alert, the plan's sizing cap, the order tickets, the report and the UDFs).

Bases (every money figure names one)
------------------------------------
net liquidation value (NLV)
    ``cash + sum of signed market values`` (long positions +, short positions -).
equity with loan value (EWL)
    ``cash`` plus the market value of the positions that have loan value: long stock, and long
    options expiring in more than ``margin.long_option_loan_months`` (margin account only).
    Short options and short stock are left out (their sale proceeds sit in cash and their
    market value is inside the full requirement); expired positions count at their settlement
    value.  So ``EWL - NLV`` = value of short positions - value of long options without loan
    value.
full requirement
    Compared with EWL (FINRA / CBOE presentation: a short option's requirement includes its
    market value).  Initial (opening, Reg T) and maintenance (FINRA 4210) figures.
requirement net of value
    ``full - (EWL part - NLV part)`` per position: what the position takes out of NLV.
excess liquidity
    ``EWL - full maintenance requirement = NLV - net maintenance requirement`` (the identity
    holds by construction, position by position).  Below 0: a margin call.
buying power
    Here: *available funds*, ``EWL - full initial requirement`` ($ that new positions may
    consume; a new short put takes its net requirement,
    :func:`engine.plan.margin.capital_per_contract`).  Not the leveraged "stock buying power" (2x or
    4x of it) some brokers display.

Strategy-based rules (margin account; FINRA Rule 4210(f)(2), CBOE Margin Manual)
-------------------------------------------------------------------------------
* uncovered short put / call: :func:`engine.plan.margin.short_option_requirement`;
* covered call (short call against 100 long shares a contract, same underlying): the call needs
  nothing; the shares are counted at no more than the call strike, so their requirement is
  ``S*q - (1 - pct) * min(S, K) * q`` (``pct`` the stock initial / maintenance rate);
* vertical spread (short option against a long option of the same kind and underlying expiring
  no earlier): ``min(width, naked requirement)`` with width ``max(K_short - K_long, 0) * m``
  (puts) or ``max(K_long - K_short, 0) * m`` (calls); the long leg is paid for and has no loan
  value;
* long options: paid 100%, no loan value at or under ``long_option_loan_months`` (9); longer
  ones lend 25% (75% of the value required);
* long stock: ``stock_initial_pct`` / ``stock_maintenance_pct`` (50% / 25%), 100% under
  ``low_price_threshold``; short stock: 150% initial (Reg T), maintenance the value plus the
  greater of 30% or $5 a share ($2.50 a share or 100% under $5), FINRA 4210(c)(2).

Cash account: puts cash-secured (``K * m``), calls only covered by shares, no loan on anything
(shares 100%, long options paid), no short stock; a position the account cannot hold raises
:class:`AccountError` naming where it came from (file and line when the table was read by
:mod:`engine.data.positions`).

The requirement kernels (:mod:`engine.plan.margin`) are vectorized; the pairing below loops over the
lots of a book (a combinatorial step, small books), not over paths or scenarios.

Pairing is greedy per underlying: a long and a short lot of the same option (kind, strike,
expiry) first offset each other (a closed position needs nothing); then short calls are covered by long shares first (lowest strike
first), then by long calls (the lowest long strike first); short puts by long puts (highest
long strike first); among equal strikes the earliest-expiring long leg is used first, so that
long-dated options keep their loan value.  Not covered: straddles/strangles (each leg is margined as uncovered, which is
never less than the FINRA straddle rule), butterflies, boxes, short puts against short stock.

References
----------
FINRA Rule 4210(c), (f)(2)(C)-(G); CBOE Margin Manual (2000); Regulation T, 12 CFR 220.12.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine._validate import VolarbInputError
from engine.config import MarginConfig
from engine.plan.margin import short_option_requirement

__all__ = [
    "AccountError",
    "AccountState",
    "position_requirements",
    "evaluate_account",
    "account_state",
    "long_dated",
    "LONG_OPTION_MARGIN",
    "REQUIREMENT_COLUMNS",
]

#: FINRA 4210(f)(2)(D)(i): a long listed option of more than 9 months needs 75% of its value.
LONG_OPTION_MARGIN = 0.75
#: FINRA 4210(c)(2): short stock maintenance (value plus the greater of these).
_SHORT_PCT, _SHORT_PER_SHARE, _SHORT_LOW_PRICE, _SHORT_LOW_PER_SHARE = 0.30, 5.0, 5.0, 2.50

#: per-position columns of :func:`position_requirements` ($; basis in the name)
REQUIREMENT_COLUMNS = (
    "market_value",
    "ewl_value",
    "requirement_initial",
    "requirement",
    "margin_initial",
    "margin",
    "strategy",
)


class AccountError(VolarbInputError):
    """A position the account cannot hold or an account figure that cannot be computed."""


@dataclass(frozen=True)
class AccountState:
    """The account on one basis set, $ (see the module docstring for each definition).

    Attributes
    ----------
    account : str
        "margin" or "cash".
    cash : float
        Cash balance, $ (negative: a margin loan).
    net_liquidation : float
        NLV, $.
    equity_with_loan_value : float
        EWL, $.
    initial_requirement, maintenance_requirement : float
        Full basis (compared with EWL), $.
    initial_requirement_net, maintenance_requirement_net : float
        Net of the positions' value (compared with NLV), $.
    excess_liquidity : float
        ``EWL - maintenance_requirement`` = ``NLV - maintenance_requirement_net``, $.
    buying_power : float
        Available funds, ``EWL - initial_requirement`` = ``NLV - initial_requirement_net``, $.
    positions : pandas.DataFrame
        One row per position: :data:`REQUIREMENT_COLUMNS` beside the position columns.
    """

    account: str
    cash: float
    net_liquidation: float
    equity_with_loan_value: float
    initial_requirement: float
    maintenance_requirement: float
    initial_requirement_net: float
    maintenance_requirement_net: float
    excess_liquidity: float
    buying_power: float
    positions: Any = dataclasses.field(repr=False, compare=False)

    def summary(self) -> dict[str, float | str]:
        """The book-level figures as a plain dict (JSON-ready), keys naming the basis."""
        return {
            k: getattr(self, k)
            for k in (
                "account",
                "cash",
                "net_liquidation",
                "equity_with_loan_value",
                "initial_requirement",
                "maintenance_requirement",
                "initial_requirement_net",
                "maintenance_requirement_net",
                "excess_liquidity",
                "buying_power",
            )
        }


def _add_months(d: _dt.date, months: int) -> _dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    y, m = d.year + y, m + 1
    last = (_dt.date(y + (m == 12), m % 12 + 1, 1) - _dt.timedelta(days=1)).day
    return _dt.date(y, m, min(d.day, last))


def long_dated(expiry, valuation_date: _dt.date, months: int = 9) -> np.ndarray:
    """True where an option expires more than ``months`` calendar months after ``valuation_date``.

    >>> long_dated([_dt.date(2026, 6, 27), _dt.date(2026, 6, 28), None], _dt.date(2025, 9, 27)).tolist()
    [False, True, False]
    """
    cut = _add_months(valuation_date, int(months))
    return np.array([e is not None and not (isinstance(e, float)) and e > cut for e in expiry], dtype=bool)


def _short_stock(spot: float, q: float, margin: MarginConfig) -> tuple[float, float]:
    value = spot * q
    per = _SHORT_PER_SHARE if spot >= _SHORT_LOW_PRICE else _SHORT_LOW_PER_SHARE
    pct = _SHORT_PCT if spot >= _SHORT_LOW_PRICE else 1.0
    maint = value + max(pct * value, per * q)
    return max(value * (1.0 + margin.stock_initial_pct), maint), maint


def position_requirements(
    kind,
    side,
    strike,
    qty,
    mark,
    spot,
    margin: MarginConfig = MarginConfig(),
    *,
    dte=None,
    long_dated_mask=None,
    underlying=None,
    multiplier: int = 100,
    where=None,
):
    """Strategy-based requirement of every position of a book, $ per position.

    Parameters
    ----------
    kind : array_like of str
        "put", "call" or "stock".
    side : array_like of str
        "long" or "short".
    strike : array_like
        $ per share (ignored for stock).
    qty : array_like
        Contracts (options) or shares (stock), > 0.
    mark : array_like
        Market value, $ per share (the stock's price for stock rows).
    spot : float
        Underlying price, $ per share.
    margin : MarginConfig
        Account type and house rules.
    dte : array_like of int, optional
        Days to expiry (< 0: expired; no requirement); pairing needs the long leg to expire no
        earlier than the short one.  Default: all live, same expiry.
    long_dated_mask : array_like of bool, optional
        Long options with loan value (more than ``long_option_loan_months``); default none.
    underlying : array_like of str, optional
        Pairing happens within one underlying (default: one underlying).
    multiplier : int
        Shares per contract.
    where : callable, optional
        ``where(i)`` names row ``i`` in an :class:`AccountError` message.

    Returns
    -------
    dict of ndarray
        :data:`REQUIREMENT_COLUMNS`: ``market_value`` (signed, the NLV part), ``ewl_value`` (the
        EWL part), ``requirement_initial`` / ``requirement`` (full basis, initial /
        maintenance), ``margin_initial`` / ``margin`` (net of value: full - (EWL part - NLV
        part)), ``strategy`` (text: "uncovered", "covered call", "spread", "long option",
        "long stock", "covered stock", "short stock", "expired", ...).

    Raises
    ------
    AccountError
        A cash account holding an uncovered short call or short stock; a non-finite requirement.

    Examples
    --------
    Covered call (CBOE sample positions, IBM at 97.73): long 10,000 shares, short 100 April 100
    calls at 1.68.  Shares counted at min(97.73, 100): 50% x 977,300 = 488,650 full; net of the
    calls' 16,800 value: 471,850 (CBOE's strategy-based figure).

    >>> r = position_requirements(["stock", "call"], ["long", "short"], [np.nan, 100.0], [10_000, 100],
    ...                           [97.73, 1.68], 97.73)
    >>> [round(float(x), 2) for x in r["requirement_initial"]], round(float(r["margin_initial"].sum()), 2)
    ([488650.0, 0.0], 471850.0)
    """
    kind = np.asarray(kind, dtype=object).reshape(-1)
    n = kind.size
    side = np.asarray(side, dtype=object).reshape(-1)
    strike = np.asarray(strike, dtype=float).reshape(-1)
    qty = np.asarray(qty, dtype=float).reshape(-1)
    mark = np.asarray(mark, dtype=float).reshape(-1)
    dte = np.ones(n, dtype=np.int64) if dte is None else np.asarray(dte).reshape(-1)
    ld = (
        np.zeros(n, dtype=bool)
        if long_dated_mask is None
        else np.asarray(long_dated_mask, dtype=bool).reshape(-1)
    )
    und = (
        np.full(n, "", dtype=object)
        if underlying is None
        else np.asarray(underlying, dtype=object).reshape(-1)
    )
    name = where or (lambda i: f"positions row {i + 1}")
    m = float(multiplier)
    spot = float(spot)
    cash = margin.account == "cash"
    stock = kind == "stock"
    long_ = side == "long"
    sign = np.where(long_, 1.0, -1.0)
    shares = np.where(stock, qty, qty * m)
    value = sign * shares * mark
    expired = ~stock & (dte < 0)
    ewl = np.zeros(n)
    r_init = np.zeros(n)
    r_maint = np.zeros(n)
    strategy = np.full(n, "", dtype=object)

    def naked(i: int) -> float:
        return float(short_option_requirement(kind[i], spot, strike[i], mark[i], margin, multiplier=int(m)))

    for u in dict.fromkeys(und.tolist()):
        grp = [i for i in range(n) if und[i] == u and not expired[i]]
        stock_left = {i: qty[i] for i in grp if stock[i] and long_[i]}
        cover_left = {i: qty[i] for i in grp if not stock[i] and long_[i]}
        covered_sh: dict[int, list[tuple[float, float]]] = {i: [] for i in stock_left}
        used_as_cover = {i: 0.0 for i in cover_left}
        # a long and a short lot of the same option offset each other (a closed position)
        short_left = {i: qty[i] for i in grp if not stock[i] and not long_[i]}
        offset_n = dict.fromkeys(short_left, 0.0)
        for i in short_left:
            for j in cover_left:
                if kind[j] == kind[i] and strike[j] == strike[i] and dte[j] == dte[i] and cover_left[j] > 0:
                    c = min(short_left[i], cover_left[j])
                    short_left[i] -= c
                    cover_left[j] -= c
                    used_as_cover[j] += c
                    offset_n[i] += c
        # short calls: shares first (lowest strike first), then long calls
        for i in sorted((i for i in grp if kind[i] == "call" and not long_[i]), key=lambda i: strike[i]):
            left, parts = short_left[i], (["offset"] if offset_n[i] else [])
            for j in stock_left:
                c = min(left, np.floor(stock_left[j] / m))
                if c > 0:
                    stock_left[j] -= c * m
                    covered_sh[j].append((c * m, strike[i]))
                    left -= c
                    parts.append("covered call")
            full_i = naked(i) if left > 0 and not cash else np.nan
            req = 0.0
            for j in sorted(
                (j for j in cover_left if kind[j] == "call" and dte[j] >= dte[i]),
                key=lambda j: (strike[j], dte[j]),
            ):
                c = min(left, cover_left[j])
                if c > 0:
                    width = max(strike[j] - strike[i], 0.0) * m
                    req += c * (width if cash else min(width, full_i))
                    cover_left[j] -= c
                    used_as_cover[j] += c
                    left -= c
                    parts.append("spread")
            if left > 0:
                if cash:
                    raise AccountError(
                        f"{name(i)}: a cash account (margin.account = cash) cannot be short an "
                        f"uncovered call ({int(left)} of {int(qty[i])} contracts at ${strike[i]:g} "
                        f"have no 100 shares each); hold the shares or use a margin account"
                    )
                req += left * full_i
                parts.append("uncovered")
            r_init[i] = r_maint[i] = req
            strategy[i] = " + ".join(dict.fromkeys(parts))
        # short puts: long puts, highest long strike first
        for i in sorted((i for i in grp if kind[i] == "put" and not long_[i]), key=lambda i: -strike[i]):
            left, parts, req = short_left[i], (["offset"] if offset_n[i] else []), 0.0
            full_i = naked(i)
            for j in sorted(
                (j for j in cover_left if kind[j] == "put" and dte[j] >= dte[i]),
                key=lambda j: (-strike[j], dte[j]),
            ):
                c = min(left, cover_left[j])
                if c > 0:
                    width = max(strike[i] - strike[j], 0.0) * m
                    req += c * min(width, full_i)
                    cover_left[j] -= c
                    used_as_cover[j] += c
                    left -= c
                    parts.append("spread")
            if left > 0:
                req += left * full_i
                parts.append("cash-secured" if cash else "uncovered")
            r_init[i] = r_maint[i] = req
            strategy[i] = " + ".join(dict.fromkeys(parts))
        # long options: paid 100%; loan value only when long-dated, unpaired, margin account
        for j in cover_left:
            free = qty[j] - used_as_cover[j]
            lends = ld[j] and not cash
            if lends and free > 0:
                part_value = free * m * mark[j]
                ewl[j] = part_value
                r_init[j] = r_maint[j] = LONG_OPTION_MARGIN * part_value
            strategy[j] = (
                "cover (spread leg or offset)"
                if used_as_cover[j] >= qty[j]
                else ("long option (loan value 25%)" if lends else "long option (paid 100%)")
            )
        # long stock: covered part at min(S, K), the rest at the stock rates
        for j in stock_left:
            ewl[j] = qty[j] * spot
            no_loan = cash or spot < margin.low_price_threshold
            tot_i = tot_m = 0.0
            for q, k in covered_sh[j]:
                for phase, pct in (("i", margin.stock_initial_pct), ("m", margin.stock_maintenance_pct)):
                    loan = 0.0 if no_loan else (1.0 - pct) * min(spot, k) * q
                    if phase == "i":
                        tot_i += spot * q - loan
                    else:
                        tot_m += spot * q - loan
            free = stock_left[j]
            rate_i = 1.0 if no_loan else margin.stock_initial_pct
            rate_m = 1.0 if no_loan else margin.stock_maintenance_pct
            r_init[j] = tot_i + rate_i * spot * free
            r_maint[j] = tot_m + rate_m * spot * free
            strategy[j] = "covered stock" if covered_sh[j] else "long stock"
        for j in (i for i in grp if stock[i] and not long_[i]):
            if cash:
                raise AccountError(
                    f"{name(j)}: a cash account (margin.account = cash) cannot be short stock "
                    f"({int(qty[j])} shares); use a margin account"
                )
            r_init[j], r_maint[j] = _short_stock(spot, qty[j], margin)
            strategy[j] = "short stock"
    ewl = np.where(expired, value, ewl)
    strategy[expired] = "expired"
    bad = ~np.isfinite(r_init) | ~np.isfinite(r_maint)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AccountError(
            f"{name(i)}: the requirement cannot be computed (check its strike, mark and quantity)"
        )
    offset = ewl - value
    return {
        "market_value": value,
        "ewl_value": ewl,
        "requirement_initial": r_init,
        "requirement": r_maint,
        "margin_initial": r_init - offset,
        "margin": r_maint - offset,
        "strategy": strategy.astype(str),
    }


def evaluate_account(
    kind,
    side,
    strike,
    qty,
    mark,
    spot,
    *,
    cash: float,
    margin: MarginConfig = MarginConfig(),
    positions=None,
    **kwargs,
) -> AccountState:
    """The account of a book given as arrays and a cash balance (see :func:`position_requirements`).

    Parameters
    ----------
    kind, side, strike, qty, mark, spot, margin, **kwargs
        As :func:`position_requirements`.
    cash : float
        Cash balance, $.
    positions : pandas.DataFrame, optional
        Frame the per-position columns are added to (default: a new one).

    Returns
    -------
    AccountState

    Examples
    --------
    $3,792 of cash, short 10 $2.50 puts marked 1.15 at S = 3.15 (sold for $1,150, in the cash):
    full requirement 10 x 140 = 1,400; EWL = 3,792 + 1,150 = 4,942; NLV = 4,942 - 1,150 = 3,792;
    excess liquidity = 4,942 - 1,400 = 3,542 = 3,792 - 10 x 25.

    >>> a = evaluate_account(["put"], ["short"], [2.5], [10], [1.15], 3.15, cash=3792.0 + 1150.0)
    >>> round(a.net_liquidation, 2), round(a.equity_with_loan_value, 2), round(a.maintenance_requirement, 2)
    (3792.0, 4942.0, 1400.0)
    >>> round(a.excess_liquidity, 2), round(a.net_liquidation - a.maintenance_requirement_net, 2), round(a.buying_power, 2)
    (3542.0, 3542.0, 3542.0)
    """
    import pandas as pd

    r = position_requirements(kind, side, strike, qty, mark, spot, margin, **kwargs)
    cash = float(cash)
    nlv = cash + float(r["market_value"].sum())
    ewl = cash + float(r["ewl_value"].sum())
    ri, rm = float(r["requirement_initial"].sum()), float(r["requirement"].sum())
    ni, nm = float(r["margin_initial"].sum()), float(r["margin"].sum())
    frame = (
        pd.DataFrame(index=range(len(r["market_value"])))
        if positions is None
        else positions.reset_index(drop=True).copy()
    )
    for k in REQUIREMENT_COLUMNS:
        frame[k] = r[k]
    return AccountState(
        account=margin.account,
        cash=cash,
        net_liquidation=nlv,
        equity_with_loan_value=ewl,
        initial_requirement=ri,
        maintenance_requirement=rm,
        initial_requirement_net=ni,
        maintenance_requirement_net=nm,
        excess_liquidity=ewl - rm,
        buying_power=ewl - ri,
        positions=frame,
    )


def account_state(
    positions,
    config=None,
    *,
    cash: float | None = None,
    net_liquidation: float | None = None,
    marked=None,
    valuation_date: _dt.date | None = None,
) -> AccountState:
    """The account of a positions table under the config's market and ``[margin]`` rules.

    Parameters
    ----------
    positions : pandas.DataFrame
        Positions table (options and stock rows; :data:`engine.data.positions.POSITION_COLUMNS`).
    config : PlanConfig, optional
        Market (spot, vol, ...), ``margin`` rules and ``account.starting_value``.
    cash : float, optional
        Cash balance, $.  Default: ``net_liquidation - market value of the positions``.
    net_liquidation : float, optional
        NLV, $, when ``cash`` is not given (default ``config.account.starting_value``).
    marked : pandas.DataFrame, optional
        ``mark_book(positions, config)`` if already computed (its requirement columns are used).
    valuation_date : datetime.date, optional
        Overrides the config's.

    Returns
    -------
    AccountState

    Raises
    ------
    AccountError
        A position the account cannot hold; both ``cash`` and ``net_liquidation`` given.

    Examples
    --------
    The plan's book (38 short puts) at its $3,792 portfolio value: requirement net of the puts'
    value $1,098 against NLV $3,792 (full basis: $6,185 against EWL $8,879).

    >>> from engine.data.positions import example_positions
    >>> puts = example_positions().query("kind == 'put'")
    >>> a = account_state(puts)
    >>> round(a.maintenance_requirement_net), round(a.net_liquidation), round(a.maintenance_requirement), round(a.equity_with_loan_value)
    (1098, 3792, 6185, 8879)
    """
    from engine.config import default_config
    from engine.risk.book import mark_book

    cfg = config if config is not None else default_config()
    if cash is not None and net_liquidation is not None:
        raise AccountError("give cash or net_liquidation, not both")
    if marked is None:
        marked = mark_book(positions, cfg, valuation_date=valuation_date)
    need = [c for c in REQUIREMENT_COLUMNS if c not in marked.columns]
    if need:
        raise AccountError(f"account_state: marked book lacks {', '.join(need)}; pass mark_book() output")
    mv = float(marked["market_value"].sum())
    if cash is None:
        nlv = float(cfg.account.starting_value if net_liquidation is None else net_liquidation)
        cash = nlv - mv
    cash = float(cash)
    if not np.isfinite(cash):
        raise AccountError(f"cash must be a finite number of $, got {cash!r}")
    ewl = cash + float(marked["ewl_value"].sum())
    ri, rm = float(marked["requirement_initial"].sum()), float(marked["requirement"].sum())
    ni, nm = float(marked["margin_initial"].sum()), float(marked["margin"].sum())
    return AccountState(
        account=cfg.margin.account,
        cash=cash,
        net_liquidation=cash + mv,
        equity_with_loan_value=ewl,
        initial_requirement=ri,
        maintenance_requirement=rm,
        initial_requirement_net=ni,
        maintenance_requirement_net=nm,
        excess_liquidity=ewl - rm,
        buying_power=ewl - ri,
        positions=marked,
    )
