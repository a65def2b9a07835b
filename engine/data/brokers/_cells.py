"""Cell readers shared by the broker modules: money, quantities, dates, option descriptions.

Every reader raises :class:`~engine.data.brokers.BrokerImportError` with the file, the line, the
column and the rule broken; nothing here guesses silently.  Conventions handled (see
docs/import.md): quoted thousands ``"-10,300.00"``, ``$`` signs, ``-$1.00`` and ``($153.02)``
negatives, ``--`` for an empty cell, ISO times with an offset without a colon
(``2024-08-16T15:57:13+0200``; the wall-clock time is kept, the offset dropped), US dates with
two- or four-digit years, Schwab's ``"08/18/2025 as of 08/15/2025"`` (the "as of" date is the
event's date).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import re
from collections.abc import Iterator, Sequence

from engine.data.brokers import BrokerImportError

__all__ = ["Row", "csv_rows", "header_index", "parse_money", "parse_when", "parse_expiry", "split_csv_line"]

_BLANK = {"", "--", "-", "n/a", "N/A"}
_WHEN_FORMATS = (
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d, %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%Y%m%d",
    "%Y%m%d;%H%M%S",
    "%b-%d-%Y",
    "%d-%b-%Y",
)
_EXPIRY_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%d%b%y",
    "%d %b %y",
    "%b %d '%y",
    "%b %d %Y",
    "%b %d %y",
    "%Y%m%d",
    "%d %b %Y",
)


def split_csv_line(line: str) -> list[str]:
    """The cells of one CSV line, stripped."""
    try:
        return [c.strip() for c in next(csv.reader([line]))]
    except (csv.Error, StopIteration):
        return []


def header_index(
    lines: Sequence[str], header: Sequence[str], *, exact: bool = True, limit: int = 30
) -> int | None:
    """Index of the line whose cells are ``header`` (case-insensitive; exact, or a superset)."""
    want = [h.strip().lower() for h in header]
    for i, ln in enumerate(lines[:limit]):
        cells = [c.lower() for c in split_csv_line(ln)]
        while cells and cells[-1] == "":
            cells.pop()
        if exact and cells == want:
            return i
        if not exact and set(want) <= set(cells):
            return i
    return None


class Row:
    """One data row with its header: typed access whose errors name file, line and column."""

    def __init__(self, header: Sequence[str], cells: Sequence[str], source: str, line: int):
        self.cells = {h: (cells[j].strip() if j < len(cells) else "") for j, h in enumerate(header)}
        self.source, self.line = source, line

    @property
    def where(self) -> str:
        """``"file, line N"``."""
        return f"{self.source}, line {self.line}"

    def error(self, col: str, rule: str) -> BrokerImportError:
        """The error for a cell that breaks ``rule``."""
        return BrokerImportError(
            f"{self.where}, column {col!r}: expected {rule}, got {self.cells.get(col, '')!r}"
        )

    def text(self, col: str) -> str:
        return self.cells.get(col, "")

    def blank(self, col: str) -> bool:
        return self.cells.get(col, "") in _BLANK

    def money(self, col: str, default: float | None = 0.0) -> float:
        """A dollar amount (``$1,234.56``, ``-$1.00``, ``(153.02)``, ``--`` = ``default``)."""
        v = parse_money(self.cells.get(col, ""))
        if v is None:
            if default is None:
                raise self.error(col, "a dollar amount")
            return default
        if not math.isfinite(v):
            raise self.error(col, "a dollar amount like 1,234.56, -$1.00 or ($153.02)")
        return v

    def number(self, col: str, *, positive: bool = False, default: float | None = None) -> float:
        v = parse_money(self.cells.get(col, "").rstrip("SsBb") if col else "")
        rule = "a positive number" if positive else "a number"
        if v is None:
            if default is not None:
                return default
            raise self.error(col, rule)
        if not math.isfinite(v) or (positive and v <= 0):
            raise self.error(col, rule)
        return v

    def when(self, col: str) -> _dt.datetime:
        try:
            return parse_when(self.cells.get(col, ""))
        except ValueError:
            raise self.error(
                col, "a date/time (YYYY-MM-DD[THH:MM:SS+ZZZZ], M/D/YY[YY] [H:MM[:SS] [AM|PM]])"
            ) from None

    def expiry(self, col: str) -> _dt.date:
        try:
            return parse_expiry(self.cells.get(col, ""))
        except ValueError:
            raise self.error(col, "an expiration date (M/D/YY, YYYY-MM-DD, 15AUG25, 15 AUG 25)") from None


def parse_money(text: str) -> float | None:
    """A number from broker text; None for a blank cell (``""``, ``--``); NaN when unreadable.

    Examples
    --------
    >>> parse_money('-10,300.00'), parse_money('($153.02)'), parse_money('-$1.00'), parse_money('--')
    (-10300.0, -153.02, -1.0, None)
    """
    t = str(text).strip().replace("\u2212", "-")
    if t in _BLANK:
        return None
    neg = False
    if t.startswith("(") and t.endswith(")"):
        neg, t = True, t[1:-1].strip()
    if t.startswith("-"):
        neg, t = (not neg), t[1:].strip()
    elif t.startswith("+"):
        t = t[1:].strip()
    t = t.replace("$", "").replace(",", "").strip()
    if t.startswith("="):  # ="123" (spreadsheet-quoted)
        t = t[1:].strip('"')
    try:
        v = float(t)
    except ValueError:
        return math.nan
    return -v if neg else v


def parse_when(text: str) -> _dt.datetime:
    """A date/time from broker text (naive: the wall clock as written; an offset is dropped).

    Examples
    --------
    >>> parse_when("2024-08-16T15:57:13+0200")
    datetime.datetime(2024, 8, 16, 15, 57, 13)
    >>> parse_when("08/18/2025 as of 08/15/2025").date()
    datetime.date(2025, 8, 15)
    """
    t = str(text).strip().strip('"')
    m = re.search(r"as of (\S+)", t)
    if m:
        t = m.group(1)
    if "T" in t and t[:4].isdigit():
        try:
            return _dt.datetime.fromisoformat(t).replace(tzinfo=None)
        except ValueError:
            pass
    for fmt in _WHEN_FORMATS:
        try:
            return _dt.datetime.strptime(t, fmt)
        except ValueError:
            continue
    raise ValueError(t)


def parse_expiry(text: str) -> _dt.date:
    """An option expiration date from broker text.

    >>> parse_expiry("9/20/24"), parse_expiry("15AUG25"), parse_expiry("Aug 15 '25")
    (datetime.date(2024, 9, 20), datetime.date(2025, 8, 15), datetime.date(2025, 8, 15))
    """
    t = " ".join(str(text).strip().split())
    for fmt in _EXPIRY_FORMATS:
        try:
            return _dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise ValueError(t)


def csv_rows(lines: Sequence[str], start: int, source: str) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of the CSV records from line index ``start`` (quoted newlines
    allowed); blank records are skipped.  Line numbers are 1-based, of the record's first line."""
    text = "\n".join(lines[start:])
    reader = csv.reader(io.StringIO(text))
    prev = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BrokerImportError(
                f"{source}, line {start + reader.line_num}: not readable as CSV ({exc})"
            ) from None
        line = start + prev + 1
        prev = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        yield line, [c.strip() for c in cells]
