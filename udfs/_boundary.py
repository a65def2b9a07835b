"""The one Excel boundary of every ``VA_`` UDF: argument normalizers and the error wrapper.

Excel hands a UDF its arguments in several dialects, and a UDF must give the same answer in
all of them:

* classic xlwings on Windows (COM): a 1x1 range is a scalar, an n x m range a list of lists
  (``ndim=2`` forces 2-D), blanks are ``None``, dates are ``datetime``, error cells are ``None``
  or, with ``err_to_str=True``, the text ``"#N/A"``;
* xlwings Server / Lite / Office.js (Excel on the web and on Mac): values arrive as a matrix,
  dates as serial numbers, blanks as ``None`` (or Pyodide's ``JsNull``), errors as dicts that
  xlwings turns into ``None`` or their text;
* no conversion at all (a plain Python call, Linux, the ``formulas`` evaluator): numpy object
  arrays, ``formulas``' ``empty`` token and ``XlError`` values, text numbers such as ``"3.15"``
  or ``"425%"``, and ``"Put"``/``"P"``/``"put"``.

The normalizers below accept all of them.  :func:`udf` wraps a UDF body the way the
``formulas`` library wraps Excel functions: a bad argument becomes that cell's short message
``"#VALUE! spot must be > 0, got -1"`` (never a traceback), and a non-finite number becomes
``"#NUM!"`` (a real error value through xlwings Server, readable text in classic Excel).  Table
UDFs put a message in the offending row only (see :func:`error_row`).

Rules worth knowing in Excel:

* **expiry**: a date (cell formatted as a date, a ``datetime``, ISO text ``"2025-10-17"``) or
  a number.  A number greater than ``SERIAL_DATE_MIN`` (10000, i.e. 1927-05-18) is an Excel
  date serial; a number up to 10000 is *days to expiry* (fractions allowed).
* **vol** is an annualized decimal (4.25 = 425%); text ``"425%"`` is read as 4.25.
* **rate** and **q** are decimals between -1 and 1 (0.04 = 4%): a 4 meant as 4% is refused.
* **put/call**: ``put``/``call``, ``P``/``C`` in any case, or -1/+1.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from engine._validate import VolarbInputError, parse_kind
from engine.units import days_to_years

__all__ = [
    "UdfArgError",
    "udf",
    "error_text",
    "is_blank",
    "cell",
    "grid",
    "number",
    "kind",
    "style",
    "as_date",
    "years_to_expiry",
    "flag",
    "text",
    "to_excel",
    "error_row",
    "SERIAL_DATE_MIN",
    "EXCEL_EPOCH",
    "MESSAGE_MAX",
]

SERIAL_DATE_MIN = 10000.0  # numbers above are Excel date serials, numbers up to it are days
EXCEL_EPOCH = _dt.datetime(1899, 12, 30)  # serial 0 (Excel's 1900 leap-year bug folded in)
MESSAGE_MAX = 160  # characters of an error message shown in a cell
_EXCEL_ERRORS = (
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
    "#BUSY!",
    "#CONNECT!",
    "#UNKNOWN!",
)
_MISSING = object()


class UdfArgError(VolarbInputError):
    """A UDF argument that breaks its rule; the message is what the cell shows."""


# --------------------------------------------------------------------------- the wrapper


def _short(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return msg if len(msg) <= MESSAGE_MAX else msg[: MESSAGE_MAX - 3] + "..."


def udf(func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a UDF body: convert its result for Excel and turn a failure into a cell message.

    ``VolarbInputError`` (bad argument, message already names it) gives ``"#VALUE! <msg>"``;
    any other exception gives ``"#VALUE! <ExceptionType>: <msg>"`` so a bug is visible but
    still short.  The signature, docstring and annotations are kept (``functools.wraps``), so
    xlwings reads the argument names and the function-wizard text through the wrapper.

    Examples
    --------
    >>> @udf
    ... def HALF(x):
    ...     return number(x, "x", "pos") / 2
    >>> HALF([[3]]), HALF("-1")
    (1.5, '#VALUE! x must be > 0, got -1')
    """

    @functools.wraps(func)
    def wrapper(*args: Any) -> Any:
        try:
            return to_excel(func(*args))
        except VolarbInputError as exc:  # includes UdfArgError and engine ConfigError etc.
            return f"#VALUE! {_short(exc)}"
        except Exception as exc:  # the boundary: never let a traceback reach a cell
            return f"#VALUE! {type(exc).__name__}: {_short(exc)}"

    return wrapper


