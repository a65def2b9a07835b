"""Tests of the daily risk check (engine/risk/checks.py) and IV rank/percentile (engine/data/ivhistory.py)."""

from __future__ import annotations

import datetime as _dt
import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from engine.config import default_config
from engine.data.ivhistory import (
    IVHistoryError,
    example_iv_history,
    generate_example_iv_history,
    iv_percentile_series,
    iv_rank_percentile,
    read_iv_history,
)
from engine.data.positions import example_positions
from engine.risk.checks import (
    ALERT_NAMES,
    RiskError,
    daily_risk_check,
    portfolio_greeks,
    risk_report,
    strike_obligations,
)

VD = _dt.date(2025, 9, 27)


def _book(expiry=_dt.date(2025, 10, 17), prob=0.3):
    """A hand-made marked book: 10 short $2.50 puts and 2 short $4.00 puts, 1 long call."""
    return pd.DataFrame(
        {
            "kind": ["put", "put", "call"],
            "side": ["short", "short", "long"],
            "strike": [2.5, 4.0, 5.0],
            "expiry": [expiry] * 3,
            "contracts": [10, 2, 1],
            "prob_itm": [prob, 0.9, 0.1],
            "delta_shares": [-300.0, -150.0, 20.0],
            "delta_dollars": [-945.0, -472.5, 63.0],
            "gamma": [-40.0, -10.0, 2.0],
            "theta_day": [5.0, 2.0, -0.5],
            "vega_point": [-2.0, -1.0, 0.3],
            "obligation": [2500.0, 800.0, 0.0],
            "margin": [1400.0, 900.0, 0.0],
            "value": [-1000.0, -420.0, 30.0],
        }
    )


VAR = {"var": 150.0, "confidence": 0.95, "horizon_days": 1, "method": "full"}


def test_portfolio_greeks_and_obligations_by_hand():
    g = portfolio_greeks(_book(), shares=100, spot=3.15)
    # delta: -300 - 150 + 20 + 100 shares = -330; dollars: -1354.5 + 315 = -1039.5
    assert_allclose([g["delta_shares"], g["delta_dollars"]], [-330.0, -1039.5], rtol=1e-12)
    assert_allclose([g["gamma"], g["theta_day"], g["vega_point"]], [-48.0, 6.5, -2.7], rtol=1e-12)
    assert g["margin"] == 2300.0 and g["positions"] == 3
    assert strike_obligations(_book()).to_dict() == {2.5: 2500.0, 4.0: 800.0}
    with pytest.raises(RiskError, match="spot is needed when shares is not 0"):
        portfolio_greeks(_book(), shares=5)


def test_every_alert_ok_or_alert_by_hand():
    cfg = default_config()
    # PV 5000: delta limit 3500 (|-1354.5| OK), VaR limit 250 (150 OK), concentration 2000
    # (2500 ALERT), P&L 5000-4700 = +300 > 5% of 4700 = 235 (ALERT), margin 2300 < 5000 (OK)
    chk = daily_risk_check(
        None,
        cfg,
        5000.0,
        marked=_book(),
        var_result=VAR,
        previous_value=4700.0,
        iv_history=[1.0, 2.0, 3.0, 4.0, 2.5] * 5,
        valuation_date=VD,
    )
    assert chk["alert"].tolist() == list(ALERT_NAMES)
    t = chk.set_index("alert")
    assert_allclose(t.loc["HIGH_DELTA_EXPOSURE", ["value", "threshold"]].astype(float), [1354.5, 3500.0])
    assert t.loc["HIGH_DELTA_EXPOSURE", "status"] == "OK"
    assert t.loc["VAR_LIMIT_BREACH", "status"] == "OK" and t.loc["VAR_LIMIT_BREACH", "threshold"] == 250.0
    assert t.loc["CONCENTRATION_RISK", "status"] == "ALERT" and t.loc["CONCENTRATION_RISK", "value"] == 2500.0
    assert "strike x 100 x contracts" in t.loc["CONCENTRATION_RISK", "detail"]
    assert t.loc["DAILY_PNL_ALERT", "status"] == "ALERT" and t.loc["DAILY_PNL_ALERT", "value"] == 300.0
    assert t.loc["ASSIGNMENT_RISK", "status"] == "OK"  # 2025-10-17 is 14 trading days away
    # IV window of 25 values, today 2.5: 10 of the other 24 below 2.5 -> 41.67 (OK vs 30)
    assert_allclose(t.loc["LOW_IV_ENVIRONMENT", "value"], 100 * 10 / 24)
    assert t.loc["LOW_IV_ENVIRONMENT", "status"] == "OK"
    assert t.loc["BUYING_POWER_EXCEEDED", "status"] == "OK"
    assert set(chk["status"]) <= {"OK", "ALERT", "N/A"}


