"""The opening steps every input reader shares, and the one date parser.

Every volarb file reader (positions, option chain, IV history, price history, trade journal,
daily equity) starts the same way: take a DataFrame as given or read a CSV as text (never
letting pandas guess types, so a cell is validated by the reader's own rules), normalize the
header (stripped, lower case), and refuse a missing column by name.  :func:`read_text_table`
does those steps once; :func:`parse_date` is the one date parser (ISO ``YYYY-MM-DD``,
``M/D/YYYY``, :class:`datetime.date` / ``datetime``, pandas ``Timestamp``, numpy
``datetime64``) behind the readers, the calendar and the UDF boundary.

Errors are the caller's typed exception (a subclass of
:class:`engine._validate.VolarbInputError`), naming the file and the rule.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine._validate import VolarbInputError

__all__ = ["parse_date", "read_csv_text", "read_text_table", "shown"]

_MDY_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def shown(value: Any) -> str:
    """A cell value as quoted in error messages (blank cells say so)."""
    if (
        value is None
        or (isinstance(value, float) and value != value)
        or (isinstance(value, str) and not value.strip())
    ):
        return "a blank cell"
    return repr(value)


def parse_date(value: Any) -> _dt.date:
    """A date from ``YYYY-MM-DD`` or ``M/D/YYYY`` text, a date, datetime, Timestamp or datetime64.

    Raises
    ------
    ValueError
        With the text "expected a date YYYY-MM-DD or M/D/YYYY, got ...".

    Examples
    --------
    >>> parse_date("10/17/2025"), parse_date(" 2025-10-17 ")
    (datetime.date(2025, 10, 17), datetime.date(2025, 10, 17))
    >>> import numpy as np
    >>> parse_date(np.datetime64("2025-10-17"))
    datetime.date(2025, 10, 17)
    """
    if isinstance(value, _dt.datetime):  # also pandas.Timestamp (a datetime subclass)
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, np.datetime64) and not np.isnat(value):
        return _dt.date.fromisoformat(str(value.astype("datetime64[D]")))
    msg = f"expected a date YYYY-MM-DD or M/D/YYYY, got {shown(value)}"
    if not isinstance(value, str):
        raise ValueError(msg)
    text = value.strip()
    m = _MDY_RE.match(text)
    try:
        if m:
            return _dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        if _ISO_RE.match(text):
            return _dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(msg)


def read_csv_text(path: str | Path, what: str, error: type[VolarbInputError]) -> str:
    """The text of a CSV file: read, UTF-8 (a byte-order mark is dropped), or one clear refusal.

    Raises
    ------
    error
        The file cannot be read (the OS reason), or it is not UTF-8 (the byte named).

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as f:
    ...     _ = f.write(bytes([0xEF, 0xBB, 0xBF]) + b"date,iv")
    >>> read_csv_text(f.name, "IV history", VolarbInputError).splitlines()
    ['date,iv']
    >>> os.remove(f.name)
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise error(f"{p}: cannot read {what} ({exc.strerror})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{p}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None


def read_text_table(
    path_or_frame: Any,
    what: str,
    error: type[VolarbInputError],
    required: Sequence[str] = (),
    need: str | None = None,
    *,
    blanks_as_text: bool = True,
):
    """A CSV (or a DataFrame) as text cells with normalized headers, its required columns checked.

    Parameters
    ----------
    path_or_frame : str, pathlib.Path or pandas.DataFrame
        The file to read, or a table already in memory (copied, never modified).
    what : str
        What the file holds, for messages ("IV history", "trade journal", ...).
    error : type
        The reader's exception class (a :class:`VolarbInputError`).
    required : sequence of str
        Columns that must be present (lower case).
    need : str, optional
        How the message lists what is needed (default: the required columns joined).
    blanks_as_text : bool
        Blank cells as ``""`` (True) or NaN (False).

    Returns
    -------
    (pandas.DataFrame, str)
        The table (every cell text, headers stripped and lower-cased) and the source name used
        in messages: the file name, or ``what`` for a DataFrame.

    Raises
    ------
    error
        The file cannot be read; a required column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> df, src = read_text_table(pd.DataFrame({" Date ": ["2025-01-02"]}), "prices", VolarbInputError, ["date"])
    >>> list(df.columns), src
    (['date'], 'prices')
    """
    import pandas as pd

    if isinstance(path_or_frame, pd.DataFrame):
        df, src = path_or_frame.copy(), what
    else:
        src = Path(path_or_frame).name
        try:
            df = pd.read_csv(path_or_frame, dtype=str, keep_default_na=not blanks_as_text)
        except OSError as exc:
            raise error(f"{path_or_frame}: cannot read {what} ({exc.strerror})") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    for col in required:
        if col not in df.columns:
            raise error(f"{src}: missing column {col!r} (need {need or ', '.join(map(repr, required))})")
    return df, src
