"""Expiry handling on a book straddling its expiries: lots past expiry leave every risk figure.

The example book's $2.00 and $2.50 October lots expire Friday 2025-10-17; valued Monday
2025-10-20 they are expired, the other five lots are live.  Every figure of the risk check must
equal the same figure of the five live lots alone (the reference: the book with the expired
rows deleted by hand).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from engine.config import default_config
from engine.data.positions import example_positions as _example_book
from engine.risk.book import mark_book
from engine.risk.checks import daily_risk_check, risk_report
from engine.risk.expiry import (
    expiry_actions,
    position_events,
    position_key,
    read_outcomes,
    shares_from_outcomes,
    split_expired,
)
from engine.risk.var import value_at_risk

MON = dt.date(2025, 10, 20)


def example_positions():
    """The plan's seven put lots of the example book (its four illustrative long-call lots, which
    expire later, left out so the counts below are the plan's)."""
    book = _example_book()
    return book[book["kind"] == "put"].reset_index(drop=True)


@pytest.fixture(scope="module")
def cfg():
    return default_config().replace(market__valuation_date=MON.isoformat(), risk__var_scenarios=20000)


def _live(pos):
    return pos[pos["expiry"] > dt.date(2025, 10, 17)].reset_index(drop=True)


def test_split_keeps_order_and_expiring_today_is_live():
    pos = example_positions()
    live, _, gone = split_expired(pos, MON)
    assert len(live) == 5 and len(gone) == 2 and (gone["expiry"] == dt.date(2025, 10, 17)).all()
    live_fri, _, gone_fri = split_expired(pos, dt.date(2025, 10, 17))
    assert len(live_fri) == 7 and gone_fri.empty  # expiring today: still open (assignment tonight)


def test_every_risk_figure_equals_the_live_book_alone(cfg):
    pos = example_positions()
    full = risk_report(pos, cfg)
    ref = risk_report(_live(pos), cfg)
    assert full["expired_lots"] == 2 and ref["expired_lots"] == 0
    for k, v in ref["greeks"].items():
        assert_allclose(full["greeks"][k], v, rtol=1e-12, atol=1e-9, err_msg=k)
    assert_allclose(full["var"]["var"], ref["var"]["var"], rtol=1e-12)
    assert_allclose(full["var"]["es"], ref["var"]["es"], rtol=1e-12)
    assert [(a["alert"], a["status"]) for a in full["alerts"]] == [
        (a["alert"], a["status"]) for a in ref["alerts"]
    ]
    # concentration by hand: at $2.50 only the November lot is left, 2.50 x 100 x 17 = $4,250
    conc = {a["alert"]: a for a in full["alerts"]}["CONCENTRATION_RISK"]
    assert conc["value"] == pytest.approx(2.5 * 100 * 17)


def test_var_of_the_engine_alone_ignores_expired_lots(cfg):
    pos = example_positions()
    a = value_at_risk(pos, cfg, method="full")
    b = value_at_risk(_live(pos), cfg, method="full")
    assert a["var"] == b["var"] and a["value"] == b["value"]


def test_all_lots_expired_no_alert_from_them():
    """The issue's case: all seven example lots expired gave VaR $1,902.63 ALERT and
    CONCENTRATION_RISK $5,500 ALERT; with nothing live there is no risk to alert on."""
    late = default_config().replace(market__valuation_date="2026-01-05")
    chk = daily_risk_check(example_positions(), late).set_index("alert")
    assert chk.loc["VAR_LIMIT_BREACH", "value"] == 0.0
    assert chk.loc["CONCENTRATION_RISK", "value"] == 0.0
    assert (chk["status"] != "ALERT").all()


def test_mark_book_expired_lot_obliges_nothing():
    book = mark_book(example_positions(), default_config(), valuation_date=MON)
    assert book.loc[book["dte"] < 0, "obligation"].tolist() == [0.0, 0.0]
    assert book.loc[book["dte"] < 0, "status"].tolist() == ["Expired", "Expired"]
    assert book.loc[book["dte"] >= 0, "obligation"].tolist() == [1000.0, 4250.0, 600.0, 800.0, 1000.0]


