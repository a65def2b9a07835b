"""The account model: FINRA 4210 / CBOE Margin Manual examples by hand, and its identities.

Bases: NLV = cash + signed market values; EWL = cash + value of positions with loan value;
full requirement (vs EWL); requirement net of value (vs NLV); excess liquidity = EWL - full
maintenance = NLV - net maintenance; buying power = EWL - full initial (available funds).
"""

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from engine.config import MarginConfig, default_config
from engine.data.positions import PositionsError, example_positions, positions_from_records, read_positions
from engine.plan.account import (
    AccountError,
    account_state,
    evaluate_account,
    long_dated,
    position_requirements,
)

CASH = MarginConfig(account="cash")
TOL = dict(rtol=0, atol=1e-6)


def example_puts():
    """The plan's 38 short puts: the example book without its illustrative long calls."""
    pos = example_positions()
    return pos[pos["kind"] == "put"].reset_index(drop=True)


def reqs(*rows, spot, margin=MarginConfig(), **kw):
    """rows: (kind, side, strike, qty, mark)."""
    k, s, x, q, m = zip(*rows, strict=True)
    return position_requirements(list(k), list(s), list(x), list(q), list(m), spot, margin, **kw)


# ---- the plan's book at S = 3.15 ---------------------------------------------------------------
def test_example_book_on_the_consistent_basis():
    # Reg T per lot, net of the put's value: max(0.20 x 3.15 - OTM, 0.10 x K) x 100 x contracts
    #   2.00 (OTM 1.15): max(-0.52, 0.20) = 0.20 -> 5 x 20 = 100, and 100 (Nov lot)
    #   2.50 (OTM 0.65): max(-0.02, 0.25) = 0.25 -> 5 x 25 = 125, 17 x 25 = 425
    #   3.00 (OTM 0.15): max(0.48, 0.30) = 0.48 -> 2 x 48 = 96
    #   4.00, 5.00 (ITM): max(0.63, 0.40 / 0.50) = 0.63 -> 2 x 63 = 126 each
    # total 100 + 100 + 125 + 425 + 96 + 126 + 126 = 1,098 against NLV 3,792 (the alert must not fire)
    a = account_state(example_puts(), default_config())
    assert_allclose(a.positions["margin"], [100, 100, 125, 425, 96, 126, 126], **TOL)
    assert_allclose(
        [a.maintenance_requirement_net, a.initial_requirement_net, a.net_liquidation],
        [1098, 1098, 3792],
        **TOL,
    )
    value = float(-a.positions["market_value"].sum())  # the puts' model value, 5,086.58
    # full basis: 1,098 + 5,086.58 against EWL = cash = 3,792 + 5,086.58
    assert_allclose(a.maintenance_requirement, 1098 + value, **TOL)
    assert_allclose(a.equity_with_loan_value, 3792 + value, **TOL)
    assert_allclose([a.excess_liquidity, a.buying_power], [3792 - 1098] * 2, **TOL)
    assert set(a.positions["strategy"]) == {"uncovered"}
    # the whole example adds its illustrative long calls (expiring within 9 months: paid in full, no
    # loan value): each takes its own value, mark x 100 x contracts, out of buying power
    full = account_state(example_positions(), default_config())
    calls = full.positions[full.positions["kind"] == "call"]
    assert_allclose(calls["margin"], calls["mark"] * 100 * calls["contracts"], **TOL)
    assert_allclose(full.buying_power, 3792 - 1098 - float(calls["margin"].sum()), **TOL)


def test_buying_power_alert_does_not_fire_on_the_example():
    from engine.risk.checks import daily_risk_check

    chk = daily_risk_check(example_puts(), default_config()).set_index("alert")
    row = chk.loc["BUYING_POWER_EXCEEDED"]
    assert row["status"] == "OK"
    assert_allclose([row["value"], row["threshold"]], [1098.0, 3792.0], **TOL)
    assert "equity with loan value" in row["detail"] and "net liquidation" in row["detail"]
    # a smaller account: NLV 1,000 < 1,098 -> fires
    chk = daily_risk_check(example_puts(), default_config(), 1000.0).set_index("alert")
    assert chk.loc["BUYING_POWER_EXCEEDED", "status"] == "ALERT"


