"""Marked book and strike ladder: QuantLib marks, hand arithmetic of the plan's table, status rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from engine import american_price, bs_price
from engine._validate import VolarbInputError
from engine.config import default_config
from engine.data.positions import example_positions, positions_from_records
from engine.pricing.surface import VolSurface
from engine.risk.book import ladder_summary, mark_book, position_status

CFG = default_config()  # spot 3.15, vol 4.25, r 0.04, q 0, valuation 2025-09-27


def example_puts():
    """The plan's 38 short puts: the example book without its illustrative long calls."""
    pos = example_positions()
    return pos[pos["kind"] == "put"].reset_index(drop=True)


def ql_american_put(spot, strike, days, rate, vol, kind="put"):
    import QuantLib as ql

    today = ql.Date(27, 9, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    proc = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)),
    )
    opt = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Put if kind == "put" else ql.Option.Call, strike),
        ql.AmericanExercise(today, today + days),
    )
    opt.setPricingEngine(ql.FdBlackScholesVanillaEngine(proc, 800, 800))
    return opt.NPV()


def rec(**kw):
    base = {
        "underlying": "ASST",
        "kind": "put",
        "side": "short",
        "strike": 2.5,
        "expiry": "2025-11-21",
        "contracts": 1,
        "premium": 1.0,
    }
    base.update(kw)
    return base


def book_of(*recs, **kw):
    return mark_book(positions_from_records(list(recs), "test"), CFG, **kw)


def test_example_marks_match_quantlib():
    book = mark_book(example_positions(), CFG)
    days = np.array([(e - CFG.valuation_date).days for e in book["expiry"]])
    ref = [
        ql_american_put(3.15, k, int(d), 0.04, 4.25, kind)
        for k, d, kind in zip(book["strike"], days, book["kind"], strict=True)
    ]
    np.testing.assert_allclose(
        book["mark"], ref, rtol=0, atol=2e-3, err_msg=f"strikes {book['strike'].tolist()}"
    )
    np.testing.assert_array_equal(book["dte"], days)
    np.testing.assert_allclose(book["t"], days / 365, rtol=0, atol=0)
    assert set(book["vol_source"]) == {"market"} and set(book["mark_basis"]) == {"model (american)"}


def test_example_calls_are_the_plans_1190_of_calls():
    # the plan: "Net Call Value: $1,190 (mostly long positions)", no strikes given; the example's
    # illustrative long calls: 2 x $3.50 Nov, 1 x $4.50 Jan, 2 x $7.50 Dec, 1 x $12 Jun 2026
    book = mark_book(example_positions(), CFG)
    calls = book[book["kind"] == "call"]
    assert calls["side"].eq("long").all() and calls["contracts"].tolist() == [2, 1, 2, 1]
    days = [(e - CFG.valuation_date).days for e in calls["expiry"]]
    ref = np.array(
        [ql_american_put(3.15, k, d, 0.04, 4.25, "call") for k, d in zip(calls["strike"], days, strict=True)]
    )
    # value = +mark x 100 x contracts, about the plan's $1,190 (within 2%)
    value = float((ref * 100 * calls["contracts"].to_numpy()).sum())
    np.testing.assert_allclose(calls["value"].sum(), value, rtol=0, atol=0.5)
    assert abs(value - 1190) / 1190 < 0.02, value
    # premium paid: 2 x 1.95 + 1 x 2.10 + 2 x 1.60 + 1 x 2.90 = 12.10 per share x 100 = $1,210
    np.testing.assert_allclose(calls["premium_total"].sum(), -1210.0, rtol=0, atol=1e-9)
    # paid in full, no loan value (9 months or less): each takes its value out of buying power
    assert calls["status"].eq("Long").all() and calls["obligation"].eq(0).all()
    np.testing.assert_allclose(calls["margin"], calls["value"], rtol=1e-12, atol=0)


