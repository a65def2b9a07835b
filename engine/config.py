"""The plan configuration: every parameter of the user's plan, its default, type and range.

A config is a TOML file (read with :mod:`tomllib`) whose tables mirror the sections below.  The
defaults reproduce the user's plan (``strategy-plan.txt``), so ``default_config()`` is the
built-in example.  Validation happens here, once: an unknown key, a wrong type or an
out-of-range value raises :class:`ConfigError` naming the file, the key and the allowed range.

Each field's documentation lives in its ``metadata`` (``doc``, ``min``, ``max``, ``choices``);
:func:`config_reference` turns it into the table printed in the README.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import numbers
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine._validate import VolarbInputError

__all__ = [
    "ConfigError",
    "PlanConfig",
    "MarketConfig",
    "AccountConfig",
    "AllocationConfig",
    "StrikesConfig",
    "ReinvestmentGroup",
    "HedgeRung",
    "HedgeConfig",
    "KellyConfig",
    "RiskConfig",
    "AssignmentConfig",
    "ExecutionConfig",
    "CapitalConfig",
    "MarginConfig",
    "ProjectionConfig",
    "SimulationConfig",
    "EmailConfig",
    "RebalanceConfig",
    "DataConfig",
    "AlertsConfig",
    "TODAY",
    "default_config",
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "config_to_toml",
    "config_reference",
    "config_from_pairs",
]


#: The ``market.valuation_date`` word for the exchange's current date.
TODAY = "today"
#: Delivery channels of ``alerts.channels``.
ALERT_CHANNELS = ("email", "push")


class ConfigError(VolarbInputError):
    """A plan config value that breaks its rule (message names the file and key)."""


def _f(
    default: Any,
    doc: str,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] | None = None,
    lo_open: bool = False,
    alias: str | None = None,
) -> Any:
    meta = {"doc": doc, "min": lo, "max": hi, "choices": choices, "lo_open": lo_open, "alias": alias}
    if isinstance(default, (list, tuple)):
        items = tuple(default)
        return field(default_factory=lambda: items, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class MarketConfig:
    underlying: str = _f("ASST", "Ticker of the underlying stock.")
    spot: float = _f(3.15, "Underlying price, $ per share (plan: $3.15).", 0.0, None, lo_open=True)
    vol: float = _f(
        4.25, "Implied volatility, annualized decimal (plan: 425% = 4.25).", 0.0, 10.0, lo_open=True
    )
    rate: float = _f(
        0.04, "Risk-free rate, continuous (plan is silent; 4% is the Sept 2025 T-bill level).", -0.05, 0.25
    )
    dividend_yield: float = _f(0.0, "Continuous dividend yield q.", 0.0, 0.5)
    valuation_date: str = _f(
        "2025-09-27",
        'Valuation date YYYY-MM-DD, or "today": the exchange\'s date in its time zone '
        "(execution.exchange), a weekend or holiday moved to the previous session. A config "
        'file without this key is valued "today"; the built-in example keeps the plan\'s '
        "2025-09-27.",
    )
    iv_percentile: float = _f(99.0, "IV percentile 0-100 (plan: 99th).", 0.0, 100.0)
    squeeze_probability: float = _f(
        0.45, "Probability of a short squeeze (plan: 0.45, 42% short interest).", 0.0, 1.0
    )


@dataclass(frozen=True)
class AccountConfig:
    starting_value: float = _f(
        3792.0,
        "Portfolio value (net liquidation) at the start, $ (plan: $3,792); every risk "
        "limit is a share of it, so it must be > 0.",
        0.0,
        None,
        lo_open=True,
    )
    monthly_addition: float = _f(4000.0, "New capital added every month, $ (plan: $4,000).", 0.0, None)


@dataclass(frozen=True)
class AllocationConfig:
    call_share: float = _f(
        0.20, "Share of collected premium spent on long call hedges (plan: 20%; puts get the rest).", 0.0, 1.0
    )


@dataclass(frozen=True)
class StrikesConfig:
    strikes: tuple[float, ...] = _f(
        [2.0, 2.5, 3.0, 4.0, 5.0],
        "Put ladder strikes, $ (plan: 2.00/2.50/3.00/4.00/5.00).",
        0.0,
        None,
        lo_open=True,
    )
    weights: tuple[float, ...] = _f(
        [0.20, 0.35, 0.30, 0.10, 0.05],
        "Capital weight per strike, summing to 1 (plan: 20/35/30/10/5%).",
        0.0,
        1.0,
    )
    dte: int = _f(
        30, "Days to expiry of newly sold puts when no expiry calendar applies (monthly cycle).", 1, 730
    )
    use_monthly_expiry: bool = _f(
        True, "Sell new puts on the next monthly expiration (third Friday) at least `min_dte` days out."
    )
    min_dte: int = _f(14, "Minimum days to expiry when picking the monthly expiration.", 0, 365)
    strike_increment: float = _f(
        0.5, "Listed strike spacing used to round computed strikes, $ (0 = no rounding).", 0.0, None
    )


@dataclass(frozen=True)
class ReinvestmentGroup:
    action: str = _f("EXPAND_OPTIMAL_STRIKES", "Name of the priority.")
    strikes: tuple[float, ...] = _f([2.5, 3.0], "Strikes of the group, $.", 0.0, None, lo_open=True)
    share: float = _f(0.65, "Share of the reinvested capital.", 0.0, 1.0)
    reasoning: str = _f("", "The plan's reason, shown in reports.")


_DEFAULT_PRIORITIES = (
    ReinvestmentGroup("EXPAND_OPTIMAL_STRIKES", (2.5, 3.0), 0.65, "Highest risk-adjusted returns"),
    ReinvestmentGroup("ADD_DEFENSIVE_POSITIONS", (2.0,), 0.20, "Portfolio stability and assignment buffer"),
    ReinvestmentGroup("SPECULATIVE_UPSIDE", (4.0, 5.0), 0.15, "Enhanced yield with acceptable risk"),
)


@dataclass(frozen=True)
class HedgeRung:
    moneyness: float = _f(1.5, "Call strike as a multiple of spot.", 1.0, 20.0)
    share: float = _f(0.40, "Share of the hedge budget.", 0.0, 1.0)
    dte: int = _f(90, "Days to expiry.", 1, 1095)


_DEFAULT_LADDER = (HedgeRung(1.5, 0.40, 90), HedgeRung(2.0, 0.35, 120), HedgeRung(3.0, 0.25, 150))


@dataclass(frozen=True)
class HedgeConfig:
    base_ratio: float = _f(0.20, "Base hedge ratio (share of premium to calls).", 0.0, 1.0)
    iv_percentile_threshold: float = _f(
        95.0, "Above this IV percentile the ratio is multiplied by `iv_multiplier`.", 0.0, 100.0
    )
    iv_multiplier: float = _f(1.3, "Multiplier for extreme IV (plan: x1.3).", 0.0, 10.0)
    squeeze_threshold: float = _f(
        0.4, "Above this squeeze probability the ratio is multiplied by `squeeze_multiplier`.", 0.0, 1.0
    )
    squeeze_multiplier: float = _f(1.5, "Multiplier for squeeze risk (plan: x1.5).", 0.0, 10.0)
    size_threshold: float = _f(
        50000.0, "Above this portfolio value ($) the ratio is multiplied by `size_multiplier`.", 0.0, None
    )
    size_multiplier: float = _f(1.2, "Multiplier for large portfolios (plan: x1.2).", 0.0, 10.0)
    cap: float = _f(0.35, "Maximum hedge ratio (plan: 35%).", 0.0, 1.0)
    use_dynamic_ratio: bool = _f(
        False, "Spend hedge_ratio() of premium on calls instead of allocation.call_share."
    )
    ladder: tuple[HedgeRung, ...] = field(
        default_factory=lambda: _DEFAULT_LADDER,
        metadata={
            "doc": "Call rungs: [[hedge.ladder]] moneyness, share, dte (plan: 1.5x/40%/90d, 2x/35%/120d, 3x/25%/150d)."
        },
    )


@dataclass(frozen=True)
class KellyConfig:
    win_probability: float = _f(0.892, "Probability a trade wins (plan: 0.892).", 0.0, 1.0)
    avg_win: float = _f(
        0.123, "Average win as a fraction of capital at risk (plan: 0.123).", 0.0, None, lo_open=True
    )
    avg_loss: float = _f(
        0.087, "Average loss as a fraction of capital at risk (plan: 0.087).", 0.0, None, lo_open=True
    )
    fraction: float = _f(0.25, "Fraction of full Kelly used (plan: 25%).", 0.0, 1.0)
    cap: float = _f(0.15, "Maximum share of the portfolio in one strike (plan: 15%).", 0.0, 1.0)
    max_strategy_allocation: float = _f(
        1.0, "Share of the account dedicated to the strategy (plan: 100%).", 0.0, 1.0
    )
    max_monthly_addition: float = _f(
        0.20, "Maximum new exposure per month as a share of the portfolio (plan: 20%).", 0.0, 1.0
    )
    emergency_reserve: float = _f(0.05, "Cash reserve kept aside (plan: 5%).", 0.0, 1.0)


@dataclass(frozen=True)
class RiskConfig:
    delta_limit: float = _f(
        0.70, "HIGH_DELTA_EXPOSURE when |dollar delta| > this x portfolio value (plan: 70%).", 0.0, None
    )
    var_limit: float = _f(0.05, "VAR_LIMIT_BREACH when VaR > this x portfolio value (plan: 5%).", 0.0, 1.0)
    var_confidence: float = _f(0.95, "VaR confidence level (plan: 95%).", 0.5, 0.9999)
    var_horizon_days: int = _f(1, "VaR horizon in trading days (plan: 1).", 1, 30)
    var_method: str = _f("full", "VaR method.", choices=("full", "delta_gamma", "historical"))
    var_scenarios: int = _f(100000, "Monte Carlo scenarios for VaR.", 1000, 10_000_000)
    concentration_limit: float = _f(
        0.40,
        "CONCENTRATION_RISK when the largest strike obligation > this x portfolio value (plan: 40%).",
        0.0,
        None,
    )
    daily_pnl_limit: float = _f(
        0.05, "DAILY_PNL alert when |daily P&L| > this x portfolio value (plan: 5%).", 0.0, 1.0
    )
    assignment_probability: float = _f(
        0.80, "ASSIGNMENT alert when probability ITM > this (plan: 80%).", 0.0, 1.0
    )
    assignment_notice_days: int = _f(3, "... and expiry is within this many trading days (plan: 3).", 0, 60)
    assignment_measure: str = _f(
        "prob_itm",
        "Probability the ASSIGNMENT alert compares: prob_itm (finish in the money, the plan's) or prob_touch (touch the strike before expiry).",
        choices=("prob_itm", "prob_touch"),
    )
    iv_percentile_floor: float = _f(
        30.0, "IV_ENVIRONMENT alert when IV percentile < this (plan: 30).", 0.0, 100.0
    )
    iv_history_days: int = _f(252, "Trading days of IV history for IV rank/percentile.", 20, 5000)
    seed: int = _f(20250927, "Seed of the VaR Monte Carlo.", 0, None)


@dataclass(frozen=True)
class AssignmentConfig:
    excellent_basis: float = _f(
        2.00, "Hold and sell covered calls if cost basis < this, $ (plan: 2.00).", 0.0, None
    )
    good_basis: float = _f(2.50, "Immediate covered calls if cost basis < this, $ (plan: 2.50).", 0.0, None)
    fair_basis: float = _f(3.00, "Above this the position is 'fair' (plan: 3.00; evaluate exit).", 0.0, None)
    excellent_call_upside: float = _f(
        0.20, "Covered call strike above basis, excellent tier (plan: +20%).", 0.0, 10.0
    )
    excellent_call_dte: int = _f(30, "Covered call days, excellent tier (plan: 30).", 1, 365)
    good_call_upside: float = _f(0.15, "Covered call strike above basis, good tier (plan: +15%).", 0.0, 10.0)
    good_call_dte: int = _f(45, "Covered call days, good tier (plan: 45).", 1, 365)
    exit_stop: float = _f(0.15, "Stop loss below basis, exit tier (plan: 15%).", 0.0, 1.0)
    exit_call_upside: float = _f(0.10, "Covered call strike above basis, exit tier (plan: +10%).", 0.0, 10.0)
    exit_call_dte: int = _f(30, "Covered call days, exit tier (plan is silent; 30).", 1, 365)


def _measured_half_spread(which: int) -> float:
    """The example chain's measured half-spread: 0 = fraction of mid, 1 = $ minimum per share."""
    from engine.plan.costs import example_half_spread

    return example_half_spread()[which]


