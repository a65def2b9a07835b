"""Everything the report shows, computed by the engine into one :class:`ReportData`.

This is the pure part of the report: no openpyxl here.  :func:`compute_report` runs the engine
steps in order (marking the book, the plan, hedges, Kelly, risk, assignment, simulation, orders,
audit), and :meth:`ReportData.to_dict` gives every figure as plain JSON-able data (what
``volarb build --json`` prints).  :mod:`workbook.report` writes the same data into a workbook.

Engine modules that are not available in this build are recorded in ``ReportData.missing``
(with the import error) instead of failing the whole report; the sheet then says so.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.config import PlanConfig, config_to_dict

__all__ = ["ReportData", "MarketInputs", "compute_report", "report_timestamp", "to_jsonable", "payoff_grid",
           "STEPS"]


def report_timestamp() -> _dt.datetime:
    """UTC time of the report: ``SOURCE_DATE_EPOCH`` (reproducible builds) if set, else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC).replace(tzinfo=None)
        except (ValueError, OverflowError, OSError):
            from workbook.io import WorkbookError

            raise WorkbookError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {epoch!r}") from None
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


def payoff_grid(positions: Any, config: PlanConfig, steps: int, max_multiple: float) -> tuple[np.ndarray, np.ndarray]:
    """P&L at expiry of the whole book on a grid of underlying prices, $.

    ``pnl(S) = sum_i sign_i * contracts_i * m * max(w_i (S - K_i), 0) + net premium``, where
    sign is +1 long / -1 short, w +1 call / -1 put, m the contract multiplier, and the net
    premium is received minus paid (Hull 2018, ch. 12: payoffs of option positions).
    Each option is taken at its own expiry value; the grid runs from 0 to ``max_multiple * spot``.
    """
    spot = config.market.spot
    prices = np.linspace(0.0, max_multiple * spot, steps + 1)
    sign = np.where(positions["side"].to_numpy() == "long", 1.0, -1.0)
    w = np.where(positions["kind"].to_numpy() == "call", 1.0, -1.0)
    k = positions["strike"].to_numpy(dtype=float)
    n = positions["contracts"].to_numpy(dtype=float)
    m = float(config.capital.contract_multiplier)
    prem = float(np.sum(-sign * positions["premium"].to_numpy(dtype=float) * n * m))
    payoff = np.maximum(w[None, :] * (prices[:, None] - k[None, :]), 0.0)
    pnl = (payoff * (sign * n * m)[None, :]).sum(axis=1) + prem
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
        ``date, close`` (:func:`engine.risk.var.read_price_history`): needed by historical VaR.
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
        out: dict[str, Any] = {"var_method": self.var_method, "previous_value": self.previous_value,
                               "contribution": self.contribution,
                               "iv_history": self.sources.get("iv_history"), "prices": self.sources.get("prices"),
                               "chain": self.sources.get("chain")}
        return out


@dataclasses.dataclass
class ReportData:
    """All figures of one report (engine outputs; formulas are added by the writer)."""

    config: PlanConfig
    positions: Any
    meta: dict[str, Any]
    market: MarketInputs = dataclasses.field(default_factory=MarketInputs)
    results: dict[str, Any] = dataclasses.field(default_factory=dict)
    missing: dict[str, str] = dataclasses.field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.results.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """Every figure as JSON-able data (``volarb build --json``)."""
        out = {"meta": self.meta, "config": config_to_dict(self.config),
               "positions": self.positions}
        out.update(self.results)
        sim = out.get("simulation")
        if sim is not None and hasattr(sim, "to_dict"):
            sim = sim.to_dict()
            sim.pop("elapsed_seconds", None)  # run time, not a figure: keeps --json reproducible
            out["simulation"] = sim
        out["missing"] = self.missing
        return to_jsonable(out)


def _mark(data: ReportData) -> None:
    from engine.risk.book import ladder_summary, mark_book

    marked = mark_book(data.positions, data.config, surface=data.market.surface)
    data.results["marked"] = marked
    data.results["ladder"] = ladder_summary(marked)


def _book_totals(data: ReportData) -> None:
    m = data.get("marked")
    if m is None:
        return
    totals = {}
    for key in ("premium_total", "value", "unrealized_pnl", "delta_shares", "delta_dollars", "gamma",
                "theta_day", "vega_point", "obligation", "margin"):
        totals[key] = float(np.nansum(m[key].to_numpy(dtype=float)))
    data.results["book"] = totals


