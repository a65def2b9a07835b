"""Excel's rules for defined names, so no report or template name needs "repairing".

Excel refuses (or silently repairs on open) a defined name that

* is empty or longer than 255 characters;
* does not start with a letter, ``_`` or ``\\``, or contains anything but letters, digits,
  ``_``, ``.`` and ``\\`` (no spaces);
* reads as an A1 cell reference (``VaR95`` is column VAR, row 95; columns run to XFD, rows to
  1,048,576) or as an R1C1 reference (``R``, ``C``, ``R1``, ``C12``, ``R2C3``, ``RC``).

Reference: Microsoft, "Names in formulas" (support.microsoft.com, "Syntax rules for names").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["excel_name_problem", "workbook_name_problems"]

_MAX_COL = 16384  # XFD
_MAX_ROW = 1048576


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def excel_name_problem(name: str) -> str | None:
    """Why Excel would refuse the defined name ``name``, or None if it is a valid name.

    >>> excel_name_problem("ValueAtRisk") is None
    True
    >>> excel_name_problem("VaR95")
    'reads as the cell VAR95'
    >>> excel_name_problem("R2C3")
    'reads as an R1C1 reference'
    """
    if not name or len(name) > 255:
        return "must have 1 to 255 characters"
    if not re.match(r"[A-Za-z_\\]", name[0]):
        return "must start with a letter, _ or \\"
    if not re.fullmatch(r"[A-Za-z_\\][A-Za-z0-9_.\\]*", name):
        return "may hold only letters, digits, _, . and \\"
    m = re.fullmatch(r"([A-Za-z]{1,3})([0-9]+)", name)
    if m and _col_number(m.group(1)) <= _MAX_COL and 1 <= int(m.group(2)) <= _MAX_ROW:
        return f"reads as the cell {name.upper()}"
    if re.fullmatch(r"[Rr]([0-9]*)?([Cc][0-9]*)?|[Cc][0-9]*", name):
        return "reads as an R1C1 reference"
    return None


def workbook_name_problems(wb: Any) -> list[str]:
    """One line per defined name of an openpyxl workbook that breaks Excel's rules (workbook and
    sheet scope), naming the name and the rule."""
    names: Iterable[tuple[str, str]] = [("workbook", n) for n in wb.defined_names]
    for ws in wb.worksheets:
        names = [*names, *((f"sheet {ws.title}", n) for n in ws.defined_names)]
    out = []
    for scope, name in names:
        problem = excel_name_problem(name)
        if problem:
            out.append(f"{scope}: defined name {name!r} {problem}")
    return out