def test_alerts_fire_and_missing_inputs_are_na():
    cfg = default_config()
    # expiry Wednesday 2025-10-01 is 3 trading days after Saturday 2025-09-27 (Mon, Tue, Wed)
    book = _book(expiry=_dt.date(2025, 10, 1), prob=0.85)
    chk = daily_risk_check(None, cfg, 1000.0, marked=book, var_result=VAR, valuation_date=VD).set_index(
        "alert"
    )
    assert chk.loc["HIGH_DELTA_EXPOSURE", "status"] == "ALERT"  # 1354.5 > 700
    assert chk.loc["VAR_LIMIT_BREACH", "status"] == "ALERT"  # 150 > 50
    assert chk.loc["ASSIGNMENT_RISK", "status"] == "ALERT"
    assert_allclose(chk.loc["ASSIGNMENT_RISK", "value"], 0.9)  # the $4 put, 90%
    assert "3 trading days" in chk.loc["ASSIGNMENT_RISK", "detail"]
    assert chk.loc["BUYING_POWER_EXCEEDED", "status"] == "ALERT"  # 2300 > 1000
    assert chk.loc["DAILY_PNL_ALERT", "status"] == "N/A"
    # the $ threshold is 5% of yesterday's value: unknown without it (not the bare fraction 0.05)
    assert np.isnan(chk.loc["DAILY_PNL_ALERT", "threshold"])
    assert "limit: +-5% of it" in chk.loc["DAILY_PNL_ALERT", "detail"]
    assert chk.loc["LOW_IV_ENVIRONMENT", "status"] == "N/A"
    low = daily_risk_check(
        None, cfg, 1000.0, marked=book, var_result=VAR, valuation_date=VD, iv_history=[3.0] * 30 + [1.0]
    ).set_index("alert")
    assert (
        low.loc["LOW_IV_ENVIRONMENT", "status"] == "ALERT" and low.loc["LOW_IV_ENVIRONMENT", "value"] == 0.0
    )


def test_refused_portfolio_values():
    with pytest.raises(RiskError, match=r"portfolio_value must be a positive number of \$, got -5"):
        daily_risk_check(None, default_config(), -5, marked=_book(), var_result=VAR)
    with pytest.raises(RiskError, match=r"previous_value must be a positive number of \$, got 0"):
        daily_risk_check(None, default_config(), 5, marked=_book(), var_result=VAR, previous_value=0)


def test_risk_report_on_example_is_json_ready():
    rep = risk_report(example_positions(), default_config(), iv_history=example_iv_history())
    text = json.dumps(rep)
    assert [a["alert"] for a in rep["alerts"]] == list(ALERT_NAMES)
    assert rep["any_alert"] and "CONCENTRATION_RISK" in rep["alerting"]
    # $2.50: 5 + 17 contracts x 100 x 2.50 = 5,500 > 40% of 3,792 = 1,516.8
    conc = next(a for a in rep["alerts"] if a["alert"] == "CONCENTRATION_RISK")
    assert conc["value"] == 5500.0 and conc["threshold"] == pytest.approx(1516.8)
    assert rep["alerts"][3]["value"] is None and '"status": "N/A"' in text
    assert rep["var"]["var"] > 0 and rep["greeks"]["obligation"] == 9900.0


# ---------------------------------------------------------------------------------------------
# IV rank / percentile
# ---------------------------------------------------------------------------------------------


def test_iv_rank_percentile_by_hand():
    hist = [2.0, 3.0, 1.5, 4.0, 3.5, 2.5]
    r = iv_rank_percentile(hist, min_periods=2)
    # today 2.5; min 1.5, max 4.0: rank (2.5-1.5)/2.5 = 40%; lower: 2.0, 1.5 -> 2 of 5 = 40%
    assert_allclose([r["iv_rank"], r["iv_percentile"]], [40.0, 40.0])
    r = iv_rank_percentile(hist, window=3, min_periods=2)
    # window 4.0, 3.5, 2.5: rank 0, percentile 0
    assert (r["iv_rank"], r["iv_percentile"], r["observations"]) == (0.0, 0.0, 3)
    r = iv_rank_percentile(hist, current_iv=5.0, min_periods=2)
    assert (r["iv_rank"], r["iv_percentile"]) == (100.0, 100.0)
    assert np.isnan(iv_rank_percentile(hist)["iv_rank"])  # 6 < min_periods 20
    assert iv_rank_percentile([2.0] * 30)["iv_rank"] == 0.0
    assert_allclose(iv_percentile_series([1.0, 2.0, 0.5], window=2, min_periods=2), [np.nan, 100.0, 0.0])


def test_example_iv_history_is_regenerated_exactly_and_at_99th_percentile():
    ex = example_iv_history()
    gen = read_iv_history(generate_example_iv_history())
    assert ex["date"].tolist() == gen["date"].tolist()
    assert_allclose(ex["iv"], gen["iv"], rtol=0, atol=0)
    r = iv_rank_percentile(ex)
    assert_allclose(r["iv_percentile"], 100 * 249 / 251)


