"""The option-chain file: columns, cell rules and the reader that validates every quote.

A chain CSV has the columns ``expiry`` (YYYY-MM-DD or M/D/YYYY), ``strike`` ($ per share, > 0),
``kind`` (put/call, P/C), ``bid``, ``ask`` ($ per share, >= 0) and optionally ``last`` ($ per
share, used only when bid or ask is missing) and ``underlying``; the header may be in any case.
:func:`read_chain` opens the file with :func:`engine.data.tables.read_csv_text` (UTF-8, a
byte-order mark dropped) and :func:`chain_from_records` checks every row, reporting all the
refused cells together (file, line, column and rule named) and loading nothing when one is bad.
The chain is solved into an implied-vol surface by :mod:`engine.pricing.surface`.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from engine._validate import VolarbInputError
from engine.data.tables import parse_date, read_csv_text

__all__ = ["ChainError", "chain_from_records", "read_chain"]

# the columns a chain file may have (lower case)
# iv, open_interest: `volarb fetch` writes them into chain.csv; they are allowed and not read
_CHAIN_COLUMNS = ("expiry", "strike", "kind", "bid", "ask", "last", "underlying", "iv", "open_interest")
_MAX_ERRORS = 20


class ChainError(VolarbInputError):
    """An option-chain file that breaks a rule (message names the file, line and column)."""


def _num(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        x = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        if text.startswith("$"):
            text = text[1:]
        x = float(text)  # ValueError handled by caller
    if not math.isfinite(x):
        raise ValueError
    return x


def chain_from_records(records, source: str, first_row: int = 2, row_label: str = "line"):
    """Validate option-chain rows (dicts) into a DataFrame: expiry, strike, kind, bid, ask, last.

    Raises
    ------
    ChainError
        Unknown or missing columns, no rows, or refused cells (all reported together).

    Examples
    --------
    >>> chain_from_records([{"Expiry": "10/17/2025", "strike": "2.5", "kind": "P", "bid": "0.9",
    ...                      "ask": "1.1"}], "demo")[["strike", "kind", "bid", "ask"]].values.tolist()
    [[2.5, 'put', 0.9, 1.1]]
    """
    import pandas as pd

    rows, errors = [], []
    cols: list[str] | None = None
    for i, raw in enumerate(records):
        if cols is None:
            cols = [str(c).strip().lower() for c in raw.keys()]
            unknown = [c for c in cols if c and c not in _CHAIN_COLUMNS]
            if unknown:
                raise ChainError(
                    f"{source}: unknown column(s) {', '.join(repr(u) for u in unknown)}; "
                    f"allowed: {', '.join(_CHAIN_COLUMNS)}"
                )
            missing = [c for c in ("expiry", "strike", "kind") if c not in cols]
            if missing or not ({"bid", "ask"} <= set(cols) or "last" in cols):
                raise ChainError(
                    f"{source}: missing column(s) {', '.join(repr(m) for m in missing) or ''}"
                    f"{'; ' if missing else ''}need expiry, strike, kind and bid+ask (or last)"
                )
        rec = dict(zip(cols, raw.values(), strict=False))
        if all(v is None or not str(v).strip() for v in rec.values()):
            continue
        where = f"{source}, {row_label} {first_row + i}"
        out: dict[str, Any] = {}
        bad = False
        try:
            out["expiry"] = parse_date(rec.get("expiry") if rec.get("expiry") is not None else "")
        except ValueError as exc:
            errors.append(f"{where}, column 'expiry': {exc}")
            bad = True
        kind = str(rec.get("kind") or "").strip().lower()
        out["kind"] = {"p": "put", "put": "put", "c": "call", "call": "call"}.get(kind)
        if out["kind"] is None:
            errors.append(f"{where}, column 'kind': expected put or call (P/C), got {rec.get('kind')!r}")
            bad = True
        for col in ("strike", "bid", "ask", "last"):
            try:
                x = _num(rec.get(col))
            except ValueError:
                errors.append(f"{where}, column {col!r}: expected a number, got {rec.get(col)!r}")
                bad = True
                continue
            if x is not None and (x < 0 or (col == "strike" and x == 0)):
                rule = "a positive number" if col == "strike" else "a price >= 0"
                errors.append(f"{where}, column {col!r}: expected {rule}, got {rec.get(col)!r}")
                bad = True
            out[col] = np.nan if x is None else x
        if not bad and np.isnan(out["strike"]):
            errors.append(f"{where}, column 'strike': required value is empty")
            bad = True
        if not bad and (np.isnan(out["bid"]) or np.isnan(out["ask"])) and np.isnan(out["last"]):
            errors.append(f"{where}, column 'bid'/'ask': need both bid and ask (or a last price)")
            bad = True
        if not bad:
            rows.append(out)
    if errors:
        head = (
            errors[0]
            if len(errors) == 1
            else f"{source}: {len(errors)} problems; nothing was loaded:\n" + "\n".join(errors[:_MAX_ERRORS])
        )
        raise ChainError(head)
    if not rows:
        raise ChainError(f"{source}: the option chain has no quotes")
    return pd.DataFrame(rows, columns=["expiry", "strike", "kind", "bid", "ask", "last"])


def read_chain(path: str | Path):
    """Read and validate an option-chain CSV into a DataFrame (see the module docstring).

    Parameters
    ----------
    path : str or Path
        CSV with expiry, strike, kind, bid, ask (last, underlying optional); header any case.

    Returns
    -------
    pandas.DataFrame
        Columns ``expiry`` (datetime.date), ``strike``, ``kind`` (put/call), ``bid``, ``ask``,
        ``last`` ($ per share; NaN where blank), one row per quote.

    Raises
    ------
    ChainError
        Unreadable or empty file, unknown/missing columns, refused cells (file, line, column
        named), no quotes.

    Examples
    --------
    >>> from engine.data.examples import example_path
    >>> c = read_chain(example_path("chain"))
    >>> len(c), sorted(set(c["kind"]))
    (64, ['call', 'put'])
    """
    path = Path(path)
    text = read_csv_text(path, "option chain", ChainError)
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ChainError(
            f"{path.name}: the file is empty (expected a header: expiry, strike, kind, bid, ask)"
        )
    return chain_from_records(list(reader), path.name)