def test_expired_itm_short_put_becomes_a_share_lot_at_strike_minus_premium():
    cfg = default_config().replace(market__spot=2.2)  # below 2.50, above 2.00
    acts = expiry_actions(example_positions(), cfg, MON)
    by = {a.key: a for a in acts}
    p25 = by["ASST 2025-10-17 P2.5 short"]
    assert p25.in_the_money and p25.expected_outcome == "assigned"
    assert p25.share_lot.shares == 500 and p25.share_lot.price == 2.5
    assert p25.share_lot.basis == pytest.approx(2.50 - 0.98)  # the plan: cost basis = strike - premium
    assert "500 shares received at $2.50, cost basis $1.52" in p25.action
    p20 = by["ASST 2025-10-17 P2 short"]
    assert not p20.in_the_money and p20.expected_outcome == "expired_worthless" and p20.share_lot is None


def test_close_on_the_expiry_date_decides_over_todays_spot():
    cfg = default_config().replace(market__spot=3.15)  # today: both out of the money
    prices = pd.DataFrame(
        {
            "date": [dt.date(2025, 10, 16), dt.date(2025, 10, 17), dt.date(2025, 10, 20)],
            "close": [2.6, 1.9, 3.15],
        }
    )
    acts = {a.key: a for a in expiry_actions(example_positions(), cfg, MON, prices=prices)}
    a = acts["ASST 2025-10-17 P2 short"]
    assert a.spot_at_expiry == 1.9 and a.spot_basis == "close on 2025-10-17"
    assert a.expected_outcome == "assigned" and a.share_lot.basis == pytest.approx(2.00 - 0.50)


def test_other_kinds_share_lots():
    pos = pd.DataFrame(
        {
            "underlying": ["ASST"] * 3,
            "kind": ["call", "call", "put"],
            "side": ["short", "long", "long"],
            "strike": [3.0, 3.0, 4.0],
            "expiry": [dt.date(2025, 10, 17)] * 3,
            "contracts": [2, 1, 1],
            "premium": [0.4, 0.5, 0.3],
        }
    )
    acts = expiry_actions(pos, default_config().replace(market__spot=3.5), MON)
    lots = [(a.share_lot.shares, a.share_lot.basis, a.share_lot.basis_label) for a in acts]
    assert lots[0] == (-200, pytest.approx(3.4), "effective sale price")  # called away at 3 + 0.40
    assert lots[1] == (100, pytest.approx(3.5), "cost basis")  # exercised at 3 + 0.50 paid
    assert lots[2] == (-100, pytest.approx(3.7), "effective sale price")  # put at 4 - 0.30 paid
    # at the money within a cent is not exercised (OCC exercise by exception: 0.01 ITM)
    atm = expiry_actions(pos.iloc[[0]], default_config().replace(market__spot=3.005), MON)[0]
    assert atm.expected_outcome == "expired_worthless"