def _account(data: ReportData) -> None:
    """The account model of the book (:func:`engine.plan.account.account_state`), at the config's NLV."""
    from engine.plan.account import account_state

    data.results["account"] = account_state(data.positions, data.config, marked=data.get("marked")).summary()


def _plan(data: ReportData) -> None:
    from engine.plan.allocation import allocate_premium, allocate_strikes, reinvestment_plan, strike_premiums

    cfg = data.config
    premium = float(np.sum(np.where(data.positions["side"].to_numpy() == "short", 1.0, -1.0)
                           * data.positions["premium"].to_numpy(dtype=float)
                           * data.positions["contracts"].to_numpy(dtype=float)) * cfg.capital.contract_multiplier)
    share = cfg.allocation.call_share
    if cfg.hedge.use_dynamic_ratio:
        share = _hedge_ratio_value(cfg)
    split = allocate_premium(max(premium, 0.0), cfg.account.monthly_addition, share)
    split = {"premium": premium, "call_share_used": share, **split}
    data.results["premium_split"] = split
    prem = strike_premiums(cfg, surface=data.market.surface)
    data.results["strike_premiums"] = dict(zip(map(float, cfg.strikes.strikes), map(float, prem)))
    account = data.results.get("account")
    bp = None if account is None else float(account["buying_power"])
    alloc = allocate_strikes(split["put_expansion_budget"], cfg.strikes.strikes, cfg.strikes.weights, prem,
                             cfg.market.spot, cfg.capital.model, cfg.capital, buying_power=bp, margin=cfg.margin)
    literal = allocate_strikes(split["put_expansion_budget"], cfg.strikes.strikes, cfg.strikes.weights, prem,
                               cfg.market.spot, "premium", cfg.capital)
    alloc["literal_contracts"] = literal["contracts"].to_numpy()
    data.results["allocation"] = alloc
    data.results["reinvestment"] = reinvestment_plan(split["put_expansion_budget"], cfg,
                                                     premiums=data.results["strike_premiums"], buying_power=bp)


def _projection(data: ReportData) -> None:
    from engine.plan.projection import PLAN_PRINTED_TABLE, plan_discrepancies, project_plan

    data.results["projection"] = project_plan(data.config)
    data.results["plan_printed_table"] = PLAN_PRINTED_TABLE
    data.results["audit"] = plan_discrepancies(data.config)


def _hedge_ratio_value(cfg: PlanConfig) -> float:
    from engine.plan.hedge import hedge_ratio

    h = cfg.hedge
    return float(hedge_ratio(cfg.account.starting_value, cfg.market.iv_percentile, cfg.market.squeeze_probability, h))


def _hedges(data: ReportData) -> None:
    from engine.plan.hedge import hedge_ladder

    cfg = data.config
    data.results["hedge_ratio"] = _hedge_ratio_value(cfg)
    budget = data.results.get("premium_split", {}).get("call_hedge_budget")
    if budget is None:
        budget = 0.0
    m = cfg.market
    data.results["hedge_ladder"] = hedge_ladder(budget, m.spot, m.vol, m.rate, m.dividend_yield, cfg.hedge.ladder,
                                                cfg.valuation_date, cfg.strikes.strike_increment,
                                                multiplier=cfg.capital.contract_multiplier)


def _kelly(data: ReportData) -> None:
    from engine.plan.kelly import kelly_limits

    k = data.config.kelly
    data.results["kelly"] = kelly_limits(k.win_probability, k.avg_win, k.avg_loss, k.fraction, k.cap,
                                         max_strategy_allocation=k.max_strategy_allocation,
                                         max_monthly_addition=k.max_monthly_addition,
                                         emergency_reserve=k.emergency_reserve)


def positions_at_marked_vol(positions: Any, marked: Any) -> Any:
    """Positions whose ``iv`` is the vol each was marked at (surface vol where the row had none).

    VaR reprices from the ``iv`` column (else ``market.vol``); filling it from the marked book
    makes the VaR revaluation use the same vols as the marks when a chain surface is given.
    """
    out = positions.copy().reset_index(drop=True)
    out["iv"] = marked["vol_used"].to_numpy(dtype=float)
    return out