# ---- naked options: both branches -------------------------------------------------------------
def test_naked_put_and_call_in_an_account():
    # 10 short $2.50 puts at 1.15 (S 3.15): full (1.15 + 0.25) x 1,000 = 1,400; 3 short $3.00 calls
    # at 2.20 (ITM): 20% branch (2.20 + 0.63) x 300 = 849.  Cash 2,000 + 1,150 + 660 = 3,810.
    a = evaluate_account(
        ["put", "call"], ["short", "short"], [2.5, 3.0], [10, 3], [1.15, 2.20], 3.15, cash=3810.0
    )
    assert_allclose(a.positions["requirement"], [1400.0, 849.0], **TOL)
    assert_allclose(a.net_liquidation, 3810 - 1150 - 660, **TOL)  # 2,000
    assert_allclose(a.equity_with_loan_value, 3810.0, **TOL)
    assert_allclose(a.excess_liquidity, 3810 - 2249, **TOL)  # 1,561
    assert_allclose(a.maintenance_requirement_net, 250 + 189, **TOL)  # 0.25 x 1000 + 0.63 x 300
    assert_allclose(a.excess_liquidity, a.net_liquidation - a.maintenance_requirement_net, **TOL)


# ---- covered calls ----------------------------------------------------------------------------
def test_cboe_covered_call_collar_protective_put_ibm():
    # CBOE "Margin Requirement Examples for Sample Options-based Positions" (strategy-based, net of
    # proceeds), IBM 97.73.  Covered call: long 10,000 IBM, short 100 April 100 calls @ 1.68:
    # 50% x 977,300 = 488,650 (shares counted at min(97.73, 100)) - 16,800 = 471,850.
    s = 97.73
    r = reqs(("stock", "long", math.nan, 10_000, s), ("call", "short", 100.0, 100, 1.68), spot=s)
    assert_allclose(r["requirement_initial"], [488_650.0, 0.0], **TOL)
    assert_allclose(r["margin_initial"].sum(), 471_850.0, **TOL)
    assert list(r["strategy"]) == ["covered stock", "covered call"]
    # protective put: + long 100 April 95 puts @ 1.02 paid in full: 488,650 + 10,200 = 498,850
    r = reqs(("stock", "long", math.nan, 10_000, s), ("put", "long", 95.0, 100, 1.02), spot=s)
    assert_allclose(r["margin_initial"].sum(), 498_850.0, **TOL)
    # collar: stock, long 95 put @ 1.02, short 105 call @ .40: 488,650 + 10,200 - 4,000 = 494,850
    r = reqs(
        ("stock", "long", math.nan, 10_000, s),
        ("put", "long", 95.0, 100, 1.02),
        ("call", "short", 105.0, 100, 0.40),
        spot=s,
    )
    assert_allclose(r["margin_initial"].sum(), 494_850.0, **TOL)
    # synthetic long: long 100 calls @ 1.68, short 100 puts @ 3.18 (ITM): 19.546 x 10,000 + 16,800 = 212,260
    r = reqs(("call", "long", 100.0, 100, 1.68), ("put", "short", 100.0, 100, 3.18), spot=s)
    assert_allclose(r["margin_initial"].sum(), 212_260.0, **TOL)
    # risk reversal: long 95 puts @ 1.02, short 105 calls @ .40: (19.546 - 7.27) x 10,000 + 10,200 = 132,960
    r = reqs(("put", "long", 95.0, 100, 1.02), ("call", "short", 105.0, 100, 0.40), spot=s)
    assert_allclose(r["margin_initial"].sum(), 132_960.0, **TOL)
    # long call spread: long 95 calls @ 4.53, short 105 calls @ .40: the debit, 45,300 - 4,000 = 41,300
    r = reqs(("call", "long", 95.0, 100, 4.53), ("call", "short", 105.0, 100, 0.40), spot=s)
    assert_allclose(r["margin_initial"].sum(), 41_300.0, **TOL)
    assert_allclose(r["requirement_initial"], [0.0, 0.0], **TOL)


def test_covered_call_in_the_money_counts_the_shares_at_the_strike():
    # 100 shares at 10, short 1 call K = 8 at 2.50: shares counted at 8, loan 50% x 800 = 400, so the
    # initial requirement is 1,000 - 400 = 600 (maintenance: 1,000 - 75% x 800 = 400); the call needs
    # nothing more.  Net of the call's 250 value: 350 initial, 150 maintenance.
    r = reqs(("stock", "long", math.nan, 100, 10.0), ("call", "short", 8.0, 1, 2.5), spot=10.0)
    assert_allclose(r["requirement_initial"], [600.0, 0.0], **TOL)
    assert_allclose(r["requirement"], [400.0, 0.0], **TOL)
    assert_allclose([r["margin_initial"].sum(), r["margin"].sum()], [350.0, 150.0], **TOL)