@dataclass(frozen=True)
class ExecutionConfig:
    price_improvement: float = _f(0.05, "Limit price improvement vs mid, $ (plan: 0.05).", 0.0, None)
    max_slippage: float = _f(0.10, "Worst acceptable price past mid, $ (plan: 0.10).", 0.0, None)
    max_order_size: int = _f(10, "Maximum contracts per order (plan: 10).", 1, 10000)
    time_in_force: str = _f("DAY", "Order time in force (plan: DAY).", choices=("DAY", "GTC"))
    tick_small: float = _f(0.05, "Option tick below `tick_threshold`, $.", 0.0, None, lo_open=True)
    tick_large: float = _f(0.10, "Option tick from `tick_threshold` up, $.", 0.0, None, lo_open=True)
    tick_threshold: float = _f(3.0, "Premium at which the tick changes, $.", 0.0, None)
    morning_window: str = _f("09:45-10:30", "Morning order window, exchange time (plan).")
    afternoon_window: str = _f("14:00-15:30", "Afternoon order window, exchange time (plan).")
    exchange: str = _f("XNYS", "Exchange calendar (exchange_calendars code).")
    half_spread_pct: float = field(
        default_factory=lambda: _measured_half_spread(0),
        metadata={
            "doc": "Option half-spread as a fraction of mid: a sale fills at mid - max(pct x mid, half_spread_min), a "
            "purchase at mid + that (simulation). Default measured on engine/data/example_chain.csv.",
            "min": 0.0,
            "max": 1.0,
            "choices": None,
            "lo_open": False,
        },
    )
    half_spread_min: float = field(
        default_factory=lambda: _measured_half_spread(1),
        metadata={
            "doc": "Minimum option half-spread, $ per share (simulation). Default measured on engine/data/example_chain.csv "
            "(its tightest quote).",
            "min": 0.0,
            "max": None,
            "choices": None,
            "lo_open": False,
        },
    )
    stock_half_spread: float = _f(
        0.005,
        "Stock half-spread, $ per share, paid when shares are sold (stop loss, margin "
        "call); 0.005 = half the $0.01 minimum quote increment (Reg NMS Rule 612).",
        0.0,
        None,
    )
    commission_per_contract: float = _f(
        0.65,
        "Commission per option contract bought or sold, $ (plan is silent; 0.65 is a common US retail rate).",
        0.0,
        None,
    )
    assignment_fee: float = _f(
        0.0, "Fee per assignment or exercise (one per option line per day), $ (set your broker's).", 0.0, None
    )
    max_orders_per_day: int = _f(
        10,
        "Daily fill cap: orders of at most max_order_size contracts filled per option "
        "series per day (simulation; day orders, the rest is not filled).",
        1,
        100000,
    )


