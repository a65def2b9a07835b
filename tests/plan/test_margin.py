"""Margin kernels and capital models: hand arithmetic (CBOE Margin Manual / FINRA 4210(f)(2)(G)).

Bases: :func:`short_option_requirement` and :func:`stock_requirement` are on the *full* basis
(compared with equity with loan value; a short option's figure includes its mark);
:func:`capital_per_contract` is on the *net* basis (full minus the option's value, compared
with net liquidation value) for every capital model.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._validate import VolarbInputError
from engine.config import CapitalConfig, ConfigError, MarginConfig, config_from_dict, default_config
from engine.plan.margin import capital_per_contract, short_option_requirement, stock_requirement

TOL = dict(rtol=0, atol=1e-9)


# ---- short_option_requirement: full basis -------------------------------------------------
def test_naked_put_ten_percent_branch_on_the_plans_strikes():
    # S = 3.15. $2.00 put marked 0.70: OTM 1.15; 0.20*3.15 - 1.15 = -0.52 < 0.10*2.00 = 0.20
    # -> (0.70 + 0.20) * 100 = $90 full, $20 net of the $70 option value.
    np.testing.assert_allclose(short_option_requirement("put", 3.15, 2.0, 0.70), 90.0, **TOL)
    np.testing.assert_allclose(capital_per_contract("reg_t", 3.15, 2.0, 0.70), 20.0, **TOL)
    # $2.50 put marked 1.15: 0.63 - 0.65 = -0.02 < 0.25 -> $140 full, $25 net.
    np.testing.assert_allclose(short_option_requirement("put", 3.15, 2.5, 1.15), 140.0, **TOL)


def test_naked_put_twenty_percent_branch_on_the_plans_strikes():
    # $3.00 put marked 1.60: OTM 0.15; 0.63 - 0.15 = 0.48 > 0.30 -> (1.60 + 0.48) * 100 = $208 full.
    np.testing.assert_allclose(short_option_requirement("put", 3.15, 3.0, 1.60), 208.0, **TOL)
    np.testing.assert_allclose(capital_per_contract("reg_t", 3.15, 3.0, 1.60), 48.0, **TOL)
    # ITM $4.00 put marked 2.45: OTM 0 -> (2.45 + 0.63) * 100 = $308 full, $63 net.
    np.testing.assert_allclose(short_option_requirement("put", 3.15, 4.0, 2.45), 308.0, **TOL)
    np.testing.assert_allclose(capital_per_contract("reg_t", 3.15, 4.0, 2.45), 63.0, **TOL)


def test_naked_call_both_branches():
    # $4.50 call on 3.15 marked 2.07: OTM 1.35; 0.63 - 1.35 < 0.10*3.15 = 0.315 -> (2.07 + 0.315)*100 = $238.50.
    np.testing.assert_allclose(short_option_requirement("call", 3.15, 4.5, 2.07), 238.5, **TOL)
    # $3.00 call marked 2.20 (ITM): 0.63 - 0 = 0.63 > 0.315 -> (2.20 + 0.63) * 100 = $283.
    np.testing.assert_allclose(short_option_requirement("C", 3.15, 3.0, 2.20), 283.0, **TOL)


def test_cboe_strategy_based_examples_ibm():
    # CBOE "Margin Requirement Examples for Sample Options-based Positions" (strategy-based column,
    # net of the option proceeds), IBM at 97.73, 100 contracts:
    # short 100 April 100 calls @ 1.68: 20% * 97.73 - 2.27 OTM = 17.276 > 9.773 -> $172,760;
    s = 97.73
    np.testing.assert_allclose(
        100 * (short_option_requirement("call", s, 100.0, 1.68) - 168.0), 172_760.0, rtol=0, atol=1e-6
    )
    # short 100 April 100 puts @ 3.18 (ITM, no OTM amount): 19.546 -> $195,460.
    np.testing.assert_allclose(
        100 * (short_option_requirement("put", s, 100.0, 3.18) - 318.0), 195_460.0, rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(
        100 * capital_per_contract("reg_t", s, 100.0, 3.18), 195_460.0, rtol=0, atol=1e-6
    )


def test_published_naked_put_example():
    # Short 1 put strike 200 at 1.20, stock 209 (broker worked example): 20% * 209 - 9 = 32.80
    # > 10% * 200 = 20 -> (1.20 + 32.80) * 100 = $3,400; less $120 proceeds: $3,280 to deposit.
    np.testing.assert_allclose(short_option_requirement("put", 209.0, 200.0, 1.20), 3400.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(capital_per_contract("reg_t", 209.0, 200.0, 1.20), 3280.0, rtol=0, atol=1e-9)


def test_cash_account():
    cash = MarginConfig(account="cash")
    # cash-secured $2.50 put: $250 full; net of the $115 premium: $135 (= the cash_secured model).
    np.testing.assert_allclose(short_option_requirement("put", 3.15, 2.5, 1.15, cash), 250.0, **TOL)
    np.testing.assert_allclose(
        short_option_requirement("put", 3.15, 2.5, 1.15, cash) - 115.0,
        capital_per_contract("cash_secured", 3.15, 2.5, 1.15),
        **TOL,
    )
    assert np.isnan(short_option_requirement("call", 3.15, 4.5, 2.07, cash))


def test_house_rules():
    # $50 per-contract floor beats 10% of $2.00 (= $20): (0.70 + 0.50) * 100 = $120.
    np.testing.assert_allclose(
        short_option_requirement("put", 3.15, 2.0, 0.70, MarginConfig(per_contract_floor=50.0)), 120.0, **TOL
    )
    # a $10 floor does not bind ($20 > $10): $90.
    np.testing.assert_allclose(
        short_option_requirement("put", 3.15, 2.0, 0.70, MarginConfig(per_contract_floor=10.0)), 90.0, **TOL
    )
    # 10% concentration add-on: 90 + 0.10 * 3.15 * 100 = $121.50.
    np.testing.assert_allclose(
        short_option_requirement("put", 3.15, 2.0, 0.70, MarginConfig(concentration_addon_pct=0.10)),
        121.5,
        **TOL,
    )
    # multiplier 10 (mini): (0.70 + 0.20) * 10 = $9.
    np.testing.assert_allclose(short_option_requirement("put", 3.15, 2.0, 0.70, multiplier=10), 9.0, **TOL)


def test_arrays_broadcast_and_nan_per_element():
    out = short_option_requirement(["put", "put", "bogus"], 3.15, [2.0, -1.0, 2.0], 0.7)
    np.testing.assert_allclose(out[0], 90.0, **TOL)
    assert np.isnan(out[1]) and np.isnan(out[2])
    grid = short_option_requirement("put", np.array([[3.0], [4.0]]), np.array([2.0, 3.0]), 0.5)
    assert grid.shape == (2, 2)
    # S=4, K=3: OTM 1; 0.8-1 < 0.30 -> (0.5 + 0.3)*100 = 80
    np.testing.assert_allclose(grid[1, 1], 80.0, **TOL)
    with pytest.raises(VolarbInputError, match="strike must be positive"):
        short_option_requirement("put", 3.15, -2.0, 0.5)


# ---- stock_requirement ----------------------------------------------------------------------
def test_assigned_stock():
    # 500 shares assigned from 5 $2.50 puts, now at 3.15: value $1,575; Reg T 50% = $787.50,
    # FINRA maintenance 25% = $393.75; cash account 100%.
    np.testing.assert_allclose(stock_requirement(3.15, 500), 787.5, **TOL)
    np.testing.assert_allclose(stock_requirement(3.15, 500, phase="maintenance"), 393.75, **TOL)
    np.testing.assert_allclose(
        stock_requirement(3.15, 500, MarginConfig(account="cash"), phase="maintenance"), 1575.0, **TOL
    )
    # a $5 house threshold: $3.15 shares get no loan value (100%); $6 shares keep 25%.
    low = MarginConfig(low_price_threshold=5.0)
    np.testing.assert_allclose(
        stock_requirement([3.15, 6.0], 100, low, phase="maintenance"), [315.0, 150.0], **TOL
    )
    out = stock_requirement([3.15, 3.15], [100, -5])
    assert np.isnan(out[1])
    with pytest.raises(VolarbInputError, match="phase"):
        stock_requirement(3.15, 100, phase="opening")
    with pytest.raises(VolarbInputError, match="shares"):
        stock_requirement(3.15, -1)


# ---- capital_per_contract: net basis ----------------------------------------------------------
def test_models_on_one_basis():
    np.testing.assert_allclose(capital_per_contract("premium", 3.15, 2.5, 1.15), 115.0, **TOL)
    np.testing.assert_allclose(capital_per_contract("cash_secured", 3.15, 2.5, 1.15), 135.0, **TOL)
    np.testing.assert_allclose(capital_per_contract("reg_t", 3.15, 2.5, 1.15), 25.0, **TOL)
    # legacy capital.* aliases still drive the percentages: house add-on 10% -> 20 + 31.5 = 51.5
    np.testing.assert_allclose(
        capital_per_contract("reg_t", 3.15, 2.0, 0.70, capital=CapitalConfig(house_addon_pct=0.10)),
        51.5,
        **TOL,
    )
    # an explicit MarginConfig wins: $50 floor -> 50 net
    np.testing.assert_allclose(
        capital_per_contract("reg_t", 3.15, 2.0, 0.70, margin=MarginConfig(per_contract_floor=50.0)),
        50.0,
        **TOL,
    )


def test_arrays_and_nan_per_element():
    out = capital_per_contract("cash_secured", 3.15, [2.0, 2.5, -1.0], [0.7, 1.15, 0.5])
    np.testing.assert_allclose(out[:2], [130.0, 135.0], **TOL)
    assert np.isnan(out[2])


def test_refusals():
    with pytest.raises(
        VolarbInputError, match="model must be one of 'premium', 'cash_secured', 'reg_t', got 'naked'"
    ):
        capital_per_contract("naked", 3.15, 2.5, 1.0)
    with pytest.raises(VolarbInputError, match="strike must be positive"):
        capital_per_contract("reg_t", 3.15, -2.5, 1.0)
    with pytest.raises(VolarbInputError, match="kind must be 'put' for the cash_secured model"):
        capital_per_contract("cash_secured", 3.15, 2.5, 1.0, "call")


# ---- config: one source of truth ----------------------------------------------------------
def test_margin_config_and_legacy_aliases():
    cfg = default_config()
    assert cfg.margin == MarginConfig()
    legacy = config_from_dict({"capital": {"reg_t_minimum_pct": 0.15, "house_addon_pct": 0.05}})
    assert legacy.margin.naked_minimum_pct == 0.15 and legacy.margin.concentration_addon_pct == 0.05
    assert legacy.capital.reg_t_minimum_pct == 0.15  # the alias mirrors the truth
    new = config_from_dict({"margin": {"naked_minimum_pct": 0.15}})
    assert new.capital.reg_t_minimum_pct == 0.15
    with pytest.raises(
        ConfigError,
        match=r"plan.toml: capital.reg_t_minimum_pct \(0.15\) is a legacy alias of margin.naked_minimum_pct",
    ):
        config_from_dict(
            {"capital": {"reg_t_minimum_pct": 0.15}, "margin": {"naked_minimum_pct": 0.2}}, source="plan.toml"
        )
    with pytest.raises(ConfigError, match="plan.toml: margin.per_contract_floor: must be >= 0, got -5.0"):
        config_from_dict({"margin": {"per_contract_floor": -5.0}}, source="plan.toml")
    with pytest.raises(ConfigError, match="plan.toml: margin: unknown key 'floor'"):
        config_from_dict({"margin": {"floor": 5.0}}, source="plan.toml")
    with pytest.raises(
        ConfigError, match="plan.toml: margin.account: must be one of 'margin', 'cash', got 'ira'"
    ):
        config_from_dict({"margin": {"account": "ira"}}, source="plan.toml")


# ---- properties -------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.floats(0.5, 20), st.floats(0.5, 20), st.floats(0, 5))
def test_reg_t_bounds(spot, strike, prem):
    out = capital_per_contract("reg_t", spot, strike, prem)
    assert out >= 0.10 * strike * 100 - 1e-9
    assert out <= (0.20 * spot + 0.10 * strike) * 100 + 1e-9
    # full = net + option value, for puts and calls
    for kind in ("put", "call"):
        np.testing.assert_allclose(
            short_option_requirement(kind, spot, strike, prem),
            capital_per_contract("reg_t", spot, strike, prem, kind) + 100 * prem,
            rtol=1e-12,
            atol=1e-9,
        )


@settings(max_examples=60, deadline=None)
@given(st.floats(0.5, 20), st.floats(0.5, 20), st.floats(0, 5), st.floats(0, 500))
def test_floor_and_addon_never_lower_the_requirement(spot, strike, prem, floor):
    base = short_option_requirement("put", spot, strike, prem)
    house = short_option_requirement(
        "put", spot, strike, prem, MarginConfig(per_contract_floor=floor, concentration_addon_pct=0.05)
    )
    assert house >= base - 1e-9
    assert house >= prem * 100 + floor - 1e-9