def test_partly_covered_calls_and_the_cash_account():
    # 150 shares cover one of two calls; the second is uncovered: 4.00 call at 0.50, S = 3.15:
    # OTM 0.85; 0.63 - 0.85 < 0.315 -> (0.50 + 0.315) x 100 = 81.50
    r = reqs(("stock", "long", math.nan, 150, 3.15), ("call", "short", 4.0, 2, 0.5), spot=3.15)
    assert_allclose(r["requirement"][1], 81.5, **TOL)
    assert r["strategy"][1] == "covered call + uncovered"
    # cash account: the covered part is allowed, the uncovered contract is refused
    with pytest.raises(
        AccountError,
        match=r"positions row 2: a cash account .* cannot be short an uncovered call "
        r"\(1 of 2 contracts at \$4",
    ):
        reqs(("stock", "long", math.nan, 150, 3.15), ("call", "short", 4.0, 2, 0.5), spot=3.15, margin=CASH)
    # fully covered in a cash account: shares paid 100% (315 + 157.5 = 472.5 on 150 shares), call nothing
    r = reqs(("stock", "long", math.nan, 150, 3.15), ("call", "short", 4.0, 1, 0.5), spot=3.15, margin=CASH)
    assert_allclose(r["requirement_initial"], [472.5, 0.0], **TOL)


def test_covered_call_without_shares_in_a_cash_account_names_the_file_and_line(tmp_path):
    p = tmp_path / "book.csv"
    p.write_text(
        "underlying,kind,side,strike,expiry,contracts,premium,shares\n"
        "ASST,stock,long,,,,2.10,100\n"
        "ASST,call,short,3.50,2025-10-17,2,0.40,\n",
        encoding="utf-8",
    )
    cfg = default_config().replace(margin__account="cash")
    with pytest.raises(AccountError) as exc:
        account_state(read_positions(p), cfg)
    assert str(exc.value).startswith(
        "book.csv, line 3: a cash account (margin.account = cash) cannot be short "
        "an uncovered call (1 of 2 contracts at $3.5 have no 100 shares each)"
    )


# ---- spreads ------------------------------------------------------------------------------------
def test_put_credit_spread_is_capped_at_the_width():
    # long 1 put K 120 @ 0.80, short 1 put K 125 @ 1.24 (stock 130): requirement the $500 width (naked
    # would be 1.24 + max(26 - 5, 12.5) = 22.24 -> 2,224); the long is paid in full (80); the 124
    # proceeds may be applied: 500 + 80 - 124 = 456 to deposit (the broker's worked example).
    r = reqs(("put", "long", 120.0, 1, 0.80), ("put", "short", 125.0, 1, 1.24), spot=130.0)
    assert_allclose(r["requirement_initial"], [0.0, 500.0], **TOL)
    assert_allclose(r["margin_initial"].sum(), 456.0, **TOL)
    # a narrow naked requirement caps the spread: K 125 vs long K 5 (width 12,000) at S = 200:
    # naked (1.24 + max(40 - 75, 12.5)) x 100 = 1,374 < 12,000
    r = reqs(("put", "long", 5.0, 1, 0.01), ("put", "short", 125.0, 1, 1.24), spot=200.0)
    assert_allclose(r["requirement_initial"][1], 1374.0, **TOL)
    # the long leg must not expire before the short one: then the short is uncovered
    r = reqs(("put", "long", 120.0, 1, 0.80), ("put", "short", 125.0, 1, 1.24), spot=130.0, dte=[10, 40])
    assert_allclose(r["requirement_initial"][1], 2224.0, **TOL)
    # the plan's strikes at S = 3.15: short 5 $2.50 puts at 1.15 over long 5 $2.00 puts at 0.70:
    # width 0.50 x 100 = 50 < naked 140 -> 250; net 250 - 575 + 350 = 25
    r = reqs(("put", "short", 2.5, 5, 1.15), ("put", "long", 2.0, 5, 0.70), spot=3.15)
    assert_allclose([r["requirement"][0], r["margin"].sum()], [250.0, 25.0], **TOL)


def test_put_debit_spread_needs_nothing_but_the_debit():
    r = reqs(("put", "long", 3.0, 2, 1.60), ("put", "short", 2.5, 2, 1.15), spot=3.15)
    assert_allclose(r["requirement_initial"], [0.0, 0.0], **TOL)
    assert_allclose(r["margin_initial"].sum(), (1.60 - 1.15) * 200, **TOL)