def to_excel(value: Any) -> Any:
    """Plain Python values Excel accepts: floats, str, bool, ``datetime``; NaN/inf -> "#NUM!".

    Lists of lists stay lists of lists; a 1x1 result becomes a scalar; numpy scalars and
    arrays become Python floats and lists; ``None`` becomes ``""`` (an empty-looking cell).

    >>> to_excel([[1, float("nan")], [np.float64(2.5), None]])
    [[1.0, '#NUM!'], [2.5, '']]
    >>> to_excel(np.array([[7.0]]))
    7.0
    """
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        rows = [list(r) if isinstance(r, (list, tuple, np.ndarray)) else [r] for r in value]
        if len(value) and not isinstance(value[0], (list, tuple, np.ndarray)):
            rows = [list(value)]  # a 1-D result is one row
        out = [[_scalar_out(c) for c in r] for r in rows]
        if len(out) == 1 and len(out[0]) == 1:
            return out[0][0]
        return out
    return _scalar_out(value)


def _scalar_out(x: Any) -> Any:
    t = type(x)
    if t is float:  # the common case of a table cell: skip the isinstance chain below
        return x if math.isfinite(x) else "#NUM!"
    if t is str:
        return x
    if x is None:
        return ""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, float, np.integer, np.floating)):
        xf = float(x)
        return xf if math.isfinite(xf) else "#NUM!"
    if isinstance(x, _dt.datetime):
        return x
    if isinstance(x, _dt.date):
        return _dt.datetime(x.year, x.month, x.day)
    if isinstance(x, np.datetime64):
        return to_excel(x.astype("datetime64[us]").item())
    if hasattr(x, "to_pydatetime"):  # pandas Timestamp
        return x.to_pydatetime()
    return x if isinstance(x, str) else str(x)


def error_row(message: str, width: int) -> list[Any]:
    """One table row holding a message in its first cell and blanks after it.

    >>> error_row("row 3: strike must be > 0", 3)
    ['#VALUE! row 3: strike must be > 0', '', '']
    """
    return [f"#VALUE! {message}"] + [""] * (width - 1)


# --------------------------------------------------------------------------- cell values


def error_text(x: Any) -> str | None:
    """The Excel error a cell holds ("#N/A", ...) in any dialect, else None.

    >>> error_text("#N/A"), error_text({"type": "Error", "basicValue": "#DIV/0!"}), error_text(3)
    ('#N/A', '#DIV/0!', None)
    """
    t = type(x)
    if t is float or t is bool or x is None:  # fast path: most cells are numbers or blanks
        return None
    if isinstance(x, dict) and x.get("type") == "Error":
        return str(x.get("basicValue") or "#VALUE!")
    if type(x).__name__ == "XlError":  # the formulas library's error values
        return str(x)
    if isinstance(x, str) and x.strip().upper() in _EXCEL_ERRORS:
        return x.strip().upper()
    if isinstance(x, int) and not isinstance(x, bool) and -2146826288 <= x <= -2146826246:
        return "#VALUE!"  # a raw COM error code (xlwings normally hides these)
    return None


def is_blank(x: Any) -> bool:
    """True for an empty cell in any dialect: None, "", JsNull, the formulas ``empty`` token.

    >>> is_blank(None), is_blank("  "), is_blank(0)
    (True, True, False)
    """
    if x is None:
        return True
    t = type(x)
    if t is float or t is int:
        return False
    if isinstance(x, str):
        if t is not str and type(x).__name__ == "Token" and str(x) == "empty":
            return True
        return x.strip() == ""
    return type(x).__name__ == "JsNull"


def cell(x: Any, name: str) -> Any:
    """The single value of a scalar or a 1x1 range; a larger range is refused.

    >>> cell([[4.0]], "spot"), cell(np.array([["P"]], dtype=object), "pc")
    (4.0, 'P')
    """
    while isinstance(x, (list, tuple, np.ndarray)):
        flat = list(np.asarray(x, dtype=object).ravel()) if isinstance(x, np.ndarray) else x
        if isinstance(x, (list, tuple)):
            flat = [c for r in x for c in (r if isinstance(r, (list, tuple, np.ndarray)) else [r])]
        if len(flat) == 0:
            return None
        if len(flat) != 1:
            raise UdfArgError(f"{name} must be a single cell, got a range of {len(flat)} cells")
        x = flat[0]
    if isinstance(x, np.generic):
        x = x.item()
    return x


def grid(x: Any) -> list[list[Any]]:
    """Any argument as a 2-D list of cells: a scalar is 1x1, a 1-D list is one row.

    >>> grid(5), grid([1, 2]), grid([[1], [2]])
    ([[5]], [[1, 2]], [[1], [2]])
    """
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, tuple):
        x = list(x)
    if not isinstance(x, list):
        return [[x]]
    if not x:
        return [[None]]
    if all(isinstance(r, (list, tuple, np.ndarray)) for r in x):
        rows = [list(r.tolist() if isinstance(r, np.ndarray) else r) for r in x]
        width = max(len(r) for r in rows)
        return [r + [None] * (width - len(r)) for r in rows]
    return [list(x)]