@dataclass(frozen=True)
class CapitalConfig:
    model: str = _f(
        "reg_t",
        "Capital per short put when sizing the plan, $ per contract on the net-liquidation basis "
        "(requirement net of the option's value): premium (the plan's literal formula), cash_secured, reg_t.",
        choices=("premium", "cash_secured", "reg_t"),
    )
    contract_multiplier: int = _f(100, "Shares per contract.", 1, 10000)
    # Legacy aliases (kept loading; the source of truth is [margin]; PlanConfig keeps them equal to it).
    reg_t_underlying_pct: float = _f(
        0.20, "Legacy alias of margin.naked_underlying_pct.", 0.0, 1.0, alias="margin.naked_underlying_pct"
    )
    reg_t_minimum_pct: float = _f(
        0.10, "Legacy alias of margin.naked_minimum_pct.", 0.0, 1.0, alias="margin.naked_minimum_pct"
    )
    house_addon_pct: float = _f(
        0.0,
        "Legacy alias of margin.concentration_addon_pct.",
        0.0,
        1.0,
        alias="margin.concentration_addon_pct",
    )
    stock_maintenance_pct: float = _f(
        0.25, "Legacy alias of margin.stock_maintenance_pct.", 0.0, 1.0, alias="margin.stock_maintenance_pct"
    )


@dataclass(frozen=True)
class MarginConfig:
    """The account's margin rules (FINRA Rule 4210 / CBOE strategy-based minimums by default).

    Defaults are the exchange minimums with no house rule, so the plan's literal figures stay
    reproducible; a broker's own numbers (per-contract floor, low-priced-stock threshold,
    concentration add-on) go here.  Used by :mod:`engine.plan.margin` and the account model.
    """

    account: str = _f(
        "margin",
        "Account type: margin (Reg T strategy-based margin, FINRA 4210 / CBOE) or cash "
        "(cash-secured puts, covered calls, no loan on anything).",
        choices=("margin", "cash"),
    )
    naked_underlying_pct: float = _f(
        0.20,
        "Uncovered short option: share of the underlying value, less the out-of-the-money "
        "amount (FINRA 4210(f)(2)(G): 20%).",
        0.0,
        1.0,
    )
    naked_minimum_pct: float = _f(
        0.10,
        "Uncovered short option: minimum share of the strike (puts) or of the underlying "
        "value (calls) (FINRA 4210(f)(2)(G): 10%).",
        0.0,
        1.0,
    )
    per_contract_floor: float = _f(
        0.0,
        "House floor on the margin part of an uncovered short option, $ per contract "
        "(beside the 10% minimum; FINRA: none).",
        0.0,
        None,
    )
    stock_initial_pct: float = _f(
        0.50, "Initial margin on long stock, share of value (Regulation T: 50%).", 0.0, 1.0
    )
    stock_maintenance_pct: float = _f(
        0.25, "Maintenance margin on long stock, share of value (FINRA 4210(c): 25%).", 0.0, 1.0
    )
    low_price_threshold: float = _f(
        0.0,
        "Shares priced under this get no loan value (100% margin), $ per share "
        "(FINRA: none; many brokers use $2-$5).",
        0.0,
        None,
    )
    concentration_addon_pct: float = _f(
        0.0,
        "House add-on for one concentrated name: extra share of the underlying value "
        "on every uncovered short option (FINRA: none).",
        0.0,
        1.0,
    )
    long_option_loan_months: int = _f(
        9,
        "Long options expiring within this many months have no loan value (paid 100%); "
        "longer ones lend 25% (FINRA 4210(f)(2)(D): 9 months).",
        0,
        120,
    )


