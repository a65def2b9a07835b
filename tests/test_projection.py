"""Projection recursion identities, assumptions, and the audit of the plan's printed figures."""

import math

import numpy as np
import pytest

from engine._validate import VolarbInputError
from engine.config import default_config
from engine.plan.allocation import allocate_strikes, strike_premiums
from engine.plan.projection import PLAN_PRINTED_TABLE, plan_discrepancies, project_plan
from engine.pricing.black import bs_price

CFG = default_config().replace(
    strikes__use_monthly_expiry=False
)  # plain 30-day cycle: independent of the calendar


def test_recursion_identities_worthless():
    df = project_plan(CFG, months=4)
    assert df["put_budget"].iloc[0] == 4000.0
    np.testing.assert_allclose(
        df["put_budget"].iloc[1:], 4000 + 0.8 * df["premium_income"].iloc[:-1].to_numpy(), rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(df["call_hedge"], 0.2 * df["premium_income"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        df["portfolio_value"],
        df["starting_capital"] + df["new_capital"] + df["premium_income"],
        rtol=0,
        atol=1e-9,
    )
    np.testing.assert_allclose(
        df["starting_capital"].iloc[1:], df["portfolio_value"].iloc[:-1].to_numpy(), rtol=0, atol=1e-9
    )
    assert np.all(df["margin_used"] <= df["put_budget"] + 1e-9)
    assert (df["expected_assignment_loss"] == 0).all() and df["dte"].eq(30).all()


def test_month1_matches_allocation():
    df = project_plan(CFG, months=1)
    prem = strike_premiums(CFG, expiry=df["expiry"].iloc[0], valuation_date=df["sale_date"].iloc[0])
    alloc = allocate_strikes(4000, CFG.strikes.strikes, CFG.strikes.weights, prem, 3.15, "reg_t")
    np.testing.assert_allclose(
        df["premium_income"].iloc[0], alloc["expected_premium"].sum(), rtol=1e-12, atol=0
    )
    assert df["contracts_sold"].iloc[0] == alloc["contracts"].sum()
    assert df["cumulative_contracts"].iloc[0] == 38 + alloc["contracts"].sum()


def test_expected_assumption_is_risk_neutral_put_payoff():
    w = project_plan(CFG, months=2, assumption="worthless")
    e = project_plan(CFG, months=2, assumption="expected")
    np.testing.assert_allclose(e["premium_income"].iloc[0], w["premium_income"].iloc[0], rtol=1e-12, atol=0)
    prem = strike_premiums(CFG, expiry=e["expiry"].iloc[0], valuation_date=e["sale_date"].iloc[0])
    alloc = allocate_strikes(4000, CFG.strikes.strikes, CFG.strikes.weights, prem, 3.15, "reg_t")
    t = 30 / 365
    eq = bs_price(3.15, np.array(CFG.strikes.strikes), t, 0.04, 4.25, "put") * math.exp(0.04 * t)
    np.testing.assert_allclose(
        e["expected_assignment_loss"].iloc[0],
        float(np.sum(alloc["contracts"] * eq * 100)),
        rtol=1e-12,
        atol=0,
    )
    # risk neutral: the premium is fair, so the expected month's gain is small vs the premium
    gain = e["premium_income"].iloc[0] - e["expected_assignment_loss"].iloc[0]
    assert abs(gain) < 0.05 * e["premium_income"].iloc[0]
    p = project_plan(CFG, months=1, assumption="physical")
    assert (
        0 < p["expected_assignment_loss"].iloc[0] < e["expected_assignment_loss"].iloc[0]
    )  # realized vol 250% < 425%


def test_refusals():
    with pytest.raises(
        VolarbInputError, match="assumption must be one of 'worthless', 'expected', 'physical', got 'rosy'"
    ):
        project_plan(CFG, assumption="rosy")
    with pytest.raises(VolarbInputError, match="months must be a whole number >= 1, got 0"):
        project_plan(CFG, months=0)


def test_printed_table_as_in_plan():
    t = PLAN_PRINTED_TABLE
    assert t["portfolio_value"].tolist() == [7857, 13542, 23698, 35326, 49862, 67324]
    assert t["total_contracts"].tolist() == [54, 98, 140, 185, 235, 310]
    np.testing.assert_allclose(
        t["starting_capital"].iloc[1:], t["portfolio_value"].iloc[:-1].to_numpy(), rtol=0, atol=0
    )


def test_discrepancies_hand_checked():
    d = plan_discrepancies(default_config()).set_index("item")

    def status(item):
        return d.loc[item, "status"]

    # 0.892 - 0.108*0.087/0.123 = 0.815610 vs printed 0.247
    assert status("Full Kelly fraction") == "disagrees"
    np.testing.assert_allclose(d.loc["Full Kelly fraction", "computed"], 0.8156097561, rtol=0, atol=1e-9)
    assert status("Hedge ratio for (3792, 99, 0.45)") == "disagrees"
    # 23698 + 4000 + 4238 = 31936 (printed 35326 = 31936 + 3390 reinvestment counted twice)
    np.testing.assert_allclose(d.loc["Month 4 portfolio value", "computed"], 31936.0, rtol=0, atol=0)
    assert "counted twice" in d.loc["Month 4 portfolio value", "note"]
    # 3792 + 4000 + 2065 = 9857 vs 7857
    np.testing.assert_allclose(d.loc["Month 1 portfolio value", "computed"], 9857.0, rtol=0, atol=0)
    # 2343 - 2640 = -297 (printed -303); 672 - 730 = -58 (printed -59); 4349 - 4982 = -633 vs -640
    np.testing.assert_allclose(
        [
            d.loc["Position P&L $2.50", "computed"],
            d.loc["Position P&L $5.00", "computed"],
            d.loc["Net unrealized P&L (sum of column)", "computed"],
        ],
        [-297, -58, -633],
        rtol=0,
        atol=0,
    )
    # 1978.2 / 115 = 17.2 -> 17 (printed 15); 16x70+15x115+10x160+2x245+1x336 = 5271 (printed 2825)
    assert d.loc["Month-2 contracts $2.50", "computed"] == 17
    np.testing.assert_allclose(d.loc["Month-2 expected premium", "computed"], 5271.0, rtol=0, atol=0)
    for ok in (
        "Month 4 call hedge",
        "Month-2 capital available",
        "Premium collected",
        "Current obligation",
        "$2.50 share of contracts",
        "Month 1 growth %",
        "Total growth %",
        "Month-1 new premium",
    ):
        assert status(ok) == "agrees", ok
    assert status("Conclusion growth multiple") == "disagrees"
    only = plan_discrepancies(default_config(), include_agreements=False)
    assert (only["status"] == "disagrees").all() and len(only) < len(d)


def test_growth_rows_are_in_percent():
    d = plan_discrepancies(CFG).set_index("item")
    # 100 x (7857 / 3792 - 1) = 107.20 against the printed 107%; 100 x (67324 / 3792 - 1) = 1675.4
    assert d.loc["Month 1 growth %", "printed"] == 107.0
    np.testing.assert_allclose(d.loc["Month 1 growth %", "computed"], 100 * (7857 / 3792 - 1), rtol=1e-12)
    np.testing.assert_allclose(d.loc["Total growth %", "computed"], 100 * (67324 / 3792 - 1), rtol=1e-12)
    assert d.loc["Total growth %", "status"] == "agrees"