def _text_number(s: str) -> float | None:
    t = s.strip().replace(",", "").replace("$", "").replace(" ", "")
    pct = t.endswith("%")
    if pct:
        t = t[:-1]
    if t.startswith("(") and t.endswith(")"):  # accounting negative
        t = "-" + t[1:-1]
    try:
        v = float(t)
    except ValueError:
        return None
    return v / 100.0 if pct else v


_RULES: dict[str, tuple[Callable[[float], bool], str]] = {
    "pos": (lambda v: v > 0, "> 0"),
    "nonneg": (lambda v: v >= 0, ">= 0"),
    "prob": (lambda v: 0 <= v <= 1, "between 0 and 1"),
    "vol": (lambda v: 0 <= v <= 10, "a decimal between 0 and 10 (4.25 = 425%)"),
    # a rate or yield typed in percent (4 for 4%) would price at 400%: refuse it instead
    "rate": (lambda v: -1 <= v <= 1, "a decimal between -1 and 1 (0.04 = 4%)"),
    "any": (lambda v: True, "a number"),
}


def _fmt(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return repr(x) if isinstance(x, str) else str(x)


def number(x: Any, name: str, rule: str = "any", default: Any = _MISSING) -> float:
    """A finite float from a number, text number ("3.15", "$1,000", "425%") or 1x1 range.

    A blank gives ``default`` (or an error naming the argument when there is none); an
    error value, a date, a boolean or other text is refused with a message naming ``name``.
    ``rule`` is one of "pos" (> 0), "nonneg" (>= 0), "prob" ([0, 1]), "vol" ([0, 10]),
    "rate" ([-1, 1], a continuous rate or yield as a decimal), "any".

    >>> number("425%", "vol", "vol"), number(None, "rate", default=0.04)
    (4.25, 0.04)
    >>> number("abc", "spot")
    Traceback (most recent call last):
    ...
    udfs._boundary.UdfArgError: spot must be a number, got 'abc'
    """
    x = cell(x, name)
    if is_blank(x):
        if default is _MISSING:
            raise UdfArgError(f"{name} is required (the cell is blank)")
        return default
    err = error_text(x)
    if err:
        raise UdfArgError(f"{name} is an error value {err}")
    if isinstance(x, (bool, np.bool_)) or isinstance(x, (_dt.date, _dt.datetime)):
        raise UdfArgError(f"{name} must be a number, got {x!r}")
    if isinstance(x, str):
        v = _text_number(x)
        if v is None:
            raise UdfArgError(f"{name} must be a number, got {x!r}")
    else:
        try:
            v = float(x)
        except (TypeError, ValueError):
            raise UdfArgError(f"{name} must be a number, got {x!r}") from None
    if not math.isfinite(v):
        raise UdfArgError(f"{name} must be a finite number, got {_fmt(v)}")
    check, words = _RULES[rule]
    if not check(v):
        raise UdfArgError(f"{name} must be {words}, got {_fmt(v)}")
    return v


def kind(x: Any, name: str = "pc") -> float:
    """+1.0 for a call, -1.0 for a put ("put"/"P"/"Put", "call"/"C", or -1/+1).

    >>> kind("Put"), kind([["c"]]), kind(-1)
    (-1.0, 1.0, -1.0)
    """
    x = cell(x, name)
    if is_blank(x):
        raise UdfArgError(f"{name} is required: 'put' or 'call'")
    if error_text(x):
        raise UdfArgError(f"{name} is an error value {error_text(x)}")
    if isinstance(x, str) and _text_number(x) is not None:
        x = _text_number(x)
    code = parse_kind(x)
    if isinstance(x, bool) or not np.isfinite(code):
        raise UdfArgError(f"{name} must be 'put' or 'call' (or P/C, -1/+1), got {x!r}")
    return float(code)


def style(x: Any, name: str = "style") -> str:
    """Exercise style; blank means "american" (listed equity options are American).

    >>> style(None), style("E"), style("European")
    ('american', 'european', 'european')
    """
    x = cell(x, name)
    if is_blank(x):
        return "american"
    s = str(x).strip().lower()
    if s in ("american", "amer", "a"):
        return "american"
    if s in ("european", "euro", "e"):
        return "european"
    raise UdfArgError(f"{name} must be 'american' or 'european' (or A/E), got {x!r}")


def flag(x: Any, name: str, default: bool) -> bool:
    """A TRUE/FALSE switch (also 1/0, "yes"/"no"); blank gives ``default``.

    >>> flag(None, "hdr", True), flag(0, "hdr", True), flag("no", "hdr", True)
    (True, False, False)
    """
    x = cell(x, name)
    if is_blank(x):
        return default
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, float)) and x in (0, 1):
        return bool(x)
    s = str(x).strip().lower()
    if s in ("true", "yes", "y", "1"):
        return True
    if s in ("false", "no", "n", "0"):
        return False
    raise UdfArgError(f"{name} must be TRUE or FALSE, got {x!r}")


