"""The plan's daily risk check: portfolio Greeks, VaR, and every alert with its threshold.

Alerts (names as in the plan; thresholds from ``config.risk``; PV = portfolio value, the
account's net liquidation value):

=======================  ==========================================================  =========
alert                    value                                                       alert if
=======================  ==========================================================  =========
HIGH_DELTA_EXPOSURE      ``|sum delta_dollars|`` ($, options and shares)              > 70% PV
VAR_LIMIT_BREACH         VaR at ``var_confidence`` over ``var_horizon_days`` ($)      > 5% PV
CONCENTRATION_RISK       largest strike obligation ($), see below                    > 40% PV
DAILY_PNL_ALERT          ``PV - PV_yesterday`` ($)                                    beyond +-5% of PV_yesterday
ASSIGNMENT_RISK          highest probability ITM of a short option within 3 trading  > 80%
                         days of its expiry (expiring today included: ITM is 1)
LOW_IV_ENVIRONMENT       IV percentile (from an IV history)                          < 30
BUYING_POWER_EXCEEDED    initial requirement net of the positions' value ($,         > PV
                         :mod:`engine.plan.account`; = buying power below 0)
=======================  ==========================================================  =========

**Buying power** (BUYING_POWER_EXCEEDED) is on one basis (:mod:`engine.plan.account`): the
requirement *net of the positions' value* is compared with net liquidation value PV, which
is the same test as the full requirement against equity with loan value (EWL = cash + loan
value positions): buying power (available funds) ``EWL - full initial requirement = PV -
net initial requirement`` is below 0.  The option value is never counted twice.

**Strike obligation** (CONCENTRATION_RISK): for the short puts at one strike, the cash needed
if all of them were assigned, ``strike x 100 x contracts`` (summed over expiries), the
``obligation`` column of :func:`engine.risk.book.mark_book`.

Status is ``"ALERT"``, ``"OK"``, or ``"N/A"`` when an input is missing (no yesterday's value,
no IV history); the detail column says what was used.

Lots past expiry (expiry before the valuation date) are left out of every figure: Greeks,
VaR, concentration and all the alerts (:func:`engine.risk.expiry.split_expired`; they are
listed with what to do by :func:`engine.risk.expiry.expiry_actions`).

References
----------
Hull, *Risk Management and Financial Institutions* (2018), ch. 12 (VaR limits), ch. 8 (Greeks
of a portfolio).  FINRA Rule 4210 (margin requirements).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np

from engine._validate import VolarbInputError

__all__ = [
    "ALERT_NAMES",
    "RiskError",
    "portfolio_greeks",
    "strike_obligations",
    "daily_risk_check",
    "risk_report",
]

ALERT_NAMES = (
    "HIGH_DELTA_EXPOSURE",
    "VAR_LIMIT_BREACH",
    "CONCENTRATION_RISK",
    "DAILY_PNL_ALERT",
    "ASSIGNMENT_RISK",
    "LOW_IV_ENVIRONMENT",
    "BUYING_POWER_EXCEEDED",
)
_GREEK_COLS = ("delta_shares", "delta_dollars", "gamma", "theta_day", "vega_point", "rho_point")


class RiskError(VolarbInputError):
    """Bad input to the risk check (message names the argument and the rule)."""


def portfolio_greeks(marked, shares: float = 0.0, spot: float | None = None) -> dict:
    """Total position Greeks of a marked book (signed, scaled by contracts x multiplier).

    Parameters
    ----------
    marked : pandas.DataFrame
        Output of :func:`engine.risk.book.mark_book` (columns ``delta_shares``, ``delta_dollars``,
        ``gamma``, ``theta_day``, ``vega_point`` and optionally ``rho_point``, ``value``,
        ``obligation``, ``margin``).
    shares : float
        Shares of the underlying held (adds ``shares`` to delta and ``shares x spot`` to dollar
        delta).
    spot : float, optional
        Needed when ``shares`` is not 0.

    Returns
    -------
    dict
        ``delta_shares`` (shares), ``delta_dollars`` ($ per 100% move: delta x spot),
        ``gamma`` (shares per $), ``theta_day`` ($/calendar day), ``vega_point`` ($/vol point),
        ``rho_point`` ($/rate point), ``value`` ($), ``obligation`` ($), ``margin`` ($),
        ``positions`` (rows).  Floats (JSON-ready).

    Examples
    --------
    >>> import pandas as pd
    >>> book = pd.DataFrame({"delta_shares": [30.0, -10.0], "delta_dollars": [94.5, -31.5],
    ...                      "gamma": [-5.0, 1.0], "theta_day": [2.0, -0.5], "vega_point": [-3.0, 1.0]})
    >>> portfolio_greeks(book)["delta_shares"], portfolio_greeks(book, shares=100, spot=3.15)["delta_dollars"]
    (20.0, 378.0)
    """
    if shares and spot is None:
        raise RiskError("portfolio_greeks: spot is needed when shares is not 0")
    out: dict[str, Any] = {}
    for col in _GREEK_COLS + ("value", "obligation", "margin"):
        out[col] = float(np.sum(marked[col])) if col in marked else 0.0
    out["delta_shares"] += float(shares)
    out["delta_dollars"] += float(shares) * (spot or 0.0)
    out["value"] += float(shares) * (spot or 0.0)
    out["positions"] = int(len(marked))
    return out


def strike_obligations(marked):
    """Obligation ($) by strike of the short puts: ``strike x multiplier x contracts``.

    Returns
    -------
    pandas.Series
        Indexed by strike, sorted; empty when there are no short puts.

    Examples
    --------
    >>> import pandas as pd
    >>> book = pd.DataFrame({"kind": ["put", "put", "call"], "side": ["short", "short", "long"],
    ...                      "strike": [2.5, 2.5, 5.0], "contracts": [5, 17, 1]})
    >>> strike_obligations(book).to_dict()
    {2.5: 5500.0}
    """
    import pandas as pd

    if len(marked) == 0:
        return pd.Series(dtype=float)
    sp = (marked["kind"].astype(str).str.lower() == "put") & (
        marked["side"].astype(str).str.lower() == "short"
    )
    if "obligation" in marked:
        ob = marked.loc[sp, "obligation"].astype(float)
    else:
        mult = marked.loc[sp, "multiplier"] if "multiplier" in marked else 100.0
        ob = marked.loc[sp, "strike"].astype(float) * mult * marked.loc[sp, "contracts"].astype(float)
    return ob.groupby(marked.loc[sp, "strike"].astype(float)).sum().sort_index()


def _trading_days_until(valuation: _dt.date, expiry: _dt.date, exchange: str) -> int:
    """Trading sessions after the valuation date up to and including expiry (0 if expired)."""
    if expiry <= valuation:
        return 0
    try:
        from engine.data.calendar import trading_days

        return len(trading_days(valuation + _dt.timedelta(days=1), expiry, exchange))
    except (ImportError, VolarbInputError):
        return int(np.busday_count(valuation + _dt.timedelta(days=1), expiry + _dt.timedelta(days=1)))


def _row(alert: str, value: float, threshold: float, status: str, detail: str) -> dict:
    return {"alert": alert, "value": value, "threshold": threshold, "status": status, "detail": detail}


def daily_risk_check(
    positions,
    config,
    portfolio_value: float | None = None,
    *,
    marked=None,
    var_result: dict | None = None,
    previous_value: float | None = None,
    iv_history=None,
    shares: float = 0.0,
    buying_power_used: float | None = None,
    valuation_date: _dt.date | None = None,
    price_history=None,
    contribution: float = 0.0,
):
    """Every alert of the plan with its value, threshold and status.

    Parameters
    ----------
    positions : pandas.DataFrame
        Positions table (:data:`engine.data.positions.POSITION_COLUMNS`).
    config : PlanConfig
        Thresholds (``risk``), market data and capital model.
    portfolio_value : float, optional
        Net liquidation value PV, $ (default ``config.account.starting_value``).
    marked : pandas.DataFrame, optional
        ``mark_book(positions, config)`` if already computed.
    var_result : dict, optional
        A :func:`engine.risk.var.value_at_risk` result (otherwise computed with the config's method).
    previous_value : float, optional
        Yesterday's PV, $; without it DAILY_PNL_ALERT is "N/A".
    contribution : float
        Money deposited (+) or withdrawn (-) since yesterday, $: the daily P&L is
        ``PV - previous_value - contribution``, so the plan's $4,000 monthly deposit is not a
        +105% "gain" that trips the alert.
    iv_history : path, DataFrame or array, optional
        IV history (``date, iv``); without it LOW_IV_ENVIRONMENT is "N/A".
    shares : float
        Shares of the underlying held (delta and VaR include them).
    buying_power_used : float, optional
        Broker-reported margin in use, $, *net of the positions' value* (the basis compared
        with PV); default: the account model's initial requirement net of value
        (:func:`engine.plan.account.account_state`).
    price_history : path or DataFrame, optional
        Daily closes, needed when ``config.risk.var_method == "historical"``.

    Returns
    -------
    pandas.DataFrame
        One row per alert in :data:`ALERT_NAMES` order; columns ``alert``, ``value``,
        ``threshold``, ``status`` ("OK"/"ALERT"/"N/A") and ``detail``.

    Examples
    --------
    >>> from engine.config import default_config
    >>> from engine.data.positions import example_positions
    >>> chk = daily_risk_check(example_positions(), default_config())
    >>> chk["alert"].tolist()[:3]
    ['HIGH_DELTA_EXPOSURE', 'VAR_LIMIT_BREACH', 'CONCENTRATION_RISK']
    >>> chk.set_index("alert").loc["CONCENTRATION_RISK", "status"]
    'ALERT'
    """
    import pandas as pd

    from engine.data.ivhistory import iv_rank_percentile, read_iv_history
    from engine.risk.var import value_at_risk

    rc = config.risk
    pv = float(config.account.starting_value if portfolio_value is None else portfolio_value)
    if not math.isfinite(pv) or pv <= 0:
        raise RiskError(f"portfolio_value must be a positive number of $, got {portfolio_value!r}")
    vd = valuation_date or config.valuation_date
    if marked is None:
        from engine.risk.book import mark_book

        marked = mark_book(positions, config, valuation_date=vd)
    from engine.risk.expiry import split_expired

    # lots past expiry are out of every figure below (engine.risk.expiry lists them instead)
    positions, marked, _ = split_expired(positions, vd, marked)
    spot = float(config.market.spot)
    g = portfolio_greeks(marked, shares=shares, spot=spot)
    rows = []

    dd = abs(g["delta_dollars"])
    lim = rc.delta_limit * pv
    rows.append(
        _row(
            "HIGH_DELTA_EXPOSURE",
            dd,
            lim,
            "ALERT" if dd > lim else "OK",
            f"|dollar delta| {dd:,.0f} vs {rc.delta_limit:.0%} of PV {pv:,.0f} "
            f"(delta {g['delta_shares']:,.0f} shares x spot {spot:g})",
        )
    )

    if var_result is None:
        var_result = value_at_risk(positions, config, shares=shares, history=price_history, valuation_date=vd)
    var = float(var_result["var"])
    lim = rc.var_limit * pv
    rows.append(
        _row(
            "VAR_LIMIT_BREACH",
            var,
            lim,
            "ALERT" if var > lim else "OK",
            f"{var_result['confidence']:.0%} {var_result['horizon_days']}-day VaR "
            f"({var_result['method']}) {var:,.0f} vs {rc.var_limit:.0%} of PV",
        )
    )

    ob = strike_obligations(marked)
    lim = rc.concentration_limit * pv
    if ob.empty:
        rows.append(_row("CONCENTRATION_RISK", 0.0, lim, "OK", "no short puts"))
    else:
        k = float(ob.idxmax())
        val = float(ob.max())
        rows.append(
            _row(
                "CONCENTRATION_RISK",
                val,
                lim,
                "ALERT" if val > lim else "OK",
                f"obligation at ${k:g} (cash needed if all its short puts are assigned: "
                f"strike x 100 x contracts) {val:,.0f} vs {rc.concentration_limit:.0%} of PV",
            )
        )

    if previous_value is None:
        rows.append(
            _row(
                "DAILY_PNL_ALERT",
                float("nan"),
                float("nan"),
                "N/A",
                f"no previous portfolio value given (limit: +-{rc.daily_pnl_limit:.0%} of it)",
            )
        )
    else:
        prev = float(previous_value)
        if not math.isfinite(prev) or prev <= 0:
            raise RiskError(f"previous_value must be a positive number of $, got {previous_value!r}")
        flow = float(contribution)
        if not math.isfinite(flow):
            raise RiskError(f"contribution must be a number of $, got {contribution!r}")
        pnl = pv - prev - flow
        lim = rc.daily_pnl_limit * prev
        net = f" net of {flow:+,.0f} deposited" if flow else ""
        rows.append(
            _row(
                "DAILY_PNL_ALERT",
                pnl,
                lim,
                "ALERT" if abs(pnl) > lim else "OK",
                f"daily P&L {pnl:+,.0f} ({pnl / prev:+.1%}){net} vs +-{rc.daily_pnl_limit:.0%} of {prev:,.0f}",
            )
        )

    short = (
        marked[(marked["side"].astype(str).str.lower() == "short") & (marked["kind"].astype(str) != "stock")]
        if len(marked)
        else marked
    )
    near = []
    measure = rc.assignment_measure if rc.assignment_measure in short.columns else "prob_itm"
    measure_text = {"prob_itm": "probability ITM", "prob_touch": "probability of touching the strike"}[
        measure
    ]
    for _, r in short.iterrows():
        exp = r["expiry"]
        exp = exp if isinstance(exp, _dt.date) else _dt.date.fromisoformat(str(exp))
        days = _trading_days_until(vd, exp, config.execution.exchange)
        # expiring today counts (0 trading days left): an in-the-money short is assigned tonight
        if exp >= vd and days <= rc.assignment_notice_days:
            near.append((float(r[measure]), r["kind"], float(r["strike"]), exp, days))
    if not near:
        rows.append(
            _row(
                "ASSIGNMENT_RISK",
                0.0,
                rc.assignment_probability,
                "OK",
                f"no short option expires within {rc.assignment_notice_days} trading days",
            )
        )
    else:
        p, kind, k, exp, days = max(near, key=lambda x: x[0])
        rows.append(
            _row(
                "ASSIGNMENT_RISK",
                p,
                rc.assignment_probability,
                "ALERT" if p > rc.assignment_probability else "OK",
                f"short {kind} ${k:g} expiring {exp} ({days} trading days): {measure_text} {p:.0%}",
            )
        )

    if iv_history is None:
        rows.append(
            _row(
                "LOW_IV_ENVIRONMENT",
                float("nan"),
                rc.iv_percentile_floor,
                "N/A",
                f"no IV history given (config market.iv_percentile={config.market.iv_percentile:g} "
                "is the plan's stated figure, not checked)",
            )
        )
    else:
        hist = iv_history
        if not isinstance(hist, np.ndarray) and not isinstance(hist, list):
            hist = read_iv_history(hist)
        r = iv_rank_percentile(hist, window=rc.iv_history_days)
        pct = r["iv_percentile"]
        if math.isnan(pct):
            rows.append(
                _row(
                    "LOW_IV_ENVIRONMENT",
                    pct,
                    rc.iv_percentile_floor,
                    "N/A",
                    f"IV history too short ({r['observations']} observations)",
                )
            )
        else:
            rows.append(
                _row(
                    "LOW_IV_ENVIRONMENT",
                    pct,
                    rc.iv_percentile_floor,
                    "ALERT" if pct < rc.iv_percentile_floor else "OK",
                    f"IV {r['current_iv']:.0%} at percentile {pct:.0f} (rank {r['iv_rank']:.0f}) "
                    f"of {r['observations']} days",
                )
            )

    from engine.plan.account import REQUIREMENT_COLUMNS, account_state

    if buying_power_used is None and not all(c in marked.columns for c in REQUIREMENT_COLUMNS):
        # a marked book from elsewhere without the account columns: its margin column is taken
        # as the requirement net of the positions' value
        bp = float(g["margin"])
        detail = (
            f"margin column {bp:,.0f} (taken as net of the positions' value) vs net liquidation {pv:,.0f}"
        )
    elif buying_power_used is None:
        acct = account_state(positions, config, net_liquidation=pv, marked=marked)
        bp = acct.initial_requirement_net
        detail = (
            f"initial requirement net of the positions' value {bp:,.0f} vs net liquidation {pv:,.0f} "
            f"({config.margin.account} account; full basis {acct.initial_requirement:,.0f} vs equity with "
            f"loan value {acct.equity_with_loan_value:,.0f}); buying power (available funds) {acct.buying_power:,.0f}"
        )
    else:
        bp = float(buying_power_used)
        detail = (
            f"margin in use {bp:,.0f} (as given, net of the positions' value) vs net liquidation {pv:,.0f}"
        )
    rows.append(_row("BUYING_POWER_EXCEEDED", bp, pv, "ALERT" if bp > pv else "OK", detail))
    return pd.DataFrame(rows, columns=["alert", "value", "threshold", "status", "detail"])


def _json_float(x: Any) -> Any:
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    return x


def risk_report(positions, config, portfolio_value: float | None = None, **kwargs) -> dict:
    """JSON-ready daily risk report: Greeks totals, VaR/ES and every alert.

    Parameters
    ----------
    positions, config, portfolio_value, **kwargs
        As :func:`daily_risk_check` (``previous_value``, ``iv_history``, ``shares``, ...).

    Returns
    -------
    dict
        ``valuation_date`` (ISO text), ``portfolio_value``, ``account`` (the
        :class:`engine.plan.account.AccountState` figures: net liquidation, equity with loan value,
        initial / maintenance requirement on the full and the net basis, excess liquidity,
        buying power), ``greeks`` (see
        :func:`portfolio_greeks`), ``var`` (the :func:`engine.risk.var.value_at_risk` dict),
        ``alerts`` (list of dicts alert/value/threshold/status/detail; NaN as ``None``),
        ``alerting`` (names with status ALERT), ``any_alert`` (bool) and ``expired_lots``
        (lots past expiry, left out of every figure).

    Examples
    --------
    >>> from engine.config import default_config
    >>> from engine.data.positions import example_positions
    >>> rep = risk_report(example_positions().query("kind == 'put'"), default_config())   # the 38 puts
    >>> sorted(rep)[:4]
    ['account', 'alerting', 'alerts', 'any_alert']
    >>> round(rep["account"]["buying_power"], 6), round(rep["account"]["maintenance_requirement_net"], 6)
    (2694.0, 1098.0)
    """
    from engine.risk.book import mark_book
    from engine.risk.expiry import split_expired
    from engine.risk.var import value_at_risk

    vd = kwargs.get("valuation_date") or config.valuation_date
    marked = kwargs.pop("marked", None)
    if marked is None:
        marked = mark_book(positions, config, valuation_date=vd)
    positions, marked, expired = split_expired(positions, vd, marked)
    var_result = kwargs.pop("var_result", None)
    if var_result is None:
        var_result = value_at_risk(
            positions,
            config,
            shares=kwargs.get("shares", 0.0),
            history=kwargs.get("price_history"),
            valuation_date=vd,
        )
    chk = daily_risk_check(positions, config, portfolio_value, marked=marked, var_result=var_result, **kwargs)
    alerts = [{k: _json_float(v) for k, v in rec.items()} for rec in chk.to_dict("records")]
    pv = float(config.account.starting_value if portfolio_value is None else portfolio_value)
    from engine.plan.account import REQUIREMENT_COLUMNS, account_state

    acct = None
    if all(c in marked.columns for c in REQUIREMENT_COLUMNS):
        acct = {
            k: _json_float(v)
            for k, v in account_state(positions, config, net_liquidation=pv, marked=marked).summary().items()
        }
    return {
        "valuation_date": vd.isoformat(),
        "portfolio_value": pv,
        "account": acct,
        "greeks": portfolio_greeks(marked, shares=kwargs.get("shares", 0.0), spot=config.market.spot),
        "var": {k: _json_float(v) for k, v in var_result.items()},
        "alerts": alerts,
        "alerting": [a["alert"] for a in alerts if a["status"] == "ALERT"],
        "any_alert": any(a["status"] == "ALERT" for a in alerts),
        "expired_lots": int(len(expired)),
    }
