"""The valuation clock of a run: which date the book is valued at, why, and how old that is.

One function, :func:`resolve_clock`, turns the config's ``market.valuation_date`` (a date or
``"today"``) and an optional ``--as-of`` date into a :class:`ValuationClock`:

* ``--as-of DATE`` wins; ``"today"`` is the exchange's date in its own time zone
  (:func:`engine.data.calendar.exchange_today`, ``execution.exchange``);
* a date from ``--as-of`` or ``"today"`` that is not a trading session (weekend, holiday) moves
  to the previous session, with a note; a fixed date written in a config is kept as written
  (the built-in example is the plan's Saturday 2025-09-27) and a note says it is not a session;
* a valuation date more than ``data.stale_sessions`` trading sessions before today is *stale*:
  the note says how many sessions old the figures are.

The result's config carries the concrete date when ``--as-of`` was given and keeps ``"today"``
otherwise (a report built "today" and refreshed tomorrow is valued tomorrow).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt

from engine.config import TODAY, PlanConfig

__all__ = ["ValuationClock", "resolve_clock", "parse_as_of"]


@dataclasses.dataclass(frozen=True)
class ValuationClock:
    """The valuation date of a run and what the trader should know about it.

    Attributes
    ----------
    valuation_date : datetime.date
        The date the book is valued at.
    source : {"--as-of", "today", "config", "built-in example"}
        Where it came from.
    today : datetime.date
        The exchange's date now (its time zone).
    sessions_old : int
        Trading sessions from the valuation date to today (0: current).
    stale : bool
        ``sessions_old > data.stale_sessions``.
    notes : tuple of str
        One line each: a moved date, a fixed date that is not a session, staleness.
    """

    valuation_date: _dt.date
    source: str
    today: _dt.date
    sessions_old: int
    stale: bool
    notes: tuple[str, ...]

    @property
    def freshness(self) -> str:
        """One line for the report's About sheet (``DataFreshness`` cell)."""
        if self.stale:
            return (
                f"STALE: valued {self.valuation_date}, {self.sessions_old} trading sessions before today "
                f"({self.today}); refresh with today's data"
            )
        return f"current: valued {self.valuation_date} ({self.sessions_old} session(s) before {self.today})"


def parse_as_of(text: str) -> _dt.date:
    """``--as-of`` text: ``YYYY-MM-DD`` or ``today``.

    >>> parse_as_of("2025-10-20")
    datetime.date(2025, 10, 20)
    """
    from engine.data.calendar import CalendarError

    t = str(text).strip()
    if t.lower() == TODAY:
        from engine.data.calendar import exchange_today

        return exchange_today()
    try:
        return _dt.date.fromisoformat(t)
    except ValueError:
        raise CalendarError(f"--as-of: expected a date YYYY-MM-DD or 'today', got {text!r}") from None


def resolve_clock(
    config: PlanConfig, as_of: _dt.date | None = None, now: _dt.datetime | None = None, builtin: bool = False
) -> tuple[PlanConfig, ValuationClock]:
    """The config with its valuation date settled, and the clock describing it.

    Parameters
    ----------
    config : PlanConfig
        ``market.valuation_date`` (date or ``"today"``), ``execution.exchange``,
        ``data.stale_sessions``.
    as_of : datetime.date, optional
        ``--as-of``: value the book on this date instead.
    now : datetime, optional
        The current instant (tests pin it); default the real clock.
    builtin : bool
        The config is the built-in example (its note says so).

    Returns
    -------
    (PlanConfig, ValuationClock)

    Examples
    --------
    Saturday 2025-10-18 given with ``--as-of`` moves to Friday the 17th:

    >>> from engine.config import default_config
    >>> now = _dt.datetime(2025, 10, 20, 21, 0, tzinfo=_dt.UTC)
    >>> cfg, clock = resolve_clock(default_config(), _dt.date(2025, 10, 18), now=now)
    >>> cfg.market.valuation_date, clock.sessions_old, clock.stale
    ('2025-10-17', 1, False)
    """
    from engine.data.calendar import exchange_today, is_trading_day, session_on_or_before, sessions_between

    ex = config.execution.exchange
    today = exchange_today(ex, now)
    notes: list[str] = []
    text = config.market.valuation_date.strip()
    if as_of is not None:
        source = "--as-of"
        vd = session_on_or_before(as_of, ex)
        if vd != as_of:
            notes.append(f"--as-of {as_of} is not a trading day on {ex}: valued at the previous session {vd}")
        config = config.replace(market__valuation_date=vd.isoformat())
    elif text.lower() == TODAY:
        source = "today"
        vd = session_on_or_before(today, ex)
        if vd != today:
            notes.append(f"today ({today}) is not a trading day on {ex}: valued at the previous session {vd}")
        if now is not None:  # a pinned clock pins the config too
            config = config.replace(market__valuation_date=vd.isoformat())
    else:
        source = "built-in example" if builtin else "config"
        vd = _dt.date.fromisoformat(text)
        if builtin:
            notes.append(
                f"built-in example: valued at the plan's date {vd} (market.valuation_date), not today; "
                "a config file of your own is valued today"
            )
        elif not is_trading_day(vd, ex):
            notes.append(f"valuation date {vd} is not a trading day on {ex} (kept as written in the config)")
    old = sessions_between(vd, today, ex)
    stale = old > config.data.stale_sessions
    if stale and source != "built-in example":  # that note already says it is not today
        notes.append(
            f"valuation date {vd} is {old} trading sessions before today ({today}): the figures are as "
            f"of then (data.stale_sessions = {config.data.stale_sessions})"
        )
    return config, ValuationClock(vd, source, today, old, stale, tuple(notes))
