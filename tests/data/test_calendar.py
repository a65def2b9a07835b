"""Calendar: third Fridays, holiday moves, protocol dates, DTE and order windows (known dates)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from engine.config import ExecutionConfig
from engine.data.calendar import (
    CalendarError,
    dte,
    execution_windows,
    is_trading_day,
    monthly_expiration,
    next_monthly_expiration,
    protocol_dates,
    trading_days,
)

D = dt.date

# third Fridays read off a printed 2025/2026 calendar; 2025-04-18 is Good Friday (NYSE closed)
# and 2026-06-19 is Juneteenth (a Friday, closed): both move to the Thursday before.
EXPIRIES_2025 = [
    "2025-01-17",
    "2025-02-21",
    "2025-03-21",
    "2025-04-17",
    "2025-05-16",
    "2025-06-20",
    "2025-07-18",
    "2025-08-15",
    "2025-09-19",
    "2025-10-17",
    "2025-11-21",
    "2025-12-19",
]
EXPIRIES_2026 = [
    "2026-01-16",
    "2026-02-20",
    "2026-03-20",
    "2026-04-17",
    "2026-05-15",
    "2026-06-18",
    "2026-07-17",
    "2026-08-21",
    "2026-09-18",
    "2026-10-16",
    "2026-11-20",
    "2026-12-18",
]


@pytest.mark.parametrize("year,expected", [(2025, EXPIRIES_2025), (2026, EXPIRIES_2026)])
def test_monthly_expirations(year, expected):
    assert [monthly_expiration(year, m).isoformat() for m in range(1, 13)] == expected


def test_holidays():
    assert not is_trading_day("2025-06-19")  # Juneteenth
    assert not is_trading_day("2025-04-18")  # Good Friday
    assert not is_trading_day("2025-11-27")  # Thanksgiving
    assert is_trading_day("2025-11-28")  # day after: early close, still a session
    assert not is_trading_day("2025-11-29")  # Saturday
    # Thanksgiving week: Mon-Wed and Fri
    assert trading_days("2025-11-24", "2025-11-30") == [
        D(2025, 11, 24),
        D(2025, 11, 25),
        D(2025, 11, 26),
        D(2025, 11, 28),
    ]
    assert trading_days("2025-11-30", "2025-11-24") == []


def test_next_monthly_expiration():
    assert next_monthly_expiration("2025-09-27") == D(2025, 10, 17)
    assert next_monthly_expiration("2025-10-17") == D(2025, 10, 17)  # same day, min_days 0
    assert next_monthly_expiration("2025-10-17", min_days=1) == D(2025, 11, 21)
    assert next_monthly_expiration("2025-09-27", min_days=14) == D(2025, 10, 17)  # 20 days >= 14
    assert next_monthly_expiration("2025-09-27", min_days=21) == D(2025, 11, 21)
    assert next_monthly_expiration("2025-12-20") == D(2026, 1, 16)  # year roll


def test_protocol_dates_thanksgiving_month():
    p = protocol_dates(2025, 11)
    assert p["assessment_start"] == D(2025, 11, 24)  # Sat 22nd -> Monday 24th
    assert p["execution_days"] == (D(2025, 11, 25), D(2025, 11, 26), D(2025, 11, 28))
    assert p["execution_start"] == D(2025, 11, 25)
    assert p["last_trading_day"] == D(2025, 11, 28)
    assert p["month_end"] == D(2025, 11, 30)
    assert p["cycle_start"] == D(2025, 12, 1)
    assert p["monthly_expiration"] == D(2025, 11, 21)


def test_protocol_dates_year_end_and_short_month():
    p = protocol_dates(2025, 12)  # Christmas Thursday closed; Jan 1 closed
    assert p["execution_days"] == (D(2025, 12, 29), D(2025, 12, 30), D(2025, 12, 31))
    assert p["cycle_start"] == D(2026, 1, 2)
    assert p["assessment_start"] == D(2025, 12, 22)
    p = protocol_dates(2026, 2)
    assert p["execution_days"] == (D(2026, 2, 25), D(2026, 2, 26), D(2026, 2, 27))
    assert p["month_end"] == D(2026, 2, 28) and p["cycle_start"] == D(2026, 3, 2)


@pytest.mark.parametrize("year", [2025, 2026])
def test_protocol_order_holds_every_month(year):
    for m in range(1, 13):
        p = protocol_dates(year, m)
        assert (
            p["assessment_start"]
            <= p["execution_start"]
            <= p["last_trading_day"]
            <= p["month_end"]
            < p["cycle_start"]
        )
        assert all(is_trading_day(d) for d in p["execution_days"])


def test_dte():
    assert dte("2025-09-27", "2025-10-17") == 20
    assert dte(D(2025, 9, 27), D(2025, 9, 27)) == 0
    assert dte("2025-09-27", "2025-09-26") == -1
    out = dte("2025-09-27", np.array([D(2025, 10, 17), D(2025, 11, 21), D(2025, 12, 19)], dtype=object))
    np.testing.assert_array_equal(out, [20, 55, 83])


def test_execution_windows():
    full = execution_windows("2025-10-01")
    assert [(w["name"], w["start"].strftime("%H:%M"), w["end"].strftime("%H:%M")) for w in full] == [
        ("morning", "09:45", "10:30"),
        ("afternoon", "14:00", "15:30"),
    ]
    assert str(full[0]["start"].tzinfo) == "America/New_York"
    # Day after Thanksgiving closes 13:00: the afternoon window is gone
    assert [w["name"] for w in execution_windows("2025-11-28")] == ["morning"]
    # a window reaching into the first 15 minutes is clipped to 09:45
    ex = ExecutionConfig(morning_window="09:30-10:00")
    assert execution_windows("2025-10-01", ex)[0]["start"].strftime("%H:%M") == "09:45"


@pytest.mark.parametrize(
    "call,expected",
    [
        (lambda: monthly_expiration(2025, 13), "month must be 1-12, got 13"),
        (lambda: monthly_expiration(1990, 1), "year 1990 is outside the supported calendar range"),
        (lambda: monthly_expiration(2025.0, 1), "year and month must be whole numbers"),
        (
            lambda: trading_days("2025-01-01", "2099-01-01"),
            "end 2099-01-01 is outside the supported calendar range",
        ),
        (
            lambda: trading_days("yesterday", "2025-01-01"),
            "start must be a date (YYYY-MM-DD), got 'yesterday'",
        ),
        (lambda: execution_windows("2025-11-27"), "2025-11-27 is not a trading day on XNYS"),
        (lambda: next_monthly_expiration("2025-01-01", min_days=-1), "min_days must be a whole number >= 0"),
        (lambda: is_trading_day("2025-01-02", exchange="NOPE"), "unknown exchange calendar 'NOPE'"),
    ],
)
def test_refusals(call, expected):
    with pytest.raises(CalendarError) as exc:
        call()
    assert expected in str(exc.value)