@dataclass(frozen=True)
class ProjectionConfig:
    months: int = _f(6, "Months projected (plan: 6).", 1, 120)
    start_month: str = _f("2025-10", "First projected month YYYY-MM (plan: October 2025).")


@dataclass(frozen=True)
class SimulationConfig:
    paths: int = _f(2000, "Monte Carlo paths (report default; benchmarks use 100,000).", 10, 10_000_000)
    seed: int = _f(20250927, "Random seed.", 0, None)
    realized_vol: float = _f(2.50, "Realized (physical) volatility of the stock, decimal.", 0.0, 10.0)
    drift: float = _f(0.0, "Physical drift of the stock, continuous per year.", -5.0, 5.0)
    jump_intensity: float = _f(0.0, "Jumps per year (Merton jump diffusion).", 0.0, 365.0)
    jump_mean: float = _f(0.0, "Mean log jump size.", -5.0, 5.0)
    jump_vol: float = _f(0.0, "Std dev of log jump size.", 0.0, 5.0)
    iv_long_run: float = _f(1.50, "Long-run implied vol the IV mean-reverts to, decimal.", 0.0, 10.0)
    iv_reversion_speed: float = _f(
        2.0, "Mean-reversion speed of implied vol per year (0 = constant IV).", 0.0, 100.0
    )
    iv_vol: float = _f(0.0, "Volatility of log implied vol per sqrt(year).", 0.0, 10.0)
    chunk_size: int = _f(25000, "Paths per chunk (memory bound; results do not depend on it).", 1, 10_000_000)
    sizing: str = _f(
        "plan",
        "Put sizing (simulation): plan (monthly budget / capital.model's capital per contract, net "
        "basis, as the plan's strike allocation), full_requirement (monthly budget / the account's "
        "full-basis requirement per contract, premium included: volarb's sizing before issue 9) or "
        "buying_power (all buying power each month, by strike weight); every rule is capped by the "
        "account's buying power.",
        choices=("plan", "full_requirement", "buying_power"),
    )
    costs: bool = _f(
        True, "Charge the execution.* costs (half-spreads, commissions, assignment fees) in the simulation."
    )


@dataclass(frozen=True)
class EmailConfig:
    enabled: bool = _f(False, "Send the risk alert summary by email.")
    smtp_host: str = _f("localhost", "SMTP server host.")
    smtp_port: int = _f(587, "SMTP server port.", 1, 65535)
    use_tls: bool = _f(True, "Use STARTTLS.")
    username: str = _f("", "SMTP user name (empty: no login).")
    password_env: str = _f(
        "VOLARB_SMTP_PASSWORD", "Environment variable holding the SMTP password (never in the file)."
    )
    sender: str = _f("", "From address.")
    recipients: tuple[str, ...] = _f([], "To addresses.")


#: risk alerts that may hold new short-put sales of a rebalance (engine.risk.checks.ALERT_NAMES)
_HOLDABLE_ALERTS = (
    "HIGH_DELTA_EXPOSURE",
    "VAR_LIMIT_BREACH",
    "CONCENTRATION_RISK",
    "DAILY_PNL_ALERT",
    "ASSIGNMENT_RISK",
    "LOW_IV_ENVIRONMENT",
    "BUYING_POWER_EXCEEDED",
)


@dataclass(frozen=True)
class RebalanceConfig:
    """Rebalancing the book toward the plan (:mod:`engine.plan.rebalance`)."""

    tolerance_contracts: float = _f(
        1.0,
        "Tolerance band: a put strike or hedge rung whose held contracts are within "
        "this many contracts of its exact (fractional) target gets no order (1 = one "
        "contract of drift does not churn the book).",
        0.0,
        1000.0,
    )
    obligation: float = _f(
        0.0,
        "Total short-put obligation the targets share out by strikes.weights, $ (strike x "
        "multiplier x contracts; 0 = the book's current total, i.e. rebalance without growing).",
        0.0,
        None,
    )
    hedge_budget: float = _f(
        0.0,
        "Hedge budget of the call restructure, $ of premium (0 = the call share, or the "
        "dynamic ratio, of the premium received on the open short puts).",
        0.0,
        None,
    )
    keep_strikes: tuple[float, ...] = _f(
        [2.5],
        "Put strikes whose lots are never reduced by a rebalance (plan: "
        "'Maintain Strong $2.50 Put Concentration (22 contracts)'); [] = none.",
        0.0,
        None,
        lo_open=True,
    )
    hedge_strike_tolerance: float = _f(
        0.10,
        "A long call counts for a hedge rung when its strike is within this "
        "share of the rung strike (0.10 = +-10%); also how near a listed strike "
        "must be to a rung.",
        0.0,
        1.0,
    )
    hedge_expiry_window_days: int = _f(
        21,
        "... and its expiry within this many calendar days of the rung's "
        "expiry (the listed monthly expiration at least the rung's dte out).",
        0,
        365,
    )
    include_monthly_addition: bool = _f(
        True,
        "Count the month's deposit (account.monthly_addition) in the buying "
        "power of the rebalance (the plan adjusts in week 1 after the deposit).",
    )
    hold_on_alerts: tuple[str, ...] = _f(
        ["HIGH_DELTA_EXPOSURE", "VAR_LIMIT_BREACH", "CONCENTRATION_RISK", "BUYING_POWER_EXCEEDED"],
        "Risk alerts that, while firing, hold the rebalance's opening orders by the "
        "order-ticket rules (a short put raising the largest strike obligation, a "
        "short sale under VaR, same-sign delta, buying power); closes always go; "
        "[] = never.",
    )