# ---- long options -------------------------------------------------------------------------------
def test_long_options_loan_value_after_nine_months():
    val = dt.date(2025, 9, 27)
    # 9 months out is 2026-06-27: not more than 9 months -> no loan value; a day later -> 25% loan value
    assert long_dated([dt.date(2026, 6, 27), dt.date(2026, 6, 28)], val).tolist() == [False, True]
    # 2 long calls marked 1.50: paid 100% -> EWL part 0, requirement 0, net 300 (its whole value)
    r = reqs(("call", "long", 4.5, 2, 1.50), spot=3.15)
    assert_allclose([r["ewl_value"][0], r["requirement"][0], r["margin"][0]], [0.0, 0.0, 300.0], **TOL)
    # the same as a LEAPS (> 9 months): EWL part 300, requirement 75% = 225, net 225 (loan 75)
    r = reqs(("call", "long", 4.5, 2, 1.50), spot=3.15, long_dated_mask=[True])
    assert_allclose([r["ewl_value"][0], r["requirement"][0], r["margin"][0]], [300.0, 225.0, 225.0], **TOL)
    # a cash account lends nothing, LEAPS or not
    r = reqs(("call", "long", 4.5, 2, 1.50), spot=3.15, long_dated_mask=[True], margin=CASH)
    assert_allclose([r["ewl_value"][0], r["margin"][0]], [0.0, 300.0], **TOL)


# ---- stock --------------------------------------------------------------------------------------
def test_assigned_stock_and_house_rules():
    # 5 $2.50 puts assigned: 500 shares, cost 2.50; at 3.15 the lot is worth 1,575: Reg T 50% = 787.50,
    # FINRA 25% = 393.75.  Cash 3,792 - 1,250 = 2,542: NLV 4,117, EWL 4,117, BP 3,329.50, excess 3,723.25.
    a = evaluate_account(["stock"], ["long"], [math.nan], [500], [3.15], 3.15, cash=2542.0)
    assert_allclose([a.initial_requirement, a.maintenance_requirement], [787.5, 393.75], **TOL)
    assert_allclose(
        [a.net_liquidation, a.equity_with_loan_value, a.buying_power, a.excess_liquidity],
        [4117.0, 4117.0, 3329.5, 3723.25],
        **TOL,
    )
    # a $5 low-price threshold: no loan value -> 100%
    a = evaluate_account(
        ["stock"],
        ["long"],
        [math.nan],
        [500],
        [3.15],
        3.15,
        cash=2542.0,
        margin=MarginConfig(low_price_threshold=5.0),
    )
    assert_allclose([a.initial_requirement, a.maintenance_requirement], [1575.0, 1575.0], **TOL)
    # the cash account: shares paid in full, never a margin call while cash >= 0
    a = evaluate_account(["stock"], ["long"], [math.nan], [500], [3.15], 3.15, cash=0.0, margin=CASH)
    assert_allclose([a.excess_liquidity, a.buying_power], [0.0, 0.0], **TOL)


def test_short_stock():
    # 100 shares short at 3.15 (< $5): maintenance 315 + max(100% x 315, 2.50 x 100) = 630; initial
    # max(150% x 315 = 472.50, 630) = 630.  At 20: 2,000 + max(30% x 2,000, 5 x 100) = 2,600; initial 3,000.
    r = reqs(("stock", "short", math.nan, 100, 3.15), spot=3.15)
    assert_allclose(
        [r["requirement_initial"][0], r["requirement"][0], r["margin"][0]], [630.0, 630.0, 315.0], **TOL
    )
    r = reqs(("stock", "short", math.nan, 100, 20.0), spot=20.0)
    assert_allclose([r["requirement_initial"][0], r["requirement"][0]], [3000.0, 2600.0], **TOL)
    with pytest.raises(AccountError, match="cannot be short stock"):
        reqs(("stock", "short", math.nan, 100, 3.15), spot=3.15, margin=CASH)


def test_cash_account_cash_secured_put_is_the_strike():
    a = evaluate_account(["put"], ["short"], [2.5], [4], [1.15], 3.15, cash=1000.0 + 460.0, margin=CASH)
    # 4 x 250 = 1,000 cash-secured; EWL = 1,460 -> BP 460 = NLV 1,000 - (1,000 - 460) net
    assert_allclose(
        [a.initial_requirement, a.buying_power, a.maintenance_requirement_net], [1000.0, 460.0, 540.0], **TOL
    )


def test_account_state_cash_and_nlv():
    pos = example_positions()
    a = account_state(pos, default_config(), cash=10_000.0)
    assert_allclose(a.cash, 10_000.0, **TOL)
    assert_allclose(a.net_liquidation, 10_000.0 + a.positions["market_value"].sum(), **TOL)
    b = account_state(pos, default_config(), net_liquidation=5000.0)
    assert_allclose(b.net_liquidation, 5000.0, **TOL)
    with pytest.raises(AccountError, match="give cash or net_liquidation, not both"):
        account_state(pos, default_config(), cash=1.0, net_liquidation=1.0)


