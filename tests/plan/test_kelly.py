"""Kelly limits: the plan's inputs by hand, domain, journal inputs, refusals."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._validate import VolarbInputError
from engine.plan.kelly import kelly_inputs_from_journal, kelly_limits


def test_plan_inputs_by_hand():
    out = kelly_limits(0.892, 0.123, 0.087)
    # 0.892 - 0.108 * 0.087 / 0.123 = 0.892 - 0.0763902439 = 0.8156097561 (the plan prints 0.247)
    np.testing.assert_allclose(out["full_kelly"], 0.8156097561, rtol=0, atol=1e-10)
    np.testing.assert_allclose(out["fractional_kelly"], 0.25 * 0.8156097561, rtol=0, atol=1e-10)
    assert out["max_single_strike"] == 0.15
    assert (out["max_strategy_allocation"], out["max_monthly_addition"], out["emergency_reserve"]) == (
        1.0,
        0.20,
        0.05,
    )


def test_negative_edge_means_no_bet():
    # 0.4 - 0.6 * 0.1 / 0.05 = -0.8
    out = kelly_limits(0.4, 0.05, 0.10)
    np.testing.assert_allclose(out["full_kelly"], -0.8, rtol=0, atol=1e-12)
    assert out["fractional_kelly"] == 0.0 and out["max_single_strike"] == 0.0


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 1), st.floats(0.01, 2), st.floats(0.01, 2), st.floats(0, 1), st.floats(0, 1))
def test_limits_ordering(p, w, a, f, c):
    out = kelly_limits(p, w, a, f, c)
    assert 0 <= out["max_single_strike"] <= min(c, out["fractional_kelly"]) + 1e-15
    assert out["full_kelly"] <= p + 1e-15


def test_refusals():
    with pytest.raises(VolarbInputError, match=r"win_prob must be >= 0 and <= 1, got 1.2"):
        kelly_limits(1.2, 0.1, 0.1)
    with pytest.raises(VolarbInputError, match=r"avg_win must be > 0, got 0"):
        kelly_limits(0.5, 0, 0.1)
    with pytest.raises(VolarbInputError, match=r"avg_loss must be > 0, got nan"):
        kelly_limits(0.5, 0.1, math.nan)


def test_journal_pnl_and_return():
    j = pd.DataFrame(
        {
            "pnl": [120.0, 80.0, -50.0, 100.0, -150.0],
            "capital_at_risk": [1000.0, 1000.0, 500.0, 1000.0, 1000.0],
        }
    )
    out = kelly_inputs_from_journal(j)
    # returns .12 .08 -.10 .10 -.15: p = 3/5; avg win (.12+.08+.10)/3 = .10; avg loss (.10+.15)/2 = .125
    np.testing.assert_allclose(
        [out["win_prob"], out["avg_win"], out["avg_loss"]], [0.6, 0.10, 0.125], rtol=0, atol=1e-12
    )
    out2 = kelly_inputs_from_journal(pd.DataFrame({"return": [0.12, 0.08, -0.10, 0.10, -0.15]}))
    np.testing.assert_allclose(out2["avg_loss"], 0.125, rtol=0, atol=1e-12)


def test_journal_without_losses_or_empty_gives_nan():
    out = kelly_inputs_from_journal(pd.DataFrame({"return": [0.1, 0.2]}))
    assert out["win_prob"] == 1.0 and math.isnan(out["avg_loss"])
    out = kelly_inputs_from_journal(pd.DataFrame({"return": []}))
    assert math.isnan(out["win_prob"]) and math.isnan(out["avg_win"])


def test_journal_refusals():
    with pytest.raises(
        VolarbInputError, match="journal must have a 'return' column or 'pnl' and 'capital_at_risk'"
    ):
        kelly_inputs_from_journal(pd.DataFrame({"pnl": [1.0]}))
    with pytest.raises(
        VolarbInputError, match="journal row 1, column 'capital_at_risk': expected a number > 0, got 0.0"
    ):
        kelly_inputs_from_journal(pd.DataFrame({"pnl": [1.0, 2.0], "capital_at_risk": [10.0, 0.0]}))
    with pytest.raises(VolarbInputError, match="journal row 0, column 'return': expected a number, got 'x'"):
        kelly_inputs_from_journal(pd.DataFrame({"return": ["x"]}))