@dataclass(frozen=True)
class DataConfig:
    provider: str = _f(
        "none",
        "Market data source of `volarb fetch` / `volarb daily`: none (daily uses the files "
        "already in `folder`), folder (CSVs dropped in `source_folder`, offline), yahoo "
        "(yfinance, extra `yahoo`, personal use), tastytrade (SDK, extra `tastytrade`).",
        choices=("none", "folder", "yahoo", "tastytrade"),
    )
    symbol: str = _f("", "Symbol to fetch (empty: market.underlying).")
    folder: str = _f(
        "market-data",
        "Folder fetch writes into and daily reads from: spot.json, chain.csv, iv-history.csv, prices.csv.",
    )
    source_folder: str = _f(
        "market-inbox",
        "Folder the `folder` provider reads (spot.json or quote.csv, chain.csv, "
        "optional prices.csv, earnings.csv).",
    )
    max_quote_age_hours: float = _f(
        96.0,
        "Quotes older than this many hours are stale: fetch refuses them (exit 3).",
        0.0,
        None,
        lo_open=True,
    )
    target_dte: int = _f(
        30, "Days to expiry of the at-the-money implied vol appended to the IV history.", 1, 365
    )
    stale_sessions: int = _f(
        3, "A valuation date more than this many trading sessions before today is flagged stale.", 0, 1000
    )
    tastytrade_secret_env: str = _f(
        "TASTYTRADE_CLIENT_SECRET",
        "Environment variable with the tastytrade OAuth "
        "client secret (or the OS keyring, service volarb-tastytrade; never a file).",
    )
    tastytrade_token_env: str = _f(
        "TASTYTRADE_REFRESH_TOKEN",
        "Environment variable with the tastytrade OAuth "
        "refresh token (or the OS keyring, service volarb-tastytrade).",
    )


@dataclass(frozen=True)
class AlertsConfig:
    channels: tuple[str, ...] = _f(
        [],
        "Where `volarb daily` sends alerts: any of email (the [email] section), push "
        "(apprise URLs, extra `push`).",
    )
    apprise_urls_env: str = _f(
        "VOLARB_APPRISE_URLS",
        "Environment variable holding the apprise URLs, space or comma "
        "separated (tgram://, discord://, ntfy://, slack://, ...; they carry tokens, never "
        "in the file).",
    )
    expiry_days: int = _f(
        5, "SHORT_NEAR_EXPIRY event: a short option within this many calendar days of expiry.", 0, 365
    )
    state_file: str = _f(
        "volarb-alert-state.json",
        "File recording which alert was sent for which position on which "
        "day (each alert goes out once per day per position).",
    )
    outcomes_file: str = _f(
        "",
        "CSV of recorded expiry outcomes (underlying, kind, side, strike, expiry, outcome); "
        "empty: none recorded.",
    )


@dataclass(frozen=True)
class PlanConfig:
    market: MarketConfig = field(default_factory=MarketConfig)
    account: AccountConfig = field(default_factory=AccountConfig)
    allocation: AllocationConfig = field(default_factory=AllocationConfig)
    strikes: StrikesConfig = field(default_factory=StrikesConfig)
    reinvestment: tuple[ReinvestmentGroup, ...] = field(default_factory=lambda: _DEFAULT_PRIORITIES)
    hedge: HedgeConfig = field(default_factory=HedgeConfig)
    kelly: KellyConfig = field(default_factory=KellyConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    assignment: AssignmentConfig = field(default_factory=AssignmentConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    capital: CapitalConfig = field(default_factory=CapitalConfig)
    margin: MarginConfig = field(default_factory=MarginConfig)
    projection: ProjectionConfig = field(default_factory=ProjectionConfig)
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    rebalance: RebalanceConfig = field(default_factory=RebalanceConfig)
    data: DataConfig = field(default_factory=DataConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)

    def __post_init__(self) -> None:
        # One source of truth for the margin rules: [margin].  A legacy capital.* alias given
        # with a non-default value while the margin key is at its default is adopted; then the
        # aliases are set equal to the margin section so that old readers see the same numbers.
        m, d = self.margin, MarginConfig()
        adopt = {}
        for f in _ALIAS_FIELDS:
            target = f.metadata["alias"].split(".", 1)[1]
            value = getattr(self.capital, f.name)
            if value != f.default and getattr(m, target) == getattr(d, target):
                adopt[target] = value
        if adopt:
            m = dataclasses.replace(m, **adopt)
            object.__setattr__(self, "margin", m)
        mirror = {f.name: getattr(m, f.metadata["alias"].split(".", 1)[1]) for f in _ALIAS_FIELDS}
        if any(getattr(self.capital, k) != v for k, v in mirror.items()):
            object.__setattr__(self, "capital", dataclasses.replace(self.capital, **mirror))

    @property
    def valuation_date(self) -> _dt.date:
        """The market valuation date as a :class:`datetime.date`.

        ``"today"`` is the exchange's current date in its own time zone, moved back to the last
        trading session on a weekend or holiday (:func:`engine.data.calendar.session_on_or_before`).
        """
        if self.market.valuation_date.strip().lower() == TODAY:
            from engine.data.calendar import exchange_today, session_on_or_before

            ex = self.execution.exchange
            return session_on_or_before(exchange_today(ex), ex)
        return _dt.date.fromisoformat(self.market.valuation_date)

    def replace(self, **sections: Any) -> PlanConfig:
        """A copy with whole sections replaced, or ``section__key=value`` overrides.

        >>> default_config().replace(market__spot=3.5).market.spot
        3.5
        """
        data = config_to_dict(self)
        for key, value in sections.items():
            if "__" in key:
                sec, name = key.split("__", 1)
                data[sec][name] = value
            else:
                data[key] = config_to_dict_section(value)
                if isinstance(value, CapitalConfig):  # keep only legacy aliases the caller set
                    for f in _ALIAS_FIELDS:
                        if data[key][f.name] == f.default:
                            del data[key][f.name]
        return config_from_dict(data, source="<replace>")


_SECTION_CLASSES = {
    "market": MarketConfig,
    "account": AccountConfig,
    "allocation": AllocationConfig,
    "strikes": StrikesConfig,
    "hedge": HedgeConfig,
    "kelly": KellyConfig,
    "risk": RiskConfig,
    "assignment": AssignmentConfig,
    "execution": ExecutionConfig,
    "capital": CapitalConfig,
    "margin": MarginConfig,
    "projection": ProjectionConfig,
    "simulation": SimulationConfig,
    "email": EmailConfig,
    "rebalance": RebalanceConfig,
    "data": DataConfig,
    "alerts": AlertsConfig,
}
_ALIAS_FIELDS = tuple(f for f in dataclasses.fields(CapitalConfig) if f.metadata.get("alias"))


def default_config() -> PlanConfig:
    """The built-in example: every value as in the user's plan.

    >>> default_config().account.monthly_addition
    4000.0
    """
    return PlanConfig()


def _range_text(meta: dict) -> str:
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    lo, hi = meta.get("min"), meta.get("max")
    if lo is None and hi is None:
        return "any value"
    lo_txt = "" if lo is None else (f"> {lo:g}" if meta.get("lo_open") else f">= {lo:g}")
    hi_txt = "" if hi is None else f"<= {hi:g}"
    return " and ".join(x for x in (lo_txt, hi_txt) if x)


def _check_value(value: Any, ftype: Any, meta: dict, where: str) -> Any:
    tname = ftype if isinstance(ftype, str) else getattr(ftype, "__name__", str(ftype))
    if tname.startswith("tuple[float"):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list of numbers, got {value!r}")
        return tuple(_check_value(v, "float", meta, f"{where}[{i}]") for i, v in enumerate(value))
    if tname.startswith("tuple[str"):
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        return tuple(value)
    if tname == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tname == "str":
        if isinstance(value, _dt.date):
            value = value.isoformat()
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(f"{where}: must be {_range_text(meta)}, got {value!r}")
        return value
    if tname == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    elif tname == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    lo, hi = meta.get("min"), meta.get("max")
    if (lo is not None and (value < lo or (meta.get("lo_open") and value == lo))) or (
        hi is not None and value > hi
    ):
        raise ConfigError(f"{where}: must be {_range_text(meta)}, got {value!r}")
    return value


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table of keys, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(fields)})")
    kwargs = {}
    for name, value in data.items():
        f = fields[name]
        key = f"{where}.{name}"
        if cls is HedgeConfig and name == "ladder":
            kwargs[name] = _build_list(HedgeRung, value, key)
        else:
            kwargs[name] = _check_value(value, f.type, dict(f.metadata), key)
    return cls(**kwargs)


