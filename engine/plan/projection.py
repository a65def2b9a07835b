"""The plan's month-by-month projection, recomputed, and the audit of its printed figures.

:func:`project_plan` rebuilds the plan's growth table from its own rules; :data:`PLAN_PRINTED_TABLE`
holds the table as printed (months 1-3 from the text, 4-6 from its table); :func:`plan_discrepancies`
lists every printed figure next to the value its own formula gives.

How :func:`project_plan` works (each month m = 1..months)
---------------------------------------------------------
1. **Sale date** is the first day of the month (``projection.start_month`` + m - 1; the plan's
   "Month-Start: Begin new cycle").  New puts expire at :func:`engine.plan.allocation.put_expiry` of that
   date: the next monthly expiration at least ``strikes.min_dte`` days out when
   ``engine.data.calendar`` is available and ``strikes.use_monthly_expiry`` is on, otherwise
   ``strikes.dte`` calendar days later.  Every put is held to expiry, so each month's puts
   are gone before the next month's are sold (``contracts_sold`` is per month; the plan's
   running total ``cumulative_contracts`` = 38 existing + all sold so far is shown for
   comparison only).
2. **Premiums** are American put prices (:func:`engine.american_price`) at the config's spot,
   market vol, rate and dividend yield for that expiry; spot and vol stay at the config's
   values every month (a projection, not a simulation: see ``engine.risk.simulate``).
3. **Sizing**: the month's put budget is ``monthly_addition + (1 - call_share) * premium of the
   previous month`` (the plan's month-2 rule: $4,000 + 80% of $2,065 = $5,652; month 1 has
   only the addition).  The budget is split by the strike weights and turned into whole
   contracts under ``capital.model`` (:func:`engine.plan.allocation.allocate_strikes`, capital per
   contract net of the premium, the basis compared with net liquidation), capped by the
   account's buying power (``[margin]`` rules; with last month's puts expired it is the value at
   the sale plus the addition); ``margin_used`` is the sum of contracts x capital per contract
   under that model (<= the budget by construction).  Under ``"premium"`` (the plan's literal formula) the "margin" is the premium
   itself, so the premium income comes out close to the whole budget.
4. **Hedge**: ``call_hedge = premium_income * call_share`` (or :func:`engine.plan.hedge.hedge_ratio`
   of the portfolio when ``hedge.use_dynamic_ratio``); ``put_reinvestment`` is the rest and
   funds the next month's budget.  Calls are carried at cost (neither gain nor loss).
5. **Assignment loss** at expiry, by ``assumption``:

   * ``"worthless"`` - every put expires worthless: 0 (what the plan's table implicitly assumes);
   * ``"expected"`` - the risk-neutral expectation of the short puts' payoff at expiry under the
     pricing model: contracts x 100 x E^Q[(K - S_T)^+] = bs_put x exp(rT) (lognormal, market
     vol).  Under this measure the sold premium is fair, so income minus expected loss is
     roughly the American early-exercise premium less interest: close to 0;
   * ``"physical"`` - the same expectation under the physical measure of ``config.simulation``
     (lognormal with ``realized_vol`` and ``drift``, no jumps): the edge of selling implied vol
     above realized vol.

6. **Portfolio value** at month end = starting value + new capital + premium income -
   expected assignment loss (hedge carried at cost; cash earns nothing).  It becomes the next
   month's starting capital.  The plan instead adds the put reinvestment a second time in
   months 3, 4 and 6 (see :func:`plan_discrepancies`).

References
----------
Hull, J. C. (2018), *Options, Futures, and Other Derivatives*, 10th ed., sec. 15.8 (risk-neutral
expectation of a put payoff); the plan, "Projected Growth Trajectory".
"""

from __future__ import annotations

import datetime as _dt
import math

import numpy as np

