"""volarb engine: option pricing and the short-put plan, in pure numpy/scipy/pandas.

Public API (one parameter order everywhere: spot, strike, t, rate, vol, kind, q):

* :func:`bs_price`, :func:`american_price`, :func:`greeks`, :func:`implied_vol`,
  :func:`prob_itm`, :func:`prob_touch` - pricing core (see :mod:`engine.pricing.black` for the glossary and units).
* :mod:`engine.units` - per-day theta and per-vol-point vega conversions for display.
* :mod:`engine.config` - the plan config (TOML), every key with default, type and range.
* The plan's rules: :func:`allocate_premium`, :func:`allocate_strikes`,
  :func:`capital_per_contract`, :func:`hedge_ladder`, :func:`hedge_ratio`,
  :func:`kelly_limits`, :func:`assignment_plan`, :func:`project_plan`,
  :func:`plan_discrepancies`, :func:`rebalance`, and the modules listed in ``_LAZY``.

The pricing core is imported eagerly; everything else is loaded on first use (PEP 562), so
``import engine`` stays fast (pandas and the exchange calendar are not imported until needed).
This package never imports xlwings or openpyxl (a test enforces it).
"""

from __future__ import annotations

import importlib
from typing import Any

from engine._validate import VolarbInputError, parse_kind
from engine.pricing.american import american_price
from engine.pricing.black import bs_price, prob_itm, prob_touch
from engine.pricing.greeks import GREEK_NAMES, greeks
from engine.pricing.impliedvol import IVResult, IVStatus, implied_vol, iv_status_message
from engine.units import DAYS_PER_YEAR, days_to_years, theta_per_day, vega_per_point

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {}
for _module, _names in {
    "engine.config": (
        "ConfigError",
        "PlanConfig",
        "config_from_dict",
        "config_to_dict",
        "config_to_toml",
        "config_reference",
        "default_config",
        "load_config",
        "config_from_pairs",
    ),
    "engine.plan.margin": (
        "CAPITAL_MODELS",
        "capital_per_contract",
        "short_option_requirement",
        "stock_requirement",
    ),
    "engine.plan.account": (
        "AccountError",
        "AccountState",
        "account_state",
        "evaluate_account",
        "position_requirements",
    ),
    "engine.plan.allocation": (
        "PLAN_MONTH2_CONTRACTS",
        "PLAN_PREMIUMS",
        "allocate_premium",
        "allocate_strikes",
        "capital_model_comparison",
        "put_expiry",
        "reinvestment_plan",
        "strike_premiums",
        "whole_contracts",
    ),
    "engine.plan.hedge": ("PLAN_MONTH1_HEDGE", "hedge_ladder", "hedge_ratio", "plan_month1_hedge"),
    "engine.plan.kelly": ("kelly_inputs_from_journal", "kelly_limits"),
    "engine.plan.assignment": ("CoveredCall", "ShareLot", "assignment_plan"),
    "engine.plan.projection": ("ASSUMPTIONS", "PLAN_PRINTED_TABLE", "plan_discrepancies", "project_plan"),
    "engine.data.positions": (
        "POSITION_COLUMNS",
        "PositionsError",
        "read_positions",
        "positions_from_records",
        "example_positions",
        "parse_occ_symbol",
        "occ_symbol",
    ),
    "engine.risk.book": ("mark_book", "ladder_summary", "position_status"),
    "engine.pricing.surface": ("VolSurface", "read_option_chain"),
    "engine.data.chain": ("ChainError", "read_chain"),
    "engine.data.calendar": (
        "CalendarError",
        "monthly_expiration",
        "next_monthly_expiration",
        "trading_days",
        "is_trading_day",
        "protocol_dates",
        "dte",
        "execution_windows",
    ),
    "engine.plan.orders": ("OrdersError", "order_tickets", "round_to_tick", "tick_size"),
    "engine.plan.rebalance": ("Rebalance", "RebalanceError", "rebalance", "apply_trades", "recommendations"),
    "engine.risk.checks": (
        "ALERT_NAMES",
        "RiskError",
        "portfolio_greeks",
        "strike_obligations",
        "daily_risk_check",
        "risk_report",
    ),
    "engine.risk.var": ("VarError", "value_at_risk", "VAR_METHODS"),
    "engine.data.prices": ("PriceHistoryError", "read_price_history"),
    "engine.data.ivhistory": (
        "IVHistoryError",
        "read_iv_history",
        "iv_rank_percentile",
        "iv_percentile_series",
        "example_iv_history",
    ),
    "connect.notify": ("NotifyError", "format_alert_email", "send_alert_email"),
    "engine.risk.simulate": (
        "SimulationError",
        "SimulationResult",
        "simulate_plan",
        "simulate_prices",
        "PLAN_TARGETS",
    ),
    "engine.data.journal": ("ReviewError", "read_journal", "read_equity"),
    "engine.risk.review": (
        "weekly_review",
        "daily_returns",
        "sharpe_ratio",
        "max_drawdown",
        "brier_score",
        "allocation_drift",
        "journal_metrics",
        "correlation",
    ),
}.items():
    for _name in _names:
        _LAZY[_name] = _module


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "VolarbInputError",
    "parse_kind",
    "bs_price",
    "american_price",
    "greeks",
    "GREEK_NAMES",
    "implied_vol",
    "IVResult",
    "IVStatus",
    "iv_status_message",
    "prob_itm",
    "prob_touch",
    "DAYS_PER_YEAR",
    "days_to_years",
    "theta_per_day",
    "vega_per_point",
    "__version__",
    *_LAZY,
]