def test_iv_history_errors_name_file_line_column(tmp_path):
    p = tmp_path / "iv.csv"
    p.write_text("date,iv\n2025-01-02,4.2\n2025-01-03,425\n")
    with pytest.raises(IVHistoryError, match=r"iv.csv, line 3, column 'iv': '425' looks like a percentage"):
        read_iv_history(p)
    p.write_text("date,iv\n2025-01-02,-1\n")
    with pytest.raises(IVHistoryError, match=r"iv.csv, line 2, column 'iv': expected a positive decimal vol"):
        read_iv_history(p)
    p.write_text("date,iv\n02/01/2025,1\n")
    with pytest.raises(
        IVHistoryError, match=r"iv.csv, line 2, column 'date': expected YYYY-MM-DD, got '02/01/2025'"
    ):
        read_iv_history(p)
    p.write_text("day,iv\n2025-01-02,1\n")
    with pytest.raises(IVHistoryError, match=r"iv.csv: missing column 'date'"):
        read_iv_history(p)
    with pytest.raises(IVHistoryError, match="window must be >= 2, got 1"):
        iv_rank_percentile([1.0, 2.0], window=1)


def test_assignment_risk_on_the_expiry_day_itself():
    # A short put expiring today (the valuation date) and in the money is about to be assigned:
    # the alert must not say "no short option expires".  The $4 put at spot 3.15 is marked at
    # intrinsic (0.85) on its expiry day, probability ITM 1.
    cfg = default_config()
    pos = example_positions().copy()
    pos["expiry"] = VD
    chk = daily_risk_check(pos, cfg, 5000.0, var_result=VAR, valuation_date=VD).set_index("alert")
    assert chk.loc["ASSIGNMENT_RISK", "status"] == "ALERT", chk.loc["ASSIGNMENT_RISK", "detail"]
    assert_allclose(chk.loc["ASSIGNMENT_RISK", "value"], 1.0, rtol=0, atol=0)
    assert "0 trading days" in chk.loc["ASSIGNMENT_RISK", "detail"]
    # a position that expired yesterday is gone (assigned or worthless): not an upcoming risk
    pos["expiry"] = VD - _dt.timedelta(days=1)
    chk = daily_risk_check(pos, cfg, 5000.0, var_result=VAR, valuation_date=VD).set_index("alert")
    assert chk.loc["ASSIGNMENT_RISK", "status"] == "OK"


def test_daily_pnl_nets_out_the_monthly_deposit():
    cfg = default_config()
    # yesterday 4,700; today 8,900 after the plan's $4,000 deposit: P&L = 8900 - 4700 - 4000 = +200,
    # inside 5% of 4,700 = 235 (OK); counted as P&L the deposit alone would be +4,200 (ALERT)
    kw = dict(marked=_book(), var_result=VAR, previous_value=4700.0, valuation_date=VD)
    t = daily_risk_check(None, cfg, 8900.0, contribution=4000.0, **kw).set_index("alert")
    assert t.loc["DAILY_PNL_ALERT", "value"] == 200.0 and t.loc["DAILY_PNL_ALERT", "status"] == "OK"
    assert "net of +4,000 deposited" in t.loc["DAILY_PNL_ALERT", "detail"]
    t = daily_risk_check(None, cfg, 8900.0, **kw).set_index("alert")
    assert t.loc["DAILY_PNL_ALERT", "value"] == 4200.0 and t.loc["DAILY_PNL_ALERT", "status"] == "ALERT"
    with pytest.raises(RiskError, match="contribution must be a number of \\$, got nan"):
        daily_risk_check(None, cfg, 8900.0, contribution=float("nan"), **kw)


def test_assignment_measure_prob_touch_is_a_config_choice():
    """risk.assignment_measure = "prob_touch": the alert compares the touch probability
    (engine.prob_touch of each short, as mark_book reports it) instead of the probability ITM."""
    from engine.risk.book import mark_book

    pos = example_positions().copy()
    pos["expiry"] = _dt.date(2025, 10, 1)  # 3 trading days after Saturday 2025-09-27
    itm_cfg = default_config()
    touch_cfg = itm_cfg.replace(risk__assignment_measure="prob_touch")
    marked = mark_book(pos, touch_cfg, valuation_date=VD)
    shorts = marked[marked["side"] == "short"]
    assert (shorts["prob_touch"] >= shorts["prob_itm"]).all()
    by_itm = daily_risk_check(pos, itm_cfg, 5000.0, var_result=VAR, valuation_date=VD).set_index("alert")
    by_touch = daily_risk_check(pos, touch_cfg, 5000.0, var_result=VAR, valuation_date=VD).set_index("alert")
    assert_allclose(by_itm.loc["ASSIGNMENT_RISK", "value"], shorts["prob_itm"].max(), rtol=1e-12)
    assert_allclose(by_touch.loc["ASSIGNMENT_RISK", "value"], shorts["prob_touch"].max(), rtol=1e-12)
    assert "touching the strike" in by_touch.loc["ASSIGNMENT_RISK", "detail"]
    assert "probability ITM" in by_itm.loc["ASSIGNMENT_RISK", "detail"]
