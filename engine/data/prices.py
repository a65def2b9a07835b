"""Daily close histories: the price file behind historical VaR and the review's second series.

A price history CSV has the columns ``date`` (``YYYY-MM-DD`` or ``M/D/YYYY``, strictly
increasing) and ``close`` ($ per share, > 0); the column of the closes can be named otherwise
(``column=``).  The file is opened with :func:`engine.data.tables.read_text_table` and a bad cell
is refused with a :class:`PriceHistoryError` naming the file, line, column and rule.  The
histories are used by :func:`engine.risk.var.value_at_risk` (``method="historical"``) and by
:func:`engine.risk.review.weekly_review` (correlation with a second asset).
"""

from __future__ import annotations

import math

from engine._validate import VolarbInputError
from engine.data.tables import parse_date, read_text_table

__all__ = ["PriceHistoryError", "read_price_history"]


class PriceHistoryError(VolarbInputError):
    """A bad price-history file (message names the file, line and column)."""


def read_price_history(path_or_frame, column: str = "close"):
    """Read and validate a daily close history: CSV with columns ``date`` and ``close``.

    Parameters
    ----------
    path_or_frame : str, pathlib.Path or pandas.DataFrame
        The CSV, or a table already in memory.
    column : str
        The column holding the closes ($ per share).

    Returns
    -------
    pandas.DataFrame
        Columns ``date`` (datetime.date, strictly increasing) and ``column`` (float > 0).

    Raises
    ------
    PriceHistoryError
        Missing file or column, a non-positive or non-numeric close (row named), dates not
        increasing.

    Examples
    --------
    >>> import pandas as pd
    >>> read_price_history(pd.DataFrame({"date": ["2025-01-02", "2025-01-03"], "close": [3, 3.3]}))["close"].tolist()
    [3.0, 3.3]
    """
    import pandas as pd

    df, src = read_text_table(
        path_or_frame,
        "price history",
        PriceHistoryError,
        ("date", column),
        f"'date' and {column!r}",
        blanks_as_text=False,
    )
    dates, closes = [], []
    for i, (d, c) in enumerate(zip(df["date"], df[column], strict=True)):
        line = i + 2
        try:
            dates.append(parse_date(d))
        except ValueError:
            raise PriceHistoryError(
                f"{src}, line {line}, column 'date': expected YYYY-MM-DD, got {d!r}"
            ) from None
        try:
            val = float(c)
        except (TypeError, ValueError):
            val = float("nan")
        if not (math.isfinite(val) and val > 0):
            raise PriceHistoryError(
                f"{src}, line {line}, column {column!r}: expected a positive number, got {c!r}"
            )
        closes.append(val)
    for i in range(1, len(dates)):
        if dates[i] <= dates[i - 1]:
            raise PriceHistoryError(
                f"{src}, line {i + 2}, column 'date': dates must be strictly increasing ({dates[i]} after {dates[i - 1]})"
            )
    return pd.DataFrame({"date": dates, column: closes})