from engine._validate import VolarbInputError
from engine.config import PlanConfig
from engine.plan.allocation import (
    PLAN_MONTH2_CONTRACTS,
    PLAN_PREMIUMS,
    allocate_strikes,
    put_expiry,
    strike_premiums,
)
from engine.plan.hedge import hedge_ratio, plan_month1_hedge
from engine.plan.kelly import kelly_limits
from engine.pricing.black import bs_price
from engine.units import days_to_years

__all__ = [
    "ASSUMPTIONS",
    "PLAN_EXISTING_CONTRACTS",
    "PLAN_PRINTED_TABLE",
    "project_plan",
    "plan_discrepancies",
]

ASSUMPTIONS = ("worthless", "expected", "physical")

#: Short puts the plan starts from (its position table: 10 + 22 + 2 + 2 + 2).
PLAN_EXISTING_CONTRACTS = 38


def _printed_table():
    import pandas as pd

    return pd.DataFrame(
        {
            "month": [1, 2, 3, 4, 5, 6],
            "starting_capital": [3792.0, 7857.0, 13542.0, 23698.0, 35326.0, 49862.0],
            "new_capital": [4000.0] * 6,
            "premium_income": [2065.0, 2825.0, 3420.0, 4238.0, 5298.0, 7479.0],
            "call_hedge": [413.0, 565.0, 684.0, 848.0, 1060.0, 1496.0],
            "put_reinvestment": [1652.0, 2260.0, 2736.0, 3390.0, 4238.0, 5983.0],
            "total_contracts": [54, 98, 140, 185, 235, 310],
            "portfolio_value": [7857.0, 13542.0, 23698.0, 35326.0, 49862.0, 67324.0],
        }
    )


#: The plan's growth table as printed: months 1-3 from its text, 4-6 from its table.
PLAN_PRINTED_TABLE = _printed_table()


