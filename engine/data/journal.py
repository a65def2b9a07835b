"""The weekly review's two input files: the trade journal and the daily equity history.

Trade journal CSV, one row per event, in date order (``date, action, kind, strike, expiry,
contracts, price`` required; ``predicted_prob_itm`` optional):

* ``action`` ``sell`` / ``buy``: a trade (opens or closes against the running position of the
  same kind/strike/expiry); ``expire``: the option expired worthless (price 0);
  ``assign``: a short option was assigned; ``exercise``: a long option was exercised
  (``price`` = intrinsic value at that time, $ per share).
* ``price``: $ per share; ``contracts`` > 0.
* ``predicted_prob_itm``: on a ``sell`` of a put, the model's probability that it ends in the
  money (the plan's "assignment prediction").
* Optional, written by ``volarb import`` (:mod:`engine.data.brokers.lifecycle`) and kept in the
  returned frame: ``underlying``, ``account`` (positions are matched within one account and
  underlying), ``shares``, ``effect`` (open/close), ``commission``, ``fees``, ``amount``, ``pnl``,
  ``capital_at_risk`` ($), ``chain_id``, ``trade_id``, ``note``.  ``kind`` ``stock`` lines (share
  lots from assignments, call-aways) need ``shares`` > 0 and may leave strike, expiry and contracts
  blank; the option metrics skip them.

Daily equity CSV: ``date, equity`` ($, net liquidation at the close) and optionally
``contribution`` (deposit made that day, $).

Both readers open the file with :func:`engine.data.tables.read_text_table` (every cell text,
headers normalized) and refuse a bad cell with a :class:`ReviewError` naming the file, line,
column and rule.  The metrics computed from them are in :mod:`engine.risk.review`.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from engine._validate import VolarbInputError
from engine.data.tables import parse_date, read_text_table

__all__ = ["ReviewError", "JOURNAL_COLUMNS", "read_journal", "read_equity"]

#: the trade journal's required columns, in file order
_REQUIRED = ("date", "action", "kind", "strike", "expiry", "contracts", "price")
_ACTIONS = ("sell", "buy", "expire", "assign", "exercise")
_IMPORT_COLUMNS = (
    "underlying",
    "shares",
    "effect",
    "commission",
    "fees",
    "amount",
    "pnl",
    "capital_at_risk",
    "account",
    "chain_id",
    "trade_id",
    "note",
)
#: every column of a journal file, in the order ``volarb import`` writes them
JOURNAL_COLUMNS = (*_REQUIRED, "predicted_prob_itm", *_IMPORT_COLUMNS)


class ReviewError(VolarbInputError):
    """A bad journal/equity file or argument (message names the file, line and column)."""


def _date(v: Any, src: str, line: int, col: str) -> _dt.date:
    try:
        return parse_date(v)
    except ValueError:
        raise ReviewError(f"{src}, line {line}, column {col!r}: expected YYYY-MM-DD, got {v!r}") from None


def _num(v: Any, src: str, line: int, col: str, positive: bool = False, blank_ok: bool = False) -> float:
    if blank_ok and (v is None or str(v).strip() == "" or (isinstance(v, float) and math.isnan(v))):
        return float("nan")  # blank cell, or NaN from a frame this function already read
    try:
        x = float(v)
    except (TypeError, ValueError):
        x = float("nan")
    if not math.isfinite(x) or (positive and x <= 0) or (not positive and x < 0):
        rule = "a positive number" if positive else "a non-negative number"
        raise ReviewError(f"{src}, line {line}, column {col!r}: expected {rule}, got {v!r}")
    return x


def read_journal(path_or_frame):
    """Read and validate a trade journal (see the module docstring for the columns).

    Parameters
    ----------
    path_or_frame : str, pathlib.Path or pandas.DataFrame
        The CSV, or a table already in memory (a frame this function returned is accepted).

    Returns
    -------
    pandas.DataFrame
        ``date`` and ``expiry`` (datetime.date; ``expiry`` None on a stock line without one),
        ``action``, ``kind`` (put/call/stock), ``strike`` ($ per share), ``contracts``,
        ``price`` ($ per share), ``predicted_prob_itm`` (NaN when blank), then the optional
        import columns present in the file.

    Raises
    ------
    ReviewError
        Missing column; unknown action or kind; a bad number or date (file, line, column named);
        ``predicted_prob_itm`` outside [0, 1].

    Examples
    --------
    >>> import pandas as pd
    >>> j = read_journal(pd.DataFrame({"date": ["2025-09-02"], "action": ["Sell"], "kind": ["P"],
    ...     "strike": ["2.5"], "expiry": ["10/17/2025"], "contracts": ["3"], "price": ["0.4"]}))
    >>> j[["action", "kind", "strike", "contracts"]].values.tolist()
    [['sell', 'put', 2.5, 3.0]]
    """
    import pandas as pd

    df, src = read_text_table(path_or_frame, "trade journal", ReviewError, _REQUIRED, ", ".join(_REQUIRED))
    # optional columns written by `volarb import` (engine.data.brokers.lifecycle) are kept
    extra = [c for c in _IMPORT_COLUMNS if c in df.columns]
    rows = []
    for i, rec in enumerate(df.to_dict("records")):
        line = i + 2
        action = str(rec["action"]).strip().lower()
        if action not in _ACTIONS:
            raise ReviewError(
                f"{src}, line {line}, column 'action': must be one of {', '.join(_ACTIONS)}, got {rec['action']!r}"
            )
        kind = str(rec["kind"]).strip().lower()
        kind = {"p": "put", "c": "call"}.get(kind, kind)
        if kind not in ("put", "call", "stock"):
            raise ReviewError(
                f"{src}, line {line}, column 'kind': must be put, call or stock, got {rec['kind']!r}"
            )
        p = _num(rec.get("predicted_prob_itm", ""), src, line, "predicted_prob_itm", blank_ok=True)
        if math.isfinite(p) and p > 1:
            raise ReviewError(
                f"{src}, line {line}, column 'predicted_prob_itm': must be in [0, 1], got {rec['predicted_prob_itm']!r}"
            )
        stock = kind == "stock"  # a share lot line (volarb import): shares, no contracts/expiry needed
        if stock and not math.isfinite(
            _num(rec.get("shares", ""), src, line, "shares", positive=True, blank_ok=True)
        ):
            raise ReviewError(f"{src}, line {line}, column 'shares': a stock line needs shares > 0")
        blank_expiry = stock and str(rec["expiry"]).strip() in ("", "nan", "NaT", "None")
        row = {
            "date": _date(rec["date"], src, line, "date"),
            "action": action,
            "kind": kind,
            "strike": _num(rec["strike"], src, line, "strike", positive=True, blank_ok=stock),
            "expiry": None if blank_expiry else _date(rec["expiry"], src, line, "expiry"),
            "contracts": _num(rec["contracts"], src, line, "contracts", positive=True, blank_ok=stock),
            "price": _num(rec["price"], src, line, "price"),
            "predicted_prob_itm": p,
        }
        for col in extra:
            row[col] = rec.get(col)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*_REQUIRED, "predicted_prob_itm", *extra])


def read_equity(path_or_frame):
    """Read and validate a daily equity file: ``date, equity[, contribution]`` (dates increasing).

    Returns
    -------
    pandas.DataFrame
        ``date`` (datetime.date, strictly increasing), ``equity`` ($, net liquidation) and
        ``contribution`` ($ deposited that day, 0 when blank or absent).

    Raises
    ------
    ReviewError
        Missing column, a bad date or number, dates not increasing (file, line, column named).

    Examples
    --------
    >>> import pandas as pd
    >>> read_equity(pd.DataFrame({"date": ["2025-09-01", "2025-09-02"], "equity": ["100", "105"],
    ...     "contribution": ["", "4"]}))["contribution"].tolist()
    [0.0, 4.0]
    """
    import pandas as pd

    df, src = read_text_table(
        path_or_frame, "equity history", ReviewError, ("date", "equity"), "date, equity[, contribution]"
    )
    dates, eq, dep = [], [], []
    for i, rec in enumerate(df.to_dict("records")):
        line = i + 2
        dates.append(_date(rec["date"], src, line, "date"))
        try:
            e = float(rec["equity"])
        except (TypeError, ValueError):
            e = float("nan")
        if not math.isfinite(e):
            raise ReviewError(
                f"{src}, line {line}, column 'equity': expected a number, got {rec['equity']!r}"
            )
        eq.append(e)
        c = rec.get("contribution", "")
        dep.append(0.0 if str(c).strip() == "" else _num(c, src, line, "contribution"))
        if i and dates[-1] <= dates[-2]:
            raise ReviewError(f"{src}, line {line}, column 'date': dates must be strictly increasing")
    return pd.DataFrame({"date": dates, "equity": eq, "contribution": dep})