# ---- positions CSV stock rows -------------------------------------------------------------------
def test_stock_rows_read_and_refused(tmp_path):
    p = tmp_path / "pos.csv"
    p.write_text(
        "underlying,kind,side,strike,expiry,contracts,premium,shares\n"
        "ASST,stock,long,,,,2.10,500\n"
        "ASST,put,short,2.50,2025-10-17,5,0.98,\n",
        encoding="utf-8",
    )
    df = read_positions(p)
    assert df["kind"].tolist() == ["stock", "put"] and df["shares"].tolist() == [500, 0]
    assert math.isnan(df["strike"][0]) and df["expiry"][0] is None and df["contracts"][0] == 0
    # stock rows in the book: value, P&L and delta of shares, requirement of long stock
    from engine.risk.book import mark_book

    book = mark_book(df, default_config())
    assert_allclose(
        [book["value"][0], book["unrealized_pnl"][0], book["delta_shares"][0]],
        [1575.0, 500 * (3.15 - 2.10), 500.0],
        **TOL,
    )
    assert_allclose(book["requirement_initial"][0], 787.5, **TOL)
    assert book["status"][0] == "Stock"
    bad = [
        (
            {"strike": "2.5"},
            "line 2, column 'strike': a stock row (kind = stock) leaves strike blank, got '2.5'",
        ),
        ({"contracts": "3"}, "line 2, column 'contracts': a stock row (kind = stock) leaves contracts blank"),
        ({"expiry": "2025-10-17"}, "line 2, column 'expiry': a stock row (kind = stock) leaves expiry blank"),
        (
            {"shares": ""},
            "line 2, column 'shares': a stock row (kind = stock) needs a positive whole number of shares",
        ),
        ({"shares": "-5"}, "line 2, column 'shares': expected a positive whole number of shares"),
        ({"shares": "12.5"}, "line 2, column 'shares': expected a positive whole number of shares"),
    ]
    base = {
        "underlying": "ASST",
        "kind": "stock",
        "side": "long",
        "strike": "",
        "expiry": "",
        "contracts": "",
        "premium": "2.10",
        "shares": "500",
    }
    for change, message in bad:
        rec = {**base, **change}
        p.write_text(",".join(rec) + "\n" + ",".join(rec.values()) + "\n", encoding="utf-8")
        with pytest.raises(PositionsError) as exc:
            read_positions(p)
        assert message in str(exc.value), (change, str(exc.value))
        assert str(exc.value).startswith("pos.csv, line 2, column")
    with pytest.raises(
        PositionsError, match=r"src, line 2, column 'shares': an option row takes 'contracts', not 'shares'"
    ):
        positions_from_records(
            [
                {
                    "underlying": "ASST",
                    "kind": "put",
                    "side": "short",
                    "strike": 2.5,
                    "expiry": "2025-10-17",
                    "contracts": 1,
                    "premium": 1.0,
                    "shares": 100,
                }
            ],
            "src",
        )


# ---- properties -------------------------------------------------------------------------------
_kind = st.sampled_from(["put", "call", "stock"])
_lot = st.tuples(
    _kind,
    st.sampled_from(["long", "short"]),
    st.sampled_from([2.0, 2.5, 3.0, 4.0, 5.0]),
    st.integers(1, 20),
    st.floats(0.0, 4.0),
    st.sampled_from([5, 30, 60]),
    st.booleans(),
)


def _book(lots, spot):
    """A book from generated lots; one option (kind, strike, expiry) has one mark, as in a market,
    and loan value goes with the expiry (the 60-day lots stand in for options of > 9 months)."""
    lots = [lt for lt in lots if not (lt[0] == "stock" and lt[1] == "short")] or [
        ("put", "short", 2.5, 1, 1.0, 30, False)
    ]
    marks: dict = {}
    kind = [lt[0] for lt in lots]
    side = [lt[1] for lt in lots]
    strike = [math.nan if lt[0] == "stock" else lt[2] for lt in lots]
    qty = [lt[3] * (100 if lt[0] == "stock" else 1) for lt in lots]
    mark = [spot if lt[0] == "stock" else marks.setdefault((lt[0], lt[2], lt[5]), lt[4]) for lt in lots]
    dte = [lt[5] for lt in lots]
    ld = [lt[0] != "stock" and lt[1] == "long" and lt[5] == 60 for lt in lots]
    return kind, side, strike, qty, mark, dte, ld


