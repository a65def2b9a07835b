"""Option positions: reading and validating a positions CSV, OCC symbols, the plan's example book.

A positions table has exactly :data:`POSITION_COLUMNS`, one row per lot:

=============  =====================================================================
underlying     ticker text (upper-cased), e.g. ``ASST``
kind           ``"put"`` or ``"call"`` (input also ``P``/``C``, any case)
side           ``"short"`` or ``"long"`` (input also ``S``/``L``, ``sell``/``buy``)
strike         $ per share, > 0
expiry         :class:`datetime.date` (input ``YYYY-MM-DD`` or ``M/D/YYYY``)
contracts      whole number > 0 (the direction is in ``side``, never a negative count)
premium        $ per share, >= 0: received for a short, paid for a long
open_date      :class:`datetime.date` or ``None`` (optional)
iv             the position's own implied vol, annualized decimal, or NaN (optional;
               input ``4.25`` or ``"425%"``)
note           free text (optional; ``""`` when absent)
=============  =====================================================================

An input file may give an OCC option symbol in a ``symbol`` column (``ASST  251017P00002500``,
with or without the padding spaces) instead of underlying/kind/strike/expiry.

Validation happens here, once (house style rule 8).  Every refused cell is reported with the
file, the line, the column and what was expected; all problems (up to
:data:`MAX_REPORTED_ERRORS`) are collected into one :class:`PositionsError` and nothing partial
is returned.  Text cells are never evaluated: a note ``=1+1`` stays the text ``"=1+1"`` (the
report layer writes it as text, never as a formula).

The built-in example (:func:`example_positions`, file ``engine/data/example_positions.csv``)
holds the plan's 38 short puts with the premiums of its table (valuation 2025-09-27), and an
illustrative set of long calls for the plan's "Net Call Value: $1,190 (mostly long positions)":

=======  =====  ==========  ================  ==========  =======  =============
strike   lots   expiry      contracts         premium     total    plan "current
                                              $/share     $        value" $
=======  =====  ==========  ================  ==========  =======  =============
2.00     2      2025-10-17  5                 0.50        250
                2025-11-21  5                 0.70        350      730
2.50     2      2025-10-17  5                 0.98        490
                2025-11-21  17                1.09        1,853    2,640
3.00     1      2025-11-21  2                 1.22        244      326
4.00     1      2025-12-19  2                 2.45        490      556
5.00     1      2025-12-19  2                 3.36        672      730
=======  =====  ==========  ================  ==========  =======  =============

Per strike the premiums total the plan's $600 / $2,343 / $244 / $490 / $672 ($4,349; per share
0.60 / 1.065 / 1.22 / 2.45 / 3.36).  The plan gives no expiries; these monthly expirations (third
Fridays) were chosen so that American model marks at the plan's market (spot 3.15, vol 4.25,
r 4%) are of the order of the plan's "current value" column.  The plan prints "22 total" for
$2.50, so that strike is two lots; $2.00 is split too because no single monthly expiry comes
close (Oct 17 gives $495, Nov 21 gives $983).  American model marks ($ per share; QuantLib's
finite-difference American engine agrees within $0.002) are 0.495 and 0.983 ($2.00), 0.775 and
1.346 ($2.50), 1.730 ($3.00), 2.875 ($4.00), 3.752 ($5.00), i.e. values by strike $739 / $2,677 /
$346 / $575 / $750 (total $5,087 against the plan's $4,982) and unrealized P&L -$139 / -$334 /
-$102 / -$85 / -$78 against the plan's -$130 / -$303 / -$82 / -$66 / -$59.  The tests assert these
against QuantLib, not against this text.

The calls are **illustrative**: the plan gives their net value ($1,190, "random strikes without
strategic purpose") but no strikes, expiries or counts, so the example holds a made-up mixed set
(the ``note`` column says so) that :func:`engine.plan.rebalance.rebalance` can restructure:

=======  ==========  =========  ==========  =========================================
strike   expiry      contracts  paid        American model mark $/share (value $)
                     (long)     $/share
=======  ==========  =========  ==========  =========================================
3.50     2025-11-21  2          1.95        1.796 ($359)
4.50     2026-01-16  1          2.10        2.253 ($225; on hedge rung 1: 1.5x spot)
7.50     2025-12-19  2          1.60        1.715 ($343)
12.00    2026-06-18  1          2.90        2.741 ($274)
=======  ==========  =========  ==========  =========================================

Model value $1,202 (the plan: $1,190); paid $1,210.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from engine._validate import VolarbInputError
from engine.data.tables import parse_date  # the one date parser (re-exported here)

__all__ = [
    "POSITION_COLUMNS",
    "PositionsError",
    "MAX_REPORTED_ERRORS",
    "read_positions",
    "positions_from_records",
    "example_positions",
    "parse_occ_symbol",
    "occ_symbol",
    "parse_date",
    "parse_iv",
    "row_where",
    "is_stock",
    "header_key",
]

POSITION_COLUMNS = (
    "underlying",
    "kind",
    "side",
    "strike",
    "expiry",
    "contracts",
    "premium",
    "open_date",
    "iv",
    "note",
    "shares",
)
_OPTIONAL = ("open_date", "iv", "note", "shares")
#: columns a stock row leaves blank, and the one it needs instead of ``contracts``
_STOCK_BLANK = ("strike", "expiry", "contracts", "iv")
_SYMBOL_PARTS = ("underlying", "kind", "strike", "expiry")
_ALLOWED = set(POSITION_COLUMNS) | {"symbol"}
MAX_REPORTED_ERRORS = 20
_IV_MAX = 10.0  # 1000% vol; a bare "425" is almost surely a percent without its % sign


class PositionsError(VolarbInputError):
    """A positions file or table that breaks a rule.

    The message names the source, the line (or row), the column and what was expected; the
    individual problems are also in :attr:`errors` (list of str).
    """

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = list(errors) if errors else [message]


# --------------------------------------------------------------------------- cell parsers
class _CellError(Exception):
    """Raised by a cell parser; carries the 'expected ..., got ...' text."""


_KINDS = {"put": "put", "p": "put", "call": "call", "c": "call"}
_POSITION_KINDS = {**_KINDS, "stock": "stock", "stk": "stock", "shares": "stock", "equity": "stock"}
_SIDES = {"short": "short", "s": "short", "sell": "short", "long": "long", "l": "long", "buy": "long"}
_OCC_RE = re.compile(r"^\s*([A-Za-z0-9.]{1,6})\s*(\d{6})([CPcp])(\d{8})\s*$")


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _is_zero(value: Any) -> bool:
    """0 (or "0") in the shares column of an option row reads as blank (a marked book's own output)."""
    try:
        return float(str(value).strip()) == 0.0
    except ValueError:
        return False


def _shown(value: Any) -> str:
    return repr(value.strip()) if isinstance(value, str) else repr(value)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise _CellError(f"expected {what}, got {value!r}")
    if isinstance(value, (int, float)):
        x = float(value)
    else:
        text = str(value).strip()
        if text.startswith("$"):
            text = text[1:].strip()
        try:
            x = float(text)
        except ValueError:
            raise _CellError(f"expected {what}, got {_shown(value)}") from None
    if not math.isfinite(x):
        raise _CellError(f"expected {what}, got {_shown(value)}")
    return x


def parse_iv(value: Any) -> float:
    """An implied vol as an annualized decimal from ``4.25`` or ``"425%"``.

    Raises
    ------
    ValueError
        If the value is not a number, not > 0, or above 10 (1000%) without a % sign.

    Examples
    --------
    >>> parse_iv("425%"), parse_iv("4.25"), parse_iv(0.9)
    (4.25, 4.25, 0.9)
    """
    pct = isinstance(value, str) and value.strip().endswith("%")
    what = "an implied vol as a decimal (4.25) or a percent ('425%')"
    try:
        x = _number(value.strip()[:-1] if pct else value, what)
    except _CellError as exc:
        raise ValueError(str(exc)) from None
    if pct:
        x = x / 100.0
    if x <= 0:
        raise ValueError(f"expected a positive implied vol, got {_shown(value)}")
    if x > _IV_MAX:
        raise ValueError(
            f"expected an implied vol as a decimal (4.25 = 425%) at most {_IV_MAX:g}, "
            f"got {_shown(value)}; write '{x:g}%' if a percent was meant"
        )
    return float(x)


def _cell_kind(v: Any) -> str:
    k = _KINDS.get(str(v).strip().lower()) if isinstance(v, str) else None
    if k is None:
        raise _CellError(f"expected put or call (P/C, any case), got {_shown(v)}")
    return k


def _cell_position_kind(v: Any) -> str:
    k = _POSITION_KINDS.get(str(v).strip().lower()) if isinstance(v, str) else None
    if k is None:
        raise _CellError(f"expected put or call (P/C, any case) or stock, got {_shown(v)}")
    return k


def _cell_side(v: Any) -> str:
    s = _SIDES.get(str(v).strip().lower()) if isinstance(v, str) else None
    if s is None:
        raise _CellError(f"expected short or long (S/L, sell/buy), got {_shown(v)}")
    return s


def _cell_strike(v: Any) -> float:
    x = _number(v, "a positive number")
    if x <= 0:
        raise _CellError(f"expected a positive number, got {_shown(v)}")
    return x


def _cell_contracts(v: Any) -> int:
    what = "a positive whole number of contracts"
    x = _number(v, what)
    if x <= 0 or not float(x).is_integer():
        raise _CellError(f"expected {what} (direction goes in 'side'), got {_shown(v)}")
    return int(x)


def _cell_shares(v: Any) -> int:
    what = "a positive whole number of shares"
    x = _number(v, what)
    if x <= 0 or not float(x).is_integer():
        raise _CellError(f"expected {what} (direction goes in 'side'), got {_shown(v)}")
    return int(x)


def _cell_premium(v: Any) -> float:
    x = _number(v, "a premium in $ per share >= 0")
    if x < 0:
        raise _CellError(
            f"expected a premium in $ per share >= 0 (direction goes in 'side'), got {_shown(v)}"
        )
    return x


def _cell_date(v: Any) -> _dt.date:
    try:
        return parse_date(v)
    except ValueError as exc:
        raise _CellError(str(exc)) from None


def _cell_iv(v: Any) -> float:
    try:
        return parse_iv(v)
    except ValueError as exc:
        raise _CellError(str(exc)) from None


def _cell_text(v: Any) -> str:
    return str(v).strip()


def _cell_underlying(v: Any) -> str:
    t = str(v).strip().upper()
    if not re.fullmatch(r"[A-Z0-9.]{1,6}", t):
        # listed option roots are 1-6 characters (OCC symbology); a longer text is a typo or a name
        raise _CellError(f"expected a ticker of 1-6 letters or digits (an OCC option root), got {_shown(v)}")
    return t


_PARSERS = {
    "underlying": _cell_underlying,
    "kind": _cell_position_kind,
    "side": _cell_side,
    "strike": _cell_strike,
    "expiry": _cell_date,
    "contracts": _cell_contracts,
    "premium": _cell_premium,
    "open_date": _cell_date,
    "iv": _cell_iv,
    "note": _cell_text,
    "shares": _cell_shares,
}


# --------------------------------------------------------------------------- OCC symbols
def parse_occ_symbol(symbol: str) -> dict[str, Any]:
    """Split an OCC option symbol into underlying, expiry, kind and strike.

    The OCC format is the root (up to 6 characters, space-padded to 6), ``YYMMDD``, ``C``/``P``
    and the strike times 1000 in 8 digits; the padding spaces may be missing.

    Raises
    ------
    VolarbInputError
        If the text is not an OCC symbol or its date is impossible.

    References
    ----------
    OCC, "Symbology Initiative" specification (2010), 21-character option symbol.

    Examples
    --------
    >>> parse_occ_symbol("ASST  251017P00002500")
    {'underlying': 'ASST', 'expiry': datetime.date(2025, 10, 17), 'kind': 'put', 'strike': 2.5}
    >>> parse_occ_symbol("ASST251017C00010000")["strike"]
    10.0
    """
    m = _OCC_RE.match(symbol) if isinstance(symbol, str) else None
    bad = (
        f"expected an OCC option symbol like 'ASST  251017P00002500' (root, YYMMDD, C/P, "
        f"strike x 1000 in 8 digits), got {_shown(symbol)}"
    )
    if m is None:
        raise VolarbInputError(bad)
    root, ymd, cp, strike = m.groups()
    try:
        expiry = _dt.date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    except ValueError:
        raise VolarbInputError(bad + f" (date {ymd} is impossible)") from None
    k = int(strike) / 1000.0
    if k <= 0:
        raise VolarbInputError(bad + " (strike is zero)")
    return {
        "underlying": root.upper(),
        "expiry": expiry,
        "kind": "call" if cp.upper() == "C" else "put",
        "strike": k,
    }


def occ_symbol(underlying: str, expiry: _dt.date | str, kind: str, strike: float, padded: bool = True) -> str:
    """The OCC option symbol of one option (root padded to 6 characters unless ``padded=False``).

    Raises
    ------
    VolarbInputError
        If the root is not 1-6 letters/digits, the kind is unknown, or the strike is not a
        positive multiple of $0.001 below $100,000.

    Examples
    --------
    >>> occ_symbol("ASST", "2025-10-17", "P", 2.5)
    'ASST  251017P00002500'
    >>> occ_symbol("asst", "2025-10-17", "call", 10, padded=False)
    'ASST251017C00010000'
    """
    root = str(underlying).strip().upper()
    if not re.fullmatch(r"[A-Z0-9.]{1,6}", root):
        raise VolarbInputError(f"OCC root must be 1-6 letters or digits, got {underlying!r}")
    try:
        exp = parse_date(expiry)
        k = _cell_kind(kind)
    except (ValueError, _CellError) as exc:
        raise VolarbInputError(f"occ_symbol: {exc}") from None
    milli = round(float(strike) * 1000)
    if not (0 < milli < 10**8) or abs(milli - float(strike) * 1000) > 1e-6:
        raise VolarbInputError(
            f"OCC strike must be a positive multiple of 0.001 below 100000, got {strike!r}"
        )
    pad = root.ljust(6) if padded else root
    return f"{pad}{exp:%y%m%d}{'C' if k == 'call' else 'P'}{milli:08d}"


# --------------------------------------------------------------------------- tables
_UNIT_RE = re.compile(r"\s*\([^()]*\)\s*$")


def header_key(name: Any) -> str:
    """The column key of a header cell: lower case, a trailing unit in parentheses dropped,
    spaces and hyphens as underscores (the report's Positions headers carry their units).

    >>> header_key("Premium ($/share)"), header_key(" Open date "), header_key("contracts"), header_key(None)
    ('premium', 'open_date', 'contracts', '')
    """
    if name is None:
        return ""
    text = _UNIT_RE.sub("", str(name).strip()).strip().lower()
    return re.sub(r"[\s-]+", "_", text)


def _normalize_header(names: Iterable[Any], source: str) -> list[str]:
    cols = [header_key(n) for n in names]
    unknown = [c for c in cols if c and c not in _ALLOWED]
    if unknown:
        raise PositionsError(
            f"{source}: unknown column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}; allowed columns are "
            f"{', '.join(POSITION_COLUMNS)} (or symbol instead of underlying/kind/strike/expiry)"
        )
    seen = set()
    for c in cols:
        if c and c in seen:
            raise PositionsError(f"{source}: column {c!r} appears twice in the header")
        seen.add(c)
    present = set(cols)
    missing = [c for c in ("side", "contracts", "premium") if c not in present]
    if "symbol" not in present:
        missing += [c for c in _SYMBOL_PARTS if c not in present]
    if missing:
        raise PositionsError(
            f"{source}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} (give underlying, kind, strike, "
            f"expiry or one symbol column, plus side, contracts, premium)"
        )
    return cols


def _validate_row(rec: Mapping[str, Any], where: str) -> tuple[dict[str, Any] | None, list[str]]:
    errors: list[str] = []
    out: dict[str, Any] = {}
    sym = rec.get("symbol")
    from_symbol: dict[str, Any] = {}
    if not _blank(sym):
        try:
            from_symbol = parse_occ_symbol(str(sym))
        except VolarbInputError as exc:
            errors.append(f"{where}, column 'symbol': {exc}")
    raw_kind = rec.get("kind")
    stock = (
        _blank(sym) and isinstance(raw_kind, str) and _POSITION_KINDS.get(raw_kind.strip().lower()) == "stock"
    )
    if stock:  # a stock row: shares and a cost per share; no strike, expiry, contracts or vol
        for col in _STOCK_BLANK:
            if not _blank(rec.get(col)):
                errors.append(
                    f"{where}, column {col!r}: a stock row (kind = stock) leaves {col} blank, "
                    f"got {_shown(rec.get(col))}"
                )
        if _blank(rec.get("shares")):
            errors.append(
                f"{where}, column 'shares': a stock row (kind = stock) needs a positive whole number of shares"
            )
    elif not _blank(rec.get("shares")) and not _is_zero(rec.get("shares")):
        errors.append(
            f"{where}, column 'shares': an option row takes 'contracts', not 'shares' "
            f"(got {_shown(rec.get('shares'))}); use kind = stock for shares"
        )
    for col in POSITION_COLUMNS:
        value = rec.get(col)
        if stock and col in _STOCK_BLANK:
            out[col] = {"strike": math.nan, "expiry": None, "contracts": 0, "iv": math.nan}[col]
            continue
        if not stock and col == "shares":
            out[col] = 0
            continue
        if _blank(value):
            if col in from_symbol or (col in _SYMBOL_PARTS and not _blank(sym)):
                continue
            if col in _OPTIONAL:
                out[col] = {"open_date": None, "iv": math.nan, "note": "", "shares": 0}[col]
                continue
            hint = " (or give a symbol)" if col in _SYMBOL_PARTS else ""
            errors.append(f"{where}, column {col!r}: required value is empty{hint}")
            continue
        try:
            out[col] = _PARSERS[col](value)
        except _CellError as exc:
            errors.append(f"{where}, column {col!r}: {exc}")
    for col, val in from_symbol.items():
        if col in out and out[col] != val:
            errors.append(
                f"{where}, column {col!r}: {out[col]!r} disagrees with symbol {str(sym).strip()!r} "
                f"({val!r}); give one or make them agree"
            )
        out[col] = val
    if not errors and out["kind"] == "put" and out["premium"] >= out["strike"]:
        # a put is never worth its strike or more (at most K, at a stock price of 0): a premium
        # this large is a total instead of a per-share figure, or columns swapped
        errors.append(
            f"{where}, column 'premium': {out['premium']:g} per share is not below the put's strike "
            f"{out['strike']:g} (give the premium per share, not the total)"
        )
    if (
        not errors
        and out.get("open_date") is not None
        and out.get("expiry") is not None
        and out["open_date"] > out["expiry"]
    ):
        errors.append(f"{where}, column 'open_date': {out['open_date']} is after the expiry {out['expiry']}")
    return (None if errors else out), errors


def _frame(rows: list[dict[str, Any]], source: str | None = None, where: list[str] | None = None):
    """The positions DataFrame; ``attrs["where"]`` keeps each row's "<source>, line <n>" for messages."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=list(POSITION_COLUMNS))
    if rows:
        df = df.astype(
            {"strike": float, "contracts": "int64", "premium": float, "iv": float, "shares": "int64"}
        )
    else:
        df = df.astype(
            {
                "strike": float,
                "contracts": "int64",
                "premium": float,
                "iv": float,
                "shares": "int64",
                "underlying": object,
                "kind": object,
                "side": object,
                "expiry": object,
                "open_date": object,
                "note": object,
            }
        )
    df = df.reset_index(drop=True)
    if where is not None:
        df.attrs["source"] = source
        df.attrs["where"] = list(where)
    return df


def row_where(positions, i: int) -> str:
    """Where row ``i`` of a positions table came from (``"positions.csv, line 4"``), for messages.

    >>> row_where(example_positions(), 0)
    'example_positions.csv, line 2'
    """
    where = getattr(positions, "attrs", {}).get("where")
    if where is not None and len(where) == len(positions) and 0 <= i < len(where):
        return str(where[i])
    return f"positions row {i + 1}"


def _raise_collected(source: str, errors: list[str], n_rows_bad: int) -> None:
    shown = errors[:MAX_REPORTED_ERRORS]
    if len(errors) == 1:
        raise PositionsError(errors[0], errors)
    more = f" (first {MAX_REPORTED_ERRORS} shown)" if len(errors) > MAX_REPORTED_ERRORS else ""
    head = (
        f"{source}: {len(errors)} problems in {n_rows_bad} row{'s' if n_rows_bad > 1 else ''}{more}; "
        f"nothing was loaded:"
    )
    raise PositionsError("\n".join([head, *shown]), errors)


def positions_from_records(
    records: Iterable[Mapping[str, Any]], source: str, first_row: int = 2, row_label: str = "line"
):
    """Validate position records (dicts keyed by column name) into a positions DataFrame.

    Parameters
    ----------
    records : iterable of mapping
        One mapping per row; keys are column names (any case, surrounding spaces ignored),
        values text, numbers, dates or None/blank.  Wholly blank rows are skipped.
    source : str
        Name used in messages, e.g. ``"positions.csv"`` or ``"report.xlsx, sheet Positions"``.
    first_row : int
        Line/row number of the first record (2 when the header is on line 1).
    row_label : str
        Word used in messages: ``"line"`` for files, ``"row"`` for worksheets.

    Returns
    -------
    pandas.DataFrame
        Exactly :data:`POSITION_COLUMNS` (see the module docstring for types and units).

    Raises
    ------
    PositionsError
        Unknown or missing columns, no rows, or any refused cell.  All refused cells (up to
        :data:`MAX_REPORTED_ERRORS` shown) are reported together, each as
        ``"<source>, <row_label> <n>, column '<name>': expected ..., got ..."``.

    Examples
    --------
    >>> df = positions_from_records([{"Symbol": "ASST  251017P00002500", "side": "S",
    ...                               "contracts": 10, "premium": "0.60", "iv": "425%"}], "demo")
    >>> row = df.iloc[0]
    >>> row.underlying, row.kind, row.side, float(row.strike), int(row.contracts), float(row.iv)
    ('ASST', 'put', 'short', 2.5, 10, 4.25)
    """
    rows: list[dict[str, Any]] = []
    wheres: list[str] = []
    errors: list[str] = []
    n_bad = 0
    header: list[str] | None = None
    header_keys: list[Any] | None = None
    for i, raw in enumerate(records):
        if header is None or list(raw.keys()) != header_keys:
            header_keys = list(raw.keys())
            header = _normalize_header(header_keys, source)
        if all(_blank(v) for v in raw.values()):
            continue
        rec = {h: v for h, v in zip(header, raw.values(), strict=True) if h}
        out, errs = _validate_row(rec, f"{source}, {row_label} {first_row + i}")
        if errs or out is None:
            n_bad += 1
            errors.extend(errs)
        else:
            rows.append(out)
            wheres.append(f"{source}, {row_label} {first_row + i}")
    if errors:
        _raise_collected(source, errors, n_bad)
    if not rows:
        raise PositionsError(f"{source}: no positions (the table has no data rows)")
    return _frame(rows, source, wheres)


def _read_text(text: str, source: str):
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise PositionsError(
            f"{source}: the file is empty (expected a header line with columns {', '.join(POSITION_COLUMNS)})"
        ) from None
    except csv.Error as exc:
        raise PositionsError(f"{source}, line 1: not readable as CSV ({exc})") from None
    cols = _normalize_header(header, source)
    rows: list[dict[str, Any]] = []
    wheres: list[str] = []
    errors: list[str] = []
    n_bad = 0
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"{source}, line {start}: not readable as CSV ({exc})")
            n_bad += 1
            break
        if all(not c.strip() for c in cells):
            continue
        where = f"{source}, line {start}"
        if len(cells) > len(cols) and any(c.strip() for c in cells[len(cols) :]):
            errors.append(f"{where}: {len(cells)} cells but the header has {len(cols)} columns")
            n_bad += 1
            continue
        rec = {c: (cells[j] if j < len(cells) else "") for j, c in enumerate(cols) if c}
        out, errs = _validate_row(rec, where)
        if errs or out is None:
            n_bad += 1
            errors.extend(errs)
        else:
            rows.append(out)
            wheres.append(where)
    if errors:
        _raise_collected(source, errors, n_bad)
    if not rows:
        raise PositionsError(f"{source}: no positions (only a header line)")
    return _frame(rows, source, wheres)


def read_positions(path: str | Path):
    """Read and validate a positions CSV (UTF-8, optional BOM) into a DataFrame.

    Parameters
    ----------
    path : str or Path
        CSV file with a header line; columns as in :data:`POSITION_COLUMNS` (names any case,
        surrounding spaces ignored) or ``symbol`` in place of underlying/kind/strike/expiry.

    Returns
    -------
    pandas.DataFrame
        Exactly :data:`POSITION_COLUMNS`, one row per non-blank line.

    Raises
    ------
    PositionsError
        Missing/unreadable file, empty file, header only, unknown or missing columns, or any
        refused cell, e.g. ``positions.csv, line 4, column 'strike': expected a positive number,
        got 'abc'``.  All problems are reported together; nothing partial is returned.

    Examples
    --------
    >>> from engine.data.positions import example_positions_path
    >>> book = read_positions(example_positions_path())
    >>> int(book.loc[book["kind"] == "put", "contracts"].sum()), int(book.loc[book["kind"] == "call", "contracts"].sum())
    (38, 6)
    """
    from engine.data.tables import read_csv_text

    path = Path(path)
    return _read_text(read_csv_text(path, "positions file", PositionsError), path.name)


def is_stock(positions):
    """Boolean mask of the stock rows (``kind == "stock"``) of a positions table.

    >>> is_stock(example_positions()).any()
    np.False_
    """
    import numpy as np

    if "kind" not in getattr(positions, "columns", ()):
        return np.zeros(len(positions), dtype=bool)
    return positions["kind"].astype(str).to_numpy() == "stock"


def example_positions_path() -> Path:
    """Path of the built-in example positions CSV (package data)."""
    return Path(str(resources.files("engine") / "data" / "example_positions.csv"))


def example_positions():
    """The plan's 38 short ASST puts and its illustrative long calls (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        Positions table (:data:`POSITION_COLUMNS`): 7 short-put lots (38 contracts, $4,349 of
        premium received) and 4 long-call lots (6 contracts, $1,210 paid; illustrative).

    Examples
    --------
    >>> df = example_positions()
    >>> puts = df[df["kind"] == "put"]
    >>> int(puts["contracts"].sum()), round(float((puts["premium"] * puts["contracts"] * 100).sum()), 2)
    (38, 4349.0)
    >>> sorted(set(df.loc[df["kind"] == "call", "side"]))
    ['long']
    """
    text = (resources.files("engine") / "data" / "example_positions.csv").read_text(encoding="utf-8")
    return _read_text(text, "example_positions.csv")