def test_outcomes_recorded_events_and_uncovered_shares(tmp_path):
    f = tmp_path / "outcomes.csv"
    f.write_text("underlying,kind,side,strike,expiry,outcome\nASST,P,S,2.5,10/17/2025,assigned\n")
    out = read_outcomes(f)
    assert out["key"].tolist() == ["ASST 2025-10-17 P2.5 short"]
    cfg = default_config().replace(market__valuation_date=MON.isoformat())
    pos = example_positions()
    shares = shares_from_outcomes(out, pos)
    assert shares == 500  # 5 contracts x 100
    book = mark_book(pos, cfg)
    ev = position_events(book, cfg, outcomes=out, shares_held=shares)
    names = [(e.alert, e.key) for e in ev]
    assert ("EXPIRED_UNRECORDED", "ASST 2025-10-17 P2 short") in names
    assert ("EXPIRED_UNRECORDED", "ASST 2025-10-17 P2.5 short") not in names  # recorded
    assert ("UNCOVERED_SHARES", "ASST shares") in names
    acts = {a.key: a for a in expiry_actions(pos, cfg, outcomes=out)}
    assert acts["ASST 2025-10-17 P2.5 short"].action == "recorded as assigned; nothing to do"
    # five covered calls cover the 500 shares
    calls = pd.concat(
        [
            pos,
            pd.DataFrame(
                [
                    {
                        "underlying": "ASST",
                        "kind": "call",
                        "side": "short",
                        "strike": 3.0,
                        "expiry": dt.date(2025, 11, 21),
                        "contracts": 5,
                        "premium": 0.9,
                        "open_date": None,
                        "iv": np.nan,
                        "note": "",
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    ev2 = position_events(mark_book(calls, cfg), cfg, outcomes=out, shares_held=shares)
    assert "UNCOVERED_SHARES" not in {e.alert for e in ev2}


def test_near_expiry_and_itm_events_by_hand():
    cfg = default_config().replace(alerts__expiry_days=3)
    book = mark_book(example_positions(), cfg, valuation_date=dt.date(2025, 10, 14))
    ev = position_events(book, cfg, dt.date(2025, 10, 14))
    near = sorted(e.key for e in ev if e.alert == "SHORT_NEAR_EXPIRY")
    assert near == ["ASST 2025-10-17 P2 short", "ASST 2025-10-17 P2.5 short"]  # 3 days <= 3
    ev4 = position_events(book, cfg.replace(alerts__expiry_days=2), dt.date(2025, 10, 14))
    assert not any(e.alert == "SHORT_NEAR_EXPIRY" for e in ev4)  # 3 days > 2
    itm = sorted(e.key for e in ev if e.alert == "SHORT_ITM")
    assert itm == ["ASST 2025-12-19 P4 short", "ASST 2025-12-19 P5 short"]  # strikes above spot 3.15


def test_bad_outcomes_rows_named(tmp_path):
    from engine.risk.expiry import OutcomesError

    f = tmp_path / "o.csv"
    f.write_text(
        "underlying,kind,side,strike,expiry,outcome\nASST,put,short,2.5,2025-10-17,sold\n"
        "ASST,put,short,-1,2025-10-17,assigned\n"
    )
    with pytest.raises(OutcomesError) as e:
        read_outcomes(f)
    text = str(e.value)
    assert "line 2, column outcome" in text and "'sold'" in text and "line 3, column strike" in text


def test_position_key_is_stable():
    assert position_key("asst", "Put", "SHORT", 2.50, "2025-10-17") == "ASST 2025-10-17 P2.5 short"


def test_stock_rows_never_expire_and_are_the_shares_held(tmp_path):
    from engine.data.positions import read_positions
    from engine.risk.expiry import expired_mask, shares_held

    f = tmp_path / "book.csv"
    f.write_text(
        "underlying,kind,side,strike,expiry,contracts,premium,shares\n"
        "ASST,stock,long,,,,1.52,300\n"
        "ASST,call,short,3.0,2025-11-21,2,0.40,\n"
        "ASST,put,short,2.5,2025-10-17,5,0.98,\n"
    )
    pos = read_positions(f)
    assert expired_mask(pos, MON).tolist() == [False, False, True]
    assert shares_held(pos) == 300
    cfg = default_config().replace(market__valuation_date=MON.isoformat())
    ev = position_events(mark_book(pos, cfg), cfg, shares_held=shares_held(pos))
    # 300 shares, 2 covered calls (200 shares): 100 uncovered, one contract's worth
    unc = [e for e in ev if e.alert == "UNCOVERED_SHARES"]
    assert len(unc) == 1 and unc[0].detail.startswith("100 of 300 ASST shares have no covered call")
    assert [a.key for a in expiry_actions(pos, cfg)] == ["ASST 2025-10-17 P2.5 short"]