@settings(max_examples=80, deadline=None)
@given(st.lists(_lot, min_size=1, max_size=8), st.floats(0.5, 8.0), st.floats(-5000, 20000))
def test_excess_liquidity_is_the_same_on_both_bases(lots, spot, cash):
    kind, side, strike, qty, mark, dte, ld = _book(lots, spot)
    a = evaluate_account(kind, side, strike, qty, mark, spot, cash=cash, dte=dte, long_dated_mask=ld)
    assert_allclose(
        a.equity_with_loan_value - a.maintenance_requirement,
        a.net_liquidation - a.maintenance_requirement_net,
        rtol=1e-12,
        atol=1e-6,
    )
    assert_allclose(a.buying_power, a.net_liquidation - a.initial_requirement_net, rtol=1e-12, atol=1e-6)
    assert a.initial_requirement >= a.maintenance_requirement - 1e-9


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_lot, min_size=1, max_size=6),
    st.floats(0.5, 8.0),
    st.floats(0, 20000),
    _lot,
    st.sampled_from([MarginConfig(), MarginConfig(per_contract_floor=50.0, low_price_threshold=5.0)]),
)
def test_selling_and_buying_back_at_the_same_price_leaves_buying_power_unchanged(
    lots, spot, cash, trade, rules
):
    kind, side, strike, qty, mark, dte, ld = _book(lots, spot)
    before = evaluate_account(
        kind, side, strike, qty, mark, spot, cash=cash, margin=rules, dte=dte, long_dated_mask=ld
    )
    k, _, x, n, p, d, _ = trade
    k = "put" if k == "stock" else k
    for i in range(len(kind)):  # the market's one price for this option, if the book holds it
        if (kind[i], strike[i], dte[i]) == (k, x, d):
            p = mark[i]
    # sold (+ premium) then bought back (- the same premium): two offsetting lots, cash unchanged
    after = evaluate_account(
        kind + [k, k],
        side + ["short", "long"],
        strike + [x, x],
        qty + [n, n],
        mark + [p, p],
        spot,
        cash=cash,
        margin=rules,
        dte=dte + [d, d],
        long_dated_mask=ld + [False, d == 60],
    )
    assert_allclose(after.buying_power, before.buying_power, rtol=1e-12, atol=1e-6)
    assert_allclose(after.excess_liquidity, before.excess_liquidity, rtol=1e-12, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_lot, min_size=1, max_size=6), st.floats(0.5, 8.0), st.floats(-5000, 20000), st.floats(0, 10000)
)
def test_adding_cash_never_lowers_buying_power(lots, spot, cash, extra):
    kind, side, strike, qty, mark, dte, ld = _book(lots, spot)
    a = evaluate_account(kind, side, strike, qty, mark, spot, cash=cash, dte=dte, long_dated_mask=ld)
    b = evaluate_account(kind, side, strike, qty, mark, spot, cash=cash + extra, dte=dte, long_dated_mask=ld)
    assert b.buying_power >= a.buying_power - 1e-9
    assert_allclose(b.buying_power - a.buying_power, extra, rtol=1e-12, atol=1e-6)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(_lot, min_size=0, max_size=6),
    st.floats(0.5, 8.0),
    st.floats(0.5, 6.0),
    st.floats(0.05, 1.0),
    st.integers(1, 20),
    st.floats(0.0, 3.0),
    st.floats(0.0, 3.0),
    st.integers(1, 20),
    st.sampled_from([MarginConfig(), CASH]),
)
def test_a_long_put_below_a_short_put_never_raises_the_requirement(
    lots, spot, k_short, gap, n_short, p_short, p_long, n_long, rules
):
    lots = [lt for lt in lots if lt[0] != "call" and lt[0] != "stock"]  # puts only: valid in both accounts
    kind, side, strike, qty, mark, dte, ld = _book(lots, spot) if lots else ([], [], [], [], [], [], [])
    kind, side, strike = kind + ["put"], side + ["short"], strike + [k_short]
    qty, mark, dte, ld = qty + [n_short], mark + [p_short], dte + [30], ld + [False]
    a = evaluate_account(
        kind, side, strike, qty, mark, spot, cash=0.0, margin=rules, dte=dte, long_dated_mask=ld
    )
    b = evaluate_account(
        kind + ["put"],
        side + ["long"],
        strike + [max(k_short - gap, 0.01)],
        qty + [n_long],
        mark + [p_long],
        spot,
        cash=0.0,
        margin=rules,
        dte=dte + [30],
        long_dated_mask=ld + [False],
    )
    assert b.initial_requirement <= a.initial_requirement + 1e-9
    assert b.maintenance_requirement <= a.maintenance_requirement + 1e-9