def test_example_book_hand_arithmetic():
    book = mark_book(example_puts(), CFG)
    mark, n = book["mark"].to_numpy(), book["contracts"].to_numpy()
    # short: value = -mark x 100 x contracts; premium received +premium x 100 x contracts
    np.testing.assert_allclose(book["value"], -mark * 100 * n, rtol=1e-15, atol=0)
    np.testing.assert_allclose(book["premium_total"], [250, 350, 490, 1853, 244, 490, 672], rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        book["unrealized_pnl"], book["premium_total"] - mark * 100 * n, rtol=1e-14, atol=1e-9
    )
    np.testing.assert_allclose(
        book["obligation"], [1000, 1000, 1250, 4250, 600, 800, 1000], rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(book["moneyness"], book["strike"] / 3.15, rtol=1e-15, atol=0)
    # intrinsic of puts at 3.15: 0, 0, 0, 0, 0, 0.85, 1.85
    np.testing.assert_allclose(book["intrinsic"], [0, 0, 0, 0, 0, 0.85, 1.85], rtol=0, atol=1e-12)
    # Reg T net of the put's value (the basis compared with net liquidation value), first lot
    # (K=2, OTM by 1.15): max(0.20*3.15 - 1.15, 0.10*2) x 100 x 5 = 0.2 x 500 = 100
    assert abs(book["margin"][0] - 0.2 * 500) < 1e-9
    # K=5 lot (ITM): max(0.63 - 0, 0.5) x 100 x 2 = 0.63 x 200 = 126
    assert abs(book["margin"][6] - 0.63 * 200) < 1e-9
    # short puts: long delta, collect theta, short vega
    assert (
        (book["delta_shares"] > 0).all() and (book["theta_day"] > 0).all() and (book["vega_point"] < 0).all()
    )
    np.testing.assert_allclose(book["delta_dollars"], book["delta_shares"] * 3.15, rtol=1e-15, atol=0)


def test_greeks_scaled_from_the_core():
    from engine.pricing.greeks import greeks

    book = book_of(rec(contracts=3, side="long", kind="call", strike=4.0))
    g = greeks(3.15, 4.0, 55 / 365, 0.04, 4.25, "call", 0.0, style="american")
    np.testing.assert_allclose(
        book.loc[0, ["delta_shares", "gamma", "theta_day", "vega_point", "rho_point"]].to_numpy(float),
        [
            300 * g["delta"],
            300 * g["gamma"],
            300 * g["theta"] / 365,
            300 * g["vega"] / 100,
            300 * g["rho"] / 100,
        ],
        rtol=1e-12,
        atol=1e-12,
    )
    assert book["premium_total"][0] == -300.0  # paid for a long
    # a long option of <= 9 months is paid 100%: no requirement on the full basis, no loan value,
    # so net of value it ties up its whole market value
    assert book["requirement"][0] == 0 and book["ewl_value"][0] == 0
    assert book["margin"][0] == book["value"][0] > 0
    assert book["obligation"][0] == 0 and book["status"][0] == "Long"


def test_ladder_matches_the_plan_hand_arithmetic():
    lad = ladder_summary(mark_book(example_positions(), CFG))  # short puts only: calls do not enter
    body, total = lad.iloc[:-1], lad.iloc[-1]
    assert body["strike"].tolist() == [2.0, 2.5, 3.0, 4.0, 5.0]
    assert body["contracts"].tolist() == [10, 22, 2, 2, 2] and total["contracts"] == 38
    np.testing.assert_allclose(body["premium_collected"], [600, 2343, 244, 490, 672], rtol=0, atol=1e-9)
    assert abs(total["premium_collected"] - 4349) < 1e-9  # 600+2343+244+490+672
    # 22 of 38 contracts = 0.578947... (the plan prints 58%)
    assert abs(body["share_of_contracts"].iloc[1] - 22 / 38) < 1e-15
    np.testing.assert_allclose(body["premium_per_share"], [0.60, 1.065, 1.22, 2.45, 3.36], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        body["unrealized_pnl"], body["premium_collected"] - body["current_value"], rtol=0, atol=1e-9
    )
    assert body["status"].tolist() == ["Good", "Good", "Good", "Fair", "Fair"]  # the plan's labels
    # the model's current values are of the order of the plan's (730, 2640, 326, 556, 730)
    ratio = body["current_value"].to_numpy() / np.array([730, 2640, 326, 556, 730])
    assert np.all((ratio > 0.9) & (ratio < 1.15)), ratio
    book = mark_book(example_puts(), CFG)
    pw = (book["prob_itm"] * book["contracts"]).groupby(book["strike"]).sum() / book.groupby("strike")[
        "contracts"
    ].sum()
    np.testing.assert_allclose(body["prob_itm"], pw.to_numpy(), rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    "kind,side,strike,premium,expected",
    [
        ("put", "short", 3.15, 0.5, "Good"),  # at the money counts as OTM (strike <= spot)
        ("put", "short", 3.50, 0.5, "Fair"),  # ITM by 0.35, break-even 3.00 < spot
        ("put", "short", 3.50, 0.35, "Watch"),  # break-even 3.15 = spot: premium no longer covers it
        ("put", "short", 6.00, 1.0, "Watch"),
        ("call", "short", 4.00, 0.3, "Good"),
        ("call", "short", 3.00, 0.3, "Fair"),  # break-even 3.30 > spot
        ("call", "short", 2.50, 0.3, "Watch"),
        ("put", "long", 6.00, 1.0, "Long"),
    ],
)
def test_status_rule(kind, side, strike, premium, expected):
    assert position_status(kind, side, strike, premium, 3.15).tolist() == expected


def test_expired_positions_marked_at_intrinsic():
    book = book_of(
        rec(strike=4.0, expiry="2025-09-26", premium=1.2, contracts=2),
        rec(strike=2.0, expiry="2025-09-27"),
        rec(strike=2.0, expiry="2025-10-17"),
    )
    np.testing.assert_allclose(book["mark"][:2], [0.85, 0.0], rtol=0, atol=1e-15)
    # expired yesterday vs expiring today (still open: out of the money, so "Good")
    assert book["status"].tolist()[:2] == ["Expired", "Good"]
    assert book["mark_basis"].tolist() == [
        "intrinsic (expired)",
        "intrinsic (expires today)",
        "model (american)",
    ]
    assert book["dte"].tolist() == [-1, 0, 20] and book["t"].tolist()[:2] == [0.0, 0.0]
    assert book.loc[:1, ["delta_shares", "gamma", "theta_day", "vega_point"]].abs().to_numpy().sum() == 0
    assert book["margin"][0] == 0
    # today's short $2 put still carries Reg T margin at mark 0: max(0.20 x 3.15 - OTM 1.15, 0.10 x 2)
    # = 0.20 per share, x 100 x 1 contract = $20
    np.testing.assert_allclose(book["margin"][1], 20.0, rtol=0, atol=1e-9)
    assert book["prob_itm"].tolist()[:2] == [1.0, 0.0]
    # -0.85 x 100 x 2 + 1.2 x 100 x 2 = -170 + 240 = 70
    assert abs(book["unrealized_pnl"][0] - 70.0) < 1e-9
    lad = ladder_summary(book)
    assert lad["status"].tolist() == ["Good", "Expired", "Total"]


def test_vol_precedence_position_then_surface_then_market():
    surf = VolSurface([0.1, 0.3], [2.5, 2.5], [3.0, 3.0])
    recs = [rec(iv="200%"), rec(), rec()]
    pos = positions_from_records(recs, "test")
    book = mark_book(pos, CFG, surface=surf)
    assert book["vol_source"].tolist() == ["position", "surface", "surface"]
    np.testing.assert_allclose(book["vol_used"], [2.0, 3.0, 3.0], rtol=1e-14, atol=0)
    np.testing.assert_allclose(
        book["mark"][0], american_price(3.15, 2.5, 55 / 365, 0.04, 2.0, "put"), rtol=1e-12
    )
    book = mark_book(pos, CFG)
    assert book["vol_source"].tolist() == ["position", "market", "market"]
    assert book["vol_used"].tolist()[1:] == [4.25, 4.25]


def test_european_style_and_valuation_override():
    pos = example_positions()
    book = mark_book(pos, CFG, style="european", valuation_date=dt.date(2025, 10, 1))
    d = np.array([(e - dt.date(2025, 10, 1)).days for e in pos["expiry"]])
    np.testing.assert_allclose(
        book["mark"],
        bs_price(3.15, pos["strike"], d / 365, 0.04, 4.25, pos["kind"].tolist()),
        rtol=1e-14,
        atol=0,
    )
    amer = mark_book(pos, CFG)
    assert (amer["mark"].to_numpy() >= mark_book(pos, CFG, style="european")["mark"].to_numpy() - 1e-12).all()


def test_large_book_marks_like_its_parts():
    # vectorized over 2,100 lots: each copy of the example book is marked exactly as the book alone
    # (speed is measured in benchmarks/, not here)
    pos = pd.concat([example_positions()] * 300, ignore_index=True)
    book = mark_book(pos, CFG)
    small = mark_book(example_positions(), CFG)
    for col in ("mark", "delta_shares", "margin"):
        np.testing.assert_allclose(
            book[col].to_numpy().reshape(300, len(small)),
            np.tile(small[col].to_numpy(), (300, 1)),
            rtol=1e-12,
            atol=1e-12,
            err_msg=col,
        )


def test_refusals():
    with pytest.raises(VolarbInputError, match="positions table lacks column"):
        mark_book(pd.DataFrame({"strike": [2.5]}), CFG)
    with pytest.raises(VolarbInputError, match="style must be 'american' or 'european', got 'bermudan'"):
        mark_book(example_positions(), CFG, style="bermudan")
    with pytest.raises(VolarbInputError, match="expected the output of mark_book"):
        ladder_summary(example_positions())
    with pytest.raises(VolarbInputError, match="the book holds no short puts"):
        ladder_summary(book_of(rec(side="long")))


def test_short_call_margin_is_the_naked_call_requirement_and_a_cash_account_refuses_it():
    # The book's margin follows the account (margin.account), not the sizing rule (capital.model).
    # Margin account, $5 call, spot 3.15: OTM 5 - 3.15 = 1.85; 20% x 3.15 - 1.85 = -1.22 < 10% x 3.15
    # = 0.315, so 0.315 x 100 per contract net of the call's value, x 2 contracts = 63.
    cfg = CFG.replace(capital__model="cash_secured")
    book = mark_book(
        positions_from_records([rec(kind="call", strike=5.0, contracts=2, premium=2.0)], "test"), cfg
    )
    mark = float(book["mark"].iloc[0])
    np.testing.assert_allclose(
        book["margin"].iloc[0], 0.315 * 100 * 2, rtol=1e-12, atol=0, err_msg=f"mark {mark}"
    )
    np.testing.assert_allclose(book["requirement"].iloc[0], (mark + 0.315) * 100 * 2, rtol=1e-12, atol=0)
    # a cash account: the short put is cash-secured, strike x 100 x contracts full, (strike - mark) x 100 x 3 net
    cash = CFG.replace(margin__account="cash")
    put = mark_book(positions_from_records([rec(strike=2.5, contracts=3)], "test"), cash)
    pm = float(put["mark"].iloc[0])
    np.testing.assert_allclose(put["requirement"].iloc[0], 2.5 * 100 * 3, rtol=1e-12, atol=0)
    np.testing.assert_allclose(put["margin"].iloc[0], (2.5 - pm) * 100 * 3, rtol=1e-12, atol=0)
    # ... and an uncovered short call is refused, naming where it came from
    from engine.plan.account import AccountError

    with pytest.raises(
        AccountError,
        match=r"^test, line 2: a cash account \(margin.account = cash\) cannot be short an uncovered call",
    ):
        mark_book(
            positions_from_records([rec(kind="call", strike=5.0, contracts=2, premium=2.0)], "test"), cash
        )


def test_expiring_today_keeps_intrinsic_delta_margin_and_status():
    import datetime as dt

    from engine.config import default_config

    cfg = default_config()
    pos = example_puts()
    pos["expiry"] = [cfg.valuation_date] * (len(pos) - 1) + [cfg.valuation_date - dt.timedelta(days=1)]
    book = mark_book(pos, cfg)
    today, gone = book.iloc[:-1], book.iloc[-1]
    # spot 3.15: the $4.00 puts (2 contracts, short) are in the money: put delta -1 at expiry,
    # position delta = -(-1) x 2 x 100 = +200 shares; out-of-the-money strikes carry 0
    four = today[today["strike"] == 4.0]
    assert four["delta_shares"].tolist() == [200.0]
    assert today[today["strike"] < 3.15]["delta_shares"].eq(0.0).all()
    # still open: mark = intrinsic, margin charged, status not Expired
    assert four["mark"].tolist() == [4.0 - 3.15]
    assert (today["margin"] > 0).all()
    assert not today["status"].eq("Expired").any()
    assert set(today["mark_basis"]) == {"intrinsic (expires today)"}
    # yesterday's expiry is gone: no delta, no margin, Expired
    assert gone["delta_shares"] == 0 and gone["margin"] == 0 and gone["status"] == "Expired"
