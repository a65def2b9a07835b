"""Trader views (engine.risk.scenarios): hand arithmetic, QuantLib references, identities with the marked book."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from engine._validate import VolarbInputError
from engine.config import MarginConfig, default_config
from engine.data.positions import example_positions
from engine.risk import scenarios as sc
from engine.risk.book import mark_book

K, PREM, QTY = 2.50, 0.60, 100.0  # one short $2.50 put sold for $0.60, one contract


def _one_put(t: float = 0.05) -> tuple:
    return ([K], [t], 0.04, [4.25], [-1.0], 0.0, [-1.0], [QTY])


def test_short_put_at_expiry_by_hand():
    prices = np.array([0.0, 0.37, 1.0, 1.9, 2.2, 2.5, 2.51, 4.0, 9.0])
    strike, t, r, vol, w, q, sign, qty = _one_put()
    pnl = sc.pnl_curve(prices, strike, t, r, vol, w, q, sign, qty, [PREM], at=t[0])
    # short put at expiry: (premium - max(K - S, 0)) x 100
    hand = [
        (0.60 - 2.50) * 100,
        (0.60 - 2.13) * 100,
        (0.60 - 1.50) * 100,
        0.0,
        (0.60 - 0.30) * 100,
        60.0,
        60.0,
        60.0,
        60.0,
    ]
    assert_allclose(pnl, hand, rtol=0, atol=1e-9)
    be = sc.breakevens(prices, pnl)
    assert_allclose(be, [K - PREM], rtol=0, atol=1e-12)  # breakeven = strike - premium = 1.90
    # off the grid: between 1.0 and 2.2 the curve is linear, so interpolation is exact
    be2 = sc.breakevens(
        [1.0, 2.2], sc.pnl_curve([1.0, 2.2], strike, t, r, vol, w, q, sign, qty, [PREM], at=t[0])
    )
    assert_allclose(be2, [1.90], rtol=0, atol=1e-12)
    loss, at, unbounded = sc.max_loss(prices, pnl)
    assert (loss, at, unbounded) == (pytest.approx(-190.0), 0.0, False)  # (0.60 - 2.50) x 100 at S = 0


def test_short_straddle_has_two_breakevens_and_short_call_is_open_ended():
    # short $3 put for 0.50 and short $3 call for 0.70: breakevens 3 - 1.20 and 3 + 1.20
    prices = np.linspace(0.0, 9.0, 91)
    args = ([3.0, 3.0], [0.1, 0.1], 0.04, [1.0, 1.0], [-1.0, 1.0], 0.0, [-1.0, -1.0], [QTY, QTY])
    pnl = sc.pnl_curve(prices, *args, [0.50, 0.70], at=0.1)
    assert_allclose(sc.breakevens(prices, pnl), [1.80, 4.20], rtol=0, atol=1e-9)
    loss, at, unbounded = sc.max_loss(prices, pnl)
    assert unbounded and at == 9.0 and loss == pytest.approx((1.20 - 6.0) * 100)


def test_breakevens_edge_cases():
    assert sc.breakevens([1.0, 2.0, 3.0], [5.0, 6.0, 7.0]).size == 0  # never crosses
    assert_allclose(sc.breakevens([1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]), [2.0])  # exact zero counted once
    with pytest.raises(VolarbInputError, match="same length"):
        sc.breakevens([1.0, 2.0], [1.0])


def test_stress_centre_node_is_zero_for_the_plan_book():
    marked = mark_book(example_positions())
    kind = marked["kind"].to_numpy(object)
    pnl = sc.stress_pnl(
        3.15,
        marked["strike"],
        marked["t"],
        0.04,
        marked["vol_used"],
        np.where(kind == "call", 1.0, -1.0),
        0.0,
        marked["sign"],
        marked["contracts"] * marked["multiplier"],
    )
    i = sc.DEFAULT_SPOT_SHOCKS.index(0.0)
    j = sc.DEFAULT_VOL_MULTS.index(1.0)
    assert pnl.shape == (len(sc.DEFAULT_SPOT_SHOCKS), len(sc.DEFAULT_VOL_MULTS))
    assert pnl[i, j] == 0.0
    # a short-put book loses when spot falls and when vol rises
    assert pnl[0, j] < 0 and pnl[i, -1] < 0 and pnl[i, 0] > 0


def test_stress_node_against_quantlib_european():
    ql = pytest.importorskip("QuantLib")

    def bs(spot, strike, t, rate, vol, kind):
        today = ql.Date(27, 9, 2025)
        ql.Settings.instance().evaluationDate = today
        dc = ql.Actual365Fixed()
        exercise = ql.EuropeanExercise(today + int(round(t * 365)))
        payoff = ql.PlainVanillaPayoff(ql.Option.Put if kind < 0 else ql.Option.Call, strike)
        proc = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(ql.SimpleQuote(spot)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
            ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)),
        )
        opt = ql.VanillaOption(payoff, exercise)
        opt.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
        return opt.NPV()

    t = 55 / 365
    # short 2 contracts of the $2.50 put and long 1 of the $6 call; node: spot -50%, vol x1.25
    args = ([2.5, 6.0], [t, t], 0.04, [4.25, 3.0], [-1.0, 1.0], 0.0, [-1.0, 1.0], [200.0, 100.0])
    got = sc.stress_pnl(3.15, *args, [-0.5], [1.25], style="european")[0, 0]
    want = -200 * (bs(1.575, 2.5, t, 0.04, 4.25 * 1.25, -1) - bs(3.15, 2.5, t, 0.04, 4.25, -1)) + 100 * (
        bs(1.575, 6.0, t, 0.04, 3.0 * 1.25, 1) - bs(3.15, 6.0, t, 0.04, 3.0, 1)
    )
    assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@given(st.floats(0.5, 10.0), st.floats(0.05, 2.0), st.floats(0.3, 6.0))
def test_short_put_book_loses_with_vol_and_gains_with_spot(strike, t, vol):
    args = ([strike], [t], 0.03, [vol], [-1.0], 0.0, [-1.0], [QTY])
    shocks, mults = [-0.5, -0.2, 0.0, 0.3, 1.0], [0.5, 0.8, 1.0, 1.3]
    pnl = sc.stress_pnl(3.15, *args, shocks, mults, style="european")
    tol = 1e-9 * QTY * strike
    assert np.all(np.diff(pnl, axis=1) <= tol), pnl  # more vol: a short put is worth more, P&L falls
    assert np.all(np.diff(pnl, axis=0) >= -tol), pnl  # higher spot: P&L rises


def test_stress_inputs_validated_and_list_or_array_give_the_same():
    args = _one_put()
    a = sc.stress_pnl(3.15, *args, [-0.5, 0.0], [1.0])
    b = sc.stress_pnl(
        3.15,
        *(np.asarray(x) if isinstance(x, list) else x for x in args),
        np.array([-0.5, 0.0]),
        np.array([1.0]),
    )
    assert_allclose(a, b, rtol=0, atol=0)
    with pytest.raises(VolarbInputError, match="spot_shocks"):
        sc.stress_pnl(3.15, *args, [-1.0], [1.0])
    with pytest.raises(VolarbInputError, match="vol_mults"):
        sc.stress_pnl(3.15, *args, [0.0], [-0.1])


def _acct(kind, side, strike, qty, dte=20):
    n = len(kind)
    return sc.AccountBook(
        np.array(kind, dtype=object),
        np.array(side, dtype=object),
        np.asarray(strike, float),
        np.asarray(qty, float),
        np.full(n, dte),
        np.zeros(n, bool),
        np.array(["ASST"] * n, dtype=object),
    )


def test_excess_liquidity_by_hand_naked_puts_spread_and_cash_account():
    # two short puts at a node S = 2.00: $2.50 x 3 contracts marked 0.90, $4.00 x 1 marked 2.10
    # FINRA 4210 full per share: 0.90 + max(0.20 x 2.00 - 0, 0.10 x 2.50) = 1.30 -> net of value 0.40
    #                            2.10 + max(0.40 - 0, 0.40) = 2.50                -> net 0.40
    # requirement = 0.40 x 300 + 0.40 x 100 = 160; EL = 3,000 - 160 = 2,840
    book = _acct(["put", "put"], ["short", "short"], [2.5, 4.0], [3, 1])
    el = sc.excess_liquidity_adapter(3000.0, 2.0, [0.90, 2.10], book, MarginConfig())
    assert float(el) == pytest.approx(2840.0)
    # cash account: cash-secured puts need the strike in cash, net of the value: (2.50 - 0.90) x 300 + (4 - 2.10) x 100
    cash = sc.excess_liquidity_adapter(3000.0, 2.0, [0.90, 2.10], book, MarginConfig(account="cash"))
    assert float(cash) == pytest.approx(3000.0 - 480.0 - 190.0)
    # a put spread: short $4.00 against long $2.50, 1 x 1: width (4.00 - 2.50) x 100 = 150 full,
    # net of the values (-2.10 + 0.90) x 100: 150 - 120 = 30
    spread = _acct(["put", "put"], ["short", "long"], [4.0, 2.5], [1, 1])
    assert float(
        sc.excess_liquidity_adapter(3000.0, 2.0, [2.10, 0.90], spread, MarginConfig())
    ) == pytest.approx(2970.0)


def test_excess_liquidity_centre_node_is_the_account_models():
    from engine.plan.account import account_state

    cfg = default_config()
    pos = example_positions()
    marked = mark_book(pos, cfg)
    kind = marked["kind"].to_numpy(object)
    book = _acct(kind, marked["side"], marked["strike"], marked["contracts"])
    book = dataclasses.replace(book, dte=marked["dte"].to_numpy())
    el = sc.stress_excess_liquidity(
        cfg.account.starting_value,
        cfg.market.spot,
        marked["strike"],
        marked["t"],
        cfg.market.rate,
        marked["vol_used"],
        np.where(kind == "call", 1.0, -1.0),
        0.0,
        marked["sign"],
        marked["contracts"] * marked["multiplier"],
        book,
        cfg.margin,
        [-0.5, 0.0],
        [1.0, 1.5],
    )
    acct = account_state(pos, cfg, marked=marked)
    assert_allclose(el[1, 0], acct.excess_liquidity, rtol=1e-12)
    # the example book: requirement net of value = 1,098 for the 38 puts (100+100+125+425+96+126+126, FINRA
    # minimums) + the illustrative long calls paid in full (no loan value at <= 9 months: their model value
    # 1,202) = 2,300 against NLV 3,792 (engine.plan.account)
    assert round(cfg.account.starting_value - el[1, 0]) == 1098 + round(
        float(marked.loc[marked["kind"] == "call", "market_value"].sum())
    )
    assert el[0, 1] < el[1, 0]  # spot -50% with vol x1.5: less excess liquidity


def test_pnl_curve_today_is_the_unrealized_pnl_and_after_expiry_is_the_payoff_grid():
    from workbook.compute import payoff_grid

    cfg = default_config()
    pos = example_positions()
    marked = mark_book(pos, cfg)
    kind = marked["kind"].to_numpy(object)
    w = np.where(kind == "call", 1.0, -1.0)
    qty = marked["contracts"] * marked["multiplier"]
    args = (
        marked["strike"],
        marked["t"],
        cfg.market.rate,
        marked["vol_used"],
        w,
        0.0,
        marked["sign"],
        qty,
        marked["premium"],
    )
    today = sc.pnl_curve([cfg.market.spot], *args, at=0.0)
    assert_allclose(today, [marked["unrealized_pnl"].sum()], rtol=1e-12)
    prices, hand = payoff_grid(pos, cfg, 40, 3.0)  # independent implementation (workbook.compute)
    after = sc.pnl_curve(prices, *args, at=float(marked["t"].max()))
    assert_allclose(after, hand, rtol=0, atol=1e-9)


def test_exposure_by_expiry_sums_to_the_book_and_calendar_counts_a_short_call():
    marked = mark_book(example_positions())
    e = sc.exposure_by(marked, "expiry")
    for c in ("contracts", "delta_shares", "theta_day", "vega_point", "obligation", "margin"):
        assert_allclose(e[c].sum(), marked[c].sum(), rtol=1e-12, err_msg=c)
    assert e["share_of_obligation"].sum() == pytest.approx(1.0)
    # Oct 17: 5 x $2.00 + 5 x $2.50 = 1,000 + 1,250 obligation
    assert e["obligation"].iloc[0] == pytest.approx(2250.0)
    with pytest.raises(VolarbInputError, match="by must be"):
        sc.exposure_by(marked, "month")
    frame = pd.DataFrame(
        {
            "kind": ["call", "put"],
            "sign": [-1, -1],
            "strike": [3.0, 2.0],
            "contracts": [2, 1],
            "multiplier": [100, 100],
            "premium": [0.5, 0.4],
            "prob_itm": [0.6, 0.3],
            "expiry": [dt.date(2025, 10, 17)] * 2,
        }
    )
    cal = sc.assignment_calendar(frame, 3.15, dt.date(2025, 9, 27))
    row = cal.iloc[0]
    # the $3 call is ITM at 3.15: 200 shares called away; the $2 put is OTM
    assert (row["days"], row["weekday"], row["shares_if_assigned_now"]) == (20, "Fri", -200)
    assert row["cash_if_all_assigned"] == pytest.approx(200.0) and row["cash_if_itm_assigned"] == 0.0
    assert row["expected_assigned_shares"] == pytest.approx(0.6 * 200 + 0.3 * 100)
    assert row["premium_at_risk"] == pytest.approx(0.5 * 200 + 0.4 * 100)


def test_stock_rows_move_one_for_one_with_spot():
    # long 100 shares bought at 3.00 (w = 0) and short one $2.50 put at expiry: at S 2.00 the shares
    # lose 100 x (2.00 - 3.00) = -100 and the put (0.60 - 0.50) x 100 = +10
    args = ([0.0, 2.5], [0.0, 0.0], 0.04, [0.0, 4.25], [0.0, -1.0], 0.0, [1.0, -1.0], [100.0, 100.0])
    assert_allclose(sc.pnl_curve([2.0], *args, [3.0, 0.6], at=0.0), [-90.0], rtol=0, atol=1e-9)
    # instant: -50% spot from 3.15 moves the shares by -157.50 and the expired put by -(2.50 - 1.575) x 100
    assert_allclose(sc.stress_pnl(3.15, *args, [-0.5], [1.5])[0, 0], -157.5 - 92.5, rtol=0, atol=1e-9)
