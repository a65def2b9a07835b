"""Exchange calendar: trading days, monthly option expirations, the plan's monthly protocol dates.

Trading days and holidays come from the maintained ``exchange_calendars`` library (NYSE =
``"XNYS"``, the calendar US equity options follow); it is imported lazily inside the functions
because importing it takes a few tenths of a second.

* Monthly expiration: the third Friday of the month; when the exchange is closed that day
  (e.g. Good Friday, 2025-04-18) the expiration moves to the previous trading day (2025-04-17).
* The plan's monthly protocol ("Execution Timing"): week 4 of the month begins the assessment
  (first trading day on or after the 22nd, the start of the month's fourth 7-day week), the
  last three trading days of the month execute the adjustments, the month end completes the
  allocation and reporting, and the next month's first trading day starts the new cycle.
* ``dte``: calendar days from the valuation date to expiry (``t = dte / 365``, ACT/365).
* Order windows: the plan's morning and afternoon windows (``ExecutionConfig``) on a given
  session, clipped to the session (an early close such as the day after Thanksgiving at
  13:00 removes the afternoon window), plus the plan's "avoid the first and last 15 minutes".

References
----------
OCC/Cboe: standard monthly options expire on the third Friday of the month (the preceding
business day when that Friday is an exchange holiday).  ``exchange_calendars``
(https://github.com/gerrymanoim/exchange_calendars), calendar ``XNYS``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import warnings
from typing import Any

import numpy as np

from engine._validate import VolarbInputError
from engine.data.tables import parse_date

__all__ = [
    "CalendarError",
    "monthly_expiration",
    "next_monthly_expiration",
    "trading_days",
    "is_trading_day",
    "protocol_dates",
    "dte",
    "execution_windows",
    "CALENDAR_START",
    "CALENDAR_END",
    "exchange_today",
    "session_on_or_before",
    "sessions_between",
]

CALENDAR_START = _dt.date(2000, 1, 3)
CALENDAR_END = _dt.date(2045, 12, 29)
AVOID_MINUTES = 15  # the plan: avoid the first and the last 15 minutes


class CalendarError(VolarbInputError):
    """A date outside the supported calendar range or an unknown exchange."""


@functools.lru_cache(maxsize=8)
def _calendar(exchange: str):
    import exchange_calendars as xcals

    try:
        with warnings.catch_warnings():
            # exchange_calendars 4.x reads tz-aware Series.values, deprecated in pandas 3.1;
            # the values it reads are the UTC instants it wants, so the warning is noise here.
            warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
            return xcals.get_calendar(
                exchange, start=CALENDAR_START.isoformat(), end=CALENDAR_END.isoformat()
            )
    except xcals.errors.InvalidCalendarName:
        raise CalendarError(f"unknown exchange calendar {exchange!r} (e.g. 'XNYS')") from None


def _as_date(value: Any, name: str) -> _dt.date:
    try:
        return parse_date(value)
    except ValueError:
        raise CalendarError(f"{name} must be a date (YYYY-MM-DD), got {value!r}") from None


def _check_range(d: _dt.date, name: str) -> None:
    if not CALENDAR_START <= d <= CALENDAR_END:
        raise CalendarError(
            f"{name} {d} is outside the supported calendar range {CALENDAR_START} to {CALENDAR_END}"
        )


def _sessions(start: _dt.date, end: _dt.date, exchange: str) -> list[_dt.date]:
    cal = _calendar(exchange)
    idx = cal.sessions_in_range(start.isoformat(), end.isoformat())
    return [ts.date() for ts in idx]


def trading_days(start, end, exchange: str = "XNYS") -> list[_dt.date]:
    """Exchange trading days (sessions) from ``start`` to ``end`` inclusive.

    Parameters
    ----------
    start, end : date or str
        Inclusive bounds (``YYYY-MM-DD`` text accepted), within 2000-01-03 to 2045-12-29.
    exchange : str
        ``exchange_calendars`` code (default ``"XNYS"``).

    Returns
    -------
    list of datetime.date

    Examples
    --------
    Juneteenth (Thursday 2025-06-19) is a holiday:

    >>> [d.isoformat() for d in trading_days("2025-06-18", "2025-06-20")]
    ['2025-06-18', '2025-06-20']
    """
    a, b = _as_date(start, "start"), _as_date(end, "end")
    _check_range(a, "start")
    _check_range(b, "end")
    if b < a:
        return []
    return _sessions(a, b, exchange)


def is_trading_day(day, exchange: str = "XNYS") -> bool:
    """True when the exchange holds a session that day.

    >>> is_trading_day("2025-04-18"), is_trading_day("2025-04-17")
    (False, True)
    """
    d = _as_date(day, "day")
    _check_range(d, "day")
    return bool(_calendar(exchange).is_session(d.isoformat()))


def _third_friday(year: int, month: int) -> _dt.date:
    first = _dt.date(year, month, 1)
    return first + _dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def _check_month(year: Any, month: Any) -> tuple[int, int]:
    if (
        isinstance(year, bool)
        or isinstance(month, bool)
        or not isinstance(year, (int, np.integer))
        or not isinstance(month, (int, np.integer))
    ):
        raise CalendarError(f"year and month must be whole numbers, got {year!r}, {month!r}")
    if not 1 <= month <= 12:
        raise CalendarError(f"month must be 1-12, got {month}")
    if not CALENDAR_START.year <= year <= CALENDAR_END.year:
        raise CalendarError(
            f"year {year} is outside the supported calendar range {CALENDAR_START.year}-{CALENDAR_END.year}"
        )
    return int(year), int(month)


def monthly_expiration(year: int, month: int, exchange: str = "XNYS") -> _dt.date:
    """Standard monthly option expiration: third Friday, or the trading day before if closed.

    Examples
    --------
    >>> monthly_expiration(2025, 10), monthly_expiration(2025, 4)  # 2025-04-18 is Good Friday
    (datetime.date(2025, 10, 17), datetime.date(2025, 4, 17))
    """
    year, month = _check_month(year, month)
    d = _third_friday(year, month)
    cal = _calendar(exchange)
    if not cal.is_session(d.isoformat()):
        d = cal.date_to_session(d.isoformat(), direction="previous").date()
    return d


def next_monthly_expiration(date, min_days: int = 0, exchange: str = "XNYS") -> _dt.date:
    """First monthly expiration at least ``min_days`` calendar days after ``date``.

    Parameters
    ----------
    date : date or str
        Valuation date.
    min_days : int
        Minimum days to expiry (``expiration - date >= min_days``; 0 allows ``date`` itself).

    Examples
    --------
    >>> next_monthly_expiration("2025-09-27"), next_monthly_expiration("2025-09-27", min_days=30)
    (datetime.date(2025, 10, 17), datetime.date(2025, 11, 21))
    """
    d = _as_date(date, "date")
    if isinstance(min_days, bool) or not isinstance(min_days, (int, np.integer)) or min_days < 0:
        raise CalendarError(f"min_days must be a whole number >= 0, got {min_days!r}")
    target = d + _dt.timedelta(days=int(min_days))
    year, month = target.year, target.month
    while True:
        exp = monthly_expiration(year, month, exchange)
        if exp >= target:
            return exp
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def protocol_dates(year: int, month: int, exchange: str = "XNYS") -> dict[str, Any]:
    """The plan's monthly protocol dates ("Execution Timing") for one month.

    Returns
    -------
    dict
        ``assessment_start`` (week 4: first trading day on or after the 22nd, never after the
        execution start), ``execution_days`` (tuple of the month's last three trading days),
        ``execution_start``, ``last_trading_day``, ``month_end`` (last calendar day: allocation
        and reporting complete), ``cycle_start`` (next month's first trading day) and
        ``monthly_expiration``.

    Examples
    --------
    >>> p = protocol_dates(2025, 11)   # Thanksgiving 2025-11-27 is closed
    >>> [d.isoformat() for d in p["execution_days"]], p["cycle_start"].isoformat()
    (['2025-11-25', '2025-11-26', '2025-11-28'], '2025-12-01')
    """
    year, month = _check_month(year, month)
    first = _dt.date(year, month, 1)
    nxt = _dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = nxt - _dt.timedelta(days=1)
    sessions = _sessions(first, last_day, exchange)
    execution = tuple(sessions[-3:])
    week4 = next((d for d in sessions if d.day >= 22), execution[0])
    after = _sessions(nxt, nxt + _dt.timedelta(days=14), exchange)
    if not after:
        raise CalendarError(f"no trading day found after {last_day} within the calendar range")
    return {
        "assessment_start": min(week4, execution[0]),
        "execution_days": execution,
        "execution_start": execution[0],
        "last_trading_day": sessions[-1],
        "month_end": last_day,
        "cycle_start": after[0],
        "monthly_expiration": monthly_expiration(year, month, exchange),
    }


def dte(valuation, expiry):
    """Calendar days to expiry, ``expiry - valuation`` (negative once expired); arrays ok.

    Parameters
    ----------
    valuation : date, str or array_like of dates
    expiry : date, str or array_like of dates

    Returns
    -------
    int or ndarray of int64

    Examples
    --------
    >>> dte("2025-09-27", "2025-10-17")
    20
    >>> dte("2025-09-27", ["2025-10-17", "2025-11-21"]).tolist()
    [20, 55]
    """

    def conv(x: Any, name: str) -> Any:
        if np.ndim(x) == 0:
            return np.datetime64(_as_date(x, name), "D")
        return np.array(
            [np.datetime64(_as_date(v, name), "D") for v in np.asarray(x, dtype=object).ravel()],
            dtype="datetime64[D]",
        ).reshape(np.shape(x))

    v, e = conv(valuation, "valuation"), conv(expiry, "expiry")
    days = (e - v).astype("int64")
    return int(days) if np.ndim(days) == 0 else days


def _parse_window(text: str) -> tuple[_dt.time, _dt.time]:
    a, b = text.split("-")
    return _dt.time.fromisoformat(a.strip()), _dt.time.fromisoformat(b.strip())


def execution_windows(day, execution=None) -> list[dict[str, Any]]:
    """The plan's order windows on one trading day, as exchange-local times.

    Each configured window (``ExecutionConfig.morning_window``, ``afternoon_window``) is
    clipped to the session minus the first and last 15 minutes (the plan's "avoid times");
    a window that falls outside (an early close) is dropped.

    Parameters
    ----------
    day : date or str
        A trading day of ``execution.exchange``.
    execution : ExecutionConfig, optional
        Defaults to the plan's (09:45-10:30 and 14:00-15:30, XNYS).

    Returns
    -------
    list of dict
        ``name``, ``start``, ``end`` (timezone-aware datetimes in the exchange's time zone).

    Raises
    ------
    CalendarError
        If ``day`` is not a trading day.

    Examples
    --------
    The day after Thanksgiving 2025 closes at 13:00, so only the morning window is left:

    >>> [(w["name"], f"{w['start']:%H:%M}-{w['end']:%H:%M}") for w in execution_windows("2025-11-28")]
    [('morning', '09:45-10:30')]
    """
    from engine.config import ExecutionConfig

    ex = execution if execution is not None else ExecutionConfig()
    d = _as_date(day, "day")
    _check_range(d, "day")
    cal = _calendar(ex.exchange)
    if not cal.is_session(d.isoformat()):
        raise CalendarError(f"{d} is not a trading day on {ex.exchange}")
    tz = cal.tz
    open_ = cal.session_open(d.isoformat()).tz_convert(tz).to_pydatetime()
    close = cal.session_close(d.isoformat()).tz_convert(tz).to_pydatetime()
    lo = open_ + _dt.timedelta(minutes=AVOID_MINUTES)
    hi = close - _dt.timedelta(minutes=AVOID_MINUTES)
    out = []
    for name, text in (("morning", ex.morning_window), ("afternoon", ex.afternoon_window)):
        t0, t1 = _parse_window(text)
        start = max(open_.replace(hour=t0.hour, minute=t0.minute), lo)
        end = min(open_.replace(hour=t1.hour, minute=t1.minute), hi)
        if start < end:
            out.append({"name": name, "start": start, "end": end})
    return out


def _now_utc() -> _dt.datetime:
    """The current UTC time (one place, so tests can pin the clock)."""
    return _dt.datetime.now(_dt.UTC)


def exchange_today(exchange: str = "XNYS", now: _dt.datetime | None = None) -> _dt.date:
    """Today's date in the exchange's own time zone (not the computer's).

    Parameters
    ----------
    exchange : str
        ``exchange_calendars`` code; its ``tz`` gives the time zone (XNYS: America/New_York).
    now : datetime, optional
        The instant (timezone-aware; naive is read as UTC), default the current time.

    Returns
    -------
    datetime.date
        The calendar date at the exchange (a weekend or holiday is returned as is; see
        :func:`session_on_or_before`).

    Examples
    --------
    At 02:00 UTC on 2025-09-27 it is still the 26th in New York:

    >>> exchange_today("XNYS", _dt.datetime(2025, 9, 27, 2, 0, tzinfo=_dt.UTC))
    datetime.date(2025, 9, 26)
    """
    instant = now if now is not None else _now_utc()
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=_dt.UTC)
    tz = _calendar(exchange).tz
    return instant.astimezone(tz).date()


def session_on_or_before(day, exchange: str = "XNYS") -> _dt.date:
    """The trading session on ``day``, or the last one before it (a weekend or holiday moves back).

    Examples
    --------
    Saturday 2025-09-27 moves to Friday the 26th; Good Friday 2025-04-18 to Thursday the 17th:

    >>> session_on_or_before("2025-09-27"), session_on_or_before("2025-04-18")
    (datetime.date(2025, 9, 26), datetime.date(2025, 4, 17))
    """
    d = _as_date(day, "date")
    _check_range(d, "date")
    earlier = _sessions(max(CALENDAR_START, d - _dt.timedelta(days=14)), d, exchange)
    if not earlier:
        raise CalendarError(f"no trading session on or before {d} on {exchange}")
    return earlier[-1]


def sessions_between(earlier, later, exchange: str = "XNYS") -> int:
    """Trading sessions after ``earlier`` up to and including ``later`` (0 when ``later <= earlier``).

    This is how many sessions old a valuation date is on ``later``.

    Examples
    --------
    Friday 2025-09-26 to Tuesday 2025-09-30: Monday and Tuesday.

    >>> sessions_between("2025-09-26", "2025-09-30")
    2
    """
    a, b = _as_date(earlier, "earlier"), _as_date(later, "later")
    if b <= a:
        return 0
    _check_range(a, "earlier")
    _check_range(b, "later")
    return len(_sessions(a + _dt.timedelta(days=1), b, exchange))
