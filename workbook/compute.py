"""Everything the report shows, computed by the engine into one typed :class:`ReportData`.

This is the pure part of the report: no openpyxl here.  :func:`compute_report` is the one
public entry point of the report (:func:`compute_plan` that of ``volarb plan``); it runs private
steps in order (marking the book, the account, the plan, hedges, projection, Kelly, risk,
assignment, simulation, orders, payoff), each taking its inputs and returning its result, frozen
dataclasses, one per section (:class:`BookResult`, :class:`PlanResult`, :class:`HedgeResult`,
:class:`ProjectionResult`, :class:`KellyLimits`, :class:`RiskResult`,
:class:`AssignmentRow`, :class:`Payoff`; the account is the engine's
:class:`engine.plan.account.AccountState`).  :meth:`ReportData.to_dict` gives every figure as plain
JSON-able data (what ``volarb build --json`` prints); :mod:`workbook.report` writes the same data
into a workbook.  A broken engine module fails the report (no fallbacks).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from engine.config import PlanConfig, config_to_dict

__all__ = [
    "ReportData",
    "ReportInputs",
    "PlanData",
    "MarketInputs",
    "compute_report",
    "compute_plan",
    "report_timestamp",
    "to_jsonable",
    "payoff_grid",
    "STEPS",
    "BookTotals",
    "BookResult",
    "PremiumSplit",
    "PlanResult",
    "HedgeResult",
    "ProjectionResult",
    "KellyLimits",
    "PortfolioGreeks",
    "VarFigures",
    "RiskResult",
    "AssignmentRow",
    "Payoff",
    "risk_figures",
    "positions_at_marked_vol",
    "surface_summary",
]


def report_timestamp() -> _dt.datetime:
    """UTC time of the report: ``SOURCE_DATE_EPOCH`` (reproducible builds) if set, else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC).replace(tzinfo=None)
        except (ValueError, OverflowError, OSError):
            from workbook.io import WorkbookError

            raise WorkbookError(
                f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {epoch!r}"
            ) from None
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None, microsecond=0)


def to_jsonable(obj: Any) -> Any:
    """Plain Python data for JSON: DataFrames as lists of records, NaN as None, dates as ISO text."""
    import sys

    pd = sys.modules.get("pandas")  # only objects of an already-imported pandas can occur
    if pd is not None and isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if pd is not None and isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    if pd is not None and obj is pd.NaT:
        return None
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict())
    return obj


def payoff_grid(
    positions: Any, config: PlanConfig, steps: int, max_multiple: float
) -> tuple[np.ndarray, np.ndarray]:
    """P&L at expiry of the whole book on a grid of underlying prices, $.

    ``pnl(S) = sum_i sign_i * contracts_i * m * max(w_i (S - K_i), 0) + net premium
    + sum_j sign_j * shares_j * (S - cost_j)``, where sign is +1 long / -1 short, w +1 call /
    -1 put, m the contract multiplier, the net premium the options' premium received minus paid,
    and ``j`` runs over the stock rows (``kind = stock``, ``premium`` = cost per share; Hull
    2018, ch. 12: payoffs of option positions and of stock).  Each option is taken at its own
    expiry value; the grid runs from 0 to ``max_multiple * spot``.

    >>> import pandas as pd
    >>> from engine.config import default_config
    >>> book = pd.DataFrame({"kind": ["stock", "call"], "side": ["long", "short"],
    ...     "strike": [float("nan"), 3.5], "contracts": [0, 3], "premium": [2.5, 0.4], "shares": [300, 0]})
    >>> prices, pnl = payoff_grid(book, default_config(), 4, 2.0)  # spot 3.15: 0, 1.575, ..., 6.30
    >>> [round(float(x), 2) for x in pnl]  # 300 x (S - 2.50) + 120 - 300 x max(S - 3.50, 0): capped at 420
    [-630.0, -157.5, 315.0, 420.0, 420.0]
    """
    spot = config.market.spot
    prices = np.linspace(0.0, max_multiple * spot, steps + 1)
    kind = positions["kind"].to_numpy()
    stock = kind == "stock"
    sign = np.where(positions["side"].to_numpy() == "long", 1.0, -1.0)
    w = np.select([kind == "call", kind == "put"], [1.0, -1.0], 0.0)
    k = np.where(stock, 0.0, positions["strike"].to_numpy(dtype=float))
    n = np.where(stock, 0.0, positions["contracts"].to_numpy(dtype=float))
    cost = positions["premium"].to_numpy(dtype=float)
    shares = (
        np.where(stock, positions["shares"].to_numpy(dtype=float), 0.0)
        if "shares" in positions.columns
        else np.zeros(len(positions))
    )
    m = float(config.capital.contract_multiplier)
    prem = float(np.sum(-sign * cost * n * m))
    payoff = np.maximum(w[None, :] * (prices[:, None] - k[None, :]), 0.0)
    pnl = (payoff * (sign * n * m)[None, :]).sum(axis=1) + prem
    pnl += ((prices[:, None] - cost[None, :]) * (sign * shares)[None, :]).sum(axis=1)
    return prices, pnl


