"""Rebalance toward the plan: hand-worked Month-1 adjustments, tolerance band, hedge restructure, gates."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from engine.config import ConfigError, config_from_dict, default_config
from engine.data.positions import example_positions, positions_from_records
from engine.plan.rebalance import RebalanceError, apply_trades, rebalance
from engine.risk.book import mark_book

CFG = default_config()  # spot 3.15, vol 4.25, r 4%, valuation 2025-09-27
RICH = 1e7  # a net liquidation that no order of these tests can exhaust, $
VD = dt.date(2025, 9, 27)


def ql_call(strike: float, expiry: dt.date, spot=3.15, vol=4.25, rate=0.04) -> float:
    """QuantLib European call (no dividend: the American call has the same value), $ per share."""
    import QuantLib as ql

    today = ql.Date(VD.day, VD.month, VD.year)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    proc = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)),
    )
    opt = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Call, strike),
        ql.EuropeanExercise(ql.Date(expiry.day, expiry.month, expiry.year)),
    )
    opt.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
    return opt.NPV()


def put(strike, contracts, premium, expiry="2025-11-21"):
    return {
        "underlying": "ASST",
        "kind": "put",
        "side": "short",
        "strike": strike,
        "expiry": expiry,
        "contracts": contracts,
        "premium": premium,
    }


def call(strike, contracts, premium=1.0, expiry="2026-01-16", side="long"):
    return {
        "underlying": "ASST",
        "kind": "call",
        "side": side,
        "strike": strike,
        "expiry": expiry,
        "contracts": contracts,
        "premium": premium,
    }


def book(*recs):
    return positions_from_records(list(recs), "test")


def by_strike(r):
    return {s.strike: s for s in r.strikes}


def cfg(**over):
    return CFG.replace(**over)


# --------------------------------------------------------------------------- the plan's Month 1
def test_month1_adjustments_on_the_example_book():
    r = rebalance(example_positions(), CFG, net_liquidation=RICH)
    # obligation held: 2 x 100 x 10 + 2.5 x 100 x 22 + 3 x 100 x 2 + 4 x 100 x 2 + 5 x 100 x 2 = 9,900
    assert r.obligation == pytest.approx(9900.0, abs=1e-9)
    s = by_strike(r)
    # exact targets 9900 x w / (K x 100): 9.9, 13.86, 9.9, 2.475, 0.99 -> nearest whole 10, 14, 10, 2, 1
    assert_allclose(
        [s[k].exact_target for k in (2.0, 2.5, 3.0, 4.0, 5.0)],
        [9.9, 13.86, 9.9, 2.475, 0.99],
        rtol=1e-12,
        atol=0,
    )
    assert [s[k].target for k in (2.0, 2.5, 3.0, 4.0, 5.0)] == [10, 14, 10, 2, 1]
    assert [s[k].held for k in (2.0, 2.5, 3.0, 4.0, 5.0)] == [10, 22, 2, 2, 2]
    # "Expand $3.00 Put Position (add 6-8 contracts)": 10 - 2 = 8
    assert s[3.0].action == "add" and s[3.0].sell == 8 and 6 <= s[3.0].sell <= 8
    assert s[3.0].obligation_difference == pytest.approx(8 * 300.0)
    assert s[3.0].premium_difference == pytest.approx(8 * 100 * s[3.0].new_put_premium, rel=1e-12)
    # "Maintain Strong $2.50 Put Concentration (22 contracts)": rebalance.keep_strikes = [2.5]
    assert s[2.5].action == "kept" and s[2.5].close == 0 and s[2.5].kept == 8
    lots25 = [lot for lot in r.lots if lot.strike == 2.5]
    assert len(lots25) == 2 and all("keep_strikes" in lot.reason for lot in lots25)
    # "Reduce $5.00 Put Exposure (close 1 contract if profitable)": the lot's buy-back (model mark
    # about 3.75 a share) is above its 3.36 sale premium, so it is kept and the reason says so
    lot5 = [lot for lot in r.lots if lot.strike == 5.0]
    assert len(lot5) == 1 and lot5[0].close == 0 and lot5[0].keep == 2
    assert lot5[0].buyback > lot5[0].premium == 3.36 and "close only if profitable" in lot5[0].reason
    assert s[5.0].action == "kept" and s[5.0].kept == 1
    # $2.00 and $4.00 stay: on target
    assert s[2.0].action == s[4.0].action == "on target"
    puts = r.tickets[r.tickets["kind"] == "put"]
    assert puts[["action", "strike", "contracts", "status"]].values.tolist() == [["sell", 3.0, 8, "PROPOSED"]]
    assert puts["expiry"].iloc[0] == dt.date(2025, 10, 17)  # put_expiry: next monthly at least 14 days out


def test_the_five_dollar_lot_is_closed_when_profitable():
    pos = example_positions()
    pos.loc[(pos["kind"] == "put") & (pos["strike"] == 5.0), "premium"] = 3.90  # sold higher than its mark
    r = rebalance(pos, CFG, net_liquidation=RICH)
    lot = [lot for lot in r.lots if lot.strike == 5.0][0]
    mark = float(mark_book(pos, CFG).query("kind == 'put' and strike == 5.0")["mark"].iloc[0])
    # target 1 of 2: one contract closed, one kept (target reached); P&L (3.90 - mark) x 100 x 1
    assert (lot.close, lot.keep) == (1, 1) and lot.buyback == pytest.approx(mark)
    assert lot.pnl_if_closed == pytest.approx((3.90 - mark) * 100, rel=1e-12)
    close = r.tickets[(r.tickets["kind"] == "put") & (r.tickets["effect"] == "close")]
    assert close[["action", "strike", "contracts", "status"]].values.tolist() == [["buy", 5.0, 1, "PROPOSED"]]
    assert by_strike(r)[5.0].premium_difference == pytest.approx(-mark * 100, rel=1e-12)


def test_without_keep_strikes_only_the_profitable_two_fifty_lot_is_closed():
    r = rebalance(example_positions(), cfg(rebalance__keep_strikes=[]), net_liquidation=RICH)
    lots = {(lot.expiry, lot.strike): lot for lot in r.lots if lot.strike == 2.5}
    oct_, nov = lots[(dt.date(2025, 10, 17), 2.5)], lots[(dt.date(2025, 11, 21), 2.5)]
    # need 22 - 14 = 8: the Oct lot (sold 0.98, buy-back ~0.775) is the cheapest and profitable: all 5;
    # the Nov lot (sold 1.09, buy-back ~1.35) is not: kept; 3 stay above the target
    assert oct_.buyback < oct_.premium and (oct_.close, oct_.keep) == (5, 0)
    assert nov.buyback > nov.premium and (nov.close, nov.keep) == (0, 17)
    s = by_strike(r)[2.5]
    assert (s.action, s.close, s.kept) == ("reduce", 5, 3)


# --------------------------------------------------------------------------- targets and the band
ON_TARGET = [put(2.0, 10, 0.7), put(2.5, 14, 1.0), put(3.0, 10, 1.2), put(4.0, 2, 2.0), put(5.0, 1, 3.0)]


def test_a_book_on_target_gets_no_orders():
    # obligation 2000 + 3500 + 3000 + 800 + 500 = 9,800; exact 9.8, 13.72, 9.8, 2.45, 0.98 -> 10, 14, 10, 2, 1
    r = rebalance(book(*ON_TARGET), cfg(allocation__call_share=0.0), net_liquidation=RICH)
    assert [s.difference for s in r.strikes] == [0, 0, 0, 0, 0]
    assert {s.action for s in r.strikes} == {"on target"}
    assert len(r.tickets) == 0 and len(r.trades) == 0 and r.warnings == ()
    assert r.hedge_budget == 0.0 and all(g.target == 0 for g in r.rungs)


def test_a_book_inside_the_tolerance_band_gets_no_orders():
    # 9 / 14 / 10 / 2 / 1: obligation 1800 + 3500 + 3000 + 800 + 500 = 9,600; exact targets
    # 9.6 (target 10, held 9: 0.6 off), 13.44 (target 13, held 14: 0.56 off), 9.6, 2.4, 0.96
    recs = [put(2.0, 9, 0.7), put(2.5, 14, 2.4), put(3.0, 10, 1.2), put(4.0, 2, 2.0), put(5.0, 1, 3.0)]
    c = cfg(allocation__call_share=0.0, rebalance__keep_strikes=[])
    r = rebalance(book(*recs), c, net_liquidation=RICH)
    s = by_strike(r)
    assert (s[2.0].difference, s[2.5].difference) == (1, -1)
    assert s[2.0].action == s[2.5].action == "within band" and len(r.tickets) == 0
    # with no band the same drift trades: sell 1 at $2.00, close 1 at $2.50 (sold 2.40: profitable)
    r0 = rebalance(book(*recs), c.replace(rebalance__tolerance_contracts=0.0), net_liquidation=RICH)
    got = r0.tickets[["action", "strike", "contracts", "effect"]].values.tolist()
    assert sorted(got) == [["buy", 2.5, 1, "close"], ["sell", 2.0, 1, "open"]]


def test_fixed_obligation_and_off_ladder_strike():
    # rebalance.obligation = 5,000 with one $3.50 lot off the ladder (weight 0: target 0)
    r = rebalance(
        book(put(3.5, 3, 3.0)),
        cfg(rebalance__obligation=5000.0, allocation__call_share=0.0),
        net_liquidation=RICH,
    )
    s = by_strike(r)
    # 5000 x 0.2 / 200 = 5; 5000 x 0.35 / 250 = 7; 5000 x 0.3 / 300 = 5; 5000 x 0.1 / 400 = 1.25 -> 1;
    # 5000 x 0.05 / 500 = 0.5 -> 1 (half up)
    assert [s[k].target for k in (2.0, 2.5, 3.0, 4.0, 5.0)] == [5, 7, 5, 1, 1]
    assert s[3.5].target == 0 and s[3.5].weight == 0 and "off the plan's ladder" in s[3.5].note
    mark = float(mark_book(book(put(3.5, 3, 3.0)), CFG)["mark"].iloc[0])
    assert mark < 3.0 and s[3.5].close == 3  # sold at 3.00 > buy-back: all 3 closed


# --------------------------------------------------------------------------- the call hedge
def test_hedge_budget_rungs_and_restructure_of_the_example_calls():
    r = rebalance(example_positions(), CFG, net_liquidation=RICH)
    # budget: call share 20% of the premium received on the short puts (4,349)
    assert r.hedge_ratio == 0.20 and r.hedge_budget == pytest.approx(0.2 * 4349.0, rel=1e-12)
    expiries = [
        dt.date(2026, 1, 16),
        dt.date(2026, 2, 20),
        dt.date(2026, 3, 20),
    ]  # monthly >= 90/120/150 days
    strikes = [4.5, 6.5, 9.5]  # 1.5/2/3 x 3.15 = 4.725/6.30/9.45 on the $0.50 grid
    assert [g.strike for g in r.rungs] == strikes and [g.expiry for g in r.rungs] == expiries
    ref = [ql_call(k, e) for k, e in zip(strikes, expiries, strict=True)]
    assert_allclose([g.price for g in r.rungs], ref, rtol=0, atol=2e-3)
    budgets = [0.4 * 869.8, 0.35 * 869.8, 0.25 * 869.8]  # 347.92, 304.43, 217.45
    assert_allclose([g.budget for g in r.rungs], budgets, rtol=1e-12)
    want = [math.floor(b / (p * 100)) for b, p in zip(budgets, ref, strict=True)]
    assert [g.target for g in r.rungs] == want == [1, 1, 0]
    calls = {c.strike: c for c in r.calls}
    # the $4.50 Jan-2026 call is exactly rung 1: kept and counted
    assert calls[4.5].action == "keep" and calls[4.5].rung == 1 and r.rungs[0].held == 1
    assert r.rungs[0].status == "on target" and r.rungs[0].buy == 0
    # the others match no rung: closed at their model value (mark x 100 x contracts)
    for k, n in ((3.5, 2), (7.5, 2), (12.0, 1)):
        assert calls[k].action == "close" and "no hedge rung" in calls[k].reason
        assert calls[k].value == pytest.approx(calls[k].mark * 100 * n, rel=1e-12)
    assert r.rungs[1].status == "buy" and r.rungs[1].buy == 1
    # rung 3: 217.45 buys no call at ~$241: bought 0, the leftover is the whole rung budget
    g3 = r.rungs[2]
    assert (
        g3.status == "budget too small"
        and g3.buy == 0
        and g3.leftover == pytest.approx(budgets[2], rel=1e-12)
    )
    assert "leftover $217.45" in g3.reason
    # net cash of the restructure: + the three closes - the rung-2 call, at the model mid
    proceeds = sum(calls[k].value for k in (3.5, 7.5, 12.0))
    assert r.restructure_net_cash == pytest.approx(proceeds - r.rungs[1].price * 100, rel=1e-12)
    # coverage, call notional per short-put contract: 6 calls x 100 x 3.15 / 38 before;
    # (1 kept + 1 bought) x 315 / (38 + 8 puts) after
    assert r.coverage_before == pytest.approx(6 * 315 / 38, rel=1e-12)
    assert r.coverage_after == pytest.approx(2 * 315 / 46, rel=1e-12)


def test_call_on_a_rung_is_kept_and_a_call_far_from_every_rung_is_closed():
    pos = book(put(2.5, 10, 1.0), call(6.5, 1, expiry="2026-02-20"), call(20.0, 3, expiry="2025-10-17"))
    r = rebalance(pos, CFG, net_liquidation=RICH)
    on, far = r.calls
    assert (on.action, on.rung) == ("keep", 2) and r.rungs[1].held == 1
    assert far.action == "close" and far.rung is None
    t = r.tickets[(r.tickets["kind"] == "call") & (r.tickets["effect"] == "close")]
    assert t[["action", "strike", "contracts"]].values.tolist() == [["sell", 20.0, 3]]
    # the tolerances (10% of the rung strike, 21 days): $7.00 on rung 2's expiry is 7.7% off $6.50: kept;
    # $7.20 is 10.8% off: closed; $6.50 on Mar 20 is 28 days past rung 2's Feb 20 (and 32% off rung 3's
    # $9.50): closed
    for k, e, rung in ((7.0, "2026-02-20", 2), (7.2, "2026-02-20", None), (6.5, "2026-03-20", None)):
        got = rebalance(book(put(2.5, 10, 1.0), call(k, 1, expiry=e)), CFG, net_liquidation=RICH).calls[0]
        assert got.rung == rung and got.action == ("keep" if rung else "close"), (k, e, got)


def test_hedge_budget_too_small_for_any_rung():
    # premium received 1 x 0.50 x 100 = $50; 20% = $10 for the hedge: no call costs that little
    r = rebalance(book(put(2.0, 1, 0.5)), CFG, net_liquidation=RICH)
    assert r.hedge_budget == pytest.approx(10.0)
    assert [g.buy for g in r.rungs] == [0, 0, 0] and {g.status for g in r.rungs} == {"budget too small"}
    assert_allclose([g.leftover for g in r.rungs], [4.0, 3.5, 2.5], rtol=1e-12)
    assert len(r.tickets[r.tickets["kind"] == "call"]) == 0


def test_dynamic_hedge_ratio():
    r = rebalance(book(put(2.5, 10, 1.0)), cfg(hedge__use_dynamic_ratio=True), net_liquidation=3792.0)
    # the plan's inputs: 0.2 x 1.3 x 1.5 = 0.39, capped at 0.35; premium 10 x 1.00 x 100 = 1,000
    assert r.hedge_ratio == pytest.approx(0.35) and r.hedge_budget == pytest.approx(350.0)
    # rebalance.hedge_budget gives the budget in $ instead: rung budgets 40/35/25% of it
    r = rebalance(book(put(2.5, 10, 1.0)), cfg(rebalance__hedge_budget=500.0), net_liquidation=RICH)
    assert r.hedge_budget == 500.0 and [g.budget for g in r.rungs] == pytest.approx([200.0, 175.0, 125.0])


def test_uncovered_short_call_flagged_and_covered_call_kept():
    pos = book(put(2.5, 10, 1.0), call(5.0, 2, side="short", expiry="2025-11-21"))
    r = rebalance(pos, CFG, net_liquidation=RICH)
    assert r.calls[0].action == "flag" and "not a covered call" in r.calls[0].reason
    assert any("position row 1" in w and "not a covered call" in w for w in r.warnings)
    assert not (r.tickets["position_row"] == 1).any()  # flagged, not closed automatically
    r2 = rebalance(pos, CFG, net_liquidation=RICH, shares=200)  # 2 contracts x 100 shares
    assert r2.calls[0].action == "keep" and r2.calls[0].reason.startswith("covered call")


# --------------------------------------------------------------------------- gates and bad input
def test_target_needing_more_buying_power_than_the_account_has():
    pos = book(put(2.0, 10, 0.7), put(2.5, 14, 1.0), put(3.0, 2, 1.2), put(4.0, 2, 2.0), put(5.0, 1, 3.0))
    c = cfg(allocation__call_share=0.0, rebalance__include_monthly_addition=False)
    s3 = by_strike(rebalance(pos, c, net_liquidation=RICH))[3.0]
    # obligation 2000 + 3500 + 600 + 800 + 500 = 7,400; 7400 x 0.3 / 300 = 7.4 -> 7; 7 - 2 = 5 to sell
    assert s3.target - s3.held == 5
    # margin account, FINRA 4210(f)(2)(G) at spot 3.15, requirement net of the put's value, $ a contract:
    # max(20% x 3.15 - OTM, 10% x K) x 100 = $2: max(0.63 - 1.15, 0.20) = 20; $2.50: max(-0.02, 0.25) = 25;
    # $3: max(0.48, 0.30) = 48; $4 and $5 (in the money): 63.  The book uses
    # 10 x 20 + 14 x 25 + 2 x 48 + 2 x 63 + 1 x 63 = 835; buying power = NLV - 835
    used = 10 * 20 + 14 * 25 + 2 * 48 + 2 * 63 + 1 * 63
    # room for 2.5 new $3 puts (48 each): the one 5-lot ticket (240) does not fit and is held whole
    r = rebalance(pos, c, net_liquidation=used + 2.5 * 48)
    assert r.buying_power.available == pytest.approx(2.5 * 48, abs=1e-6)
    t = r.tickets[r.tickets["kind"] == "put"]
    assert t[["status", "contracts"]].values.tolist() == [["HELD", 5]]
    assert (
        t["reason"].iloc[0].startswith("held: would exceed buying power") and "-120.00" in t["reason"].iloc[0]
    )
    assert r.buying_power_left == pytest.approx(2.5 * 48, abs=1e-6)
    assert len(r.warnings) == 1 and r.warnings[0].startswith("buying power:") and "\n" not in r.warnings[0]
    assert by_strike(r)[3.0].sell == 0 and by_strike(r)[3.0].sell_held == 5
    # room for 5.5: proposed, 0.5 x 48 = $24 left
    r = rebalance(pos, c, net_liquidation=used + 5.5 * 48)
    assert r.tickets.loc[r.tickets["kind"] == "put", "status"].tolist() == ["PROPOSED"]
    assert r.buying_power_left == pytest.approx(24.0, abs=1e-6) and r.warnings == ()


def test_risk_alert_holds_new_put_sales_but_not_closes():
    pos = example_positions()
    pos.loc[(pos["kind"] == "put") & (pos["strike"] == 5.0), "premium"] = 3.90
    r = rebalance(pos, CFG, net_liquidation=RICH, alerts=["VAR_LIMIT_BREACH"])
    t = r.tickets
    sale = t[(t["kind"] == "put") & (t["effect"] == "open")]
    # the order-ticket rule: a short sale under VAR_LIMIT_BREACH is held; the closes (a $5.00 put bought
    # back, three calls sold) go, and so does the hedge call (a purchase)
    assert (sale["status"] == "HELD").all() and sale["reason"].str.contains("VAR_LIMIT_BREACH").all()
    assert (t[t["effect"] == "close"]["status"] == "PROPOSED").all() and len(t[t["effect"] == "close"]) == 4
    assert (t[(t["kind"] == "call") & (t["effect"] == "open")]["status"] == "PROPOSED").all()
    assert any(w.startswith("risk alert VAR_LIMIT_BREACH firing") for w in r.warnings)
    # an alert outside rebalance.hold_on_alerts holds nothing
    r2 = rebalance(
        pos,
        cfg(rebalance__hold_on_alerts=["BUYING_POWER_EXCEEDED"]),
        net_liquidation=RICH,
        alerts=["VAR_LIMIT_BREACH"],
    )
    assert (r2.tickets["status"] == "PROPOSED").all()


def test_rung_with_no_listed_strike_near_it_is_held_with_the_key():
    listed = [2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 6.5, 7.0]  # nothing near 3 x 3.15 = 9.45
    r = rebalance(
        example_positions(), cfg(allocation__call_share=0.5), net_liquidation=RICH, listed_strikes=listed
    )
    g3 = r.rungs[2]
    assert g3.status == "held" and g3.buy == 0 and math.isnan(g3.strike)
    msg = [w for w in r.warnings if w.startswith("hedge.ladder[2]")]
    assert len(msg) == 1 and "no listed strike within" in msg[0] and "nearest $7.00" in msg[0]
    assert r.rungs[0].strike == 4.5 and r.rungs[1].strike == 6.5


def test_weights_not_summing_to_one():
    with pytest.raises(ConfigError, match="strikes.weights must sum to 1"):
        config_from_dict({"strikes": {"weights": [0.2, 0.35, 0.3, 0.1, 0.1]}})
    bad = dataclasses.replace(
        CFG, strikes=dataclasses.replace(CFG.strikes, weights=(0.2, 0.35, 0.3, 0.1, 0.1))
    )
    with pytest.raises(RebalanceError, match=r"^strikes.weights must sum to 1, they sum to 1.05$"):
        rebalance(example_positions(), bad)


def test_bad_rebalance_config_keys():
    with pytest.raises(ConfigError, match="rebalance.tolerance_contracts: must be >= 0"):
        config_from_dict({"rebalance": {"tolerance_contracts": -1}})
    with pytest.raises(ConfigError, match="rebalance.hold_on_alerts: unknown alert 'VAR'"):
        config_from_dict({"rebalance": {"hold_on_alerts": ["VAR"]}})
    with pytest.raises(ConfigError, match="unknown key 'tolerance'"):
        config_from_dict({"rebalance": {"tolerance": 1}})


def test_tickets_follow_the_execution_rules():
    pos = book(put(3.0, 1, 1.2))
    r = rebalance(pos, cfg(rebalance__obligation=9900.0, allocation__call_share=0.0), net_liquidation=RICH)
    t = r.tickets[(r.tickets["kind"] == "put") & (r.tickets["strike"] == 2.5)]
    # 9900 x 0.35 / 250 = 13.86 -> 14 contracts at $2.50: slices 10 + 4, limit = mid + 0.05 rounded up
    assert t["contracts"].tolist() == [10, 4] and set(t["order_type"]) == {"LIMIT"}
    mid = float(t["mid"].iloc[0])
    assert float(t["limit"].iloc[0]) == pytest.approx(
        math.ceil(round((mid + 0.05) / 0.05, 9)) * 0.05, abs=1e-9
    )


# --------------------------------------------------------------------------- property
strikes_st = st.sampled_from([2.0, 2.5, 3.0, 4.0, 5.0, 3.5])
# the premium as a share of the strike: a put sells for less than its strike (the reader refuses more)
lot_st = st.tuples(
    strikes_st, st.integers(1, 25), st.floats(0.02, 0.95), st.sampled_from(["2025-10-17", "2025-11-21"])
)
call_st = st.tuples(
    st.sampled_from([3.5, 4.5, 6.5, 9.5, 12.0]),
    st.integers(1, 4),
    st.sampled_from(["2025-11-21", "2026-01-16", "2026-02-20", "2026-03-20"]),
)


@settings(max_examples=25)
@given(
    lots=st.lists(lot_st, min_size=1, max_size=8),
    calls=st.lists(call_st, max_size=4),
    obligation=st.sampled_from([0.0, 4000.0, 12000.0]),
    tol=st.sampled_from([0.0, 1.0, 2.0]),
    keep=st.sampled_from([[], [2.5]]),
    budget=st.sampled_from([0.0, 300.0, 2500.0]),
)
def test_applying_the_orders_then_rebalancing_proposes_nothing(lots, calls, obligation, tol, keep, budget):
    recs = [put(k, n, round(p * k, 2), e) for k, n, p, e in lots] + [call(k, n, 1.0, e) for k, n, e in calls]
    pos = book(*recs)
    held_ob = sum(k * 100 * n for k, n, _, _ in lots)
    budget = budget or 0.01  # 0.01: no rung call (a hedge budget too small for any)
    # the target size (obligation) and the hedge budget fixed: a rebalance with the book's own size
    # and premium is one step (new sales add premium and obligation, so a second run shares out more)
    c = cfg(
        rebalance__obligation=obligation or float(held_ob),
        rebalance__tolerance_contracts=tol,
        rebalance__keep_strikes=keep,
        rebalance__hedge_budget=budget,
    )
    first = rebalance(pos, c, net_liquidation=RICH)
    after = apply_trades(pos, first.trades, VD)
    second = rebalance(after, c, net_liquidation=RICH)
    assert len(second.trades) == 0, second.trades[
        ["action", "kind", "strike", "contracts", "purpose"]
    ].to_string()
    # the put book after the orders is on target wherever a lot could be closed or a sale placed
    for s in second.strikes:
        if s.held != s.target:
            assert s.action in ("kept", "within band"), s


def test_json_ready():
    import json

    d = rebalance(example_positions(), CFG).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert '"valuation_date": "2025-09-27"' in text and isinstance(d["tickets"], list)
    assert pd.DataFrame(d["strikes"])["strike"].tolist() == [2.0, 2.5, 3.0, 4.0, 5.0]
    assert np.isfinite(d["hedge_budget"])


# --------------------------------------------------------------------------- CLI, report, review
def test_cli_rebalance_table_and_json(capsys, tmp_path):
    import json

    from conftest import run_cli

    code, out, err = run_cli(capsys, "rebalance")
    assert code == 0, err
    assert "put strikes" in out and "hedge rungs" in out and "rebalance order tickets" in out
    code, out, err = run_cli(capsys, "rebalance", "--json")
    assert code == 0, err
    d = json.loads(out)
    s = {r["strike"]: r for r in d["rebalance"]["strikes"]}
    assert s[3.0]["target"] - s[3.0]["held"] == 8 and s[2.5]["action"] == "kept"
    # the same daily risk check as `volarb risk`: its firing alerts hold the new put sales
    assert "VAR_LIMIT_BREACH" in d["alerting"]
    sale = [t for t in d["rebalance"]["tickets"] if t["kind"] == "put" and t["effect"] == "open"]
    assert sale and all(t["status"] == "HELD" and "VAR_LIMIT_BREACH" in t["reason"] for t in sale)
    # a bad config key: one line, exit 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[rebalance]\ntolerance_contracts = -2\n")
    code, out, err = run_cli(capsys, "rebalance", "--config", str(bad))
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "rebalance.tolerance_contracts: must be >= 0" in err


def test_report_orders_sheet_has_the_rebalance_section():
    from workbook.compute import compute_report
    from workbook.report import write_report

    data = compute_report(CFG, example_positions(), paths=20, seed=1)
    rb = data.rebalance
    assert "VAR_LIMIT_BREACH" in data.risk.alerting
    assert (
        rb.tickets.loc[(rb.tickets["kind"] == "put") & (rb.tickets["effect"] == "open"), "status"] == "HELD"
    ).all()
    ws = write_report(data)["Orders"]
    col_a = [c.value for c in ws["A"]]
    assert any(isinstance(v, str) and v.startswith("Rebalance toward the plan") for v in col_a)
    heads = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert {"Status", "Reason", "Purpose"} <= heads
    d = data.to_dict()
    assert d["rebalance"]["obligation"] == pytest.approx(9900.0)
