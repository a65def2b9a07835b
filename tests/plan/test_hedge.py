"""Hedge ratio (plan's rule by hand, strict thresholds, arrays) and the call ladder."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._validate import VolarbInputError
from engine.config import HedgeConfig, default_config
from engine.plan.hedge import hedge_ladder, hedge_ratio, plan_month1_hedge
from engine.pricing.american import american_price


def test_plan_inputs_capped():
    # 0.20 * 1.3 * 1.5 = 0.39 -> cap 0.35 (plan prints ~34%)
    np.testing.assert_allclose(hedge_ratio(3792, 99, 0.45), 0.35, rtol=0, atol=1e-12)
    np.testing.assert_allclose(hedge_ratio(3792, 99, 0.45, HedgeConfig(cap=1.0)), 0.39, rtol=0, atol=1e-12)


def test_thresholds_are_strict_and_vectorized():
    v = np.array([50000, 50000.01, 1000, 1000])
    iv = np.array([95, 95, 96, 50])
    sq = np.array([0.4, 0.4, 0.41, 0.0])
    # [base, x1.2 = .24, min(.2*1.3*1.5=.39, .35), base]
    np.testing.assert_allclose(hedge_ratio(v, iv, sq), [0.20, 0.24, 0.35, 0.20], rtol=0, atol=1e-12)
    out = hedge_ratio([[1000], [60000]], [99, 10], 0.1)
    np.testing.assert_allclose(out, [[0.26, 0.20], [0.312, 0.24]], rtol=0, atol=1e-12)


def test_array_bad_element_is_nan_and_scalar_raises():
    out = hedge_ratio([1000, -5], 99, 0.45)
    assert out[0] == pytest.approx(0.35) and np.isnan(out[1])
    with pytest.raises(VolarbInputError, match=r"iv_percentile must be in \[0, 100\], got 120"):
        hedge_ratio(1000, 120, 0.1)
    with pytest.raises(VolarbInputError, match=r"squeeze_probability must be in \[0, 1\], got 2"):
        hedge_ratio(1000, 50, 2)


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 1e6), st.floats(0, 100), st.floats(0, 1))
def test_ratio_between_base_and_cap(v, iv, sq):
    r = hedge_ratio(v, iv, sq)
    assert 0.20 - 1e-12 <= r <= 0.35 + 1e-12


def test_ladder_by_hand():
    df = hedge_ladder(10000, 3.15, 4.25, 0.04)
    # strikes 4.725 -> 4.5, 6.30 -> 6.5, 9.45 -> 9.5; budgets 4000/3500/2500
    assert df["strike"].tolist() == [4.5, 6.5, 9.5]
    assert df["dte"].tolist() == [90, 120, 150]
    np.testing.assert_allclose(df["budget"], [4000, 3500, 2500], rtol=0, atol=1e-9)
    ref = american_price(3.15, np.array([4.5, 6.5, 9.5]), np.array([90, 120, 150]) / 365, 0.04, 4.25, "call")
    np.testing.assert_allclose(df["price"], ref, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(df["contracts"], np.floor(df["budget"] / (ref * 100)).astype(int))
    np.testing.assert_allclose(df["cost"] + df["leftover"], df["budget"], rtol=0, atol=1e-9)
    assert np.all(df["leftover"] >= 0)


def test_ladder_exact_strikes_and_month1_budget():
    df = hedge_ladder(413, 3.15, 4.25, 0.04, strike_increment=0)
    np.testing.assert_allclose(df["strike"], [4.725, 6.3, 9.45], rtol=0, atol=1e-12)
    # each call costs > $200 per contract at 425% vol: 165.2, 144.55, 103.25 buy nothing
    assert df["contracts"].tolist() == [0, 0, 0]
    np.testing.assert_allclose(df["leftover"].sum(), 413.0, rtol=0, atol=1e-9)


def test_ladder_refusals():
    with pytest.raises(VolarbInputError, match="budget must be an amount >= 0"):
        hedge_ladder(-1, 3.15, 4.25)
    with pytest.raises(VolarbInputError, match="style must be 'american' or 'european', got 'x'"):
        hedge_ladder(100, 3.15, 4.25, style="x")
    with pytest.raises(VolarbInputError, match="spot must be > 0"):
        hedge_ladder(100, 0, 4.25)


def test_month1_block_contradicts_rule():
    df = plan_month1_hedge(default_config())
    pr = df[df.source == "printed"]
    # 7.50/3.15 = 2.381, 10/3.15 = 3.175, 15/3.15 = 4.762 (rule: 1.5/2/3)
    np.testing.assert_allclose(pr["moneyness"], [2.380952, 3.174603, 4.761905], rtol=0, atol=1e-6)
    np.testing.assert_allclose(pr["price_per_share_printed"], [0.40, 0.50, 0.63], rtol=0, atol=1e-12)
    assert np.all(np.diff(pr["model_price"]) < 0)  # call prices fall with strike; the printed ones rise


def test_ladder_expiries_are_listed_monthlies():
    import datetime as dt

    vd = dt.date(2025, 9, 27)
    df = hedge_ladder(10000, 3.15, 4.25, 0.04, valuation_date=vd)
    # targets vd + 90/120/150 = 2025-12-26 / 2026-01-25 (a Sunday) / 2026-02-24; the first third
    # Friday on or after each: 2026-01-16, 2026-02-20, 2026-03-20
    assert df["expiry"].tolist() == [dt.date(2026, 1, 16), dt.date(2026, 2, 20), dt.date(2026, 3, 20)]
    # days: Sep 27 -> Jan 16 = 3 + 31 + 30 + 31 + 16 = 111; + 35 = 146; + 28 = 174
    assert df["dte"].tolist() == [111, 146, 174]
    ref = american_price(3.15, np.array([4.5, 6.5, 9.5]), np.array([111, 146, 174]) / 365, 0.04, 4.25, "call")
    np.testing.assert_allclose(df["price"], ref, rtol=1e-12, atol=0)