def risk_figures(positions: Any, config: PlanConfig, market: MarketInputs | None = None,
                 marked: Any = None) -> dict[str, Any]:
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
    pos = positions_at_marked_vol(positions, marked) if mi.surface is not None and len(positions) else positions
    var = value_at_risk(pos, config, method=mi.var_method, history=mi.prices)
    rep = risk_report(pos, config, marked=marked, var_result=var, previous_value=mi.previous_value,
                      contribution=mi.contribution, iv_history=mi.iv_history, price_history=mi.prices)
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
    return {"expiries": len(surface.times), "nodes": to_jsonable(nodes),
            "quotes": 0 if surface.quotes is None else int(len(surface.quotes)),
            "dropped": [] if dropped is None else to_jsonable(dropped[["expiry", "strike", "kind", "reason"]])}


def _risk(data: ReportData) -> None:
    import pandas as pd

    rep = risk_figures(data.positions, data.config, data.market, marked=data.get("marked"))
    data.results["portfolio_greeks"] = rep["greeks"]
    data.results["var"] = rep["var"]
    data.results["alerts"] = pd.DataFrame(rep["alerts"], columns=["alert", "value", "threshold", "status", "detail"])
    data.results["alerting"] = rep["alerting"]
    data.results["risk_inputs"] = rep["inputs"]
    data.results["iv"] = rep["iv"]
    data.results["surface"] = rep["surface"]
    data.results["expired"] = rep["expired"]
    data.results["events"] = rep["events"]


def _assignment(data: ReportData) -> None:
    from engine.plan.assignment import assignment_plan

    cfg = data.config
    rows = []
    pos = data.positions
    m = cfg.market
    for i in range(len(pos)):
        r = pos.iloc[i]
        if r["kind"] != "put" or r["side"] != "short":
            continue
        shares = int(r["contracts"]) * cfg.capital.contract_multiplier
        plan = assignment_plan(float(r["strike"]), float(r["premium"]), shares, m.spot, m.vol, m.rate,
                               m.dividend_yield, cfg.valuation_date, cfg.assignment,
                               strike_increment=cfg.strikes.strike_increment,
                               multiplier=cfg.capital.contract_multiplier)
        rows.append({"row": i, "strike": float(r["strike"]), "expiry": r["expiry"], "contracts": int(r["contracts"]),
                     "shares": shares, "premium": float(r["premium"]), **plan})
    data.results["assignment"] = rows


def _simulation(data: ReportData) -> None:
    from engine.data.positions import is_stock
    from engine.risk.simulate import simulate_plan

    if is_stock(data.positions).any():
        # engine.risk.simulate starts from option positions only: a book holding shares is not
        # simulated rather than simulated without them
        data.missing["simulation"] = ("the positions hold stock rows, which the Monte Carlo does not take yet "
                                      "(engine.risk.simulate starts from option positions only)")
        return
    paths = data.meta["paths"]
    seed = data.meta["seed"]
    data.results["simulation"] = simulate_plan(data.config, data.positions, paths, seed)


def _orders(data: ReportData) -> None:
    import pandas as pd

    from engine.plan.orders import order_tickets

    cfg = data.config
    alloc = data.get("allocation")
    if alloc is None:
        return
    from engine.plan.allocation import put_expiry

    expiry = put_expiry(cfg)
    und = cfg.market.underlying
    trades = [{"action": "sell", "underlying": und, "kind": "put", "strike": float(r.strike), "expiry": expiry,
               "contracts": int(r.contracts), "mid": float(r.premium)}
              for r in alloc.itertuples() if int(r.contracts) > 0]
    hl = data.get("hedge_ladder")
    if hl is not None:
        for r in hl.itertuples():
            if int(r.contracts) > 0:
                exp = r.expiry if r.expiry is not None else cfg.valuation_date + _dt.timedelta(days=int(r.dte))
                trades.append({"action": "buy", "underlying": und, "kind": "call", "strike": float(r.strike), "expiry": exp,
                               "contracts": int(r.contracts), "mid": float(r.price)})
    if not trades:
        data.results["orders"] = pd.DataFrame(columns=["action", "underlying", "kind", "strike", "expiry", "contracts", "mid"])
        return
    from engine.plan.account import account_state

    account = account_state(data.positions, cfg, marked=data.get("marked"))
    data.results["orders"] = order_tickets(pd.DataFrame(trades), cfg.execution, account=account,
                                           alerts=data.get("alerting") or (), valuation_date=cfg.valuation_date,
                                           spot=cfg.market.spot, margin=cfg.margin,
                                           multiplier=cfg.capital.contract_multiplier)


