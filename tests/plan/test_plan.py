"""Plan allocation rules: the plan's month-2 arithmetic by hand, capital models, properties, refusals."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._validate import VolarbInputError
from engine.config import default_config
from engine.plan.allocation import (
    PLAN_MONTH2_CONTRACTS,
    PLAN_PREMIUMS,
    allocate_premium,
    allocate_strikes,
    capital_model_comparison,
    reinvestment_plan,
    strike_premiums,
    whole_contracts,
)
from engine.pricing.american import american_price

K = [2.0, 2.5, 3.0, 4.0, 5.0]
W = [0.20, 0.35, 0.30, 0.10, 0.05]
P = [0.70, 1.15, 1.60, 2.45, 3.36]


def test_allocate_premium_month2_and_month1():
    out = allocate_premium(2065, 4000)
    # 0.8 * 2065 = 1652; 4000 + 1652 = 5652; 5652 / 4000 = 1.413; 0.2 * 2065 = 413
    np.testing.assert_allclose(
        [
            out["call_hedge_budget"],
            out["put_premium_budget"],
            out["put_expansion_budget"],
            out["compounding_factor"],
        ],
        [413.0, 1652.0, 5652.0, 1.413],
        rtol=0,
        atol=1e-9,
    )


def test_allocate_premium_arrays_and_zero_addition():
    out = allocate_premium([2065.0, 2825.0], [4000.0, 0.0])
    np.testing.assert_allclose(out["put_expansion_budget"], [5652.0, 2260.0], rtol=0, atol=1e-9)
    assert np.isnan(out["compounding_factor"][1])


def test_allocate_premium_refusals():
    with pytest.raises(VolarbInputError, match=r"premium must be a finite amount >= 0"):
        allocate_premium(-1, 4000)
    with pytest.raises(VolarbInputError, match=r"call_share must be >= 0 and <= 1, got 1.5"):
        allocate_premium(100, 4000, 1.5)


def test_month2_capital_by_weight():
    df = allocate_strikes(5652, K, W, P, 3.15, model="premium")
    # 5652 x .20/.35/.30/.10/.05 (the plan prints $1,130/$1,978/$1,696/$565/$283)
    np.testing.assert_allclose(df["capital"], [1130.4, 1978.2, 1695.6, 565.2, 282.6], rtol=0, atol=1e-9)


def test_month2_literal_formula_vs_printed():
    df = allocate_strikes(5652, K, W, P, 3.15, model="premium")
    # int(1130.4/70)=16, int(1978.2/115)=17 (printed 15), int(1695.6/160)=10, int(565.2/245)=2, int(282.6/336)=0 (printed 1)
    assert df["contracts"].tolist() == [16, 17, 10, 2, 0]
    np.testing.assert_allclose(df["capital_used"], [1120.0, 1955.0, 1600.0, 490.0, 0.0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(df["expected_premium"], df["capital_used"], rtol=0, atol=1e-9)


def test_month2_cash_secured_and_reg_t_by_hand():
    cs = allocate_strikes(5652, K, W, P, 3.15, model="cash_secured")
    # (K - P) * 100 = 130, 135, 140, 155, 164 -> 1130.4/130=8.7, 1978.2/135=14.65, 1695.6/140=12.1, 565.2/155=3.6, 282.6/164=1.7
    assert cs["contracts"].tolist() == [8, 14, 12, 3, 1]
    rt = allocate_strikes(5652, K, W, P, 3.15, model="reg_t")
    # reg T per contract, net of the put's value (the basis compared with net liquidation):
    # max(0.63 - OTM, 0.10 K) x 100 = 20 (2.00: OTM 1.15), 25 (2.50: OTM 0.65), 48 (3.00: 0.63 - 0.15),
    # 63 (4.00 ITM), 63 (5.00 ITM); the full figures (+ premium x 100) are 90, 140, 208, 308, 399.
    np.testing.assert_allclose(rt["capital_per_contract"], [20, 25, 48, 63, 63], rtol=0, atol=1e-9)
    # 1130.4/20 = 56.5, 1978.2/25 = 79.1, 1695.6/48 = 35.3, 565.2/63 = 8.97, 282.6/63 = 4.49
    assert rt["contracts"].tolist() == [56, 79, 35, 8, 4]


def test_comparison_table_flags_printed():
    df = capital_model_comparison(5652, K, W, P, 3.15, printed=PLAN_MONTH2_CONTRACTS)
    assert df["printed_agrees"].tolist() == [True, False, True, True, False]


def test_strike_premiums_are_american_at_config_vol():
    cfg = default_config()
    exp = dt.date(2025, 10, 27)
    out = strike_premiums(cfg, expiry=exp)
    ref = american_price(3.15, np.array(K), 30 / 365, 0.04, 4.25, "put", 0.0)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=0)
    assert np.all(np.diff(out) > 0)
    with pytest.raises(
        VolarbInputError, match="expiry 2025-09-01 must be after the valuation date 2025-09-27"
    ):
        strike_premiums(cfg, expiry=dt.date(2025, 9, 1))


def test_allocate_strikes_refusals():
    with pytest.raises(VolarbInputError, match="weights must sum to 1, they sum to 0.9"):
        allocate_strikes(1000, K, [0.2, 0.35, 0.3, 0.05, 0.0], P, 3.15)
    with pytest.raises(VolarbInputError, match="one entry per strike; got lengths 5, 5, 4"):
        allocate_strikes(1000, K, W, P[:4], 3.15)
    with pytest.raises(VolarbInputError, match=r"premiums\[1\] must be a finite number >= 0, got -1.0"):
        allocate_strikes(1000, K, W, [0.7, -1, 1.6, 2.45, 3.36], 3.15)
    with pytest.raises(VolarbInputError, match="budget must be >= 0, got -5"):
        allocate_strikes(-5, K, W, P, 3.15)
    with pytest.raises(VolarbInputError, match="model must be one of"):
        allocate_strikes(1000, K, W, P, 3.15, model="x")


@settings(max_examples=80, deadline=None)
@given(
    budget=st.floats(0, 1e6),
    model=st.sampled_from(["premium", "cash_secured", "reg_t"]),
    prem=st.lists(st.one_of(st.just(0.0), st.floats(0.01, 1.9)), min_size=5, max_size=5),
)
def test_allocation_properties(budget, model, prem):
    df = allocate_strikes(budget, K, W, prem, 3.15, model=model)
    np.testing.assert_allclose(df["capital"].sum(), budget, rtol=1e-12, atol=1e-9)
    assert np.all(df["capital_used"] <= df["capital"])
    assert np.all(df["leftover"] >= 0)
    cpc = df["capital_per_contract"].to_numpy()
    allowed = np.where(cpc > 0, np.floor(df["capital"] / np.where(cpc > 0, cpc, 1) * (1 + 1e-12)), 0)
    assert np.all(df["contracts"].to_numpy() <= allowed)
    assert (
        np.all((df["contracts"] + 1) * cpc > df["capital"] - 1e-9 * (1 + df["capital"])) or model == "premium"
    )


def test_whole_contracts_exact():
    # 3 * 0.1 = 0.30000000000000004 > 0.3 in floating point, but $0.30 pays for three $0.10
    # contracts: float noise is not a shortfall; 10 * 0.1 == 1.0 exactly; 1978.2 / 115 = 17.2
    assert whole_contracts([0.3, 1.0, 1978.2], [0.1, 0.1, 115.0]).tolist() == [3, 10, 17]
    # the plan's $2.50 rung: 1,400 / 25 = 56 even when the requirement carries round-off
    # (25.000000000000014 = requirement - premium x 100), while one cent short is a shortfall
    assert whole_contracts([1400.0, 1399.99, 0.29], [25.000000000000014, 25.0, 0.1]).tolist() == [56, 55, 2]


def test_reinvestment_priorities_split_by_strike_weights():
    df = reinvestment_plan(5652, default_config(), premiums=PLAN_PREMIUMS)
    # 65% -> 2.50/3.00 as 35:30; 20% -> 2.00; 15% -> 4.00/5.00 as 10:5
    np.testing.assert_allclose(df["amount"], [1978.2, 1695.6, 1130.4, 565.2, 282.6], rtol=0, atol=1e-9)
    assert df["split"].tolist() == [
        "strike_weights",
        "strike_weights",
        "single",
        "strike_weights",
        "strike_weights",
    ]
    np.testing.assert_allclose(
        df.groupby("action", sort=False)["share"].sum(), [0.65, 0.20, 0.15], rtol=0, atol=1e-12
    )


def test_reinvestment_equal_split_when_no_weights():
    cfg = default_config().replace(
        reinvestment=[
            {"action": "A", "strikes": [2.5, 3.5], "share": 0.5, "reasoning": ""},
            {"action": "B", "strikes": [2.0], "share": 0.5, "reasoning": ""},
        ]
    )
    df = reinvestment_plan(1000, cfg, premiums={2.5: 1.0, 3.5: 1.5, 2.0: 0.7})
    np.testing.assert_allclose(df["amount"], [250.0, 250.0, 500.0], rtol=0, atol=1e-9)
    assert df["split"].tolist() == ["equal", "equal", "single"]
    with pytest.raises(VolarbInputError, match="premiums has no premium for strike 3.5"):
        reinvestment_plan(1000, cfg, premiums={2.5: 1.0, 2.0: 0.7})