@settings(max_examples=80, deadline=None)
@given(
    st.floats(0.5, 20.0),
    st.floats(0.5, 20.0),
    st.floats(0.0, 5.0),
    st.integers(1, 10),
    st.integers(0, 250),
    st.sampled_from([MarginConfig(), CASH, MarginConfig(low_price_threshold=5.0)]),
)
def test_a_covered_call_needs_no_more_than_the_shares_alone(spot, strike, extra, n, spare, rules):
    mark = max(spot - strike, 0.0) + extra  # a call is worth at least its intrinsic value
    shares = 100 * n + spare
    alone = position_requirements(["stock"], ["long"], [math.nan], [shares], [spot], spot, rules)
    both = position_requirements(
        ["stock", "call"], ["long", "short"], [math.nan, strike], [shares, n], [spot, mark], spot, rules
    )
    # the call needs nothing more, and what the pair takes from net liquidation is no more than the shares'
    assert both["requirement"][1] == 0.0 and both["requirement_initial"][1] == 0.0
    assert both["margin"].sum() <= alone["margin"].sum() + 1e-9
    assert both["margin_initial"].sum() <= alone["margin_initial"].sum() + 1e-9


def test_order_tickets_held_beyond_buying_power_and_under_firing_alerts():
    from engine.plan.orders import order_tickets

    cfg = default_config()
    acct = account_state(example_puts(), cfg)  # buying power 2,694
    trade = {
        "action": "sell",
        "underlying": "ASST",
        "kind": "put",
        "strike": 2.5,
        "expiry": "2025-11-21",
        "contracts": 120,
        "mid": 1.12,
    }
    t = order_tickets([trade], cfg.execution, account=acct, valuation_date=cfg.valuation_date, spot=3.15)
    # each 10-lot of $2.50 puts (OTM 0.65: 10% of strike binds) takes 10 x 25 = 250 of buying power:
    # 2,694 -> 2,444 -> ... -> 194 after ten slices; the eleventh would leave -56: held, and the twelfth too
    assert t["status"].tolist() == ["PROPOSED"] * 10 + ["HELD"] * 2
    assert_allclose(t["buying_power_after"][:10], 2694 - 250 * np.arange(1, 11), **TOL)
    assert t["reason"][10].startswith("would exceed buying power: available funds 194.00 -> -56.00 $")
    assert (t["reason"][:10] == "").all()
    # under a firing CONCENTRATION_RISK: the book's largest strike obligation is $2.50 x 100 x 22 = 5,500;
    # 10 more $2.50 puts raise it to 8,000 (held); 10 $2.00 puts (existing 2,000 + 2,000 = 4,000) do not
    # raise it (proposed), 20 more would (2,000 + 4,000 + 4,000 = 10,000 > 5,500)... in 10-lots: 4,000, then 6,000
    small = {**trade, "strike": 2.0, "contracts": 20, "mid": 0.70}
    t = order_tickets(
        [trade, small],
        cfg.execution,
        account=acct,
        valuation_date=cfg.valuation_date,
        spot=3.15,
        alerts=["CONCENTRATION_RISK"],
    )
    assert t["status"].tolist() == ["HELD"] * 12 + ["PROPOSED", "HELD"]
    assert t["reason"][0] == (
        "CONCENTRATION_RISK is firing and this short put raises the largest strike obligation "
        "to 8,000 $ (from 5,500)"
    )
    assert t["reason"][13].endswith("to 6,000 $ (from 5,500)")
    # under VAR_LIMIT_BREACH every short option is held; a long call is proposed
    hedge = {**trade, "action": "buy", "kind": "call", "strike": 4.5, "contracts": 1, "mid": 2.0}
    t = order_tickets(
        [trade, hedge],
        cfg.execution,
        account=acct,
        valuation_date=cfg.valuation_date,
        spot=3.15,
        alerts=["VAR_LIMIT_BREACH"],
    )
    assert t["status"].tolist() == ["HELD"] * 12 + ["PROPOSED"]
    # without an account nothing is held and buying_power_after is NaN
    t = order_tickets([trade], cfg.execution)
    assert set(t["status"]) == {"PROPOSED"} and t["buying_power_after"].isna().all()


