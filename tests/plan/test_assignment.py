"""Assignment tiers (hand arithmetic) and the ShareLot lifecycle (identities)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._validate import VolarbInputError
from engine.plan.assignment import ShareLot, assignment_plan, round_up_strike
from engine.pricing.american import american_price


def test_excellent_tier_by_hand():
    out = assignment_plan(2.50, 1.065, 200, 3.15, 4.25, 0.04)
    # basis 2.50 - 1.065 = 1.435 < 2.00; calls at 1.435 * 1.20 = 1.722 -> listed 2.00; 30 days
    np.testing.assert_allclose(out["cost_basis"], 1.435, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["call_strike_target"], 1.722, rtol=0, atol=1e-12)
    assert (out["tier"], out["action"], out["call_strike"], out["call_dte"]) == (
        "excellent",
        "HOLD_AND_COVERED_CALLS",
        2.0,
        30,
    )
    ref = american_price(3.15, 2.0, 30 / 365, 0.04, 4.25, "call")
    np.testing.assert_allclose(out["call_premium"], ref, rtol=1e-12, atol=0)
    np.testing.assert_allclose(out["expected_additional_premium"], ref * 200, rtol=1e-12, atol=0)
    # completed plan formula: (1.065 + c + (2.00 - 1.435)) / 1.435
    np.testing.assert_allclose(
        out["total_yield_potential"], (1.065 + ref + 0.565) / 1.435, rtol=1e-12, atol=0
    )
    assert math.isnan(out["stop_level"])


def test_good_and_exit_tiers_by_hand():
    out = assignment_plan(3.00, 0.75, 100, 3.15, 4.25, strike_increment=0)
    # basis 2.25 in [2.00, 2.50): calls at 2.25 * 1.15 = 2.5875, 45 days
    assert out["tier"] == "good" and out["call_dte"] == 45
    np.testing.assert_allclose(out["call_strike"], 2.5875, rtol=0, atol=1e-12)
    out = assignment_plan(4.00, 1.20, 100, 3.15, 4.25)
    # basis 2.80 >= 2.50: stop 2.80 * 0.85 = 2.38; calls 2.80 * 1.10 = 3.08 -> 3.50
    assert out["tier"] == "exit" and out["action"] == "EVALUATE_EXIT_OR_AGGRESSIVE_CALLS"
    np.testing.assert_allclose(
        [out["stop_level"], out["call_strike_target"]], [2.38, 3.08], rtol=0, atol=1e-12
    )
    assert out["call_strike"] == 3.5
    # boundary: basis exactly 2.00 is not < 2.00 -> good tier
    assert assignment_plan(2.50, 0.50, 100, 3.15, 4.25)["tier"] == "good"


def test_round_up():
    assert round_up_strike(2.0000000001, 0.5) == 2.0 and round_up_strike(2.01, 0.5) == 2.5
    assert round_up_strike(1.722, 0) == 1.722


def test_refusals():
    with pytest.raises(VolarbInputError, match=r"premium must be below the strike \(2.5\), got 3"):
        assignment_plan(2.5, 3, 100, 3.15, 4.25)
    with pytest.raises(VolarbInputError, match="strike must be > 0, got 0"):
        assignment_plan(0, 0.1, 100, 3.15, 4.25)
    with pytest.raises(VolarbInputError, match="vol must be >= 0, got -1"):
        assignment_plan(2.5, 0.1, 100, 3.15, -1)


def test_lot_lifecycle_by_hand():
    lot = ShareLot.from_assignment(2.50, 1.065, contracts=2)
    assert lot.shares == 200
    np.testing.assert_allclose([lot.cost_basis, lot.realized], [1.435, 213.0], rtol=0, atol=1e-9)
    i = lot.sell_call(2.00, 0.40, 1)  # basis 1.435 - 40/200 = 1.235
    np.testing.assert_allclose(lot.cost_basis, 1.235, rtol=0, atol=1e-12)
    lot.expire_call(i)  # realized 213 + 40 = 253
    j = lot.sell_call(2.00, 0.30, 2)  # basis 1.235 - 0.30*100*2/200 = 0.935
    np.testing.assert_allclose(lot.cost_basis, 0.935, rtol=0, atol=1e-12)
    lot.buy_back_call(j, 0.10)  # realized 253 + (0.30-0.10)*200 = 293; basis 0.935 + 0.10 = 1.035
    np.testing.assert_allclose([lot.realized, lot.cost_basis], [293.0, 1.035], rtol=0, atol=1e-9)
    lot.sell_shares(1.50)  # (1.50 - 2.50) * 200 = -200 -> 93 = (1.50 - 1.035) * 200
    np.testing.assert_allclose(lot.realized, 93.0, rtol=0, atol=1e-9)
    assert lot.shares == 0


def test_lot_refusals():
    lot = ShareLot.from_assignment(2.50, 1.0, contracts=1)
    with pytest.raises(
        VolarbInputError, match="contracts: 2 calls need 200 shares but only 100 are uncovered"
    ):
        lot.sell_call(3.0, 0.2, 2)
    with pytest.raises(VolarbInputError, match="call index 0 is not an open covered call of this lot"):
        lot.expire_call(0)


@settings(max_examples=50, deadline=None)
@given(
    k=st.floats(1, 10),
    p=st.floats(0, 0.99),
    calls=st.lists(
        st.tuples(st.floats(0, 2), st.sampled_from(["expire", "buy"]), st.floats(0, 2)), max_size=4
    ),
    price=st.floats(0, 20),
)
def test_lot_identity(k, p, calls, price):
    """When everything is closed: realized = proceeds - strike*shares + put premium + net call premiums,
    and equals (price - final basis) * shares (all shares sold at the end)."""
    lot = ShareLot.from_assignment(k, p * k, contracts=1)
    net = 0.0
    for prem, how, px in calls:
        i = lot.sell_call(k * 1.2, prem, 1)
        if how == "expire":
            lot.expire_call(i)
            net += prem * 100
        else:
            lot.buy_back_call(i, px)
            net += (prem - px) * 100
    basis = lot.cost_basis
    lot.sell_shares(price)
    np.testing.assert_allclose(lot.realized, price * 100 - k * 100 + p * k * 100 + net, rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(lot.realized, (price - basis) * 100, rtol=1e-9, atol=1e-7)