def _month_start(start_month: str, offset: int) -> _dt.date:
    y, m = (int(x) for x in start_month.split("-"))
    m0 = y * 12 + (m - 1) + offset
    return _dt.date(m0 // 12, m0 % 12 + 1, 1)


def project_plan(config: PlanConfig, months: int | None = None, assumption: str = "worthless"):
    """Month-by-month projection of the plan from its own rules (see the module docstring).

    Parameters
    ----------
    config : PlanConfig
        Account, allocation, strikes, hedge, capital, market, simulation and projection sections.
    months : int, optional
        Number of months (default ``config.projection.months``).
    assumption : {"worthless", "expected", "physical"}
        Assignment-loss assumption.

    Returns
    -------
    pandas.DataFrame
        One row per month: ``month``, ``sale_date``, ``expiry``, ``dte``, ``starting_capital``,
        ``new_capital``, ``put_budget``, ``premium_income``, ``hedge_share``, ``call_hedge``,
        ``put_reinvestment``, ``contracts_sold``, ``cumulative_contracts``, ``margin_used``,
        ``margin_share`` (margin / (starting + new capital)), ``obligation`` (strike x 100 x
        contracts, $), ``expected_assignment_loss``, ``portfolio_value`` (end of month), plus
        ``assumption`` and ``capital_model``.  All money in $.

    Raises
    ------
    VolarbInputError
        Unknown assumption; months < 1.

    Examples
    --------
    >>> from engine.config import default_config
    >>> cfg = default_config().replace(strikes__use_monthly_expiry=False)
    >>> df = project_plan(cfg, months=2)
    >>> float(df.loc[0, "put_budget"]), bool(df.loc[1, "put_budget"] == 4000 + 0.8 * df.loc[0, "premium_income"])
    (4000.0, True)
    """
    import pandas as pd

    if assumption not in ASSUMPTIONS:
        raise VolarbInputError(
            f"assumption must be one of {', '.join(map(repr, ASSUMPTIONS))}, got {assumption!r}"
        )
    n_months = config.projection.months if months is None else months
    if isinstance(n_months, bool) or not isinstance(n_months, (int, np.integer)) or n_months < 1:
        raise VolarbInputError(f"months must be a whole number >= 1, got {months!r}")
    mk, st, cap = config.market, config.strikes, config.capital
    mult = float(cap.contract_multiplier)
    value = float(config.account.starting_value)
    addition = float(config.account.monthly_addition)
    prev_income = 0.0
    cumulative = PLAN_EXISTING_CONTRACTS
    rows = []
    for m in range(1, int(n_months) + 1):
        sale = _month_start(config.projection.start_month, m - 1)
        expiry = put_expiry(config, sale)
        days = (expiry - sale).days
        t = days_to_years(days)
        prem = strike_premiums(config, st.strikes, expiry=expiry, valuation_date=sale)
        budget = addition + (1.0 - config.allocation.call_share) * prev_income
        # the month's puts are the only open positions (last month's expired): buying power is the
        # account's net liquidation value at the sale, value + addition (engine.plan.account)
        alloc = allocate_strikes(
            budget,
            st.strikes,
            st.weights,
            prem,
            mk.spot,
            cap.model,
            cap,
            buying_power=value + addition,
            margin=config.margin,
        )
        n = alloc["contracts"].to_numpy()
        income = float(alloc["expected_premium"].sum())
        if config.hedge.use_dynamic_ratio:
            share = hedge_ratio(value, mk.iv_percentile, mk.squeeze_probability, config.hedge)
        else:
            share = config.allocation.call_share
        call_hedge = income * share
        k = np.asarray(st.strikes, dtype=float)
        if assumption == "worthless":
            per_share_loss = np.zeros_like(k)
        elif assumption == "expected":
            per_share_loss = np.asarray(
                bs_price(mk.spot, k, t, mk.rate, mk.vol, "put", mk.dividend_yield)
            ) * math.exp(mk.rate * t)
        else:
            sim = config.simulation
            per_share_loss = np.asarray(
                bs_price(mk.spot, k, t, sim.drift, sim.realized_vol, "put", 0.0)
            ) * math.exp(sim.drift * t)
        loss = float(np.sum(n * per_share_loss * mult))
        margin = float(alloc["capital_used"].sum())
        cumulative += int(n.sum())
        end = value + addition + income - loss
        rows.append(
            {
                "month": m,
                "sale_date": sale,
                "expiry": expiry,
                "dte": days,
                "starting_capital": value,
                "new_capital": addition,
                "put_budget": budget,
                "premium_income": income,
                "hedge_share": share,
                "call_hedge": call_hedge,
                "put_reinvestment": income - call_hedge,
                "contracts_sold": int(n.sum()),
                "cumulative_contracts": cumulative,
                "margin_used": margin,
                "margin_share": margin / (value + addition) if value + addition > 0 else math.nan,
                "obligation": float(np.sum(n * k * mult)),
                "expected_assignment_loss": loss,
                "portfolio_value": end,
                "assumption": assumption,
                "capital_model": cap.model,
            }
        )
        value = end
        prev_income = income
    return pd.DataFrame(rows)


def _row(item, printed, computed, formula, note="", tol=0.5):
    if isinstance(printed, (int, float)) and isinstance(computed, (int, float)):
        agrees = abs(float(printed) - float(computed)) <= tol
    else:
        agrees = printed == computed
    return {
        "item": item,
        "printed": printed,
        "computed": computed,
        "formula": formula,
        "note": note,
        "status": "agrees" if agrees else "disagrees",
    }


def plan_discrepancies(config: PlanConfig, include_agreements: bool = True):
    """Every printed figure of the plan checked against its own formulas.

    Parameters
    ----------
    config : PlanConfig
        Kelly, hedge, market, allocation and strikes sections (the defaults are the plan's).
    include_agreements : bool
        Keep the rows that check out (``status == "agrees"``); False keeps only disagreements.

    Returns
    -------
    pandas.DataFrame
        ``item``, ``printed``, ``computed``, ``formula`` (the plan's own arithmetic), ``note``,
        ``status`` ("agrees" within $0.50 / rounding of the printed figure, else "disagrees").

    Examples
    --------
    >>> from engine.config import default_config
    >>> df = plan_discrepancies(default_config(), include_agreements=False)
    >>> row = df[df.item == "Full Kelly fraction"].iloc[0]
    >>> row.printed, round(row.computed, 4)
    (0.247, 0.8156)
    """
    import pandas as pd

    t = PLAN_PRINTED_TABLE
    kc, hc, mk = config.kelly, config.hedge, config.market
    rows = []
    # Kelly
    full = kelly_limits(kc.win_probability, kc.avg_win, kc.avg_loss, kc.fraction, kc.cap)["full_kelly"]
    rows.append(
        _row(
            "Full Kelly fraction",
            0.247,
            full,
            "p - (1-p)*avg_loss/avg_win = 0.892 - 0.108*0.087/0.123",
            "Fractional (x0.25) is 0.2039, so the 15% per-strike cap binds either way.",
            tol=5e-4,
        )
    )
    rows.append(
        _row(
            "Month-3 'kelly_optimal'",
            0.062,
            full * kc.fraction,
            "0.25 x full Kelly",
            "0.062 = 0.25 x 0.247 (a quarter of the wrong full Kelly), then multiplied by 0.25 again "
            "in risk_adjusted_sizing: fractional Kelly applied twice.",
            tol=5e-4,
        )
    )
    # hedge ratio
    hr = hedge_ratio(config.account.starting_value, mk.iv_percentile, mk.squeeze_probability, hc)
    rows.append(
        _row(
            "Hedge ratio for (3792, 99, 0.45)",
            0.34,
            hr,
            "min(0.20 x 1.3 x 1.5, 0.35) = min(0.39, 0.35)",
            "The plan prints '~34%'.",
            tol=5e-3,
        )
    )
    rows.append(
        _row("Hedge ratio comment after x1.3", 0.26, hc.base_ratio * hc.iv_multiplier, "0.20 x 1.3", tol=5e-4)
    )
    rows.append(
        _row(
            "Hedge strike 1.5x spot",
            4.75,
            1.5 * mk.spot,
            "1.5 x 3.15",
            "Exact 4.725 (prints as 4.73); $4.75 is neither exact nor a $0.50 listed strike ($4.50/$5.00).",
            tol=5e-3,
        )
    )
    rows.append(_row("Hedge strike 2x spot", 6.30, 2.0 * mk.spot, "2 x 3.15", tol=5e-3))
    rows.append(_row("Hedge strike 3x spot", 9.45, 3.0 * mk.spot, "3 x 3.15", tol=5e-3))
    # month-1 hedge block vs rule
    mh = plan_month1_hedge(config)
    pr = mh[mh.source == "printed"]
    rows.append(
        _row(
            "Month-1 hedge strikes",
            "7.50/10.00/15.00 (90/90/90 days)",
            "/".join(f"{x:.3f}" for x in (1.5 * mk.spot, 2 * mk.spot, 3 * mk.spot)) + " (90/120/150 days)",
            "1.5x/2x/3x spot, 90/120/150 days",
            f"Printed strikes are {'/'.join(f'{x:.2f}' for x in pr.moneyness)}x spot; budget split "
            f"{'/'.join(f'{c / 413:.0%}' for c in pr.cost)} vs 40/35/25%.",
        )
    )
    rows.append(
        _row(
            "Month-1 hedge cost ($413)",
            413.0,
            float(pr.model_cost.sum()),
            "model cost of 5x$7.50 + 3x$10 + 1x$15 calls, 90 days, American at market vol",
            "Printed $0.40/$0.50/$0.63 per share; the model gives "
            f"{'/'.join(f'${x:.2f}' for x in pr.model_price)}.  The $15 call is printed dearer per share "
            "than the $10 call, which no arbitrage-free price allows.",
            tol=0.5,
        )
    )
    # month 2 allocation
    budget2 = config.account.monthly_addition + (1 - config.allocation.call_share) * 2065.0
    rows.append(_row("Month-2 capital available", 5652.0, budget2, "4000 + 0.8 x 2065"))
    ks, ws = list(PLAN_PREMIUMS), [0.20, 0.35, 0.30, 0.10, 0.05]
    lit = allocate_strikes(budget2, ks, ws, list(PLAN_PREMIUMS.values()), mk.spot, model="premium")
    printed_alloc = {2.0: 1130.0, 2.5: 1978.0, 3.0: 1696.0, 4.0: 565.0, 5.0: 283.0}
    for r in lit.itertuples():
        rows.append(
            _row(
                f"Month-2 allocation ${r.strike:.2f}",
                printed_alloc[r.strike],
                r.capital,
                f"5652 x {r.weight:.2f}",
            )
        )
        rows.append(
            _row(
                f"Month-2 contracts ${r.strike:.2f}",
                PLAN_MONTH2_CONTRACTS[r.strike],
                int(r.contracts),
                f"int({r.capital:.1f} / ({r.premium:.2f} x 100))",
                "The plan's own formula and premium estimate ($0.70/$1.15/$1.60 month 1; "
                "$2.45/$3.36 from its $4/$5 position rows).",
                tol=0,
            )
        )
    prem2 = sum(PLAN_MONTH2_CONTRACTS[k] * PLAN_PREMIUMS[k] * 100 for k in ks)
    rows.append(
        _row(
            "Month-2 expected premium",
            2825.0,
            prem2,
            "sum of printed contracts x premium x 100",
            "16x70 + 15x115 + 10x160 + 2x245 + 1x336.  Under the literal formula premium collected "
            "is about the whole capital allocated.",
        )
    )
    rows.append(
        _row(
            "Month-2 contracts total",
            98,
            54 + sum(PLAN_MONTH2_CONTRACTS.values()),
            "54 + 16+15+10+2+1",
            tol=0,
        )
    )
    rows.append(
        _row("Month-1 contracts total", 54, PLAN_EXISTING_CONTRACTS + 8 + 5 + 3, "38 + 8 + 5 + 3", tol=0)
    )
    rows.append(_row("Month-1 new premium", 2065.0, 8 * 160 + 5 * 115 + 3 * 70, "8x160 + 5x115 + 3x70"))
    # month 3 capital conventions
    rows.append(
        _row(
            "Month-3 capital available (code)",
            6736.0,
            4000 + 0.8 * 2825,
            "4000 + 0.8 x month-2 premium 2825",
            "The text says $4,000 + $2,260 = $6,260 (month 2's reinvestment, the month-2 rule); "
            "the code block says 2736 + 4000 = $6,736 (month 3's own reinvestment).",
        )
    )
    rows.append(
        _row(
            "Month-3 call hedge ratio",
            0.25,
            684 / 3420,
            "684 / 3420",
            "Text: 'Increase to 25% due to position size'; its own figures keep 20%.",
            tol=5e-3,
        )
    )
    # the growth table
    for r in t.itertuples():
        rows.append(
            _row(
                f"Month {r.month} call hedge",
                r.call_hedge,
                r.premium_income * config.allocation.call_share,
                f"{r.premium_income:.0f} x 0.20",
            )
        )
        rows.append(
            _row(
                f"Month {r.month} put reinvestment",
                r.put_reinvestment,
                r.premium_income * (1 - config.allocation.call_share),
                f"{r.premium_income:.0f} x 0.80",
            )
        )
    for r in t.itertuples():
        simple = r.starting_capital + r.new_capital + r.premium_income
        double = simple + r.put_reinvestment
        if abs(double - r.portfolio_value) <= 0.5:
            note = "Printed = start + new + premium + put reinvestment: the reinvested 80% is counted twice."
        elif r.month == 5:
            note = f"Even the double-counting rule of months 3/4/6 gives {double:,.0f}; printed is $1,000 higher."
        elif r.month == 1:
            note = (
                "No sum of start, addition, premium and its 80/20 parts gives 7857; 9857 with the 9 misprinted "
                "as 7 is the nearest reading."
            )
        else:
            note = (
                f"No sum of start, addition, premium and its 80/20 parts gives {r.portfolio_value:,.0f} "
                f"(double-counting rule: {double:,.0f})."
            )
        rows.append(
            _row(
                f"Month {r.month} portfolio value",
                r.portfolio_value,
                simple,
                f"{r.starting_capital:.0f} + {r.new_capital:.0f} + {r.premium_income:.0f}",
                note,
            )
        )
    for m, pct in ((1, 107.0), (2, 72.0), (3, 75.0)):  # percent, as printed
        r = t.iloc[m - 1]
        rows.append(
            _row(
                f"Month {m} growth %",
                pct,
                100 * (r.portfolio_value / r.starting_capital - 1),
                f"100 x ({r.portfolio_value:.0f} / {r.starting_capital:.0f} - 1)",
                "Agrees with its own (wrong) values.",
                tol=0.5,
            )
        )
    mult = t.portfolio_value.iloc[-1] / t.starting_capital.iloc[0]
    rows.append(_row("Total growth %", 1675.0, 100 * (mult - 1), "100 x (67324 / 3792 - 1)", tol=0.5))
    rows.append(
        _row(
            "Total growth multiple",
            17.7,
            mult,
            "67324 / 3792",
            "17.754x: prints truncated to 17.7 (rounds to 17.8).",
            tol=0.06,
        )
    )
    rows.append(
        _row(
            "Conclusion growth multiple",
            15.8,
            mult,
            "67324 / 3792",
            "The conclusion's 15.8x contradicts its own 17.7x.",
            tol=0.06,
        )
    )
    rows.append(_row("Base capital", 27792.0, 3792 + 6 * 4000, "3792 + 6 x 4000"))
    # position table
    collected = {2.0: 600, 2.5: 2343, 3.0: 244, 4.0: 490, 5.0: 672}
    value = {2.0: 730, 2.5: 2640, 3.0: 326, 4.0: 556, 5.0: 730}
    pnl = {2.0: -130, 2.5: -303, 3.0: -82, 4.0: -66, 5.0: -59}
    for k in collected:
        rows.append(
            _row(
                f"Position P&L ${k:.2f}",
                float(pnl[k]),
                float(collected[k] - value[k]),
                f"{collected[k]} - {value[k]}",
            )
        )
    rows.append(_row("Premium collected", 4349.0, float(sum(collected.values())), "600+2343+244+490+672"))
    rows.append(_row("Current obligation", 4982.0, float(sum(value.values())), "730+2640+326+556+730"))
    rows.append(
        _row(
            "Net unrealized P&L (sum of column)",
            -640.0,
            float(sum(collected.values()) - sum(value.values())),
            "4349 - 4982",
            f"The P&L column sums to {sum(pnl.values())}; the other two columns give -633 "
            "($2.50 row: -297 not -303; $5.00 row: -58 not -59).",
        )
    )
    rows.append(
        _row(
            "'Effective monthly rate'",
            0.873,
            4349 / 4982,
            "4349 / 4982",
            "Arithmetic agrees, but it is premium over current value, not a monthly rate.",
            tol=5e-4,
        )
    )
    rows.append(_row("$2.50 share of contracts", 0.58, 22 / 38, "22 / 38", tol=5e-3))
    df = pd.DataFrame(rows)
    if not include_agreements:
        df = df[df.status == "disagrees"].reset_index(drop=True)
    return df
