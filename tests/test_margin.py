"""Capital per contract: hand arithmetic for each model (CBOE Margin Manual / FINRA 4210(f)(2)(G))."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._validate import VolarbInputError
from engine.config import CapitalConfig
from engine.plan.margin import capital_per_contract


def test_reg_t_put_otm_minimum_binds():
    # $2.00 put, spot 3.15, premium 0.70: OTM 1.15; 0.20*3.15 - 1.15 = -0.52 < 0.10*2.00 = 0.20
    # -> (0.70 + 0.20) * 100 = 90
    np.testing.assert_allclose(capital_per_contract("reg_t", 3.15, 2.0, 0.70), 90.0, rtol=0, atol=1e-9)


def test_reg_t_put_twenty_percent_binds():
    # $3.00 put: OTM 0.15; 0.63 - 0.15 = 0.48 > 0.30 -> (1.60 + 0.48) * 100 = 208
    np.testing.assert_allclose(capital_per_contract("reg_t", 3.15, 3.0, 1.60), 208.0, rtol=0, atol=1e-9)
    # ITM $4.00 put: OTM 0 -> (2.45 + 0.63) * 100 = 308
    np.testing.assert_allclose(capital_per_contract("reg_t", 3.15, 4.0, 2.45), 308.0, rtol=0, atol=1e-9)


def test_reg_t_call_and_house_addon():
    # short $4.50 call on 3.15 for 2.07: OTM 1.35; 0.63-1.35 < 0.10*3.15 = 0.315 -> (2.07+0.315)*100 = 238.5
    np.testing.assert_allclose(capital_per_contract("reg_t", 3.15, 4.5, 2.07, "call"), 238.5, rtol=0, atol=1e-9)
    cap = CapitalConfig(house_addon_pct=0.10)
    # 90 + 0.10 * 3.15 * 100 = 121.5
    np.testing.assert_allclose(capital_per_contract("reg_t", 3.15, 2.0, 0.70, capital=cap), 121.5, rtol=0, atol=1e-9)


def test_premium_and_cash_secured():
    np.testing.assert_allclose(capital_per_contract("premium", 3.15, 2.5, 1.15), 115.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(capital_per_contract("cash_secured", 3.15, 2.5, 1.15), 135.0, rtol=0, atol=1e-9)


def test_arrays_and_nan_per_element():
    out = capital_per_contract("cash_secured", 3.15, [2.0, 2.5, -1.0], [0.7, 1.15, 0.5])
    np.testing.assert_allclose(out[:2], [130.0, 135.0], rtol=0, atol=1e-9)
    assert np.isnan(out[2])


def test_refusals():
    with pytest.raises(VolarbInputError, match="model must be one of 'premium', 'cash_secured', 'reg_t', got 'naked'"):
        capital_per_contract("naked", 3.15, 2.5, 1.0)
    with pytest.raises(VolarbInputError, match="strike must be positive"):
        capital_per_contract("reg_t", 3.15, -2.5, 1.0)
    with pytest.raises(VolarbInputError, match="kind must be 'put' for the cash_secured model"):
        capital_per_contract("cash_secured", 3.15, 2.5, 1.0, "call")


@settings(max_examples=60, deadline=None)
@given(st.floats(0.5, 20), st.floats(0.5, 20), st.floats(0, 5))
def test_reg_t_at_least_premium_plus_ten_percent_of_strike(spot, strike, prem):
    out = capital_per_contract("reg_t", spot, strike, prem)
    assert out >= (prem + 0.10 * strike) * 100 - 1e-9
    assert out <= (prem + 0.20 * spot + 0.10 * strike) * 100 + 1e-9