def test_allocation_capped_by_buying_power_beside_the_literal_sizing():
    from engine.plan.allocation import allocate_strikes

    # $5,652 over the plan's ladder, Reg T net per contract 20/25/48/63/63 -> 56/79/35/8/4 contracts
    # (buying power 20x56 + 25x79 + 48x35 + 63x8 + 63x4 = 1,120 + 1,975 + 1,680 + 504 + 252 = 5,531);
    # with 2,694 of buying power they scale by 2,694 / 5,531 = 0.48707 -> 27/38/17/3/1
    df = allocate_strikes(
        5652,
        [2.0, 2.5, 3.0, 4.0, 5.0],
        [0.20, 0.35, 0.30, 0.10, 0.05],
        [0.70, 1.15, 1.60, 2.45, 3.36],
        3.15,
        model="reg_t",
        buying_power=2694.0,
    )
    assert df["contracts_sized"].tolist() == [56, 79, 35, 8, 4]
    assert df["contracts"].tolist() == [27, 38, 17, 3, 1]
    assert float(df["buying_power_used"].sum()) <= 2694.0
    assert df["capped"].all()
    # negative buying power: nothing new
    assert allocate_strikes(5652, [2.5], [1.0], [1.15], 3.15, buying_power=-10.0)["contracts"].tolist() == [0]


# ---- the CLI: one line naming file/line/column/key, exit 2, nothing written -----------------------
@pytest.mark.parametrize(
    "command, config, book, message",
    [
        (
            "risk",
            '[margin]\naccount = "cash"\n',
            "ASST,stock,long,,,,2.10,100\nASST,call,short,3.50,2025-10-17,2,0.40,\n",
            "book.csv, line 3: a cash account (margin.account = cash) cannot be short an uncovered call",
        ),
        (
            "build",
            '[margin]\naccount = "cash"\n',
            "ASST,call,short,3.50,2025-10-17,2,0.40,\n",
            "book.csv, line 2: a cash account (margin.account = cash) cannot be short an uncovered call",
        ),
        (
            "build",
            "[margin]\nper_contract_floor = -5\n",
            "ASST,put,short,2.50,2025-10-17,2,0.40,\n",
            "plan.toml: margin.per_contract_floor: must be >= 0, got -5.0",
        ),
        (
            "plan",
            "[margin]\nfloor = 5\n",
            "ASST,put,short,2.50,2025-10-17,2,0.40,\n",
            "plan.toml: margin: unknown key 'floor'",
        ),
        (
            "risk",
            "",
            "ASST,stock,long,2.5,,,2.10,100\n",
            "book.csv, line 2, column 'strike': a stock row (kind = stock) leaves strike blank, got '2.5'",
        ),
        (
            "build",
            "",
            "ASST,put,short,2.50,2025-10-17,2,0.40,\nASST,stock,long,,,3,2.10,100\n",
            "book.csv, line 3, column 'contracts': a stock row (kind = stock) leaves contracts blank, got '3'",
        ),
        (
            "build",
            "",
            "ASST,stock,long,2.5,,,2.10,300\n",
            "book.csv, line 2, column 'strike': a stock row (kind = stock) leaves strike blank, got '2.5'",
        ),
    ],
)
def test_cli_bad_account_input_exits_2_and_writes_nothing(tmp_path, capsys, command, config, book, message):
    from workbook.cli import main

    # valued at the plan's date: a config file without one is valued today (#11), when these
    # October 2025 lots are past expiry and out of the risk check
    (tmp_path / "plan.toml").write_text(
        '[market]\nvaluation_date = "2025-09-27"\n' + config, encoding="utf-8"
    )
    (tmp_path / "book.csv").write_text(
        "underlying,kind,side,strike,expiry,contracts,premium,shares\n" + book, encoding="utf-8"
    )
    out = tmp_path / "report.xlsx"
    extra = ["--out", str(out), "--paths", "20"] if command == "build" else []
    code = main(
        [command, "--config", str(tmp_path / "plan.toml"), "--positions", str(tmp_path / "book.csv"), *extra]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1, err
    assert not out.exists()


def test_cli_risk_and_plan_take_stock_rows_and_name_the_basis(tmp_path, capsys):
    from workbook.cli import main

    (tmp_path / "book.csv").write_text(
        "underlying,kind,side,strike,expiry,contracts,premium,shares\n"
        "ASST,stock,long,,,,2.10,500\nASST,call,short,3.00,2025-10-17,5,0.20,\n",
        encoding="utf-8",
    )
    assert main(["risk", "--positions", str(tmp_path / "book.csv")]) == 0
    out = capsys.readouterr().out
    # 500 shares covered by 5 $3.00 calls at S = 3.15: counted at 3.00, 50% loan -> 1,575 - 750 = 825 initial
    assert "initial requirement $ (full basis, vs EWL)" in out and "825.00" in out
    assert main(["plan", "--positions", str(tmp_path / "book.csv")]) == 0
    out = capsys.readouterr().out
    assert "capped by buying power" in out and "buying power $ (available funds: EWL - initial)" in out
