"""The valuation clock: "today" in the exchange's time zone, --as-of, the previous session, staleness."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.config import config_from_dict, default_config, load_config
from engine.data.calendar import exchange_today, session_on_or_before, sessions_between
from engine.data.clock import resolve_clock

UTC = dt.UTC


def test_exchange_today_uses_new_york_not_utc():
    # 2025-10-18 01:30 UTC is Friday 21:30 in New York (EDT, UTC-4); 2025-12-06 04:30 UTC is
    # Friday 23:30 (EST, UTC-5): both still Friday at the exchange
    assert exchange_today("XNYS", dt.datetime(2025, 10, 18, 1, 30, tzinfo=UTC)) == dt.date(2025, 10, 17)
    assert exchange_today("XNYS", dt.datetime(2025, 12, 6, 4, 30, tzinfo=UTC)) == dt.date(2025, 12, 5)
    assert exchange_today("XNYS", dt.datetime(2025, 12, 6, 5, 30, tzinfo=UTC)) == dt.date(2025, 12, 6)


def test_sessions_by_hand():
    # Thanksgiving 2025-11-27 closed: Wed 26 -> Mon Dec 1 is Fri 28 and Mon 1
    assert sessions_between("2025-11-26", "2025-12-01") == 2
    assert sessions_between("2025-12-01", "2025-11-26") == 0
    assert session_on_or_before("2025-11-27") == dt.date(2025, 11, 26)
    assert session_on_or_before("2025-10-17") == dt.date(2025, 10, 17)


def test_today_on_a_sunday_is_fridays_session():
    cfg = default_config().replace(market__valuation_date="today")
    now = dt.datetime(2025, 10, 19, 14, 0, tzinfo=UTC)  # Sunday
    cfg2, clock = resolve_clock(cfg, now=now)
    assert clock.valuation_date == dt.date(2025, 10, 17) and clock.source == "today"
    assert clock.today == dt.date(2025, 10, 19) and clock.sessions_old == 0 and not clock.stale
    assert cfg2.market.valuation_date == "2025-10-17"
    assert clock.notes == (
        "today (2025-10-19) is not a trading day on XNYS: valued at the previous session 2025-10-17",
    )


def test_today_property_follows_the_clock(monkeypatch):
    import engine.data.calendar as cal

    monkeypatch.setattr(cal, "_now_utc", lambda: dt.datetime(2025, 10, 20, 15, 0, tzinfo=UTC))
    assert default_config().replace(market__valuation_date="today").valuation_date == dt.date(2025, 10, 20)
    monkeypatch.setattr(cal, "_now_utc", lambda: dt.datetime(2025, 10, 21, 15, 0, tzinfo=UTC))
    assert default_config().replace(market__valuation_date="Today").valuation_date == dt.date(2025, 10, 21)


def test_as_of_wins_and_staleness_counts_sessions():
    cfg = default_config()
    now = dt.datetime(2025, 10, 24, 21, 0, tzinfo=UTC)  # Friday after the close
    c2, clock = resolve_clock(cfg, dt.date(2025, 10, 17), now=now)
    assert c2.market.valuation_date == "2025-10-17" and clock.source == "--as-of"
    assert clock.sessions_old == 5 and clock.stale  # Mon..Fri after the 17th > data.stale_sessions = 3
    assert any("5 trading sessions before today (2025-10-24)" in n for n in clock.notes)
    _, fresh = resolve_clock(cfg.replace(data__stale_sessions=5), dt.date(2025, 10, 17), now=now)
    assert not fresh.stale and fresh.freshness.startswith("current")


def test_builtin_example_keeps_the_plans_date_and_says_so():
    cfg, clock = resolve_clock(default_config(), now=dt.datetime(2026, 1, 5, 15, 0, tzinfo=UTC), builtin=True)
    assert cfg.market.valuation_date == "2025-09-27" and clock.valuation_date == dt.date(2025, 9, 27)
    assert (
        len(clock.notes) == 1 and "built-in example: valued at the plan's date 2025-09-27" in clock.notes[0]
    )
    assert clock.stale and clock.freshness.startswith("STALE")


def test_config_file_without_date_is_today_and_refusals_named(tmp_path):
    p = tmp_path / "plan.toml"
    p.write_text("[account]\nstarting_value = 5000.0\n")
    assert load_config(p).market.valuation_date == "today"
    p.write_text('[market]\nvaluation_date = "2025-10-17"\n')
    assert load_config(p).market.valuation_date == "2025-10-17"
    with pytest.raises(
        Exception, match=r'market.valuation_date: expected a date YYYY-MM-DD or "today", got \'tomorrow\''
    ):
        config_from_dict({"market": {"valuation_date": "tomorrow"}}, "plan.toml")
    with pytest.raises(Exception, match="alerts.channels: unknown channel 'sms'"):
        config_from_dict({"alerts": {"channels": ["sms"]}}, "plan.toml")


def test_report_about_sheet_names_the_freshness(tmp_path, capsys):
    import openpyxl
    from conftest import run_cli

    out = tmp_path / "r.xlsx"
    code, _, err = run_cli(capsys, "build", "--as-of", "2025-10-17", "--paths", "20", "--out", out)
    assert code == 0, err
    wb = openpyxl.load_workbook(out)
    dn = wb.defined_names["DataFreshness"]
    sheet, ref = next(iter(dn.destinations))
    text = wb[sheet][ref.replace("$", "")].value
    assert (
        sheet == "About"
        and text.startswith("STALE: valued 2025-10-17")
        and "trading sessions before today" in text
    )
    assert "valuation date 2025-10-17 is" in err and "sessions before today" in err
