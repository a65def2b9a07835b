"""Rebalancing the book toward the plan: put-ladder adjustments and the call-hedge restructure.

The plan's Month 1 "Current Position Adjustments" adjust the book the trader already holds:
keep the $2.50 concentration, expand the $3.00 strike, "close 1 contract [at $5.00] if
profitable", and restructure the existing calls ("random strikes without strategic purpose")
into the systematic hedge ladder.  :func:`rebalance` does that for any book, in five steps:

1. **Put targets** (obligation basis).  The book's total short-put obligation ``O`` ($: strike
   x multiplier x contracts, the cash needed if every put is assigned; ``rebalance.obligation``
   overrides it) is shared out by ``strikes.weights``: ``target_k = floor(O w_k / (K_k m) +
   1/2)`` whole contracts at strike ``K_k`` (the nearest whole-contract book to the weights).
   This is the measure the weekly review's allocation drift uses, so a book on target has zero
   drift up to whole contracts.  A rebalance keeps the book's size; growing it with new money
   is the monthly allocation's job (:func:`engine.plan.allocation.allocate_strikes`).
2. **Put orders.**  ``difference = target - held``.  Within ``rebalance.tolerance_contracts``
   nothing happens.  Above it: sell ``difference`` new puts at the plan's next expiry
   (:func:`engine.plan.allocation.put_expiry`) at the model mid.  Below it, unless the strike is
   in ``rebalance.keep_strikes``: close lots under the plan's "close if profitable" rule - only
   lots whose buy-back price (the model mark, $ per share) is below their sale premium,
   cheapest buy-back first, until the target is reached; every other lot is kept with the
   reason.  Strikes off the plan's ladder have target 0.
3. **Call-hedge restructure.**  The hedge budget is the call share (``allocation.call_share``,
   or :func:`engine.plan.hedge.hedge_ratio` with ``hedge.use_dynamic_ratio``) of the premium
   received on the open short puts (``rebalance.hedge_budget`` overrides it); each rung ``r`` of ``hedge.ladder`` gets ``share_r`` of it
   and targets ``floor(budget_r / (price_r m))`` calls at the listed strike nearest ``moneyness
   x spot`` on the first monthly expiration at least ``dte`` days out (as
   :func:`engine.plan.hedge.hedge_ladder`).  A long call whose strike is within
   ``rebalance.hedge_strike_tolerance`` (a share of the rung strike) and whose expiry is within
   ``rebalance.hedge_expiry_window_days`` of a rung is kept and counted against it (nearest rung
   first); the other long calls are proposed for closing at their model value; missing rung
   calls beyond the tolerance band are bought.  Short calls that are not covered by 100 shares
   a contract are flagged (never part of a hedge; they are not closed automatically).
4. **Gates.**  Orders run in this order: put closes, call closes, put sales, call purchases,
   through :func:`engine.plan.orders.order_tickets` with the account of the book
   (:func:`engine.plan.account.account_state`, the month's deposit added to cash when
   ``rebalance.include_monthly_addition``): each ticket is re-margined with the book and the
   tickets proposed before it and is held when buying power (available funds, EWL - initial
   requirement) would fall below 0; the opening tickets are also held by the order-ticket rules
   of the risk alerts of ``rebalance.hold_on_alerts`` that fire.  Held tickets stay in the
   result with the reason (never dropped).
5. **Tickets**: every trade, placed or held, through :func:`engine.plan.orders.order_tickets`
   (10-lot slices, limit near mid, ticks, windows) with ``purpose``, ``status``, ``reason``.

Money bases (named on every figure): *obligation* $ = strike x multiplier x contracts (cash
needed on assignment); *premium* $ = model mid x multiplier x contracts (received on a sale,
paid on a purchase); *value* $ = model mark x multiplier x contracts; *buying power* $ =
available funds (equity with loan value - initial requirement, :mod:`engine.plan.account`);
*call notional* $ = contracts x multiplier x spot.

References
----------
The plan (``strategy-plan.txt``): Month 1 "Current Position Adjustments", "Call Position
Analysis", ``select_optimal_hedge_strikes``, the weekly review's "rebalancing_recommendations".
FINRA Rule 4210(f)(2)(D) (long listed options of 9 months or less have no loan value).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine._validate import VolarbInputError

__all__ = [
    "RebalanceError",
    "Rebalance",
    "StrikeTarget",
    "LotDecision",
    "RungTarget",
    "CallDecision",
    "BuyingPower",
    "rebalance",
    "apply_trades",
    "recommendations",
    "TRADE_COLUMNS",
]

#: columns of :attr:`Rebalance.trades` (the tickets add :data:`engine.plan.orders.TICKET_COLUMNS`)
TRADE_COLUMNS = (
    "action",
    "underlying",
    "kind",
    "strike",
    "expiry",
    "contracts",
    "mid",
    "effect",
    "purpose",
    "position_row",
    "status",
    "reason",
    "buying_power_after",
)
_EPS = 1e-9


class RebalanceError(VolarbInputError):
    """A rebalance input that breaks a rule (message names the key or position and the rule)."""


@dataclass(frozen=True)
class StrikeTarget:
    """One put strike: target vs book (contracts; obligation $; premium $ at the model mid).

    ``obligation_*`` are $ of obligation (strike x multiplier x contracts); ``premium_difference``
    is $ of premium: + received for the placed sales, - paid to buy back the placed closes (model
    mid).  ``exact_target`` = ``O w / (K m)`` (fractional contracts); ``target`` rounds it to the
    nearest whole contract.  The tolerance band compares ``held`` with ``exact_target``.  ``action`` is "add", "reduce", "within band", "on target" or "kept" (over target but
    nothing may be closed); ``sell`` / ``close`` count the contracts of the placed orders,
    ``sell_held`` those of held sales; ``kept`` counts the contracts kept above the target.
    """

    strike: float
    weight: float
    exact_target: float
    target: int
    held: int
    difference: int
    action: str
    sell: int
    sell_held: int
    close: int
    kept: int
    obligation_target: float
    obligation_held: float
    obligation_difference: float
    premium_difference: float
    new_put_premium: float
    note: str


@dataclass(frozen=True)
class LotDecision:
    """One open short-put lot at an over-weight strike: closed or kept, and why.

    ``premium`` is the sale premium and ``buyback`` the model mark, both $ per share;
    ``pnl_if_closed`` is $ (``(premium - buyback) x multiplier x close``).
    """

    position_row: int
    strike: float
    expiry: _dt.date
    contracts: int
    premium: float
    buyback: float
    close: int
    keep: int
    pnl_if_closed: float
    reason: str


@dataclass(frozen=True)
class RungTarget:
    """One hedge rung: target calls from its budget, the calls kept for it and the calls bought.

    ``budget``, ``cost`` and ``leftover`` are $ (premium paid at the model mid); ``price`` is
    $ per share; ``exact_target`` = budget / (price x multiplier) and ``target`` its floor;
    ``difference`` = target - held (contracts); ``leftover`` = budget - target x price x
    multiplier (what the rung's budget
    cannot spend on whole contracts).  ``status``: "on target", "within band", "buy",
    "over target", "budget too small" (target 0: bought 0, the leftover is the whole budget) or
    "held" (no listed strike near the rung; with the reason).
    """

    rung: int
    key: str
    moneyness: float
    strike: float
    expiry: _dt.date
    dte: int
    share: float
    budget: float
    price: float
    exact_target: float
    target: int
    held: int
    difference: int
    buy: int
    cost: float
    leftover: float
    status: str
    reason: str


@dataclass(frozen=True)
class CallDecision:
    """One open call: "keep" (counted for a rung), "close" (matches no rung) or "flag".

    ``value`` is $ at the model mark (+ long, - short).
    """

    position_row: int
    side: str
    strike: float
    expiry: _dt.date
    contracts: int
    mark: float
    value: float
    action: str
    rung: int | None
    reason: str


@dataclass(frozen=True)
class BuyingPower:
    """Buying power of the rebalance, $, and how it was found.

    ``available = net_liquidation + deposit - used``: ``used`` is what the open book takes out of
    net liquidation on the model's basis; ``basis`` spells the figure out, ``source`` names the
    model.
    """

    available: float
    net_liquidation: float
    deposit: float
    used: float
    basis: str
    source: str


@dataclass(frozen=True)
class Rebalance:
    """Result of :func:`rebalance` (every $ figure names its basis in the field docs).

    Attributes
    ----------
    valuation_date : date
    obligation : float
        Total short-put obligation the targets share out, $ (obligation basis).
    strikes : tuple of StrikeTarget
    lots : tuple of LotDecision
        The lots at strikes with an over-weight (closed or kept).
    rungs : tuple of RungTarget
    calls : tuple of CallDecision
    hedge_ratio : float
        Share of the put premium given to hedges (call share or dynamic ratio).
    hedge_budget : float
        $ of premium (the put premium received x hedge_ratio, or ``rebalance.hedge_budget``).
    put_premium : float
        Premium received on the open short puts, $.
    coverage_before, coverage_after : float
        Call notional per contract of short puts, $ (long calls x multiplier x spot / short put
        contracts; after = kept + bought calls over the puts after the placed put orders).
    restructure_net_cash : float
        $ at the model mid of the placed call orders: + closes' proceeds - purchases' cost.
    puts_net_cash : float
        $ at the model mid of the placed put orders: + premium received - buy-back paid.
    buying_power : BuyingPower
        Before the orders.
    buying_power_left : float
        $ after the placed orders.
    trades : pandas.DataFrame
        :data:`TRADE_COLUMNS`, one row per trade (placed or held).
    tickets : pandas.DataFrame
        The trades as order tickets (``order_tickets``) plus ``effect``, ``purpose``,
        ``position_row``, ``status`` ("PROPOSED"/"HELD", as :func:`engine.plan.orders.order_tickets`),
        ``reason`` and ``buying_power_after`` ($ after the ticket; a held one changes nothing).
    warnings : tuple of str
        One line each: a held order's cause, a rung with no listed strike, an uncovered short call.
    """

    valuation_date: _dt.date
    obligation: float
    strikes: tuple[StrikeTarget, ...]
    lots: tuple[LotDecision, ...]
    rungs: tuple[RungTarget, ...]
    calls: tuple[CallDecision, ...]
    hedge_ratio: float
    hedge_budget: float
    put_premium: float
    coverage_before: float
    coverage_after: float
    restructure_net_cash: float
    puts_net_cash: float
    buying_power: BuyingPower
    buying_power_left: float
    trades: Any = dataclasses.field(repr=False, compare=False)
    tickets: Any = dataclasses.field(repr=False, compare=False)
    warnings: tuple[str, ...] = ()

    @property
    def placed(self) -> Any:
        """The tickets to place (status "PROPOSED")."""
        return self.tickets[self.tickets["status"] == "PROPOSED"]

    @property
    def held(self) -> Any:
        """The tickets held (status "HELD"), each with its reason."""
        return self.tickets[self.tickets["status"] == "HELD"]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (dates ISO text, NaN as None)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in ("trades", "tickets"):
                v = v.to_dict(orient="records")
            elif isinstance(v, tuple) and v and dataclasses.is_dataclass(v[0]):
                v = [dataclasses.asdict(x) for x in v]
            elif dataclasses.is_dataclass(v) and not isinstance(v, type):
                v = dataclasses.asdict(v)
            out[f.name] = _plain(v)
        return out


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        x = float(v)
        return x if math.isfinite(x) else None
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    return v


# --------------------------------------------------------------------------- helpers
def _check_weights(strikes, weights) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(strikes, dtype=float).reshape(-1)
    w = np.asarray(weights, dtype=float).reshape(-1)
    if k.size != w.size or k.size == 0:
        raise RebalanceError(
            f"strikes.weights: one weight per strike of strikes.strikes is required, "
            f"got {w.size} weights for {k.size} strikes"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise RebalanceError("strikes.weights: every weight must be a number >= 0")
    if abs(float(w.sum()) - 1.0) > 1e-9:
        raise RebalanceError(f"strikes.weights must sum to 1, they sum to {float(w.sum()):.6g}")
    if not np.all(np.isfinite(k)) or np.any(k <= 0):
        raise RebalanceError("strikes.strikes: every strike must be a number > 0")
    return k, w


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def _listed_strike(target: float, listed, increment: float) -> float:
    if listed is not None and len(listed):
        arr = np.asarray(sorted(set(float(x) for x in listed)), dtype=float)
        return float(arr[np.argmin(np.abs(arr - target))])
    if increment > 0:
        return float(np.round(target / increment) * increment)
    return float(target)


def _shares_held(positions, shares: float | None) -> float:
    if shares is not None:
        return float(shares)
    kinds = positions["kind"].astype(str).to_numpy()
    if "stock" not in kinds:
        return 0.0
    col = "shares" if "shares" in positions.columns else "contracts"
    stock = positions[(positions["kind"] == "stock")]
    sign = np.where(stock["side"].to_numpy() == "long", 1.0, -1.0)
    return float(np.nansum(sign * stock[col].to_numpy(float)))


_TRADE_FIELDS = ("action", "underlying", "kind", "strike", "expiry", "contracts", "mid")
_TICKET_EXTRA = ("effect", "purpose", "position_row", "status", "reason", "buying_power_after")


def _gate_orders(
    trades: list[dict[str, Any]],
    positions,
    marked,
    cfg,
    net_liquidation: float | None,
    deposit: float,
    firing: list[str],
    valuation_date: _dt.date,
) -> tuple[Any, BuyingPower]:
    """The trades as order tickets, each PROPOSED or HELD with the reason: the one call into the account.

    The account of the book (:func:`engine.plan.account.account_state`; the month's deposit
    added to its cash) gates the tickets through :func:`engine.plan.orders.order_tickets`, the
    same rules as every other order ticket: each ticket is re-margined with the book and the
    tickets proposed before it, and held when buying power (available funds, EWL - initial
    requirement) would fall below 0.  The closes go first, without alerts (closing never adds
    risk); the opening orders then see the account after the closes and the alerts of
    ``firing`` (a short put under CONCENTRATION_RISK, a short sale under VAR_LIMIT_BREACH, ...).
    """
    import pandas as pd

    from engine.plan.account import account_state
    from engine.plan.orders import TICKET_COLUMNS, order_tickets
    from engine.risk.book import mark_book

    m = int(cfg.capital.contract_multiplier)
    nlv = float(cfg.account.starting_value if net_liquidation is None else net_liquidation)
    acct = account_state(
        positions, cfg, net_liquidation=nlv + deposit, marked=marked, valuation_date=valuation_date
    )
    bp = BuyingPower(
        available=acct.buying_power,
        net_liquidation=nlv,
        deposit=deposit,
        used=nlv + deposit - acct.buying_power,
        basis=(
            f"available funds = equity with loan value {acct.equity_with_loan_value:,.0f} - initial "
            f"requirement {acct.initial_requirement:,.0f} ({acct.account} account; net liquidation "
            f"{nlv:,.0f} + deposit {deposit:,.0f})"
        ),
        source="account model",
    )
    cols = [*TICKET_COLUMNS, *(c for c in _TICKET_EXTRA if c not in TICKET_COLUMNS)]
    if not trades:
        return pd.DataFrame(columns=cols), bp
    kw = {"valuation_date": valuation_date, "spot": cfg.market.spot, "margin": cfg.margin, "multiplier": m}

    def tickets_of(idx: list[int], account: Any, alerts: list[str]) -> Any:
        tk = order_tickets(
            pd.DataFrame([{k: trades[i][k] for k in _TRADE_FIELDS} for i in idx]),
            cfg.execution,
            account=account,
            alerts=alerts,
            **kw,
        )
        tk["trade"] = [idx[int(j)] for j in tk["trade"]]
        return tk

    closes = [i for i, t in enumerate(trades) if t["effect"] == "close"]
    opens = [i for i, t in enumerate(trades) if t["effect"] != "close"]
    parts = []
    after = acct
    if closes:
        tk = tickets_of(closes, acct, [])
        parts.append(tk)
        done = tk[tk["status"] == "PROPOSED"]
        if len(done) and opens:
            flows = [
                (1.0 if a == "sell" else -1.0) * mid * m * n
                for a, mid, n in zip(done["action"], done["mid"], done["contracts"], strict=True)
            ]
            rows = _trades_from_tickets(trades, done)
            book = apply_trades(positions, rows, valuation_date)
            after = account_state(
                book,
                cfg,
                cash=acct.cash + float(sum(flows)),
                marked=mark_book(book, cfg, valuation_date=valuation_date),
                valuation_date=valuation_date,
            )
    if opens:
        parts.append(tickets_of(opens, after, list(firing)))
    tk = (
        pd.concat(parts, ignore_index=True)
        .sort_values(["trade", "slice"], kind="stable")
        .reset_index(drop=True)
    )
    tk["sequence"] = range(1, len(tk) + 1)
    tk["reason"] = [
        f"held: {r}" if st == "HELD" and r else r for st, r in zip(tk["status"], tk["reason"], strict=True)
    ]
    for c in ("effect", "purpose", "position_row"):
        tk[c] = [trades[int(i)][c] for i in tk["trade"]]
    return tk[cols], bp


def _trades_from_tickets(trades: list[dict[str, Any]], tickets) -> Any:
    """One row per trade and status (a trade's tickets may be split between PROPOSED and HELD)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for (i, st), g in tickets.groupby(["trade", "status"], sort=False):
        t = trades[int(i)]
        rows.append(
            {
                **{k: v for k, v in t.items() if not k.startswith("_")},
                "contracts": int(g["contracts"].sum()),
                "status": st,
                "reason": str(g["reason"].iloc[0]),
                "buying_power_after": float(g["buying_power_after"].iloc[-1]),
            }
        )
    return pd.DataFrame(rows, columns=list(TRADE_COLUMNS))


# --------------------------------------------------------------------------- the rebalance
def rebalance(
    positions,
    config=None,
    *,
    marked=None,
    net_liquidation: float | None = None,
    alerts=(),
    listed_strikes=None,
    shares: float | None = None,
    surface=None,
    valuation_date: _dt.date | None = None,
) -> Rebalance:
    """Rebalance a book toward the plan: put targets, put orders, the call-hedge restructure.

    Parameters
    ----------
    positions : pandas.DataFrame
        Positions table (:data:`engine.data.positions.POSITION_COLUMNS`).
    config : PlanConfig, optional
        ``strikes`` (ladder and weights), ``hedge`` (ladder, ratio), ``allocation.call_share``,
        ``rebalance`` (tolerance, keep strikes, hedge tolerances, alerts), ``capital``,
        ``execution``, ``market``, ``account``.  Default: the plan's.
    marked : pandas.DataFrame, optional
        ``mark_book(positions, config)`` if already computed.
    net_liquidation : float, optional
        Net liquidation value, $ (default ``config.account.starting_value``).
    alerts : iterable of str
        Names of the risk alerts firing now (``risk_report(...)["alerting"]``); those in
        ``rebalance.hold_on_alerts`` hold the new short-put sales.
    listed_strikes : array_like, optional
        Strikes listed for calls, $ (e.g. from an option chain); default the
        ``strikes.strike_increment`` grid.
    shares : float, optional
        Shares of the underlying held (covers short calls); default the book's stock rows, else 0.
    surface : VolSurface, optional
        Vol surface for marks and new-option prices (default ``market.vol``).
    valuation_date : date, optional
        Overrides the config's.

    Returns
    -------
    Rebalance

    Raises
    ------
    RebalanceError
        Weights not summing to 1 or not one per strike (the key is named).

    Examples
    --------
    The plan's book: $3.00 is under-weight, $5.00 over-weight, $2.50 kept (rebalance.keep_strikes).

    >>> from engine.data.positions import example_positions
    >>> r = rebalance(example_positions().query("kind == 'put'"))
    >>> [(s.strike, s.held, s.target, s.action) for s in r.strikes][2:]
    [(3.0, 2, 10, 'add'), (4.0, 2, 2, 'on target'), (5.0, 2, 1, 'kept')]
    """

    from engine.config import default_config
    from engine.data.calendar import next_monthly_expiration
    from engine.plan.allocation import put_expiry, strike_premiums, whole_contracts
    from engine.plan.hedge import hedge_ratio
    from engine.pricing.american import american_price
    from engine.risk.book import mark_book
    from engine.units import days_to_years

    cfg = config if config is not None else default_config()
    rb = cfg.rebalance
    vd = valuation_date or cfg.valuation_date
    mk = cfg.market
    m = float(cfg.capital.contract_multiplier)
    tol = float(rb.tolerance_contracts)
    ladder_k, ladder_w = _check_weights(cfg.strikes.strikes, cfg.strikes.weights)
    pos = positions.reset_index(drop=True)
    if marked is None:
        marked = mark_book(pos, cfg, valuation_date=vd, surface=surface)
    marked = marked.reset_index(drop=True)
    und = mk.underlying
    warnings: list[str] = []
    kind = marked["kind"].astype(str).to_numpy()
    sign = marked["sign"].to_numpy()
    live = marked["dte"].to_numpy() >= 0
    sp = (kind == "put") & (sign < 0) & live
    strike = marked["strike"].to_numpy(float)
    n_lot = marked["contracts"].to_numpy(float)

    # 1. put targets on the obligation basis
    held_ob = float(np.sum(np.where(sp, strike * m * n_lot, 0.0)))
    total_ob = float(rb.obligation) if rb.obligation > 0 else held_ob
    off = sorted({float(k) for k in strike[sp]} - {float(k) for k in ladder_k})
    all_k = np.concatenate([ladder_k, np.asarray(off, dtype=float)])
    all_w = np.concatenate([ladder_w, np.zeros(len(off))])
    exact = total_ob * all_w / (all_k * m)
    target = np.floor(exact + 0.5 + _EPS).astype(int)
    held = np.array(
        [int(np.sum(n_lot[sp & np.isclose(strike, k, rtol=0, atol=1e-9)])) for k in all_k], dtype=int
    )
    expiry_new = put_expiry(cfg, vd)
    new_prem = np.asarray(
        strike_premiums(cfg, all_k, expiry=expiry_new, valuation_date=vd, surface=surface), dtype=float
    )
    keep_set = [float(x) for x in rb.keep_strikes]

    trades: list[dict[str, Any]] = []
    lots: list[LotDecision] = []
    strike_rows: list[dict[str, Any]] = []
    for i, k in enumerate(all_k):
        d = int(target[i] - held[i])
        row: dict[str, Any] = {
            "strike": float(k),
            "weight": float(all_w[i]),
            "exact_target": float(exact[i]),
            "target": int(target[i]),
            "held": int(held[i]),
            "difference": d,
            "sell": 0,
            "close": 0,
            "kept": 0,
            "note": "" if i < len(ladder_k) else "off the plan's ladder (weight 0)",
        }
        if d == 0:
            row["action"] = "on target"
        elif abs(held[i] - exact[i]) <= tol + _EPS:
            row["action"] = "within band"
            row["note"] = (
                f"held {held[i]} is within rebalance.tolerance_contracts = {tol:g} of the exact "
                f"target {exact[i]:.2f}"
            )
        elif d > 0:
            row["action"] = "add"
            trades.append(
                {
                    "action": "sell",
                    "underlying": und,
                    "kind": "put",
                    "strike": float(k),
                    "expiry": expiry_new,
                    "contracts": d,
                    "mid": float(new_prem[i]),
                    "effect": "open",
                    "purpose": f"add ${k:.2f} puts (under-weight by {d})",
                    "position_row": None,
                }
            )
        else:
            need = -d
            idx = [j for j in np.flatnonzero(sp) if _same(strike[j], float(k))]
            marks = marked["mark"].to_numpy(float)
            prem = marked["premium"].to_numpy(float)
            keep_strike = any(_same(float(k), x) for x in keep_set)
            idx.sort(key=lambda j: (marks[j], j))
            closed = 0
            for j in idx:
                c = int(n_lot[j])
                if keep_strike:
                    take, why = 0, f"kept: ${k:.2f} is in rebalance.keep_strikes (the plan maintains it)"
                elif need - closed <= 0:
                    take, why = 0, "kept: the target is reached by cheaper lots"
                elif marks[j] < prem[j] - _EPS:
                    take = min(c, need - closed)
                    why = f"closed: buy-back {marks[j]:.4f} < sale premium {prem[j]:.4f} (profitable)" + (
                        "" if take == c else f"; {c - take} kept, the target is reached"
                    )
                else:
                    take, why = (
                        0,
                        (
                            f"kept: buy-back {marks[j]:.4f} >= sale premium {prem[j]:.4f} "
                            "(plan: close only if profitable)"
                        ),
                    )
                closed += take
                lots.append(
                    LotDecision(
                        position_row=int(j),
                        strike=float(k),
                        expiry=marked["expiry"].iloc[j],
                        contracts=c,
                        premium=float(prem[j]),
                        buyback=float(marks[j]),
                        close=take,
                        keep=c - take,
                        pnl_if_closed=float((prem[j] - marks[j]) * m * take) + 0.0,
                        reason=why,
                    )
                )
                if take:
                    trades.append(
                        {
                            "action": "buy",
                            "underlying": und,
                            "kind": "put",
                            "strike": float(k),
                            "expiry": marked["expiry"].iloc[j],
                            "contracts": take,
                            "mid": float(marks[j]),
                            "effect": "close",
                            "purpose": f"close ${k:.2f} put lot (over-weight; profitable)",
                            "position_row": int(j),
                        }
                    )
            row["close"] = closed
            row["kept"] = need - closed
            row["action"] = "reduce" if closed else "kept"
            if keep_strike:
                row["note"] = "rebalance.keep_strikes: lots kept"
            elif closed < need:
                row["note"] = f"{need - closed} over target kept: no profitable lot left to close"
        strike_rows.append(row)

    # 2. the call-hedge restructure
    put_premium = float(np.sum(np.where(sp, marked["premium"].to_numpy(float) * n_lot * m, 0.0)))
    ratio = (
        float(
            hedge_ratio(
                float(cfg.account.starting_value if net_liquidation is None else net_liquidation),
                mk.iv_percentile,
                mk.squeeze_probability,
                cfg.hedge,
            )
        )
        if cfg.hedge.use_dynamic_ratio
        else float(cfg.allocation.call_share)
    )
    budget = float(rb.hedge_budget) if rb.hedge_budget > 0 else ratio * put_premium
    rungs: list[dict[str, Any]] = []
    for r_i, rung in enumerate(cfg.hedge.ladder):
        key = f"hedge.ladder[{r_i}]"
        want = rung.moneyness * mk.spot
        k_r = _listed_strike(want, listed_strikes, cfg.strikes.strike_increment)
        exp_r = next_monthly_expiration(vd, min_days=int(rung.dte))
        dte_r = (exp_r - vd).days
        b_r = budget * rung.share
        entry: dict[str, Any] = {
            "rung": r_i + 1,
            "key": key,
            "moneyness": rung.moneyness,
            "strike": k_r,
            "expiry": exp_r,
            "dte": dte_r,
            "share": rung.share,
            "budget": b_r,
            "price": float("nan"),
            "exact_target": 0.0,
            "target": 0,
            "held": 0,
            "buy": 0,
            "cost": 0.0,
            "leftover": b_r,
            "status": "",
            "reason": "",
        }
        if abs(k_r - want) > rb.hedge_strike_tolerance * want + _EPS:
            entry["status"] = "held"
            entry["reason"] = (
                f"{key} ({rung.moneyness:g}x spot = ${want:.2f}): no listed strike within "
                f"rebalance.hedge_strike_tolerance = {rb.hedge_strike_tolerance:.0%} (nearest ${k_r:.2f}); "
                "the rung is not bought"
            )
            warnings.append(entry["reason"])
            entry["strike"] = float("nan")
        else:
            t_r = days_to_years(dte_r)
            vol = mk.vol if surface is None else float(np.asarray(surface.vol(k_r, t_r), dtype=float))
            price = float(american_price(mk.spot, k_r, t_r, mk.rate, vol, "call", mk.dividend_yield))
            entry["price"] = price
            entry["exact_target"] = b_r / (price * m)
            entry["target"] = int(whole_contracts(b_r, price * m))
            entry["leftover"] = b_r - entry["target"] * price * m
        rungs.append(entry)

    call_rows = np.flatnonzero((kind == "call") & live)
    shares_left = _shares_held(pos, shares)
    calls: list[CallDecision] = []
    marks = marked["mark"].to_numpy(float)
    for j in call_rows:
        k, e, c = float(strike[j]), marked["expiry"].iloc[j], int(n_lot[j])
        value = float(marked["value"].iloc[j])
        if sign[j] < 0:
            covered = min(c, int(shares_left // m))
            shares_left -= covered * m
            if covered >= c:
                calls.append(
                    CallDecision(
                        int(j),
                        "short",
                        k,
                        e,
                        c,
                        float(marks[j]),
                        value,
                        "keep",
                        None,
                        "covered call (100 shares a contract held)",
                    )
                )
            else:
                why = (
                    f"position row {j}: short {c} x ${k:.2f} call {e}: not a covered call ({c - covered} "
                    f"contracts lack 100 shares each); not a hedge, review it"
                )
                calls.append(
                    CallDecision(int(j), "short", k, e, c, float(marks[j]), value, "flag", None, why)
                )
                warnings.append(why)
            continue
        best, best_key = None, None
        for r in rungs:
            if not np.isfinite(r["strike"]):
                continue
            ds = abs(k - r["strike"]) / r["strike"]
            de = abs((e - r["expiry"]).days)
            if ds <= rb.hedge_strike_tolerance + _EPS and de <= rb.hedge_expiry_window_days:
                if best_key is None or (ds, de) < best_key:
                    best, best_key = r, (ds, de)
        if best is not None:
            best["held"] += c
            calls.append(
                CallDecision(
                    int(j),
                    "long",
                    k,
                    e,
                    c,
                    float(marks[j]),
                    value,
                    "keep",
                    best["rung"],
                    f"matches rung {best['rung']} (${best['strike']:.2f}, {best['expiry']})",
                )
            )
        else:
            near = min(
                (r for r in rungs if np.isfinite(r["strike"])),
                key=lambda r: abs(k - r["strike"]) / r["strike"],
                default=None,
            )
            why = "matches no hedge rung" + (
                ""
                if near is None
                else f" (nearest rung {near['rung']}: ${near['strike']:.2f}, {near['expiry']})"
            )
            calls.append(CallDecision(int(j), "long", k, e, c, float(marks[j]), value, "close", None, why))
            trades.append(
                {
                    "action": "sell",
                    "underlying": und,
                    "kind": "call",
                    "strike": k,
                    "expiry": e,
                    "contracts": c,
                    "mid": float(marks[j]),
                    "effect": "close",
                    "purpose": f"close ${k:.2f} call ({why.split(' (')[0]})",
                    "position_row": int(j),
                }
            )
    for r in rungs:
        if r["status"] == "held":
            continue
        gap = r["target"] - r["held"]
        if gap == 0 and r["target"] == 0 and r["exact_target"] > 0:
            r["status"] = "budget too small"
        elif gap == 0:
            r["status"] = "on target"
        elif abs(r["held"] - r["exact_target"]) <= tol + _EPS:
            r["status"] = "within band"
            r["reason"] = (
                f"held {r['held']} is within rebalance.tolerance_contracts = {tol:g} of the exact "
                f"target {r['exact_target']:.2f}"
            )
        elif gap < 0:
            r["status"] = "over target"
            r["reason"] = (
                f"{-gap} matched calls above the budget's target are kept (hedges are not sold down)"
            )
        else:
            r["status"] = "buy"
            r["buy"] = gap
            trades.append(
                {
                    "action": "buy",
                    "underlying": und,
                    "kind": "call",
                    "strike": r["strike"],
                    "expiry": r["expiry"],
                    "contracts": gap,
                    "mid": r["price"],
                    "effect": "open",
                    "purpose": f"buy hedge rung {r['rung']} ({r['moneyness']:g}x spot)",
                    "position_row": None,
                }
            )
        if r["target"] == 0:
            r["reason"] = (
                f"budget ${r['budget']:,.2f} buys no whole contract at ${r['price'] * m:,.2f} a contract; "
                f"leftover ${r['leftover']:,.2f}"
            )

    # 3. gates: alerts, then buying power (closes first, then sales, then purchases), ticket by ticket
    deposit = float(cfg.account.monthly_addition) if rb.include_monthly_addition else 0.0
    firing = [a for a in alerts if a in rb.hold_on_alerts]
    order = {("close", "put"): 0, ("close", "call"): 1, ("open", "put"): 2, ("open", "call"): 3}
    trades.sort(key=lambda t: order[(t["effect"], t["kind"])])
    tickets, bp = _gate_orders(trades, pos, marked, cfg, net_liquidation, deposit, firing, vd)
    trades_df = _trades_from_tickets(trades, tickets)
    left = (
        float(tickets.loc[tickets["status"] == "PROPOSED", "buying_power_after"].iloc[-1])
        if (tickets["status"] == "PROPOSED").any()
        else bp.available
    )
    short_bp = [f"{r.purpose}: {r.reason}" for r in tickets.itertuples() if "buying power" in r.reason]
    if short_bp:
        warnings.append(
            f"buying power: the rebalance needs more than the ${bp.available:,.2f} available "
            f"({bp.basis}); " + "; ".join(short_bp)
        )
    by_alert = [a for a in firing if tickets["reason"].str.contains(a).any()]
    if by_alert:
        n_held = int(tickets["reason"].str.contains("|".join(by_alert)).sum())
        warnings.append(
            f"risk alert {', '.join(by_alert)} firing: {n_held} opening ticket(s) held "
            "(rebalance.hold_on_alerts; the order-ticket rules)"
        )

    # 4. figures after the placed orders
    placed = trades_df[trades_df["status"] == "PROPOSED"] if len(trades_df) else trades_df

    def _sum(kind_: str, effect: str, action: str | None = None) -> tuple[int, float]:
        if not len(placed):
            return 0, 0.0
        sel = placed[(placed["kind"] == kind_) & (placed["effect"] == effect)]
        if action:
            sel = sel[sel["action"] == action]
        return int(sel["contracts"].sum()), float((sel["contracts"] * sel["mid"]).sum() * m)

    strikes_out = []
    for row in strike_rows:
        k = row["strike"]
        sel = (
            placed[(placed["kind"] == "put") & np.isclose(placed["strike"].astype(float), k)]
            if len(placed)
            else placed
        )
        sold = int(sel.loc[sel["effect"] == "open", "contracts"].sum()) if len(sel) else 0
        hsel = (
            trades_df[
                (trades_df["kind"] == "put")
                & (trades_df["status"] == "HELD")
                & np.isclose(trades_df["strike"].astype(float), k)
            ]
            if len(trades_df)
            else trades_df
        )
        held_n = int(hsel["contracts"].sum()) if len(hsel) else 0
        sold_prem = (
            float(
                (
                    sel.loc[sel["effect"] == "open", "contracts"] * sel.loc[sel["effect"] == "open", "mid"]
                ).sum()
                * m
            )
            if len(sel)
            else 0.0
        )
        bought_prem = (
            float(
                (
                    sel.loc[sel["effect"] == "close", "contracts"] * sel.loc[sel["effect"] == "close", "mid"]
                ).sum()
                * m
            )
            if len(sel)
            else 0.0
        )
        i = [j for j, kk in enumerate(all_k) if _same(float(kk), k)][0]
        strikes_out.append(
            StrikeTarget(
                strike=k,
                weight=row["weight"],
                exact_target=row["exact_target"],
                target=row["target"],
                held=row["held"],
                difference=row["difference"],
                action=row["action"],
                sell=sold,
                sell_held=held_n,
                close=row["close"],
                kept=row["kept"],
                obligation_target=row["target"] * k * m,
                obligation_held=row["held"] * k * m,
                obligation_difference=row["difference"] * k * m,
                premium_difference=sold_prem - bought_prem,
                new_put_premium=float(new_prem[i]),
                note=row["note"],
            )
        )
    put_contracts = int(np.sum(n_lot[sp]))
    sold_n, sold_cash = _sum("put", "open")
    closed_n, closed_cash = _sum("put", "close")
    puts_after = put_contracts + sold_n - closed_n
    long_calls = int(sum(c.contracts for c in calls if c.side == "long"))
    kept_calls = int(sum(c.contracts for c in calls if c.side == "long" and c.action == "keep"))
    bought_n, bought_cash = _sum("call", "open")
    _, call_close_cash = _sum("call", "close")
    notional = m * mk.spot
    cov_before = long_calls * notional / put_contracts if put_contracts else float("nan")
    cov_after = (kept_calls + bought_n) * notional / puts_after if puts_after else float("nan")
    rung_out = []
    for r in rungs:
        if len(placed) and np.isfinite(r["strike"]):
            sel = placed[
                (placed["kind"] == "call")
                & (placed["effect"] == "open")
                & np.isclose(placed["strike"].astype(float), r["strike"])
                & (placed["expiry"] == r["expiry"])
            ]
            r["cost"] = float((sel["contracts"] * sel["mid"]).sum() * m)
        rung_out.append(RungTarget(**{**r, "difference": r["target"] - r["held"]}))
    return Rebalance(
        valuation_date=vd,
        obligation=total_ob,
        strikes=tuple(strikes_out),
        lots=tuple(lots),
        rungs=tuple(rung_out),
        calls=tuple(calls),
        hedge_ratio=ratio,
        hedge_budget=budget,
        put_premium=put_premium,
        coverage_before=cov_before,
        coverage_after=cov_after,
        restructure_net_cash=call_close_cash - bought_cash,
        puts_net_cash=sold_cash - closed_cash,
        buying_power=bp,
        buying_power_left=left,
        trades=trades_df,
        tickets=tickets,
        warnings=tuple(warnings),
    )


def apply_trades(positions, trades, valuation_date: _dt.date | None = None):
    """The book after the given trades fill at their mid (``Rebalance.trades`` rows with status "PROPOSED").

    A close takes contracts off its ``position_row`` lot (the row is dropped at 0); an opening
    trade adds a lot with premium = its mid.  Used to check that a rebalanced book needs no
    further rebalance.

    Returns
    -------
    pandas.DataFrame
        A positions table (:data:`engine.data.positions.POSITION_COLUMNS`).
    """
    import pandas as pd

    from engine.data.positions import POSITION_COLUMNS

    book = positions.reset_index(drop=True).copy()
    left = book["contracts"].astype(int).to_numpy().copy()
    new = []
    for t in trades.to_dict("records"):
        if t.get("status", "PROPOSED") != "PROPOSED":
            continue
        if t["effect"] == "close":
            j = int(t["position_row"])
            if t["contracts"] > left[j]:
                raise RebalanceError(
                    f"apply_trades: trade closes {t['contracts']} contracts of position row {j}, "
                    f"which holds {left[j]}"
                )
            left[j] -= int(t["contracts"])
        else:
            new.append(
                {
                    "underlying": t["underlying"],
                    "kind": t["kind"],
                    "side": "short" if t["action"] == "sell" else "long",
                    "strike": float(t["strike"]),
                    "expiry": t["expiry"],
                    "contracts": int(t["contracts"]),
                    "premium": float(t["mid"]),
                    "open_date": valuation_date,
                    "iv": float("nan"),
                    "note": "rebalance",
                }
            )
    book["contracts"] = left
    book = book[book["contracts"] > 0]
    if new:
        book = pd.concat([book, pd.DataFrame(new, columns=list(POSITION_COLUMNS))], ignore_index=True)
    return book.reset_index(drop=True)


def recommendations(result: Rebalance) -> tuple[str, ...]:
    """The rebalance in plain sentences, one per action (the weekly review's recommendations).

    Examples
    --------
    >>> from engine.data.positions import example_positions
    >>> lines = recommendations(rebalance(example_positions().query("kind == 'put'"), net_liquidation=1e6))
    >>> lines[0]
    'sell 8 x $3.00 put 2025-10-17 (add $3.00 puts (under-weight by 8))'
    """
    out: list[str] = []
    for t in result.trades.to_dict("records"):
        verb = "sell" if t["action"] == "sell" else "buy"
        held = f" - HELD: {t['reason'].removeprefix('held: ')}" if t["status"] == "HELD" else ""
        out.append(
            f"{verb} {t['contracts']} x ${t['strike']:.2f} {t['kind']} {t['expiry']} ({t['purpose']}){held}"
        )
    for s in result.strikes:
        if s.action == "kept":
            out.append(f"keep ${s.strike:.2f}: {s.held} held vs target {s.target} ({s.note})")
        elif s.action == "within band":
            out.append(f"no trade at ${s.strike:.2f}: {s.note}")
    for g in result.rungs:
        if g.status in ("budget too small", "held"):
            out.append(f"hedge rung {g.rung}: {g.reason}")
    for c in result.calls:
        if c.action == "flag":
            out.append(f"review: {c.reason}")
    if not out:
        out.append("no rebalancing needed: every strike and rung is on target")
    return tuple(out)