def _build_list(cls: type, value: Any, where: str) -> tuple:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: expected a non-empty list of tables ([[{where.split(': ')[-1]}]])")
    return tuple(_build(cls, item, f"{where}[{i}]") for i, item in enumerate(value))


def _cross_checks(cfg: PlanConfig, src: str) -> None:
    s = cfg.strikes
    if len(s.strikes) != len(s.weights):
        raise ConfigError(
            f"{src}: strikes.strikes has {len(s.strikes)} entries but strikes.weights has {len(s.weights)}; give one weight per strike"
        )
    if abs(sum(s.weights) - 1.0) > 1e-9:
        raise ConfigError(f"{src}: strikes.weights must sum to 1, they sum to {sum(s.weights):.6g}")
    if len(set(s.strikes)) != len(s.strikes):
        raise ConfigError(f"{src}: strikes.strikes has a repeated strike")
    total = sum(g.share for g in cfg.reinvestment)
    if abs(total - 1.0) > 1e-9:
        raise ConfigError(f"{src}: reinvestment shares must sum to 1, they sum to {total:.6g}")
    total = sum(r.share for r in cfg.hedge.ladder)
    if abs(total - 1.0) > 1e-9:
        raise ConfigError(f"{src}: hedge.ladder shares must sum to 1, they sum to {total:.6g}")
    a = cfg.assignment
    if not a.excellent_basis <= a.good_basis <= a.fair_basis:
        raise ConfigError(
            f"{src}: assignment thresholds must satisfy excellent_basis <= good_basis <= fair_basis"
        )
    bad = [a for a in cfg.rebalance.hold_on_alerts if a not in _HOLDABLE_ALERTS]
    if bad:
        raise ConfigError(
            f"{src}: rebalance.hold_on_alerts: unknown alert {bad[0]!r} (allowed: {', '.join(_HOLDABLE_ALERTS)})"
        )
    for key, text in (("market.valuation_date", cfg.market.valuation_date),):
        if text.strip().lower() == TODAY:
            continue
        try:
            _dt.date.fromisoformat(text)
        except ValueError:
            raise ConfigError(f'{src}: {key}: expected a date YYYY-MM-DD or "today", got {text!r}') from None
    if not re.fullmatch(r"[A-Z0-9.]{1,6}", cfg.market.underlying.strip().upper()):
        raise ConfigError(
            f"{src}: market.underlying: expected a ticker of 1-6 letters or digits (an OCC option "
            f"root), got {cfg.market.underlying!r}"
        )
    bad = [c for c in cfg.alerts.channels if c not in ALERT_CHANNELS]
    if bad:
        raise ConfigError(
            f"{src}: alerts.channels: unknown channel {bad[0]!r} (allowed: {', '.join(ALERT_CHANNELS)})"
        )
    try:
        _dt.date.fromisoformat(cfg.projection.start_month + "-01")
    except ValueError:
        raise ConfigError(
            f"{src}: projection.start_month: expected YYYY-MM, got {cfg.projection.start_month!r}"
        ) from None
    for key in ("morning_window", "afternoon_window"):
        text = getattr(cfg.execution, key)
        try:
            a_, b_ = text.split("-")
            t0, t1 = _dt.time.fromisoformat(a_.strip()), _dt.time.fromisoformat(b_.strip())
            if t0 >= t1:
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"{src}: execution.{key}: expected HH:MM-HH:MM with start before end, got {text!r}"
            ) from None


def _map_legacy_aliases(data: dict, source: str) -> dict:
    """Move legacy ``capital.*`` margin keys to their ``margin.*`` key (one source of truth)."""
    cap = data.get("capital")
    if not isinstance(cap, dict) or not any(f.name in cap for f in _ALIAS_FIELDS):
        return data
    data = dict(data)
    cap = dict(cap)
    margin = data.get("margin", {})
    margin = dict(margin) if isinstance(margin, dict) else margin
    for f in _ALIAS_FIELDS:
        if f.name not in cap:
            continue
        value = cap.pop(f.name)
        target = f.metadata["alias"].split(".", 1)[1]
        if isinstance(margin, dict):
            if target in margin and margin[target] != value:
                raise ConfigError(
                    f"{source}: capital.{f.name} ({value!r}) is a legacy alias of margin.{target} "
                    f"({margin[target]!r}); give one of them"
                )
            margin[target] = value
    data["capital"], data["margin"] = cap, margin
    return data