def _payoff(data: ReportData) -> None:
    from workbook import layout as L

    prices, pnl = payoff_grid(data.positions, data.config, L.PAYOFF_STEPS, L.PAYOFF_MAX_MULTIPLE)
    data.results["payoff"] = {"price": prices, "pnl": pnl}


#: (step name, function, engine module it needs) in order; each is one tick of the progress bar.
STEPS: tuple[tuple[str, Callable[[ReportData], None], str], ...] = (
    ("mark book", _mark, "engine.risk.book"),
    ("book totals", _book_totals, ""),
    ("account", _account, "engine.plan.account"),
    ("plan", _plan, "engine.plan.allocation"),
    ("hedges", _hedges, "engine.plan.hedge"),
    ("projection", _projection, "engine.plan.projection"),
    ("kelly", _kelly, "engine.plan.kelly"),
    ("risk", _risk, "engine.risk.checks"),
    ("assignment", _assignment, "engine.plan.assignment"),
    ("simulation", _simulation, "engine.risk.simulate"),
    ("orders", _orders, "engine.plan.orders"),
    ("payoff", _payoff, ""),
)


def compute_report(config: PlanConfig, positions: Any, *, paths: int | None = None, seed: int | None = None,
                   sources: dict[str, str] | None = None, progress: Callable[[str], None] | None = None,
                   timestamp: _dt.datetime | None = None, market: MarketInputs | None = None) -> ReportData:
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
        Called with each step's name after it finishes (drives the progress bar).
    timestamp : datetime, optional
        Report time (default :func:`report_timestamp`).
    market : MarketInputs, optional
        IV history, price history, VaR method, yesterday's value and chain surface of this run.

    Returns
    -------
    ReportData
        Engine outputs by key; modules missing from this build are listed in ``missing``.
        An input error (:class:`engine.VolarbInputError`) from any step propagates.

    Raises
    ------
    engine.VolarbInputError
        A stock row in ``positions``: the report workbook's Positions sheet has no ``shares``
        column yet (the engine, ``volarb risk`` and ``volarb plan`` take stock rows).
    """
    import engine
    from engine._validate import VolarbInputError
    from engine.data.positions import is_stock, row_where

    stock = is_stock(positions)
    if stock.any():
        i = int(np.flatnonzero(stock)[0])
        raise VolarbInputError(f"{row_where(positions, i)}, column 'kind': a stock row cannot go into the report "
                               "workbook yet (its Positions sheet has no shares column); volarb risk and volarb plan "
                               "take it")

    meta = {
        "version": getattr(engine, "__version__", "unknown"),
        "timestamp": (timestamp or report_timestamp()).isoformat(sep=" "),
        "paths": int(paths if paths is not None else config.simulation.paths),
        "seed": int(seed if seed is not None else config.simulation.seed),
        "valuation_date": config.valuation_date.isoformat(),
        "sources": dict(sources or {}),
    }
    mi = market or MarketInputs()
    if mi.clock is not None:
        meta["valuation_source"] = mi.clock.source
        meta["freshness"] = mi.clock.freshness
        meta["clock_notes"] = list(mi.clock.notes)
    meta["sources"].update({k: v for k, v in mi.sources.items() if v})
    if mi.iv_history is not None:
        # a measured IV percentile replaces the config's stated one everywhere (hedge-ratio rule,
        # Inputs sheet, alerts), so the report never mixes the two
        from engine.data.ivhistory import iv_rank_percentile

        measured = iv_rank_percentile(mi.iv_history, window=config.risk.iv_history_days)["iv_percentile"]
        if measured == measured:  # not NaN (enough history)
            config = config.replace(market__iv_percentile=round(float(measured), 6))
            meta["iv_percentile_source"] = f"measured from {mi.sources.get('iv_history') or 'IV history'}"
            meta["valuation_date"] = config.valuation_date.isoformat()
    data = ReportData(config=config, positions=positions, meta=meta, market=mi)
    for name, func, module in STEPS:
        try:
            func(data)
        except ImportError as exc:
            if module and (exc.name or "").startswith("engine"):
                data.missing[name] = f"{module} not available in this build ({exc})"
            else:
                raise
        if progress is not None:
            progress(name)
    data.meta["missing"] = dict(data.missing)
    return data