def text(x: Any, name: str, default: str | None = None) -> str:
    """A text cell, stripped; blank gives ``default`` (or an error when there is none)."""
    x = cell(x, name)
    if is_blank(x):
        if default is None:
            raise UdfArgError(f"{name} is required (the cell is blank)")
        return default
    if error_text(x):
        raise UdfArgError(f"{name} is an error value {error_text(x)}")
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return str(x).strip()


def _serial_to_date(v: float) -> _dt.date:
    return (EXCEL_EPOCH + _dt.timedelta(days=v)).date()


def as_date(x: Any, name: str, default: Any = _MISSING) -> _dt.date:
    """A date from a ``datetime``/``date``, an Excel serial (> 10000) or ISO/US text.

    >>> as_date(45947, "expiry"), as_date("2025-10-17", "expiry")
    (datetime.date(2025, 10, 17), datetime.date(2025, 10, 17))
    """
    x = cell(x, name)
    if is_blank(x):
        if default is _MISSING:
            raise UdfArgError(f"{name} is required (the cell is blank)")
        return default
    if error_text(x):
        raise UdfArgError(f"{name} is an error value {error_text(x)}")
    if isinstance(x, _dt.datetime):
        return x.date()
    if isinstance(x, _dt.date):
        return x
    if hasattr(x, "to_pydatetime"):
        return x.to_pydatetime().date()
    if isinstance(x, str):
        s = x.strip()
        for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
            try:
                return _dt.datetime.strptime(s, fmt).date()
            except ValueError:
                pass
        v = _text_number(s)
        if v is None:
            raise UdfArgError(f"{name} must be a date (YYYY-MM-DD or a date cell), got {x!r}")
        x = v
    v = number(x, name)
    if v <= SERIAL_DATE_MIN or v >= 2958466:
        raise UdfArgError(f"{name} must be a date (Excel serial > {int(SERIAL_DATE_MIN)}), got {_fmt(v)}")
    return _serial_to_date(v)


def years_to_expiry(expiry: Any, valuation: _dt.date, name: str = "expiry") -> float:
    """Years ACT/365 from ``valuation`` to ``expiry`` (a date, or days when <= 10000).

    >>> years_to_expiry(73, _dt.date(2025, 9, 27)), years_to_expiry("2026-09-27", _dt.date(2025, 9, 27))
    (0.2, 1.0)
    """
    x = cell(expiry, name)
    if is_blank(x):
        raise UdfArgError(f"{name} is required: a date or days to expiry")
    if (
        isinstance(x, (int, float, np.integer, np.floating))
        and not isinstance(x, bool)
        or (isinstance(x, str) and _text_number(x) is not None and "-" not in x.strip()[1:] and "/" not in x)
    ):
        days = number(x, name)
        if days <= SERIAL_DATE_MIN:
            if days < 0:
                raise UdfArgError(f"{name} in days must be >= 0, got {_fmt(days)}")
            return days_to_years(days)
    d = as_date(x, name)
    days = (d - valuation).days
    if days < 0:
        raise UdfArgError(f"{name} {d.isoformat()} is before the valuation date {valuation.isoformat()}")
    return days_to_years(days)


class BoundedCache:
    """A small first-in-first-out memo for recalculation-heavy UDF inputs (configs, VaR runs).

    Excel recalculates every dependent formula on each edit; a UDF whose inputs did not change
    should not validate a config or rerun a 100,000-scenario Monte Carlo again.  Keys must be
    hashable; the oldest entry goes when ``maxsize`` is reached.

    >>> c = BoundedCache(2)
    >>> c.get_or_make("a", lambda: 1), c.get_or_make("b", lambda: 2), c.get_or_make("a", lambda: 9)
    (1, 2, 1)
    >>> _ = c.get_or_make("c", lambda: 3); "a" in c, "b" in c
    (False, True)
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = int(maxsize)
        self._data: dict[Any, Any] = {}

    def __contains__(self, key: Any) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()

    def get_or_make(self, key: Any, make: Callable[[], Any]) -> Any:
        """The cached value for ``key``, computing it with ``make()`` on a miss."""
        if key in self._data:
            return self._data[key]
        value = make()
        if len(self._data) >= self.maxsize:
            self._data.pop(next(iter(self._data)))  # the oldest entry
        self._data[key] = value
        return value