def config_from_dict(data: dict, source: str = "<config>") -> PlanConfig:
    """Build and validate a :class:`PlanConfig` from nested dicts (missing keys take defaults).

    Raises
    ------
    ConfigError
        Naming ``source`` and the key: unknown key, wrong type, value out of range, or a
        cross-field rule (weights summing to 1, one weight per strike, ...).

    Examples
    --------
    >>> config_from_dict({"market": {"spot": 3.5}}).market.spot
    3.5
    >>> config_from_dict({"market": {"spot": -1}}, source="plan.toml")
    Traceback (most recent call last):
    ...
    engine.config.ConfigError: plan.toml: market.spot: must be > 0, got -1.0
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a table of sections")
    unknown = sorted(set(data) - set(_SECTION_CLASSES) - {"reinvestment"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown section {unknown[0]!r} (allowed: {', '.join(list(_SECTION_CLASSES) + ['reinvestment'])})"
        )
    data = _map_legacy_aliases(data, source)
    kwargs: dict[str, Any] = {}
    for name, cls in _SECTION_CLASSES.items():
        if name in data:
            kwargs[name] = _build(cls, data[name], f"{source}: {name}")
    if "reinvestment" in data:
        kwargs["reinvestment"] = _build_list(
            ReinvestmentGroup, data["reinvestment"], f"{source}: reinvestment"
        )
    cfg = PlanConfig(**kwargs)
    _cross_checks(cfg, source)
    return cfg


_BOOL_FORMULAS = {"=TRUE()": True, "=FALSE()": False, "=TRUE": True, "=FALSE": False}
_TRUE_WORDS = ("true", "yes", "y", "1")
_FALSE_WORDS = ("false", "no", "n", "0")


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _pair_number(value: Any) -> Any:
    """A number from a number or text ("0.30", "30%", "$1,000"); anything else is returned as is."""
    if type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    if isinstance(value, numbers.Real):
        return int(value) if isinstance(value, numbers.Integral) else float(value)
    if isinstance(value, str):
        t = value.strip().replace(",", "").replace("$", "").replace(" ", "")
        pct = t.endswith("%")
        try:
            v = float(t[:-1] if pct else t)
        except ValueError:
            return value
        return v / 100.0 if pct else v
    return value


def _pair_value(value: Any, ftype: Any, base: Any) -> Any:
    """A cell value converted to the type of its config field (bad values pass through unchanged,
    so that :func:`config_from_dict` refuses them with its message)."""
    tname = ftype if isinstance(ftype, str) else getattr(ftype, "__name__", str(ftype))
    if tname.startswith("tuple[float"):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            items = [items]
        return [_pair_number(v.strip() if isinstance(v, str) else v) for v in items]
    if tname.startswith("tuple[str"):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            return value
        return [v.strip() if isinstance(v, str) else v for v in items if not _is_blank(v)]
    if tname == "bool":
        if type(value).__name__ in ("bool", "bool_"):
            return bool(value)
        if isinstance(value, str) and value.strip().upper().replace(" ", "") in _BOOL_FORMULAS:
            return _BOOL_FORMULAS[value.strip().upper().replace(" ", "")]  # LibreOffice saves TRUE as =TRUE()
        if isinstance(value, numbers.Real) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS + _FALSE_WORDS:
            return value.strip().lower() in _TRUE_WORDS
        return value
    if tname == "str":
        if isinstance(value, (_dt.date, _dt.datetime)):
            text = value.isoformat()[:10]
            return text[:7] if re.fullmatch(r"\d{4}-\d{2}", str(base)) else text  # YYYY-MM keys
        if isinstance(value, numbers.Real) and type(value).__name__ not in ("bool", "bool_"):
            x = float(value)
            if re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", str(base)) and x.is_integer() and 1 <= x < 2958466:
                # a date key whose cell lost its date format: an Excel serial (1 = 1900-01-01)
                text = (_dt.date(1899, 12, 30) + _dt.timedelta(days=int(x))).isoformat()
                return text[:7] if re.fullmatch(r"\d{4}-\d{2}", str(base)) else text
            return str(int(x)) if x.is_integer() else str(x)
        return value.strip() if isinstance(value, str) else value
    if tname in ("int", "float"):
        return _pair_number(value)
    return value


def _pair_table(cls: type, value: Any, base: list) -> Any:
    """A list-of-tables key (``hedge.ladder``, ``reinvestment``): items as dicts or dataclasses."""
    if not isinstance(value, (list, tuple)):
        return value
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out = []
    for item in value:
        if dataclasses.is_dataclass(item):
            item = config_to_dict_section(item)
        if isinstance(item, dict):
            item = {
                k: (_pair_value(v, fields[k].type, None) if k in fields and not _is_blank(v) else v)
                for k, v in item.items()
            }
        out.append(item)
    return out


def config_from_pairs(pairs: Any, source: str = "<cells>", base: PlanConfig | None = None) -> PlanConfig:
    """Build a :class:`PlanConfig` from ``(key, value)`` pairs, as on the Inputs sheet.

    Each key is a dotted config key as in the Inputs sheet's "Config key" column
    (``"hedge.cap"``, ``"capital.model"``); the value replaces that key of ``base`` (default
    :func:`default_config`).  Values are converted to the field's type first: numbers from text
    (``"0.30"``, ``"30%"``, ``"$50,000"``), ``TRUE``/``FALSE`` (also Excel booleans, 1/0,
    "yes"/"no" and LibreOffice's ``=TRUE()``/``=FALSE()``), dates (or Excel date serials, for a
    date key) to ``YYYY-MM-DD`` text, and comma-separated text or a list for a list key
    (``"strikes.strikes"``: ``"2, 2.5, 3, 4, 5"``).  ``hedge.ladder`` and ``reinvestment`` take a
    list of tables (dicts).  A blank value (``None`` or empty text) keeps the base value.  The
    result is validated by :func:`config_from_dict`, so every rule applies, including the
    cross-field ones (one weight per strike, weights summing to 1, ...).

    Parameters
    ----------
    pairs : iterable of (str, object)
        Config key and cell value.
    source : str
        Where the pairs come from, first in every error message (e.g. ``"cell range ConfigTable"``).
    base : PlanConfig, optional
        The config whose values the pairs replace (default: the plan's defaults).

    Returns
    -------
    PlanConfig

    Raises
    ------
    ConfigError
        Naming ``source`` and the key: an unknown or repeated key, a value of the wrong type or
        out of range, or a broken cross-field rule.

    Examples
    --------
    >>> cfg = config_from_pairs([("hedge.cap", "30%"), ("capital.model", "cash_secured"),
    ...                          ("hedge.use_dynamic_ratio", "TRUE"), ("market.spot", None)])
    >>> cfg.hedge.cap, cfg.capital.model, cfg.hedge.use_dynamic_ratio, cfg.market.spot
    (0.3, 'cash_secured', True, 3.15)
    >>> config_from_pairs([("strikes.strikes", "2, 3"), ("strikes.weights", [0.5, 0.5])]).strikes.strikes
    (2.0, 3.0)
    >>> c = config_from_pairs([("strikes.use_monthly_expiry", "=FALSE()"), ("market.valuation_date", 45927)])
    >>> c.strikes.use_monthly_expiry, c.market.valuation_date
    (False, '2025-09-27')
    >>> config_from_pairs([("hedge.cap", 1.5)], source="cfg")
    Traceback (most recent call last):
    ...
    engine.config.ConfigError: cfg: hedge.cap: must be >= 0 and <= 1, got 1.5
    >>> config_from_pairs([("hedge.capp", 0.3)], source="cfg")
    Traceback (most recent call last):
    ...
    engine.config.ConfigError: cfg: unknown config key 'hedge.capp' (hedge has: base_ratio, iv_percentile_threshold, iv_multiplier, squeeze_threshold, squeeze_multiplier, size_threshold, size_multiplier, cap, use_dynamic_ratio, ladder)
    """
    data = config_to_dict(base if base is not None else default_config())
    seen: set[str] = set()
    for pair in pairs:
        try:
            key, value = pair
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: expected (key, value) pairs, got {pair!r}") from None
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"{source}: config key must be text such as 'hedge.cap', got {key!r}")
        key = key.strip()
        if key in seen:
            raise ConfigError(f"{source}: config key {key!r} is given twice")
        seen.add(key)
        if key == "reinvestment":
            if not _is_blank(value):
                data["reinvestment"] = _pair_table(ReinvestmentGroup, value, data["reinvestment"])
            continue
        sec, _, name = key.partition(".")
        cls = _SECTION_CLASSES.get(sec)
        if cls is None:
            raise ConfigError(
                f"{source}: unknown config key {key!r} (sections: "
                f"{', '.join(list(_SECTION_CLASSES) + ['reinvestment'])})"
            )
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if name not in fields:
            raise ConfigError(f"{source}: unknown config key {key!r} ({sec} has: {', '.join(fields)})")
        if _is_blank(value):
            continue
        if cls is HedgeConfig and name == "ladder":
            data[sec][name] = _pair_table(HedgeRung, value, data[sec][name])
        elif fields[name].metadata.get("alias"):  # legacy capital.* alias: set the margin key
            target = fields[name].metadata["alias"].split(".", 1)[1]
            data["margin"][target] = _pair_value(value, fields[name].type, data["margin"][target])
        else:
            data[sec][name] = _pair_value(value, fields[name].type, data[sec][name])
    return config_from_dict(data, source=source)


def load_config(path: str | Path) -> PlanConfig:
    """Read and validate a TOML plan config; missing keys take the plan's defaults.

    One exception: a file without ``market.valuation_date`` is valued ``"today"`` (a config the
    trader keeps is for today's book); the built-in example (:func:`default_config`) keeps the
    plan's 2025-09-27.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML (with line and column), or breaks a rule.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    market = data.get("market")
    if isinstance(market, dict) and "valuation_date" not in market:
        data["market"] = {**market, "valuation_date": TODAY}
    elif market is None:
        data["market"] = {"valuation_date": TODAY}
    return config_from_dict(data, source=str(path))


def config_to_dict_section(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: config_to_dict_section(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, tuple):
        return [config_to_dict_section(v) for v in value]
    return value


def config_to_dict(cfg: PlanConfig) -> dict:
    """Nested plain dicts/lists (TOML-shaped) of a config; round-trips through config_from_dict."""
    out = {f.name: config_to_dict_section(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    for f in _ALIAS_FIELDS:  # legacy aliases of [margin] keys: written once, under margin
        out["capital"].pop(f.name, None)
    return out


def config_reference() -> list[dict[str, str]]:
    """One row per config key: key, default, allowed range and meaning (for the README)."""
    rows = []
    defaults = config_to_dict(default_config())
    for sec, cls in list(_SECTION_CLASSES.items()) + [("reinvestment", ReinvestmentGroup)]:
        for f in dataclasses.fields(cls):
            if f.metadata.get("alias"):
                continue
            if sec == "hedge" and f.name == "ladder":
                for g in dataclasses.fields(HedgeRung):
                    rows.append(
                        {
                            "key": f"hedge.ladder[].{g.name}",
                            "default": ", ".join(str(r[g.name]) for r in defaults["hedge"]["ladder"]),
                            "allowed": _range_text(dict(g.metadata)),
                            "meaning": g.metadata["doc"],
                        }
                    )
                continue
            if sec == "reinvestment":
                default = ", ".join(str(r[f.name]) for r in defaults["reinvestment"])
                key = f"reinvestment[].{f.name}"
            else:
                default = defaults[sec][f.name]
                key = f"{sec}.{f.name}"
            rows.append(
                {
                    "key": key,
                    "default": str(default),
                    "allowed": _range_text(dict(f.metadata)),
                    "meaning": f.metadata.get("doc", ""),
                }
            )
    return rows


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def config_to_toml(cfg: PlanConfig | None = None, comments: bool = True) -> str:
    """The config as TOML text that :func:`load_config` reads back to an equal config.

    With ``comments`` each key carries its documentation, so the output of
    ``config_to_toml(default_config())`` is a complete, commented example file.

    >>> cfg = default_config().replace(market__spot=3.5)
    >>> config_from_dict(tomllib.loads(config_to_toml(cfg))) == cfg
    True
    """
    cfg = cfg or default_config()
    data = config_to_dict(cfg)
    out: list[str] = ["# volarb plan config: every key is optional and defaults to the plan's value."]

    def emit_table(header: str, cls: type, values: dict) -> None:
        out.append("")
        out.append(header)
        for f in dataclasses.fields(cls):
            if (cls is HedgeConfig and f.name == "ladder") or f.metadata.get("alias"):
                continue
            if comments and f.metadata.get("doc"):
                out.append(f"# {f.metadata['doc']} Allowed: {_range_text(dict(f.metadata))}.")
            out.append(f"{f.name} = {_toml_value(values[f.name])}")

    for name, cls in _SECTION_CLASSES.items():
        emit_table(f"[{name}]", cls, data[name])
        if name == "hedge":
            for rung in data["hedge"]["ladder"]:
                emit_table("[[hedge.ladder]]", HedgeRung, rung)
    for group in data["reinvestment"]:
        emit_table("[[reinvestment]]", ReinvestmentGroup, group)
    return "\n".join(out) + "\n"
