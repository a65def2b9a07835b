"""Tests of the weekly review (engine/risk/review.py): hand arithmetic, too-little-data NaN, files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from engine.config import default_config
from engine.data.journal import ReviewError, read_journal
from engine.risk.review import (
    allocation_drift,
    brier_score,
    correlation,
    daily_returns,
    journal_metrics,
    max_drawdown,
    sharpe_ratio,
    weekly_review,
)

JOURNAL = pd.DataFrame(
    [
        # date, action, kind, strike, expiry, contracts, price, predicted_prob_itm
        ("2025-09-01", "sell", "put", 2.5, "2025-09-19", 10, 1.00, 0.30),
        ("2025-09-01", "sell", "put", 4.0, "2025-09-19", 2, 2.00, 0.70),
        ("2025-09-01", "buy", "call", 6.5, "2025-12-19", 3, 0.50, ""),
        ("2025-09-10", "buy", "put", 2.5, "2025-09-19", 4, 0.40, ""),
        ("2025-09-19", "expire", "put", 2.5, "2025-09-19", 6, 0.00, ""),
        ("2025-09-19", "assign", "put", 4.0, "2025-09-19", 2, 0.85, ""),
        ("2025-09-22", "sell", "call", 6.5, "2025-12-19", 3, 0.80, ""),
        ("2025-09-22", "sell", "put", 3.0, "2025-10-17", 5, 1.20, 0.40),
        ("2025-09-22", "sell", "put", 2.0, "2025-10-17", 5, 0.60, 0.20),
    ],
    columns=["date", "action", "kind", "strike", "expiry", "contracts", "price", "predicted_prob_itm"],
)


def test_journal_metrics_by_hand():
    m = journal_metrics(read_journal(JOURNAL))
    # shorts closed: 4 x (1.00 - 0.40) + 6 x (1.00 - 0) + 2 x (2.00 - 0.85) = 2.4 + 6 + 2.3 = 10.7
    # per share, on premium 10 x 1.00 + 2 x 2.00 = 14.0: capture 10.7 / 14 = 0.764286
    assert_allclose(m["premium_capture_rate"], 10.7 / 14.0, rtol=1e-12)
    assert_allclose(m["premium_closed"], 1400.0, rtol=1e-12)
    # hedge: 3 calls bought at 0.50, sold at 0.80: P&L 0.90 on cost 1.50 -> +60%
    assert_allclose(m["hedge_effectiveness"], 0.6, rtol=1e-12)
    # Brier over settled predicted puts: the 2.50 (p 0.30, expired -> 0) and the 4.00
    # (p 0.70, assigned -> 1): (0.09 + 0.09) / 2 = 0.09
    assert_allclose(m["brier_score"], 0.09, rtol=1e-12)
    assert m["brier_count"] == 2
    assert m["open_short_puts"] == {2.0: 5.0, 3.0: 5.0}


def test_allocation_drift_by_hand():
    # open: 5 x $2 (obligation 1000) and 5 x $3 (1500): actual 0.4 at $2, 0.6 at $3
    # targets 0.20/0.35/0.30/0.10/0.05: |0.4-0.2| + 0.35 + |0.6-0.3| + 0.10 + 0.05 = 1.0 -> 0.5
    cfg = default_config()
    d = allocation_drift({2.0: 5, 3.0: 5}, cfg.strikes.strikes, cfg.strikes.weights)
    assert_allclose(d["drift"], 0.5, rtol=1e-12)
    d = allocation_drift({2.0: 5, 7.0: 1}, [2.0], [1.0])
    # 1000 at $2, 700 off-plan: actual 1000/1700 vs 1 -> |1000/1700 - 1| + 700/1700 = 1400/1700; half
    assert_allclose(d["drift"], 700 / 1700, rtol=1e-12)
    assert math.isnan(allocation_drift({}, [2.0], [1.0])["drift"])


def test_return_metrics_by_hand():
    # equity 100 -> 110 -> 99 -> 1108.9 with a deposit of 1000 on the last day
    r = daily_returns([100.0, 110.0, 99.0, 1108.9], [0, 0, 0, 1000.0])
    assert_allclose(r, [0.10, -0.10, 0.10], rtol=1e-12)
    # mean 0.033333, std (ddof 1) 0.115470: sqrt(252) x 0.288675 = 4.582576
    assert_allclose(sharpe_ratio(r), math.sqrt(252) * (0.1 / 3) / 0.11547005383792516, rtol=1e-12)
    # index 1, 1.1, 0.99, 1.089: drawdown 1 - 0.99 / 1.1 = 0.1
    assert_allclose(max_drawdown(r), 0.1, rtol=1e-12)
    assert_allclose(sharpe_ratio(np.column_stack([r, r])), [sharpe_ratio(r)] * 2)
    assert_allclose(brier_score([1.0, 0.0, 0.5], [1, 1, 0]), (0 + 1 + 0.25) / 3)


def test_too_little_data_gives_nan():
    assert math.isnan(sharpe_ratio([0.01]))
    assert math.isnan(sharpe_ratio([0.01, 0.01]))  # zero spread
    assert math.isnan(max_drawdown([]))
    assert math.isnan(brier_score([], []))
    assert math.isnan(correlation([0.1, 0.2], [0.1, 0.3]))
    assert daily_returns([100.0]).size == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-0.5, 0.5), min_size=2, max_size=40), st.floats(0.0, 0.2))
def test_shifting_returns_up_cannot_raise_max_drawdown(r, shift):
    r = np.array(r)
    assert max_drawdown(r + shift) <= max_drawdown(r) + 1e-12
    assert 0.0 <= max_drawdown(r) <= 1.0


def test_weekly_review_end_to_end(tmp_path):
    dates = pd.bdate_range("2025-09-15", "2025-09-26").date
    eq = [1000.0, 1010.0, 1020.0, 1000.0, 1030.0, 1040.0, 1030.0, 1050.0, 1060.0, 1070.0]
    pd.DataFrame({"date": dates, "equity": eq}).to_csv(tmp_path / "eq.csv", index=False)
    JOURNAL.to_csv(tmp_path / "j.csv", index=False)
    btc = pd.DataFrame({"date": dates, "close": 60000.0 * np.array(eq) / 1000.0})
    iv = pd.DataFrame(
        {"date": pd.bdate_range(end="2025-09-26", periods=40).date, "iv": np.linspace(2.0, 4.0, 40)}
    )
    rev = weekly_review(tmp_path / "j.csv", tmp_path / "eq.csv", iv_history=iv, second_series=btc)
    # last week: 9/19 -> 9/26 (returns of 9/22 .. 9/26): 1070 / 1030 - 1
    assert_allclose(rev["weekly_return"], 1070 / 1030 - 1, rtol=1e-12)
    assert_allclose(rev["total_return"], 0.07, rtol=1e-12)
    assert_allclose(rev["correlation_second"], 1.0, rtol=1e-12)
    assert rev["iv_percentile"] == 100.0 and rev["iv_percentile_change"] == 0.0
    assert rev["as_of"] == "2025-09-26" and rev["brier_count"] == 2
    assert_allclose(rev["max_drawdown"], 1 - 1000 / 1020, rtol=1e-12)


def test_file_errors_name_file_line_column(tmp_path):
    bad = JOURNAL.copy()
    bad.loc[2, "action"] = "roll"
    with pytest.raises(
        ReviewError,
        match=r"trade journal, line 4, column 'action': must be one of sell, buy, expire, assign, exercise, got 'roll'",
    ):
        read_journal(bad)
    p = tmp_path / "j.csv"
    b2 = JOURNAL.copy()
    b2.loc[0, "predicted_prob_itm"] = 1.5
    b2.to_csv(p, index=False)
    with pytest.raises(
        ReviewError, match=r"j.csv, line 2, column 'predicted_prob_itm': must be in \[0, 1\], got '1.5'"
    ):
        read_journal(p)
    b3 = JOURNAL.drop(columns=["price"])
    with pytest.raises(ReviewError, match="trade journal: missing column 'price'"):
        read_journal(b3)
    e = tmp_path / "e.csv"
    e.write_text("date,equity\n2025-09-02,100\n2025-09-01,101\n")
    with pytest.raises(ReviewError, match=r"e.csv, line 3, column 'date': dates must be strictly increasing"):
        weekly_review(JOURNAL, e)


def test_read_journal_accepts_its_own_output():
    once = read_journal(JOURNAL)
    twice = read_journal(once)  # blank predictions come back as NaN: still accepted
    pd.testing.assert_frame_equal(once, twice)
    assert once["predicted_prob_itm"].isna().sum() == 5  # rows 3-7 of JOURNAL have none


def test_weekly_review_rebalancing_recommendation(tmp_path):
    dates = pd.bdate_range("2025-09-15", "2025-09-26").date
    pd.DataFrame({"date": dates, "equity": np.linspace(1000.0, 1070.0, len(dates))}).to_csv(
        tmp_path / "eq.csv", index=False
    )
    JOURNAL.to_csv(tmp_path / "j.csv", index=False)
    rev = weekly_review(tmp_path / "j.csv", tmp_path / "eq.csv")
    reb = rev["rebalancing"]
    assert reb["source"].startswith("journal open positions")
    # open at the end: 5 x $2.00 put sold 0.60 and 5 x $3.00 put sold 1.20 (Oct 17); the $6.50 calls
    # were bought and sold again.  Obligation 5 x 200 + 5 x 300 = 2,500 -> exact targets
    # 2500 x 0.20 / 200 = 2.5 -> 3, x 0.35 / 250 = 3.5 -> 4, x 0.30 / 300 = 2.5 -> 3, 0.625 -> 1, 0.25 -> 0
    strikes = {s["strike"]: s for s in reb["strikes"]}
    assert [strikes[k]["target"] for k in (2.0, 2.5, 3.0, 4.0, 5.0)] == [3, 4, 3, 1, 0]
    assert [strikes[k]["held"] for k in (2.0, 2.5, 3.0, 4.0, 5.0)] == [5, 0, 5, 0, 0]
    assert strikes[4.0]["action"] == "within band"  # held 0 is 0.625 from the exact target
    text = "\n".join(reb["recommendations"])
    assert "sell 4 x $2.50 put" in text
    # both over-weight lots were sold above today's model price: 2 of each bought back
    assert "buy 2 x $2.00 put 2025-10-17" in text and "buy 2 x $3.00 put 2025-10-17" in text
    # hedge budget 20% x (5 x 0.60 + 5 x 1.20) x 100 = $180: too small for any rung
    assert reb["hedge_budget"] == pytest.approx(180.0) and text.count("buys no whole contract") == 3
    # today's book given instead of the journal's
    from engine.data.positions import example_positions

    rev2 = weekly_review(tmp_path / "j.csv", tmp_path / "eq.csv", positions=example_positions())
    assert rev2["rebalancing"]["source"] == "positions"
    assert any(line.startswith("keep $2.50") for line in rev2["rebalancing"]["recommendations"])