@dataclasses.dataclass
class MarketInputs:
    """Optional market data of one run (already read and validated; see ``workbook.cli``).

    Attributes
    ----------
    iv_history : pandas.DataFrame, optional
        ``date, iv`` (:func:`engine.data.ivhistory.read_iv_history`): IV rank/percentile and the
        LOW_IV_ENVIRONMENT alert.  Without it that alert is "N/A".
    prices : pandas.DataFrame, optional
        ``date, close`` (:func:`engine.data.prices.read_price_history`): needed by historical VaR.
    var_method : {"full", "delta_gamma", "historical"}, optional
        VaR method of this run (default ``config.risk.var_method``).
    previous_value : float, optional
        Yesterday's portfolio value, $: the DAILY_PNL_ALERT.  Without it that alert is "N/A".
    contribution : float
        Money deposited (+) or withdrawn (-) since yesterday's value, $; the daily P&L nets it out.
    surface : engine.pricing.surface.VolSurface, optional
        Vol surface from an option chain: marks, Greeks and VaR of positions without their own
        ``iv`` use its vol at their strike and expiry instead of ``market.vol``.
    outcomes : pandas.DataFrame, optional
        Recorded expiry outcomes (:func:`engine.risk.expiry.read_outcomes`).
    clock : engine.data.clock.ValuationClock, optional
        The run's valuation date, its source and freshness (About sheet, terminal notes).
    sources : dict
        Where each input came from (file names), shown on the About sheet and in ``--json``.
    """

    iv_history: Any = None
    prices: Any = None
    var_method: str | None = None
    previous_value: float | None = None
    contribution: float = 0.0
    surface: Any = None
    outcomes: Any = None
    clock: Any = None
    sources: dict[str, str] = dataclasses.field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (``inputs`` key of ``volarb risk --json``)."""
        out: dict[str, Any] = {
            "var_method": self.var_method,
            "previous_value": self.previous_value,
            "contribution": self.contribution,
            "iv_history": self.sources.get("iv_history"),
            "prices": self.sources.get("prices"),
            "chain": self.sources.get("chain"),
        }
        return out


def _pick(cls: type, values: Mapping[str, Any]) -> Any:
    """An instance of the frozen dataclass ``cls`` from the engine mapping ``values`` (its fields;
    a field the engine leaves out, such as historical VaR's seed, is None)."""
    return cls(**{f.name: values.get(f.name) for f in dataclasses.fields(cls)})


# --- typed results ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BookTotals:
    """Sums over the marked book, $ unless stated (premium received is +, paid is -).

    ``value`` is the book's mark-to-market value (short options negative: what closing costs),
    ``obligation`` the cash needed if every short put is assigned (strike x shares), ``margin``
    the requirement under ``capital.model``; ``delta_shares`` in shares, ``gamma`` in shares per
    $1, ``theta_day`` $ per calendar day, ``vega_point`` $ per vol point.
    """

    premium_total: float
    value: float
    unrealized_pnl: float
    delta_shares: float
    delta_dollars: float
    gamma: float
    theta_day: float
    vega_point: float
    obligation: float
    margin: float


@dataclasses.dataclass(frozen=True)
class BookResult:
    """The marked book (:func:`engine.risk.book.mark_book`), its per-strike ladder and totals."""

    marked: Any
    ladder: Any
    totals: BookTotals


@dataclasses.dataclass(frozen=True)
class PremiumSplit:
    """The plan's premium split, $ (:func:`engine.plan.allocation.allocate_premium`).

    ``premium`` is the book's net premium (received minus paid); ``call_share_used`` the share
    sent to call hedges (``allocation.call_share``, or the hedge ratio when dynamic).
    """

    premium: float
    call_share_used: float
    call_hedge_budget: float
    put_premium_budget: float
    put_expansion_budget: float
    compounding_factor: float


@dataclasses.dataclass(frozen=True)
class PlanResult:
    """Premium split, model premiums per ladder strike ($/share), strike allocation, reinvestment."""

    split: PremiumSplit
    strike_premiums: dict[float, float]
    allocation: Any
    reinvestment: Any


@dataclasses.dataclass(frozen=True)
class HedgeResult:
    """Hedge ratio (decimal share of premium) and the call hedge ladder (one row per rung)."""

    ratio: float
    ladder: Any


@dataclasses.dataclass(frozen=True)
class ProjectionResult:
    """Month-by-month projection, the plan's printed table (as printed) and the audit of the two."""

    table: Any
    printed: Any
    audit: Any


@dataclasses.dataclass(frozen=True)
class KellyLimits:
    """Kelly position limits (decimal shares of net liquidation; :func:`engine.plan.kelly.kelly_limits`)."""

    full_kelly: float
    fractional_kelly: float
    max_single_strike: float
    max_strategy_allocation: float
    max_monthly_addition: float
    emergency_reserve: float


@dataclasses.dataclass(frozen=True)
class PortfolioGreeks:
    """Book Greeks of the risk report: delta in shares and $, gamma shares per $1, theta $/day,
    vega and rho $ per point, value and obligation and margin $, number of positions."""

    delta_shares: float
    delta_dollars: float
    gamma: float
    theta_day: float
    vega_point: float
    rho_point: float
    value: float
    obligation: float
    margin: float
    positions: int


@dataclasses.dataclass(frozen=True)
class VarFigures:
    """Value at risk and expected shortfall, $ loss over ``horizon_days`` at ``confidence``
    (:func:`engine.risk.var.value_at_risk`: method, pricing style, scenarios, P&L mean and
    standard deviation $, worst loss $, book value $, seed, a note on the model)."""

    method: str
    style: str
    confidence: float
    horizon_days: int
    scenarios: int
    var: float
    es: float
    pnl_mean: float
    pnl_std: float
    worst_loss: float
    value: float
    seed: int | None
    note: str


@dataclasses.dataclass(frozen=True)
class RiskResult:
    """The daily risk check: Greeks, VaR, alerts (a table: alert, value, threshold, status, detail),
    the names of the firing alerts, the run's market inputs, IV rank/percentile and chain summary."""

    greeks: PortfolioGreeks
    var: VarFigures
    alerts: Any
    alerting: tuple[str, ...]
    inputs: dict[str, Any]
    iv: dict[str, Any] | None
    surface: dict[str, Any] | None
    expired: Any  # lots past expiry, out of every risk figure, with what to do (engine.risk.expiry)
    events: Any  # position events: near expiry, in the money, uncovered shares, expired unrecorded


@dataclasses.dataclass(frozen=True)
class AssignmentRow:
    """The assignment plan of one short put (:func:`engine.plan.assignment.assignment_plan`).

    ``row`` is the position's index; prices are $/share, ``shares`` = contracts x multiplier.
    """

    row: int
    strike: float
    expiry: Any
    contracts: int
    shares: int
    premium: float
    cost_basis: float
    tier: str
    action: str
    call_strike_target: float
    call_strike: float
    call_dte: int
    call_premium: float
    stop_level: float


@dataclasses.dataclass(frozen=True)
class Payoff:
    """P&L at expiry of the whole book ($) on a grid of underlying prices ($/share)."""

    price: np.ndarray
    pnl: np.ndarray


@dataclasses.dataclass
class ReportInputs:
    """The inputs of one report: validated config, positions table, run metadata, market inputs.

    The Inputs and Positions writers need only these (the template builder uses them alone).
    """

    config: PlanConfig
    positions: Any
    meta: dict[str, Any]
    market: MarketInputs = dataclasses.field(default_factory=MarketInputs)


@dataclasses.dataclass(frozen=True)
class PlanData:
    """What ``volarb plan`` prints: the account, plan, hedges, Kelly limits and projection of a book."""

    config: PlanConfig
    account: Any  # engine.plan.account.AccountState
    plan: PlanResult
    hedges: HedgeResult
    kelly: KellyLimits
    projection: ProjectionResult


@dataclasses.dataclass(kw_only=True)
class ReportData(ReportInputs):
    """All figures of one report: the inputs, then one typed result per section (all computed by
    :func:`compute_report`; none is optional)."""

    book: BookResult
    plan: PlanResult
    hedges: HedgeResult
    projection: ProjectionResult
    kelly: KellyLimits
    risk: RiskResult
    account: Any  # engine.plan.account.AccountState
    assignment: tuple[AssignmentRow, ...]
    simulation: Any
    orders: Any
    rebalance: Any  # engine.plan.rebalance.Rebalance
    payoff: Payoff

    def to_dict(self) -> dict[str, Any]:
        """Every figure as JSON-able data (``volarb build --json``; its keys are documented in
        docs/cli.md and stable: one flat key per figure family)."""
        out: dict[str, Any] = {
            "meta": self.meta,
            "config": config_to_dict(self.config),
            "positions": self.positions,
        }
        if self.book is not None:
            out |= {"marked": self.book.marked, "ladder": self.book.ladder, "book": self.book.totals}
        if self.plan is not None:
            out |= {
                "premium_split": self.plan.split,
                "strike_premiums": self.plan.strike_premiums,
                "allocation": self.plan.allocation,
                "reinvestment": self.plan.reinvestment,
            }
        if self.hedges is not None:
            out |= {"hedge_ratio": self.hedges.ratio, "hedge_ladder": self.hedges.ladder}
        if self.projection is not None:
            out |= {
                "projection": self.projection.table,
                "plan_printed_table": self.projection.printed,
                "audit": self.projection.audit,
            }
        if self.kelly is not None:
            out["kelly"] = self.kelly
        if self.risk is not None:
            r = self.risk
            out |= {
                "portfolio_greeks": r.greeks,
                "var": r.var,
                "alerts": r.alerts,
                "alerting": list(r.alerting),
                "risk_inputs": r.inputs,
                "iv": r.iv,
                "surface": r.surface,
                "expired": r.expired,
                "events": r.events,
            }
        if self.account is not None:
            out["account"] = self.account.summary()
        out["assignment"] = list(self.assignment)
        if self.simulation is not None:
            sim = self.simulation.to_dict()
            sim.pop("elapsed_seconds", None)  # run time, not a figure: keeps --json reproducible
            out["simulation"] = sim
        if self.orders is not None:
            out["orders"] = self.orders
        if self.rebalance is not None:
            out["rebalance"] = self.rebalance.to_dict()
        if self.payoff is not None:
            out["payoff"] = {"price": self.payoff.price, "pnl": self.payoff.pnl}
        return to_jsonable(out)


# --- steps --------------------------------------------------------------------------------------

_TOTAL_KEYS = tuple(f.name for f in dataclasses.fields(BookTotals))


def _mark(cfg: PlanConfig, positions: Any, market: MarketInputs) -> BookResult:
    from engine.risk.book import ladder_summary, mark_book

    marked = mark_book(positions, cfg, surface=market.surface)
    totals = BookTotals(**{k: float(np.nansum(marked[k].to_numpy(dtype=float))) for k in _TOTAL_KEYS})
    short_puts = ((marked["kind"] == "put") & (marked["side"] == "short")).any()
    ladder = ladder_summary(marked) if short_puts else _no_short_puts_ladder()
    return BookResult(marked=marked, ladder=ladder, totals=totals)


def _no_short_puts_ladder() -> Any:
    """The ladder of a book without short puts (shares and covered calls between two put cycles):
    the Total row alone, nothing at any strike."""
    import pandas as pd

    nan = float("nan")
    total = {
        "strike": nan,
        "contracts": 0,
        "premium_collected": 0.0,
        "current_value": 0.0,
        "unrealized_pnl": 0.0,
        "share_of_contracts": nan,
        "premium_per_share": nan,
        "moneyness": nan,
        "prob_itm": nan,
        "prob_touch": nan,
        "status": "Total",
    }
    return pd.DataFrame([total])


def _hedge_ratio_value(cfg: PlanConfig) -> float:
    from engine.plan.hedge import hedge_ratio

    return float(
        hedge_ratio(
            cfg.account.starting_value, cfg.market.iv_percentile, cfg.market.squeeze_probability, cfg.hedge
        )
    )


def _account(cfg: PlanConfig, positions: Any, marked: Any) -> Any:
    """The account of the book (:func:`engine.plan.account.account_state`) at the config's net liquidation."""
    from engine.plan.account import account_state

    return account_state(positions, cfg, marked=marked)


def _plan(cfg: PlanConfig, pos: Any, market: MarketInputs, account: Any) -> PlanResult:
    """Premium split, strike premiums, the allocation capped by the account's buying power, reinvestment."""
    from engine.plan.allocation import allocate_premium, allocate_strikes, reinvestment_plan, strike_premiums

    sign = np.where(pos["side"].to_numpy() == "short", 1.0, -1.0)
    premium = float(
        np.sum(sign * pos["premium"].to_numpy(dtype=float) * pos["contracts"].to_numpy(dtype=float))
        * cfg.capital.contract_multiplier
    )
    share = _hedge_ratio_value(cfg) if cfg.hedge.use_dynamic_ratio else cfg.allocation.call_share
    split = PremiumSplit(
        premium=premium,
        call_share_used=float(share),
        **allocate_premium(max(premium, 0.0), cfg.account.monthly_addition, share),
    )
    prem = strike_premiums(cfg, surface=market.surface)
    by_strike = dict(zip(map(float, cfg.strikes.strikes), map(float, prem)))
    args = (split.put_expansion_budget, cfg.strikes.strikes, cfg.strikes.weights, prem, cfg.market.spot)
    bp = float(account.buying_power)
    alloc = allocate_strikes(*args, cfg.capital.model, cfg.capital, buying_power=bp, margin=cfg.margin)
    alloc["literal_contracts"] = allocate_strikes(*args, "premium", cfg.capital)["contracts"].to_numpy()
    return PlanResult(
        split=split,
        strike_premiums=by_strike,
        allocation=alloc,
        reinvestment=reinvestment_plan(split.put_expansion_budget, cfg, premiums=by_strike, buying_power=bp),
    )


def _hedges(cfg: PlanConfig, plan: PlanResult) -> HedgeResult:
    from engine.plan.hedge import hedge_ladder

    m = cfg.market
    ladder = hedge_ladder(
        plan.split.call_hedge_budget,
        m.spot,
        m.vol,
        m.rate,
        m.dividend_yield,
        cfg.hedge.ladder,
        cfg.valuation_date,
        cfg.strikes.strike_increment,
        multiplier=cfg.capital.contract_multiplier,
    )
    return HedgeResult(ratio=_hedge_ratio_value(cfg), ladder=ladder)


def _projection(cfg: PlanConfig) -> ProjectionResult:
    from engine.plan.projection import PLAN_PRINTED_TABLE, plan_discrepancies, project_plan

    return ProjectionResult(
        table=project_plan(cfg), printed=PLAN_PRINTED_TABLE, audit=plan_discrepancies(cfg)
    )


def _kelly(cfg: PlanConfig) -> KellyLimits:
    from engine.plan.kelly import kelly_limits

    k = cfg.kelly
    limits: KellyLimits = _pick(
        KellyLimits,
        kelly_limits(
            k.win_probability,
            k.avg_win,
            k.avg_loss,
            k.fraction,
            k.cap,
            max_strategy_allocation=k.max_strategy_allocation,
            max_monthly_addition=k.max_monthly_addition,
            emergency_reserve=k.emergency_reserve,
        ),
    )
    return limits


def positions_at_marked_vol(positions: Any, marked: Any) -> Any:
    """Positions whose ``iv`` is the vol each was marked at (surface vol where the row had none).

    VaR reprices from the ``iv`` column (else ``market.vol``); filling it from the marked book
    makes the VaR revaluation use the same vols as the marks when a chain surface is given.
    """
    out = positions.copy().reset_index(drop=True)
    out["iv"] = marked["vol_used"].to_numpy(dtype=float)
    return out


def risk_figures(
    positions: Any, config: PlanConfig, market: MarketInputs | None = None, marked: Any = None
) -> dict[str, Any]:
    """The daily risk report (:func:`engine.risk.checks.risk_report`) with this run's market inputs.

    Returns the engine's dict (``valuation_date, portfolio_value, greeks, var, alerts, alerting,
    any_alert``) plus ``inputs`` (:meth:`MarketInputs.describe`), ``iv`` (IV rank and
    percentile from the IV history, or None) and ``surface`` (chain summary, or None).
    """
    from engine.risk.book import mark_book
    from engine.risk.checks import risk_report
    from engine.risk.var import value_at_risk

    mi = market or MarketInputs()
    if marked is None:
        marked = mark_book(positions, config, surface=mi.surface)
    pos = (
        positions_at_marked_vol(positions, marked) if mi.surface is not None and len(positions) else positions
    )
    var = value_at_risk(pos, config, method=mi.var_method, history=mi.prices)
    rep = risk_report(
        pos,
        config,
        marked=marked,
        var_result=var,
        previous_value=mi.previous_value,
        contribution=mi.contribution,
        iv_history=mi.iv_history,
        price_history=mi.prices,
    )
    rep["inputs"] = mi.describe()
    rep["iv"] = None
    if mi.iv_history is not None:
        from engine.data.ivhistory import iv_rank_percentile

        rep["iv"] = to_jsonable(iv_rank_percentile(mi.iv_history, window=config.risk.iv_history_days))
    rep["surface"] = surface_summary(mi.surface)
    rep.update(expiry_figures(positions, config, mi, marked))
    return rep


def expiry_figures(positions: Any, config: PlanConfig, market: MarketInputs, marked: Any) -> dict[str, Any]:
    """``expired`` (what to do about each lot past expiry), ``events`` (position events) and
    ``shares_held`` (stock rows, else recorded assignments), JSON-ready (:mod:`engine.risk.expiry`)."""
    from engine.risk.expiry import expiry_actions, position_events, shares_held

    shares = shares_held(positions, market.outcomes, config.capital.contract_multiplier)
    actions = expiry_actions(positions, config, outcomes=market.outcomes, prices=market.prices)
    events = position_events(marked, config, outcomes=market.outcomes, shares_held=shares)
    return {"expired": to_jsonable(actions), "events": to_jsonable(events), "shares_held": shares}


def surface_summary(surface: Any) -> dict[str, Any] | None:
    """Nodes and dropped quotes of a chain surface (JSON-ready), or None."""
    if surface is None:
        return None
    nodes = surface.nodes
    dropped = surface.dropped
    return {
        "expiries": len(surface.times),
        "nodes": to_jsonable(nodes),
        "quotes": 0 if surface.quotes is None else int(len(surface.quotes)),
        "dropped": [] if dropped is None else to_jsonable(dropped[["expiry", "strike", "kind", "reason"]]),
    }


def _risk(cfg: PlanConfig, positions: Any, market: MarketInputs, book: BookResult) -> RiskResult:
    import pandas as pd

    rep = risk_figures(positions, cfg, market, marked=book.marked)
    return RiskResult(
        greeks=_pick(PortfolioGreeks, rep["greeks"]),
        var=_pick(VarFigures, rep["var"]),
        alerts=pd.DataFrame(rep["alerts"], columns=["alert", "value", "threshold", "status", "detail"]),
        alerting=tuple(rep["alerting"]),
        inputs=rep["inputs"],
        iv=rep["iv"],
        surface=rep["surface"],
        expired=rep["expired"],
        events=rep["events"],
    )


def _assignment(cfg: PlanConfig, pos: Any) -> tuple[AssignmentRow, ...]:
    from engine.plan.assignment import assignment_plan

    m = cfg.market
    fields = {f.name for f in dataclasses.fields(AssignmentRow)}
    rows = []
    for i in range(len(pos)):
        r = pos.iloc[i]
        if r["kind"] != "put" or r["side"] != "short":
            continue
        shares = int(r["contracts"]) * cfg.capital.contract_multiplier
        plan = assignment_plan(
            float(r["strike"]),
            float(r["premium"]),
            shares,
            m.spot,
            m.vol,
            m.rate,
            m.dividend_yield,
            cfg.valuation_date,
            cfg.assignment,
            strike_increment=cfg.strikes.strike_increment,
            multiplier=cfg.capital.contract_multiplier,
        )
        rec = {
            "row": i,
            "strike": float(r["strike"]),
            "expiry": r["expiry"],
            "contracts": int(r["contracts"]),
            "shares": shares,
            "premium": float(r["premium"]),
            **plan,
        }
        rows.append(AssignmentRow(**{k: v for k, v in rec.items() if k in fields}))
    return tuple(rows)


def _simulation(cfg: PlanConfig, positions: Any, paths: int, seed: int) -> Any:
    from engine.risk.simulate import simulate_plan

    return simulate_plan(cfg, positions, paths, seed)


def _orders(cfg: PlanConfig, plan: PlanResult, hedges: HedgeResult, account: Any, risk: RiskResult) -> Any:
    """The month's trades as order tickets (:func:`engine.plan.orders.order_tickets`), each PROPOSED
    or HELD with the reason by the account model and the firing alerts."""
    import pandas as pd

    from engine.plan.allocation import put_expiry
    from engine.plan.orders import TICKET_COLUMNS, order_tickets

    expiry, und = put_expiry(cfg), cfg.market.underlying
    trades = [
        {
            "action": "sell",
            "underlying": und,
            "kind": "put",
            "strike": float(r.strike),
            "expiry": expiry,
            "contracts": int(r.contracts),
            "mid": float(r.premium),
        }
        for r in plan.allocation.itertuples()
        if int(r.contracts) > 0
    ]
    for r in hedges.ladder.itertuples():
        if int(r.contracts) > 0:
            exp = r.expiry if r.expiry is not None else cfg.valuation_date + _dt.timedelta(days=int(r.dte))
            trades.append(
                {
                    "action": "buy",
                    "underlying": und,
                    "kind": "call",
                    "strike": float(r.strike),
                    "expiry": exp,
                    "contracts": int(r.contracts),
                    "mid": float(r.price),
                }
            )
    if not trades:
        return pd.DataFrame(columns=list(TICKET_COLUMNS))
    return order_tickets(
        pd.DataFrame(trades),
        cfg.execution,
        account=account,
        alerts=risk.alerting,
        valuation_date=cfg.valuation_date,
        spot=cfg.market.spot,
        margin=cfg.margin,
        multiplier=cfg.capital.contract_multiplier,
    )


def listed_call_strikes(surface: Any) -> list[float] | None:
    """Call strikes quoted in an option chain (for the hedge rungs), or None without a chain."""
    quotes = None if surface is None else surface.quotes
    if quotes is None or not len(quotes) or "kind" not in quotes.columns:
        return None
    calls = quotes[quotes["kind"] == "call"]
    return sorted({float(k) for k in calls["strike"]}) or None


def _rebalance(
    cfg: PlanConfig, positions: Any, book: BookResult, risk: RiskResult, market: MarketInputs
) -> Any:
    """The book rebalanced toward the plan (:func:`engine.plan.rebalance.rebalance`), its orders
    gated by the account model and the firing alerts like every other ticket."""
    from engine.plan.rebalance import rebalance

    return rebalance(
        positions,
        cfg,
        marked=book.marked,
        alerts=list(risk.alerting),
        surface=market.surface,
        listed_strikes=listed_call_strikes(market.surface),
    )


def _payoff(cfg: PlanConfig, positions: Any) -> Payoff:
    from workbook import layout as L

    prices, pnl = payoff_grid(positions, cfg, L.PAYOFF_STEPS, L.PAYOFF_MAX_MULTIPLE)
    return Payoff(price=prices, pnl=pnl)


#: The steps of :func:`compute_report` in order; each is one tick of the progress bar.
STEPS: tuple[str, ...] = (
    "mark book",
    "account",
    "plan",
    "hedges",
    "projection",
    "kelly",
    "risk",
    "assignment",
    "simulation",
    "orders",
    "rebalance",
    "payoff",
)


def _meta(
    config: PlanConfig,
    paths: int | None,
    seed: int | None,
    sources: dict[str, str] | None,
    timestamp: _dt.datetime | None,
    market: MarketInputs,
) -> dict[str, Any]:
    import engine

    all_sources = {**(sources or {}), **{k: v for k, v in market.sources.items() if v}}
    meta: dict[str, Any] = {
        "version": getattr(engine, "__version__", "unknown"),
        "timestamp": (timestamp or report_timestamp()).isoformat(sep=" "),
        "paths": int(paths if paths is not None else config.simulation.paths),
        "seed": int(seed if seed is not None else config.simulation.seed),
        "valuation_date": config.valuation_date.isoformat(),
        "sources": all_sources,
    }
    if market.clock is not None:
        meta["valuation_source"] = market.clock.source
        meta["freshness"] = market.clock.freshness
        meta["clock_notes"] = list(market.clock.notes)
    return meta


def _measured_iv(config: PlanConfig, market: MarketInputs, meta: dict[str, Any]) -> PlanConfig:
    """A measured IV percentile replaces the config's stated one everywhere (hedge-ratio rule,
    Inputs sheet, alerts), so the report never mixes the two."""
    if market.iv_history is None:
        return config
    from engine.data.ivhistory import iv_rank_percentile

    measured = iv_rank_percentile(market.iv_history, window=config.risk.iv_history_days)["iv_percentile"]
    if measured == measured:  # not NaN (enough history)
        config = config.replace(market__iv_percentile=round(float(measured), 6))
        meta["iv_percentile_source"] = f"measured from {market.sources.get('iv_history') or 'IV history'}"
    return config


def compute_plan(config: PlanConfig, positions: Any) -> PlanData:
    """The plan of ``volarb plan``: premium split and allocation, hedges, Kelly, projection.

    >>> from engine.config import default_config
    >>> from engine.data.positions import example_positions

    Premium 4,349 received on the example's puts less 1,210 paid for its illustrative calls = 3,139;
    80% of it plus the $4,000 addition: 0.8 x 3139 + 4000 = 6,511.20.

    >>> round(compute_plan(default_config(), example_positions()).plan.split.put_expansion_budget, 2)
    6511.2
    """
    from engine.risk.book import mark_book

    account = _account(config, positions, mark_book(positions, config))  # a book may hold no short puts
    plan = _plan(config, positions, MarketInputs(), account)
    return PlanData(
        config=config,
        account=account,
        plan=plan,
        hedges=_hedges(config, plan),
        kelly=_kelly(config),
        projection=_projection(config),
    )


def compute_report(
    config: PlanConfig,
    positions: Any,
    *,
    paths: int | None = None,
    seed: int | None = None,
    sources: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
    timestamp: _dt.datetime | None = None,
    market: MarketInputs | None = None,
) -> ReportData:
    """Run every engine step for the report.

    Parameters
    ----------
    config : PlanConfig
        Validated plan config.
    positions : pandas.DataFrame
        Positions table (``engine.data.positions.POSITION_COLUMNS``).
    paths, seed : int, optional
        Simulation paths and seed (default: ``config.simulation``).
    sources : dict, optional
        Where the config and positions came from (shown on the About sheet).
    progress : callable, optional
        Called with each step's name (:data:`STEPS`) after it finishes (drives the progress bar).
    timestamp : datetime, optional
        Report time (default :func:`report_timestamp`).
    market : MarketInputs, optional
        IV history, price history, VaR method, yesterday's value and chain surface of this run.

    Returns
    -------
    ReportData
        Typed results per section.  An input error (:class:`engine.VolarbInputError`) from any
        step propagates, and so does any other failure: there is no partial report.
    """
    mi = market or MarketInputs()
    meta = _meta(config, paths, seed, sources, timestamp, mi)
    cfg = _measured_iv(config, mi, meta)
    done = progress or (lambda name: None)

    def step(name: str, value: Any) -> Any:
        done(name)
        return value

    book = step("mark book", _mark(cfg, positions, mi))
    account = step("account", _account(cfg, positions, book.marked))
    plan = step("plan", _plan(cfg, positions, mi, account))
    hedges = step("hedges", _hedges(cfg, plan))
    projection = step("projection", _projection(cfg))
    kelly = step("kelly", _kelly(cfg))
    risk = step("risk", _risk(cfg, positions, mi, book))
    assignment = step("assignment", _assignment(cfg, positions))
    simulation = step("simulation", _simulation(cfg, positions, meta["paths"], meta["seed"]))
    orders = step("orders", _orders(cfg, plan, hedges, account, risk))
    rebalance = step("rebalance", _rebalance(cfg, positions, book, risk, mi))
    payoff = step("payoff", _payoff(cfg, positions))
    return ReportData(
        config=cfg,
        positions=positions,
        meta=meta,
        market=mi,
        book=book,
        plan=plan,
        hedges=hedges,
        projection=projection,
        kelly=kelly,
        risk=risk,
        account=account,
        assignment=assignment,
        simulation=simulation,
        orders=orders,
        rebalance=rebalance,
        payoff=payoff,
    )
