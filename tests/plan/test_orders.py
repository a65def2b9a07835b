"""Order tickets: slicing, limit/worst prices on the tick grid, refusals, property tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import ExecutionConfig
from engine.plan.orders import OrdersError, order_tickets, round_to_tick, tick_size


def trade(**kw):
    base = {
        "action": "sell",
        "underlying": "ASST",
        "kind": "put",
        "strike": 2.5,
        "expiry": "2025-11-21",
        "contracts": 23,
        "mid": 1.12,
    }
    base.update(kw)
    return base


def test_plan_defaults_hand_worked():
    t = order_tickets(
        [
            trade(),
            trade(action="buy", kind="call", strike=7.5, contracts=5, mid=0.43, expiry=dt.date(2025, 12, 19)),
        ]
    )
    # 23 at max 10 -> 10, 10, 3 ; then one order of 5
    assert t["contracts"].tolist() == [10, 10, 3, 5]
    assert t["sequence"].tolist() == [1, 2, 3, 4]
    assert t["slice"].tolist() == [1, 2, 3, 1] and t["slices"].tolist() == [3, 3, 3, 1]
    # sell: 1.12 + 0.05 = 1.17 -> up to 1.20 ; worst 1.12 - 0.10 = 1.02 -> up to 1.05
    # buy: 0.43 - 0.05 = 0.38 -> down to 0.35 ; worst 0.43 + 0.10 = 0.53 -> down to 0.50
    np.testing.assert_allclose(t["limit"], [1.20, 1.20, 1.20, 0.35], rtol=0, atol=1e-12)
    np.testing.assert_allclose(t["worst"], [1.05, 1.05, 1.05, 0.50], rtol=0, atol=1e-12)
    assert t["symbol"].tolist()[-1] == "ASST  251219C00007500"
    assert set(t["time_in_force"]) == {"DAY"} and set(t["order_type"]) == {"LIMIT"}
    assert t["windows"].iloc[0].startswith("09:45-10:30, 14:00-15:30")


def test_tick_threshold():
    # sell at mid 2.97: 3.02 is at/above $3 -> $0.10 tick, up to 3.10 ; worst 2.87 -> up to 2.90 ($0.05)
    t = order_tickets([trade(mid=2.97, contracts=1)])
    np.testing.assert_allclose(
        [t["limit"][0], t["worst"][0], t["tick"][0]], [3.10, 2.90, 0.10], rtol=0, atol=1e-12
    )
    # buy at mid 3.12: 3.07 -> down to 3.00 ; worst 3.22 -> down to 3.20
    t = order_tickets([trade(action="buy", mid=3.12, contracts=1)])
    np.testing.assert_allclose([t["limit"][0], t["worst"][0]], [3.00, 3.20], rtol=0, atol=1e-12)
    # buy at 3.04: 2.99 -> down to 2.95 (below $3 the $0.05 grid applies)
    t = order_tickets([trade(action="buy", mid=3.04, contracts=1)])
    assert abs(t["limit"][0] - 2.95) < 1e-12


def test_never_below_one_tick():
    t = order_tickets([trade(action="buy", mid=0.03, contracts=1), trade(mid=0.02, contracts=1)])
    np.testing.assert_allclose(t["limit"], [0.05, 0.10], rtol=0, atol=1e-12)  # buy floor; sell 0.07 -> 0.10
    np.testing.assert_allclose(t["worst"], [0.10, 0.05], rtol=0, atol=1e-12)  # buy 0.13 -> 0.10; sell floor


def test_symbol_input_and_dataframe_and_custom_config():
    ex = ExecutionConfig(
        max_order_size=4, price_improvement=0.02, tick_small=0.01, tick_large=0.05, time_in_force="GTC"
    )
    t = order_tickets(
        pd.DataFrame([{"Action": "SELL", "Symbol": "ASST  251017P00002500", "Contracts": 9, "Mid": 0.777}]),
        ex,
    )
    assert t["contracts"].tolist() == [4, 4, 1]
    assert t["kind"][0] == "put" and t["strike"][0] == 2.5 and t["expiry"][0] == dt.date(2025, 10, 17)
    assert abs(t["limit"][0] - 0.80) < 1e-12  # 0.797 -> up to 0.80 on the cent grid
    assert set(t["time_in_force"]) == {"GTC"}


def test_no_underlying_gives_blank_symbol():
    t = order_tickets(
        [{"action": "buy", "kind": "C", "strike": 10, "expiry": "2026-01-16", "contracts": 1, "mid": 0.3}]
    )
    assert t["symbol"][0] == "" and t["underlying"][0] == ""


@pytest.mark.parametrize(
    "bad,expected",
    [
        ({"action": "hold"}, "trades row 0, column 'action': expected sell or buy, got 'hold'"),
        ({"contracts": 0}, "trades row 0, column 'contracts': expected a positive whole number"),
        ({"contracts": 2.5}, "column 'contracts': expected a positive whole number"),
        ({"mid": -1}, "trades row 0, column 'mid': expected a mid price in $ per share >= 0"),
        ({"mid": "x"}, "column 'mid': expected a mid price in $ per share >= 0, got 'x'"),
        ({"kind": "straddle"}, "column 'kind': expected put or call"),
        ({"strike": 0}, "column 'strike': expected a positive number"),
        ({"expiry": "soon"}, "column 'expiry': expected a date YYYY-MM-DD or M/D/YYYY"),
        ({"symbol": "nonsense"}, "column 'symbol': expected an OCC option symbol"),
    ],
)
def test_refused_trades(bad, expected):
    with pytest.raises(OrdersError) as exc:
        order_tickets([trade(**bad)])
    assert expected in str(exc.value)


def test_round_to_tick_refuses_direction():
    with pytest.raises(OrdersError, match="direction must be 'up' or 'down'"):
        round_to_tick(1.0, "sideways")


def on_grid(price, ex):
    tick = tick_size(price, ex)
    k = price / tick
    return np.all(np.abs(k - np.round(k)) < 1e-7)


@settings(max_examples=150, deadline=None)
@given(
    contracts=st.integers(1, 500),
    size=st.integers(1, 25),
    mid=st.floats(0.0, 40.0),
    action=st.sampled_from(["sell", "buy"]),
)
def test_slices_and_ticks_properties(contracts, size, mid, action):
    ex = ExecutionConfig(max_order_size=size)
    t = order_tickets([trade(contracts=contracts, mid=mid, action=action)], ex)
    assert t["contracts"].sum() == contracts
    assert t["contracts"].max() <= size and t["contracts"].min() >= 1
    assert len(t) == -(-contracts // size)
    lim, worst = float(t["limit"][0]), float(t["worst"][0])
    assert on_grid(lim, ex) and on_grid(worst, ex)
    assert lim >= ex.tick_small and worst >= ex.tick_small
    if action == "sell":  # never ask less than mid + improvement, never accept below mid - slippage
        assert lim >= mid + ex.price_improvement - 1e-9
        assert worst >= mid - ex.max_slippage - 1e-9
    else:
        assert lim <= max(mid - ex.price_improvement, ex.tick_small) + 1e-9
        assert worst <= max(mid + ex.max_slippage, ex.tick_small) + 1e-9


@settings(max_examples=200, deadline=None)
@given(p=st.floats(0.0, 50.0))
def test_round_to_tick_is_tightest(p):
    ex = ExecutionConfig()
    up, dn = round_to_tick(p, "up"), round_to_tick(p, "down")
    assert on_grid(up, ex) and on_grid(dn, ex)
    assert up >= p - 1e-9 or up == ex.tick_small
    # no grid price strictly between p and the rounded value: the next grid step down from up is < p
    assert up - tick_size(up - 1e-9, ex) < p + 1e-9 or up == ex.tick_small
    if p >= ex.tick_small:
        assert dn <= p + 1e-9 and dn + tick_size(dn, ex) > p - 1e-9
